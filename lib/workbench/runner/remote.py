"""Runs on Dask workers that share nothing with the client but the scheduler.

A worker has the project installed (the same pinned environment, e.g. a container image) but not
the client's disk. Each task therefore carries what the worker cannot assume: the notebook's
content, and for a case outside the bundled ones, the case folder as a zip (scattered once to
every worker, so a lost worker loses no copy; content-addressed, and checked against its sha256 on
arrival). The worker plans and executes the run in its own scratch folder and returns the finished
run folder as a zip; the client publishes it atomically into its own runs folder, so resume,
isolation and the sweep lock work as with local processes. A worker lost mid-run leaves only its
scratch folder behind: Dask reruns the task elsewhere, and nothing half-done is ever published.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.errors import WorkbenchError

__all__ = ["is_bundled", "pack_folder", "publish_returned", "run_on_worker", "unpack_verified"]

_EPOCH = (2000, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same folder always packs to the same bytes


def is_bundled(case_folder: Path) -> bool:
    """Whether a case is one of the project's bundled cases (every worker has those)."""
    bundled = (paths.repo_root() / "casestudies").resolve()
    return Path(case_folder).resolve().parent == bundled


def pack_folder(folder: Path) -> bytes:
    """A deterministic zip of the files in folder (not its subfolders' caches)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return buf.getvalue()


def unpack_verified(data: bytes, sha256: str, dest: Path) -> Path:
    """Unzip data into dest after checking its sha256; refuse members that would land outside dest."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise WorkbenchError(f"the case folder sent to this worker is corrupt: sha256 {actual}, expected {sha256}")
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            target = (dest / name).resolve()
            if root not in target.parents:
                raise WorkbenchError(f"the case folder sent to this worker holds a path outside it: {name}")
        z.extractall(dest)
    return dest


def _scratch() -> Path:
    """This worker's scratch folder (Dask's local directory for the worker, else the system temp folder)."""
    try:
        from distributed import get_worker

        base = Path(get_worker().local_directory)
    except (ImportError, ValueError):
        base = Path(tempfile.gettempdir())
    return base / "workbench"


def run_on_worker(notebook_name: str, notebook: bytes, params: dict[str, Any], case_zip: bytes | None,
                  case_sha256: str, retries: int = 2) -> dict[str, Any]:
    """Execute one run in this worker's scratch folder; return its row and the finished run folder as a zip."""
    from workbench.runner.publish import is_finished_folder
    from workbench.runner.run import execute, library_digest, plan_run, run_failed_message

    scratch = _scratch()
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    try:
        nb_path = work / notebook_name
        nb_path.write_bytes(notebook)
        request = dict(params)
        if case_zip is not None:  # a user's case: unpacked once per worker and content
            folder = scratch / "cases" / case_sha256[:16] / str(Path(params["case"]).name)
            if not (folder / "case.yaml").is_file():
                tmp = Path(tempfile.mkdtemp(prefix="case-", dir=scratch))
                unpack_verified(case_zip, case_sha256, tmp / folder.name)
                folder.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(OSError):  # another task on this worker may have unpacked it first
                    (tmp / folder.name).rename(folder)
                shutil.rmtree(tmp, ignore_errors=True)
            request["case"] = str(folder)
        run = plan_run(nb_path, request, runs_dir=work / "runs")
        for attempt in range(1, retries + 2):
            result = execute(run)
            if result.ok or result.started or attempt > retries:
                break
        where = result.folder or run.folder
        return {"status": result.status, "error": result.error, "duration_s": result.duration_s,
                "warnings": result.warnings, "attempts": attempt, "finished": is_finished_folder(where),
                "message": None if result.ok else run_failed_message(result), "library": library_digest(),
                "zip": pack_folder(where)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def publish_returned(run: Any, returned: dict[str, Any], worker: str = "") -> tuple[Path, dict[str, Any]]:
    """Publish a run folder a worker returned into the client's runs folder; return where and the row."""
    from workbench.runner.publish import new_temp_folder, publish
    from workbench.runner.run import library_digest

    error = returned["error"]
    if returned["library"] != library_digest():
        error = {"cell": None, "ename": "EnvironmentMismatch", "source": "",
                 "evalue": f"worker {worker} runs a different workbench library than this client; install the same "
                           "version on every worker"}
    ok = returned["status"] == "ok" and error is None
    run.folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp_folder(run.folder)
    with zipfile.ZipFile(io.BytesIO(returned["zip"])) as z:
        z.extractall(tmp)
    prov_path = tmp / "provenance.json"
    prov = json.loads(prov_path.read_text())
    prov.update({"status": "ok" if ok else "failed", "error": error, "fingerprint": run.fingerprint,
                 "parameters": run.params, "notebook_path": str(run.notebook), "case_folder": str(run.case.folder),
                 "worker": worker})
    prov_path.write_text(json.dumps(prov, indent=2) + "\n")
    if not ok:
        (tmp / "results.json").unlink(missing_ok=True)
    where = publish(tmp, run.folder, ok=ok)
    row = {"params": run.params, "folder": str(where), "status": "ok" if ok else "failed", "error": error,
           "duration_s": returned["duration_s"], "attempts": returned["attempts"], "warnings": returned["warnings"],
           "message": None if ok else (returned["message"] or f"{error['ename']}: {error['evalue']}")}
    return where, row
