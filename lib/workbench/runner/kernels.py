"""Kernels for runs: papermill imported cheaply, and a kernel manager that keeps each run's kernel apart."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

__all__ = ["KERNEL_START_ERRORS", "import_papermill", "kernel_manager_class"]

# errors that mean the kernel never started (worth a retry), as opposed to a cell that failed
KERNEL_START_ERRORS = ("RuntimeError", "TimeoutError", "DeadKernelError", "ZMQError")


def kernel_manager_class(env: dict[str, str], cwd: Path, log: Any) -> type:
    """A kernel manager that starts the kernel in `cwd` with `env` added, its own stdout and stderr
    going to `log` (kernel.log in the run folder), on Unix sockets where possible.

    Passing env and cwd to the kernel (not setting them on this process) keeps concurrent runs in
    one process (Dask threads) apart; Unix sockets avoid racing for TCP ports and ipykernel's
    plain-text-TCP warning.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class RunKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            if os.name == "posix":
                runtime = Path(jupyter_runtime_dir())
                runtime.mkdir(parents=True, exist_ok=True)
                self.transport = "ipc"
                self.ip = str(runtime / f"wb-{uuid.uuid4().hex[:12]}")

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**kw.get("env", os.environ), **env}
            kw["cwd"] = str(cwd)
            kw["stdout"] = kw["stderr"] = log
            await super().start_kernel(**kw)

    return RunKernelManager


def import_papermill():
    """papermill, without jsonschema's optional IRI format checker.

    jsonschema imports rfc3987_syntax when it is installed, which builds a parser at import (~0.6 s
    of every run's start-up here); nothing in this process validates IRI formats, so it is kept out.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import papermill

    return papermill


