"""Shared fixtures: a tiny synthetic case study, an isolated runs folder, and small notebooks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, SHARED_RUNS_ENV, make_case, write_notebook
from workbench import paths

_SHARED_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """One folder of shared runs (tests.helpers.shared_run) per session, made by the process that
    starts the session; pytest-xdist workers inherit its path."""
    import os
    import tempfile

    if not hasattr(config, "workerinput") and SHARED_RUNS_ENV not in os.environ:
        folder = tempfile.mkdtemp(prefix="wb-shared-runs-")
        os.environ[SHARED_RUNS_ENV] = folder
        config.stash[_SHARED_KEY] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    import os

    folder = config.stash.get(_SHARED_KEY, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(SHARED_RUNS_ENV, None)



@pytest.fixture(autouse=True)
def private_jupyter_runtime(monkeypatch: pytest.MonkeyPatch):
    """Each test's kernels keep their connection files and sockets in its own runtime folder, so tests
    running in parallel never see (or clean up) each other's. The path stays short: a Unix socket's
    path is limited to about 100 characters."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="wbrt-"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tiny_case(tmp_path: Path) -> Path:
    return make_case(tmp_path / "cases" / "tiny")


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated runs folder (WORKBENCH_RUNS)."""
    folder = tmp_path / "runs"
    monkeypatch.setenv(paths.RUNS_ENV, str(folder))
    return folder


@pytest.fixture
def notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private notebooks folder holding a copy of the real notebooks plus small test notebooks."""
    folder = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    monkeypatch.setenv(paths.NOTEBOOKS_ENV, str(folder))
    params = ('case = "tiny"  # case study\n'
              'x = 1  # a number; range: 0..10\n'
              'mode = "a"  # a mode; one of: a, b\n'
              'fail = False  # raise in the third cell\n'
              'pause = 0.0  # seconds to sleep before recording; range: 0..60\n')
    write_notebook(folder / "98_echo.ipynb", [
        ("markdown", "# Echo\n", []),
        ("code", params, ["parameters"]),
        ("code", "import time\nimport workbench as wb\ntime.sleep(pause)\ncs = wb.load_case(case)\n"
                 "wb.record('x_squared', x * x)\nwb.record('mode', mode)\n"
                 "wb.record('rows', len(cs.frame()))\n"
                 "import os\nwb.record('cwd_is_run_folder', os.path.samefile(os.getcwd(), wb.output_dir()))\n", []),
        ("code", "if fail:\n    raise ValueError('planted failure')\nwb.decide('echo', ['x was given'], ['nothing'])\n", []),
    ])
    write_notebook(folder / "95_sleeper.ipynb", [
        ("markdown", "# Sleeper\n", []),
        ("code", 'case = "tiny"  # case study\npause = 5.0  # seconds to sleep; range: 0..600\n', ["parameters"]),
        ("code", "import time\nimport workbench as wb\nwb.record('before', 1)\n", []),
        ("code", "(wb.output_dir() / 'started').write_text('')  # tests wait for this file\ntime.sleep(pause)\n", []),
        ("code", "wb.record('after', 2)\nwb.decide('slept', ['paused'], ['nothing'])\n", []),
    ])
    write_notebook(folder / "97_checks.ipynb", [
        ("markdown", "# Checks\n", []),
        ("code", 'case = "tiny"  # case study\n'
                 'seed = 0  # a seed; range: 0..\n'
                 'split = "auto"  # how to split; one of: auto, time, random; needs: time=time_column\n'
                 'since = "2024-01-01"  # first day; type: date\n'
                 'cost_fp = 1.0  # cost of a false positive; range: 0..\n'
                 'decide = True  # record a decision\n', ["parameters"]),
        ("code", "import workbench as wb\nwb.record('seed_used', seed)\n"
                 "if decide:\n    wb.decide('checked', ['ok'], ['nothing'])\n", []),
    ])
    return folder


@pytest.fixture
def case_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notebooks: Path) -> Path:
    """A cases folder on WORKBENCH_CASES holding `tiny`, which supports the test notebooks."""
    folder = tmp_path / "cases"
    make_case(folder / "tiny", notebooks=["98_echo", "97_checks", "95_sleeper", "00_framing"])
    monkeypatch.setenv(paths.CASES_ENV, str(folder))
    return folder
