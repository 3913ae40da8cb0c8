"""Function transforms built by taylor-mlir's own IR transforms:
``jvp``, ``vjp``, ``grad``, ``jacfwd``, ``jacrev``, ``hessian`` and ``hvp``,
with the signatures of their ``torch.func`` namesakes.

Example::

    import torch
    from taylor_mlir import func as tf

    def f(x):
        return torch.tanh(x).pow(3).sum()

    x, v = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    g = tf.grad(f)(x)                        # taylor-reverse
    H = tf.hessian(f)(x)                     # taylor-jet over taylor-reverse
    y, Hv = tf.hvp(f, (x,), (v,))            # jvp of grad: (∇f(x), H v)
    gg = tf.grad(lambda x: tf.grad(f)(x).sum())   # not supported: see below

How it works. The function is exported (``torch.export``) and imported by
torch-mlir as linalg on tensors, once per input shapes and dtypes; the
transforms are then applied to the IR, innermost first, each producing a new
function that the next one transforms:

- ``grad`` / ``vjp``: ``taylor-reverse`` (vector-Jacobian products);
- ``jvp``: ``taylor-jet`` at order 1 (one pass per differentiated argument,
  whose primal parts CSE merges), then ``taylor-lower``;
- ``jacfwd``: ``taylor-jet`` at order 1 with one direction per input element
  (identity seeds); ``jacrev``: one ``taylor-reverse`` product per output
  element (unrolled, at most `MAX_JACREV_ROWS` rows);
- ``hessian(f) = jacfwd(jacrev(f))``, ``hvp(f, p, t) = jvp(grad(f), p, t)``.

Transforms compose (``grad(grad(f))``, ``jacfwd(jacrev(f))``,
``hvp(grad(f), ...)``), and the result is JIT-compiled and cached per input
shapes and dtypes. Since every level is a separate function of explicit
arguments, the derivatives of different levels are different SSA values:
there is no perturbation confusion to guard against.

What the function may read: its arguments; parameters and buffers of
modules it refers to (closure or globals; read at every call); tensors in
its closure (read at every call). All of these except the arguments are
constants of the derivatives. Tensors in its globals are compiled in as
constants at the first call. Calling a transformed function *inside*
another function that is then transformed (a Python-level nesting such as
``grad(lambda x: x * grad(g)(x))``) is not supported: compose the
transforms instead.
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.fx.proxy import _register_stack_trace_anchor
from torch.nn.utils.stateless import _reparametrize_module

from . import ir
from ._export import as_module, named_tensors
from ._artifact import _as_unsupported, _unsupported
from .errors import CompilationError, UnsupportedOperationError, run_pipeline
from .jit import JitModule
from .torch_import import TorchImportError, import_exported_program

#: Most output elements ``jacrev`` differentiates (one reverse pass each).
MAX_JACREV_ROWS = 256

_CLEANUP = "inline, canonicalize, cse, symbol-dce"


# -- transforms of a function in a module ------------------------------------


@dataclass(frozen=True)
class _Grad:
    argnums: tuple[int, ...]


@dataclass(frozen=True)
class _JacFwd:
    argnum: int


@dataclass(frozen=True)
class _JacRev:
    argnum: int


@dataclass(frozen=True)
class _Jvp:
    """Call-time: ``(args, tangents) -> (value, J·tangents)``."""


@dataclass(frozen=True)
class _Vjp:
    """Call-time: ``(args, cotangents) -> (values, gradients)``."""


@dataclass
class _Signature:
    """A function of the module: its name, its argument and result types
    (MLIR type strings), how many leading arguments are the user's (the
    others, trailing, are the lifted parameters and closure tensors)."""

    name: str
    inputs: list[str]
    results: list[str]
    num_user: int


def _tensor_shape(type_str: str) -> tuple[list[int], str]:
    """``tensor<4x3xf64>`` -> ``([4, 3], "f64")``."""
    body = type_str[len("tensor<") : -1]
    *dims, element = body.split("x")
    return [int(d) for d in dims], element


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _type(shape: Sequence[int], element: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


class _Builder:
    """Writes the body of a wrapper function in MLIR text."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._next = 0

    def fresh(self) -> str:
        self._next += 1
        return f"%v{self._next}"

    def op(self, text: str) -> str:
        name = self.fresh()
        self.lines.append(f"    {name} = {text}")
        return name

    def to_1d(self, value: str, shape: list[int], element: str) -> str:
        n = _numel(shape)
        if len(shape) == 1:
            return value
        if not shape:
            return self.op(
                f"tensor.expand_shape {value} [] output_shape [1] : "
                f"{_type(shape, element)} into {_type([1], element)}"
            )
        groups = "[[" + ", ".join(map(str, range(len(shape)))) + "]]"
        return self.op(
            f"tensor.collapse_shape {value} {groups} : "
            f"{_type(shape, element)} into {_type([n], element)}"
        )

    def from_1d(self, value: str, shape: list[int], element: str) -> str:
        n = _numel(shape)
        if len(shape) == 1:
            return value
        if not shape:
            return self.op(
                f"tensor.collapse_shape {value} [] : "
                f"{_type([1], element)} into {_type(shape, element)}"
            )
        groups = "[[" + ", ".join(map(str, range(len(shape)))) + "]]"
        dims = ", ".join(map(str, shape))
        return self.op(
            f"tensor.expand_shape {value} {groups} output_shape [{dims}] : "
            f"{_type([n], element)} into {_type(shape, element)}"
        )

    def reshape(self, value: str, old: list[int], new: list[int], element: str):
        if old == new:
            return value
        return self.from_1d(self.to_1d(value, old, element), new, element)

    def call(self, callee: _Signature, args: list[str]) -> list[str]:
        name = self.fresh()
        count = len(callee.results)
        self.lines.append(
            f"    {name}:{count} = func.call @{callee.name}({', '.join(args)}) : "
            f"({', '.join(callee.inputs)}) -> ({', '.join(callee.results)})"
        )
        return [f"{name}#{i}" for i in range(count)]

    def function(self, name: str, inputs: list[str], results: list[tuple[str, str]]):
        args = ", ".join(f"%a{i}: {t}" for i, t in enumerate(inputs))
        values = ", ".join(v for v, _ in results)
        types_ = ", ".join(t for _, t in results)
        return (
            f"  func.func @{name}({args}) -> ({types_}) {{\n"
            + "\n".join(self.lines)
            + f"\n    return {values} : {types_}\n  }}\n"
        )


