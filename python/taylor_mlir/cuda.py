"""Modules compiled for NVIDIA GPUs, and run on torch CUDA tensors.

`CudaModule` is the GPU counterpart of `taylor_mlir.jit.JitModule`: it lowers
a linalg-on-tensors module with the registered pipelines ``taylor-cuda-map``
(bufferize, fuse, tile and map the loops onto blocks and threads, matrix
products to cuBLAS) and ``taylor-cuda-kernels`` (kernels through NVVM to PTX
for every chip, the host code to LLVM), then JIT-compiles the host code. The
host code calls MLIR's ``mgpu*`` runtime functions, which the native runtime
(libTaylorRuntime) implements over the CUDA driver, on torch's current
stream.

Compiling needs no GPU, no driver and no CUDA toolkit: the PTX of each chip
is in `CudaModule.ptx`. Running needs an NVIDIA driver and GPU; without them
a call raises `taylor_mlir._cuda.CudaUnavailableError` saying what is
missing. Example::

    mod = CudaModule(text)                    # compiles here, GPU or not
    print(mod.ptx["sm_90"][:200])
    (y,) = mod.call("f", x_cuda)              # runs where a GPU is
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from . import _cuda, _pipelines, ir
from .errors import run_pipeline
from .jit import FunctionSpec, call_spec, link, prepare_module, result_shape

#: The chips every module is compiled for: one PTX each. The first one's is
#: what a GPU loads (the driver JIT-compiles PTX for newer GPUs too).
DEFAULT_CHIPS = ("sm_80", "sm_90")

_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2})")
_OBJECT = re.compile(r'chip = "(sm_\d+a?)".*?assembly = "((?:[^"\\]|\\.)*)"', re.S)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def ptx_of(module: ir.Module) -> dict[str, str]:
    """The PTX of every chip in the ``gpu.binary`` of ``module`` (the output
    of ``gpu-module-to-binary{format=isa}``; ``taylor-gpu-map-loops`` puts
    every kernel in one ``gpu.module``), ``{chip: text}``."""
    found: dict[str, str] = {}
    for op in module.body.operations:
        if op.operation.name != "gpu.binary":
            continue
        for obj in ir.ArrayAttr(op.attributes["objects"]):
            match = _OBJECT.search(str(obj))
            if match is None:
                raise ValueError(f"a gpu.binary object holds no PTX: {obj}")
            if match.group(1) in found:
                raise ValueError(
                    f"more than one PTX object for {match.group(1)} (one "
                    "gpu.module was expected)"
                )
            found[match.group(1)] = _unescape(match.group(2))
    return found


def _codegen_steps(chips: Sequence[str]) -> list[_pipelines.Step]:
    return [
        _pipelines.step("taylor-cuda-map"),
        _pipelines.step("taylor-cuda-kernels", chips=list(chips)),
    ]


class CudaModule:
    """A module compiled for NVIDIA GPUs; see the module docstring.

    Args:
      module: MLIR text or an ``ir.Module`` (copied).
      chips: the ``sm_XY`` chips to emit PTX for (`DEFAULT_CHIPS`).
      opt_level: LLVM optimization level of the host code's JIT.
      context: the context to parse text in (a new one by default).

    Attributes:
      functions: the public functions' `FunctionSpec`s (before lowering).
      ir: ``{"gpu-mapped": loops mapped onto blocks and threads, "ptx-<chip>":
        the PTX of each chip, "llvm": the host code}``.
      ptx: ``{chip: PTX text}``.
      pipeline: the registered pipelines run (a `_pipelines.Pipeline`).
    """

    def __init__(
        self,
        module: str | ir.Module,
        *,
        chips: Sequence[str] = DEFAULT_CHIPS,
        opt_level: int = 2,
        context: ir.Context | None = None,
    ):
        if not chips:
            raise ValueError("chips: expected at least one sm_XY chip")
        for chip in chips:
            if not re.fullmatch(r"sm_\d+a?", chip):
                raise ValueError(f"chips: expected names like 'sm_90', got {chip!r}")
        self.chips = tuple(chips)
        self.context, module, self.functions = prepare_module(module, context)
        map_step, kernels_step = _codegen_steps(self.chips)
        self.pipeline = _pipelines.Pipeline([map_step, kernels_step])
        self.ir: dict[str, str] = {}
        with self.context:
            run_pipeline(module, map_step, stage="mapping onto the GPU")
            self.ir["gpu-mapped"] = str(module)
            run_pipeline(module, kernels_step, stage="GPU kernels and host code")
            self.ptx = ptx_of(module)
            for chip in self.chips:
                self.ir[f"ptx-{chip}"] = self.ptx[chip]
            self.ir["llvm"] = str(module)
            self.module = module
            # The host code: allocations, launches and cuBLAS calls go to the
            # native runtime's mgpu* functions (the kernels are loaded by the
            # engine's global constructors, at the first call: `_load`; an
            # unresolved symbol would abort the process there, so `link`
            # checks every function).
            self.engine, self.addresses = link(module, self.functions, opt_level)
        self._lock = threading.Lock()
        self._device: int | None = None

    # -- running -------------------------------------------------------------

    def _load(self, device: int) -> None:
        """Loads the kernels on GPU ``device`` (once; a module runs on the
        device it was first loaded on). Raises `_cuda.CudaUnavailableError`
        without a driver or GPU, `_cuda.CudaDriverTooOldError` when the
        driver cannot run the PTX."""
        if self._device == device:
            return
        driver = _cuda.driver()
        with self._lock:
            if self._device is None:
                _cuda.check_device(driver, device, self.chips[0])
                _cuda.check_ptx(self.ptx[self.chips[0]], driver["version"])
                _cuda.initialize(self.engine, device)
                self._device = device
            elif self._device != device:
                raise ValueError(
                    f"this compiled module was loaded on cuda:{self._device}; "
                    f"got tensors on cuda:{device} (compile once per device)"
                )

    def job(self, name: str, tensors: Sequence[Any]) -> tuple[int, list[tuple]]:
        """A job of `run`: function ``name`` on ``tensors`` (its inputs, then
        its outputs: contiguous CUDA tensors of the function's shapes and
        dtypes; not checked), as device pointers with shapes and strides."""
        return self.addresses[name], [
            (t.data_ptr(), tuple(t.shape), tuple(t.stride())) for t in tensors
        ]

    def run(self, calls: Sequence[tuple[str, Sequence[Any]]], device: Any) -> None:
        """Runs the ``(name, tensors)`` calls (see `job`) in order on
        ``device``'s current torch stream (asynchronously, like torch's own
        kernels)."""
        import torch

        device = torch.device(device)
        if device.type != "cuda":
            raise ValueError(f"expected a CUDA device, got {device}")
        index = device.index if device.index is not None else 0
        self._load(index)
        stream = torch.cuda.current_stream(index).cuda_stream
        _cuda.run([self.job(name, tensors) for name, tensors in calls], stream, index)

    def call(
        self,
        name: str,
        *args: Any,
        result_shapes: list[tuple[int, ...]] | None = None,
        outputs: list[Any] | None = None,
    ) -> list[Any]:
        """Runs function ``name`` on CUDA tensors (all on one device);
        returns its results as new CUDA tensors, or writes them into
        ``outputs``. ``result_shapes`` as for `JitModule.call`."""
        import torch

        spec = call_spec(self.functions, name, args)
        device = _common_device(name, args)
        tensors = []
        for i, (arg, want) in enumerate(zip(args, spec.inputs)):
            tensor = arg.detach().contiguous()
            _check_spec(tensor, want, f"@{name} argument {i}")
            tensors.append(tensor)
        if outputs is None:
            outputs = [
                torch.empty(
                    result_shape(name, i, r, result_shapes),
                    dtype=_torch_dtype(r),
                    device=device,
                )
                for i, r in enumerate(spec.results)
            ]
        for i, (out, want) in enumerate(zip(outputs, spec.results)):
            if not out.is_contiguous() or out.device != device:
                raise ValueError(
                    f"@{name} result {i}: the output must be a contiguous tensor "
                    f"on {device}"
                )
            _check_spec(out, want, f"@{name} result {i}")
        self.run([(name, tensors + list(outputs))], device)
        return list(outputs)


def _common_device(name: str, args: Sequence[Any]):
    devices = {a.device for a in args}
    if len(devices) != 1:
        raise ValueError(
            f"@{name}: every argument must be on one device, got "
            f"{sorted(str(d) for d in devices)}"
        )
    (device,) = devices
    if device.type != "cuda":
        raise ValueError(
            f"@{name}: this module is compiled for CUDA GPUs; got tensors on {device}"
        )
    return device


def _torch_dtype(spec):
    import torch

    return {
        "float64": torch.float64,
        "float32": torch.float32,
        "int64": torch.int64,
        "int32": torch.int32,
        "bool": torch.bool,
    }[spec.dtype.name]


def _check_spec(tensor, spec, what: str) -> None:
    if tensor.dtype != _torch_dtype(spec):
        raise ValueError(
            f"{what}: expected dtype {_torch_dtype(spec)}, got {tensor.dtype}"
        )
    shape = tuple(tensor.shape)
    if len(shape) != len(spec.shape) or any(
        w is not None and w != g for w, g in zip(spec.shape, shape)
    ):
        raise ValueError(f"{what}: expected shape {spec}, got {shape}")


__all__ = ["DEFAULT_CHIPS", "CudaModule", "FunctionSpec", "ptx_of"]
