"""How many threads compiled operators run on, and how a batch is split.

A call of a `CompiledOperator` splits its batch into parts and computes them
concurrently on the native runtime's threads (`taylor_mlir._native`), one
part at a time per thread, each with a single-threaded BLAS, without the
GIL: the matrix products and the elementwise jet arithmetic then use every
core, without the threads of a multi-threaded BLAS waiting for each other
between products. (`map` runs Python functions over parts on a Python
thread pool of the same size: the backward passes.)

Parts are small enough that one part's largest coefficient tensor (its
directions × data × the model's widest layer) stays within
`PART_BYTES`: the working memory of a call is bounded by the thread count,
not by the batch size, and a part's tensors are more often still in cache.
Parts hold at least `MIN_CHUNK` data (matrix products of fewer rows lose
speed, and each part costs a call); their sizes differ by at most one, so a
call needs at most two compiled artifacts. A batch of fewer than
``2 * MIN_CHUNK`` data that fits the budget runs in one piece. The BLAS
always runs on one thread per part: on one part's small products a
multi-threaded BLAS was 3-10x slower than a single thread. Measured in ``docs/performance.md``.

The default thread count is every core this process may run on
(``os.sched_getaffinity``).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from . import _native

#: The smallest part of a batch a call computes on its own.
MIN_CHUNK = 8
#: The least work worth a part of its own: a part's largest coefficient
#: tensor holds at least this many bytes (a run of several parts costs a
#: native worker's wake-up, ~0.1 ms: a small model's Laplacian at B = 16
#: took 106 µs in one piece, 232 µs in two; benchmarks/call_overhead.py).
MIN_PART_BYTES = 256 << 10
#: The budget of a part's largest coefficient tensor, in bytes.
PART_BYTES = 8 << 20

_LOCK = threading.Lock()
_THREADS = max(1, len(os.sched_getaffinity(0)))
_POOL: ThreadPoolExecutor | None = None
_native.set_num_threads(_THREADS)


def set_num_threads(threads: int) -> None:
    """Sets the number of threads of compiled operators (>= 1)."""
    global _THREADS, _POOL
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    with _LOCK:
        _THREADS = threads
        _native.set_num_threads(threads)
        # Not shut down: calls on other threads may be submitting to it; its
        # threads exit once the last of them is done with it (when the
        # executor is garbage-collected).
        _POOL = None


def get_num_threads() -> int:
    """The number of threads of compiled operators."""
    return _THREADS


def pool() -> ThreadPoolExecutor:
    """The worker threads (created on first use)."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(
                _THREADS, thread_name_prefix="taylor_mlir", initializer=_mark_worker
            )
        return _POOL


#: Set on the pool's threads.
_WORKER = threading.local()


def _mark_worker() -> None:
    _WORKER.active = True


def map(function, items) -> list:
    """``[function(item) for item in items]``, on the pool. Safe from any
    thread: on one of the pool's own threads (a compiled operator called
    inside another's loss function, say) it runs in order on that thread,
    instead of waiting for pool threads that may all be waiting too."""
    items = list(items)
    if len(items) <= 1 or getattr(_WORKER, "active", False):
        return [function(item) for item in items]
    return list(pool().map(function, items))


def split(
    batch: int, threads: int | None = None, bytes_per_datum: int = 0
) -> list[tuple[int, int]]:
    """The parts ``[start, stop)`` a batch is computed in.

    Args:
      batch: the number of data.
      threads: the thread count (default `get_num_threads()`).
      bytes_per_datum: the size of one datum's largest coefficient tensor;
        parts stay within `PART_BYTES` of it and hold `MIN_PART_BYTES` at
        least (0: neither limit).
    """
    threads = _THREADS if threads is None else threads
    largest, least = batch, MIN_CHUNK
    if bytes_per_datum > 0:
        largest = max(MIN_CHUNK, PART_BYTES // bytes_per_datum)
        least = min(largest, max(MIN_CHUNK, -(-MIN_PART_BYTES // bytes_per_datum)))
    if batch < 2 * least and batch <= largest:
        return [(0, batch)]
    parts = max(1, min(threads, batch // least))
    # Enough parts to respect the budget, a multiple of the threads.
    needed = math.ceil(batch / largest)
    if needed > parts:
        parts = math.ceil(needed / threads) * threads
        parts = max(1, min(parts, batch // least))
    size, extra = divmod(batch, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + size + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


__all__ = [
    "MIN_CHUNK",
    "MIN_PART_BYTES",
    "PART_BYTES",
    "get_num_threads",
    "map",
    "pool",
    "set_num_threads",
    "split",
]
