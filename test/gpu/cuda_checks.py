"""Shared pieces of test_cuda_runtime.py: a small GPU host module lowered by
MLIR 22's own passes (``gpu-to-llvm``, ``gpu-module-to-binary``), ctypes
access to the runtime's ``mgpu*`` functions, and the checks that run in a
subprocess against the fake driver (fake_cuda.c, as ``libcuda.so.1``):
``python cuda_checks.py NAME`` runs ``check_NAME()``."""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from taylor_mlir import _cuda, _native, ir, passmanager
from taylor_mlir.execution_engine import ExecutionEngine
from taylor_mlir.tools import runtime_library

#: Host code: copies %h to device memory, fills it with 1.0, doubles it with
#: the kernel `scale` (one thread per element) and copies it back.
HOST_MODULE = """
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%a: memref<16xf32>) kernel {
      %i = gpu.thread_id x
      %v = memref.load %a[%i] : memref<16xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%i] : memref<16xf32>
      gpu.return
    }
  }
  func.func @main(%h: memref<16xf32>) attributes {llvm.emit_c_interface} {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %one = arith.constant 1.0 : f32
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<16xf32>
    %t2 = gpu.memcpy async [%t1] %d, %h : memref<16xf32>, memref<16xf32>
    %t3 = gpu.memset async [%t2] %d, %one : memref<16xf32>, f32
    %t4 = gpu.launch_func async [%t3] @kernels::@scale
        blocks in (%c1, %c1, %c1) threads in (%c16, %c1, %c1)
        args(%d : memref<16xf32>)
    %t5 = gpu.memcpy async [%t4] %h, %d : memref<16xf32>, memref<16xf32>
    %t6 = gpu.dealloc async [%t5] %d : memref<16xf32>
    gpu.wait [%t6]
    return
  }
}
"""

LOWERING = (
    "builtin.module(nvvm-attach-target{chip=sm_90 features=+ptx80},"
    "gpu.module(convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},"
    "reconcile-unrealized-casts),"
    "gpu-to-llvm{use-bare-pointers-for-kernels=1},"
    "gpu-module-to-binary{format=isa},convert-func-to-llvm,"
    "reconcile-unrealized-casts)"
)

#: add_one(float *a, unsigned n): a[i] += 1 for i < n (PTX ISA 7.0, sm_50:
#: any driver since CUDA 11.0 JIT-compiles it for any GPU since Maxwell).
ADD_ONE_PTX = r"""
.version 7.0
.target sm_50
.address_size 64

.visible .entry add_one(
	.param .u64 add_one_param_0,
	.param .u32 add_one_param_1
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<6>;
	.reg .f32 	%f<3>;
	.reg .b64 	%rd<5>;

	ld.param.u64 	%rd1, [add_one_param_0];
	ld.param.u32 	%r2, [add_one_param_1];
	mov.u32 	%r3, %ctaid.x;
	mov.u32 	%r4, %ntid.x;
	mov.u32 	%r5, %tid.x;
	mad.lo.s32 	%r1, %r3, %r4, %r5;
	setp.ge.u32 	%p1, %r1, %r2;
	@%p1 bra 	$L__BB0_2;
	cvta.to.global.u64 	%rd2, %rd1;
	mul.wide.u32 	%rd3, %r1, 4;
	add.s64 	%rd4, %rd2, %rd3;
	ld.global.f32 	%f1, [%rd4];
	add.f32 	%f2, %f1, 0f3F800000;
	st.global.f32 	[%rd4], %f2;
$L__BB0_2:
	ret;
}
"""


def host_module() -> tuple[ExecutionEngine, int, ir.Context]:
    """The JIT-compiled `HOST_MODULE` (not initialized: its constructor
    loads the kernels), the address of @main's packed wrapper, and its
    context (keep it alive with the engine)."""
    context = ir.Context()
    with context:
        module = ir.Module.parse(HOST_MODULE)
        passmanager.PassManager.parse(LOWERING).run(module.operation)
        engine = ExecutionEngine(
            module,
            opt_level=2,
            shared_libs=[runtime_library("mlir_c_runner_utils"), _native.LIBRARY],
        )
        return engine, engine.raw_lookup("_mlir_ciface_main"), context


