"""Reliability: each defect the adversarial review found stays fixed (issue 21).

Nothing finished is lost, nothing is written outside its folder, degenerate data is refused, and
every bad input gets one clear message (exit 2) instead of a traceback or a wrong result.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import yaml

from tests.helpers import command_line, make_case
from workbench import load_case, paths
from workbench.cases import check_case
from workbench.errors import ParameterError, WorkbenchError
from workbench.runner.cli import EXIT_USAGE, main
from workbench.runner.publish import clean_stale
from workbench.runner.run import execute, execute_request, is_finished, plan_run
from workbench.runner.sweep import run_sweep
from workbench.runner.sweep_spec import load_spec

pytestmark = pytest.mark.usefixtures("case_dir")


def kill_kernel_when_started(runs: Path) -> threading.Thread:
    """Kill the notebook kernel of the 95_sleeper run being built in `runs` once its cells have started
    (the notebook writes a `started` file), as an out-of-memory killer would."""
    before = {c.pid for c in psutil.Process().children(recursive=True)}

    def killer() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not list(runs.glob("95_sleeper/.tmp-*/started")):
            time.sleep(0.05)
        for k in psutil.Process().children(recursive=True):
            if k.pid not in before and "ipykernel_launcher" in command_line(k):
                k.kill()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    return thread


def edit_yaml(folder: Path, **changes) -> None:
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec.update(changes)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


# -- lost or overwritten results --------------------------------------------------------------------

@pytest.mark.notebook
def test_a_rerun_whose_kernel_dies_keeps_the_finished_run_and_says_where_the_failure_went(runs: Path) -> None:
    run = plan_run("95_sleeper", {"case": "tiny", "pause": 3.0})
    assert execute(run).ok
    results = (run.folder / "results.json").read_text()
    killer = kill_kernel_when_started(runs)
    row = execute_request("95_sleeper", {"case": "tiny", "pause": 3.0}, str(runs), force=True)
    killer.join(timeout=5)
    assert row["status"] == "failed" and row["attempts"] == 1, "a kernel that died mid-notebook is not retried"
    assert row["error"]["cell"] == 3 and row["error"]["ename"] == "DeadKernelError", row["error"]
    assert "out of memory?" in row["error"]["evalue"] and "time.sleep(pause)" in row["error"]["source"]
    assert "the earlier finished run is kept" in row["message"]
    assert (run.folder / "results.json").read_text() == results, "the finished run is intact"
    failed = Path(row["folder"])
    assert failed.parent == runs / "95_sleeper" / "failures" and (failed / "provenance.json").is_file()
    assert json.loads((failed / "provenance.json").read_text())["status"] == "failed"
    assert is_finished(run)


@pytest.mark.notebook
def test_two_notebooks_with_one_stem_never_share_a_run_folder(runs: Path, notebooks: Path, tmp_path: Path) -> None:
    copy = tmp_path / "student" / "98_echo.ipynb"
    copy.parent.mkdir()
    nb = json.loads((notebooks / "98_echo.ipynb").read_text())
    nb["cells"][0]["source"] = "# Echo, student edition\n"
    copy.write_text(json.dumps(nb))
    a, b = plan_run("98_echo", {"case": "tiny"}), plan_run(str(copy), {"case": "tiny"})
    assert a.folder != b.folder and a.folder.parent == b.folder.parent
    result = execute(b)
    prov = json.loads((result.folder / "provenance.json").read_text())
    assert prov["notebook_path"] == str(copy.resolve()) and len(prov["notebook_sha256"]) == 64


@pytest.mark.notebook
def test_a_users_data_that_changed_is_not_reused_even_without_a_declared_sha256(runs: Path, case_dir: Path) -> None:
    folder = case_dir / "tiny"
    edit_yaml(folder, sha256=None)
    assert execute_request("98_echo", {"case": "tiny"}, str(runs))["status"] == "ok"
    assert execute_request("98_echo", {"case": "tiny"}, str(runs))["status"] == "skipped"
    df = pd.read_parquet(folder / "data.parquet")
    df["label"] = df["label"].sample(frac=1.0, random_state=1).to_numpy()
    df.to_parquet(folder / "data.parquet", index=False)
    assert execute_request("98_echo", {"case": "tiny"}, str(runs))["status"] == "ok", "the labels changed: rerun"


def test_sweep_points_equal_once_defaults_are_filled_in_are_one_run(runs: Path, tmp_path: Path) -> None:
    spec = tmp_path / "dup.yaml"
    spec.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"], "runs": [{}, {"x": 1}, {"x": 2}]}))
    from workbench.runner.sweep import plan

    assert len(plan(load_spec(spec), runs)) == 2


@pytest.mark.notebook
def test_a_sweep_states_its_spec_and_coverage_and_an_interrupted_one_never_shows_a_stale_table(
        runs: Path, tmp_path: Path) -> None:
    path = tmp_path / "grow.yaml"
    path.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"], "grid": {"x": [1, 2]}}))
    _, folder = run_sweep(load_spec(path), workers=1)
    first = json.loads((folder / "sweep.json").read_text())
    assert first["status"] == "complete" and first["runs"] == first["planned"] == 2
    assert f"Spec {first['spec']}" in (folder / "index.html").read_text()
    path.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"], "grid": {"x": [1, 2, 3, 4]}}))
    from workbench.runner.sweep_table import mark_running

    spec = load_spec(path)
    mark_running(spec, 4, folder)  # what a sweep does first; then say it was killed
    state = json.loads((folder / "sweep.json").read_text())
    assert state["status"] == "running" and state["spec"] == spec.digest() != first["spec"]
    assert not (folder / "table.csv").exists() and (folder / "previous" / "table.csv").exists()
    assert "interrupted" in (folder / "index.html").read_text() and "2 of 2" not in (folder / "index.html").read_text()


# -- security: paths stay inside their folders, inputs are capped -----------------------------------

@pytest.mark.parametrize("name", ["../../../x", "/tmp/abs", "Upper", "a/b", ".hidden", ""])
def test_a_sweep_name_that_is_not_a_plain_id_is_refused(name: str, runs: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": name, "notebook": "98_echo", "cases": ["tiny"]}))
    with pytest.raises(WorkbenchError, match="'name' .* must be lower-case letters"):
        load_spec(path)
    assert main(["sweep", str(path)]) == EXIT_USAGE and not runs.exists()


def test_a_sweep_out_of_the_runs_folder_is_refused_by_the_path_check(runs: Path, tmp_path: Path) -> None:
    from workbench.runner.publish import within

    with pytest.raises(WorkbenchError, match="outside"):
        within(runs, runs / "sweeps" / ".." / ".." / "elsewhere")
    assert within(runs, runs / "sweeps" / "ok") == runs / "sweeps" / "ok"


@pytest.mark.parametrize("data", ["../other.parquet", "/etc/passwd.csv", "sub/data.parquet", ".data.parquet"])
def test_case_data_outside_the_case_folder_is_refused(data: str, case_dir: Path) -> None:
    edit_yaml(case_dir / "tiny", data=data)
    assert any("must be the name of a file in the case folder itself" in p for p in check_case(case_dir / "tiny"))


def test_a_yaml_alias_bomb_in_a_parameter_is_refused_quickly_with_a_short_message(
        runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = "[" + ",".join(["&a [x,x,x,x,x,x,x,x,x]"] + [f"&{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]"
                                                         for p, c in zip("abcdefg", "bcdefgh")]) + "]"
    started = time.time()
    assert main(["run", "98_echo", "--case", "tiny", "-p", "x", bomb]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert time.time() - started < 5 and len(err) < 2000, f"{len(err)} characters in {time.time() - started:.1f} s"
    assert not runs.exists()


def test_a_duplicate_key_in_case_yaml_is_an_error_naming_both_lines(case_dir: Path) -> None:
    path = case_dir / "tiny" / "case.yaml"
    text = path.read_text()
    line = 1 + text.splitlines().index("positive_class: 'yes'")
    path.write_text(text + "positive_class: 'no'\n")
    problems = check_case(case_dir / "tiny")
    assert len(problems) == 1 and "duplicate key 'positive_class'" in problems[0]
    assert f"first on line {line}" in problems[0] and f"again on line {len(text.splitlines()) + 1}" in problems[0]


# -- degenerate data is refused with a reason ----------------------------------------------------------

def degenerate(tmp_path: Path, name: str, change) -> Path:
    folder = make_case(tmp_path / "cases" / name, n=300)
    df = pd.read_parquet(folder / "data.parquet")
    df = change(df)
    df.to_parquet(folder / "data.parquet", index=False)
    edit_yaml(folder, sha256=None)
    return folder


@pytest.mark.parametrize(("name", "change", "expected"), [
    ("allnan", lambda df: df.assign(x=np.nan), "feature 'x' has no values"),
    ("infinite", lambda df: df.assign(x=np.where(np.arange(len(df)) < 3, np.inf, df["x"])), "has 3 infinite values"),
    ("eight", lambda df: df.head(8), "has 8 rows; a case needs at least 20"),
    ("onepositive", lambda df: df.assign(label=np.where(np.arange(len(df)) == 0, "yes", "no")),
     "has 1 rows of class 'yes'"),
])
def test_degenerate_data_is_an_error_with_the_reason(tmp_path: Path, name: str, change, expected: str) -> None:
    problems = check_case(degenerate(tmp_path, name, change))
    assert any(expected in p for p in problems), problems


def test_a_constant_feature_is_a_warning_not_an_error(tmp_path: Path) -> None:
    folder = degenerate(tmp_path, "constant", lambda df: df.assign(colour="red"))
    assert check_case(folder) == []
    assert any("feature 'colour' is constant" in w for w in load_case(folder).warnings)


def test_a_csv_with_two_columns_of_one_name_is_refused(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "cases" / "dupcols", n=100)
    df = pd.read_parquet(folder / "data.parquet")
    text = df.to_csv(index=False).replace("colour", "x", 1)
    (folder / "data.csv").write_text(text)
    edit_yaml(folder, data="data.csv", sha256=None)
    assert any("column names ['x'] appear more than once" in p for p in check_case(folder))


# -- unclear messages made clear -------------------------------------------------------------------------

def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def test_a_non_utf8_parameter_file_or_sweep_spec_is_one_clear_line(tmp_path: Path, runs: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("x: 3  # caf\xe9\n".encode("latin-1"))
    assert "is not UTF-8 text" in cli_error(capsys, "run", "98_echo", "--case", "tiny", "-f", str(bad))
    assert "is not UTF-8 text" in cli_error(capsys, "sweep", str(bad))


def test_an_overlong_case_name_is_a_clear_error(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "expected a case study id or the path of a case folder" in cli_error(
        capsys, "run", "98_echo", "--case", "c" * 5000)
    err = cli_error(capsys, "run", "98_echo", "--case", "c" * 300)
    assert "cannot look for this case (File name too long)" in err


def test_a_runs_folder_that_is_a_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    assert "is a file, not a folder" in cli_error(capsys, "run", "98_echo", "--case", "tiny", "--out", str(blocker))


def test_an_unreachable_scheduler_is_a_clear_error_soon(tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    monkeypatch.setenv("WORKBENCH_CONNECT_TIMEOUT", "2")
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"]}))
    started = time.time()
    err = cli_error(capsys, "sweep", str(spec), "--scheduler", f"tcp://127.0.0.1:{port}")
    assert "cannot reach the Dask scheduler" in err and time.time() - started < 20


@pytest.mark.parametrize(("param", "value", "expected"), [
    ("seed", str(2**32), "is not a seed numpy and LightGBM accept"),
    ("since", "2024-13-45", "expected a date like 2013-10-01"),
    ("cost_fp", "1e300", "costs per 1,000 decisions would overflow"),
])
def test_values_that_would_fail_inside_a_cell_are_refused_before_the_kernel(
        param: str, value: str, expected: str, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert expected in cli_error(capsys, "run", "97_checks", "--case", "tiny", "-p", param, value)
    assert not runs.exists()


def test_a_value_that_needs_a_case_fact_is_refused_for_a_case_without_it(case_dir: Path, runs: Path) -> None:
    edit_yaml(case_dir / "tiny", time_column=None)
    with pytest.raises(ParameterError, match="'time' needs the case to declare a `time_column`"):
        plan_run("97_checks", {"case": "tiny", "split": "time"})
    assert plan_run("97_checks", {"case": "tiny", "split": "random"})


def test_scientific_notation_is_a_number_for_numeric_parameters(runs: Path) -> None:
    from workbench.runner.notebooks import resolve_notebook
    from workbench.runner.params import declared_parameters, parse_cli_value

    declared = declared_parameters(resolve_notebook("97_checks"))
    assert parse_cli_value(declared["cost_fp"], "1e-1") == 0.1 and parse_cli_value(declared["cost_fp"], "1e3") == 1000.0
    assert parse_cli_value(declared["seed"], "1e3") == 1000


def test_sweep_plots_naming_unknown_columns_are_an_error_before_any_run(tmp_path: Path, runs: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"], "grid": {"x": [1, 2]},
                                    "plots": [{"x": "xx", "y": ["x_squared", "x_squard"]}]}))
    with pytest.raises(WorkbenchError) as err:
        run_sweep(load_spec(path))
    assert "x 'xx' is not a parameter of 98_echo" in str(err.value)
    assert "y 'x_squard' is never recorded by 98_echo (did you mean 'x_squared'?)" in str(err.value)
    assert not runs.exists()


def test_a_notebooks_folder_with_a_subset_does_not_break_the_bundled_cases(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    subset = tmp_path / "subset"
    subset.mkdir()
    (subset / "00_framing.ipynb").write_bytes((paths.repo_root() / "notebooks" / "00_framing.ipynb").read_bytes())
    monkeypatch.setenv(paths.NOTEBOOKS_ENV, str(subset))
    monkeypatch.setenv(paths.CASES_ENV, "")
    case = load_case("lending")
    assert case.id == "lending" and any("is ignored" in w for w in case.warnings)


@pytest.mark.notebook
def test_a_notebook_that_finishes_without_a_decision_is_reported(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "97_checks", "--case", "tiny", "-p", "decide", "false"]) == 0
    assert "finished without recording a decision" in capsys.readouterr().err
    prov = json.loads(next(runs.glob("97_checks/*/provenance.json")).read_text())
    assert any("without recording a decision" in w for w in prov["warnings"])


def test_leftovers_of_a_killed_process_are_cleaned_and_those_of_live_ones_kept(tmp_path: Path) -> None:
    import subprocess
    import sys

    from jupyter_core.paths import jupyter_runtime_dir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    folder = tmp_path / "98_echo"
    stale = folder / f".tmp-tiny-abc-{pid}-0123abcd"
    live = folder / f".tmp-tiny-abc-{os.getpid()}-0123abcd"
    for d in (stale, live):
        d.mkdir(parents=True)
    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True)
    kernel_file = runtime / f"wb-{pid}-0123456789ab.json"
    socket_file = runtime / f"wb-{pid}-0123456789ab-1"
    kernel_file.write_text("{}")
    socket_file.write_text("")
    removed = clean_stale(folder)
    assert stale in removed and kernel_file in removed and socket_file in removed
    assert live.exists() and not stale.exists() and not kernel_file.exists()