class _Module:
    """The module a chain of transforms is applied to (MLIR text), with the
    FX nodes its ops came from (to name the aten op and source line of a
    failure)."""

    def __init__(self, text: str, nodes: dict | None = None):
        self.text = text
        self.nodes = dict(nodes or {})
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def run(self, pipeline: str, stage: str) -> None:
        with ir.Context():
            module = ir.Module.parse(self.text)
            try:
                run_pipeline(module, f"builtin.module({pipeline})", stage=stage)
            except UnsupportedOperationError:
                raise
            except CompilationError as error:
                raise _as_unsupported(error, self.nodes) from None
            self.text = module.operation.get_asm(
                enable_debug_info=True, large_elements_limit=None
            )

    def signature(self, name: str, num_user: int) -> _Signature:
        with ir.Context():
            module = ir.Module.parse(self.text)
            for op in module.body.operations:
                if (
                    op.operation.name == "func.func"
                    and ir.StringAttr(op.attributes["sym_name"]).value == name
                ):
                    ftype = ir.FunctionType(
                        ir.TypeAttr(op.attributes["function_type"]).value
                    )
                    return _Signature(
                        name,
                        [str(t) for t in ftype.inputs],
                        [str(t) for t in ftype.results],
                        num_user,
                    )
        raise KeyError(name)

    def add(self, function_text: str) -> None:
        # The module's closing brace opens the last line that starts with one
        # (location aliases follow it).
        end = self.text.rfind("\n}") + 1
        self.text = self.text[:end] + function_text + self.text[end:]

    def finish(self, keep: str) -> None:
        """Makes every function but ``@keep`` private, inlines and cleans up."""
        with ir.Context():
            module = ir.Module.parse(self.text)
            for op in module.body.operations:
                if op.operation.name != "func.func":
                    continue
                name = ir.StringAttr(op.attributes["sym_name"]).value
                op.attributes["sym_visibility"] = ir.StringAttr.get(
                    "public" if name == keep else "private"
                )
            run_pipeline(module, f"builtin.module({_CLEANUP})", stage="inline")
            self.text = module.operation.get_asm(
                enable_debug_info=True, large_elements_limit=None
            )


