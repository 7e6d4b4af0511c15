"""Reading declared parameters and validating requests (workbench.runner.params)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO, write_notebook
from workbench.errors import ParameterError, WorkbenchError
from workbench.runner.params import declared_parameters, parse_cli_value, validate

PARAMS = '''\
case = "lending"  # case study id
seed = 0  # random seed; range: 0..
rate = 0.25  # a fraction; range: 0.05..0.5
split = "time"  # how to split; one of: time, random
verbose = False  # print more
cadences = [1, 7, 30]  # retraining cadences in days; range: 1..365
cost_fp = None  # cost of a false positive (default: the case's); type: float
'''


@pytest.fixture
def nb(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "10_demo.ipynb", [("code", PARAMS, ["parameters"]), ("code", "pass", [])])


def test_declared_parameters_have_types_defaults_help_and_allowed_values(nb: Path) -> None:
    p = declared_parameters(nb)
    assert list(p) == ["case", "seed", "rate", "split", "verbose", "cadences", "cost_fp"]
    assert (p["rate"].type, p["rate"].default, p["rate"].low, p["rate"].high) == ("float", 0.25, 0.05, 0.5)
    assert p["split"].choices == ("time", "random") and p["split"].help == "how to split"
    assert p["verbose"].type == "bool" and p["cadences"].item_type == "int"
    assert p["cost_fp"].type == "float" and p["cost_fp"].nullable
    assert p["seed"].allowed() == "range: 0.." and p["split"].allowed() == "one of: time, random"


def test_validate_fills_defaults_and_coerces_ints_to_floats(nb: Path) -> None:
    values = validate("10_demo", declared_parameters(nb), {"rate": 0.1, "cost_fp": 3, "cadences": [2, 14]})
    assert values["rate"] == 0.1 and values["cost_fp"] == 3.0 and isinstance(values["cost_fp"], float)
    assert values["cadences"] == [2, 14] and values["split"] == "time"


def test_every_invalid_parameter_is_reported_with_what_was_expected(nb: Path) -> None:
    with pytest.raises(ParameterError) as err:
        validate("10_demo", declared_parameters(nb), {
            "sed": 1, "rate": 0.9, "split": "sideways", "verbose": "yes", "seed": 1.5,
            "cadences": [0, 7], "case": None,
        })
    msg = str(err.value)
    assert "unknown parameter 'sed' (did you mean 'seed'?)" in msg
    assert "parameter 'rate': 0.9 is out of range 0.05..0.5" in msg
    assert "parameter 'split': 'sideways' is not allowed (one of: time, random)" in msg
    assert "parameter 'verbose': expected bool, got str 'yes'" in msg
    assert "parameter 'seed': expected int, got float 1.5" in msg
    assert "parameter 'cadences': item 0 is out of range 1..365" in msg
    assert "parameter 'case': None is not allowed" in msg
    assert len(err.value.problems) == 7


def test_bools_are_not_ints(nb: Path) -> None:
    with pytest.raises(ParameterError, match="expected int, got bool"):
        validate("10_demo", declared_parameters(nb), {"seed": True})


def test_cli_values_parse_as_yaml_except_for_string_parameters(nb: Path) -> None:
    p = declared_parameters(nb)
    assert parse_cli_value(p["rate"], "0.5") == 0.5
    assert parse_cli_value(p["cadences"], "[1, 7]") == [1, 7]
    assert parse_cli_value(p["verbose"], "true") is True
    assert parse_cli_value(p["case"], "007") == "007"
    assert parse_cli_value(p["cost_fp"], "None") is None


def test_a_parameters_cell_must_be_literals_with_comments(tmp_path: Path) -> None:
    bad = write_notebook(tmp_path / "x.ipynb", [("code", "a = 1\nb = len('x')  # computed\n", ["parameters"])])
    with pytest.raises(ParameterError) as err:
        declared_parameters(bad)
    assert "parameter 'a': needs a comment" in str(err.value)
    assert "parameter 'b': default must be a literal" in str(err.value)
    none = write_notebook(tmp_path / "y.ipynb", [("code", "z = 1\n", [])])
    with pytest.raises(WorkbenchError, match="expected exactly one cell tagged 'parameters', found 0"):
        declared_parameters(none)


def test_the_real_notebooks_declare_valid_parameters_including_case() -> None:
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        params = declared_parameters(path)
        assert "case" in params and "seed" in params, path.name
        assert all(p.help for p in params.values()), path.name


def test_an_auto_parameter_takes_auto_or_a_value_of_its_type_in_range(tmp_path) -> None:
    from tests.helpers import write_notebook

    nb = write_notebook(tmp_path / "a.ipynb", [("code", 'case = "x"  # case\nwindow = "auto"  # rows per window; '
                                                       '"auto" sizes it from the data; type: int; range: 100..\n',
                                               ["parameters"])])
    p = declared_parameters(nb)["window"]
    assert p.auto and p.type == "int" and p.default == "auto" and 'or "auto"' in p.allowed()
    assert validate("a", declared_parameters(nb), {"window": "auto"})["window"] == "auto"
    assert validate("a", declared_parameters(nb), {"window": 500})["window"] == 500
    with pytest.raises(ParameterError, match="out of range 100.."):
        validate("a", declared_parameters(nb), {"window": 5})
    with pytest.raises(ParameterError, match="expected int, got str 'big'"):
        validate("a", declared_parameters(nb), {"window": "big"})


def test_an_auto_list_parameter_takes_auto_or_a_list_of_numbers_in_range(tmp_path) -> None:
    from tests.helpers import write_notebook

    nb = write_notebook(tmp_path / "a.ipynb", [("code", 'case = "x"  # case\nages = "auto"  # ages in days; '
                                                       '"auto" picks them from the data; type: list; range: 0..\n',
                                               ["parameters"])])
    params = declared_parameters(nb)
    assert params["ages"].auto and params["ages"].type == "list" and params["ages"].item_type is None
    assert validate("a", params, {"ages": [0, 7, 14]})["ages"] == [0, 7, 14], "items are not taken for the letters of 'auto'"
    assert validate("a", params, {"ages": "auto"})["ages"] == "auto"
    with pytest.raises(ParameterError, match="item -1 is out of range 0.."):
        validate("a", params, {"ages": [7, -1]})