def runtime() -> ctypes.CDLL:
    """libTaylorRuntime.so with the prototypes of the `mgpu*` functions."""
    lib = ctypes.CDLL(_native.LIBRARY)
    p, i, u64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64
    ip = ctypes.c_ssize_t
    signatures = {
        "mgpuModuleLoad": (p, [p, ctypes.c_size_t]),
        "mgpuModuleLoadJIT": (p, [p, i]),
        "mgpuModuleUnload": (None, [p]),
        "mgpuModuleGetFunction": (p, [p, ctypes.c_char_p]),
        "mgpuLaunchKernel": (
            None,
            [p] + [ip] * 6 + [ctypes.c_int32, p, p, p, ctypes.c_size_t],
        ),
        "mgpuLaunchClusterKernel": (None, [p] + [ip] * 9 + [ctypes.c_int32, p, p, p]),
        "mgpuStreamCreate": (p, []),
        "mgpuStreamSynchronize": (None, [p]),
        "mgpuMemAlloc": (p, [u64, p, ctypes.c_bool]),
        "mgpuMemFree": (None, [p, p]),
        "mgpuMemcpy": (None, [p, p, ctypes.c_size_t, p]),
        "mgpuMemset16": (None, [p, ctypes.c_ushort, ctypes.c_size_t, p]),
        "mgpuMemset32": (None, [p, ctypes.c_uint, ctypes.c_size_t, p]),
        "mgpuEventCreate": (p, []),
        "mgpuEventRecord": (None, [p, p]),
        "mgpuEventSynchronize": (None, [p]),
        "mgpuEventDestroy": (None, [p]),
        "mgpuStreamWaitEvent": (None, [p, p]),
        "taylor_rt_cuda_set_stream": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class Memref2D(ctypes.Structure):
    _fields_ = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
        ("sizes", ctypes.c_int64 * 2),
        ("strides", ctypes.c_int64 * 2),
    ]


