"""Parameter sweeps: one notebook over a grid, run in parallel locally or on a Dask cluster, resumable.

A sweep spec (YAML):

    notebook: 00_framing          # path, stem or number
    cases: [flights]              # one or more case studies
    seeds: [0, 1, 2]              # repeats: each sets the parameter `seed` (optional)
    fixed: {lgbm_trees: 100}      # the same for every run (optional)
    grid:                         # the cartesian product of these values (optional)
      max_train_rows: [5000, 20000, 60000]
    runs:                         # explicit parameter sets, added to the grid (optional)
      - {max_train_rows: 1000, lgbm_trees: 50}
    plots:                        # recorded values (y) against a parameter (x), seeds as a band
      - {x: max_train_rows, y: [lightgbm_roc_auc, logistic_roc_auc]}

Each run is an ordinary run folder (runs/<notebook>/<case>-<hash>), so a run that finished with the
same notebook, data, parameters and library is not redone. The sweep's own folder
(runs/sweeps/<name>/) holds the lock, the table (parquet and CSV), the plots and index.html.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .errors import WorkbenchError

__all__ = ["Spec", "SweepLock", "execute_one", "expand", "load_spec", "plan", "run_sweep"]

KEYS = {"notebook", "cases", "seeds", "fixed", "grid", "runs", "plots", "name"}


@dataclass
class Spec:
    """A validated sweep spec."""

    name: str
    notebook: str
    cases: list[str]
    seeds: list[int] | None
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]
    runs: list[dict[str, Any]]
    plots: list[dict[str, Any]] = field(default_factory=list)


def load_spec(path: str | Path) -> Spec:
    """Read and check a sweep spec file; every problem is listed in one error."""
    from .files import read_yaml_mapping

    raw = read_yaml_mapping(path, "sweep spec")
    path = Path(path)
    problems = [f"unknown key '{k}' (expected: {', '.join(sorted(KEYS))})" for k in raw if k not in KEYS]
    if not isinstance(raw.get("notebook"), str):
        problems.append("'notebook' must name one notebook")
    cases = raw.get("cases")
    cases = [cases] if isinstance(cases, str) else cases
    if not (isinstance(cases, list) and cases and all(isinstance(c, str) for c in cases)):
        problems.append("'cases' must be a case id or a non-empty list of them")
    seeds = raw.get("seeds")
    if seeds is not None and not (isinstance(seeds, list) and seeds and all(type(s) is int for s in seeds)):
        problems.append("'seeds' must be a non-empty list of integers")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        problems.append("'grid' must map parameter names to non-empty lists of values")
    runs = raw.get("runs") or []
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        problems.append("'runs' must be a list of parameter mappings")
    fixed = raw.get("fixed") or {}
    if not isinstance(fixed, dict):
        problems.append("'fixed' must map parameter names to values")
    plots = raw.get("plots") or []
    for i, p in enumerate(plots if isinstance(plots, list) else [None]):
        if not (isinstance(p, dict) and isinstance(p.get("x"), str) and p.get("y")):
            problems.append(f"plots[{i}] must have 'x' (a parameter) and 'y' (recorded values)")
    if problems:
        raise WorkbenchError(f"{path}: invalid sweep spec:\n" + "\n".join(f"  - {p}" for p in problems))
    plots = [{"x": p["x"], "y": [p["y"]] if isinstance(p["y"], str) else list(p["y"])} for p in plots]
    return Spec(str(raw.get("name") or path.stem), raw["notebook"], cases, seeds, fixed, grid, runs, plots)


def expand(spec: Spec) -> list[dict[str, Any]]:
    """Every run's requested parameters: cases x seeds x (grid product + explicit runs), in order."""
    names = list(spec.grid)
    combos = [dict(zip(names, values)) for values in itertools.product(*spec.grid.values())] if names else []
    combos += [dict(r) for r in spec.runs]
    combos = combos or [{}]
    out = []
    for case in spec.cases:
        for seed in spec.seeds or [None]:
            for combo in combos:
                request = {**spec.fixed, **combo, "case": case}
                if seed is not None:
                    request["seed"] = seed
                if request not in out:
                    out.append(request)
    return out


def plan(spec: Spec, runs_dir: Path) -> list:
    """Plan (validate) every run before any starts; one error lists every invalid combination."""
    from .errors import CaseError, ParameterError
    from .run import plan_run

    planned, problems, invalid = [], [], 0
    cases: dict = {}  # each case is loaded and validated once, not once per run
    for request in expand(spec):
        try:
            planned.append(plan_run(spec.notebook, request, runs_dir=runs_dir, cases=cases))
        except (ParameterError, CaseError) as e:
            shown = ", ".join(f"{k}={v!r}" for k, v in request.items())
            problems.extend(f"[{shown}] {p}" for p in e.problems)
            invalid += 1
    if problems:
        raise WorkbenchError(f"sweep '{spec.name}': {invalid} invalid run(s), nothing was started:\n"
                             + "\n".join(f"  - {p}" for p in problems))
    return planned


class SweepLock:
    """An exclusive lock on a sweep folder, so two sweeps never write into it at once."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> SweepLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WorkbenchError(
                f"another sweep is already running into {paths.display(self.path.parent)} (pid {holder}); "
                "wait for it to finish, or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def execute_one(notebook: str, request: dict[str, Any], runs_dir: str) -> dict[str, Any]:
    """Run one sweep point, or reuse its finished run (see run.execute_request)."""
    from .run import execute_request

    return execute_request(notebook, request, runs_dir)


def _die_with_parent() -> None:
    """Worker initializer: on Linux, a killed sweep takes its workers (and so their kernels) with it."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True, disable=None)


def run_sweep(spec: Spec, *, workers: int | None = None, scheduler: str | None = None,
              runs_dir: Path | None = None, out: Path | None = None) -> tuple[list[dict[str, Any]], Path]:
    """Plan, lock, execute what is missing (locally or on Dask), aggregate; return the rows and the folder."""
    from .sweepreport import write_outputs

    runs_dir = (runs_dir or paths.runs_dir()).resolve()
    folder = (out or runs_dir / "sweeps" / spec.name).resolve()
    planned = plan(spec, runs_dir)
    nb = str(planned[0].notebook)
    rows: list[dict[str, Any]] = []
    with SweepLock(folder):
        bar = _progress(len(planned))
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = [client.submit(execute_one, nb, r.params, str(runs_dir), pure=False) for r in planned]
                for fut in as_completed(futures):
                    rows.append(fut.result())
                    bar.update()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            n = max(1, min(workers or os.cpu_count() or 1, len(planned)))
            with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_die_with_parent) as pool:
                futures = [pool.submit(execute_one, nb, r.params, str(runs_dir)) for r in planned]
                for fut in as_completed(futures):
                    rows.append(fut.result())
                    bar.update()
        bar.close()
        write_outputs(spec, rows, folder)
    return rows, folder