def _float(type_str: str) -> bool:
    return type_str.startswith("tensor<") and type_str[-4:-1] in ("f64", "f32")


def _reverse(module: _Module, f: _Signature, arguments, results) -> _Signature:
    name = module.name(f"{f.name}_vjp")
    options = (
        f"function={f.name} vjp-function={name} "
        f"arguments={','.join(map(str, arguments))} "
        f"results={','.join(map(str, results))}"
    )
    module.run(f"taylor-reverse{{{options}}}", "taylor-reverse")
    return module.signature(name, f.num_user)


def _jet(module: _Module, f: _Signature, argument: int, directions: int) -> _Signature:
    name = module.name(f"{f.name}_jet")
    options = (
        f"function={f.name} jet-function={name} order=1 "
        f"directions={directions} argument={argument}"
    )
    module.run(f"taylor-jet{{{options}}}, func.func(taylor-lower)", "taylor-jet")
    return module.signature(name, f.num_user)


def _single_float_result(f: _Signature, what: str) -> tuple[list[int], str]:
    if len(f.results) != 1 or not _float(f.results[0]):
        raise ValueError(
            f"{what}: the function must return one floating-point tensor, it "
            f"returns {len(f.results)} values ({', '.join(f.results) or 'none'})"
        )
    return _tensor_shape(f.results[0])


def _apply_grad(module: _Module, f: _Signature, t: _Grad) -> _Signature:
    shape, element = _single_float_result(f, "grad")
    if _numel(shape) != 1:
        raise ValueError(
            f"grad: the function must return a scalar (one element), it "
            f"returns {f.results[0]}; use jacrev or vjp for vector outputs"
        )
    for i in t.argnums:
        if i >= f.num_user or not _float(f.inputs[i]):
            raise ValueError(
                f"grad: argnums {i} is not a floating-point tensor argument"
            )
    vjp = _reverse(module, f, t.argnums, [0])
    b = _Builder()
    args = [f"%a{i}" for i in range(len(f.inputs))]
    one = b.op(f"arith.constant dense<1.0> : {f.results[0]}")
    results = b.call(vjp, args + [one])[1:]
    name = module.name("grad")
    types_ = [f.inputs[i] for i in t.argnums]
    module.add(b.function(name, f.inputs, list(zip(results, types_))))
    module.finish(name)
    return module.signature(name, f.num_user)


def _eye(b: _Builder, n: int, element: str) -> str:
    empty = b.op(f"tensor.empty() : {_type([n, n], element)}")
    name = b.fresh()
    b.lines.append(
        f"    {name} = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> "
        f'(d0, d1)>], iterator_types = ["parallel", "parallel"]}} outs({empty} '
        f": {_type([n, n], element)}) {{\n"
        f"    ^bb0(%out: {element}):\n"
        f"      %i = linalg.index 0 : index\n"
        f"      %j = linalg.index 1 : index\n"
        f"      %same = arith.cmpi eq, %i, %j : index\n"
        f"      %one = arith.constant 1.0 : {element}\n"
        f"      %zero = arith.constant 0.0 : {element}\n"
        f"      %e = arith.select %same, %one, %zero : {element}\n"
        f"      linalg.yield %e : {element}\n"
        f"    }} -> {_type([n, n], element)}"
    )
    return name


def _transpose_jacobian(
    b: _Builder, rows: str, n: int, m: int, out_shape, in_shape, element
) -> str:
    """``[n, m]`` (per input element, the output) -> ``[*out, *in]``."""
    empty = b.op(f"tensor.empty() : {_type([m, n], element)}")
    transposed = b.op(
        f"linalg.transpose ins({rows} : {_type([n, m], element)}) "
        f"outs({empty} : {_type([m, n], element)}) permutation = [1, 0]"
    )
    return b.reshape(transposed, [m, n], [*out_shape, *in_shape], element)


def _check_argnum(f: _Signature, i: int, what: str) -> list[int]:
    if i >= f.num_user or not _float(f.inputs[i]):
        raise ValueError(f"{what}: argnums {i} is not a floating-point tensor argument")
    return _tensor_shape(f.inputs[i])[0]


