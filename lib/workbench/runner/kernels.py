"""Kernels for runs: a kernel manager that keeps each run's kernel, its files and its output apart."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["kernel_manager_class", "move_in_code", "ready_client_class", "run_silently"]

def ready_client_class() -> type:
    """jupyter_client's asynchronous kernel client, without the 0.2 s of IOPub silence its
    wait_for_ready waits for after the kernel has answered (paid by every run).

    That wait flushes the kernel_info's status messages; nbclient reads IOPub by parent message id, so
    they need no flushing. What the wait is for is kept: the kernel answers on the shell channel, and a
    message on IOPub proves that channel connected (a subscriber that joined late misses messages).
    """
    import time
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.05)
                    except Empty:
                        pass  # IOPub not connected yet: ask again
                    else:
                        self._handle_kernel_info_reply(reply)
                        return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    return ReadyClient


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
            self.client_factory = ready_client_class()
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


def run_silently(km: Any, code: str, timeout: float = 120) -> None:
    """Execute code in km's (started) kernel without output, history or an execution count; raise if it fails.

    Only the shell channel is used: its requests queue until the kernel reads them, so there is no
    waiting for IOPub to connect.
    """
    from queue import Empty

    from jupyter_client.blocking import BlockingKernelClient
    from jupyter_core.utils import run_sync

    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
    deadline = time.monotonic() + timeout
    try:
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        while True:
            try:
                reply = kc.get_shell_msg(timeout=1)
            except Empty:
                if time.monotonic() > deadline or not run_sync(km.is_alive)():
                    raise RuntimeError(f"a kernel did not run {code.splitlines()[0]!r} (it died or hung)") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
    finally:
        kc.stop_channels()
    content = reply["content"]
    if content.get("status") != "ok":
        raise RuntimeError(f"a kernel could not run {code.splitlines()[0]!r}: "
                             f"{content.get('ename')}: {content.get('evalue')}")


def move_in_code(cwd: Path, env: dict[str, str]) -> str:
    """Code that moves a started kernel into a run: its working folder and its variables."""
    return f"import os as __wb_os\n__wb_os.chdir({str(cwd)!r})\n__wb_os.environ.update({env!r})\ndel __wb_os\n"
