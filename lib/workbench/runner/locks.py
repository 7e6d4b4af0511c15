"""An exclusive, non-blocking lock on a folder, so two sweeps never write into the same one.

POSIX uses flock and Windows msvcrt.locking, both imported only when a lock is taken, so nothing
here needs a POSIX-only module at import time. Either way the lock dies with its process.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench import paths
from workbench.errors import WorkbenchError

__all__ = ["FolderLock"]


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on an open file without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


class FolderLock:
    """Held while a sweep writes into `folder` (the file `folder/.lock` records the holder's pid)."""

    def __init__(self, folder: Path, what: str = "sweep") -> None:
        self.path = Path(folder) / ".lock"
        self.what = what
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WorkbenchError(
                f"another {self.what} is already running into {paths.display(self.path.parent)} (pid {holder}); "
                "wait for it to finish, or use another --out"
            )
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None
