"""Kernels for runs: a kernel manager that keeps each run's kernel, its files and its output apart."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

__all__ = ["kernel_manager_class"]

# errors that mean the kernel never started (worth a retry), as opposed to a cell that failed
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
            # named wb-<pid>-<random> so that files a killed run leaves behind can be told from live ones
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            name = f"wb-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            self.connection_file = str(runtime / f"{name}.json")
            if os.name == "posix":
                self.transport = "ipc"
                self.ip = str(runtime / name)

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**kw.get("env", os.environ), **env}
            kw["cwd"] = str(cwd)
            kw["stdout"] = kw["stderr"] = log
            await super().start_kernel(**kw)

    return RunKernelManager
