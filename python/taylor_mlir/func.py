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
    gg = tf.grad(lambda x: tf.grad(f)(x).pow(2).sum())(x)   # nested

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
there is no perturbation confusion to guard against. A transformed function
may also be called inside a function that is transformed again, closing over
its variables (see "nested calls" below).

What the function may read: its arguments; parameters and buffers of
modules it refers to (closure or globals; read at every call); tensors in
its closure (read at every call). All of these except the arguments are
constants of the derivatives. Tensors in its globals are compiled in as
constants at the first call.
"""

from __future__ import annotations

import copy
import functools
import inspect
import pickle
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.utils.stateless import _reparametrize_module

from . import ir
from ._export import TRACE_LOCK, as_module, named_tensors
from ._artifact import _unsupported
from .jit import JitModule
from .torch_import import TorchImportError, import_exported_program

from ._func_ir import (
    MAX_JACREV_ROWS,
    _Grad,
    _JacFwd,
    _JacRev,
    _Jvp,
    _Module,
    _Signature,
    _Vjp,
    _apply_grad,
    _apply_jacfwd,
    _apply_jacrev,
    _apply_jvp,
    _Builder,
    _float,
    _reverse,
    _tensor_shape,
)

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
    # Tracing swaps the fakes into the function's modules (`TRACE_LOCK`).
    with TRACE_LOCK, torch.no_grad():
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
    # (`as_module`, in `_Inputs`, registered fn's frame for source lines.)
    discovery = _Context("discover")
    _TRACE.stack.append(discovery)
    try:
        # The function itself, not `exported`: that would swap detached
        # copies into its modules, seen by calls on other threads meanwhile
        # (whose gradients would then be lost). Same values, no grad.
        with torch.no_grad():
            value = fn(*example[: len(args)])
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

    # Pickled and copied as the function and its transforms: the compiled
    # code is in the process's cache, keyed by them (compiled again in
    # another process), and what the function reads is found again from the
    # function (a copy of its modules would not be what it reads).

    def __reduce__(self):
        _check_picklable(self._fn)
        return (_Transformed, (self._fn, self._chain))

    def __deepcopy__(self, memo: dict) -> _Transformed:
        # (A function is not copied, a bound method's module is.)
        return _Transformed(copy.deepcopy(self._fn, memo), self._chain)

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


def _check_picklable(fn: Callable) -> None:
    """Raises a TypeError saying why if the function ``fn`` (pickled by
    name) cannot be pickled."""
    if not inspect.isfunction(fn):
        return
    try:
        pickle.dumps(fn)
    except Exception as error:
        raise TypeError(
            f"cannot pickle a transformed function of {fn.__qualname__!r}: it "
            f"pickles as the function and its transforms (compiled code cannot "
            f"be pickled; it is compiled again on first call), and the function "
            f"cannot be pickled ({error}); transform a module-level function"
        ) from None


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

    return _AsTuple(transformed)


class _AsTuple:
    """A transformed function whose result is always a tuple (``grad`` with
    a tuple of argnums); picklable like it."""

    def __init__(self, transformed: _Transformed):
        self._transformed = transformed
        functools.update_wrapper(self, transformed._fn, updated=())

    def __call__(self, *args):
        result = self._transformed(*args)
        return result if isinstance(result, tuple) else (result,)

    def __reduce__(self):
        return (_AsTuple, (self._transformed,))


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
