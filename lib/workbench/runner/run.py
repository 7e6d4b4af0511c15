"""Execute one run: a notebook with validated parameters, into its own folder, atomically.

A run folder holds `notebook.ipynb` (executed), `results.json` (what the notebook recorded; only
when the run finished), `provenance.json` (parameters, data sha256, versions, git revision,
duration, status), `figures/`, and, on request, `notebook.html`. The folder is built under a
temporary name and renamed into place when complete, so an interrupted run never looks finished.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import Case, load_case
from workbench.errors import ParameterError, WorkbenchError
from workbench.records import RUN_DIR_ENV
from workbench.runner.applicability import applicability, why_not
from workbench.runner.kernels import KERNEL_START_ERRORS, import_papermill, kernel_manager_class
from workbench.runner.notebooks import find_error, read_notebook, read_records, resolve_notebook, write_figures
from workbench.runner.params import declared_parameters, validate
from workbench.runner.provenance import git_revision, versions

__all__ = [
    "LIBRARY", "Run", "RunResult", "execute", "execute_request", "is_finished", "library_digest", "plan_run",
    "render_html", "run_failed_message",
]



@dataclass
class Run:
    """A validated request: which notebook, on which case, with which full parameter set, into where."""

    notebook: Path
    case: Case
    params: dict[str, Any]
    folder: Path
    fingerprint: str


@dataclass
class RunResult:
    """What happened: status ('ok' or 'failed'), recorded results, the error if any, and the folder."""

    run: Run
    status: str
    results: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


LIBRARY = Path(__file__).resolve().parents[1]  # the workbench package folder


def library_digest(root: Path | None = None) -> str:
    """A digest of every module of the library (subpackages included), so that a change to any of
    them makes finished runs stale."""
    root = root or LIBRARY
    files = sorted(root.rglob("*.py"))
    return _digest(*(f"{p.relative_to(root).as_posix()}\0".encode() + p.read_bytes() for p in files))


def plan_run(notebook: str | Path, request: dict[str, Any], *, runs_dir: Path | None = None,
             cases: dict[str, Case] | None = None) -> Run:
    """Validate a request against the notebook's parameters and its case, before any kernel starts.

    `cases` (case argument -> loaded Case) lets a caller planning many runs validate each case once.
    """
    nb_path = resolve_notebook(notebook)
    declared = declared_parameters(nb_path)
    if "case" not in declared:
        raise WorkbenchError(f"{nb_path.name}: its parameters cell must declare `case`")
    params = validate(nb_path.name, declared, request)
    if cases is None:
        case = load_case(params["case"])
    else:
        case = cases.get(params["case"]) or cases.setdefault(params["case"], load_case(params["case"]))
    if not case.supports(nb_path.stem):
        supported = ", ".join(case.notebooks) or "none"
        raise ParameterError(nb_path.name, [
            f"parameter 'case': case study '{case.id}' does not support {nb_path.stem} "
            f"(it supports: {supported}; add the notebook to 'notebooks' in its case.yaml)"
        ])
    reasons = why_not(case, applicability(read_notebook(nb_path), nb_path.name), nb_path.stem)
    if reasons:
        raise ParameterError(nb_path.name, [f"parameter 'case': {r}" for r in reasons])
    # A case given as a folder path must still resolve from inside the run folder.
    if params["case"] != case.id:
        params["case"] = str(case.folder)
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    key = _digest(nb_path.stem, canonical)[:10]
    folder = (runs_dir or paths.runs_dir()) / nb_path.stem / f"{case.id}-{key}"
    # the case's declaration and the code it brings (e.g. labelling.py), besides its data
    case_files = [case.folder / "case.yaml", *sorted(case.folder.glob("*.py"))]
    case_digest = _digest(*(p.name.encode() + b"\0" + p.read_bytes() for p in case_files), case.sha256 or "")
    fingerprint = _digest(nb_path.read_bytes(), case_digest, canonical, library_digest())
    return Run(nb_path, case, params, folder, fingerprint)


def is_finished(run: Run) -> bool:
    """Whether the run's folder holds a finished, successful run of exactly this request."""
    try:
        prov = json.loads((run.folder / "provenance.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return prov.get("status") == "ok" and prov.get("fingerprint") == run.fingerprint and (
        run.folder / "results.json").is_file()


def _source_cell(nb: dict[str, Any], index: int) -> int:
    """The index in the source notebook of executed cell `index` (papermill inserts cells)."""
    inserted = {"injected-parameters", "papermill-error-cell-tag"}
    return sum(
        1 for c in nb["cells"][:index] if not inserted & set(c.get("metadata", {}).get("tags", []))
    )


def render_html(notebook: Path, out: Path) -> None:
    """Write an HTML rendering of an executed notebook."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    out.write_text(body, encoding="utf-8")


def execute(run: Run, *, html: bool = False, timeout: int = 1800) -> RunResult:
    """Execute a planned run with papermill into its folder; never raises for a failing notebook."""
    papermill = import_papermill()
    from papermill.exceptions import PapermillExecutionError

    parent = run.folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{run.folder.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    out_nb = tmp / "notebook.ipynb"
    # figures inline even when the caller's environment says MPLBACKEND=Agg
    kernel_env = {RUN_DIR_ENV: str(tmp), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    started = time.time()
    error = None
    kernel_log = open(tmp / "kernel.log", "wb")  # noqa: SIM115 - closed below, after the kernel is gone
    try:
        papermill.execute_notebook(
            str(run.notebook), str(out_nb), parameters=run.params, kernel_name="python3",
            progress_bar=False, log_output=False, execution_timeout=timeout, start_timeout=120,
            kernel_manager_class=kernel_manager_class(kernel_env, tmp, kernel_log),
        )
    except PapermillExecutionError as e:
        error = {"cell": None, "ename": e.ename, "evalue": e.evalue, "source": ""}
    except Exception as e:  # noqa: BLE001 - kernel death, timeouts: the run failed, say why
        error = {"cell": None, "ename": type(e).__name__, "evalue": str(e), "source": ""}
    finally:
        kernel_log.close()
    duration = time.time() - started

    results: dict[str, Any] = {}
    if out_nb.is_file():
        nb = read_notebook(out_nb)
        found = find_error(nb)
        if found and error is not None:
            found["cell"] = _source_cell(nb, found["cell"])
            error = found
        write_figures(nb, tmp / "figures")
        if error is None:
            results = read_records(nb)
            (tmp / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        if html:
            render_html(out_nb, tmp / "notebook.html")
    status = "ok" if error is None else "failed"
    provenance = {
        "status": status,
        "notebook": run.notebook.name,
        "case": run.case.id,
        "case_folder": str(run.case.folder),
        "case_data_sha256": run.case.sha256,
        "parameters": run.params,
        "fingerprint": run.fingerprint,
        "error": error,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(duration, 3),
        "git_revision": git_revision(),
        "versions": versions(),
        "command": sys.argv,
    }
    (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    _publish(tmp, run.folder)
    return RunResult(run, status, results, error, duration)


def _publish(tmp: Path, folder: Path, attempts: int = 5) -> None:
    """Move a complete run folder into place, replacing an older run of the same request.

    Two processes may publish the same run at once (a resumed sweep and an orphaned worker of a
    killed one): each rename is atomic, and a lost race is retried.
    """
    for attempt in range(attempts):
        old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
        try:
            if folder.exists():
                folder.rename(old)
            tmp.rename(folder)
            break
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    for stale in folder.parent.glob(f".old-{folder.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def run_failed_message(result: RunResult) -> str:
    """One message saying which cell failed, with what, and where the executed notebook is."""
    e = result.error or {}
    cell = f"cell {e['cell']}" if e.get("cell") is not None else "the kernel"
    src = f"\n    {e['source'].splitlines()[0]} ..." if e.get("source") else ""
    where = paths.display(result.run.folder / "notebook.ipynb")
    return (f"{result.run.notebook.name} on '{result.run.case.id}' failed in {cell}: "
            f"{e.get('ename', 'Error')}: {e.get('evalue', '')}{src}\n  executed notebook: {where}")


def execute_request(notebook: str, request: dict[str, Any], runs_dir: str, *, html: bool = False,
                    force: bool = False, retries: int = 2) -> dict[str, Any]:
    """Plan and run one request unless an identical finished run exists (in a worker process or on Dask).

    A kernel that fails to start is retried. Returns a picklable row: params, status ('ok',
    'failed' or 'skipped' for a reused run), duration, folder, error, the failure message, attempts.
    """
    run = plan_run(notebook, request, runs_dir=Path(runs_dir))
    row = {"params": run.params, "folder": str(run.folder), "error": None, "message": None}
    if not force and is_finished(run):
        return {**row, "status": "skipped", "duration_s": 0.0, "attempts": 0}
    for attempt in range(1, retries + 2):
        result = execute(run, html=html)
        e = result.error or {}
        kernel_start_failed = not result.ok and e.get("cell") is None and e.get("ename") in KERNEL_START_ERRORS
        if not kernel_start_failed or attempt > retries:
            return {**row, "status": result.status, "duration_s": result.duration_s, "error": result.error,
                    "message": None if result.ok else run_failed_message(result), "attempts": attempt}
    raise AssertionError("unreachable")
