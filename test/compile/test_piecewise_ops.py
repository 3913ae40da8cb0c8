"""Scans and selections that torch-mlir lowers into its TMTensor dialect.

``cumsum``, ``cumprod``, ``logcumsumexp``, ``sort``, ``argsort``, ``msort``,
``topk``, ``kthvalue`` and ``median`` are decomposed before torch-mlir
(`taylor_mlir._decompositions`): their operators and gradients against
torch.func in float64, their values and indices against eager torch
(NaN, infinities, ties); ``max``/``min`` with a ``dim`` (lowered to linalg by
torch-mlir itself) alongside. What stays in TMTensor (scatters) or fails in
torch-mlir (``cummax``) is refused with `UnsupportedOperationError` naming the aten op and the model's
source line, through ``compile`` and through ``taylor_mlir.func``.
"""

import inspect
import math
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm
from taylor_mlir import _decompositions as decompositions
from taylor_mlir import func as tf

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref
from reference import relative_error
from test_compile import inputs

TOL = 1e-10
D, H = 3, 5


class _Features(torch.nn.Module):
    """``tanh(W x + b)``, ``[B, H]``, then the op under test, then a fixed
    weighting (so that the output depends on the order of what the op
    returns) and a nonlinearity (so that every coefficient matters)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(D, H)
        self.register_buffer("w", torch.linspace(-1.0, 1.5, H))

    def features(self, x):
        return torch.tanh(self.linear(x))


class Cumsum(_Features):
    def forward(self, x):
        y = torch.cumsum(self.features(x), dim=-1)
        return torch.sin(y) @ self.w


class Cumsum3d(_Features):
    def forward(self, x):
        h = self.features(x).reshape(-1, 1, H).expand(-1, 2, H)
        y = h.cumsum(1) * torch.arange(1.0, 3.0, dtype=x.dtype)[:, None]
        return torch.sin(y).sum((1, 2))


class Cumprod(_Features):
    def forward(self, x):
        y = torch.cumprod(self.features(x) + 0.5, dim=1)
        return torch.tanh(y) @ self.w


class Logcumsumexp(_Features):
    def forward(self, x):
        y = torch.logcumsumexp(2.0 * self.features(x), dim=-1)
        return (y * y) @ self.w


class Sort(_Features):
    def forward(self, x):
        y = torch.sort(self.features(x), dim=-1).values
        return torch.sin(2.0 * y) @ self.w


class SortDescending(_Features):
    def forward(self, x):
        values, indices = torch.sort(self.features(x), dim=1, descending=True)
        return (values**3 + values * indices) @ self.w


class Argsort(_Features):
    def forward(self, x):
        h = self.features(x)
        return (torch.argsort(h, dim=-1, stable=True) * h**2) @ self.w


class Topk(_Features):
    def forward(self, x):
        values, indices = torch.topk(self.features(x), 3, dim=-1)
        return (torch.exp(values) * (indices + 1)) @ self.w[:3]


class TopkSmallest(_Features):
    def forward(self, x):
        values = torch.topk(self.features(x), 2, largest=False).values
        return torch.sin(values).prod(-1)


class Median(_Features):
    def forward(self, x):
        h = self.features(x)
        return torch.median(h**3, dim=-1).values + torch.msort(h.T).T @ self.w


class Kthvalue(_Features):
    def forward(self, x):
        return torch.exp(torch.kthvalue(self.features(x), 2, dim=-1).values)


class MaxMin(_Features):
    """Lowered to linalg by torch-mlir itself (argmax-carrying reductions)."""

    def forward(self, x):
        h = self.features(x)
        top, where = torch.max(h**3, dim=-1)
        low, at = torch.min(torch.sin(h), dim=1)
        return top * (where + 1) + low * at + torch.amin(h, -1) ** 2


SUPPORTED = [
    Cumsum,
    Cumsum3d,
    Cumprod,
    Logcumsumexp,
    Sort,
    SortDescending,
    Argsort,
    Topk,
    TopkSmallest,
    Median,
    Kthvalue,
    MaxMin,
]


def _model(cls):
    return cls().double()


@pytest.mark.parametrize(
    "op, reference",
    [("laplacian", ref.laplacian), ("biharmonic", ref.biharmonic)],
)
@pytest.mark.parametrize("cls", SUPPORTED, ids=lambda c: c.__name__)
def test_operators_match_torch_func(cls, op, reference):
    model = _model(cls)
    x = inputs(4, D)
    compiled = tm.compile(model, op=op, example_inputs=x)
    want = reference(model, x)[:, 0]
    assert want.abs().max() > 1e-3  # the operator is not trivially zero
    assert relative_error(compiled(x), want) <= TOL


@pytest.mark.parametrize("cls", SUPPORTED, ids=lambda c: c.__name__)
def test_taylor_coefficients_match_torch_func(cls):
    """Third-order coefficients along two directions, primal included."""
    model = _model(cls)
    x = inputs(3, D, seed=2)
    directions = torch.tensor([[1.0, -0.5, 0.25], [0.3, 0.7, -1.1]])
    compiled = tm.compile(
        model, op="taylor", example_inputs=x, order=3, directions=directions
    )
    want = ref.taylor(model, x, directions, 3)[..., 0]
    assert relative_error(compiled(x), want) <= TOL


@pytest.mark.parametrize("cls", [Cumsum, Cumprod, Logcumsumexp, Sort, Topk, Median])
def test_gradients_match_autograd_through_torch_func(cls):
    """Training: the Laplacian's gradient with respect to the parameters and
    to ``x``."""
    model = _model(cls)
    x = inputs(4, D)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    params = list(model.parameters())

    def gradients(value_fn):
        xg = x.clone().requires_grad_(True)
        value = value_fn(xg)
        loss = (value * torch.linspace(-1.0, 1.0, 4, dtype=x.dtype)).sum()
        loss = loss + (value**2).sum()
        return torch.autograd.grad(loss, [*params, xg])

    got = gradients(lap)
    want = gradients(lambda xg: ref.laplacian(model, xg)[:, 0])
    for g, w in zip(got, want):
        assert float(w.abs().max()) > 0
        assert relative_error(g, w) <= TOL


# -- values and indices --------------------------------------------------------


class Outputs(torch.nn.Module):
    """Values and indices of each op, side by side, as one float output:
    compiled with ``op="taylor"``, coefficient 0 is the model's value."""

    def forward(self, x):
        h = torch.cat([x, 0.5 * x - 0.3, x[:, :2] ** 2], dim=-1)  # [B, 8]
        parts = [
            torch.cumsum(h, -1),
            torch.cumprod(h, -1),
            torch.logcumsumexp(h, -1),
            *torch.sort(h, -1),
            *torch.sort(h, -1, descending=True),
            torch.argsort(h, -1),
            *torch.topk(h, 3),
            *torch.topk(h, 2, largest=False),
            *torch.median(h, -1, keepdim=True),
            *torch.kthvalue(h, 3, -1, keepdim=True),
            *torch.max(h, -1, keepdim=True),
            *torch.min(h, -1, keepdim=True),
        ]
        return torch.cat([p.to(h.dtype) for p in parts], dim=-1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_values_and_indices_match_torch(dtype):
    """No ties: every index equals torch's, every value torch's (to the
    rounding of sums and products, which torch accumulates differently)."""
    model = Outputs()
    x = inputs(6, D, dtype=dtype, seed=3)
    compiled = tm.compile(
        model, op="taylor", example_inputs=x, order=1, directions=torch.eye(D)
    )
    got = compiled(x)[0, 0]
    want = model(x)
    assert got.dtype == dtype
    scans = 3 * 8  # cumsum, cumprod, logcumsumexp
    eps = torch.finfo(dtype).eps
    assert torch.allclose(got[:, :scans], want[:, :scans], rtol=16 * eps, atol=0)
    # Selections: the values are elements of h, the indices small integers.
    assert torch.equal(got[:, scans:], want[:, scans:])


NAN, INF = math.nan, math.inf
SPECIAL = torch.tensor(
    [
        [3.0, NAN, 1.0, NAN, 2.0, -1.0],
        [1.0, -INF, INF, 0.0, 5.0, -2.0],
        [2.0, 2.0, -1.0, 2.0, -1.0, 0.5],  # ties
        [NAN, NAN, NAN, NAN, NAN, NAN],
    ],
    dtype=torch.float64,
)


def _same(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert torch.allclose(got, want, rtol=1e-15, atol=0, equal_nan=True), (got, want)


def test_decompositions_match_torch_on_nan_inf_and_ties():
    """NaN sorts above everything, ties keep their order (torch's stable
    sort), and the median of a row with a NaN is the first NaN."""
    x = SPECIAL
    for dim in (0, 1, -1):
        _same(decompositions._cumsum(x, dim), torch.cumsum(x, dim))
        _same(decompositions._cumprod(x, dim), torch.cumprod(x, dim))
        _same(decompositions._logcumsumexp(x, dim), torch.logcumsumexp(x, dim))
        for descending in (False, True):
            got = decompositions._sort(x, dim, descending)
            want = torch.sort(x, dim=dim, descending=descending, stable=True)
            _same(got[0], want.values)
            assert torch.equal(got[1], want.indices)
        for k in range(1, x.shape[dim] + 1):
            got = decompositions._kthvalue(x, k, dim)
            _same(got[0], torch.kthvalue(x, k, dim).values)
        got = decompositions._median_dim(x, dim, keepdim=True)
        want = torch.median(x, dim, keepdim=True)
        _same(got[0], want.values)
        no_ties = [0, 1, 3] if dim in (1, -1) else slice(None, None)
        if dim in (1, -1):  # torch's index among tied medians is unspecified
            assert torch.equal(got[1][no_ties], want.indices[no_ties])
    no_ties = torch.tensor(
        [[1.0, -INF, INF, 0.0, 5.0, -2.0], [3.0, NAN, 1.0, 0.5, 2.0, -1.0]]
    )
    for k in range(1, 7):
        for largest in (True, False):
            got = decompositions._topk(no_ties, k, -1, largest)
            want = torch.topk(no_ties, k, -1, largest)
            _same(got[0], want.values)
            assert torch.equal(got[1], want.indices)
    _same(decompositions._median(x), torch.median(x))
    _same(decompositions._median(x[1:3]), torch.median(x[1:3]))
    # Integer scans promote to int64, as torch's.
    ints = torch.arange(-3, 5, dtype=torch.int32).reshape(2, 4)
    _same(decompositions._cumsum(ints, 1), torch.cumsum(ints, 1))
    _same(decompositions._cumprod(ints, 0), torch.cumprod(ints, 0))
    got = decompositions._cumsum(ints, 1, dtype=torch.float64)
    _same(got, torch.cumsum(ints, 1, dtype=torch.float64))


def test_compiled_scans_of_infinities_and_nan():
    """cumsum never multiplies, so an infinite input spoils only the
    outputs whose prefix holds it (a contraction with a 0/1 matrix would
    add inf * 0 = NaN to the outputs before it too)."""

    class Scans(torch.nn.Module):
        def forward(self, x):
            return torch.cat([torch.cumsum(x, -1), torch.sort(x, -1).values], -1)

    x = SPECIAL[:2].clone()
    compiled = tm.compile(
        Scans(), op="taylor", example_inputs=x, order=1, directions=torch.eye(6)
    )
    got = compiled(x)
    _same(got[0, 0], Scans()(x))
    # cumsum's first derivative: the prefix indicator, NaN-free before a NaN
    # or infinity (the indicator itself is exact).
    cumsum_jacobian = got[1, :, 1, :6]  # direction r, output j
    assert torch.equal(
        cumsum_jacobian, torch.triu(torch.ones(6, 6, dtype=torch.float64))
    )


# -- refused by name -----------------------------------------------------------


class IndexAdd(torch.nn.Module):
    def forward(self, x):
        out = torch.zeros(x.shape[0], 2, dtype=x.dtype)
        out = out.index_add(1, torch.tensor([0, 1, 0]), x)  # tm_tensor.scatter
        return (out**2).sum(-1)


class ScatterAdd(torch.nn.Module):
    def forward(self, x):
        index = torch.tensor([[0, 1, 0]]).expand(x.shape[0], 3)
        out = torch.zeros(x.shape[0], 2, dtype=x.dtype).scatter_add(1, index, x)
        return (out**2).sum(-1)


class Cummax(torch.nn.Module):
    def forward(self, x):
        return torch.cummax(x, dim=-1).values.sum(-1)  # torch-mlir fails


def _line_of(cls, text):
    lines, start = inspect.getsourcelines(cls)
    return start + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize(
    "cls, aten, text, why",
    [
        (IndexAdd, "aten.index_put", "out.index_add", "tm_tensor.scatter"),
        (ScatterAdd, "aten.scatter_add", ".scatter_add(", "tm_tensor.scatter"),
        (Cummax, "aten.cummax", "torch.cummax", "torch-mlir failed"),
    ],
)
def test_ops_left_in_tmtensor_are_refused_by_name(cls, aten, text, why):
    x = inputs(4, D)
    with pytest.raises(tm.UnsupportedOperationError) as info:
        tm.compile(cls(), op="laplacian", example_inputs=x)
    error = info.value
    line = _line_of(cls, text)
    assert error.op.startswith(aten)
    assert error.source == f"{__file__}:{line}"
    assert error.op in str(error)
    assert f"{__file__}:{line}: " in str(error)
    assert why in str(error)
    assert "Unable to parse" not in str(error)


def test_func_transforms_refuse_ops_left_in_tmtensor_by_name():
    def f(x):
        index = torch.tensor([0, 1, 0])
        return torch.zeros(2, dtype=x.dtype).index_add(0, index, x).pow(2).sum()

    x = torch.randn(3, dtype=torch.float64)
    with pytest.raises(tm.UnsupportedOperationError) as info:
        tf.grad(f)(x)
    line = f.__code__.co_firstlineno + 2
    assert info.value.op.startswith("aten.index_put")
    assert "tm_tensor.scatter" in str(info.value)
    assert info.value.source == f"{__file__}:{line}"


def test_func_transforms_through_sort_and_cumsum():
    def f(x):
        return (torch.sort(x).values * torch.cumsum(x, 0)).sin().sum()

    x = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    want = torch.func.grad(f)(x)
    assert relative_error(tf.grad(f)(x), want) <= TOL
    want_h = torch.func.hessian(f)(x)
    assert relative_error(tf.hessian(f)(x), want_h) <= TOL