def _apply_jacfwd(module: _Module, f: _Signature, t: _JacFwd) -> _Signature:
    out_shape, element = _single_float_result(f, "jacfwd")
    in_shape = _check_argnum(f, t.argnum, "jacfwd")
    n, m = _numel(in_shape), _numel(out_shape)
    jet = _jet(module, f, t.argnum, n)
    b = _Builder()
    eye = _eye(b, n, element)
    seed = b.reshape(eye, [n, n], [n, *in_shape], element)
    args = [f"%a{i}" for i in range(len(f.inputs))]
    args.insert(t.argnum + 1, seed)
    _, first = b.call(jet, args)
    rows = b.reshape(first, [n, *out_shape], [n, m], element)
    jac = _transpose_jacobian(b, rows, n, m, out_shape, in_shape, element)
    name = module.name("jacfwd")
    module.add(
        b.function(name, f.inputs, [(jac, _type([*out_shape, *in_shape], element))])
    )
    module.finish(name)
    return module.signature(name, f.num_user)


def _apply_jacrev(module: _Module, f: _Signature, t: _JacRev) -> _Signature:
    out_shape, element = _single_float_result(f, "jacrev")
    in_shape = _check_argnum(f, t.argnum, "jacrev")
    n, m = _numel(in_shape), _numel(out_shape)
    if m > MAX_JACREV_ROWS:
        raise ValueError(
            f"jacrev: the output has {m} elements, more than MAX_JACREV_ROWS = "
            f"{MAX_JACREV_ROWS} reverse passes; use jacfwd (one forward pass with "
            f"{n} directions)"
        )
    vjp = _reverse(module, f, [t.argnum], [0])
    b = _Builder()
    args = [f"%a{i}" for i in range(len(f.inputs))]
    rows = b.op(f"tensor.empty() : {_type([m, n], element)}")
    for j in range(m):
        values = ", ".join("1.0" if k == j else "0.0" for k in range(m))
        basis = b.op(f"arith.constant dense<[{values}]> : {_type([m], element)}")
        cotangent = b.reshape(basis, [m], out_shape, element)
        gradient = b.call(vjp, args + [cotangent])[1]
        flat = b.to_1d(gradient, in_shape, element)
        rows = b.op(
            f"tensor.insert_slice {flat} into {rows}[{j}, 0] [1, {n}] [1, 1] : "
            f"{_type([n], element)} into {_type([m, n], element)}"
        )
    jac = b.reshape(rows, [m, n], [*out_shape, *in_shape], element)
    name = module.name("jacrev")
    module.add(
        b.function(name, f.inputs, [(jac, _type([*out_shape, *in_shape], element))])
    )
    module.finish(name)
    return module.signature(name, f.num_user)


def _apply_jvp(module: _Module, f: _Signature) -> _Signature:
    """``(user args, tangents of the float user args, lifted) -> (value,
    J·tangents)``."""
    out_shape, element = _single_float_result(f, "jvp")
    active = [i for i in range(f.num_user) if _float(f.inputs[i])]
    if not active:
        raise ValueError("jvp: the function has no floating-point tensor argument")
    user = [f"%a{i}" for i in range(f.num_user)]
    tangent_args = [f"%a{f.num_user + k}" for k in range(len(active))]
    lifted = [
        f"%a{f.num_user + len(active) + k}" for k in range(len(f.inputs) - f.num_user)
    ]
    b = _Builder()
    value, total = None, None
    for k, i in enumerate(active):
        jet = _jet(module, f, i, 1)
        shape = _tensor_shape(f.inputs[i])[0]
        seed = b.reshape(
            tangent_args[k], shape, [1, *shape], _tensor_shape(f.inputs[i])[1]
        )
        args = user + lifted
        args.insert(i + 1, seed)
        primal, first = b.call(jet, args)
        first = b.reshape(first, [1, *out_shape], out_shape, element)
        value = value or primal
        if total is None:
            total = first
        else:
            empty = b.op(f"tensor.empty() : {f.results[0]}")
            total = b.op(
                f"linalg.add ins({total}, {first} : {f.results[0]}, {f.results[0]}) "
                f"outs({empty} : {f.results[0]}) -> {f.results[0]}"
            )
    inputs = (
        f.inputs[: f.num_user] + [f.inputs[i] for i in active] + f.inputs[f.num_user :]
    )
    name = module.name("jvp")
    module.add(b.function(name, inputs, [(value, f.results[0]), (total, f.results[0])]))
    module.finish(name)
    return module.signature(name, f.num_user + len(active))


