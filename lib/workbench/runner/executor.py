"""Execute a notebook with parameters in a Jupyter kernel (nbclient), and say exactly what went wrong.

Parameters are injected as papermill does (a cell tagged `injected-parameters` after the cell tagged
`parameters`), so a notebook that runs here runs under plain papermill too. The outcome names the
source cell that failed; it tells a kernel that never started (worth a retry) from one that died
while a cell ran (not retried: say which cell, and that it may have run out of memory), and it
records the kernel's peak memory.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.runner.notebooks import find_error

__all__ = ["Execution", "Interrupts", "MemoryWatch", "execute_notebook", "inject_parameters", "skip_iri_grammar"]

INJECTED_TAG = "injected-parameters"


@dataclass
class Execution:
    """An executed notebook (JSON), the error if any, whether any cell started, and the kernel's peak memory."""

    nb: dict[str, Any]
    error: dict[str, Any] | None
    started: bool
    peak_memory_mb: float | None


def skip_iri_grammar() -> None:
    """Keep jsonschema's optional IRI grammar (rfc3987_syntax) out of this process.

    jsonschema builds a parser for it at import when it is installed (about 0.6 s of every run's
    start-up here); nothing here validates IRI formats, so nbformat is imported without it.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def inject_parameters(nb: dict[str, Any], params: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of nb with a cell assigning params after the `parameters` cell; returns it and that cell's index."""
    nb = copy.deepcopy(nb)
    for i, c in enumerate(nb["cells"]):  # nbformat stores sources as lists of lines on disk; kernels take one string
        if isinstance(c.get("source"), list):
            c["source"] = "".join(c["source"])
        c.setdefault("id", f"cell-{i}")  # nbformat 4.5 wants an id on every cell
    tagged = [i for i, c in enumerate(nb["cells"]) if "parameters" in c.get("metadata", {}).get("tags", [])]
    at = tagged[0] + 1 if tagged else 0
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items())
    cell: dict[str, Any] = {"cell_type": "code", "execution_count": None, "id": "injected-parameters",
            "metadata": {"tags": [INJECTED_TAG]}, "outputs": [], "source": source}
    nb["cells"].insert(at, cell)
    return nb, at


class MemoryWatch:
    """Samples a process's resident memory (with its children) in a background thread; `peak_mb` is the highest."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_mb: float | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, pid: int | None) -> None:
        """Start sampling pid (no-op without psutil or a pid)."""
        try:
            import psutil  # noqa: F401 - only checked here
        except ImportError:
            return
        if pid is None or self._thread is not None:
            return
        self._pid = pid
        self._thread = threading.Thread(target=self._run, name="workbench-memory-watch", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        try:
            proc = psutil.Process(self._pid)
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except (psutil.Error, OSError):
            return
        mb = rss / 2**20
        self.peak_mb = mb if self.peak_mb is None else max(self.peak_mb, mb)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def stop(self) -> float | None:
        """Stop sampling; the peak in MB (None if nothing was sampled)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        return None if self.peak_mb is None else round(self.peak_mb, 1)


def _source_index(index: int, injected_at: int) -> int:
    """The index in the source notebook of executed cell `index` (the injected cell is not in the source)."""
    return index - 1 if index > injected_at else index


def _cell_head(nb: dict[str, Any], index: int) -> str:
    src = nb["cells"][index].get("source", "")
    src = "".join(src) if isinstance(src, list) else str(src)
    return "\n".join(src.strip().splitlines()[:3])


def _shutdown(client: Any, km: Any, loop: Any, *, kernel: bool = True, now: bool = False) -> None:
    """Stop the client's channels and (unless `kernel` is False) the kernel (nbclient leaves a kernel it did not start)."""
    if client.kc is not None:
        with contextlib.suppress(Exception):
            client.kc.stop_channels()
    if not kernel:
        return
    with contextlib.suppress(Exception):
        if km.has_kernel:
            loop.run_until_complete(km.shutdown_kernel(now=now))  # also removes its connection file and sockets


def _event_loop() -> Any:
    """A fresh event loop that refuses signal handlers, so that nbclient installs none (see Interrupts).

    A selector loop, as pyzmq's asyncio sockets need on Windows too."""
    import asyncio

    class RunLoop(asyncio.SelectorEventLoop):
        def add_signal_handler(self, sig: int, callback: Any, *args: Any) -> None:  # type: ignore[override]
            raise RuntimeError("signals are handled by workbench.runner.executor.Interrupts")

    return RunLoop()


class Interrupts:
    """While a run executes in the main thread, SIGINT and SIGTERM stop its kernel at once; the run
    then fails, saying it was interrupted, and the caller decides what to do (the CLI exits 130).

    nbclient's own handlers shut the kernel down in a background task, which raced the start of a run:
    one interrupted while its kernel started finished anyway, another ended in asyncio's CancelledError.
    Elsewhere (a thread of the kernel pool or of Dask) signals are not ours to take.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.km: Any = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        import signal

        if threading.current_thread() is threading.main_thread():
            for name in ("SIGINT", "SIGTERM"):
                sig = getattr(signal, name, None)
                if sig is not None:
                    with contextlib.suppress(ValueError, OSError):
                        self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signum = signum
        self.stop_kernel()

    def stop_kernel(self) -> None:
        """Kill the kernel process, if one has started (nbclient then reports it dead)."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            with contextlib.suppress(Exception):
                process.kill()

    def watch(self, km: Any) -> None:
        """The kernel to stop; stopped at once if a signal came before it started."""
        self.km = km
        if self.signum is not None:
            self.stop_kernel()

    def __exit__(self, *exc: Any) -> None:
        import signal

        for sig, handler in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)

    @property
    def name(self) -> str:
        import signal

        try:
            return signal.Signals(self.signum).name  # type: ignore[arg-type]
        except ValueError:
            return f"signal {self.signum}"


