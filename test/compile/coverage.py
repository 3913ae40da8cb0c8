"""The functions `taylor_mlir.compile` is checked on, and docs/coverage.md.

`ENTRIES` declares each function a user may call (``torch.asinh``,
``F.elu``, ``nn.ELU``, ...) with the inputs it is checked on and what is
expected of it: compiled and equal to torch.func in float64, or refused with
`taylor_mlir.UnsupportedOperationError` naming its aten op. `check` compiles
the supported ones a group (one input domain) at a time, as one model whose
output column i is ``Σ_d w_d f_i(x)_d``, so that one compile serves every
function of the group and the errors are still attributed per function;
the refused ones are compiled one by one. `render` turns the results into
the table of docs/coverage.md, which test_coverage.py keeps current.

Regenerate docs/coverage.md with::

    .venv/bin/python test/compile/coverage.py
"""

from __future__ import annotations

import inspect
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "coverage.md"
REGENERATE = ".venv/bin/python test/compile/coverage.py"

#: Relative error allowed against torch.func (float64).
TOL = 1e-10
#: Batch size and input features of the checks.
B, D = 3, 4
#: Taylor order and number of directions of the `op="taylor"` check.
ORDER, DIRECTIONS = 4, 2

#: Input domains: name -> (description, sampler of [B, D] float64 inputs).
#: "real" inputs keep away from every kink of the piecewise functions below
#: (0, ±0.5, ±1, ±3, 6, and the threshold 0.25).
KINKS = (-3.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 3.0, 6.0)


def _real(g):
    x = 2.5 * torch.randn(B, D, generator=g, dtype=torch.float64)
    for k in KINKS:
        near = (x - k).abs() < 0.1
        x = torch.where(near, x + 0.2, x)
    return x


def _uniform(lo, hi):
    return lambda g: lo + (hi - lo) * torch.rand(B, D, generator=g, dtype=torch.float64)


DOMAINS = {
    "real": ("x ~ 2.5 N(0, 1), ≥ 0.1 from kinks", _real),
    "unit": ("x ∈ (-0.9, 0.9)", _uniform(-0.9, 0.9)),
    "probability": ("x ∈ (0.05, 0.95)", _uniform(0.05, 0.95)),
    "positive": ("x ∈ (0.2, 3)", _uniform(0.2, 3.0)),
    "above one": ("x ∈ (1.2, 3)", _uniform(1.2, 3.0)),
}


@dataclass(frozen=True)
class Entry:
    """One function as a user calls it.

    ``fn`` maps ``[B, D]`` to ``[B, D']`` (``binary=True``: maps the two
    halves ``x[:, :D/2]``, ``x[:, D/2:]`` to ``[B, D/2]``). ``refused`` is
    why it is refused (empty: it must compile and agree with torch.func).
    """

    name: str
    fn: Callable
    section: str
    domain: str = "real"
    binary: bool = False
    note: str = ""
    refused: str = ""
    #: The function torch.func differentiates, if not ``fn`` (for functions
    #: that torch.func cannot vmap).
    reference: Callable | None = None


TORCH_MLIR = "torch-mlir cannot lower it"
NO_RULE = "no Taylor-mode rule"

_PRELU_WEIGHT = torch.tensor([0.2], dtype=torch.float64)


def _glu(x):
    """glu along the last dimension (torch.func has no forward-over-forward
    derivative of ``aten.glu``)."""
    a, b = x.chunk(2, -1)
    return a * torch.sigmoid(b)


def _hardsigmoid(x):
    """relu6(x + 3) / 6 (torch.func has no second derivative of
    ``aten.hardsigmoid``)."""
    return F.relu6(x + 3.0) / 6.0


def _celu(x):
    """celu with alpha = 1.3: torch.func's derivatives of ``aten.celu`` use
    1/alpha rounded to float32 (relative error 4e-8 for alpha = 1.3)."""
    return torch.where(x > 0, x, 1.3 * torch.expm1(x / 1.3))


def _rrelu_eval(x):
    """rrelu in eval mode: leaky_relu with the mean slope (torch.func cannot
    vmap ``aten.rrelu_with_noise``)."""
    return F.leaky_relu(x, (1.0 / 8.0 + 1.0 / 3.0) / 2.0)