def memref(array: np.ndarray, address: int | None = None) -> Memref2D:
    """The descriptor of a 2-D view (of memory at ``address``, default the
    array's own)."""
    item = array.itemsize
    base = array.ctypes.data if address is None else address
    return Memref2D(
        base,
        base,
        0,
        (ctypes.c_int64 * 2)(*array.shape),
        (ctypes.c_int64 * 2)(*(s // item for s in array.strides)),
    )


def gemm(lib: ctypes.CDLL, a, b, c, beta: float) -> None:
    """Calls the cuBLAS shim on the memory of numpy views ``a``, ``b``, ``c``
    (device memory, for the fake driver)."""
    suffix = "f64" if c.dtype == np.float64 else "f32"
    function = getattr(lib, f"_mlir_ciface_taylor_rt_cublas_gemm_{suffix}")
    scalar = ctypes.c_double if suffix == "f64" else ctypes.c_float
    function.argtypes = [ctypes.POINTER(Memref2D)] * 3 + [scalar]
    function.restype = None
    da, db, dc = memref(a), memref(b), memref(c)
    function(ctypes.byref(da), ctypes.byref(db), ctypes.byref(dc), beta)


def layouts(rows: int, cols: int, dtype, rng) -> list[np.ndarray]:
    """A [rows, cols] matrix stored row-major, column-major and row-major
    with a padded leading dimension."""
    value = rng.standard_normal((rows, cols)).astype(dtype)
    column = np.asfortranarray(value)
    padded = np.zeros((rows, cols + 3), dtype)[:, :cols]
    padded[...] = value
    return [np.ascontiguousarray(value), column, padded]


# -- checks against the fake driver (run in a subprocess) --------------------


def fake_counter(name: str) -> int:
    lib = ctypes.CDLL("libcuda.so.1")
    lib.fake_cuda_counter.restype = ctypes.c_long
    lib.fake_cuda_counter.argtypes = [ctypes.c_char_p]
    return lib.fake_cuda_counter(name.encode())


def check_driver_info() -> None:
    info = _cuda.driver()
    assert info == {"version": 12040, "devices": 1, "capabilities": [(9, 0)]}, info
    for chip in ("sm_50", "sm_80", "sm_90", "sm_90a"):
        _cuda.check_device(info, 0, chip)
    for chip, kind in (("sm_100", _cuda.CudaError), ("sm_80a", _cuda.CudaError)):
        try:
            _cuda.check_device(info, 0, chip)
        except kind as error:
            assert "compute capability 9.0" in str(error), error
        else:
            raise AssertionError(f"{chip} passed on a 9.0 device")
    try:
        _cuda.check_device(info, 1, "sm_90")
    except _cuda.CudaUnavailableError as error:
        assert "no CUDA device 1" in str(error), error
    else:
        raise AssertionError("device 1 passed")


def check_host_module_runs() -> None:
    engine, address, _ = host_module()
    _cuda.initialize(engine, 0)
    data = np.arange(16, dtype=np.float32)
    stream = 0x5150
    job = (address, [(data.ctypes.data, (16,), (1,))])
    _cuda.run([job], stream, 0)
    assert (data == 2.0).all(), data
    assert fake_counter("launches") == 1
    assert fake_counter("last_stream") == stream
    assert fake_counter("live") == 0, "the device buffer was not freed"
    assert fake_counter("syncs") == 0, "an asynchronous run waited"
    assert fake_counter("context_current") == 0, "the context was not restored"
    assert fake_counter("threshold") == -1, "the pool releases its memory"
    stats = _cuda.stats()
    assert stats["allocations"] == 1 and stats["allocated_bytes"] == 64, stats
    assert stats["live"] == 0 and stats["peak"] == 64 and stats["launches"] == 1
    data[:] = 5
    _cuda.run([job, job], stream, 0, synchronize=True)
    assert (data == 2.0).all() and fake_counter("syncs") >= 1
    assert fake_counter("pool_allocations") == 3
    _cuda.release(0)


def check_ptx_too_new_for_the_driver() -> None:
    engine, address, _ = host_module()
    try:
        _cuda.initialize(engine, 0)
    except _cuda.CudaDriverTooOldError as error:
        text = str(error)
    else:
        raise AssertionError("PTX ISA 8.0 loaded on a CUDA 11.8 driver")
    for part in (
        "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
        "PTX ISA 8.0",
        "CUDA 12.0 driver or newer",
        "CUDA 11.8",
        "PTX ISA 7.8 or older",
        "Unsupported .version 8.0",
    ):
        assert part in text, (part, text)
    data = np.zeros(16, np.float32)
    try:
        _cuda.run([(address, [(data.ctypes.data, (16,), (1,))])], 0, 0)
    except _cuda.CudaDriverTooOldError as error:
        assert "kernel 'scale' cannot run: its module was not loaded" in str(error)
        assert "PTX ISA 8.0" in str(error)
    else:
        raise AssertionError("a kernel of an unloaded module ran")
    assert fake_counter("launches") == 0


def check_out_of_memory() -> None:
    engine, address, _ = host_module()
    _cuda.initialize(engine, 0)
    data = np.full(16, 3, np.float32)
    try:
        _cuda.run([(address, [(data.ctypes.data, (16,), (1,))])], 0, 0)
    except _cuda.CudaError as error:
        text = str(error)
    else:
        raise AssertionError("an allocation beyond the memory succeeded")
    assert "cuMemAllocFromPoolAsync failed: CUDA_ERROR_OUT_OF_MEMORY" in text, text
    assert "64 bytes on CUDA device 0" in text, text
    assert fake_counter("launches") == 0 and (data == 3).all()
    _cuda.check_error()  # the run took its error


def check_kernels_through_ctypes() -> None:
    lib = runtime()
    _cuda.set_device(0)
    lib.taylor_rt_cuda_set_stream(0x77)
    ptx = ADD_ONE_PTX.encode() + b"\0"
    module = lib.mgpuModuleLoadJIT(ptx, 2)
    _cuda.check_error()
    assert module and lib.mgpuModuleLoad(ptx, len(ptx))
    function = lib.mgpuModuleGetFunction(module, b"add_one")
    data = np.zeros(100, np.float32)
    pointer = ctypes.c_void_p(data.ctypes.data)
    count = ctypes.c_uint(100)
    params = (ctypes.c_void_p * 2)(
        ctypes.cast(ctypes.byref(pointer), ctypes.c_void_p),
        ctypes.cast(ctypes.byref(count), ctypes.c_void_p),
    )
    lib.mgpuLaunchKernel(function, 4, 1, 1, 32, 1, 1, 0, None, params, None, 2)
    _cuda.check_error()
    assert (data == 1).all() and fake_counter("last_stream") == 0x77
    lib.mgpuLaunchClusterKernel(
        function, 2, 1, 1, 4, 1, 1, 32, 1, 1, 64 * 1024, None, params, None
    )
    _cuda.check_error()
    assert (data == 2).all() and fake_counter("cluster_x") == 2
    assert fake_counter("dynamic_shared") == 64 * 1024
    lib.mgpuLaunchKernel(function, 0, 1, 1, 32, 1, 1, 0, None, params, None, 2)
    _cuda.check_error()
    assert fake_counter("launches") == 2, "an empty grid launched"
    assert not lib.mgpuModuleGetFunction(module, b"missing")
    expect_error(_cuda.CudaError, "CUDA_ERROR_NOT_FOUND", "kernel 'missing'")
    lib.mgpuLaunchKernel(None, 1, 1, 1, 1, 1, 1, 0, None, params, None, 2)
    expect_error(_cuda.CudaError, "no kernel")
    lib.mgpuModuleUnload(module)
    assert fake_counter("context_current") == 0


def check_memory_through_ctypes() -> None:
    lib = runtime()
    _cuda.set_device(0)
    assert lib.mgpuStreamCreate() is None  # the current stream: the default
    shared = lib.mgpuMemAlloc(8, None, True)
    _cuda.check_error()
    lib.mgpuMemset16(shared, 0x3C00, 4, None)
    assert (
        list(np.frombuffer((ctypes.c_uint16 * 4).from_address(shared), np.uint16))
        == [0x3C00] * 4
    )
    lib.mgpuMemFree(shared, None)
    assert lib.mgpuMemAlloc(0, None, False) is None
    lib.mgpuMemFree(None, None)
    _cuda.check_error()
    lib.mgpuMemFree(0x1234, None)
    expect_error(
        _cuda.CudaError, "mgpuMemFree of 0x1234, which mgpuMemAlloc did not return"
    )
    event = lib.mgpuEventCreate()
    lib.mgpuEventRecord(event, None)
    lib.mgpuStreamWaitEvent(None, event)
    lib.mgpuEventSynchronize(event)
    lib.mgpuStreamSynchronize(None)
    lib.mgpuEventDestroy(event)
    _cuda.check_error()
    assert fake_counter("syncs") == 0 and fake_counter("live") == 0


def check_cublas_layouts() -> None:
    lib = runtime()
    assert _cuda.load_cublas(_fake_library())
    _cuda.set_device(0)
    lib.taylor_rt_cuda_set_stream(0x99)
    rng = np.random.default_rng(0)
    for dtype, tolerance in ((np.float64, 1e-12), (np.float32, 1e-4)):
        for m, n, k in ((3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (3, 4, 0)):
            for a in layouts(m, k, dtype, rng):
                for b in layouts(k, n, dtype, rng):
                    for c in layouts(m, n, dtype, rng):
                        for beta in (0.0, 1.0, 0.5):
                            before = c.copy()
                            gemm(lib, a, b, c, beta)
                            _cuda.check_error()
                            want = a @ b + beta * before
                            assert np.allclose(c, want, atol=tolerance), (
                                dtype,
                                (m, n, k),
                                a.strides,
                                b.strides,
                                c.strides,
                                beta,
                            )
    assert fake_counter("gemm_stream") == 0x99
    a = np.zeros((4, 6))[:, ::2]
    gemm(lib, a, np.zeros((3, 2)), np.zeros((4, 2)), 0.0)
    expect_error(
        _cuda.CudaError, "operand A [4 x 3] with strides [6, 2] has no unit stride"
    )
    gemm(lib, np.zeros((4, 3)), np.zeros((2, 2)), np.zeros((4, 2)), 0.0)
    expect_error(_cuda.CudaError, "mismatched shapes")


def check_cublas_on_an_old_driver() -> None:
    lib = runtime()
    assert _cuda.load_cublas(_fake_library())
    _cuda.set_device(0)
    gemm(lib, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), 0.0)
    expect_error(
        _cuda.CudaDriverTooOldError,
        "cuBLAS 13 (the nvidia-cublas wheel) needs a CUDA 13.0 driver",
        "this driver is CUDA 12.4",
    )


def expect_error(kind, *parts: str) -> None:
    try:
        _cuda.check_error()
    except kind as error:
        for part in parts:
            assert part in str(error), (part, str(error))
    else:
        raise AssertionError(f"no error; expected {parts}")


def _fake_library() -> str:
    import os

    for directory in os.environ["LD_LIBRARY_PATH"].split(":"):
        path = os.path.join(directory, "libcuda.so.1")
        if os.path.exists(path):
            return path
    raise AssertionError("the fake libcuda.so.1 is not on LD_LIBRARY_PATH")


if __name__ == "__main__":
    globals()[f"check_{sys.argv[1]}"]()
    print("ok")
