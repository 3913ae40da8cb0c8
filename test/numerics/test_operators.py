"""Operators as weighted sums of directional derivatives
(`taylor_mlir.operators`): the decompositions reproduce each operator's
symbol exactly, and compiled through collapsed Taylor mode they match
torch.func in float64."""

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from taylor_mlir import operators

torch = pytest.importorskip("torch")
from torch.func import jacfwd, vmap

sys.path.insert(0, str(Path(__file__).parent))
from taylor_mlir.taylor_mode import broadcast_directions
from taylor_mlir.torch_import import import_torch_module
from taylor_reference import relative_error, tanh_sigmoid_mlp


def points(dim, n=7, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim))


@pytest.mark.parametrize("dim", [1, 2, 5, 50])
def test_laplacian_symbol(dim):
    op = operators.laplacian(dim)
    y = points(dim)
    assert op.order == 2 and op.num_directions == dim
    np.testing.assert_allclose(op.symbol(y), (y**2).sum(-1), rtol=1e-13)


def test_weighted_laplacian_symbol():
    sigma = np.random.default_rng(1).standard_normal((5, 3))
    op = operators.weighted_laplacian(sigma)
    y = points(5)
    assert op.num_directions == 3
    np.testing.assert_allclose(
        op.symbol(y), np.einsum("nd,de,ne->n", y, sigma @ sigma.T, y)
    )


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 5, 8])
def test_biharmonic_symbol_and_count(dim):
    op = operators.biharmonic(dim)
    y = points(dim)
    np.testing.assert_allclose(op.symbol(y), (y**2).sum(-1) ** 2, rtol=1e-12)
    assert op.order == 4
    assert op.num_directions == (dim * (dim - 1) if dim == 4 else dim * dim)


def random_terms(dim, orders, seed):
    rng = np.random.default_rng(seed)
    terms = {}
    for order in orders:
        for alpha in itertools.product(range(order + 1), repeat=dim):
            if sum(alpha) == order and rng.random() < 0.5:
                terms[alpha] = float(rng.integers(-3, 4)) / 2
    return terms


@pytest.mark.parametrize(
    "dim,orders", [(1, [1, 3]), (2, [2, 4]), (3, [1, 2, 3]), (4, [4])]
)
def test_linear_symbol(dim, orders):
    terms = random_terms(dim, orders, seed=dim)
    sums = operators.linear(terms, dim)
    y = points(dim)
    for s in sums:
        want = sum(
            c * np.prod(y ** np.array(alpha), axis=-1)
            for alpha, c in terms.items()
            if sum(alpha) == s.order
        )
        np.testing.assert_allclose(s.symbol(y), want, rtol=1e-11, atol=1e-12)
    assert sorted(s.order for s in sums) == sorted(
        {sum(a) for a, c in terms.items() if c}
    )


def test_linear_uses_only_the_variables_it_needs():
    # ∂²/∂x0∂x2 in 50 dimensions: directions over x0 and x2 only.
    alpha = [0] * 50
    alpha[0] = alpha[2] = 1
    (s,) = operators.linear({tuple(alpha): 1.0}, 50)
    assert s.num_directions <= 3
    assert np.all(s.directions[:, [1] + list(range(3, 50))] == 0)


def test_stochastic_directions():
    op = operators.stochastic_laplacian(6, 10, "rademacher", seed=3)
    assert set(np.unique(op.directions)) <= {-1.0, 1.0}
    np.testing.assert_allclose(op.weights, 0.1)
    again = operators.stochastic_laplacian(6, 10, "rademacher", seed=3)
    np.testing.assert_array_equal(op.directions, again.directions)
    other = operators.stochastic_laplacian(6, 10, "rademacher", seed=4)
    assert not np.array_equal(op.directions, other.directions)
    normal = operators.stochastic_biharmonic(3, 36, seed=0)
    assert normal.order == 4 and normal.num_directions == 36
    np.testing.assert_allclose(normal.weights, 1 / 108)