# -- export, compile, call -----------------------------------------------------


def _closure_tensors(fn: Callable) -> list[tuple[int, torch.Tensor]]:
    """The closure cells of ``fn`` that hold tensors: ``(index, tensor)``."""
    if not inspect.isfunction(fn) or not fn.__closure__:
        return []
    found = []
    for i, cell in enumerate(fn.__closure__):
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, torch.Tensor) and not isinstance(
            value, torch.nn.Parameter
        ):
            found.append((i, value))
    return found


def _rebind(fn: Callable, cells: list[int], values: Sequence[torch.Tensor]):
    """``fn`` with the closure cells ``cells`` holding ``values``."""
    if not cells:
        return fn
    closure = list(fn.__closure__)
    for i, v in zip(cells, values):
        closure[i] = types.CellType(v)
    return types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, tuple(closure)
    )


class _Exported(torch.nn.Module):
    """``forward(*user_args, *closure_tensors, *module_tensors)``."""

    def __init__(self, fn, module, names, cells, num_user):
        super().__init__()
        object.__setattr__(self, "_fn", fn)
        object.__setattr__(self, "_module", module)
        self._names, self._cells, self._num_user = tuple(names), cells, num_user

    def forward(self, *args):
        user = args[: self._num_user]
        closure = args[self._num_user : self._num_user + len(self._cells)]
        tensors = args[self._num_user + len(self._cells) :]
        fn = _rebind(self._fn, self._cells, closure)
        if not self._names:
            return fn(*user)
        with _reparametrize_module(self._module, dict(zip(self._names, tensors))):
            return fn(*user)


