"""The one pool of worker processes that runs notebooks in parallel, for the main job and for sweeps.

Workers are spawned (not forked: each starts clean, as on macOS and Windows). On Linux a worker
asks the kernel to end it when its parent dies, so a killed main job or sweep takes its workers,
and with them their notebook kernels, along; elsewhere orphaned workers finish their current run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["die_with_parent", "run_in_processes", "worker_count"]


def die_with_parent() -> None:
    """Worker initializer: on Linux, end this process when its parent dies (PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


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
