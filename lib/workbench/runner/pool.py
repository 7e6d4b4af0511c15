"""The one pool of worker processes that runs notebooks in parallel, for the main job and for sweeps.

Workers are spawned (not forked: each starts clean, as on macOS and Windows). Each worker watches
its parent: when the main job or sweep that started it dies (even by SIGKILL), the worker kills its
notebook kernels and exits, so a resumed sweep never races an orphan.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["die_with_parent", "run_in_processes", "worker_count"]


def _watch_parent(parent: int, interval: float) -> None:
    import psutil

    while True:
        time.sleep(interval)
        if os.getppid() != parent or not psutil.pid_exists(parent):
            for child in psutil.Process().children(recursive=True):  # this worker's notebook kernels
                with contextlib.suppress(psutil.Error):
                    child.kill()
            os._exit(1)


def die_with_parent(interval: float = 0.5) -> None:
    """Worker initializer: when the parent process dies, kill this worker's kernels and exit.

    A watchdog thread polls the parent (portable: Linux, macOS, Windows). A signal-based death
    notice would not do: while a notebook runs, nbclient handles SIGTERM itself.
    """
    threading.Thread(target=_watch_parent, args=(os.getppid(), interval), name="workbench-parent-watch",
                     daemon=True).start()


def worker_count(requested: int | None, tasks: int) -> int:
    """How many workers to start: as requested (default: the number of cores), at most one per task."""
    return max(1, min(requested or os.cpu_count() or 1, tasks or 1))


def run_in_processes(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], workers: int | None = None
                     ) -> Iterator[tuple[int, Any, BaseException | None]]:
    """Run fn(*task) for every task in worker processes; yield (task index, result, exception) as each ends.

    An exception in one task is yielded, not raised, so the others go on.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not tasks:
        return
    with ProcessPoolExecutor(worker_count(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_parent) as pool:
        futures = {pool.submit(fn, *task): i for i, task in enumerate(tasks)}
        for fut in as_completed(futures):
            try:
                yield futures[fut], fut.result(), None
            except Exception as e:  # noqa: BLE001 - reported by the caller; the other tasks go on
                yield futures[fut], None, e
