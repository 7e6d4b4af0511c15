"""When a notebook applies to a case (workbench.runner.applicability): requirements, minimum sizes, clear reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_case
from workbench import load_case, paths
from workbench.errors import ParameterError, WorkbenchError
from workbench.runner.applicability import Applicability, applicability, why_not
from workbench.runner.notebooks import read_notebook
from workbench.runner.run import plan_run


def test_metadata_is_read_and_checked() -> None:
    nb = {"metadata": {"workbench": {"section": "monitoring", "requires": ["time_column"], "min_rows": 10}}}
    assert applicability(nb, "x") == Applicability("monitoring", ("time_column",), ("binary",), 10, 0, 0)
    with pytest.raises(WorkbenchError, match="'section' must be one of"):
        applicability({"metadata": {"workbench": {"section": "misc"}}}, "x")
    with pytest.raises(WorkbenchError, match="'requires' must be a list drawn from"):
        applicability({"metadata": {"workbench": {"section": "labels", "requires": ["gpu"]}}}, "x")
    with pytest.raises(WorkbenchError, match="'min_rows' must be a whole number"):
        applicability({"metadata": {"workbench": {"section": "labels", "min_rows": -1}}}, "x")
    assert applicability({"metadata": {}}, "x").section == "other", "a user's own notebook still runs"
    with pytest.raises(WorkbenchError, match="no 'workbench' mapping"):
        applicability({"metadata": {}}, "x", strict=True)


def test_reasons_name_what_is_missing_and_how_big_the_data_is(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path / "small", n=120, time_column=None))
    y = case.labels()
    rarer = int(min(y.sum(), len(y) - y.sum()))
    reasons = why_not(case, Applicability("monitoring", ("time_column", "sensitive"), ("binary",), 500, rarer + 1), "nb")
    assert any("needs a `time_column`" in r for r in reasons)
    assert any("`sensitive` attributes" in r for r in reasons)
    assert any("at least 500 rows" in r and "has 120" in r for r in reasons)
    assert any(f"has {rarer} of its rarer class" in r for r in reasons)
    assert why_not(case, Applicability("problem", (), ("binary",), 120, rarer), "nb") == []
    assert why_not(case, Applicability("problem", (), ("interactions",)), "nb")[0].startswith("nb handles task")


def test_every_committed_notebook_declares_its_applicability() -> None:
    for nb in sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb")):
        assert applicability(read_notebook(nb), nb, strict=True).section


def test_a_case_below_a_notebooks_minimum_is_refused_before_any_kernel_starts(tmp_path: Path, notebooks: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    make_case(tmp_path / "cases" / "wee", n=40, notebooks=["00_framing", "05_monitoring"], time_column=None)
    monkeypatch.setenv(paths.CASES_ENV, str(tmp_path / "cases"))
    with pytest.raises(ParameterError, match="needs at least 200 rows to decide anything; case 'wee' has 40"):
        plan_run("00_framing", {"case": "wee"}, runs_dir=tmp_path / "runs")
    with pytest.raises(ParameterError, match="needs a `time_column`"):
        plan_run("05_monitoring", {"case": "wee"}, runs_dir=tmp_path / "runs")



def test_a_day_by_day_notebook_refuses_a_case_whose_time_is_coarser_than_days(tmp_path: Path) -> None:
    import pandas as pd

    folder = make_case(tmp_path / "yearly", n=300)
    df = pd.read_parquet(folder / "data.parquet")
    df["when"] = pd.to_datetime(pd.Series(2015 + (df.index % 4)).astype(str) + "-01-01")
    df.to_parquet(folder / "data.parquet", index=False)
    import yaml

    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec["sha256"] = None
    (folder / "case.yaml").write_text(yaml.safe_dump(spec))
    case = load_case(folder)
    assert case.days == 4
    reasons = why_not(case, Applicability("monitoring", ("time_column",), ("binary",), 0, 0, 60), "04")
    assert reasons == ["04 replays time day by day and needs at least 60 distinct days in the time column; case "
                       "'yearly' has 4 (its time is coarser, e.g. a survey year)"]
    hourly = load_case(make_case(tmp_path / "hourly", n=24 * 70))
    assert hourly.days == 70 and why_not(hourly, Applicability("monitoring", (), ("binary",), 0, 0, 60), "04") == []
