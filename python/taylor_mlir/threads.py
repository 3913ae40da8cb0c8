"""How many threads compiled operators run on.

A call of a `CompiledOperator` on a batch of at least ``2 * MIN_CHUNK``
data splits the batch into one contiguous part per thread (at least
``MIN_CHUNK`` data each) and computes the parts concurrently, each with a
single-threaded BLAS (the compiled code releases the GIL while it runs). The
whole computation — matrix products and the elementwise jet arithmetic — then
uses every core, without the threads of a multi-threaded BLAS waiting for
each other between products. Smaller batches run in one call with a BLAS of
`get_num_threads()` threads. Measured in ``docs/performance.md``.

The default is every core this process may run on
(``os.sched_getaffinity``).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

#: The smallest part of a batch a thread computes.
MIN_CHUNK = 16

_LOCK = threading.Lock()
_THREADS = max(1, len(os.sched_getaffinity(0)))
_POOL: ThreadPoolExecutor | None = None


def set_num_threads(threads: int) -> None:
    """Sets the number of threads of compiled operators (>= 1)."""
    global _THREADS, _POOL
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    with _LOCK:
        _THREADS = threads
        if _POOL is not None:
            _POOL.shutdown(wait=False)
            _POOL = None


def get_num_threads() -> int:
    """The number of threads of compiled operators."""
    return _THREADS


def pool() -> ThreadPoolExecutor:
    """The worker threads (created on first use)."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="taylor_mlir")
        return _POOL


def split(batch: int, threads: int | None = None) -> list[tuple[int, int]]:
    """The parts ``[start, stop)`` a batch is computed in: one per thread, of
    sizes differing by at most one, none smaller than `MIN_CHUNK`."""
    threads = _THREADS if threads is None else threads
    parts = max(1, min(threads, batch // MIN_CHUNK))
    size, extra = divmod(batch, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + size + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


__all__ = ["MIN_CHUNK", "get_num_threads", "pool", "set_num_threads", "split"]
