"""The IR side of `taylor_mlir.func`: a function of a module (MLIR text) and
the transforms that derive new functions from it (``taylor-reverse``,
``taylor-jet``) with the wrapper functions that seed them, written as MLIR
text and inlined."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import _pipelines, ir
from ._artifact import _as_unsupported
from ._program import reverse_pipeline
from .errors import CompilationError, UnsupportedOperationError, run_pipeline
from .taylor_mode import taylor_jet_pipeline

#: Most output elements ``jacrev`` differentiates (one reverse pass each).
MAX_JACREV_ROWS = 256

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

    def run(self, pipeline: _pipelines.Step, stage: str) -> None:
        """Runs the registered pipeline ``pipeline`` on the module."""
        with ir.Context():
            module = ir.Module.parse(self.text)
            try:
                run_pipeline(module, pipeline, stage=stage)
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
            run_pipeline(
                module, _pipelines.step("taylor-inline-cleanup"), stage="inline"
            )
            self.text = module.operation.get_asm(
                enable_debug_info=True, large_elements_limit=None
            )


def _float(type_str: str) -> bool:
    return type_str.startswith("tensor<") and type_str[-4:-1] in ("f64", "f32")


def _reverse(module: _Module, f: _Signature, arguments, results) -> _Signature:
    name = module.name(f"{f.name}_vjp")
    module.run(reverse_pipeline(f.name, name, arguments, results), "taylor-reverse")
    return module.signature(name, f.num_user)


def _jet(module: _Module, f: _Signature, argument: int, directions: int) -> _Signature:
    name = module.name(f"{f.name}_jet")
    jet = taylor_jet_pipeline(
        order=1,
        directions=directions,
        function=f.name,
        argument=argument,
        jet_function=name,
    )
    module.run(jet, "taylor-jet")
    module.run(_pipelines.step("taylor-lower-jets"), "taylor-lower")
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
