"""The native runtime (``libTaylorRuntime.so``, include/Taylor/Runtime).

Compiled code allocates from its buffer pools (MLIR's generic allocation
functions), calls its BLAS shim for matrix products and is called through
`run`, which builds the memref descriptors natively and runs the jobs on
native threads with the GIL released. Nothing on that path calls back
into Python.

The BLAS is the OpenBLAS of the pinned ``scipy-openblas64`` wheel (ILP64,
``scipy_``-prefixed symbols), loaded privately by the runtime: its thread
count is the runtime's (one thread per part of a batch), and numpy's own
OpenBLAS is left as it is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from ._mlir_libs import _taylorRuntime as _rt

#: The shared library compiled code is linked against (by the JIT).
LIBRARY = os.path.join(os.path.dirname(_rt.__file__), "libTaylorRuntime.so")

_LOCK = threading.Lock()
_BLAS_LOADED = False


def blas_library() -> str:
    """Path of the scipy-openblas64 wheel's OpenBLAS."""
    try:
        import scipy_openblas64
    except ImportError as error:  # pragma: no cover - a pinned dependency
        raise ImportError(
            "taylor_mlir needs the scipy-openblas64 wheel (its BLAS runs the "
            "matrix products of compiled code): pip install "
            "scipy-openblas64==0.3.34.481.3"
        ) from error
    return os.path.join(
        scipy_openblas64.get_lib_dir(), f"lib{scipy_openblas64.get_library()}.so"
    )


def ensure_loaded() -> None:
    """Loads the BLAS into the runtime (once; before the first JIT)."""
    global _BLAS_LOADED
    with _LOCK:
        if not _BLAS_LOADED:
            _rt.blas_load(blas_library())
            _BLAS_LOADED = True


class BufferPool:
    """A pool of the buffers compiled code allocates (native).

    With ``reuse``, the buffers a call frees are kept for the next
    allocations of about the same size (within 1/8): from the second call of
    an operator on, a call allocates no new memory and page-faults none.
    Counters: `live` and `peak` bytes (`reset_peak()` starts a new
    measurement), `cached` bytes kept, `reserved` = live + cached,
    `allocations` served and how many of them were `reused`.
    `release()` returns the cached buffers to the C library.
    """

    def __init__(self, reuse: bool = True, *, _native: Any = None):
        self._pool = _native if _native is not None else _rt.Pool(reuse)
        self.reuse = reuse

    @property
    def native(self) -> Any:
        return self._pool

    def _stats(self):
        return self._pool.stats()

    @property
    def live(self) -> int:
        return self._stats().live

    @property
    def peak(self) -> int:
        return self._stats().peak

    @property
    def cached(self) -> int:
        return self._stats().cached

    @property
    def reserved(self) -> int:
        stats = self._stats()
        return stats.live + stats.cached

    @property
    def allocations(self) -> int:
        return self._stats().allocations

    @property
    def reused(self) -> int:
        return self._stats().reused

    def reset_peak(self) -> None:
        self._pool.reset_peak()

    def release(self) -> None:
        self._pool.release()


_SHARED_POOL = BufferPool(_native=_rt.Pool.shared())


def shared_pool() -> BufferPool:
    """The pool of every compiled function without a pool of its own."""
    return _SHARED_POOL


def run(jobs: Sequence[tuple[int, Sequence[Any]]], pool: BufferPool | None) -> None:
    """Runs ``jobs`` — ``(address, arrays)``: a packed ``_mlir_ciface_``
    wrapper's address and its arguments (C-contiguous numpy arrays or CPU
    torch tensors, inputs then outputs) — each on one native thread, without
    the GIL; returns when all are done."""
    _rt.run(jobs, None if pool is None else pool.native)


def get_num_threads() -> int:
    return _rt.get_num_threads()


def set_num_threads(threads: int) -> None:
    _rt.set_num_threads(threads)


def blas_get_num_threads() -> int:
    ensure_loaded()
    return _rt.blas_get_num_threads()


def blas_set_num_threads(threads: int) -> None:
    ensure_loaded()
    _rt.blas_set_num_threads(threads)


__all__ = [
    "LIBRARY",
    "BufferPool",
    "blas_get_num_threads",
    "blas_library",
    "blas_set_num_threads",
    "ensure_loaded",
    "get_num_threads",
    "run",
    "set_num_threads",
    "shared_pool",
]


def profile(enabled: bool) -> None:
    """Turns the runtime's time counters on or off (and resets them)."""
    _rt.profile_reset()
    _rt.profile_enable(enabled)


def profile_read() -> Any:
    """The counters since the last reset: ``gemm_calls``, ``gemm_flops``,
    ``gemm_ns``, ``allocator_calls``, ``allocator_ns``, ``jobs``,
    ``job_ns`` (all threads)."""
    return _rt.profile_read()


def profile_reset() -> None:
    _rt.profile_reset()
