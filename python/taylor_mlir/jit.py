"""Compile MLIR modules with the ``taylor-cpu-codegen`` pipeline and run them.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _native, _pipelines, ir
from ._native import BufferPool
from .errors import run_pipeline
from .execution_engine import ExecutionEngine
from .tools import runtime_library

#: The registered pipeline that lowers to LLVM (the host's codegen).
DEFAULT_PIPELINE = _pipelines.default_codegen()

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


def prepare_module(
    module: str | ir.Module, context: ir.Context | None = None
) -> tuple[ir.Context, ir.Module, dict[str, FunctionSpec]]:
    """A copy of ``module`` (text, or a module left as it is) made ready for
    codegen: every public function with a body gets the C interface and
    read-only arguments; returns the context, the copy and the functions'
    specs (before lowering). Locations are kept, so that a failure names
    the model's op."""
    context = context or (
        module.context if isinstance(module, ir.Module) else ir.Context()
    )
    with context:
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
        functions: dict[str, FunctionSpec] = {}
        for func in funcs:
            spec = _function_spec(func)
            _prepare_for_jit(func, len(spec.inputs))
            functions[spec.name] = spec
    return context, module, functions


def link(
    module: ir.Module, functions: Iterable[str], opt_level: int = 2
) -> tuple[ExecutionEngine, dict[str, int]]:
    """An ``ExecutionEngine`` of ``module`` (lowered to LLVM) linked against
    the native runtime (and MLIR's ``mlir_c_runner_utils``), and the address
    of the packed ``_mlir_ciface_`` wrapper of each of ``functions`` (what the
    runtime calls). Raises RuntimeError if one did not link."""
    _native.ensure_loaded()
    engine = ExecutionEngine(
        module,
        opt_level=opt_level,
        shared_libs=[runtime_library("mlir_c_runner_utils"), _native.LIBRARY],
    )
    addresses = {name: engine.raw_lookup("_mlir_ciface_" + name) for name in functions}
    missing = [name for name, address in addresses.items() if not address]
    if missing:
        raise RuntimeError(
            f"compiled functions {missing} did not link against the native runtime"
        )
    return engine, addresses


def call_spec(
    functions: dict[str, FunctionSpec], name: str, args: Sequence[Any]
) -> FunctionSpec:
    """The spec of function ``name`` called with ``args``; raises KeyError
    for an unknown function, ValueError for a wrong argument count."""
    if name not in functions:
        raise KeyError(f"no function @{name}; have {sorted(functions)}")
    spec = functions[name]
    if len(args) != len(spec.inputs):
        raise ValueError(
            f"@{name} expects {len(spec.inputs)} arguments, got {len(args)}"
        )
    return spec


def result_shape(
    name: str,
    index: int,
    spec: TensorSpec,
    result_shapes: Sequence[tuple[int, ...]] | None,
) -> tuple[int, ...]:
    """The shape of result ``index`` of ``@name``: ``result_shapes[index]``
    if given, else the static shape (ValueError if it is dynamic)."""
    if result_shapes is not None:
        return tuple(result_shapes[index])
    if any(d is None for d in spec.shape):
        raise ValueError(
            f"@{name} result {index} has a dynamic shape {spec}: pass result_shapes"
        )
    return spec.shape


def _to_array(value: Any) -> tuple[np.ndarray, bool]:
    """``value`` as a C-contiguous numpy array (a view of a contiguous CPU
    tensor), and whether it was torch."""
    is_torch = type(value).__module__.startswith("torch")
    array = _as_numpy(value)
    if not array.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d 1-d)
        array = array.copy(order="C")
    return array, is_torch


def _as_numpy(value: Any) -> np.ndarray:
    """A numpy view of a CPU array or tensor."""
    if type(value).__module__.startswith("torch"):
        return value.detach().numpy()
    return np.asarray(value)


