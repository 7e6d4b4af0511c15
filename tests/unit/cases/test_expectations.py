"""The optional `expectations:` block of case.yaml: read into dataclasses and checked like the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_case
from workbench.cases import check_case, load_case
from workbench.cases.model import Example, Expectations, Monotone, Perturbation

VALID = {
    "monotone": {"x": "increasing"},
    "invariances": [{"kind": "round", "column": "x", "unit": 0.5}, {"kind": "swap", "column": "colour", "name": "colour blind"}],
    "examples": [{"name": "very high x", "expected": "yes", "x": 9.0}, {"expected": "no", "x": -9.0, "colour": "blue"}],
}


def test_a_case_without_expectations_loads_with_none(tiny_case: Path) -> None:
    assert load_case(tiny_case).expectations is None


def test_a_valid_block_becomes_frozen_dataclasses_with_directions_and_names(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path / "exp", expectations={**VALID, "monotone": {"x": {"direction": "decreasing",
                                                                                              "factor": 2}}}))
    ex = case.expectations
    assert isinstance(ex, Expectations)
    assert ex.monotone == (Monotone("x", -1, None, 2.0),)
    assert ex.invariances == (Perturbation("round", "x", "round x (unit 0.5)", {"unit": 0.5}, 0),
                              Perturbation("swap", "colour", "colour blind", {}, 0))
    assert ex.examples == (Example("very high x", {"x": 9.0}, "yes"), Example("example 2", {"x": -9.0, "colour": "blue"}, "no"))
    assert ex.directional == () and ex.text_lengths == {}
    with pytest.raises(AttributeError):
        ex.monotone = ()  # type: ignore[misc]


def test_every_problem_in_the_block_is_reported_naming_the_field(tmp_path: Path) -> None:
    bad = {
        "monotone": {"colour": "increasing", "x": {"direction": "up", "step": -1}, "nope": "decreasing"},
        "invariances": [{"kind": "typos", "column": "x", "rate": 2}, {"kind": "melt", "column": "x"},
                        {"kind": "round", "column": "x"}],
        "directional": [{"kind": "round", "column": "x", "unit": 1}],
        "examples": [{"x": 1.0}, {"expected": "maybe", "x": "high"}, {"expected": "yes", "size": 3}],
        "text_lengths": {"x": "colour"},
        "extra": 1,
    }
    problems = "\n".join(check_case(make_case(tmp_path / "bad", expectations=bad)))
    for expected in [
        "field 'expectations.extra': unknown key",
        "field 'expectations.monotone.colour': 'colour' must be a feature of kind numeric",
        "field 'expectations.monotone.x': expected increasing or decreasing",
        "field 'expectations.monotone.nope': 'nope' must be a feature of kind numeric",
        "field 'expectations.invariances[0].column': 'x' must be a feature of kind text",
        "field 'expectations.invariances[0].rate': kind 'typos' needs 'rate'",
        "field 'expectations.invariances[1]': expected a mapping with 'kind' (one of: round, swap, typos, append, punctuation)",
        "field 'expectations.invariances[2].unit': kind 'round' needs 'unit': a positive number, got None",
        "field 'expectations.directional[0].direction': expected increasing or decreasing",
        "field 'expectations.examples[0]': expected a mapping with 'expected'",
        "field 'expectations.examples[1].x': expected a number for a numeric feature, got 'high'",
        "field 'expectations.examples[2].size': 'size' must be a feature",
        "field 'expectations.text_lengths.x': 'colour' must be a feature of kind text",
        "field 'expectations.examples[1].expected': 'maybe' is not a value of target 'label'",
    ]:
        assert expected in problems, f"missing: {expected}\n{problems}"


def test_step_and_factor_are_checked_and_exclusive(tmp_path: Path) -> None:
    bad = {"monotone": {"x": {"direction": "increasing", "step": 1, "factor": 2}},
           "invariances": [{"kind": "swap", "column": "colour", "direction": "increasing"}]}
    problems = "\n".join(check_case(make_case(tmp_path / "bad", expectations=bad)))
    assert "give either 'step' (added) or 'factor' (multiplied), not both" in problems
    assert "field 'expectations.invariances[0]': unknown keys ['direction']" in problems
    factor = "\n".join(check_case(make_case(tmp_path / "f", expectations={"monotone": {"x": {"direction": "increasing",
                                                                                              "factor": 0.5}}})))
    assert "expectations.monotone.x.factor': expected a number above 1" in factor


def test_a_leaky_feature_cannot_carry_an_expectation(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "leak", leaky=["x"], expectations={"monotone": {"x": "increasing"}})
    assert any("'x' is declared leaky" in p for p in check_case(folder))


def test_a_block_of_the_wrong_type_is_one_clear_problem(tmp_path: Path) -> None:
    problems = check_case(make_case(tmp_path / "list", expectations=["x"]))
    assert len(problems) == 1 and "field 'expectations': expected a mapping or null" in problems[0]