class _Inputs:
    """What a function reads besides its arguments, at one call."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.module = as_module(fn)
        self.names = [n for n, _ in named_tensors(self.module)]
        self.cells = [i for i, _ in _closure_tensors(fn)]

    def raw_values(self) -> list[torch.Tensor]:
        closure = [t for _, t in _closure_tensors(self.fn)]
        tensors = [t for _, t in named_tensors(self.module)]
        return closure + tensors

    def values(self) -> list[torch.Tensor]:
        return [t.detach() for t in self.raw_values()]


_LOCK = threading.RLock()
_CACHE: dict[tuple, tuple[JitModule, _Signature]] = {}


def _spec(t: Any) -> tuple:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"expected torch.Tensor arguments, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(f"expected CPU tensors, got one on {t.device}")
    return (tuple(t.shape), t.dtype)


def _export_and_import(module: torch.nn.Module, args: Sequence[torch.Tensor]):
    """The `ImportedModule` of ``module`` on ``args``."""
    with torch.no_grad():
        program = torch.export.export(module, tuple(args))
    try:
        return import_exported_program(program)
    except TorchImportError as error:
        unsupported = _unsupported(error.nodes, str(error), str(error))
        raise (unsupported or error) from None


# -- nested calls ------------------------------------------------------------
#
# A transformed function called inside a function that is itself being
# transformed (``grad(lambda x: x * grad(g)(x))``) cannot run while the outer
# one is traced. The outer function is therefore imported in two steps:
#
# 1. discovery: it runs eagerly once; each nested call runs normally and is
#    recorded (which transformed function, on which argument shapes);
# 2. it is exported "opened": each nested call returns a placeholder that is
#    an extra argument of the exported function, and its arguments (with the
#    tensors its function reads, e.g. the outer function's variables it
#    captures) become extra results.
#
# In MLIR, the nested function's compiled IR is added to the module and
# called on those extra results, its results fed back into the placeholders
# (calls of the opened function with earlier results; nothing depends on a
# placeholder before its call). After inlining, one function remains, which
# the outer transforms differentiate through the nested derivative, with
# respect to every variable both levels see.


@dataclass
class _Nested:
    """One nested call: the compiled module text and signature of the
    called transformed function, and its argument list at the call."""

    text: str
    signature: _Signature
    num_args: int
    nodes: dict


class _TraceState(threading.local):
    def __init__(self) -> None:
        self.stack: list[_Context] = []


_TRACE = _TraceState()


class _Context:
    """The nested calls of one outer import: recorded (``discover``) or fed
    from placeholders (``open``)."""

    def __init__(self, mode: str, calls: list[_Nested] | None = None, feeds=None):
        self.mode = mode
        self.calls: list[_Nested] = calls if calls is not None else []
        self.feeds = feeds or []
        self.arguments: list[list[torch.Tensor]] = []

    def call(self, transformed, call, args, tangents) -> list[torch.Tensor]:
        if isinstance(call, _Vjp):
            raise NotImplementedError(
                "vjp inside a function that is transformed is not supported; use "
                "grad or jvp there"
            )
        inputs = transformed._inputs_of()
        full = [*args, *tangents, *inputs.raw_values()]
        if self.mode == "discover":
            saved, _TRACE.stack = _TRACE.stack, []
            try:
                jit, f, text, nodes = _compiled(
                    transformed._fn, transformed._chain, call, args, inputs
                )
                results = jit.call(f.name, *[t.detach() for t in full])
            finally:
                _TRACE.stack = saved
            self.calls.append(_Nested(text, f, len(full), nodes))
            return results
        index = len(self.arguments)
        if index >= len(self.calls) or self.calls[index].num_args != len(full):
            raise RuntimeError(
                "the function's nested transformed calls differ between its eager "
                "run and its export (data-dependent control flow?)"
            )
        self.arguments.append(full)
        return list(self.feeds[index])


class _Opened(torch.nn.Module):
    """``forward(*args, *lifted, *placeholders) -> (result, *nested
    arguments)``."""

    def __init__(self, exported: _Exported, calls: list[_Nested]):
        super().__init__()
        object.__setattr__(self, "_exported", exported)
        self._calls = calls

    def forward(self, *args):
        counts = [len(c.signature.results) for c in self._calls]
        num_feeds = sum(counts)
        inner, flat = args[: len(args) - num_feeds], args[len(args) - num_feeds :]
        feeds, start = [], 0
        for n in counts:
            feeds.append(flat[start : start + n])
            start += n
        context = _Context("open", self._calls, feeds)
        _TRACE.stack.append(context)
        try:
            result = self._exported(*inner)
        finally:
            _TRACE.stack.pop()
        results = list(result) if isinstance(result, tuple) else [result]
        return (*results, *[t for call in context.arguments for t in call])


def _zeros(type_str: str) -> tuple[list[int], str, str]:
    shape, element = _tensor_shape(type_str)
    return shape, element, f"arith.constant dense<0.0> : {type_str}"


def _stitch(
    opened, calls: list[_Nested], num_inputs: int, num_results: int
) -> tuple[_Module, str]:
    """The module of the opened function (an `ImportedModule`) with the
    nested functions added and ``@stitched(inputs) -> results`` feeding
    them."""
    module = _Module(opened.text, opened.nodes)
    opened = module.signature("main", num_inputs)
    names = []
    for k, call in enumerate(calls):
        module.nodes.update(call.nodes)
        name = f"nested{k}_{call.signature.name}"
        names.append(name)
        with ir.Context():
            target = ir.Module.parse(module.text)
            source = ir.Module.parse(call.text)
            for op in list(source.body.operations):
                if op.operation.name != "func.func":
                    continue
                old = ir.StringAttr(op.attributes["sym_name"]).value
                if old == call.signature.name:
                    op.attributes["sym_name"] = ir.StringAttr.get(name)
                    target.body.append(op)
            module.text = target.operation.get_asm(
                enable_debug_info=True, large_elements_limit=None
            )
    b = _Builder()
    inputs = [f"%a{i}" for i in range(num_inputs)]
    feeds: list[list[str]] = [
        [b.op(_zeros(t)[2]) for t in call.signature.results] for call in calls
    ]
    offset = num_results
    for k, call in enumerate(calls):
        outputs = b.call(opened, inputs + [v for f in feeds for v in f])
        arguments = outputs[offset : offset + call.num_args]
        offset += call.num_args
        callee = _Signature(names[k], call.signature.inputs, call.signature.results, 0)
        feeds[k] = b.call(callee, arguments)
    outputs = b.call(opened, inputs + [v for f in feeds for v in f])
    name = module.name("stitched")
    module.add(
        b.function(
            name,
            opened.inputs[:num_inputs],
            list(zip(outputs[:num_results], opened.results[:num_results])),
        )
    )
    module.finish(name)
    return module, name


def _import(
    fn: Callable, inputs: _Inputs, args: Sequence[torch.Tensor]
) -> tuple[_Module, _Signature]:
    """The module of ``fn`` on ``args`` (nested transformed calls stitched
    in) and its function ``(args, lifted) -> results``."""
    lifted = inputs.values()
    exported = _Exported(fn, inputs.module, inputs.names, inputs.cells, len(args))
    example = tuple(a.detach() for a in args) + tuple(lifted)
    # torch.export keeps the frames of `forward` methods only: the function's
    # own frame names the source line of each op.
    if inspect.isfunction(fn):
        _register_stack_trace_anchor(fn)
    discovery = _Context("discover")
    _TRACE.stack.append(discovery)
    try:
        with torch.no_grad():
            value = exported(*example)
    finally:
        _TRACE.stack.pop()
    if not discovery.calls:
        imported = _export_and_import(exported, example)
        module = _Module(imported.text, imported.nodes)
        return module, module.signature("main", len(args))
    num_results = len(value) if isinstance(value, tuple) else 1
    feeds = [
        torch.zeros(_tensor_shape(t)[0], dtype=_TORCH_DTYPES[_tensor_shape(t)[1]])
        for call in discovery.calls
        for t in call.signature.results
    ]
    imported = _export_and_import(
        _Opened(exported, discovery.calls), (*example, *feeds)
    )
    module, name = _stitch(imported, discovery.calls, len(example), num_results)
    return module, module.signature(name, len(args))


_TORCH_DTYPES = {"f64": torch.float64, "f32": torch.float32}


def _compiled(fn, chain, call, args, inputs: _Inputs):
    key = (
        fn,
        chain,
        call,
        tuple(_spec(a) for a in args),
        tuple(_spec(t) for t in inputs.values()),
    )
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        module, f = _import(fn, inputs, args)
        for transform in chain:
            if isinstance(transform, _Grad):
                f = _apply_grad(module, f, transform)
            elif isinstance(transform, _JacFwd):
                f = _apply_jacfwd(module, f, transform)
            elif isinstance(transform, _JacRev):
                f = _apply_jacrev(module, f, transform)
        if isinstance(call, _Jvp):
            f = _apply_jvp(module, f)
        elif isinstance(call, _Vjp):
            active = [i for i in range(f.num_user) if _float(f.inputs[i])]
            results = [i for i, r in enumerate(f.results) if _float(r)]
            f = _reverse(module, f, active, results)
        module.finish(f.name)
        compiled = (JitModule(module.text), f, module.text, module.nodes)
        _CACHE[key] = compiled
        return compiled


class _Transformed:
    """A function with a chain of transforms, compiled per input shapes."""

    def __init__(self, fn: Callable, chain: tuple):
        self._fn = fn
        self._chain = chain
        self._inputs: _Inputs | None = None
        functools.update_wrapper(self, fn, updated=())

    def _inputs_of(self) -> _Inputs:
        if self._inputs is None:
            self._inputs = _Inputs(self._fn)
        return self._inputs

    def _run(
        self, call, args: Sequence[torch.Tensor], tangents: Sequence[torch.Tensor] = ()
    ) -> list[torch.Tensor]:
        """Runs the chain (and the call-time transform ``call``) on ``args``;
        a jvp's tangents follow the arguments, before the lifted tensors."""
        if _TRACE.stack:
            return _TRACE.stack[-1].call(self, call, args, tangents)
        inputs = self._inputs_of()
        jit, f, *_ = _compiled(self._fn, self._chain, call, args, inputs)
        return jit.call(
            f.name,
            *[a.detach() for a in args],
            *[t.detach() for t in tangents],
            *inputs.values(),
        )

    def __call__(self, *args):
        results = self._run(None, args)
        return results[0] if len(results) == 1 else tuple(results)


