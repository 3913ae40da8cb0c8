"""`taylor_mlir.func`: jvp, vjp, grad, jacfwd, jacrev, hessian and hvp against
torch.func (float64), their compositions, nested calls that could suffer
perturbation confusion, and bad input."""

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm
from taylor_mlir import func as tf

TOL = 1e-12
F64 = torch.float64


def close(got, want, tol=TOL):
    scale = max(float(want.abs().max()), 1.0)
    return got.shape == want.shape and float((got - want).abs().max()) <= tol * scale


torch.manual_seed(0)
W = torch.randn(4, 4, dtype=F64)
X = torch.randn(4, dtype=F64)
V = torch.randn(4, dtype=F64)


def scalar(x):
    return torch.tanh(x @ W).pow(3).sum() + torch.sin(x).sum() ** 2


def vector(x):
    return torch.sigmoid(x @ W) * x.sum()


def two_args(x, y):
    return (torch.exp(x) * y).sum() + (x * x * y).sum()


def test_grad():
    assert close(tf.grad(scalar)(X), torch.func.grad(scalar)(X))
    gx, gy = tf.grad(two_args, argnums=(0, 1))(X, V)
    rx, ry = torch.func.grad(two_args, argnums=(0, 1))(X, V)
    assert close(gx, rx) and close(gy, ry)
    assert close(tf.grad(two_args, argnums=1)(X, V), ry)


def test_jvp_and_vjp():
    value, tangent = tf.jvp(vector, (X,), (V,))
    want_value, want_tangent = torch.func.jvp(vector, (X,), (V,))
    assert close(value, want_value) and close(tangent, want_tangent)
    _, tangent2 = tf.jvp(two_args, (X, V), (V, X))
    assert close(tangent2, torch.func.jvp(two_args, (X, V), (V, X))[1])
    value, vjp_fn = tf.vjp(vector, X)
    (grad,) = vjp_fn(V)
    assert close(grad, torch.func.vjp(vector, X)[1](V)[0])


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
def test_jacobians(transform):
    got = getattr(tf, transform)(vector)(X)
    assert close(got, torch.func.jacfwd(vector)(X))
    matrix = torch.randn(2, 3, dtype=F64)

    def of_matrix(a):
        return torch.tanh(a).sum(0)

    got = getattr(tf, transform)(of_matrix)(matrix)
    assert close(got, torch.func.jacrev(of_matrix)(matrix))


def test_hessian_and_hvp():
    assert close(tf.hessian(scalar)(X), torch.func.hessian(scalar)(X))
    grad, hv = tf.hvp(scalar, (X,), (V,))
    assert close(grad, torch.func.grad(scalar)(X))
    assert close(hv, torch.func.hessian(scalar)(X) @ V)


def test_compositions():
    x = torch.tensor(0.7, dtype=F64)
    one = torch.tensor(1.0, dtype=F64)

    def f(t):
        return torch.sin(t) * t**3

    d = torch.func.grad
    assert close(tf.grad(tf.grad(f))(x), d(d(f))(x))
    assert close(tf.grad(tf.grad(tf.grad(f)))(x), d(d(d(f)))(x))
    assert close(tf.hvp(tf.grad(f), (x,), (one,))[1], d(d(d(f)))(x))
    assert close(
        tf.jacfwd(tf.jacrev(scalar))(X), torch.func.jacfwd(torch.func.jacrev(scalar))(X)
    )
    assert close(tf.jacrev(tf.grad(scalar))(X), torch.func.hessian(scalar)(X))
    assert close(
        tf.grad(lambda x: tf.grad(scalar)(x).pow(2).sum())(X),
        d(lambda x: d(scalar)(x).pow(2).sum())(X),
    )


def test_nested_derivatives_see_both_levels():
    """A derivative taken inside a function that is differentiated again,
    with respect to a variable both levels see: no perturbation confusion."""
    x = torch.tensor(1.5, dtype=F64)
    one = torch.tensor(1.0, dtype=F64)
    # d/dx [x · d/dy (x y)|_{y=x}] = d/dx x² = 2x
    nested = tf.grad(lambda x: x * tf.grad(lambda y: x * y)(x))(x)
    assert close(nested, 2 * x)
    # Siskind & Pearlmutter: d/dx [x · d/dy (x + y)|_{y=1}] = 1 (confusion: 2)
    assert close(tf.grad(lambda x: x * tf.grad(lambda y: x + y)(one))(x), one)
    # a jvp inside a grad, the inner function closing over the outer variable
    inner = lambda x: tf.jvp(lambda y: torch.sin(x * y), (x,), (one,))[1]  # noqa: E731
    want = torch.func.grad(
        lambda x: torch.func.jvp(lambda y: torch.sin(x * y), (x,), (one,))[1]
    )(x)
    assert close(tf.grad(inner)(x), want)
    # a vector case: grad over a function whose hvp closes over x
    vec = tf.grad(
        lambda x: tf.hvp(lambda y: (x * y.pow(3)).sum(), (x,), (x,))[1].sum()
    )(X)
    ref = torch.func.grad(
        lambda x: torch.func.jvp(
            torch.func.grad(lambda y: (x * y.pow(3)).sum()), (x,), (x,)
        )[1].sum()
    )(X)
    assert close(vec, ref)


def test_modules_and_closures_are_read_at_each_call():
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)
    ).double()
    scale = torch.tensor(2.0, dtype=F64)

    def f(x):
        return model(x).sum() * scale

    g = tf.grad(f)
    assert close(g(X), torch.func.grad(f)(X))
    with torch.no_grad():
        model[0].weight.mul_(0.5)
        scale.fill_(3.0)
    assert close(g(X), torch.func.grad(f)(X))


def test_compiled_once_per_shape():
    g = tf.grad(scalar)
    g(X)
    before = len(tf._CACHE)
    g(X + 1)
    assert len(tf._CACHE) == before
    g(torch.randn(4, dtype=F64))
    assert len(tf._CACHE) == before


def test_bad_input():
    with pytest.raises(ValueError, match="must return a scalar"):
        tf.grad(vector)(X)
    with pytest.raises(ValueError, match="tangent must have its primal's shape"):
        tf.jvp(vector, (X,), (torch.randn(3, dtype=F64),))
    with pytest.raises(TypeError, match="tuples"):
        tf.jvp(vector, X, V)
    _, vjp_fn = tf.vjp(vector, X)
    with pytest.raises(ValueError, match="cotangent must have the output's shape"):
        vjp_fn(torch.randn(5, dtype=F64))
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        tf.grad(scalar)([1.0, 2.0])
    big = torch.randn(300, dtype=F64)
    with pytest.raises(ValueError, match="MAX_JACREV_ROWS"):
        tf.jacrev(lambda x: torch.tanh(x))(big)


def test_an_op_without_adjoint_is_refused_by_name():
    def product(x):
        return torch.sin(x).prod()

    with pytest.raises(tm.UnsupportedOperationError) as info:
        tf.grad(product)(X)
    assert info.value.op == "aten.prod.default"
    assert "test_func.py" in info.value.source


def test_package_attribute():
    assert tm.func is tf
