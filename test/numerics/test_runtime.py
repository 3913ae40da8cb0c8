"""The native runtime (libTaylorRuntime): the BLAS shim on memref
descriptors, the buffer pools, native-thread execution without the GIL."""

from __future__ import annotations

import ctypes
import sys
import threading
import time

import numpy as np
import pytest

from taylor_mlir import _native
from taylor_mlir.jit import BufferPool, JitModule


class _Memref2D(ctypes.Structure):
    _fields_ = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
        ("sizes", ctypes.c_int64 * 2),
        ("strides", ctypes.c_int64 * 2),
    ]


def _descriptor(array: np.ndarray) -> _Memref2D:
    """A descriptor of a (possibly strided, transposed) 2-D view."""
    base = array.base if array.base is not None else array
    while base.base is not None:
        base = base.base
    item = array.itemsize
    offset = (array.ctypes.data - base.ctypes.data) // item
    return _Memref2D(
        base.ctypes.data,
        base.ctypes.data,
        offset,
        (ctypes.c_int64 * 2)(*array.shape),
        (ctypes.c_int64 * 2)(*[s // item for s in array.strides]),
    )


@pytest.fixture(scope="module")
def runtime():
    _native.ensure_loaded()
    return ctypes.CDLL(_native.LIBRARY)


def _views(rng, rows, cols, dtype):
    """The same logical matrix stored row-major, column-major (a transposed
    view), as a strided sub-block, and with no unit stride at all."""
    values = rng.standard_normal((rows, cols)).astype(dtype)
    column = np.asfortranarray(values)
    padded = np.zeros((rows + 3, cols + 5), dtype)
    padded[2 : 2 + rows, 1 : 1 + cols] = values
    sparse = np.zeros((2 * rows, 2 * cols), dtype)
    sparse[::2, ::2] = values
    return {
        "row": values,
        "column": column,
        "block": padded[2 : 2 + rows, 1 : 1 + cols],
        "strided": sparse[::2, ::2],
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("shape", [(7, 5, 3), (1, 4, 6), (5, 1, 1), (3, 0, 2)])
def test_gemm_on_descriptors_of_any_layout(runtime, rng, dtype, beta, shape):
    """C = A·B + beta·C for every combination of operand layouts, against
    numpy (BLAS for one unit stride, loops otherwise)."""
    m, k, n = shape
    scalar = ctypes.c_double if dtype == np.float64 else ctypes.c_float
    name = "f64" if dtype == np.float64 else "f32"
    gemm = getattr(runtime, f"_mlir_ciface_taylor_rt_gemm_{name}")
    gemm.argtypes = [ctypes.POINTER(_Memref2D)] * 3 + [scalar]
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    for la, a in _views(rng, m, k, dtype).items():
        for lb, b in _views(rng, k, n, dtype).items():
            for lc, c in _views(rng, m, n, dtype).items():
                c = c.copy() if lc == "row" else c
                want = a @ b + beta * c
                da, db, dc = _descriptor(a), _descriptor(b), _descriptor(c)
                gemm(ctypes.byref(da), ctypes.byref(db), ctypes.byref(dc), beta)
                np.testing.assert_allclose(
                    c, want, rtol=tolerance, atol=tolerance, err_msg=f"{la} {lb} {lc}"
                )


def test_blas_threads_are_the_runtimes_own():
    """The runtime's OpenBLAS is private: setting its threads leaves
    numpy's OpenBLAS as it is."""
    from taylor_mlir import blas

    info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert "scipy-openblas" in info["name"]
    before = blas.get_num_threads()
    try:
        blas.set_num_threads(2)
        assert blas.get_num_threads() == 2
    finally:
        blas.set_num_threads(before)
    assert blas.library().endswith("libscipy_openblas64_.so")


def test_pool_counts_and_frees_on_destruction():
    pool = BufferPool(reuse=True)
    native = pool.native
    buffers = [native.allocate(size) for size in (1, 64, 65, 4096, 5000)]
    assert pool.live == 64 + 64 + 128 + 4096 + 5056  # multiples of 64
    assert pool.peak == pool.live and pool.allocations == 5
    for buffer in buffers:
        native.free(buffer)
    assert pool.live == 0 and pool.cached == 64 + 64 + 128 + 4096 + 5056
    pool.reset_peak()
    assert pool.peak == 0
    pool.release()
    assert pool.reserved == 0
    # A buffer outliving its pool's Python object goes back when freed.
    other = BufferPool(reuse=True)
    buffer = other.native.allocate(100)
    del other
    native.free(buffer)


SLOW = """
  func.func @slow(%x: tensor<{n}xf64>, %w: tensor<{m}xf64>) -> tensor<{n}xf64> {{
    %z = arith.constant 0.0 : f64
    %o = tensor.empty() : tensor<{n}xf64>
    %f = linalg.fill ins(%z : f64) outs(%o : tensor<{n}xf64>) -> tensor<{n}xf64>
    %sum = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i)>,
                                            affine_map<(i, j) -> (j)>,
                                            affine_map<(i, j) -> (i)>],
                           iterator_types = ["parallel", "reduction"]}}
        ins(%x, %w : tensor<{n}xf64>, tensor<{m}xf64>) outs(%f : tensor<{n}xf64>) {{
      ^bb0(%a: f64, %b: f64, %acc: f64):
        %v = arith.addf %a, %b : f64
        %r = math.sin %v : f64
        %t = arith.addf %acc, %r : f64
        linalg.yield %t : f64
    }} -> tensor<{n}xf64>
    return %sum : tensor<{n}xf64>
  }}"""


def _reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.sin(x[:, None] + w[None, :]).sum(axis=1)


def test_jobs_run_concurrently_and_correctly(rng):
    """Many jobs in one run, on the native threads: each result right, each
    job's buffers its own."""
    n, m = 256, 20
    mod = JitModule(SLOW.format(n=n, m=m))
    w = rng.standard_normal(m)
    inputs = [rng.standard_normal(n) for _ in range(16)]
    outputs = [np.empty(n) for _ in inputs]
    jobs = [mod.job("slow", [x, w, out]) for x, out in zip(inputs, outputs)]
    _native.run(jobs, mod.pool)
    for x, out in zip(inputs, outputs):
        np.testing.assert_allclose(out, _reference(x, w), rtol=1e-12)
    assert mod.pool.live == 0


def test_a_python_thread_runs_during_a_long_call(rng):
    """The GIL is released for the whole call: a Python thread counts on
    while compiled code runs. (With the GIL held, the counter could run only
    when the interpreter forces a switch: at most one switch interval,
    5 ms here, of a call of more than 150 ms.)"""
    n, m = 2000, 8000
    mod = JitModule(SLOW.format(n=n, m=m))
    x, w = rng.standard_normal(n), rng.standard_normal(m)
    (want,) = mod.slow(x, w)
    np.testing.assert_allclose(want, _reference(x, w), rtol=1e-10)
    progress = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            progress[0] += 1

    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)
        start, before = time.perf_counter(), progress[0]
        time.sleep(0.1)
        idle_rate = (progress[0] - before) / (time.perf_counter() - start)
        start, before = time.perf_counter(), progress[0]
        (got,) = mod.slow(x, w)
        during = time.perf_counter() - start
        rate = (progress[0] - before) / during
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
    np.testing.assert_array_equal(got, want)
    assert during > 0.15, f"the call ({during:.3f} s) is too short to observe"
    assert rate > 0.2 * idle_rate, (rate, idle_rate, during)


def test_concurrent_runs_all_complete(rng):
    """Runs from several Python threads at once share the native workers;
    each caller works on its own run's jobs too, so every run completes
    (none waits for workers busy with another run) with its own results."""
    from concurrent.futures import ThreadPoolExecutor

    n, m = 64, 200
    mod = JitModule(SLOW.format(n=n, m=m))
    w = rng.standard_normal(m)
    previous = _native.get_num_threads()
    _native.set_num_threads(2)
    try:

        def one_run(seed: int) -> bool:
            local = np.random.default_rng(seed)
            xs = [local.standard_normal(n) for _ in range(6)]
            outs = [np.empty(n) for _ in xs]
            _native.run(
                [mod.job("slow", [x, w, o]) for x, o in zip(xs, outs)], mod.pool
            )
            return all(
                np.allclose(o, _reference(x, w), rtol=1e-12) for x, o in zip(xs, outs)
            )

        with ThreadPoolExecutor(6) as pool:
            assert all(pool.map(one_run, range(60)))
    finally:
        _native.set_num_threads(previous)
    assert mod.pool.live == 0
