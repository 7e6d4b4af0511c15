"""Fault injection: kill the run, the sweep, its workers and its kernels at random points, fill the disk,
make the runs folder read-only; then rerun and check that every finished run is intact, each point has
exactly one row, and nothing is left behind (issue 21)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from tests.helpers import command_line, finished_runs
from workbench.runner.publish import _KERNEL_FILE, _TMP
from workbench.runner.run import execute, plan_run

pytestmark = [pytest.mark.notebook, pytest.mark.usefixtures("case_dir")]
BIN = Path(sys.executable).parent


def fingerprint_of_finished(runs: Path) -> dict[str, str]:
    """Every finished run folder under runs and a hash of its results and provenance."""
    out = {}
    for folder in finished_runs(runs):
        blob = (folder / "results.json").read_bytes() + (folder / "provenance.json").read_bytes()
        out[str(folder.relative_to(runs))] = hashlib.sha256(blob).hexdigest()
    return out


def leftovers(runs: Path) -> list[str]:
    """Temporary folders and workbench kernel files whose process is dead, and stray kernels."""
    from jupyter_core.paths import jupyter_runtime_dir

    left = []
    for p in [*runs.glob("*/.tmp-*"), *runs.glob("*/.old-*"), *Path(jupyter_runtime_dir()).glob("wb-*")]:
        m = (_TMP if p.name.startswith(".") else _KERNEL_FILE).match(p.name)
        if m and not psutil.pid_exists(int(m.group(1))):
            left.append(str(p))
    return left


def stray_kernels(started_after: float) -> list[psutil.Process]:
    """Notebook kernels started (after `started_after`) by processes of this test: their connection
    files are named after the process that started them, which is in this test's process tree or dead.
    Kernels of other tests running in parallel (pytest-xdist) are not counted."""
    mine = {os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))}
    found = []
    for proc in psutil.process_iter(["cmdline", "create_time"]):
        m = re.search(r"wb-(\d+)-[0-9a-f]{12}", " ".join(proc.info["cmdline"] or []))
        if m is None or "ipykernel_launcher" not in " ".join(proc.info["cmdline"] or []):
            continue
        owner = int(m.group(1))
        if proc.info["create_time"] >= started_after and (owner in mine or not psutil.pid_exists(owner)):
            found.append(proc)
    return found


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def env_with(runs: Path) -> dict[str, str]:
    return {**os.environ, "WORKBENCH_RUNS": str(runs)}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["kill-9", "sigint", "sigterm"])
@pytest.mark.parametrize("when", ["while-starting", "while-a-cell-runs"])
def test_a_killed_run_leaves_nothing_that_looks_finished_and_the_next_run_cleans_up(
        sig: signal.Signals, when: str, runs: Path) -> None:
    done = plan_run("98_echo", {"case": "tiny"})
    execute(done)
    before = fingerprint_of_finished(runs)
    started = time.time()
    proc = subprocess.Popen([str(BIN / "workbench"), "run", "95_sleeper", "--case", "tiny", "-p", "pause", "30"],
                            env=env_with(runs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if when == "while-starting":
        time.sleep(random.Random(sig).uniform(0.2, 1.0))
    else:
        wait_for(lambda: bool(list(runs.glob("95_sleeper/.tmp-*/started"))))
    proc.send_signal(sig)
    proc.wait(timeout=60)
    wait_for(lambda: not stray_kernels(started), timeout=60)
    assert not finished_runs(runs, "95_sleeper"), "an interrupted run never looks finished"
    assert fingerprint_of_finished(runs) == before
    result = execute(plan_run("95_sleeper", {"case": "tiny", "pause": 0.0}))
    assert result.ok and leftovers(runs) == [], "the next run removes what the killed one left"
    assert fingerprint_of_finished(runs).items() >= before.items()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupted_run_says_so_in_one_line_and_exits_128_plus_the_signal(sig: signal.Signals, runs: Path) -> None:
    proc = subprocess.Popen([str(BIN / "workbench"), "run", "95_sleeper", "--case", "tiny", "-p", "pause", "60"],
                            env=env_with(runs), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: bool(list(runs.glob("95_sleeper/.tmp-*/started"))))
    started = time.time()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert time.time() - started < 15, "the kernel is stopped at once, not after the cell"
    assert proc.returncode == 128 + sig and "Traceback" not in err
    assert f"failed in cell 3: Interrupted: stopped by {sig.name}: its kernel was stopped" in err
    prov = json.loads(next(runs.glob("95_sleeper/tiny-*/provenance.json")).read_text())
    assert prov["status"] == "failed" and prov["error"]["ename"] == "Interrupted"
    assert not finished_runs(runs, "95_sleeper")


@pytest.mark.parametrize("victim", ["sweep", "worker", "kernel"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_sweep_killed_at_any_level_resumes_with_one_row_per_point(victim: str, sig: signal.Signals, runs: Path,
                                                                     tmp_path: Path) -> None:
    spec = tmp_path / "faults.yaml"
    spec.write_text(yaml.safe_dump({"notebook": "98_echo", "cases": ["tiny"], "fixed": {"pause": 1.0},
                                    "grid": {"x": [1, 2, 3, 4, 5]}}))
    cmd = [str(BIN / "workbench"), "sweep", str(spec), "--workers", "2"]
    started = time.time()
    proc = subprocess.Popen(cmd, env=env_with(runs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(finished_runs(runs, "98_echo")) >= 1)
    if victim == "sweep":
        proc.send_signal(sig)
    else:
        marker = "ipykernel_launcher" if victim == "kernel" else "spawn_main"
        targets: list[psutil.Process] = []

        def found() -> bool:
            targets[:] = [p for p in psutil.Process(proc.pid).children(recursive=True) if marker in command_line(p)]
            return bool(targets)

        wait_for(found, timeout=30)  # four points are still to run: a live kernel or worker turns up
        targets[0].send_signal(sig)
    proc.wait(timeout=180)
    wait_for(lambda: not stray_kernels(started), timeout=60)
    finished = fingerprint_of_finished(runs)
    rerun = subprocess.run(cmd, env=env_with(runs), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    table = pd.read_parquet(runs / "sweeps" / "faults" / "table.parquet")
    assert sorted(table["x"]) == [1, 2, 3, 4, 5] and (table["status"] == "ok").all()
    assert int(table["reused"].sum()) >= len(finished), "finished runs are not redone"
    now = fingerprint_of_finished(runs)
    assert all(now[k] == v for k, v in finished.items()), "every run that had finished is intact"
    assert json.loads((runs / "sweeps" / "faults" / "sweep.json").read_text())["status"] == "complete"
    assert leftovers(runs) == []


def test_the_main_job_killed_mid_way_finishes_on_the_next_run(runs: Path, tmp_path: Path, notebooks: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    for stem in [p.stem for p in notebooks.glob("0*.ipynb")] + ["97_checks"]:
        (notebooks / f"{stem}.ipynb").unlink()  # the main job over the small test notebooks only
    shutil.copy(notebooks / "95_sleeper.ipynb", notebooks / "94_sleeper_too.ipynb")
    env = {**env_with(runs), "WORKBENCH_NOTEBOOKS": str(notebooks)}
    started = time.time()
    proc = subprocess.Popen([str(BIN / "workbench"), "report", "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(finished_runs(runs)) >= 1)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    wait_for(lambda: not stray_kernels(started), timeout=60)

    def running(p: psutil.Process) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE  # a reparented worker may stay an unreaped zombie
        except psutil.NoSuchProcess:
            return False

    wait_for(lambda: not any(running(w) for w in workers), timeout=60)  # each worker's watchdog ends it
    finished = fingerprint_of_finished(runs)
    rerun = subprocess.run([str(BIN / "workbench"), "report", "--workers", "2"], env=env, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert all(fingerprint_of_finished(runs)[k] == v for k, v in finished.items())
    assert "up to date" in rerun.stdout and leftovers(runs) == [], rerun.stdout


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 3 MB tmpfs as the runs folder (root only; under CI it must work)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but a tmpfs cannot be mounted: {made.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()}); this test runs in CI as root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_run_clearly_and_keeps_the_finished_ones(small_disk: Path) -> None:
    runs = small_disk / "runs"
    env = env_with(runs)
    first = subprocess.run([str(BIN / "workbench"), "run", "98_echo", "--case", "tiny"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    before = fingerprint_of_finished(runs)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk, then leave about 4 KB free
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - 4096))
    full = subprocess.run([str(BIN / "workbench"), "run", "98_echo", "--case", "tiny", "-p", "x", "2"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert full.returncode != 0 and "No space left on device" in full.stderr and "Traceback" not in full.stderr
    assert fingerprint_of_finished(runs) == before, "the finished run is intact"
    assert len(finished_runs(runs, "98_echo")) == 1, "nothing half-written looks finished"
    filler.unlink()
    again = subprocess.run([str(BIN / "workbench"), "run", "98_echo", "--case", "tiny", "-p", "x", "2"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert leftovers(runs) == []


def test_a_read_only_runs_folder_is_a_clear_error_and_its_runs_stay(small_disk: Path) -> None:
    runs = small_disk / "runs"
    env = env_with(runs)
    assert subprocess.run([str(BIN / "workbench"), "run", "98_echo", "--case", "tiny"], env=env,
                          capture_output=True, timeout=120).returncode == 0
    before = fingerprint_of_finished(runs)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    ro = subprocess.run([str(BIN / "workbench"), "run", "98_echo", "--case", "tiny"], env=env, capture_output=True,
                        text=True, timeout=120)
    assert ro.returncode == 2 and "cannot be written (Read-only file system)" in ro.stderr
    assert "Traceback" not in ro.stderr and fingerprint_of_finished(runs) == before


def test_a_dask_worker_lost_mid_run_is_retried_elsewhere_and_its_half_run_never_published(
        tmp_path: Path, runs: Path) -> None:
    from distributed import LocalCluster

    from workbench.runner.sweep import run_sweep
    from workbench.runner.sweep_spec import load_spec

    spec = tmp_path / "lost.yaml"
    spec.write_text(yaml.safe_dump({"notebook": "95_sleeper", "cases": ["tiny"], "grid": {"pause": [2.0, 2.5, 3.0]}}))
    scratch = tmp_path / "scratch"
    killed: list[int] = []

    def kill_a_worker_mid_run() -> None:
        wait_for(lambda: bool(list(scratch.rglob("95_sleeper/.tmp-*/started"))))
        kernel = next(p for p in psutil.Process().children(recursive=True)
                      if "ipykernel_launcher" in command_line(p))
        worker = kernel.parent()
        killed.append(worker.pid)
        worker.kill()

    import threading

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      local_directory=str(scratch)) as cluster:
        killer = threading.Thread(target=kill_a_worker_mid_run, daemon=True)
        killer.start()
        rows, folder = run_sweep(load_spec(spec), scheduler=cluster.scheduler_address)
        killer.join(timeout=60)
    assert killed, "a worker was killed while a cell ran"
    table = pd.read_parquet(folder / "table.parquet")
    assert sorted(table["pause"]) == [2.0, 2.5, 3.0] and (table["status"] == "ok").all()
    assert len(finished_runs(runs, "95_sleeper")) == 3 and leftovers(runs) == []
