"""The BLAS that compiled code calls for matrix products.

`taylor-gemm-to-blas` turns matrix products into calls of
``taylor_cblas_dgemm`` / ``taylor_cblas_sgemm`` (the CBLAS signature with
64-bit integers); the JIT resolves them to the OpenBLAS that numpy's wheel
bundles (``scipy_cblas_?gemm64_`` in ``numpy.libs/libscipy_openblas64_*.so``)
— a pinned dependency, nothing more to install. The choice is measured in
``docs/performance.md``.

OpenBLAS runs on every core by default; `set_num_threads` changes that for
all compiled code (and for numpy) in this process.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

#: Symbol the compiled code calls -> OpenBLAS symbol.
SYMBOLS = {
    "taylor_cblas_dgemm": "scipy_cblas_dgemm64_",
    "taylor_cblas_sgemm": "scipy_cblas_sgemm64_",
}

_LIBRARY: ctypes.CDLL | None = None
_LOCK = threading.Lock()


def library() -> ctypes.CDLL:
    """numpy's bundled OpenBLAS, loaded once."""
    global _LIBRARY
    with _LOCK:
        if _LIBRARY is None:
            libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
            paths = sorted(glob.glob(os.path.join(libs, "libscipy_openblas64_*.so")))
            if not paths:
                raise FileNotFoundError(
                    f"no OpenBLAS (libscipy_openblas64_*.so) in {os.path.abspath(libs)}; "
                    "taylor_mlir needs numpy's manylinux wheel"
                )
            _LIBRARY = ctypes.CDLL(paths[0])
        return _LIBRARY


def symbol_addresses() -> dict[str, ctypes.c_void_p]:
    """The addresses to register in an execution engine, by symbol name."""
    lib = library()
    return {
        ours: ctypes.cast(getattr(lib, theirs), ctypes.c_void_p)
        for ours, theirs in SYMBOLS.items()
    }


def set_num_threads(threads: int) -> None:
    """Sets the number of threads of the BLAS calls (>= 1)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    function = library().scipy_openblas_set_num_threads64_
    function.argtypes = [ctypes.c_int]
    function(threads)


def get_num_threads() -> int:
    """The number of threads of the BLAS calls."""
    function = library().scipy_openblas_get_num_threads64_
    function.restype = ctypes.c_int
    return int(function())


__all__ = [
    "SYMBOLS",
    "get_num_threads",
    "library",
    "set_num_threads",
    "symbol_addresses",
]