@pytest.mark.parametrize(
    "make,exact",
    [
        (
            lambda s: operators.stochastic_laplacian(4, 20000, "rademacher", seed=s),
            lambda y: (y**2).sum(),
        ),
        (
            lambda s: operators.stochastic_laplacian(4, 20000, "normal", seed=s),
            lambda y: (y**2).sum(),
        ),
        (
            lambda s: operators.stochastic_biharmonic(4, 200000, seed=s),
            lambda y: (y**2).sum() ** 2,
        ),
    ],
)
def test_stochastic_symbols_are_unbiased(make, exact):
    y = points(4, n=1)[0]
    estimate = make(11).symbol(y[None])[0]
    assert abs(estimate - exact(y)) <= 0.05 * exact(y)


def test_broadcast_directions():
    v = np.arange(6.0).reshape(2, 3)
    seeded = broadcast_directions(v, 4)
    assert isinstance(seeded, np.ndarray) and seeded.shape == (2, 4, 3)
    assert seeded.flags.c_contiguous and np.all(seeded[:, 2] == v)
    seeded = broadcast_directions(torch.from_numpy(v), 4)
    assert isinstance(seeded, torch.Tensor) and seeded.is_contiguous()
    assert torch.equal(seeded[:, 1], torch.from_numpy(v))


def test_errors():
    with pytest.raises(ValueError, match="length 2; expected 3"):
        operators.linear({(1, 1): 1.0}, 3)
    with pytest.raises(ValueError, match="non-negative with a positive order"):
        operators.linear({(0, 0, 0): 1.0}, 3)
    with pytest.raises(ValueError, match="'rademacher' or 'normal', got 'uniform'"):
        operators.stochastic_laplacian(3, 2, "uniform")
    with pytest.raises(ValueError, match="shape \\[D, R\\]"):
        operators.weighted_laplacian(np.ones(3))
    with pytest.raises(ValueError, match="positive integer"):
        operators.laplacian(0)


# End to end: the decompositions through collapsed Taylor mode vs torch.func.

D, B = 3, 4


@pytest.fixture(scope="module")
def mlp():
    model = tanh_sigmoid_mlp(D, 12, seed=5)
    x = torch.randn(B, D, dtype=torch.float64)
    return model, x, import_torch_module(model, (x,))


def apply(text, s, x):
    """Σ_r w_r ∂^K_{v_r} f at each row of x, by collapsed Taylor mode."""
    seed = broadcast_directions(torch.from_numpy(s.directions), x.shape[0])
    # The top Taylor coefficient is the K-th directional derivative.
    return s.taylor_jet(text)(x, seed)[-1][:, 0]


def derivative_tensor(model, x, order):
    f = lambda z: model(z[None])[0, 0]
    for _ in range(order):
        f = jacfwd(f)
    return vmap(f)(x)


def test_biharmonic_against_torch_func(mlp):
    model, x, text = mlp
    got = apply(text, operators.biharmonic(D), x)
    t = derivative_tensor(model, x, 4)
    want = torch.einsum("biijj->b", t)
    assert relative_error(got, want) <= 1e-9


def test_mixed_linear_operator_against_torch_func(mlp):
    model, x, text = mlp
    terms = {
        (1, 1, 0): 2.0,
        (0, 0, 2): -1.0,
        (2, 1, 0): 0.5,
        (0, 1, 2): 3.0,
        (1, 0, 0): 1.5,
    }
    got = sum(apply(text, s, x) for s in operators.linear(terms, D))
    want = 0
    for alpha, c in terms.items():
        t = derivative_tensor(model, x, sum(alpha))
        index = [d for d, a in enumerate(alpha) for _ in range(a)]
        want = want + c * t[(slice(None), *index)]
    assert relative_error(got, want) <= 1e-9
    assert math.isfinite(float(got.abs().max()))
