"""Differentiable compiled programs: one function of an MLIR module (linalg on
tensors), JIT-compiled on first use, whose vector-Jacobian products are new
programs built by the ``taylor-reverse`` transform, on demand and cached.

`ProgramFunction` makes a program a node of ``torch.autograd``: its backward
runs the program's vjp program, itself through `ProgramFunction`, so that a
backward with ``create_graph=True`` records a differentiable graph and every
further derivative is reverse mode over reverse mode of the compiled code,
never a fallback to PyTorch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import ir
from . import _pipelines
from .errors import CompilationError, run_pipeline
from .jit import FunctionSpec, JitModule, prepare_module

#: What a program's code runs on: ``"cpu"`` (`JitModule`), or ``"cuda"``:
#: `taylor_mlir.cuda.CudaModule` for CUDA tensors, and the same GPU-mapped
#: program run on the CPU (``taylor-cuda-emulated-codegen``) for CPU tensors.
TARGETS = ("cpu", "cuda")


class Executables:
    """The compiled code of one module for a target, each made on first use
    and shared by the programs of the module's functions (the primal and
    adjoint halves of a split)."""

    def __init__(
        self,
        text: str,
        target: str = "cpu",
        jit: JitModule | None = None,
        cuda: Any = None,
    ):
        """``jit``, ``cuda``: code of ``text`` compiled already."""
        if target not in TARGETS:
            raise ValueError(f"target: expected one of {TARGETS}, got {target!r}")
        self.text = text
        self.target = target
        self._jit = jit
        self._cuda = cuda
        self._functions: dict[str, FunctionSpec] | None = None
        self._lock = threading.Lock()

    @property
    def jit(self) -> JitModule:
        """The code run on the CPU (for ``"cuda"``: the GPU-mapped program,
        its kernels run as loops)."""
        with self._lock:
            if self._jit is None:
                pipeline = (
                    _pipelines.Pipeline([_pipelines.codegen("cuda-emulated")])
                    if self.target == "cuda"
                    else _pipelines.default_codegen()
                )
                self._jit = JitModule(self.text, pipeline=pipeline)
            return self._jit

    @property
    def cuda(self):
        """The code run on GPUs (`taylor_mlir.cuda.CudaModule`)."""
        if self.target != "cuda":
            raise ValueError("this program was compiled for the CPU")
        with self._lock:
            if self._cuda is None:
                from .cuda import CudaModule

                self._cuda = CudaModule(self.text)
            return self._cuda

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        """The specs of the public functions (from whichever code is
        compiled; read from the text when none is yet)."""
        for code in (self._jit, self._cuda):
            if code is not None:
                return code.functions
        with self._lock:
            if self._functions is None:
                self._functions = prepare_module(self.text)[2]
            return self._functions

    def for_arguments(self, args: Sequence[Any]):
        """The code that runs on ``args``: the GPU code when one is a CUDA
        tensor, else the CPU code."""
        if any(
            getattr(getattr(a, "device", None), "type", None) == "cuda" for a in args
        ):
            return self.cuda
        return self.jit


def reverse_pipeline(
    function: str,
    vjp_function: str,
    arguments: Sequence[int],
    results: Sequence[int],
) -> _pipelines.Step:
    """The `taylor-vjp` step (registered in C++: ``taylor-reverse``, then
    cleanup) that adds ``@vjp_function``."""
    return _pipelines.step(
        "taylor-vjp",
        function=function,
        vjp_function=vjp_function,
        arguments=list(arguments),
        results=list(results),
    )


def keep_only(module: ir.Module, name: str) -> None:
    """Erases every function of ``module`` but ``@name``."""
    for op in list(module.body.operations):
        if op.operation.name != "func.func":
            continue
        if ir.StringAttr(op.attributes["sym_name"]).value != name:
            op.operation.erase()


def vjp_text(
    text: str,
    function: str,
    arguments: Sequence[int],
    results: Sequence[int],
    vjp_function: str | None = None,
) -> tuple[str, str]:
    """Runs ``taylor-reverse`` on ``@function`` of the module ``text``;
    returns the new module (only the vjp function) and its name."""
    name = vjp_function or f"{function}_vjp"
    with ir.Context():
        module = ir.Module.parse(text)
        run_pipeline(
            module,
            reverse_pipeline(function, name, arguments, results),
            stage="taylor-reverse",
        )
        keep_only(module, name)
        text = module.operation.get_asm(
            enable_debug_info=True, large_elements_limit=None
        )
        return text, name


def num_inputs(text: str, function: str) -> int:
    """The number of arguments of ``@function`` in the module ``text``."""
    with ir.Context():
        module = ir.Module.parse(text)
        for op in module.body.operations:
            if (
                op.operation.name == "func.func"
                and ir.StringAttr(op.attributes["sym_name"]).value == function
            ):
                attr = ir.TypeAttr(op.attributes["function_type"]).value
                return len(ir.FunctionType(attr).inputs)
    raise KeyError(function)


def split_text(vjp: Program, num_primal_results: int) -> tuple[str, str, str]:
    """Runs ``taylor-split-adjoint`` on the vjp program ``vjp`` (its last
    arguments are the cotangents of its last results but the first
    ``num_primal_results``); returns the module with the primal half and the
    adjoint half, and their names."""
    # The cotangents trail the arguments of the differentiated program.
    cotangents = num_inputs(vjp.text, vjp.function) - vjp.num_arguments
    primal, adjoint = f"{vjp.function}_primal", f"{vjp.function}_adjoint"
    with ir.Context():
        module = ir.Module.parse(vjp.text)
        run_pipeline(
            module,
            _pipelines.step(
                "taylor-split-vjp",
                function=vjp.function,
                cotangents=cotangents,
                primal_results=num_primal_results,
                primal_function=primal,
                adjoint_function=adjoint,
            ),
            stage="taylor-split-adjoint",
        )
        for op in list(module.body.operations):
            if op.operation.name == "func.func":
                name = ir.StringAttr(op.attributes["sym_name"]).value
                if name not in (primal, adjoint):
                    op.operation.erase()
        text = module.operation.get_asm(
            enable_debug_info=True, large_elements_limit=None
        )
    return text, primal, adjoint


class Program:
    """``@function`` of the module ``text``, compiled on first call.

    Results are returned in the order of the function's results. ``vjp``
    gives the program of ``(args, cotangents) -> (results, gradients)``.
    Thread-safe; compiled code and derived programs are cached.
    """

    def __init__(
        self,
        text: str,
        function: str,
        *,
        depth: int = 0,
        jit: JitModule | None = None,
        map_error: Callable[[CompilationError], Exception] | None = None,
        target: str = "cpu",
        executables: Executables | None = None,
    ):
        self.text = text
        self.function = function
        #: How many reverse transforms produced this program.
        self.depth = depth
        #: Compiled code (``jit``: an existing compilation of ``text``;
        #: ``executables``: the code of ``text`` shared with other programs).
        self.executables = executables or Executables(text, target, jit)
        self.target = self.executables.target
        #: Turns a failure of a transform into the error the user sees (e.g.
        #: an `UnsupportedOperationError` naming the model's source line).
        self._map_error = map_error
        self._vjps: dict[tuple, Program] = {}
        self._splits: dict[int, tuple[Program, Program]] = {}
        #: For a vjp program: how many of its arguments are not cotangents.
        self.num_arguments: int | None = None
        self._lock = threading.Lock()
        self._derive_lock = threading.Lock()

    @property
    def jit(self) -> JitModule:
        return self.executables.jit

    @property
    def num_results(self) -> int:
        return len(self.executables.functions[self.function].results)

    def __call__(self, *args: Any, result_shapes=None) -> list[Any]:
        code = self.executables.for_arguments(args)
        return code.call(self.function, *args, result_shapes=result_shapes)

    def vjp(self, arguments: Sequence[int], results: Sequence[int]) -> Program:
        """The program ``(*args, *cotangents of results) -> (*results,
        *gradients of arguments)``."""
        key = (tuple(arguments), tuple(results))
        # One thread derives, the others (parts of a batch) wait for it.
        with self._derive_lock:
            return self._derive_vjp(key)

    def _derive_vjp(self, key: tuple) -> Program:
        with self._lock:
            program = self._vjps.get(key)
        if program is None:
            name = f"{self.function}_vjp{len(self._vjps)}"
            try:
                text, name = vjp_text(self.text, self.function, *key, name)
            except CompilationError as error:
                if self._map_error is None:
                    raise
                raise self._map_error(error) from None
            program = Program(
                text,
                name,
                depth=self.depth + 1,
                map_error=self._map_error,
                target=self.target,
            )
            program.num_arguments = num_inputs(self.text, self.function)
            with self._lock:
                program = self._vjps.setdefault(key, program)
        return program

    def split(self, num_primal_results: int) -> tuple[Program, Program]:
        """For a vjp program: its primal half ``(*args) -> (*results,
        *tape)`` and its adjoint half ``(*args, *tape, *cotangents) ->
        (*gradients)`` (``taylor-split-adjoint``), compiled together."""
        with self._derive_lock:
            return self._derive_split(num_primal_results)

    def _derive_split(self, num_primal_results: int) -> tuple[Program, Program]:
        with self._lock:
            pair = self._splits.get(num_primal_results)
        if pair is None:
            text, primal, adjoint = split_text(self, num_primal_results)
            code = Executables(text, self.target)
            pair = (
                Program(text, primal, depth=self.depth, executables=code),
                Program(text, adjoint, depth=self.depth, executables=code),
            )
            with self._lock:
                pair = self._splits.setdefault(num_primal_results, pair)
        return pair

    def result_shapes(self) -> list[tuple[int, ...]] | None:
        """The static shapes of the results, or None if one is dynamic."""
        shapes = [r.shape for r in self.executables.functions[self.function].results]
        if any(d is None for shape in shapes for d in shape):
            return None
        return [tuple(shape) for shape in shapes]


def _is_float(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _apply_program(program: Program, shapes, args) -> tuple:
    """Runs ``program`` on tensors (detached, contiguous)."""
    arrays = [a.detach().contiguous() if _is_float(a) else a for a in args]
    return tuple(program(*arrays, result_shapes=shapes))


def _make_function():
    import torch

    class ProgramFunction(torch.autograd.Function):
        """``ProgramFunction.apply(program, result_shapes, *args)``: the
        program's results, differentiable with respect to every
        floating-point argument (to any order)."""

        @staticmethod
        def forward(ctx, program, shapes, *args):
            outputs = _apply_program(program, shapes, args)
            ctx.program = program
            ctx.shapes = shapes
            ctx.save_for_backward(*args)
            ctx.set_materialize_grads(False)
            return outputs

        @staticmethod
        def backward(ctx, *grads):
            args = ctx.saved_tensors
            wrt = [
                i
                for i, a in enumerate(args)
                if ctx.needs_input_grad[2 + i] and _is_float(a)
            ]
            results = [i for i, g in enumerate(grads) if g is not None]
            none = (None,) * (2 + len(args))
            if not wrt or not results:
                return none
            vjp = ctx.program.vjp(wrt, results)
            shapes = [tuple(s) for s in ctx.shapes] + [
                tuple(args[i].shape) for i in wrt
            ]
            dtype = next(a.dtype for a in args if _is_float(a))
            cotangents = [grads[i].to(dtype) for i in results]
            outputs = ProgramFunction.apply(vjp, shapes, *args, *cotangents)
            gradients = outputs[len(ctx.shapes) :]
            out = list(none)
            for i, g in zip(wrt, gradients):
                out[2 + i] = g
            return tuple(out)

    return ProgramFunction


_FUNCTION = None


def apply(program: Program, shapes: Sequence[tuple[int, ...]], *args) -> tuple:
    """The results of ``program`` on ``args`` (torch tensors), recorded for
    autograd when grad mode is on and an argument requires grad."""
    import torch

    global _FUNCTION
    if torch.is_grad_enabled() and any(_is_float(a) and a.requires_grad for a in args):
        if _FUNCTION is None:
            _FUNCTION = _make_function()
        return _FUNCTION.apply(program, [tuple(s) for s in shapes], *args)
    return _apply_program(program, shapes, args)


__all__ = [
    "Executables",
    "Program",
    "apply",
    "keep_only",
    "reverse_pipeline",
    "vjp_text",
]
