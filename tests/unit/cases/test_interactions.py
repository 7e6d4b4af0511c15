"""Cases of task interactions (logged interactions): the `interactions` block, its data checks, and what a
binary case keeps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers import edit_yaml as edit
from tests.helpers import make_case
from workbench.cases import check_case, load_case
from workbench.cases.synthetic import make_interactions_case
from workbench.fileio import sha256_file


def edit_block(folder: Path, **changes) -> None:
    block = yaml.safe_load((folder / "case.yaml").read_text())["interactions"]
    for key, value in changes.items():
        if value is ...:
            block.pop(key)
        else:
            block[key] = value
    edit(folder, interactions=block)


def edit_data(folder: Path, change) -> None:
    df = pd.read_parquet(folder / "data.parquet")
    change(df)
    df.to_parquet(folder / "data.parquet", index=False)
    edit(folder, sha256=sha256_file(folder / "data.parquet"))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return make_interactions_case(tmp_path / "cases" / "logs")


def test_an_interactions_case_loads_its_block_with_rewards_as_labels_and_no_costs(logs: Path) -> None:
    case = load_case(logs)
    ix = case.interactions
    assert case.task == "interactions" and ix is not None
    assert (ix.action, ix.reward, ix.propensity, ix.policy, ix.position) == ("item", "click", "propensity", "policy", "slot")
    assert ix.uniform_policy == "uniform" and ix.context == ("device",) and ix.segment is None and ix.traffic_per_day is None
    assert case.costs is None and case.features == {}
    df = pd.read_parquet(logs / "data.parquet")
    assert case.target == "click" and case.labels().tolist() == df["click"].tolist()
    assert case.positive_rate() == pytest.approx(df["click"].mean())


def test_a_binary_case_still_loads_its_target_costs_and_labels_and_has_no_interactions(tiny_case: Path) -> None:
    case = load_case(tiny_case)
    assert case.interactions is None and case.task == "binary"
    assert case.costs is not None and case.costs.false_negative == 4.0 and case.positive_class == "yes"
    assert case.labels().tolist() == (case.frame()["label"] == "yes").astype(int).tolist()


def test_task_interactions_needs_its_block_and_refuses_the_binary_fields(logs: Path) -> None:
    edit(logs, interactions=..., target="click", positive_class=1, costs={"unit": "USD", "false_positive": 1,
                                                                          "false_negative": 1})
    text = "\n".join(check_case(logs))
    assert "field 'interactions': is missing (task 'interactions' needs a mapping" in text
    for name in ("target", "positive_class", "costs"):
        assert f"field '{name}': is not used by task 'interactions'" in text


def test_a_binary_case_refuses_an_interactions_block_and_still_needs_its_own_fields(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "b", interactions={"action": "x", "reward": "label", "propensity": "x", "policy": "colour"})
    edit(folder, costs=...)
    text = "\n".join(check_case(folder))
    assert "field 'interactions': only task 'interactions' takes this block (task is 'binary')" in text
    assert "field 'costs': is missing" in text


def test_the_block_s_keys_and_types_are_checked_all_at_once(logs: Path) -> None:
    edit_block(logs, reward=..., propensity=3, context="device", traffic_per_day=-5, colour="x", segment=["a"],
               action="slot")
    text = "\n".join(check_case(logs))
    assert "field 'interactions.reward': expected a column name, got None" in text
    assert "field 'interactions.propensity': expected a column name, got 3" in text
    assert "field 'interactions.context': expected a list of column names" in text
    assert "field 'interactions.traffic_per_day': expected a positive number" in text
    assert "field 'interactions.segment': expected a column name" in text
    assert "field 'interactions': unknown keys ['colour']" in text
    assert "column 'slot' is named for more than one role" in text


def test_named_columns_must_exist(logs: Path) -> None:
    edit_block(logs, action="sku", context=["device", "country"])
    text = "\n".join(check_case(logs))
    assert "column 'sku' named by case.yaml field 'interactions.action' does not exist" in text
    assert "column 'country' named by case.yaml field 'interactions.context' does not exist" in text


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("propensity", 0.0, "propensity column 'propensity' has 1 values outside (0, 1]"),
    ("propensity", 1.5, "propensity column 'propensity' has 1 values outside (0, 1]"),
    ("click", 2, "reward column 'click' must hold 0/1"),
])
def test_propensities_must_lie_in_0_1_and_rewards_be_0_or_1(logs: Path, column: str, value: float, expected: str) -> None:
    def change(df: pd.DataFrame) -> None:
        df.loc[1, column] = value  # row 1 is a greedy row, so the uniform propensities stay constant

    edit_data(logs, change)
    assert expected in "\n".join(check_case(logs))


def test_missing_values_in_a_named_column_are_reported(logs: Path) -> None:
    def change(df: pd.DataFrame) -> None:
        df["item"] = df["item"].astype("float").mask(df.index == 4)

    edit_data(logs, change)
    assert "column 'item' (interactions.action) has 1 missing values" in "\n".join(check_case(logs))


def test_the_uniform_policy_must_exist_and_log_one_propensity(logs: Path) -> None:
    def change(df: pd.DataFrame) -> None:
        df.loc[0, "propensity"] = 0.5  # row 0 is a uniform row

    edit_data(logs, change)
    assert "rows of uniform_policy 'uniform' must all have the same propensity" in "\n".join(check_case(logs))
    edit_block(logs, uniform_policy="random")
    assert "interactions.uniform_policy 'random' is not a value of column 'policy'" in "\n".join(check_case(logs))


def test_a_binary_notebook_refuses_an_interactions_case_with_the_task_as_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runs: Path) -> None:
    from workbench import paths
    from workbench.errors import ParameterError
    from workbench.runner.run import plan_run

    cases = tmp_path / "cases"
    make_interactions_case(cases / "logs", notebooks=["00_framing"])
    monkeypatch.setenv(paths.CASES_ENV, str(cases))
    with pytest.raises(ParameterError, match="00_framing handles task binary; case 'logs' is task 'interactions'"):
        plan_run("00_framing", {"case": "logs"}, runs_dir=runs)
