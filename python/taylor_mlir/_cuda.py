"""The CUDA part of the native runtime (``libTaylorRuntime.so``).

Compiled GPU code is host code that calls MLIR's CUDA runtime functions
(``mgpu*``: module loading, kernel launches, device memory) and the cuBLAS
shim ``taylor_rt_cublas_gemm_f64/_f32``; the runtime implements them over the
CUDA driver, loaded with ``dlopen("libcuda.so.1")`` at first use. Nothing
here needs a CUDA toolkit, and nothing needs a GPU until a call runs.

Design, as Python sees it:

- `run` calls compiled functions on device pointers (torch CUDA tensors'
  ``data_ptr()``), on torch's current stream and the device's primary
  context (the one torch uses). Calls are asynchronous like torch's own
  kernels: the host code's stream and event waits return at once, since all
  of its work and all later torch work on its results are ordered on that
  stream. ``synchronize=True`` waits for the stream (and so reports the
  kernels' own errors, like ``CUDA_LAUNCH_BLOCKING``).
- Device memory of compiled code comes from a memory pool per device, in
  stream order: a call reuses the memory the previous one freed. `stats`
  counts it; `release` returns the cached memory to the driver.
- A failing driver or cuBLAS call does not abort: the first error of the
  calling thread is raised by `run` as `CudaError` (or a subclass) naming
  the call, the error and its cause; the rest of that call's device work is
  skipped.
- A PTX module the driver cannot load names its PTX ISA, the driver's CUDA
  version and the oldest driver that runs that ISA (`check_ptx` tells the
  same before loading).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

from ._mlir_libs import _taylorRuntime as _rt

#: A CUDA driver or cuBLAS call of compiled code failed (a RuntimeError).
CudaError = _rt.CudaError
#: No CUDA GPU can be used: no NVIDIA driver (``libcuda.so.1``), ``cuInit``
#: failed, or no such device (a `CudaError`).
CudaUnavailableError = _rt.CudaUnavailableError
#: The NVIDIA driver is older than the compiled kernels' PTX ISA needs (a
#: `CudaError`).
CudaDriverTooOldError = _rt.CudaDriverTooOldError

#: The name of cuBLAS in the nvidia-cublas wheel (CUDA 13), under
#: ``site-packages/nvidia/cu13/lib``.
CUBLAS_NAME = "libcublas.so.13"

_WITHOUT_GPU = (
    'compiling with device="cuda" still works without a GPU (it emits PTX); '
    "running the compiled code needs an NVIDIA GPU and driver"
)

_LOCK = threading.Lock()
_DRIVER: dict[str, Any] | None = None
#: The loaded cuBLAS's path; "" when none is installed; None: not looked for.
_CUBLAS: str | None = None
_DEVICE = 0


def driver() -> dict[str, Any]:
    """The CUDA driver: ``{"version": 12040, "devices": 1, "capabilities":
    [(9, 0)]}`` (version: the driver's CUDA version, 12040 for 12.4;
    capabilities: each device's compute capability). Cached once it
    succeeds.

    Raises `CudaUnavailableError` saying what is missing (``libcuda.so.1``
    not found, ``cuInit`` failed, no device), or `CudaDriverTooOldError` for
    a driver without the functions the runtime uses (CUDA 11.2)."""
    global _DRIVER
    if _DRIVER is not None:
        return _DRIVER
    try:
        info = _rt.cuda_driver()
    except CudaError as error:
        raise type(error)(f"{error}; {_WITHOUT_GPU}") from None
    info["capabilities"] = [tuple(c) for c in info["capabilities"]]
    _DRIVER = info
    return info


def available() -> bool:
    """Whether a CUDA GPU and driver can be used (`driver` succeeds)."""
    try:
        driver()
    except CudaError:
        return False
    return True


def version_text(version: int) -> str:
    """``"12.4"`` for a CUDA version of 12040."""
    return f"{version // 1000}.{version % 1000 // 10}"


def ptx_isa(ptx: str) -> tuple[int, int]:
    """The PTX ISA version of ``ptx`` (its ``.version`` directive), e.g.
    ``(8, 0)``. Raises ValueError when it has none."""
    return tuple(_rt.cuda_ptx_isa(ptx))


def minimum_driver(isa: tuple[int, int]) -> int | None:
    """The oldest driver's CUDA version (e.g. 12000) that runs PTX ISA
    ``isa`` (e.g. ``(8, 0)``), from the PTX ISA release notes; None for an
    ISA newer than every one known."""
    return _rt.cuda_minimum_driver(*isa)


def newest_ptx_isa(driver_version: int) -> tuple[int, int] | None:
    """The newest PTX ISA a driver of CUDA version ``driver_version`` runs
    (e.g. ``(8, 4)`` for 12040): what to compile for to run there. None for
    a driver older than every ISA known."""
    found = _rt.cuda_newest_ptx_isa(driver_version)
    return None if found is None else tuple(found)


def check_ptx(ptx: str, driver_version: int) -> None:
    """Raises `CudaDriverTooOldError`, naming both versions, when a driver of
    CUDA version ``driver_version`` (e.g. ``driver()["version"]``) is older
    than the PTX ISA of ``ptx`` needs; ValueError when ``ptx`` has no
    ``.version``."""
    _rt.cuda_check_ptx(ptx, driver_version)


def _chip_capability(chip: str) -> tuple[tuple[int, int], bool]:
    match = re.fullmatch(r"sm_(\d+)(\d)(a?)", chip)
    if match is None:
        raise ValueError(f"expected a chip like 'sm_90', got {chip!r}")
    return (int(match.group(1)), int(match.group(2))), bool(match.group(3))


def check_device(info: dict[str, Any], device: int, chip: str) -> None:
    """Raises unless CUDA ``device`` (per ``info``, from `driver`) runs
    kernels compiled for ``chip`` (``"sm_90"``: compute capability 9.0 or
    newer, through the driver's JIT; ``"sm_90a"``: exactly 9.0):
    `CudaUnavailableError` for a device that does not exist, `CudaError`
    for one of another compute capability."""
    count = info["devices"]
    if not 0 <= device < count:
        raise CudaUnavailableError(
            f"no CUDA device {device}: the driver sees {count} device(s)"
        )
    have = tuple(info["capabilities"][device])
    need, exact = _chip_capability(chip)
    if have == need or (not exact and have > need):
        return
    raise CudaError(
        f"cuda:{device} has compute capability {have[0]}.{have[1]}; the kernels "
        f"are compiled for {chip}, which needs {need[0]}.{need[1]}"
        f"{'' if exact else ' or newer'}: compile them for "
        f"sm_{have[0]}{have[1]} (chips=('sm_{have[0]}{have[1]}',))"
    )


def cublas_library() -> str | None:
    """Path of cuBLAS (``libcublas.so.13``) from the nvidia-cublas wheel (the
    ``cuda`` extra: ``pip install 'taylor-mlir[cuda]'``), found through the
    wheel's metadata or the ``nvidia`` namespace package; None if it is not
    installed."""
    try:
        files = importlib.metadata.distribution("nvidia-cublas").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == CUBLAS_NAME:
            path = str(file.locate())
            if os.path.exists(path):
                return path
    try:
        import nvidia
    except ImportError:
        return None
    for base in getattr(nvidia, "__path__", []):
        path = os.path.join(base, "cu13", "lib", CUBLAS_NAME)
        if os.path.exists(path):
            return path
    return None


def load_cublas(path: str | None = None) -> bool:
    """Loads cuBLAS into the runtime, from ``path`` or `cublas_library` (the
    first load wins; later ones do nothing). Returns whether one is loaded;
    raises RuntimeError for a path that is not a cuBLAS library. Without
    cuBLAS, compiled matrix products raise `CudaUnavailableError`."""
    global _CUBLAS
    with _LOCK:
        if _CUBLAS:
            return True
        if path is None:
            path = cublas_library() if _CUBLAS is None else None
            if path is None:
                _CUBLAS = ""
                return False
        _rt.cuda_load_cublas(path)
        _CUBLAS = path
        return True


def set_device(device: int) -> None:
    """Makes CUDA ``device`` the calling thread's device for the ``mgpu*``
    calls outside `run` (and the default of `run` and of threads that set
    none): set it before running an ExecutionEngine's global constructors,
    which load the kernels (see `initialize`)."""
    global _DEVICE
    _DEVICE = device
    _rt.cuda_set_device(device)


def initialize(engine: Any, device: int) -> None:
    """Runs the global constructors of ``engine`` (an ExecutionEngine of
    compiled GPU host code), which load its kernels, on CUDA ``device``;
    raises the `CudaError` of a load that failed (e.g.
    `CudaDriverTooOldError` for PTX newer than the driver)."""
    set_device(device)
    check_error()
    engine.initialize()
    check_error()


def check_error() -> None:
    """Raises (and clears) the calling thread's pending CUDA error, if any:
    the first error of ``mgpu*`` calls made outside `run`."""
    _rt.cuda_check_error()


def run(
    jobs: Sequence[tuple[int, Sequence[tuple[int, Sequence[int], Sequence[int]]]]],
    stream: int,
    device: int | None = None,
    *,
    synchronize: bool = False,
) -> None:
    """Runs ``jobs`` in order on the calling thread, without the GIL, on CUDA
    ``device`` (default: the last `set_device`, else 0) and ``stream`` (a
    ``CUstream`` as an int: ``torch.cuda.current_stream(device).cuda_stream``).

    A job is ``(address, arguments)``: the address of a packed
    ``_mlir_ciface_`` wrapper of compiled host code and its memref arguments
    (inputs, then outputs), each ``(data_ptr, shape, strides)`` of device
    memory, strides in elements. Returns once the work is queued on the
    stream (``synchronize``: once it is done). Raises `CudaError` (or a
    subclass) with the first driver or cuBLAS error of the call."""
    if _CUBLAS is None:
        load_cublas()
    _rt.run_cuda(jobs, stream, _DEVICE if device is None else device, synchronize)


def stats() -> dict[str, int]:
    """Counters of the device memory and work of compiled code (all devices,
    since the process started): ``allocations``, ``allocated_bytes``,
    ``live`` and ``peak`` bytes (`reset_peak`), kernel ``launches`` and
    cuBLAS ``gemms``."""
    return dict(_rt.cuda_stats())


def reset_peak() -> None:
    _rt.cuda_reset_peak()


def release(device: int = 0) -> None:
    """Returns the device memory cached by ``device``'s pool to the driver
    (memory whose stream-ordered frees have completed: synchronize the
    stream first to release all of it)."""
    _rt.cuda_release(device)


__all__ = [
    "CUBLAS_NAME",
    "CudaDriverTooOldError",
    "CudaError",
    "CudaUnavailableError",
    "available",
    "check_device",
    "check_error",
    "check_ptx",
    "cublas_library",
    "driver",
    "initialize",
    "load_cublas",
    "minimum_driver",
    "newest_ptx_isa",
    "ptx_isa",
    "release",
    "reset_peak",
    "run",
    "set_device",
    "stats",
    "version_text",
]