def _split(f: Callable) -> tuple[Callable, tuple]:
    if isinstance(f, _Transformed):
        return f._fn, f._chain
    if not callable(f):
        raise TypeError(f"expected a callable, got {type(f).__name__}")
    return f, ()


def _argnums(argnums: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(argnums, int):
        return (argnums,)
    return tuple(int(a) for a in argnums)


def grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The gradient of a scalar-valued ``f`` with respect to argument(s)
    ``argnums`` (a tensor, or a tuple for a tuple of argnums), by
    ``taylor-reverse``."""
    fn, chain = _split(f)
    transformed = _Transformed(fn, chain + (_Grad(_argnums(argnums)),))
    if isinstance(argnums, int):
        return transformed

    def tuple_grad(*args):
        result = transformed(*args)
        return result if isinstance(result, tuple) else (result,)

    return functools.update_wrapper(tuple_grad, fn, updated=())


def jacfwd(f: Callable, argnums: int = 0) -> Callable:
    """The Jacobian ``[*out, *in]`` of ``f`` with respect to argument
    ``argnums``, by ``taylor-jet`` with one direction per input element."""
    fn, chain = _split(f)
    return _Transformed(fn, chain + (_JacFwd(int(argnums)),))


def jacrev(f: Callable, argnums: int = 0) -> Callable:
    """The Jacobian ``[*out, *in]`` of ``f`` with respect to argument
    ``argnums``, by one ``taylor-reverse`` product per output element."""
    fn, chain = _split(f)
    return _Transformed(fn, chain + (_JacRev(int(argnums)),))


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """``jacfwd(jacrev(f, argnums), argnums)``: forward over reverse."""
    return jacfwd(jacrev(f, argnums), argnums)


def _check_tangents(primals, tangents, what) -> None:
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError(f"{what}: primals and tangents must be tuples of tensors")
    if len(primals) != len(tangents):
        raise ValueError(f"{what}: {len(primals)} primals but {len(tangents)} tangents")
    for p, t in zip(primals, tangents):
        if _spec(p) != _spec(t):
            raise ValueError(
                f"{what}: a tangent must have its primal's shape and dtype: primal "
                f"{tuple(p.shape)} {p.dtype}, tangent {tuple(t.shape)} {t.dtype}"
            )


def jvp(f: Callable, primals: tuple, tangents: tuple):
    """``(f(*primals), J·tangents)``, by ``taylor-jet`` at order 1."""
    _check_tangents(primals, tangents, "jvp")
    fn, chain = _split(f)
    floats = tuple(t for p, t in zip(primals, tangents) if p.is_floating_point())
    value, tangent = _Transformed(fn, chain)._run(_Jvp(), primals, floats)
    return value, tangent


def vjp(f: Callable, *primals):
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns the gradients
    of ``<cotangent, f>`` with respect to every floating-point primal (a
    tuple), by ``taylor-reverse``."""
    fn, chain = _split(f)
    transformed = _Transformed(fn, chain)
    value = transformed(*primals)

    def vjp_fn(*cotangents):
        values = value if isinstance(value, tuple) else (value,)
        if len(cotangents) != len(values):
            raise ValueError(
                f"vjp_fn: expected {len(values)} cotangent(s), got {len(cotangents)}"
            )
        for v, c in zip(values, cotangents):
            if _spec(v) != _spec(c):
                raise ValueError(
                    f"vjp_fn: a cotangent must have the output's shape and dtype: "
                    f"output {tuple(v.shape)} {v.dtype}, cotangent "
                    f"{tuple(c.shape)} {c.dtype}"
                )
        inputs = transformed._inputs_of()
        if _TRACE.stack:
            _TRACE.stack[-1].call(transformed, _Vjp(), primals, ())
        jit, sig, *_ = _compiled(fn, chain, _Vjp(), primals, inputs)
        results = jit.call(
            sig.name,
            *[p.detach() for p in primals],
            *inputs.values(),
            *[c.detach() for c in cotangents],
        )
        return tuple(results[len(values) :])

    return value, vjp_fn


def hvp(f: Callable, primals: tuple, tangents: tuple):
    """``jvp(grad(f), primals, tangents)``: ``(∇f(primals), H·tangents)``,
    forward over reverse (``f`` scalar-valued, differentiated with respect
    to its first argument)."""
    return jvp(grad(f), primals, tangents)


__all__ = [
    "MAX_JACREV_ROWS",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "vjp",
]
