"""Parameter sweeps: one notebook over a grid, run in parallel locally or on a Dask cluster, resumable.

The spec (notebook, cases, seeds, fixed, grid, runs, plots) is read and expanded by `sweep_spec`.
Each run is an ordinary run folder (runs/<notebook>/<case>-<hash>), so a run that finished with the
same notebook, data, parameters and library is not redone. The sweep's own folder
(runs/sweeps/<name>/) holds the lock, the table (parquet and CSV), the plots and index.html.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.errors import CaseError, ParameterError, WorkbenchError
from workbench.runner.locks import FolderLock
from workbench.runner.run import Run, execute_request, plan_run
from workbench.runner.sweep_spec import Spec, expand

__all__ = ["plan", "run_sweep"]


def plan(spec: Spec, runs_dir: Path) -> list[Run]:
    """Plan (validate) every run before any starts; one error lists every invalid combination."""
    planned: list[Run] = []
    problems: list[str] = []
    invalid = 0
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


def _crashed(run: Run, exc: BaseException) -> dict[str, Any]:
    """The row of a run whose worker raised instead of returning (e.g. its run folder could not be written)."""
    error = {"cell": None, "ename": type(exc).__name__, "evalue": str(exc), "source": ""}
    return {"params": run.params, "folder": str(run.folder), "status": "failed", "duration_s": 0.0,
            "error": error, "message": f"{type(exc).__name__}: {exc}", "attempts": 1}


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True, disable=None)


def run_sweep(spec: Spec, *, workers: int | None = None, scheduler: str | None = None,
              runs_dir: Path | None = None, out: Path | None = None) -> tuple[list[dict[str, Any]], Path]:
    """Plan, lock, execute what is missing (locally or on Dask), aggregate; return the rows and the folder."""
    from workbench.runner.sweep_table import write_outputs

    runs_dir = (runs_dir or paths.runs_dir()).resolve()
    folder = (out or runs_dir / "sweeps" / spec.name).resolve()
    planned = plan(spec, runs_dir)
    nb = str(planned[0].notebook)
    rows: list[dict[str, Any]] = []
    with FolderLock(folder):
        bar = _progress(len(planned))
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = [client.submit(execute_request, nb, r.params, str(runs_dir), pure=False) for r in planned]
                for fut in as_completed(futures):
                    rows.append(fut.result())
                    bar.update()
        else:
            from workbench.runner.pool import run_in_processes

            tasks = [(nb, r.params, str(runs_dir)) for r in planned]
            for i, row, exc in run_in_processes(execute_request, tasks, workers):
                rows.append(row if exc is None else _crashed(planned[i], exc))
                bar.update()
        bar.close()
        write_outputs(spec, rows, folder)
    return rows, folder
