"""Compile MLIR modules with the ``taylor-to-llvm`` pipeline and run them.

Example::

    from taylor_mlir.jit import JitModule
    mod = JitModule('''
      func.func @axpy(%a: tensor<4xf64>, %x: tensor<4xf64>) -> tensor<4xf64> {
        %e = tensor.empty() : tensor<4xf64>
        %r = linalg.add ins(%a, %x : tensor<4xf64>, tensor<4xf64>)
                        outs(%e : tensor<4xf64>) -> tensor<4xf64>
        return %r : tensor<4xf64>
      }''')
    (y,) = mod.axpy(np.ones(4), np.arange(4.0))

Functions take and return ranked tensors. Results come back as new arrays
(numpy in, numpy out; torch in, torch out); inputs are never written to: every
argument is marked ``bufferization.writable = false`` before bufferization.
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import blas, ir
from .errors import run_pipeline
from .execution_engine import ExecutionEngine
from .runtime.np_to_memref import (
    as_ctype,
    make_nd_memref_descriptor,
    make_zero_d_memref_descriptor,
)
from .tools import runtime_library

#: The named pipeline (registered by taylor_mlir) that lowers to LLVM.
DEFAULT_PIPELINE = "builtin.module(taylor-to-llvm)"

_DTYPES = {
    "f64": np.dtype(np.float64),
    "f32": np.dtype(np.float32),
    "i64": np.dtype(np.int64),
    "i32": np.dtype(np.int32),
    "i1": np.dtype(np.bool_),
}


@dataclass(frozen=True)
class TensorSpec:
    """Shape (``None`` for a dynamic dimension) and dtype of a tensor."""

    shape: tuple[int | None, ...]
    dtype: np.dtype

    def __str__(self) -> str:
        dims = "x".join("?" if d is None else str(d) for d in self.shape)
        return f"tensor<{dims + 'x' if dims else ''}{self.dtype}>"

    def check(self, array: np.ndarray, what: str) -> None:
        """Raises ``ValueError`` if ``array`` does not match this spec."""
        if array.dtype != self.dtype:
            raise ValueError(f"{what}: expected dtype {self.dtype}, got {array.dtype}")
        if array.ndim != len(self.shape) or any(
            want is not None and want != got
            for want, got in zip(self.shape, array.shape)
        ):
            raise ValueError(
                f"{what}: expected shape {self._shape_str()}, got {tuple(array.shape)}"
            )

    def _shape_str(self) -> str:
        return "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + ")"


@dataclass(frozen=True)
class FunctionSpec:
    """Argument and result tensor specs of a function, before lowering."""

    name: str
    inputs: tuple[TensorSpec, ...]
    results: tuple[TensorSpec, ...]


def _tensor_spec(type_: ir.Type, where: str) -> TensorSpec:
    if not isinstance(type_, ir.RankedTensorType):
        raise TypeError(f"{where}: only ranked tensor types are supported, got {type_}")
    tensor = type_
    element = str(tensor.element_type)
    if element not in _DTYPES:
        raise TypeError(f"{where}: unsupported element type {element}")
    shape = tuple(None if ir.ShapedType.is_dynamic_size(d) else d for d in tensor.shape)
    return TensorSpec(shape, _DTYPES[element])


def _public_functions(module: ir.Module) -> list[ir.Operation]:
    funcs = []
    for op in module.body.operations:
        if op.operation.name != "func.func":
            continue
        attrs = op.operation.attributes
        if (
            "sym_visibility" in attrs
            and ir.StringAttr(attrs["sym_visibility"]).value != "public"
        ):
            continue
        if len(op.regions[0].blocks) == 0:  # a declaration
            continue
        funcs.append(op)
    return funcs


def _function_spec(func: ir.Operation) -> FunctionSpec:
    name = ir.StringAttr(func.attributes["sym_name"]).value
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    inputs = tuple(
        _tensor_spec(t, f"@{name} argument {i}") for i, t in enumerate(ftype.inputs)
    )
    results = tuple(
        _tensor_spec(t, f"@{name} result {i}") for i, t in enumerate(ftype.results)
    )
    return FunctionSpec(name, inputs, results)


def _prepare_for_jit(func: ir.Operation, num_inputs: int) -> None:
    """Adds the C interface and marks every argument read-only."""
    func.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
    readonly = ir.BoolAttr.get(False)
    old = func.attributes["arg_attrs"] if "arg_attrs" in func.attributes else None
    new = []
    for i in range(num_inputs):
        entries = {}
        if old is not None:
            for named in ir.DictAttr(ir.ArrayAttr(old)[i]):
                entries[named.name] = named.attr
        entries["bufferization.writable"] = readonly
        new.append(ir.DictAttr.get(entries))
    func.attributes["arg_attrs"] = ir.ArrayAttr.get(new)


def _to_numpy(value: Any) -> tuple[np.ndarray, bool]:
    """Returns a C-contiguous array viewing ``value`` and whether it was torch."""
    is_torch = type(value).__module__.startswith("torch")
    array = np.asarray(value.detach().cpu().numpy() if is_torch else value)
    if not array.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d 1-d)
        array = array.copy(order="C")
    return array, is_torch


@functools.cache
def _descriptor_type(rank: int, dtype: np.dtype) -> tuple[type, type]:
    """The ctypes structure of a rank-`rank` memref descriptor and the
    element ctype, made once (upstream's `get_ranked_memref_descriptor`
    builds a new class per call: 0.1 ms per argument)."""
    element = as_ctype(dtype)
    if rank == 0:
        return make_zero_d_memref_descriptor(element), element
    return make_nd_memref_descriptor(rank, element), element


def _memref_descriptor(array: np.ndarray) -> ctypes.Structure:
    """The ranked memref descriptor of a numpy array (strides in elements)."""
    structure, element = _descriptor_type(array.ndim, array.dtype)
    descriptor = structure()
    descriptor.allocated = array.ctypes.data
    descriptor.aligned = ctypes.cast(array.ctypes.data, ctypes.POINTER(element))
    descriptor.offset = 0
    if array.ndim:
        dims = ctypes.c_longlong * array.ndim
        descriptor.shape = dims(*array.shape)
        descriptor.strides = dims(*[s // array.itemsize for s in array.strides])
    return descriptor


class AllocationTracker:
    """The heap allocator of JIT-compiled code: the code's `malloc` and `free`
    are replaced by wrappers around the C library's that record the bytes live
    and the peak (`reset_peak()` starts a new measurement) and, with
    ``reuse=True``, keep freed buffers for the next allocation of the same
    size (or up to `SLACK` smaller) instead of returning them.

    Why reuse: the coefficient tensors of a large batch are tens of MB each;
    glibc serves buffers above 32 MiB by `mmap` and unmaps them on `free`, so
    every call page-faults (and the kernel zeroes) all of its memory again —
    on the paper MLP at B = 128 that was a third of the call's time. The code
    of an operator allocates the same sizes on every call, so after the
    first call every allocation is served from the cache; what it holds
    (`reserved`) is the peak working memory of one call. `release()` frees it.
    """

    _MALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t)
    _FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

    def __init__(self, reuse: bool = False) -> None:
        self.reuse = reuse
        self.live = 0
        self.peak = 0
        self.allocations = 0
        #: Allocations served from the cache (``reuse=True``).
        self.reused = 0
        #: Bytes of the freed buffers kept for reuse.
        self.cached = 0
        self._sizes: dict[int, int] = {}
        self._free_lists: dict[int, list[int]] = {}
        #: The sizes with cached buffers, ascending.
        self._cached_sizes: list[int] = []
        self._lock = threading.Lock()
        libc = ctypes.CDLL(None)
        self._malloc = libc.malloc
        self._malloc.restype = ctypes.c_void_p
        self._malloc.argtypes = [ctypes.c_size_t]
        self._free = libc.free
        self._free.argtypes = [ctypes.c_void_p]
        self._callbacks = (self._MALLOC(self._on_malloc), self._FREE(self._on_free))

    @property
    def reserved(self) -> int:
        """Bytes held: live buffers plus the cached free ones."""
        return self.live + self.cached

    def install(self, engine: Any) -> None:
        """Routes `engine`'s `malloc`/`free` through this tracker (before its
        first call)."""
        for name, callback in zip(["malloc", "free"], self._callbacks):
            engine.raw_register_runtime(name, ctypes.cast(callback, ctypes.c_void_p))

    def reset_peak(self) -> None:
        self.peak = self.live

    def release(self) -> None:
        """Returns the cached free buffers to the C library."""
        with self._lock:
            lists, self._free_lists, self.cached = self._free_lists, {}, 0
            self._cached_sizes = []
        for pointers in lists.values():
            for pointer in pointers:
                self._free(pointer)

    def __del__(self) -> None:
        if getattr(self, "_free_lists", None):
            self.release()

    #: A cached buffer serves a request up to this fraction smaller than it
    #: (parts of a batch differ by one datum: their buffers by a few %).
    SLACK = 1 / 8

    def _take_cached(self, size: int) -> tuple[int, int] | None:
        """The smallest cached buffer of at least `size` bytes (and at most
        `SLACK` more), removed from the cache: (pointer, its size)."""
        i = bisect.bisect_left(self._cached_sizes, size)
        if i == len(self._cached_sizes):
            return None
        block = self._cached_sizes[i]
        if block > size + int(size * self.SLACK):
            return None
        pointers = self._free_lists[block]
        pointer = pointers.pop()
        if not pointers:
            del self._free_lists[block]
            del self._cached_sizes[i]
        self.cached -= block
        self.reused += 1
        return pointer, block

    def _on_malloc(self, size: int) -> int | None:
        pointer = None
        with self._lock:
            taken = self._take_cached(size) if self.reuse else None
        if taken is not None:
            pointer, size = taken
        else:
            pointer = self._malloc(size)
        if pointer:
            with self._lock:
                self._sizes[pointer] = size
                self.live += size
                self.allocations += 1
                self.peak = max(self.peak, self.live)
        return pointer

    def _on_free(self, pointer: int | None) -> None:
        if not pointer:
            return
        with self._lock:
            size = self._sizes.pop(pointer, None)
            if size is not None:
                self.live -= size
                if self.reuse:
                    if size not in self._free_lists:
                        self._free_lists[size] = []
                        bisect.insort(self._cached_sizes, size)
                    self._free_lists[size].append(pointer)
                    self.cached += size
                    return
        self._free(pointer)


_SHARED_POOL: AllocationTracker | None = None
_SHARED_POOL_LOCK = threading.Lock()


def shared_buffer_pool() -> AllocationTracker:
    """The buffer cache every `JitModule` with `reuse_buffers` (and without
    `track_allocations`) allocates from: one per process, so that the code
    compiled for the parts of a batch (sizes differing by one datum) and
    other operators share their cached buffers."""
    global _SHARED_POOL
    with _SHARED_POOL_LOCK:
        if _SHARED_POOL is None:
            _SHARED_POOL = AllocationTracker(reuse=True)
        return _SHARED_POOL


class JitModule:
    """A module lowered to LLVM and JIT-compiled; its functions are attributes.

    Args:
      module: MLIR text or an ``ir.Module`` (copied; the caller's module is
        left as it is).
      pipeline: the textual pass pipeline that lowers it to the LLVM dialect.
      opt_level: LLVM optimization level of the JIT.
      context: the context to parse text in (a new one by default).
      track_allocations: count the heap memory the compiled code allocates
        (`self.allocations`, an `AllocationTracker`): live and peak bytes,
        exactly, independent of the allocator's caching.
      reuse_buffers: keep the buffers the code frees for its next
        allocations (`AllocationTracker(reuse=True)`): from the second call
        on, a call allocates no new memory and page-faults none. The cache
        is the process's `shared_buffer_pool()` (a module's own one with
        `track_allocations`); it holds the peak working memory of the calls
        so far (`self.allocations.reserved`; `release_buffers()` frees it).
    """

    def __init__(
        self,
        module: str | ir.Module,
        *,
        pipeline: str = DEFAULT_PIPELINE,
        opt_level: int = 2,
        context: ir.Context | None = None,
        track_allocations: bool = False,
        reuse_buffers: bool = True,
    ):
        self.context = context or (
            module.context if isinstance(module, ir.Module) else ir.Context()
        )
        with self.context:
            # Lower a copy: nothing the caller passed in is modified. Its
            # locations are kept, so that a failure names the model's op.
            text = (
                module
                if isinstance(module, str)
                else module.operation.get_asm(
                    enable_debug_info=True, large_elements_limit=None
                )
            )
            module = ir.Module.parse(text)
            funcs = _public_functions(module)
            if not funcs:
                raise ValueError("the module has no public function with a body")
            self.functions: dict[str, FunctionSpec] = {}
            for func in funcs:
                spec = _function_spec(func)
                _prepare_for_jit(func, len(spec.inputs))
                self.functions[spec.name] = spec
            self.pipeline = pipeline
            run_pipeline(module, pipeline, stage="lowering to LLVM")
            self.module = module
            declared = {
                ir.StringAttr(op.attributes["sym_name"]).value
                for op in module.body.operations
                if "sym_name" in op.attributes
            }
            self.engine = ExecutionEngine(
                module,
                opt_level=opt_level,
                shared_libs=[runtime_library("mlir_c_runner_utils")],
            )
            # Matrix products call BLAS (taylor-gemm-to-blas).
            if declared & set(blas.SYMBOLS):
                for name, address in blas.symbol_addresses().items():
                    self.engine.raw_register_runtime(name, address)
        self.allocations: AllocationTracker | None = None
        if track_allocations:
            self.allocations = AllocationTracker(reuse=reuse_buffers)
        elif reuse_buffers:
            self.allocations = shared_buffer_pool()
        if self.allocations is not None:
            self.allocations.install(self.engine)

    def release_buffers(self) -> None:
        """Frees the buffers kept for reuse (`reuse_buffers`; those of the
        shared pool: of every module using it); the next call allocates
        anew."""
        if self.allocations is not None:
            self.allocations.release()

    def __getattr__(self, name: str):
        functions = self.__dict__.get("functions", {})
        if name in functions:
            return lambda *args: self.call(name, *args)
        raise AttributeError(name)

    def call(
        self,
        name: str,
        *args: Any,
        result_shapes: list[tuple[int, ...]] | None = None,
        outputs: list[Any] | None = None,
    ) -> list[Any]:
        """Runs function ``name`` on numpy arrays or torch tensors.

        Returns the results as a list of new arrays (torch tensors if any
        argument was a torch tensor). A function with dynamically shaped
        results needs their shapes, ``result_shapes`` (one tuple per result).
        ``outputs`` are C-contiguous arrays or tensors to write the results
        into instead (of the result shapes and dtypes).
        """
        if name not in self.functions:
            raise KeyError(f"no function @{name}; have {sorted(self.functions)}")
        spec = self.functions[name]
        if len(args) != len(spec.inputs):
            raise ValueError(
                f"@{name} expects {len(spec.inputs)} arguments, got {len(args)}"
            )
        arrays, any_torch = [], False
        for i, (arg, want) in enumerate(zip(args, spec.inputs)):
            array, is_torch = _to_numpy(arg)
            any_torch |= is_torch
            want.check(array, f"@{name} argument {i}")
            arrays.append(array)
        if outputs is None:
            outputs = [
                self._allocate(name, i, r, result_shapes)
                for i, r in enumerate(spec.results)
            ]
            if any_torch:
                import torch

                outputs = [torch.from_numpy(out) for out in outputs]
        out_arrays = []
        for i, (out, want) in enumerate(zip(outputs, spec.results)):
            contiguous = (
                out.is_contiguous()
                if type(out).__module__.startswith("torch")
                else np.asarray(out).flags.c_contiguous
            )
            if not contiguous:
                raise ValueError(f"@{name} result {i}: the output must be C-contiguous")
            array, _ = _to_numpy(out)
            if not array.flags.writeable:
                raise ValueError(f"@{name} result {i}: the output is read-only")
            want.check(array, f"@{name} result {i}")
            if result_shapes is not None and array.shape != tuple(result_shapes[i]):
                raise ValueError(
                    f"@{name} result {i}: expected shape {tuple(result_shapes[i])}, "
                    f"got {array.shape}"
                )
            out_arrays.append(array)
        descriptors = [
            ctypes.pointer(ctypes.pointer(_memref_descriptor(a)))
            for a in arrays + out_arrays
        ]
        self.engine.invoke(name, *descriptors)
        return list(outputs)

    @staticmethod
    def _allocate(
        name: str,
        index: int,
        spec: TensorSpec,
        result_shapes: list[tuple[int, ...]] | None,
    ) -> np.ndarray:
        if result_shapes is not None:
            shape = tuple(result_shapes[index])
        elif any(d is None for d in spec.shape):
            raise ValueError(
                f"@{name} result {index} has a dynamic shape {spec}: "
                "pass result_shapes"
            )
        else:
            shape = spec.shape
        return np.empty(shape, dtype=spec.dtype)


__all__ = [
    "DEFAULT_PIPELINE",
    "AllocationTracker",
    "FunctionSpec",
    "JitModule",
    "TensorSpec",
    "run_pipeline",
    "shared_buffer_pool",
]