def _entries() -> list[Entry]:
    m, a, p, b = "math", "activation", "activation module", "binary"
    e = Entry
    return [
        # Pointwise math: torch.* and torch.special.*.
        e("torch.exp", torch.exp, m),
        e("torch.exp2", torch.exp2, m),
        e("torch.expm1", torch.expm1, m),
        e("torch.sin", torch.sin, m),
        e("torch.cos", torch.cos, m),
        e("torch.tan", torch.tan, m, "unit"),
        e("torch.sinh", torch.sinh, m),
        e("torch.cosh", torch.cosh, m),
        e("torch.tanh", torch.tanh, m),
        e("torch.asin", torch.asin, m, "unit"),
        e("torch.acos", torch.acos, m, "unit"),
        e("torch.atan", torch.atan, m),
        e("torch.asinh", torch.asinh, m),
        e("torch.acosh", torch.acosh, m, "above one"),
        e("torch.atanh", torch.atanh, m, "unit"),
        e("torch.sigmoid", torch.sigmoid, m),
        e("torch.logit", torch.logit, m, "probability"),
        e("torch.erf", torch.erf, m),
        e(
            "torch.erfc",
            torch.erfc,
            m,
            note="decomposed: 1 − erf(x) (absolute, not relative, accuracy "
            "where erfc(x) < 1e-16, x > 5.9)",
        ),
        e("torch.log", torch.log, m, "positive"),
        e("torch.log2", torch.log2, m, "positive"),
        e("torch.log10", torch.log10, m, "positive"),
        e("torch.log1p", torch.log1p, m, "positive"),
        e("torch.sqrt", torch.sqrt, m, "positive"),
        e("torch.rsqrt", torch.rsqrt, m, "positive"),
        e("torch.reciprocal", torch.reciprocal, m, "positive"),
        e("torch.square", torch.square, m),
        e("torch.pow (float exponent)", lambda x: torch.pow(x, 2.5), m, "positive"),
        e("torch.pow (int exponent)", lambda x: x**3, m),
        e("torch.sinc", torch.sinc, m),
        e("torch.special.entr", torch.special.entr, m, "positive"),
        e("torch.abs", torch.abs, m, note="away from 0"),
        e("torch.lgamma", torch.lgamma, m, "positive", refused=TORCH_MLIR),
        e("torch.digamma", torch.digamma, m, "positive", refused=TORCH_MLIR),
        e("torch.erfinv", torch.erfinv, m, "unit", refused=TORCH_MLIR),
        e("torch.special.erfcx", torch.special.erfcx, m, refused=TORCH_MLIR),
        e("torch.special.i0", torch.special.i0, m, refused=TORCH_MLIR),
        # Functions of two tensors.
        e("torch.atan2", torch.atan2, b, binary=True),
        e(
            "torch.hypot",
            torch.hypot,
            b,
            binary=True,
            note="decomposed: m·sqrt((x/m)² + (y/m)²), m = max(|x|, |y|)",
        ),
        e("torch.xlogy", torch.xlogy, b, "positive", binary=True),
        e("torch.special.xlog1py", torch.special.xlog1py, b, "positive", binary=True),
        e("torch.pow (tensor exponent)", torch.pow, b, "positive", binary=True),
        e("torch.logaddexp", torch.logaddexp, b, binary=True),
        e("torch.logaddexp2", torch.logaddexp2, b, binary=True),
        e("torch.maximum", torch.maximum, b, binary=True, note="away from ties"),
        e("torch.minimum", torch.minimum, b, binary=True, note="away from ties"),
        # torch.nn.functional activations.
        e("F.relu", F.relu, a, note="away from the kink"),
        e("F.relu6", F.relu6, a, note="away from the kinks"),
        e("F.elu", lambda x: F.elu(x, alpha=0.7), a, note="away from 0"),
        e("F.selu", F.selu, a, note="away from 0"),
        e(
            "F.celu",
            lambda x: F.celu(x, alpha=1.3),
            a,
            note="away from 0; the compiled derivatives are exact, PyTorch's "
            "use 1/alpha in float32 (off by 4e-8 relative for alpha = 1.3)",
            reference=_celu,
        ),
        e("F.leaky_relu", lambda x: F.leaky_relu(x, 0.1), a, note="away from 0"),
        e("F.prelu", lambda x: F.prelu(x, _PRELU_WEIGHT), a, note="away from 0"),
        e(
            "F.rrelu (eval)",
            lambda x: F.rrelu(x, training=False),
            a,
            note="away from 0",
            reference=_rrelu_eval,
        ),
        e("F.glu", F.glu, a, reference=_glu),
        e("F.gelu", F.gelu, a),
        e(
            "F.gelu (approximate='tanh')",
            lambda x: F.gelu(x, approximate="tanh"),
            a,
            note="decomposed (torch-mlir's lowering uses π ≈ 22/7)",
        ),
        e("F.logsigmoid", F.logsigmoid, a),
        e("F.hardshrink", lambda x: F.hardshrink(x, 0.5), a, note="away from ±λ"),
        e("F.tanhshrink", F.tanhshrink, a),
        e("F.softsign", F.softsign, a, note="away from 0"),
        e("F.softplus", F.softplus, a),
        e(
            "F.softplus (beta, threshold)",
            lambda x: F.softplus(x, 2.0, 3.0),
            a,
            note="away from the threshold",
        ),
        e("F.softmin", lambda x: F.softmin(x, -1), a),
        e("F.softmax", lambda x: F.softmax(x, -1), a),
        e("F.log_softmax", lambda x: F.log_softmax(x, -1), a),
        e("F.softshrink", lambda x: F.softshrink(x, 0.5), a, note="away from ±λ"),
        e("F.tanh", F.tanh, a),
        e("F.sigmoid", F.sigmoid, a),
        e(
            "F.hardsigmoid",
            F.hardsigmoid,
            a,
            note="away from ±3",
            reference=_hardsigmoid,
        ),
        e("F.silu", F.silu, a),
        e("F.mish", F.mish, a),
        e("F.hardswish", F.hardswish, a, note="away from ±3"),
        e("F.hardtanh", F.hardtanh, a, note="away from ±1"),
        e(
            "F.threshold",
            lambda x: F.threshold(x, 0.25, -1.0),
            a,
            note="away from the threshold",
        ),
        # torch.nn activation modules.
        e("nn.ReLU", nn.ReLU(), p),
        e("nn.ReLU6", nn.ReLU6(), p),
        e("nn.ELU", nn.ELU(), p),
        e("nn.SELU", nn.SELU(), p),
        e("nn.CELU", nn.CELU(), p),
        e("nn.LeakyReLU", nn.LeakyReLU(), p),
        e("nn.PReLU", nn.PReLU(dtype=torch.float64), p),
        e("nn.RReLU (eval)", nn.RReLU().eval(), p, reference=_rrelu_eval),
        e("nn.GLU", nn.GLU(), p, reference=_glu),
        e("nn.GELU", nn.GELU(), p),
        e("nn.GELU('tanh')", nn.GELU("tanh"), p),
        e("nn.LogSigmoid", nn.LogSigmoid(), p),
        e("nn.Hardshrink", nn.Hardshrink(), p),
        e("nn.Tanhshrink", nn.Tanhshrink(), p),
        e("nn.Softsign", nn.Softsign(), p),
        e("nn.Softplus", nn.Softplus(), p),
        e("nn.Softmin", nn.Softmin(-1), p),
        e("nn.Softmax", nn.Softmax(-1), p),
        e("nn.LogSoftmax", nn.LogSoftmax(-1), p),
        e("nn.Softshrink", nn.Softshrink(), p),
        e("nn.Tanh", nn.Tanh(), p),
        e("nn.Sigmoid", nn.Sigmoid(), p),
        e("nn.Hardsigmoid", nn.Hardsigmoid(), p, reference=_hardsigmoid),
        e("nn.SiLU", nn.SiLU(), p),
        e("nn.Mish", nn.Mish(), p),
        e("nn.Hardswish", nn.Hardswish(), p),
        e("nn.Hardtanh", nn.Hardtanh(), p),
        e("nn.Threshold", nn.Threshold(0.25, -1.0), p),
    ]


