"""Parameter sweeps: one notebook over a grid, run in parallel locally or on a Dask cluster, resumable.

The spec (notebook, cases, seeds, fixed, grid, runs, plots) is read and expanded by `sweep_spec`.
Each run is an ordinary run folder (runs/<notebook>/<case>-<hash>), so a run that finished with the
same notebook, data, parameters and library is not redone. The sweep's own folder
(runs/sweeps/<name>/) holds the lock, the table (parquet and CSV), the plots and index.html.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.errors import CaseError, ParameterError, WorkbenchError
from workbench.fileio import shown
from workbench.runner.locks import FolderLock
from workbench.runner.notebooks import read_notebook, recorded_names
from workbench.runner.publish import check_runs_root, within
from workbench.runner.run import Run, execute_request, is_finished, plan_run
from workbench.runner.sweep_spec import Spec, expand

__all__ = ["plan", "run_sweep"]


def plan(spec: Spec, runs_dir: Path) -> list[Run]:
    """Plan (validate) every run before any starts; one error lists every invalid combination."""
    planned: list[Run] = []
    problems: list[str] = []
    invalid = 0
    cases: dict = {}  # each case is loaded and validated once, not once per run
    seen: set[Path] = set()
    for request in expand(spec):
        try:
            run = plan_run(spec.notebook, request, runs_dir=runs_dir, cases=cases)
        except (ParameterError, CaseError) as e:
            text = ", ".join(f"{k}={shown(v)}" for k, v in request.items())
            problems.extend(f"[{text}] {p}" for p in e.problems)
            invalid += 1
            continue
        if run.folder not in seen:  # points equal once defaults are filled in are one run
            seen.add(run.folder)
            planned.append(run)
    if planned:
        problems += _plot_problems(spec, planned[0])
    if problems:
        raise WorkbenchError(f"sweep '{spec.name}': {invalid} invalid run(s), nothing was started:\n"
                             + "\n".join(f"  - {p}" for p in problems))
    return planned


def _plot_problems(spec: Spec, run: Run) -> list[str]:
    """Plots that name a parameter the notebook does not declare, or a value it never records."""
    import re

    declared = set(run.params) | {"case", "seed"}
    names, patterns, dynamic = recorded_names(read_notebook(run.notebook))
    problems = []
    for i, p in enumerate(spec.plots):
        if p["x"] not in declared:
            problems.append(f"plots[{i}]: x {shown(p['x'])} is not a parameter of {run.notebook.stem} "
                            f"(parameters: {', '.join(sorted(declared))})")
        for y in p["y"]:
            if not dynamic and y not in names and not any(re.fullmatch(pat, y) for pat in patterns):
                close = difflib.get_close_matches(y, sorted(names), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"plots[{i}]: y {shown(y)} is never recorded by {run.notebook.stem}{hint}")
    return problems


def _connect(scheduler: str, timeout: float | None = None):
    """A Dask client of the scheduler, or a clear error when it cannot be reached within timeout seconds
    (default: $WORKBENCH_CONNECT_TIMEOUT, else 10)."""
    import os

    from distributed import Client

    timeout = timeout or float(os.environ.get("WORKBENCH_CONNECT_TIMEOUT", "10"))
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise WorkbenchError(f"cannot reach the Dask scheduler at {shown(scheduler)} within {timeout:g} s "
                             f"({type(e).__name__}); is `dask scheduler` running there?") from e


def _run_on_dask(scheduler: str, planned: list[Run], bar: Any) -> list[dict[str, Any]]:
    """Run what is not finished on a Dask cluster whose workers share no disk with this client."""
    import hashlib

    from distributed import as_completed

    from workbench.runner.remote import is_bundled, pack_folder, publish_returned, run_on_worker

    rows: list[dict[str, Any]] = []
    with _connect(scheduler) as client:
        todo = []
        for r in planned:
            if is_finished(r):
                rows.append({"params": r.params, "folder": str(r.folder), "status": "skipped", "duration_s": 0.0,
                             "error": None, "message": None, "attempts": 0, "warnings": []})
                bar.update()
            else:
                todo.append(r)
        packs: dict[str, tuple[Any, str]] = {}
        futures = {}
        for r in todo:
            key = str(r.case.folder)
            if key not in packs:
                if is_bundled(r.case.folder):
                    packs[key] = (None, "")
                else:  # sent once to every worker, checked against its sha256 where a task opens it
                    data = pack_folder(r.case.folder)
                    packs[key] = (client.scatter(data, hash=True, broadcast=True),  # a copy on every worker:
                                  hashlib.sha256(data).hexdigest())  # a lost worker loses no copy
            case_zip, sha = packs[key]
            fut = client.submit(run_on_worker, r.notebook.name, r.notebook.read_bytes(), r.params, case_zip, sha,
                                pure=False, retries=1)
            futures[fut] = r
        for fut in as_completed(futures):
            r = futures[fut]
            try:
                returned = fut.result()
            except Exception as e:  # noqa: BLE001 - one failed task is a failed row; the others go on
                rows.append(_crashed(r, e))
            else:
                who = client.who_has(fut).get(fut.key, ())
                rows.append(publish_returned(r, returned, worker=", ".join(map(str, who)))[1])
            bar.update()
    return rows


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
    from workbench.runner.sweep_table import mark_running, write_outputs

    runs_dir = (runs_dir or paths.runs_dir()).resolve()
    folder = (out or within(runs_dir, runs_dir / "sweeps" / spec.name)).resolve()
    planned = plan(spec, runs_dir)
    check_runs_root(runs_dir)
    nb = str(planned[0].notebook)
    rows: list[dict[str, Any]] = []
    with FolderLock(folder):
        mark_running(spec, len(planned), folder)
        bar = _progress(len(planned))
        if scheduler:
            rows += _run_on_dask(scheduler, planned, bar)
        else:
            from workbench.runner.pool import run_in_processes

            tasks = [(nb, r.params, str(runs_dir)) for r in planned]
            for i, row, exc in run_in_processes(execute_request, tasks, workers):
                rows.append(row if exc is None else _crashed(planned[i], exc))
                bar.update()
        bar.close()
        write_outputs(spec, rows, folder, planned=len(planned))
    return rows, folder
