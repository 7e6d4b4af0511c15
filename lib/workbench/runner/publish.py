"""Run folders on disk: built under a temporary name, published atomically, never losing a finished run.

- A run is built in `<notebook>/.tmp-<run>-<pid>-<random>/` and renamed into place when complete, so
  an interrupted run never looks finished.
- A finished run (provenance status ok, results.json present) is never replaced by a failed one:
  the failed attempt goes to `<notebook>/failures/<run>-<time>/` and the message says where.
- Temporary folders, kernel connection files and IPC sockets left by a killed process (its pid no
  longer alive) are removed by the next run; those of live processes are left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from workbench import paths
from workbench.errors import WorkbenchError

__all__ = ["FAILURES", "check_runs_root", "clean_stale", "is_finished_folder", "new_temp_folder", "publish",
           "within"]

FAILURES = "failures"  # per-notebook folder of failed attempts that did not replace a finished run
_TMP = re.compile(r"^\.(?:tmp|old)-.+-(\d+)-[0-9a-f]{8}$")
_KERNEL_FILE = re.compile(r"^wb-(\d+)-[0-9a-f]{12}(?:[-.].*)?$")


def within(root: Path, path: Path) -> Path:
    """path, after checking it lies inside root (no '..' or absolute path escapes); a WorkbenchError otherwise."""
    root_r, path_r = Path(root).resolve(), Path(path).resolve()
    if path_r != root_r and root_r not in path_r.parents:
        raise WorkbenchError(f"{path} is outside {paths.display(root_r)}; refusing to write there")
    return path


def check_runs_root(root: Path) -> Path:
    """The runs folder, created if missing; a clear error when it is a file or cannot be written."""
    root = Path(root)
    try:
        if root.exists() and not root.is_dir():
            raise WorkbenchError(f"runs folder {paths.display(root)} is a file, not a folder; "
                                 "point --out or WORKBENCH_RUNS at a folder")
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        probe.write_bytes(b"")
        probe.unlink()
    except WorkbenchError:
        raise
    except OSError as e:
        raise WorkbenchError(f"runs folder {paths.display(root)} cannot be written ({e.strerror or e}); "
                             "point --out or WORKBENCH_RUNS at a writable folder") from e
    return root


def _alive(pid: int) -> bool:
    """Whether process pid still runs. A zombie does not: a worker killed with its main job is reparented,
    and in a container whose init does not reap, it stays a zombie that signal 0 still reaches."""
    if pid == os.getpid():
        return True
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # e.g. another user's process
        return True


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporary run folders in folder, and the workbench's kernel files in Jupyter's runtime
    folder, whose owning process is dead. Returns what was removed."""
    removed = []
    candidates = [(p, _TMP) for p in Path(folder).glob(".*-*")] if Path(folder).is_dir() else []
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime = Path(jupyter_runtime_dir())
        candidates += [(p, _KERNEL_FILE) for p in runtime.glob("wb-*")] if runtime.is_dir() else []
    except ImportError:  # pragma: no cover
        pass
    for p, pattern in candidates:
        m = pattern.match(p.name)
        if m and not _alive(int(m.group(1))):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def new_temp_folder(folder: Path) -> Path:
    """A fresh hidden folder beside `folder` (tagged with this process's pid) to build the run in."""
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    return tmp


def is_finished_folder(folder: Path) -> bool:
    """Whether folder holds a finished, successful run (of any request)."""
    try:
        prov = json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError):
        return False
    return prov.get("status") == "ok" and (folder / "results.json").is_file()


def publish(tmp: Path, folder: Path, *, ok: bool, attempts: int = 5) -> Path:
    """Move a complete run folder into place and return where it went.

    A successful run replaces whatever was there. A failed run replaces only an unfinished or failed
    one; next to a finished run it goes to `<notebook>/failures/` instead. Two processes may publish
    the same run at once (a resumed sweep and an orphaned worker of a killed one): each rename is
    atomic, and a lost race is retried.
    """
    if not ok and is_finished_folder(folder):
        target = folder.parent / FAILURES / f"{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(target)
        return target
    for attempt in range(attempts):
        old = folder.parent / f".old-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            if folder.exists():
                folder.rename(old)
            tmp.rename(folder)
            break
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    for stale in folder.parent.glob(f".old-{folder.name}-{os.getpid()}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return folder