def shared_buffer_pool() -> BufferPool:
    """The buffer pool every `JitModule` with `reuse_buffers` (and without
    `track_allocations`) allocates from: one per process, so that the code
    compiled for the parts of a batch (sizes differing by one datum) and
    other operators share their cached buffers."""
    return _native.shared_pool()


class JitModule:
    """A module lowered to LLVM and JIT-compiled; its functions are attributes.

    Args:
      module: MLIR text or an ``ir.Module`` (copied; the caller's module is
        left as it is).
      pipeline: the pass pipeline that lowers it to the LLVM dialect (a
        `_pipelines.Pipeline` of registered pipelines, or pipeline text).
      opt_level: LLVM optimization level of the JIT.
      context: the context to parse text in (a new one by default).
      track_allocations: count the heap memory the compiled code allocates
        in a pool of its own (`self.allocations`, a `BufferPool`): live and
        peak bytes, exactly, independent of the pool's caching.
      reuse_buffers: keep the buffers the code frees for its next
        allocations (`BufferPool(reuse=True)`): from the second call
        on, a call allocates no new memory and page-faults none. The cache
        is the process's `shared_buffer_pool()` (a module's own one with
        `track_allocations`); it holds the peak working memory of the calls
        so far (`self.allocations.reserved`; `release_buffers()` frees it).
    """

    def __init__(
        self,
        module: str | ir.Module,
        *,
        pipeline: _pipelines.Pipeline | str = DEFAULT_PIPELINE,
        opt_level: int = 2,
        context: ir.Context | None = None,
        track_allocations: bool = False,
        reuse_buffers: bool = True,
    ):
        self.context, module, self.functions = prepare_module(module, context)
        with self.context:
            self.pipeline = pipeline
            run_pipeline(module, pipeline, stage="lowering to LLVM")
            self.module = module
            # Allocations, matrix products: the native runtime.
            self.engine, self.addresses = link(module, self.functions, opt_level)
        self.allocations: BufferPool | None = None
        if track_allocations:
            self.allocations = BufferPool(reuse=reuse_buffers)
        elif reuse_buffers:
            self.allocations = shared_buffer_pool()
        #: The pool calls allocate from.
        self.pool = self.allocations or BufferPool(reuse=False)

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
        spec = call_spec(self.functions, name, args)
        arrays, any_torch = [], False
        for i, (arg, want) in enumerate(zip(args, spec.inputs)):
            array, is_torch = _to_array(arg)
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
            array = _as_numpy(out)
            if not array.flags.writeable:
                raise ValueError(f"@{name} result {i}: the output is read-only")
            want.check(array, f"@{name} result {i}")
            if result_shapes is not None and array.shape != tuple(result_shapes[i]):
                raise ValueError(
                    f"@{name} result {i}: expected shape {tuple(result_shapes[i])}, "
                    f"got {array.shape}"
                )
            out_arrays.append(array)
        self.run([(name, arrays + out_arrays)])
        return list(outputs)

    def job(self, name: str, arrays: list[Any]) -> tuple[int, list[Any]]:
        """A job of `run`: function ``name`` on ``arrays`` (its inputs, then
        its outputs: C-contiguous numpy arrays or CPU torch tensors of the
        function's shapes and dtypes; not checked)."""
        return self.addresses[name], arrays

    def run(self, calls: list[tuple[str, list[Any]]]) -> None:
        """Runs the ``(name, arrays)`` calls (see `job`) concurrently on the
        runtime's native threads, without the GIL."""
        _native.run([self.job(name, arrays) for name, arrays in calls], self.pool)

    @staticmethod
    def _allocate(
        name: str,
        index: int,
        spec: TensorSpec,
        result_shapes: list[tuple[int, ...]] | None,
    ) -> np.ndarray:
        return np.empty(result_shape(name, index, spec, result_shapes), spec.dtype)


__all__ = [
    "DEFAULT_PIPELINE",
    "BufferPool",
    "FunctionSpec",
    "JitModule",
    "TensorSpec",
    "run_pipeline",
    "shared_buffer_pool",
]
