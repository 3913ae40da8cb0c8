"""The BLAS that compiled code calls for matrix products.

`taylor-gemm-to-blas` turns matrix products into calls of the native
runtime's BLAS shim (``libTaylorRuntime.so``, include/Taylor/Runtime), which
computes them with the OpenBLAS of the pinned ``scipy-openblas64`` wheel
(ILP64), loaded privately by the runtime: numpy's own OpenBLAS, and its
thread count, are left as they are. The choice is measured in
``docs/performance.md``.

The runtime runs the parts of a batch on its own threads with a
single-threaded BLAS each; `set_num_threads` changes the BLAS's own thread
count (for every compiled call in this process).
"""

from __future__ import annotations

from . import _native


def library() -> str:
    """Path of the OpenBLAS compiled code uses."""
    return _native.blas_library()


def set_num_threads(threads: int) -> None:
    """Sets the number of threads of each BLAS call (>= 1)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}")
    _native.blas_set_num_threads(threads)


def get_num_threads() -> int:
    """The number of threads of each BLAS call."""
    return _native.blas_get_num_threads()


__all__ = ["get_num_threads", "library", "set_num_threads"]
