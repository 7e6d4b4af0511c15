"""The kernel pool (workbench.runner.warm): a warm run records what a cold run records, byte for byte;
each kernel serves one run; the pool refuses what it cannot serve faithfully; a client or a pool that
dies mid-run loses nothing finished and leaves no kernel behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import make_case, write_notebook
from workbench.runner import warm

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and process trees as on Linux and macOS")

WORKBENCH = str(Path(sys.executable).parent / "workbench")

PROBE = [
    ("markdown", "# Probe\n", []),
    ("code", 'case = "probe"  # case study\npid = False  # record the kernel\'s pid\n', ["parameters"]),
    ("code", "import os\nimport numpy as np\nimport workbench as wb\nip = get_ipython()\n"
             "wb.record('names', sorted(globals()))\n"
             "wb.record('execution_count', ip.execution_count)\n"
             "wb.record('history', len(ip.user_ns['In']))\n"
             "wb.record('modules_bound', sorted(k for k in ('np', 'pd', 'lightgbm', 'plt') if k in globals()))\n"
             "wb.record('cwd_is_run_folder', os.path.samefile(os.getcwd(), wb.output_dir()))\n"
             "wb.record('mpl_backend', os.environ.get('MPLBACKEND'))\n"
             "wb.record('draw', float(np.random.default_rng(0).normal()))\n"
             "if pid:\n    wb.record('kernel_pid', os.getpid())\n"
             "wb.decide('probed', ['a probe'], ['nothing'])\n", []),
]


@pytest.fixture
def probe(case_dir: Path, notebooks: Path, runs: Path) -> Path:
    write_notebook(notebooks / "96_probe.ipynb", PROBE)
    return make_case(case_dir / "probe", notebooks=["96_probe", "95_sleeper", "00_framing"])


def environment(**extra: str) -> dict[str, str]:
    """This test's environment as a shell would pass it (pytest's per-phase variable is not the user's)."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}, **extra}