ENTRIES = _entries()


class _Call(nn.Module):
    """One entry as a submodule (so that the exported nodes of each entry
    can be told apart by their module path)."""

    def __init__(self, fn):
        super().__init__()
        if isinstance(fn, nn.Module):
            self.fn = fn
        else:
            object.__setattr__(self, "_fn", fn)

    def forward(self, *args):
        fn = self.fn if "fn" in self._modules else self._fn
        return fn(*args)


class Group(nn.Module):
    """Output column i: ``Σ_d w_d f_i(x)_d`` for the i-th entry."""

    def __init__(self, entries, reference=False):
        super().__init__()
        self.binary = [entry.binary for entry in entries]
        self.calls = nn.ModuleList(
            _Call(entry.reference if reference and entry.reference else entry.fn)
            for entry in entries
        )
        self.register_buffer("w", torch.linspace(0.5, 1.5, D, dtype=torch.float64))

    def forward(self, x):
        columns = []
        for binary, call in zip(self.binary, self.calls):
            if binary:
                y = call(x[:, : D // 2], x[:, D // 2 :])
            else:
                y = call(x)
            columns.append((y * self.w[: y.shape[-1]]).sum(-1))
        return torch.stack(columns, -1)


def _source_line(fn) -> str:
    lines, start = inspect.getsourcelines(fn)
    offset = next(i for i, line in enumerate(lines) if "return fn(*args)" in line)
    return f"{inspect.getsourcefile(fn)}:{start + offset}"


#: Where an error raised inside an entry points (the line calling it).
CALL_SITE = _source_line(_Call.forward)


@dataclass
class Result:
    """What `check` found for one entry."""

    entry: Entry
    #: The aten ops torch.export gives for the entry (its own calls only).
    aten: list[str] = field(default_factory=list)
    #: Largest relative error per operator ("laplacian", "taylor").
    errors: dict[str, float] = field(default_factory=dict)
    #: The error raised by `taylor_mlir.compile` (None if it compiled).
    error: Exception | None = None
    #: Seconds of compiling and checking, per entry of its group.
    seconds: float = 0.0
    #: The earlier entry with the same exported graph (not compiled again).
    same_as: Result | None = None


def _export(model: Group, x) -> tuple[list[list[str]], list[tuple]]:
    """Per entry: the aten ops of its calls in the exported program, and a
    signature of its part of the graph (ops, constants and the inputs they
    read) that is equal for two entries exactly when torch.export gives
    both the same graph."""
    program = torch.export.export(model, (x,))
    owner: dict[torch.fx.Node, tuple[int, int]] = {}
    ops: list[list[str]] = [[] for _ in model.calls]
    nodes: list[list[tuple]] = [[] for _ in model.calls]

    def arg(a):
        if isinstance(a, torch.fx.Node):
            if a in owner:
                return ("node", owner[a][1])
            if a.op == "placeholder":
                # x, or a parameter, buffer or constant of this entry alone.
                return ("input", a.name if a.name != "x" else "x")
            return ("outer", str(a.target), tuple(map(arg, a.args)))
        if isinstance(a, (list, tuple)):
            return tuple(map(arg, a))
        return repr(a)

    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        for path, _ in node.meta.get("nn_module_stack", {}).values():
            parts = path.split(".")
            if len(parts) >= 2 and parts[0] == "calls":
                i = int(parts[1])
                owner[node] = (i, len(nodes[i]))
                nodes[i].append(
                    (str(node.target), arg(node.args), arg(tuple(node.kwargs.items())))
                )
                if str(node.target) not in ops[i]:
                    ops[i].append(str(node.target))
                break
    return ops, [tuple(n) for n in nodes]


def _directions(g):
    return torch.randn(DIRECTIONS, D, generator=g, dtype=torch.float64)


def _compile(model, x, **options):
    import taylor_mlir as tm

    # The compile-time self-check compares f_0 and f_1 with eager PyTorch;
    # this module checks every coefficient to order 4, so it is skipped.
    return tm.compile(model, example_inputs=x, check=False, **options)


def _check_chunk(results: list[Result], x, directions) -> None:
    """Compiles the entries of ``results`` as one `Group` and records the
    errors of each (or, if that fails, each entry on its own)."""
    entries = [r.entry for r in results]
    model = Group(entries)
    start = time.perf_counter()
    try:
        laplacian = _compile(model, x, op="laplacian")(x)
        taylor = _compile(model, x, op="taylor", order=ORDER, directions=directions)(x)
    except Exception as error:  # noqa: BLE001 (reported per entry)
        if len(results) == 1:
            results[0].error = error
            return
        for r in results:
            _check_chunk([r], x, directions)
        return
    # [B, m] and [K+1, R, B, m] (m = 1 is squeezed by compiled operators).
    laplacian = laplacian.reshape(B, -1)
    taylor = taylor.reshape(ORDER + 1, DIRECTIONS, B, -1)
    reference = Group(entries, reference=True)
    with warnings.catch_warnings():
        # torch's own notice from log_sigmoid's forward AD under vmap.
        warnings.filterwarnings("ignore", "An output with one or more elements")
        want_laplacian = ref.laplacian(reference, x).reshape(B, -1)
        want_taylor = ref.taylor(reference, x, directions, ORDER)
    want_taylor = want_taylor.reshape(taylor.shape)
    seconds = (time.perf_counter() - start) / len(results)
    for i, r in enumerate(results):
        r.seconds = seconds
        r.errors["laplacian"] = ref.relative_error(
            laplacian[:, i], want_laplacian[:, i]
        )
        r.errors["taylor"] = ref.relative_error(taylor[..., i], want_taylor[..., i])


#: Entries compiled as one model (larger models take superlinearly longer).
CHUNK = 10


def _check_domain(entries: list[Entry], domain: str) -> list[Result]:
    g = torch.Generator().manual_seed(sum(map(ord, domain)))
    x = DOMAINS[domain][1](g)
    directions = _directions(g)
    ops, signatures = _export(Group(entries), x)
    results = [Result(e, o) for e, o in zip(entries, ops)]
    first: dict[tuple, Result] = {}
    compiled = []
    for r, signature in zip(results, signatures):
        if r.entry.refused or signature not in first:
            first.setdefault(signature, r)
            compiled.append(r)
        else:
            r.same_as = first[signature]
    supported = [r for r in compiled if not r.entry.refused]
    for i in range(0, len(supported), CHUNK):
        _check_chunk(supported[i : i + CHUNK], x, directions)
    for r in compiled:
        if r.entry.refused:
            try:
                _compile(Group([r.entry]), x, op="laplacian")
            except Exception as error:  # noqa: BLE001 (checked by the caller)
                r.error = error
    for r in results:
        if r.same_as is not None:
            r.errors, r.error = r.same_as.errors, r.same_as.error
    return results


def check(entries=None) -> list[Result]:
    """Compiles every entry (see the module docstring); results in the
    order of ``entries``."""
    entries = ENTRIES if entries is None else entries
    results: dict[str, Result] = {}
    for domain in DOMAINS:
        group = [e for e in entries if e.domain == domain]
        if group:
            for r in _check_domain(group, domain):
                results[r.entry.name] = r
    return [results[e.name] for e in entries]


SECTIONS = {
    "math": "Pointwise math (`torch.*`, `torch.special.*`)",
    "binary": "Functions of two tensors",
    "activation": "Activations (`torch.nn.functional`, imported as `F`)",
    "activation module": "Activation modules (`torch.nn`, imported as `nn`)",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(results: list[Result]) -> str:
    """docs/coverage.md from the results of `check`."""
    out = [
        "# What `taylor_mlir.compile` covers",
        "",
        "<!-- Generated by test/compile/coverage.py from its checks; do not "
        "edit. Regenerate with",
        f"     {REGENERATE} -->",
        "",
        "Every function below is compiled by `test/compile/test_coverage.py`, "
        "a group of up to "
        f"{CHUNK} functions of one input domain at a time, as one model whose "
        "output column i is `Σ_d w_d f_i(x)_d` "
        f"(D = {D}, B = {B}, float64), and compared with `torch.func`: "
        '`op="laplacian"`, and `op="taylor"` with '
        f"`order={ORDER}` along {DIRECTIONS} random directions (every "
        f"coefficient f_0..f_{ORDER}); the relative error must stay below "
        f"{TOL:g} for each function.",
        "",
        "Piecewise functions are checked away from their kinks, where their "
        "derivatives are those of the piece they are on (at a kink the "
        "compiled operator uses PyTorch's one-sided first derivative and zero "
        "curvature). A function whose exported graph is the same as that of "
        "one above it (e.g. `nn.ReLU` and `F.relu`) is the same program and "
        "is not compiled again. A refused function raises "
        "`taylor_mlir.UnsupportedOperationError` naming its aten op and the "
        "line of the model that called it.",
        "",
        "Domains: "
        + "; ".join(f"{name}: {desc}" for name, (desc, _) in DOMAINS.items())
        + ".",
        "",
    ]
    for section, title in SECTIONS.items():
        rows = [r for r in results if r.entry.section == section]
        out += [f"## {title}", "", "| function | aten ops | domain | status | notes |"]
        out.append("|---|---|---|---|---|")
        for r in rows:
            aten = ", ".join(f"`{op}`" for op in r.aten)
            if r.error is not None:
                op = getattr(r.error, "op", "")
                status = f"refused: {r.entry.refused}" + (f" (`{op}`)" if op else "")
            elif r.same_as is not None:
                status = f"✓ (same graph as `{r.same_as.entry.name}`)"
            else:
                status = "✓"
            out.append(
                f"| `{_cell(r.entry.name)}` | {aten} | {r.entry.domain} | "
                f"{_cell(status)} | {_cell(r.entry.note)} |"
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    results = check()
    bad = [
        r.entry.name
        for r in results
        if bool(r.entry.refused) != (r.error is not None)
        or any(e > TOL for e in r.errors.values())
    ]
    for r in results:
        print(
            f"{r.entry.name}: {r.aten} {r.errors} {r.seconds:.2f}s",
            type(r.error).__name__ if r.error else "",
        )
    if bad:
        sys.exit(f"not as declared: {bad}; docs/coverage.md left as it is")
    DOC.write_text(render(results))
    print(f"wrote {DOC}")