def execute_notebook(source: Path, params: dict[str, Any], out: Path, *, cwd: Path, env: dict[str, str],
                     log: Any, timeout: int = 1800, startup_timeout: int = 120, km: Any = None) -> Execution:
    """Run `source` with `params` in a fresh kernel, write the executed notebook to `out` (also when it
    fails), and return what happened. Never raises for a failing notebook.

    `km`: a kernel started earlier (a warm one from the kernel pool) to use instead. It is first moved
    into `cwd` and given `env`, silently; the caller shuts it down afterwards (it serves this run only).
    """
    with Interrupts() as interrupts:
        loop = _event_loop()
        try:
            execution = _execute(source, params, cwd=cwd, env=env, log=log, timeout=timeout,
                                 startup_timeout=startup_timeout, km=km, loop=loop, interrupts=interrupts)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    nb, error, started, peak = execution
    if interrupts.signum is not None:
        error = {**(error or {"cell": None, "source": ""}), "ename": "Interrupted", "interrupted": interrupts.signum,
                 "evalue": f"stopped by {interrupts.name}: its kernel was stopped", "kernel_died": False}
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Execution(nb, error, started, peak)


def _execute(source: Path, params: dict[str, Any], *, cwd: Path, env: dict[str, str], log: Any, timeout: int,
             startup_timeout: int, km: Any, loop: Any, interrupts: Interrupts
             ) -> tuple[dict[str, Any], dict[str, Any] | None, bool, float | None]:
    from workbench.runner.kernels import kernel_manager_class

    owned = km is None
    started_error: Exception | None = None
    if owned:  # start the kernel first: it boots while nbclient and nbformat are imported
        km = kernel_manager_class(env, cwd, log)(kernel_name="python3")
        try:
            loop.run_until_complete(km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"]))
        except Exception as e:  # noqa: BLE001 - reported below as a kernel that never started
            started_error = e
        interrupts.watch(km)
    else:
        from workbench.runner.kernels import move_in_code, run_silently

        interrupts.watch(km)
        try:
            run_silently(km, move_in_code(cwd, env))
        except Exception as e:  # noqa: BLE001 - reported below, as for a kernel that never started
            started_error = e
    skip_iri_grammar()
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    raw = json.loads(Path(source).read_text(encoding="utf-8"))
    injected, at = inject_parameters(raw, params)
    nb = nbformat.from_dict(injected)
    running: dict[str, int | None] = {"cell": None}
    watch = MemoryWatch()

    def on_cell_start(cell: Any, cell_index: int) -> None:
        running["cell"] = cell_index

    def on_notebook_start(notebook: Any) -> None:
        provisioner = getattr(client.km, "provisioner", None)
        watch.watch(getattr(provisioner, "pid", None))

    client = NotebookClient(
        nb, timeout=timeout, startup_timeout=startup_timeout, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(cwd)}}, km=km, on_cell_start=on_cell_start,
        on_notebook_start=on_notebook_start,
        kernel_manager_class=kernel_manager_class(env, cwd, log),
    )
    error: dict[str, Any] | None = None
    try:
        if started_error is not None:
            raise started_error
        loop.run_until_complete(client.async_execute())
    except CellExecutionError:
        error = {}  # filled from the error output below
    except (DeadKernelError, CellTimeoutError) as e:
        cell = running["cell"]
        died = isinstance(e, DeadKernelError)
        error = {"cell": None if cell is None else _source_index(cell, at), "ename": type(e).__name__,
                 "evalue": "the kernel died while this cell ran (out of memory?)" if died else str(e).splitlines()[0],
                 "source": "" if cell is None else _cell_head(injected, cell), "kernel_died": died}
    except Exception as e:  # noqa: BLE001 - a kernel that never started, a broken notebook: the run failed, say why
        cell = running["cell"]
        error = {"cell": None if cell is None else _source_index(cell, at), "ename": type(e).__name__,
                 "evalue": " ".join(str(e).split())[:2000], "source": ""}
    finally:
        peak = watch.stop()
        atexit.unregister(client._cleanup_kernel)  # nbclient leaves it registered when a dead kernel's cleanup fails
        _shutdown(client, km, loop, kernel=owned, now=interrupts.signum is not None)
    executed = json.loads(json.dumps(nb))  # NotebookNode -> plain JSON
    if error == {}:
        found = find_error(executed) or {"cell": running["cell"] or 0, "ename": "Error", "evalue": "", "source": ""}
        found["cell"] = _source_index(found["cell"], at)
        error = found
    if error is not None and error.get("kernel_died") and peak is not None:
        error["evalue"] += f"; its peak memory was {peak:,.0f} MB"
    return executed, error, running["cell"] is not None, peak