def wb(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([WORKBENCH, *args], capture_output=True, text=True, timeout=300, env=environment(**env))


def results_of(runs: Path, notebook: str) -> tuple[bytes, dict]:
    """The latest finished run's results (bytes) and provenance."""
    folder = max(runs.glob(f"{notebook}/probe-*/results.json"), key=lambda p: p.stat().st_mtime_ns).parent
    return (folder / "results.json").read_bytes(), json.loads((folder / "provenance.json").read_text())


def running_in(pid: int, folder: Path) -> list[psutil.Process]:
    """The processes under pid whose working folder lies in folder (a run's kernel moves into its run)."""
    found = []
    for p in psutil.Process(pid).children(recursive=True):
        try:
            if Path(p.cwd()).is_relative_to(folder):
                found.append(p)
        except psutil.Error:
            pass
    return found


@pytest.fixture
def pool(probe: Path):
    """A pool of one kernel for this test's environment; stopped (by pid) afterwards whatever happens."""
    started = wb("kernels", "start", "--size", "1")
    assert started.returncode == 0, started.stderr
    state = warm.read_state()
    assert state is not None
    yield state
    wb("kernels", "stop")
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(state.pid).wait(10)
        psutil.Process(state.pid).status()  # a zombie counts as gone
        raise psutil.NoSuchProcess(state.pid)


def test_a_warm_run_records_what_a_cold_run_records_and_each_kernel_serves_one_run(pool, runs: Path) -> None:
    for notebook in ("96_probe", "00_framing"):
        cold = wb("run", notebook, "--case", "probe", "--cold")
        assert cold.returncode == 0 and "in a new kernel" in cold.stdout, cold.stderr
        cold_bytes, cold_prov = results_of(runs, notebook)
        hot = wb("run", notebook, "--case", "probe")
        assert hot.returncode == 0 and "in a warm kernel from the pool" in hot.stdout, hot.stderr
        hot_bytes, hot_prov = results_of(runs, notebook)
        assert hot_bytes == cold_bytes, f"{notebook}: a warm run recorded other results than a cold run"
        assert (cold_prov["kernel"], hot_prov["kernel"]) == ("cold", "warm (pre-started by the kernel pool)")
        assert hot_prov["fingerprint"] == cold_prov["fingerprint"] and hot_prov["command"][-2:] == ["--case", "probe"]
    probe = json.loads(results_of(runs, "96_probe")[0])
    # In holds "" and the three cells run: nothing of the pool's
    assert probe["modules_bound"] == ["np"] and probe["cwd_is_run_folder"] and probe["history"] == 4
    pids = []
    for _ in range(2):
        done = wb("run", "96_probe", "--case", "probe", "-p", "pid", "true")
        assert done.returncode == 0 and "warm kernel" in done.stdout, done.stderr
        pids.append(json.loads(results_of(runs, "96_probe")[0])["kernel_pid"])
    assert pids[0] != pids[1], "a kernel served two runs"
    assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
    other = wb("run", "96_probe", "--case", "probe", WB_OTHER="1")
    assert other.returncode == 0 and "in a new kernel" in other.stdout
    assert "started in another environment" in other.stderr


def sleeping_client(runs: Path) -> subprocess.Popen:
    """`workbench run` of a minute-long sleeper, returned once its kernel is inside the run."""
    client = subprocess.Popen([WORKBENCH, "run", "95_sleeper", "--case", "probe", "-p", "pause", "60"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    deadline = time.monotonic() + 120
    while not list(runs.glob("95_sleeper/.tmp-*/started")):
        assert time.monotonic() < deadline and client.poll() is None, "the sleeper never started"
        time.sleep(0.1)
    return client


def test_a_client_that_goes_away_mid_run_fails_its_run_and_the_pool_goes_on(pool, runs: Path) -> None:
    client = sleeping_client(runs)
    kernels = running_in(pool.pid, runs / "95_sleeper")
    assert len(kernels) == 1
    client.kill()
    client.wait()
    deadline = time.monotonic() + 60
    while not list(runs.glob("95_sleeper/probe-*/provenance.json")):
        assert time.monotonic() < deadline, "the abandoned run was not published as failed"
        time.sleep(0.2)
    prov = json.loads(next(runs.glob("95_sleeper/probe-*/provenance.json")).read_text())
    assert prov["status"] == "failed" and "died" in prov["error"]["evalue"]
    gone, alive = psutil.wait_procs(kernels, timeout=15)
    assert not [k for k in alive if k.status() != psutil.STATUS_ZOMBIE], "the abandoned run's kernel lives on"
    again = wb("run", "96_probe", "--case", "probe")
    assert again.returncode == 0 and "warm kernel" in again.stdout, again.stderr
    status = wb("kernels", "status")
    assert f"pid {pool.pid}" in status.stdout and "2 runs served" in status.stdout


def test_a_pool_killed_mid_run_is_a_clear_failure_and_leaves_no_kernel(pool, runs: Path) -> None:
    client = sleeping_client(runs)
    kernels = psutil.Process(pool.pid).children(recursive=True)
    assert len(running_in(pool.pid, runs / "95_sleeper")) == 1
    os.kill(pool.pid, signal.SIGKILL)
    _, err = client.communicate(timeout=60)
    assert client.returncode == 1 and "Traceback" not in err
    assert f"the kernel pool (pid {pool.pid}) stopped during the run of 95_sleeper.ipynb" in err
    gone, alive = psutil.wait_procs(kernels, timeout=15)
    assert not [k for k in alive if k.status() != psutil.STATUS_ZOMBIE], "a kernel outlived its pool"
    assert wb("kernels", "status").stdout.strip() == "no kernel pool runs"
    cold = wb("run", "95_sleeper", "--case", "probe", "-p", "pause", "0")
    assert cold.returncode == 0 and "in a new kernel" in cold.stdout, cold.stderr
    assert not list(runs.glob("95_sleeper/.tmp-*")), "the dead pool's half-run was not cleaned"


def test_stop_leaves_no_process_state_or_scratch(probe: Path, runs: Path) -> None:
    assert wb("kernels", "status").stdout.strip() == "no kernel pool runs"
    started = wb("kernels", "start", "--size", "2")
    assert started.returncode == 0 and "2 of 2 kernels warm" in started.stdout, started.stderr
    state = warm.read_state()
    assert state is not None and (runs / ".kernel-pool.json").stat().st_mode & 0o077 == 0, "the key is private"
    again = wb("kernels", "start")
    assert "kernel pool runs already" in again.stdout and warm.read_state().pid == state.pid
    service = psutil.Process(state.pid)
    tree = service.children(recursive=True)
    assert len([p for p in tree if "ipykernel" in " ".join(p.cmdline())]) == 2
    stopped = wb("kernels", "stop")
    assert stopped.returncode == 0 and f"kernel pool stopped (pid {state.pid})" in stopped.stdout
    gone, alive = psutil.wait_procs([service, *tree], timeout=15)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert not (runs / ".kernel-pool.json").exists()
    assert not any((runs / ".kernel-pool").iterdir())


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "0"], "--size 0: a kernel pool holds 1 to 16 kernels"),
    (["--idle-minutes", "-1"], "--idle-minutes -1: expected a positive number of minutes"),
])
def test_bad_pool_requests_are_refused_without_a_process(runs: Path, args: list[str], message: str) -> None:
    done = wb("kernels", "start", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (runs / ".kernel-pool.json").exists()


def test_a_stale_pool_refuses_runs(tmp_path: Path, runs: Path) -> None:
    service = warm._Service(size=1, idle_minutes=1, scratch=tmp_path / "scratch")
    service.library, service.installed = "0" * 64, warm.installed_stamp()
    assert "the workbench library changed" in (service.stale() or "")
    from workbench.runner.run import library_digest

    service.library = library_digest()
    assert service.stale() is None
    service.installed = {k: v - 1 for k, v in service.installed.items()}
    assert "packages were installed or removed" in (service.stale() or "")
