"""Random PyTorch models for differential fuzzing of `taylor_mlir.compile`.

`generate(seed, dim)` returns a `FuzzModel`: the Python source of a
``torch.nn.Module`` class ``Model`` mapping ``[B, dim]`` to ``[B]`` or
``[B, m]``, deterministic in ``seed`` (the parameters are drawn in
``__init__`` from ``torch.Generator().manual_seed(seed)``), and the module
built from that source. The source is the model: a failure is turned into a
regression test by pasting it.

The forward is a random data-flow graph over feature tensors ``[B, w]``
(w ≤ `MAX_WIDTH`): dense layers (``@`` and ``F.linear``, with or without
bias), smooth activations, sums, residuals, products and quotients of
features (denominators kept away from zero: ``1 + h²``, ``1.5 + cos h``,
``exp(tanh h)``, ``sqrt(1 + h²)``), broadcasting (a column ``[B, 1]`` or a
parameter row ``[w]`` against ``[B, w]``), slices (contiguous, strided, one
column), concatenation, outer products through ``[B, w, v]`` and a reshape,
reductions over the features (sum, mean, amax, logsumexp, prod) and
softmax. Operands are the newest feature most of the time, otherwise an
older one (branches and residuals). The output is a dense layer to m
features, returned as ``[B, m]``, ``[B, 1]`` or (m = 1) ``[B]``, or a
reduction to ``[B]``.

Only smooth functions are generated, except ``amax`` (smooth wherever the
maximum is attained once, which random inputs satisfy almost surely; where
it is attained by copies of one function, e.g. after a concatenation of a
feature with itself, any choice has the same derivatives).
``F.layer_norm`` is left out: PyTorch's own forward-over-forward AD of
``native_layer_norm`` is wrong at second order (``jacfwd(jacfwd(...))``
differs from ``hessian``), so the torch.func reference would be.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection
from dataclasses import dataclass, field

import torch

#: The widest feature tensor the generator makes.
MAX_WIDTH = 8

#: Magnitudes of feature tensors are tracked (a rough bound of |h| for
#: inputs |x| ≤ 3) so that growing functions (powers, sinh, products, sums)
#: are only applied where the result stays below this bound.
MAX_MAGNITUDE = 30.0

#: Smooth elementwise functions: name -> (format string of ``{a}``, bound of
#: the result given a bound ``m`` of ``a``).
ACTIVATIONS = {
    "tanh": ("torch.tanh({a})", lambda m: 1.0),
    "sigmoid": ("torch.sigmoid({a})", lambda m: 1.0),
    "sin": ("torch.sin({a})", lambda m: 1.0),
    "cos": ("torch.cos({a})", lambda m: 1.0),
    "softplus": ("F.softplus({a})", lambda m: m + 1.0),
    "gelu": ("F.gelu({a})", lambda m: m),
    "gelu_tanh": ("F.gelu({a}, approximate='tanh')", lambda m: m),
    "silu": ("F.silu({a})", lambda m: m),
    "mish": ("F.mish({a})", lambda m: m),
    "erf": ("torch.erf({a})", lambda m: 1.0),
    "atan": ("torch.atan({a})", lambda m: 1.6),
    "logsigmoid": ("F.logsigmoid({a})", lambda m: m + 1.0),
    "gauss": ("torch.exp(-{a} * {a})", lambda m: 1.0),
    "exp_tanh": ("torch.exp(0.5 * torch.tanh({a}))", lambda m: 1.7),
    "log1p_sq": ("torch.log1p({a} * {a})", lambda m: math.log1p(m * m)),
    "log_sq": ("torch.log(1.0 + {a} * {a})", lambda m: math.log1p(m * m)),
    "sqrt": ("torch.sqrt(1.0 + {a} * {a})", lambda m: m + 1.0),
    "rsqrt": ("torch.rsqrt(1.0 + {a} * {a})", lambda m: 1.0),
    "pow_frac": ("(1.0 + {a} * {a}) ** 0.75", lambda m: (1.0 + m * m) ** 0.75),
    "square": ("{a} * {a}", lambda m: m * m),
    "cube": ("0.5 * {a} ** 3", lambda m: 0.5 * m**3),
    "sinh": ("torch.sinh(0.5 * {a})", lambda m: math.sinh(min(0.5 * m, 50.0))),
    "cosh": ("torch.cosh(0.5 * {a})", lambda m: math.cosh(min(0.5 * m, 50.0))),
    "softsign_smooth": ("{a} / (1.0 + {a} * {a})", lambda m: 0.5),
}

#: Quotients ``{a} / denominator({b})``: denominator -> (format string,
#: its lower bound).
DENOMINATORS = {
    "one_plus_sq": ("(1.0 + {b} * {b})", 1.0),
    "cos": ("(1.5 + torch.cos({b}))", 0.5),
    "exp": ("torch.exp(torch.tanh({b}))", 0.36),
    "sqrt": ("torch.sqrt(1.0 + {b} * {b})", 1.0),
    "sigmoid": ("(0.5 + torch.sigmoid({b}))", 0.5),
}

#: Reductions over the features, ``[B, w] -> [B, 1]``: name -> (format
#: string, bound of the result given the bound m and width w of ``a``).
REDUCTIONS = {
    "sum": ("{a}.sum(dim=-1, keepdim=True)", lambda m, w: m * w),
    "mean": ("{a}.mean(dim=-1, keepdim=True)", lambda m, w: m),
    "amax": ("torch.amax({a}, dim=-1, keepdim=True)", lambda m, w: m),
    "logsumexp": (
        "torch.logsumexp({a}, dim=-1, keepdim=True)",
        lambda m, w: m + math.log(w),
    ),
    "prod": (
        "torch.prod(1.0 + 0.5 * torch.tanh({a}), dim=-1, keepdim=True)",
        lambda m, w: 1.5**w,
    ),
    "sum_sq": ("({a} * {a}).sum(dim=-1, keepdim=True)", lambda m, w: m * m * w),
}

#: The kinds of statement and their relative frequencies.
KINDS = {
    "dense": 6,
    "activation": 7,
    "add": 2,
    "residual": 2,
    "mul": 2,
    "div": 2,
    "column": 2,
    "scale": 1,
    "slice": 2,
    "cat": 2,
    "outer": 1,
    "reduce": 2,
    "softmax": 1,
}

#: Statements after which the output layer would be affine in the last
#: feature: the generator adds an activation before it.
_AFFINE = {
    "dense",
    "add",
    "shift",
    "scale",
    "slice",
    "slice_strided",
    "slice_column",
    "cat",
    "reduce_sum",
    "reduce_mean",
}


@dataclass
class FuzzModel:
    """A generated model: its seed, input dimension, output shape tail
    (``()`` for ``[B]``) and source. ``module()`` builds it (float64)."""

    seed: int
    dim: int
    output: tuple[int, ...]
    source: str
    #: The statement kinds and functions it uses (for coverage statistics).
    features: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        """The number of output columns (1 for ``[B]``)."""
        return self.output[0] if self.output else 1

    def module(self) -> torch.nn.Module:
        namespace: dict = {}
        exec(compile(self.source, f"<fuzz model {self.seed}>", "exec"), namespace)
        return namespace["Model"]()

    def __str__(self) -> str:
        return self.source


class _Builder:
    def __init__(self, seed: int, dim: int, exclude: Collection[str] = ()):
        self.rng = random.Random(seed)
        self.exclude = set(exclude)
        self.seed = seed
        self.dim = dim
        self.params: list[str] = []
        self.lines: list[str] = []
        self.features: list[str] = []
        #: Feature tensors: (name, width, bound of the magnitude).
        self.pool: list[tuple[str, int, float]] = [("x", dim, 3.0)]
        self.count = 0

    # -- helpers -------------------------------------------------------------

    def param(self, shape: tuple[int, ...], scale: float, offset: float = 0.0) -> str:
        name = f"p{len(self.params)}"
        dims = ", ".join(str(s) for s in shape)
        init = f"torch.randn({dims}, generator=g, dtype=torch.float64) * {scale:.3g}"
        if offset:
            init = f"{offset} + {init}"
        self.params.append(f"self.{name} = torch.nn.Parameter({init})")
        return f"self.{name}"

    def emit(self, expression: str, width: int, bound: float, feature: str):
        name = f"h{self.count}"
        self.count += 1
        self.lines.append(f"{name} = {expression}")
        self.pool.append((name, width, bound))
        self.features.append(feature)
        return self.pool[-1]

    def operand(self):
        """The newest feature most of the time, else an older one."""
        if self.rng.random() < 0.65 or len(self.pool) == 1:
            return self.pool[-1]
        return self.rng.choice(self.pool[:-1])

    def columns(self, a, width: int) -> str:
        """``a`` cut to ``width`` columns (``width ≤ a``'s)."""
        name, w, _ = a
        if w == width:
            return name
        start = self.rng.randrange(w - width + 1)
        return f"{name}[:, {start}:{start + width}]"

    def bounded(self, a):
        """``a``, or ``tanh(a)`` where ``a`` may be large."""
        if a[2] <= 3.0:
            return a
        return self.emit(f"torch.tanh({a[0]})", a[1], 1.0, "tanh")

    # -- statements ----------------------------------------------------------

    def dense(self, a, width=None):
        name, w, m = a
        width = width or self.rng.randint(2, MAX_WIDTH)
        scale = 1.0 / w**0.5
        bias = self.rng.random() < 0.8
        if self.rng.random() < 0.5:
            weight = self.param((w, width), scale)
            expression = f"{name} @ {weight}"
            if bias:
                expression += f" + {self.param((width,), 0.5)}"
        else:
            weight = self.param((width, w), scale)
            b = self.param((width,), 0.5) if bias else "None"
            expression = f"F.linear({name}, {weight}, {b})"
        return self.emit(expression, width, 2.0 * m + 1.5, "dense")

    def activation(self, a):
        kinds = [k for k in ACTIVATIONS if k not in self.exclude]
        while True:
            kind = self.rng.choice(kinds)
            form, bound = ACTIVATIONS[kind]
            if bound(a[2]) <= MAX_MAGNITUDE:
                return self.emit(form.format(a=a[0]), a[1], bound(a[2]), kind)

    def binary_operands(self):
        a, b = self.operand(), self.operand()
        width = min(a[1], b[1])
        return a, b, self.columns(a, width), self.columns(b, width), width

    def add(self):
        a, b, ca, cb, width = self.binary_operands()
        op = self.rng.choice(["+", "-"])
        return self.emit(f"{ca} {op} {cb}", width, a[2] + b[2], "add")

    def residual(self):
        """``a + act(a W)``: a residual block."""
        a = self.operand()
        weight = self.param((a[1], a[1]), 1.0 / a[1] ** 0.5)
        kind = self.rng.choice(["tanh", "sin", "sigmoid", "erf"])
        inner = ACTIVATIONS[kind][0].format(a=f"{a[0]} @ {weight}")
        return self.emit(f"{a[0]} + {inner}", a[1], a[2] + 1.0, f"residual_{kind}")

    def mul(self):
        a, b, ca, cb, width = self.binary_operands()
        if a[2] * b[2] > MAX_MAGNITUDE:
            return self.add()
        return self.emit(f"{ca} * {cb}", width, a[2] * b[2], "mul")

    def div(self):
        a, b, ca, cb, width = self.binary_operands()
        kind = self.rng.choice(list(DENOMINATORS))
        form, low = DENOMINATORS[kind]
        if a[2] / low > MAX_MAGNITUDE:
            a = self.bounded(a)
            ca = self.columns(a, width)
        return self.emit(
            f"{ca} / {form.format(b=cb)}", width, a[2] / low, f"div_{kind}"
        )

    def column(self):
        """A column ``[B, 1]`` of one feature broadcast against another."""
        a, b = self.operand(), self.operand()
        j = self.rng.randrange(b[1])
        col = f"{b[0]}[:, {j}:{j + 1}]"
        op = self.rng.choice(["*", "+", "/"])
        if op == "*" and a[2] * b[2] <= MAX_MAGNITUDE:
            return self.emit(f"{a[0]} * {col}", a[1], a[2] * b[2], "column_mul")
        if op == "/":
            return self.emit(
                f"{a[0]} / (1.0 + {col} * {col})", a[1], a[2], "column_div"
            )
        return self.emit(f"{a[0]} + {col}", a[1], a[2] + b[2], "column_add")

    def scale(self, a):
        """A parameter row ``[w]`` broadcast over the batch."""
        if self.rng.random() < 0.5:
            row = self.param((a[1],), 0.5, 1.0)
            return self.emit(f"{a[0]} * {row}", a[1], 2.5 * a[2], "scale")
        row = self.param((a[1],), 1.0)
        return self.emit(f"{a[0]} + {row}", a[1], a[2] + 2.0, "shift")

    def slice(self, a):
        name, w, m = a
        if w < 2:
            return self.activation(a)
        choice = self.rng.random()
        if choice < 0.5:
            width = self.rng.randint(1, w - 1)
            return self.emit(self.columns(a, width), width, m, "slice")
        if choice < 0.8:
            start = self.rng.randrange(2)
            width = len(range(start, w, 2))
            return self.emit(f"{name}[:, {start}::2]", width, m, "slice_strided")
        j = self.rng.randrange(w)
        return self.emit(f"{name}[:, {j}:{j + 1}]", 1, m, "slice_column")

    def cat(self):
        a, b = self.operand(), self.operand()
        if a[1] + b[1] > MAX_WIDTH:
            return self.mul()
        return self.emit(
            f"torch.cat([{a[0]}, {b[0]}], dim=1)", a[1] + b[1], max(a[2], b[2]), "cat"
        )

    def outer(self):
        """``a_i tanh(b_j)`` through ``[B, wa, wb]``, reshaped to
        ``[B, wa wb]`` or summed over i."""
        a, b = self.operand(), self.operand()
        wa, wb = min(a[1], 3), min(b[1], 3)
        ca, cb = self.columns(a, wa), self.columns(b, wb)
        product = f"{ca}[:, :, None] * torch.tanh({cb})[:, None, :]"
        if self.rng.random() < 0.5:
            return self.emit(f"({product}).sum(dim=1)", wb, a[2] * wa, "outer_sum")
        return self.emit(
            f"({product}).reshape({ca}.shape[0], {wa * wb})", wa * wb, a[2], "outer"
        )

    def reduce(self, a):
        kinds = [
            k
            for k, (_, bound) in REDUCTIONS.items()
            if f"reduce_{k}" not in self.exclude and bound(a[2], a[1]) <= MAX_MAGNITUDE
        ]
        if not kinds:
            return self.activation(a)
        kind = self.rng.choice(kinds)
        form, bound = REDUCTIONS[kind]
        return self.emit(form.format(a=a[0]), 1, bound(a[2], a[1]), f"reduce_{kind}")

    def softmax(self, a):
        if {"softmax", "log_softmax"} <= self.exclude:
            return self.activation(a)
        if "log_softmax" in self.exclude or (
            "softmax" not in self.exclude and self.rng.random() < 0.5
        ):
            return self.emit(f"torch.softmax({a[0]}, dim=-1)", a[1], 1.0, "softmax")
        bound = 2.0 * a[2] + math.log(a[1])
        return self.emit(f"F.log_softmax({a[0]}, dim=-1)", a[1], bound, "log_softmax")

    def statement(self):
        kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        if kind in ("add", "residual", "mul", "div", "column", "cat", "outer"):
            return getattr(self, kind)()
        return getattr(self, kind)(self.operand())

    def output(self, outputs: int | None):
        """The last statements: ``[B, m]``, ``[B, 1]`` or ``[B]``."""
        if self.features[-1:] == [] or self.features[-1] in _AFFINE:
            self.activation(self.pool[-1])
        last = self.pool[-1]
        choice = self.rng.random()
        if outputs is None:
            outputs = self.rng.choice([1, 1, 2, 3])
        if outputs == 1 and choice < 0.25:
            kinds = ["sum", "mean", "logsumexp"]
            kind = self.rng.choice(
                [k for k in kinds if f"output_{k}" not in self.exclude]
            )
            expression = REDUCTIONS[kind][0].format(a=last[0])
            self.features.append(f"output_{kind}")
            return f"{expression}.squeeze(-1)", ()
        self.dense(last, outputs)
        name = self.pool[-1][0]
        if outputs == 1 and choice < 0.6:
            return f"{name}.squeeze(-1)", ()
        return name, (outputs,)


def generate(
    seed: int,
    dim: int | None = None,
    *,
    depth: int | None = None,
    outputs: int | None = None,
    max_depth: int = 8,
    exclude: Collection[str] = (),
) -> FuzzModel:
    """The random model of ``seed``: ``dim`` input features (default: drawn
    from 1..5), ``depth`` statements before the output layer (default:
    drawn from 1..``max_depth``), ``outputs`` columns (default: drawn; 1 may give
    ``[B]`` or ``[B, 1]``); without the features named in ``exclude``
    (e.g. ``"reduce_prod"``)."""
    rng = random.Random(seed)
    dim = dim or rng.randint(1, 5)
    depth = depth or rng.randint(1, max_depth)
    builder = _Builder(seed, dim, exclude)
    # Most models start with a dense layer, as networks do.
    if builder.rng.random() < 0.8:
        builder.dense(builder.pool[0])
    for _ in range(depth):
        builder.statement()
    result, tail = builder.output(outputs)
    shape = "[B]" if not tail else f"[B, {tail[0]}]"
    body = "\n".join(
        [
            "class Model(torch.nn.Module):",
            f'    """Fuzz model seed={seed}: [B, {dim}] -> {shape}."""',
            "",
            "    def __init__(self):",
            "        super().__init__()",
            f"        g = torch.Generator().manual_seed({seed})",
            *(f"        {line}" for line in builder.params),
            "",
            "    def forward(self, x):",
            *(f"        {line}" for line in builder.lines),
            f"        return {result}",
            "",
        ]
    )
    source = "import torch\nimport torch.nn.functional as F\n\n\n" + body
    return FuzzModel(seed, dim, tail, source, builder.features)


def combine(models: list[FuzzModel]) -> torch.nn.Module:
    """One module whose output ``[B, Σ m_i]`` holds the outputs of ``models``
    side by side (``[B]`` outputs as one column), in order."""
    modules = [m.module() for m in models]
    shapes = [m.output for m in models]

    class Combined(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.parts = torch.nn.ModuleList(modules)

        def forward(self, x):
            outputs = []
            for part, shape in zip(self.parts, shapes):
                y = part(x)
                outputs.append(y.unsqueeze(-1) if not shape else y)
            return torch.cat(outputs, dim=1)

    return Combined()


def column_slices(models: list[FuzzModel]) -> list[slice]:
    """The columns of each model in the output of `combine`."""
    slices, start = [], 0
    for m in models:
        slices.append(slice(start, start + m.width))
        start += m.width
    return slices


__all__ = ["FuzzModel", "combine", "column_slices", "generate"]
