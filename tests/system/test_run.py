"""Executing runs: validation before a kernel starts, run folders, failures, atomicity (workbench.runner.run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.errors import CaseError, ParameterError, WorkbenchError
from workbench.runner.run import execute, is_finished, plan_run, run_failed_message

pytestmark = pytest.mark.usefixtures("case_dir")


def test_plan_validates_parameters_before_any_kernel(runs: Path) -> None:
    with pytest.raises(ParameterError) as err:
        plan_run("98_echo", {"case": "tiny", "x": 11, "mode": "c", "colour": 1})
    msg = str(err.value)
    assert "'x': 11 is out of range 0..10" in msg and "'mode': 'c' is not allowed" in msg
    assert "unknown parameter 'colour'" in msg
    assert not runs.exists(), "nothing is written for an invalid request"


def test_plan_rejects_unknown_and_unsupported_cases(runs: Path) -> None:
    with pytest.raises(CaseError, match="unknown case study 'nope'"):
        plan_run("98_echo", {"case": "nope"})
    with pytest.raises(ParameterError, match="case study 'lending' does not support 98_echo"):
        plan_run("98_echo", {"case": "lending"})
    with pytest.raises(WorkbenchError, match="unknown notebook '97_missing'"):
        plan_run("97_missing", {"case": "tiny"})


def test_same_request_same_folder_other_request_other_folder(runs: Path) -> None:
    a = plan_run("98_echo", {"case": "tiny", "x": 2})
    assert plan_run("98_echo", {"x": 2, "case": "tiny"}).folder == a.folder
    assert plan_run("98_echo", {"case": "tiny", "x": 3}).folder != a.folder
    assert a.folder.parent == runs / "98_echo" and a.folder.name.startswith("tiny-")


def test_a_run_writes_notebook_results_and_provenance(runs: Path) -> None:
    run = plan_run("98_echo", {"case": "tiny", "x": 3, "mode": "b"})
    result = execute(run)
    assert result.ok, result.error
    results = json.loads((run.folder / "results.json").read_text())
    assert results["x_squared"] == 9 and results["mode"] == "b" and results["rows"] == 400
    assert results["decision"]["choice"] == "echo"
    assert results["cwd_is_run_folder"] is True, "the kernel runs in, and writes to, its run folder"
    prov = json.loads((run.folder / "provenance.json").read_text())
    assert prov["status"] == "ok" and prov["parameters"]["x"] == 3
    assert prov["case_data_sha256"] == run.case.sha256 and prov["versions"]["pandas"]
    assert prov["duration_s"] > 0 and prov["error"] is None
    assert (run.folder / "notebook.ipynb").is_file() and is_finished(run)
    assert not [p for p in run.folder.parent.iterdir() if p.name.startswith(".")], "no temporary folders left"


def test_a_failing_cell_marks_the_run_failed_and_names_the_cell(runs: Path) -> None:
    run = plan_run("98_echo", {"case": "tiny", "fail": True})
    result = execute(run)
    assert not result.ok
    assert result.error["cell"] == 3 and result.error["ename"] == "ValueError"
    assert result.error["evalue"] == "planted failure" and "if fail:" in result.error["source"]
    prov = json.loads((run.folder / "provenance.json").read_text())
    assert prov["status"] == "failed" and prov["error"]["ename"] == "ValueError"
    assert not (run.folder / "results.json").exists(), "a failed run has no results to mistake for finished"
    assert not is_finished(run)
    assert "98_echo.ipynb on 'tiny' failed in cell 3: ValueError: planted failure" in run_failed_message(result)


def test_a_rerun_replaces_the_old_run_atomically(runs: Path) -> None:
    run = plan_run("98_echo", {"case": "tiny"})
    execute(run)
    (run.folder / "stale.txt").write_text("from the last run")
    assert execute(run).ok
    assert not (run.folder / "stale.txt").exists()
    assert sorted(p.name for p in run.folder.parent.iterdir()) == [run.folder.name]


def test_an_interrupted_run_is_not_finished(runs: Path) -> None:
    run = plan_run("98_echo", {"case": "tiny"})
    run.folder.mkdir(parents=True)
    (run.folder / "notebook.ipynb").write_text("{}")
    assert not is_finished(run)


@pytest.mark.notebook
def test_a_case_folder_named_like_its_id_in_the_working_folder_runs(tmp_path: Path, runs: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import make_case

    make_case(tmp_path / "work" / "mine", notebooks=["98_echo"])
    monkeypatch.chdir(tmp_path / "work")
    run = plan_run("98_echo", {"case": "mine"})
    assert run.params["case"] == str((tmp_path / "work" / "mine").resolve()), "the kernel runs elsewhere"
    assert execute(run).ok
