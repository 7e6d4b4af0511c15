"""Plan and execute one run: a notebook with validated parameters, into its own folder.

A run folder holds `notebook.ipynb` (executed), `results.json` (what the notebook recorded; only
when the run finished), `provenance.json` (parameters, the notebook's path and sha256, the data's
sha256, versions, git revision, duration, peak memory, status, warnings), `figures/`, `kernel.log`
and, on request, `notebook.html`. How folders are built and published, and why a finished run is
never lost, is `publish.py`.

A run's folder is `<runs>/<notebook stem>/<case>-<key>`, where the key hashes the notebook's content
and the full parameter set: two different notebooks with one stem never share a folder. Its
fingerprint adds the data actually read (hashed, cached by size and modification time), the case's
declaration and code, and every module of the library: a finished run is reused only while all of
these are unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import Case, load_case
from workbench.errors import ParameterError, WorkbenchError
from workbench.fileio import sha256_cached
from workbench.records import RUN_DIR_ENV
from workbench.runner.applicability import applicability, has_fact, why_not
from workbench.runner.notebooks import read_notebook, read_records, resolve_notebook, write_figures
from workbench.runner.params import declared_parameters, unmet_needs, validate
from workbench.runner.provenance import git_revision, versions
from workbench.runner.publish import check_runs_root, clean_stale, new_temp_folder, publish, within

__all__ = [
    "KERNEL_ENV", "LIBRARY", "Run", "RunResult", "execute", "execute_request", "is_finished", "library_digest", "plan_run",
    "render_html", "run_failed_message",
]

LIBRARY = Path(__file__).resolve().parents[1]  # the workbench package folder
# what every run's kernel starts with (besides the run's folder): figures inline even when the
# caller's environment says MPLBACKEND=Agg
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class Run:
    """A validated request: which notebook, on which case, with which full parameter set, into where."""

    notebook: Path
    case: Case
    params: dict[str, Any]
    folder: Path
    fingerprint: str
    notebook_sha256: str = ""
    data_sha256: str = ""


@dataclass
class RunResult:
    """What happened: status ('ok' or 'failed'), recorded results, the error if any, and where it was published."""

    run: Run
    status: str
    results: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    duration_s: float = 0.0
    folder: Path | None = None
    warnings: list[str] = field(default_factory=list)
    started: bool = True  # False: the kernel never ran a cell (worth a retry)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


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
    if not _STEM.fullmatch(nb_path.stem):
        raise WorkbenchError(f"{nb_path}: a notebook's file name must be letters, digits, '_', '-' or '.', "
                             "not starting with '.'")
    declared = declared_parameters(nb_path)
    if "case" not in declared:
        raise WorkbenchError(f"{nb_path.name}: its parameters cell must declare `case`")
    params = validate(nb_path.name, declared, request)
    root = Path(runs_dir) if runs_dir is not None else paths.runs_dir()
    cache = root / ".cache" if root.is_dir() else None  # cases validated before are not read again

    def load() -> Case:
        from workbench.cases.data import release_unused_memory

        found = load_case(params["case"], cache_dir=cache, max_rows=None)  # validate every row
        found.data = None  # the kernel reads the data itself: this process lets go of it
        release_unused_memory()
        return found

    case = load() if cases is None else (cases.get(params["case"]) or cases.setdefault(params["case"], load()))
    if not case.supports(nb_path.stem):
        supported = ", ".join(case.notebooks or []) or "none"
        raise ParameterError(nb_path.name, [
            f"parameter 'case': case study '{case.id}' does not support {nb_path.stem} "
            f"(it supports: {supported}; add the notebook to 'notebooks' in its case.yaml)"
        ])
    reasons = [f"parameter 'case': {r}" for r in why_not(case, applicability(read_notebook(nb_path), nb_path.name),
                                                         nb_path.stem)]
    reasons += unmet_needs(declared, params, lambda fact: has_fact(case, fact))
    if reasons:
        raise ParameterError(nb_path.name, reasons)
    # A case given as a folder (even one named like its id, `--case mycase` in its parent folder) must
    # still resolve from inside the run folder, where the kernel runs: pass its absolute path.
    found_by_id = any((d / case.id / "case.yaml").is_file() and (d / case.id).resolve() == case.folder
                      for d in paths.case_dirs())
    if params["case"] != case.id or not found_by_id:
        params["case"] = str(case.folder)
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    nb_bytes = nb_path.read_bytes()
    nb_sha = hashlib.sha256(nb_bytes).hexdigest()
    key = _digest(nb_path.stem, nb_sha, canonical)[:10]
    folder = within(root, root / nb_path.stem / f"{case.id}-{key}")
    # the data actually read (a declared sha256 was verified when the case loaded), the case's
    # declaration and the code it brings (e.g. labelling.py)
    data_sha = case.sha256 or sha256_cached(case.data_path, root / ".cache" if root.is_dir() else None)
    case_files = [case.folder / "case.yaml", *sorted(case.folder.glob("*.py"))]
    case_digest = _digest(*(p.name.encode() + b"\0" + p.read_bytes() for p in case_files), data_sha)
    fingerprint = _digest(nb_bytes, case_digest, canonical, library_digest())
    return Run(nb_path, case, params, folder, fingerprint, nb_sha, data_sha)


def is_finished(run: Run) -> bool:
    """Whether the run's folder holds a finished, successful run of exactly this request."""
    try:
        prov = json.loads((run.folder / "provenance.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return prov.get("status") == "ok" and prov.get("fingerprint") == run.fingerprint and (
        run.folder / "results.json").is_file()


def render_html(notebook: Path, out: Path) -> None:
    """Write an HTML rendering of an executed notebook."""
    from workbench.runner.executor import skip_iri_grammar

    skip_iri_grammar()
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    out.write_text(body, encoding="utf-8")


def execute(run: Run, *, html: bool = False, timeout: int = 1800, kernel: Any = None,
            command: list[str] | None = None) -> RunResult:
    """Execute a planned run into its folder; never raises for a failing notebook.

    `kernel`: a warm kernel from the kernel pool (`warm.py`) to run in, instead of starting one;
    `command`: the command line that asked for the run (default: this process's).
    """
    from workbench.runner.executor import execute_notebook

    root = run.folder.parent.parent
    check_runs_root(root)
    run.folder.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(run.folder.parent)
    tmp = new_temp_folder(run.folder)
    out_nb = tmp / "notebook.ipynb"
    kernel_env = {RUN_DIR_ENV: str(tmp), **KERNEL_ENV}
    started = time.time()
    with open(tmp / "kernel.log", "wb") as kernel_log:
        done = execute_notebook(run.notebook, run.params, out_nb, cwd=tmp, env=kernel_env, log=kernel_log,
                                timeout=timeout, km=None if kernel is None else kernel.km)
    if kernel is not None:  # a warm kernel has written to its own log since it started
        with contextlib.suppress(OSError):
            shutil.copyfile(kernel.log_path, tmp / "kernel.log")
    duration = time.time() - started
    error = done.error
    results: dict[str, Any] = {}
    warnings = list(run.case.warnings)
    write_figures(done.nb, tmp / "figures")
    if error is None:
        results = read_records(done.nb)
        if "decision" not in results:
            warnings.append(f"{run.notebook.name} finished without recording a decision (workbench.decide)")
        (tmp / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if html:
        render_html(out_nb, tmp / "notebook.html")
    status = "ok" if error is None else "failed"
    provenance = {
        "status": status,
        "notebook": run.notebook.name,
        "notebook_path": str(run.notebook),
        "notebook_sha256": run.notebook_sha256,
        "case": run.case.id,
        "case_folder": str(run.case.folder),
        "case_data_sha256": run.data_sha256,
        "parameters": run.params,
        "fingerprint": run.fingerprint,
        "error": error,
        "warnings": warnings,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(duration, 3),
        "peak_memory_mb": done.peak_memory_mb,
        "kernel": "cold" if kernel is None else "warm (pre-started by the kernel pool)",
        "git_revision": git_revision(),
        "versions": versions(),
        "command": sys.argv if command is None else command,
    }
    (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    where = publish(tmp, run.folder, ok=error is None)
    return RunResult(run, status, results, error, duration, where, warnings, done.started)


def run_failed_message(result: RunResult) -> str:
    """One message saying which cell failed, with what, and where the executed notebook is."""
    e = result.error or {}
    cell = f"cell {e['cell']}" if e.get("cell") is not None else "the kernel (before any cell ran)"
    src = f"\n    {e['source'].splitlines()[0]} ..." if e.get("source") else ""
    folder = result.folder or result.run.folder
    where = paths.display(folder / "notebook.ipynb")
    kept = ""
    if folder != result.run.folder:
        kept = f"\n  the earlier finished run is kept: {paths.display(result.run.folder)}"
    return (f"{result.run.notebook.name} on '{result.run.case.id}' failed in {cell}: "
            f"{e.get('ename', 'Error')}: {e.get('evalue', '')}{src}\n  executed notebook: {where}{kept}")


def execute_request(notebook: str, request: dict[str, Any], runs_dir: str, *, html: bool = False,
                    force: bool = False, retries: int = 2) -> dict[str, Any]:
    """Plan and run one request unless an identical finished run exists (in a worker process or on Dask).

    A kernel that fails to start is retried; a run whose cells had started is not. Returns a
    picklable row: params, status ('ok', 'failed' or 'skipped' for a reused run), duration, folder,
    error, the failure message, warnings, attempts.
    """
    run = plan_run(notebook, request, runs_dir=Path(runs_dir))
    row: dict[str, Any] = {"params": run.params, "folder": str(run.folder), "error": None, "message": None,
                           "warnings": []}
    if not force and is_finished(run):
        prov = json.loads((run.folder / "provenance.json").read_text())
        return {**row, "status": "skipped", "duration_s": 0.0, "attempts": 0, "warnings": prov.get("warnings", [])}
    for attempt in range(1, retries + 2):
        result = execute(run, html=html)
        if result.ok or result.started or attempt > retries:
            return {**row, "status": result.status, "duration_s": result.duration_s, "error": result.error,
                    "message": None if result.ok else run_failed_message(result), "attempts": attempt,
                    "warnings": result.warnings, "folder": str(result.folder or run.folder)}
    raise AssertionError("unreachable")
