"""`taylor-jet` numerics: Taylor coefficients f_0..f_K of the function suite
(`taylor_suite.py`, imported from PyTorch through torch-mlir) against nested
`torch.func.jvp` in float64 (relative error <= 1e-10) and float32."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import taylor_suite as suite  # noqa: E402

from taylor_mlir.taylor_mode import TaylorJet  # noqa: E402
from taylor_reference import reference_coefficients, relative_error  # noqa: E402
from taylor_mlir.torch_import import import_torch_modules  # noqa: E402

R = 3
MAX_ORDER = 6
FUNCTIONS = suite.all_functions()
# Orders 5 and 6 are checked on this subset (nested-jvp references of order 6
# cost ~729 evaluations per direction); every function is checked to order 4.
DEEP = [
    "tanh", "exp", "log1p", "sin", "sqrt", "pow_active", "erf", "atan",
    "reciprocal", "sigmoid", "gelu", "chain", "product_of_branches",
    "quotient_of_branches", "max_reduction", "slice_concat", "mlp_tanh",
    "residual_tanh", "sequential", "polynomial",
]
SHALLOW_ORDER = 4
# Full jets (every x_k non-zero) of order 6 on this smaller subset.
DEEP_FULL = ["tanh", "pow_active", "reciprocal", "erf", "quotient_of_branches", "mlp_tanh"]


def orders_for(name, orders, deep=DEEP):
    return [k for k in orders if k <= SHALLOW_ORDER or name in deep]
F32_FUNCTIONS = [
    "tanh", "sin", "log1p", "erf", "sigmoid", "gelu", "quotient_of_branches",
    "sum_reduction", "mlp_tanh", "mlp_softplus", "residual_tanh",
]


@pytest.fixture(scope="module")
def imported():
    """MLIR text of every suite function, float64 and float32, imported once."""
    x64 = torch.zeros(suite.B, suite.D, dtype=torch.float64)
    items = [(FUNCTIONS[name].double(), (x64,)) for name in FUNCTIONS]
    items += [(FUNCTIONS[name].float(), (x64.float(),)) for name in F32_FUNCTIONS]
    texts = import_torch_modules(items)
    names = list(FUNCTIONS)
    result = {(name, torch.float64): text for name, text in zip(names, texts)}
    result.update(
        {(name, torch.float32): text for name, text in zip(F32_FUNCTIONS, texts[len(names):])}
    )
    FUNCTIONS_F64 = {name: FUNCTIONS[name].double() for name in FUNCTIONS}
    return result, FUNCTIONS_F64


def inputs(dtype, seed, full_jet):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(suite.B, suite.D, generator=g, dtype=torch.float64)
    xs = {1: torch.randn(R, suite.B, suite.D, generator=g, dtype=torch.float64)}
    if full_jet:
        for k in range(2, MAX_ORDER + 1):
            xs[k] = torch.randn(R, suite.B, suite.D, generator=g, dtype=torch.float64) / k
    return x0.to(dtype), {k: v.to(dtype) for k, v in xs.items()}


@pytest.fixture(scope="module")
def references(imported):
    """Reference coefficients up to MAX_ORDER, per function and jet kind."""
    _, functions = imported
    cache = {}

    def get(name, full_jet):
        key = (name, full_jet)
        if key not in cache:
            seed = sum(map(ord, name))
            x0, xs = inputs(torch.float64, seed=seed, full_jet=full_jet)
            deep = DEEP_FULL if full_jet else DEEP
            order = MAX_ORDER if name in deep else SHALLOW_ORDER
            cache[key] = (x0, xs, reference_coefficients(functions[name], x0, xs, order))
        return cache[key]

    return get


def check(imported, references, name, order, full_jet, tolerance=1e-10):
    texts, _ = imported
    x0, xs, want = references(name, full_jet)
    listed = list(range(1, order + 1)) if full_jet else [1]
    jet = TaylorJet(
        texts[(name, torch.float64)], order=order, directions=R,
        input_coefficients=listed,
    )
    got = jet(x0, *[xs[k] for k in listed])
    assert len(got) == order + 1
    for k in range(order + 1):
        err = relative_error(got[k], want[k])
        assert err <= tolerance, f"{name}: coefficient {k} of K={order}: rel. error {err:.2e}"


@pytest.mark.parametrize(
    "name,order",
    [(n, k) for n in FUNCTIONS for k in orders_for(n, range(1, MAX_ORDER + 1))],
)
def test_directional_derivatives_float64(imported, references, name, order):
    """x_1 = v, x_k = 0 for k >= 2 (not materialized): f_k = ∂^k_v f."""
    check(imported, references, name, order, full_jet=False)


@pytest.mark.parametrize(
    "name,order",
    [(n, k) for n in FUNCTIONS for k in orders_for(n, [2, 4, 6], DEEP_FULL)],
)
def test_full_jets_float64(imported, references, name, order):
    """Every input coefficient x_1..x_K non-zero."""
    check(imported, references, name, order, full_jet=True)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("name", F32_FUNCTIONS)
def test_float32(imported, references, name, order):
    texts, _ = imported
    x0, xs, want = references(name, False)
    jet = TaylorJet(texts[(name, torch.float32)], order=order, directions=R,
                    input_coefficients=[1])
    got = jet(x0.float(), xs[1].float())
    for k in range(order + 1):
        assert got[k].dtype == torch.float32
        err = relative_error(got[k], want[k])
        assert err <= 1e-4, f"{name}: coefficient {k} of K={order}: rel. error {err:.2e}"


def test_polynomial_closed_form(imported):
    """f(x) = x_0^2 x_1 + 3 x_0 x_1^3 against its hand-derived directional
    derivatives (zero beyond order 4)."""
    texts, _ = imported
    g = torch.Generator().manual_seed(7)
    x0 = torch.randn(suite.B, suite.D, generator=g, dtype=torch.float64)
    v = torch.randn(R, suite.B, suite.D, generator=g, dtype=torch.float64)
    jet = TaylorJet(texts[("polynomial", torch.float64)], order=6, directions=R,
                    input_coefficients=[1])
    got = jet(x0, v)
    for k in range(7):
        for r in range(R):
            want = suite.polynomial_directional(x0[:, :2], v[r, :, :2], k)
            have = got[k] if k == 0 else got[k][r]
            np.testing.assert_allclose(have.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
