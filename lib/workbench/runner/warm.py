"""A resident pool of pre-started kernels on loopback, so that `workbench run` skips a kernel's start.

`workbench kernels start` starts one small service process. It listens on 127.0.0.1 only, behind a
random key kept in a private state file in the runs folder, and keeps `size` kernels started with the
heavy imports done (numpy, pandas, scipy, scikit-learn, LightGBM, matplotlib, workbench). While it
runs, `workbench run` plans its run as always and hands the plan to the service, which executes it in
one of those kernels and publishes it exactly as a cold run would. Each kernel serves one run and is
then shut down, never reused; the service starts another in its place, one at a time.

Isolation:
- a warm kernel starts with the environment a cold one would get, and the service takes a run only
  when the caller's Python and environment are the pool's own; it refuses (and stops) when the library
  or a package version changed since it started; the run then starts its own kernel and says why;
- before the run, the kernel moves into the run's folder and takes the run's variables, silently (no
  name is left in the notebook's namespace, no execution count is used); the preloads bind no names;
- a warm run records the same results, byte for byte, as a cold run (tests/unit/test_warm.py).

The service stops on `workbench kernels stop`, after `idle_minutes` without a run, and takes its
kernels with it when it dies (each kernel watches its parent). A client that goes away mid-run (Ctrl-C)
has its kernel killed; the run is published as failed, and never over a finished one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.errors import WorkbenchError

__all__ = [
    "PRELOAD", "PoolLost", "PoolState", "environment_digest", "installed_stamp", "pool_status", "preload_code",
    "read_state", "serve", "start_pool", "state_path", "stop_pool", "try_warm_run",
]

PRELOAD = ("numpy", "pandas", "scipy.stats", "sklearn.linear_model", "sklearn.metrics", "lightgbm",
           "matplotlib.pyplot", "workbench")
STATE_NAME = ".kernel-pool.json"
SCRATCH_NAME = ".kernel-pool"
# variables that say where a shell is, not how a run behaves
_IGNORED_ENV = frozenset({"PWD", "OLDPWD", "_", "SHLVL"})


class PoolLost(WorkbenchError):
    """The kernel pool stopped while it ran a run: that run did not finish."""


def environment_digest(env: dict[str, str] | None = None) -> str:
    """A digest of the Python and the environment a kernel would start with (minus where the shell is)."""
    env = dict(os.environ if env is None else env)
    items = sorted((k, v) for k, v in env.items() if k not in _IGNORED_ENV)
    return hashlib.sha256(json.dumps([sys.executable, items]).encode()).hexdigest()


def installed_stamp() -> dict[str, int]:
    """When this Python's site-packages folders last changed: installing or removing a package changes
    them (cheaper than asking importlib.metadata for every version)."""
    import sysconfig

    stamp = {}
    for entry in {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}:
        with contextlib.suppress(OSError, TypeError):
            stamp[entry] = os.stat(entry).st_mtime_ns
    return stamp


def state_path() -> Path:
    return paths.runs_dir() / STATE_NAME


@dataclass
class PoolState:
    """What the state file says: the service's pid, port, key and environment."""

    pid: int
    port: int
    authkey: str
    environment: str
    size: int
    started: float

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def read_state() -> PoolState | None:
    """The running pool's state, or None (no file, an unreadable one, or its process has ended)."""
    try:
        raw = json.loads(state_path().read_text(encoding="utf-8"))
        state = PoolState(**{k: raw[k] for k in PoolState.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    from workbench.runner.publish import _alive

    return state if _alive(state.pid) else None


def _request(state: PoolState, message: dict[str, Any], timeout: float | None = 10) -> dict[str, Any]:
    """Send one message to the pool and return its reply (OSError or EOFError when it is not there)."""
    from multiprocessing.connection import Client

    with Client(state.address, authkey=bytes.fromhex(state.authkey)) as conn:
        conn.send(message)
        if timeout is not None and not conn.poll(timeout):
            raise TimeoutError(f"the kernel pool (pid {state.pid}) did not answer in {timeout:.0f} s")
        reply: dict[str, Any] = conn.recv()
        return reply


def pool_status() -> dict[str, Any] | None:
    """The running pool's status (pid, port, size, ready, served, idle_minutes_left), or None."""
    state = read_state()
    if state is None:
        return None
    try:
        return _request(state, {"op": "status"})
    except (OSError, EOFError, TimeoutError, ValueError):
        return None


def try_warm_run(run: Any, *, html: bool, command: list[str]) -> tuple[Any, str | None]:
    """Execute a planned run in the pool's next warm kernel.

    Returns (RunResult, None), or (None, why not) when no pool runs or it cannot take this run (the
    caller then runs cold). A pool that dies during the run is an error: the run did not finish.
    """
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    state = read_state()
    if state is None:
        return None, None
    if state.environment != environment_digest():
        return None, ("the kernel pool was started in another environment (its Python or variables differ); this run "
                      "starts its own kernel (restart the pool from here to use it: workbench kernels stop, then start)")
    message = {"op": "run", "run": run, "html": html, "command": command, "environment": environment_digest()}
    try:
        conn = Client(state.address, authkey=bytes.fromhex(state.authkey))
    except (OSError, AuthenticationError, EOFError):
        return None, "the kernel pool did not answer; this run starts its own kernel"
    with conn:
        conn.send(message)
        try:
            reply: dict[str, Any] = conn.recv()
        except (EOFError, OSError) as e:
            raise PoolLost(f"the kernel pool (pid {state.pid}) stopped during the run of {run.notebook.name}; "
                                 f"the run did not finish: run it again") from e
    if not reply.get("ok"):
        return None, f"{reply.get('why')}; this run starts its own kernel"
    return reply["result"], None


def preload_code(modules: tuple[str, ...] = PRELOAD) -> str:
    """Code that imports modules and binds no name in the kernel's namespace."""
    return ("def __wb_preload():\n    import importlib\n"
            f"    for name in {list(modules)!r}:\n        importlib.import_module(name)\n"
            "__wb_preload()\ndel __wb_preload\n")


@dataclass
class _Kernel:
    """A started, preloaded kernel waiting for its one run."""

    km: Any
    folder: Path
    log_path: Path
    pid: int | None

    def alive(self) -> bool:
        from workbench.runner.publish import _alive

        return self.pid is not None and _alive(self.pid)

    def dispose(self) -> None:
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _Service:
    size: int
    idle_minutes: float
    scratch: Path
    environment: str = field(default_factory=environment_digest)
    ready: queue.Queue = field(default_factory=queue.Queue)
    wanted: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    served: int = 0
    running: int = 0
    last_used: float = field(default_factory=time.monotonic)
    library: str = ""
    installed: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_kernel(self) -> _Kernel:
        from jupyter_core.utils import run_sync

        from workbench.runner.kernels import kernel_manager_class, run_silently
        from workbench.runner.run import KERNEL_ENV

        folder = self.scratch / f"k-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        log_path = folder / "kernel.log"
        with open(log_path, "wb") as log:
            km = kernel_manager_class(dict(KERNEL_ENV), folder, log)(kernel_name="python3")
            run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"])
        kernel = _Kernel(km, folder, log_path, getattr(km.provisioner, "pid", None))
        try:
            run_silently(km, preload_code())
        except Exception:
            kernel.dispose()
            raise
        return kernel

    def refill(self) -> None:
        """Keep `size` kernels ready, starting one at a time (not to crowd a running notebook)."""
        failures = 0
        while not self.stopping.is_set():
            if self.ready.qsize() >= self.size:
                self.wanted.wait(1.0)
                self.wanted.clear()
                continue
            try:
                kernel = self.start_kernel()
            except Exception as e:  # noqa: BLE001 - logged; a pool that cannot start kernels stops
                failures += 1
                print(f"could not start a kernel: {e}", file=sys.stderr, flush=True)
                if failures >= 3:
                    self.stop()
                time.sleep(1)
                continue
            failures = 0
            if self.stopping.is_set():
                kernel.dispose()
            else:
                self.ready.put(kernel)

    def take(self, timeout: float = 300) -> _Kernel:
        """The next ready kernel that is still alive. Each leaves the queue once and is never put back,
        so it serves one run."""
        deadline = time.monotonic() + timeout
        while True:
            self.wanted.set()
            try:
                kernel: _Kernel = self.ready.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise WorkbenchError(f"no warm kernel was ready within {timeout:.0f} s") from None
            self.wanted.set()
            if kernel.alive():
                return kernel
            kernel.dispose()

    def status(self) -> dict[str, Any]:
        idle = (time.monotonic() - self.last_used) / 60
        return {"ok": True, "pid": os.getpid(), "size": self.size, "ready": self.ready.qsize(), "served": self.served,
                "running": self.running, "idle_minutes_left": round(max(0.0, self.idle_minutes - idle), 1)}

    def stale(self) -> str | None:
        """Why this service must not take runs any more (the library or an installed package changed), or None."""
        from workbench.runner.run import library_digest

        if library_digest() != self.library:
            return "the workbench library changed since the kernel pool started (it has stopped)"
        if installed_stamp() != self.installed:
            return "packages were installed or removed since the kernel pool started (it has stopped)"
        return None

    def serve_run(self, conn: Any, message: dict[str, Any]) -> None:
        from workbench.runner.run import execute

        if message.get("environment") != self.environment:
            conn.send({"ok": False, "why": "the kernel pool was started in another environment"})
            return
        why = self.stale()
        if why:
            conn.send({"ok": False, "why": why})
            self.stop()
            return
        with self.lock:
            self.running += 1
        done = threading.Event()
        kernel: _Kernel | None = None
        try:
            kernel = self.take()

            def watch_client(k: _Kernel = kernel) -> None:  # the client went away: kill the kernel, fail the run
                while not done.is_set():
                    try:
                        if conn.poll(0.5):
                            conn.recv()
                    except (EOFError, OSError):
                        if not done.is_set() and k.pid is not None:
                            import psutil

                            with contextlib.suppress(psutil.Error):
                                psutil.Process(k.pid).kill()
                        return

            threading.Thread(target=watch_client, daemon=True, name="workbench-pool-client").start()
            result = execute(message["run"], html=bool(message.get("html")), kernel=kernel,
                             command=list(message.get("command") or []))
            done.set()
            conn.send({"ok": True, "result": result})
        finally:
            done.set()
            with self.lock:
                self.running -= 1
                self.served += 1
                self.last_used = time.monotonic()
            if kernel is not None:
                kernel.dispose()

    def handle(self, conn: Any) -> None:
        try:
            message = conn.recv()
            op = message.get("op") if isinstance(message, dict) else None
            if op == "status":
                conn.send(self.status())
            elif op == "stop":
                conn.send({"ok": True})
                self.stop()
            elif op == "run":
                self.last_used = time.monotonic()
                self.serve_run(conn, message)
            else:
                conn.send({"ok": False, "why": f"unknown request {op!r}"})
        except (EOFError, OSError):
            pass
        except Exception as e:  # noqa: BLE001 - the service goes on; the client hears what went wrong
            print(f"request failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            with contextlib.suppress(Exception):
                conn.send({"ok": False, "why": f"the kernel pool failed: {type(e).__name__}: {e}"})
        finally:
            conn.close()

    def watch_idle(self) -> None:
        while not self.stopping.wait(5):
            if self.running == 0 and time.monotonic() - self.last_used > self.idle_minutes * 60:
                print(f"idle for {self.idle_minutes:g} minutes: stopping", file=sys.stderr, flush=True)
                self.stop()

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.wanted.set()
        # wake the accept loop: it checks `stopping` after each connection
        state = read_state()
        if state is not None and state.pid == os.getpid():
            from multiprocessing.connection import Client

            with contextlib.suppress(Exception):
                Client(state.address, authkey=bytes.fromhex(state.authkey)).close()


def serve(size: int, idle_minutes: float) -> int:
    """The service's main loop (run by `workbench kernels start` in its own process)."""
    from multiprocessing.connection import Listener

    from workbench.fileio import atomic_write
    from workbench.runner.run import library_digest

    root = paths.runs_dir()
    scratch = root / SCRATCH_NAME / str(os.getpid())
    scratch.mkdir(parents=True, exist_ok=True)
    service = _Service(size=size, idle_minutes=idle_minutes, scratch=scratch)
    service.library, service.installed = library_digest(), installed_stamp()
    import nbclient  # noqa: F401 - the first run should not pay for these imports
    from nbformat.v4 import new_output

    new_output("stream", name="stdout", text="")  # compiles nbformat's schema validator once

    key = secrets.token_bytes(32)
    listener = Listener(("127.0.0.1", 0), family="AF_INET", authkey=key)
    state = {"pid": os.getpid(), "port": listener.address[1], "authkey": key.hex(),
             "environment": service.environment, "size": size, "started": time.time()}

    def write_state(p: Path) -> None:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f)

    threading.Thread(target=service.refill, daemon=True, name="workbench-pool-refill").start()
    threading.Thread(target=service.watch_idle, daemon=True, name="workbench-pool-idle").start()
    atomic_write(state_path(), write_state)
    print(f"kernel pool pid {os.getpid()} on 127.0.0.1:{state['port']}, {size} kernels", file=sys.stderr, flush=True)
    try:
        while not service.stopping.is_set():
            try:
                conn = listener.accept()
            except (OSError, EOFError):
                continue  # a client that failed the handshake
            except Exception:  # noqa: BLE001 - multiprocessing.AuthenticationError and kin: ignore that client
                continue
            if service.stopping.is_set():
                conn.close()
                break
            threading.Thread(target=service.handle, args=(conn,), daemon=True, name="workbench-pool-conn").start()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            current = json.loads(state_path().read_text(encoding="utf-8"))
            if current.get("pid") == os.getpid():
                state_path().unlink()
        while True:
            try:
                service.ready.get_nowait().dispose()
            except queue.Empty:
                break
        deadline = time.monotonic() + 30
        while service.running and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _clean_scratch(root: Path) -> None:
    """Remove scratch folders of pools whose process has ended."""
    from workbench.runner.publish import _alive

    base = root / SCRATCH_NAME
    if not base.is_dir():
        return
    for folder in base.iterdir():
        if folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)


def start_pool(size: int = 2, idle_minutes: float = 30, wait: float = 180) -> dict[str, Any]:
    """Start the pool in its own process (unless one for this environment runs) and wait until its
    kernels are warm; returns its status."""
    from workbench.runner.publish import check_runs_root

    if size < 1 or size > 16:
        raise WorkbenchError(f"--size {size}: a kernel pool holds 1 to 16 kernels")
    if idle_minutes <= 0:
        raise WorkbenchError(f"--idle-minutes {idle_minutes:g}: expected a positive number of minutes")
    root = check_runs_root(paths.runs_dir())
    status = pool_status()
    if status is not None:
        state = read_state()
        if state is not None and state.environment == environment_digest():
            return {**status, "already": True}
        raise WorkbenchError(f"a kernel pool started in another environment runs already (pid {status['pid']}); "
                             "stop it first: workbench kernels stop")
    _clean_scratch(root)
    log = root / ".kernel-pool.log"
    cmd = [sys.executable, "-m", "workbench.runner.warm", "--size", str(size), "--idle-minutes", str(idle_minutes)]
    kwargs: dict[str, Any] = {}
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
    else:
        kwargs["start_new_session"] = True  # not in the caller's process group: Ctrl-C there leaves it alone
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=root, **kwargs)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise WorkbenchError(f"the kernel pool did not start (exit {proc.returncode}): "
                                 + (" / ".join(tail) or f"see {paths.display(log)}"))
        status = pool_status()
        if status is not None and status["pid"] == proc.pid and status["ready"] >= size:
            return status
        time.sleep(0.2)
    raise WorkbenchError(f"the kernel pool (pid {proc.pid}) had not warmed {size} kernels after {wait:.0f} s; "
                         f"see {paths.display(log)}; stop it with: workbench kernels stop")


def stop_pool(wait: float = 30) -> int | None:
    """Stop the running pool (asking, then killing its process); returns its pid, or None if none ran."""
    import psutil

    state = read_state()
    if state is None:
        return None
    with contextlib.suppress(OSError, EOFError, TimeoutError, ValueError):
        _request(state, {"op": "stop"})
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(state.pid)
        try:
            proc.wait(wait)
        except psutil.TimeoutExpired:
            if any("workbench.runner.warm" in part for part in proc.cmdline()):
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child.kill()
                proc.kill()
    with contextlib.suppress(OSError):
        state_path().unlink()
    return state.pid


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="the kernel pool service (started by `workbench kernels start`)")
    parser.add_argument("--size", type=int, default=2)
    parser.add_argument("--idle-minutes", type=float, default=30)
    args = parser.parse_args(argv)
    return serve(args.size, args.idle_minutes)


if __name__ == "__main__":
    sys.exit(_main())
