"""Sweeps (workbench.runner.sweep): real parallel runs, failure isolation, kill and resume, a Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from tests.helpers import REPO, finished_runs
from workbench import paths
from workbench.errors import WorkbenchError
from workbench.runner.cli import EXIT_FAILED, main
from workbench.runner.locks import FolderLock
from workbench.runner.sweep import run_sweep
from workbench.runner.sweep_spec import expand, load_spec

pytestmark = [pytest.mark.notebook, pytest.mark.usefixtures("case_dir")]


def spec_file(tmp_path: Path, **spec) -> Path:
    path = tmp_path / f"{spec.pop('name', 'echo')}.yaml"
    path.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"], **spec}, sort_keys=False))
    return path


def test_expand_is_cases_by_seeds_by_grid_plus_explicit_runs(tmp_path: Path) -> None:
    spec = load_spec(spec_file(tmp_path, grid={"x": [1, 2], "mode": ["a", "b"]}, runs=[{"x": 9}],
                               fixed={"pause": 0.0}))
    requests = expand(spec)
    assert len(requests) == 5 and requests[0] == {"pause": 0.0, "x": 1, "mode": "a", "case": "tiny"}
    assert {"pause": 0.0, "x": 9, "case": "tiny"} in requests


def test_every_invalid_combination_is_reported_before_anything_runs(tmp_path: Path, runs: Path) -> None:
    spec = load_spec(spec_file(tmp_path, grid={"x": [1, 11, 12], "mode": ["a", "z"]}))
    with pytest.raises(WorkbenchError) as err:
        run_sweep(spec)
    msg = str(err.value)
    assert "5 invalid run(s), nothing was started" in msg
    assert "[x=11, mode='a', case='tiny'] parameter 'x': 11 is out of range 0..10" in msg
    assert "[x=1, mode='z', case='tiny'] parameter 'mode': 'z' is not allowed" in msg
    assert not runs.exists()


def test_a_bad_spec_lists_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("notebook: 98_echo\ncases: []\ngird: {x: [1]}\nseeds: [a]\n")
    with pytest.raises(WorkbenchError) as err:
        load_spec(path)
    assert "unknown key 'gird'" in str(err.value) and "'cases' must be" in str(err.value)
    assert "'seeds' must be a non-empty list of integers" in str(err.value)


def test_a_sweep_runs_in_parallel_isolates_a_failure_and_aggregates(tmp_path: Path, runs: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = spec_file(tmp_path, grid={"x": [1, 2, 3], "fail": [False, True]},
                     plots=[{"x": "x", "y": "x_squared"}])
    assert main(["sweep", str(path), "--workers", "2"]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert "6 runs, 3 ok (0 reused), 3 failed" in captured.out
    assert captured.err.count("ValueError: planted failure") == 3
    folder = runs / "sweeps" / "echo"
    table = pd.read_parquet(folder / "table.parquet")
    assert len(table) == 6
    assert pd.read_csv(folder / "table.csv")[["x", "fail", "status"]].equals(table[["x", "fail", "status"]])
    ok = table[table["status"] == "ok"]
    assert sorted(ok["x"]) == [1, 2, 3] and (ok["x_squared"] == ok["x"] ** 2).all()
    assert (ok["decision"] == "echo").all() and not ok["fail"].any()
    failed = table[table["status"] == "failed"]
    assert failed["fail"].all() and failed["error"].str.contains("cell 3: ValueError").all()
    assert (folder / "plots" / "x_squared_vs_x.png").stat().st_size > 1000
    assert "3 failed" in (folder / "index.html").read_text()
    assert len(list(runs.glob("98_echo/*/provenance.json"))) == 6, "every run has its own folder"


def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path: Path, runs: Path) -> None:
    spec = load_spec(spec_file(tmp_path, grid={"x": [1]}))
    with FolderLock(runs / "sweeps" / "echo"), \
            pytest.raises(WorkbenchError, match="another sweep is already running into .* \\(pid \\d+\\)"):
        run_sweep(spec)


def test_a_killed_sweep_resumes_with_exactly_one_row_per_point(tmp_path: Path, runs: Path) -> None:
    path = spec_file(tmp_path, grid={"x": [1, 2, 3, 4, 5, 6]}, fixed={"pause": 1.5})
    cmd = [str(Path(sys.executable).parent / "workbench"), "sweep", str(path), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 120
    while not finished_runs(runs, "98_echo"):
        assert proc.poll() is None and time.time() < deadline, "the sweep should still be running"
        time.sleep(0.2)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, "the sweep's workers and kernels die with it"
    finished_before = len(finished_runs(runs, "98_echo"))
    assert 1 <= finished_before < 6, "killed mid-way"

    rows, folder = run_sweep(load_spec(path), workers=2)
    table = pd.read_parquet(folder / "table.parquet")
    assert len(table) == 6 and sorted(table["x"]) == [1, 2, 3, 4, 5, 6]
    assert not table.duplicated(["x"]).any() and (table["status"] == "ok").all()
    assert table["reused"].sum() == finished_before, "finished runs are not redone"
    assert len(finished_runs(runs, "98_echo")) == 6
    assert all(not p.name.startswith(".") for p in runs.glob("98_echo/*") if (p / "results.json").exists())


def test_dask_workers_that_share_no_disk_give_the_same_table_as_local_processes(tmp_path: Path, runs: Path,
                                                                                case_dir: Path) -> None:
    """The workers see empty notebooks, cases and runs folders and their own scratch folders: the
    notebook and the user's case (which exists only here) travel with the tasks, the finished runs
    come back and are published here; a second sweep reuses them."""
    from distributed import LocalCluster

    spec = load_spec(spec_file(tmp_path, grid={"x": [2, 3], "mode": ["a", "b"]}))
    _, local_folder = run_sweep(spec, workers=2, runs_dir=tmp_path / "local")
    empty = tmp_path / "worker-view"
    for sub in ("notebooks", "cases", "runs"):
        (empty / sub).mkdir(parents=True)
    worker_env = {paths.NOTEBOOKS_ENV: str(empty / "notebooks"), paths.CASES_ENV: str(empty / "cases"),
                  paths.RUNS_ENV: str(empty / "runs")}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      local_directory=str(tmp_path / "scratch"), env=worker_env) as cluster:
        rows, dask_folder = run_sweep(spec, scheduler=cluster.scheduler_address, runs_dir=tmp_path / "dask")
        again, _ = run_sweep(spec, scheduler=cluster.scheduler_address, runs_dir=tmp_path / "dask")
    keep = ["case", "x", "mode", "x_squared", "rows", "decision", "status"]
    local = pd.read_parquet(local_folder / "table.parquet")[keep]
    remote = pd.read_parquet(dask_folder / "table.parquet")[keep]
    assert len(local) == 4 and local.equals(remote)
    assert all(r["status"] == "ok" for r in rows) and all(r["status"] == "skipped" for r in again)
    assert not any((empty / "runs").iterdir()), "workers wrote nothing into the folders they were pointed at"
    published = finished_runs(tmp_path / "dask", "98_echo")
    assert len(published) == 4 and all(json.loads((f / "provenance.json").read_text())["worker"] for f in published)


def test_a_case_sent_to_a_worker_is_checked_against_its_sha256(tmp_path: Path, case_dir: Path) -> None:
    from workbench.runner.remote import pack_folder, unpack_verified

    data = pack_folder(case_dir / "tiny")
    assert data == pack_folder(case_dir / "tiny"), "the same folder packs to the same bytes"
    import hashlib

    unpack_verified(data, hashlib.sha256(data).hexdigest(), tmp_path / "ok")
    assert (tmp_path / "ok" / "case.yaml").read_bytes() == (case_dir / "tiny" / "case.yaml").read_bytes()
    with pytest.raises(WorkbenchError, match="corrupt"):
        unpack_verified(data[:-1] + b"x", hashlib.sha256(data).hexdigest(), tmp_path / "bad")


@pytest.mark.parametrize("spec", sorted((REPO / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_ready_made_sweeps_are_valid(spec: Path, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(spec), "--dry-run"]) == 0
    assert "valid runs" in capsys.readouterr().out and not runs.exists()
