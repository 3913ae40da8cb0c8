"""Linear algebra in compiled operators: ``torch.linalg.{inv, det, slogdet,
solve, cholesky}``, ``torch.{inverse, det, logdet}`` on batches of small
matrices built by a network, against torch.func in float64 (≤ 1e-10
relative): Laplacian (collapsed and standard Taylor mode), biharmonic
(order 4), gradients with respect to the parameters (training, through
``taylor-reverse``), and the behaviour on singular / indefinite matrices
(docs/linalg.md).

References use the Leibniz formula (a sum over permutations) for
determinants and the adjugate for inverses instead of ``torch.linalg``:
PyTorch's own higher derivatives of ``slogdet`` and ``solve`` are wrong
(``slogdet``: under ``vmap`` already the Hessian, without it from the third
derivative on; ``solve``: the fourth), which finite differences of the
Laplacian confirm.
"""

import itertools
import math

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm

TOL = 1e-10
N = 3  # matrix size
D = 4  # input dimension
B = 3  # batch

DTYPE = torch.float64


def leibniz_det(a):
    """``det`` of ``[..., n, n]`` as a polynomial (reference only)."""
    n = a.shape[-1]
    total = 0
    for perm in itertools.permutations(range(n)):
        inversions = sum(
            1 for i in range(n) for j in range(i + 1, n) if perm[i] > perm[j]
        )
        term = (-1) ** inversions
        for i, j in enumerate(perm):
            term = term * a[..., i, j]
        total = total + term
    return total


def adjugate_inverse(a):
    """``A^-1 = adj(A) / det(A)`` by cofactors (reference only)."""
    n = a.shape[-1]
    rows = []
    for i in range(n):
        row = []
        for j in range(n):
            keep_r = [r for r in range(n) if r != j]
            keep_c = [c for c in range(n) if c != i]
            minor = a[..., keep_r, :][..., :, keep_c]
            row.append((-1) ** (i + j) * leibniz_det(minor))
        rows.append(torch.stack(row, -1))
    return torch.stack(rows, -2) / leibniz_det(a)[..., None, None]


def _weights(n, dtype=DTYPE):
    return torch.arange(1.0, n * n + 1, dtype=dtype).reshape(n, n) / (n * n)


#: name -> (function of the matrix batch, reference function of it).
KINDS = {
    "slogdet": (
        lambda a: torch.linalg.slogdet(a)[1],
        lambda a: torch.log(torch.abs(leibniz_det(a))),
    ),
    "det": (torch.linalg.det, leibniz_det),
    "torch.det": (torch.det, leibniz_det),
    "logdet": (torch.logdet, lambda a: torch.log(leibniz_det(a))),
    "inv": (
        lambda a: (torch.linalg.inv(a) * _weights(N, a.dtype)).sum((-1, -2)),
        lambda a: (adjugate_inverse(a) * _weights(N, a.dtype)).sum((-1, -2)),
    ),
    "inverse": (
        lambda a: (torch.inverse(a) * _weights(N, a.dtype)).sum((-1, -2)),
        lambda a: (adjugate_inverse(a) * _weights(N, a.dtype)).sum((-1, -2)),
    ),
    "solve": (
        lambda a: (torch.linalg.solve(a, a.mT @ _weights(N, a.dtype)) ** 2).sum(
            (-1, -2)
        ),
        lambda a: ((adjugate_inverse(a) @ a.mT @ _weights(N, a.dtype)) ** 2).sum(
            (-1, -2)
        ),
    ),
    "solve_right": (
        lambda a: (torch.linalg.solve(a, torch.sin(a.mT), left=False) ** 2).sum(
            (-1, -2)
        ),
        lambda a: ((torch.sin(a.mT) @ adjugate_inverse(a)) ** 2).sum((-1, -2)),
    ),
    "solve_broadcast": (
        lambda a: (torch.linalg.solve(a, _weights(N, a.dtype)[:, :2]) ** 2).sum(
            (-1, -2)
        ),
        lambda a: ((adjugate_inverse(a) @ _weights(N, a.dtype)[:, :2]) ** 2).sum(
            (-1, -2)
        ),
    ),
    "solve_vector": (
        lambda a: torch.linalg.solve(a, torch.cos(a[..., 0])).sum(-1),
        lambda a: (adjugate_inverse(a) @ torch.cos(a[..., 0])[..., None]).sum((-1, -2)),
    ),
    "cholesky": (
        lambda a: (
            torch.linalg.cholesky(a @ a.mT + torch.eye(N, dtype=a.dtype))
            * _weights(N, a.dtype)
        ).sum((-1, -2)),
        None,
    ),
    "cholesky_upper": (
        lambda a: (
            torch.linalg.cholesky(a @ a.mT + torch.eye(N, dtype=a.dtype), upper=True)
            * _weights(N, a.dtype)
        ).sum((-1, -2)),
        None,
    ),
}


class MatrixModel(torch.nn.Module):
    """x ↦ f(A(x)), A(x) = 2 I + 0.5 tanh(W x + b) reshaped to n × n (well
    conditioned, positive determinant)."""

    def __init__(self, f, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.f = f
        self.lin = torch.nn.Linear(D, N * N, dtype=DTYPE)

    def matrix(self, x):
        a = 0.5 * torch.tanh(self.lin(x)).reshape(-1, N, N)
        return a + 2.0 * torch.eye(N, dtype=x.dtype)

    def forward(self, x):
        return self.f(self.matrix(x))


def _model(kind):
    f, f_ref = KINDS[kind]
    model = MatrixModel(f)
    reference = MatrixModel(f_ref or f)
    reference.load_state_dict(model.state_dict())
    return model, reference


def _inputs(seed=1):
    torch.manual_seed(seed)
    return torch.randn(B, D, dtype=DTYPE)


def _laplacian(model, x):
    """Per datum (no ``vmap``), so that the reference keeps autograd
    through the parameters."""

    def one(xi):
        f = lambda y: model(y[None])[0]
        return torch.func.hessian(f)(xi).diagonal().sum()

    return torch.stack([one(xi) for xi in x])


def _biharmonic(model, x):
    def one(xi):
        f = lambda y: model(y[None])[0]
        lap = lambda y: torch.func.hessian(f)(y).diagonal().sum()
        return torch.func.hessian(lap)(xi).diagonal().sum()

    return torch.stack([one(xi) for xi in x])


def _relative_error(got, want):
    scale = max(float(want.abs().max()), 1e-300)
    return float((got - want).abs().max()) / scale


@pytest.mark.parametrize("collapsed", [True, False], ids=["collapsed", "standard"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_laplacian(kind, collapsed):
    model, reference = _model(kind)
    x = _inputs()
    op = tm.compile(model, "laplacian", example_inputs=x, collapsed=collapsed)
    got = op(x)
    want = _laplacian(reference, x)
    assert _relative_error(got, want) <= TOL


@pytest.mark.parametrize("kind", ["slogdet", "det", "inv", "solve", "cholesky"])
def test_biharmonic(kind):
    model, reference = _model(kind)
    x = _inputs()
    op = tm.compile(model, "biharmonic", example_inputs=x)
    assert _relative_error(op(x), _biharmonic(reference, x)) <= TOL


@pytest.mark.parametrize(
    "kind", ["slogdet", "det", "inv", "solve", "solve_vector", "cholesky"]
)
def test_gradients_of_the_laplacian(kind):
    """Training: the Laplacian's gradient with respect to the parameters
    (reverse mode through the Taylor-mode program, hence through the adjoint
    rules of the linear algebra ops) and to x."""
    model, reference = _model(kind)
    x = _inputs()
    op = tm.compile(model, "laplacian", example_inputs=x)
    xg = x.clone().requires_grad_(True)
    xr = x.clone().requires_grad_(True)
    weights = torch.linspace(0.5, 1.5, B, dtype=DTYPE)
    got = torch.autograd.grad((op(xg) * weights).sum(), [*model.parameters(), xg])
    want = torch.autograd.grad(
        (_laplacian(reference, xr) * weights).sum(), [*reference.parameters(), xr]
    )
    for g, w in zip(got, want):
        assert _relative_error(g, w) <= TOL


def test_value_and_gradient_outputs():
    """``outputs=("value", "gradient", "operator")`` of a log-determinant:
    the pieces of a local kinetic energy."""
    model, reference = _model("slogdet")
    x = _inputs()
    op = tm.compile(
        model,
        "laplacian",
        example_inputs=x,
        outputs=("value", "gradient", "operator"),
    )
    value, gradient, lap = op(x)
    assert _relative_error(value, reference(x)) <= TOL
    want_gradient = torch.stack(
        [torch.func.grad(lambda y: reference(y[None])[0])(xi) for xi in x]
    )
    assert _relative_error(gradient, want_gradient) <= TOL
    assert _relative_error(lap, _laplacian(reference, x)) <= TOL


def test_dynamic_batch():
    model, reference = _model("slogdet")
    x = _inputs()
    op = tm.compile(model, "laplacian", example_inputs=x, dynamic_batch=True)
    for batch in (1, 5):
        xb = torch.randn(batch, D, dtype=DTYPE)
        assert _relative_error(op(xb), _laplacian(reference, xb)) <= TOL


class SingularModel(torch.nn.Module):
    """f(A(x)) with A(x) = tanh(W x + b) reshaped, its last row zero:
    exactly singular for every x."""

    def __init__(self, f):
        super().__init__()
        torch.manual_seed(0)
        self.f = f
        self.lin = torch.nn.Linear(D, N * N, dtype=DTYPE)
        mask = torch.ones(N, N, dtype=DTYPE)
        mask[-1] = 0.0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return self.f(torch.tanh(self.lin(x)).reshape(-1, N, N) * self.mask)


def _values_and_laplacian(f):
    x = _inputs()
    op = tm.compile(
        SingularModel(f),
        "laplacian",
        example_inputs=x,
        outputs=("value", "operator"),
        check=False,
    )
    return op(x)


def test_singular_slogdet_and_det():
    """Singular matrices: slogdet gives sign 0 and -inf (as PyTorch), det
    exactly 0; their derivatives there are NaN (A^-1 does not exist), never
    a finite wrong number."""
    value, lap = _values_and_laplacian(lambda a: torch.linalg.slogdet(a)[1])
    assert torch.all(value == -math.inf)
    assert torch.all(torch.isnan(lap))
    value, lap = _values_and_laplacian(lambda a: torch.linalg.slogdet(a)[0])
    assert torch.all(value == 0.0)
    value, lap = _values_and_laplacian(torch.linalg.det)
    assert torch.all(value == 0.0)
    assert torch.all(torch.isnan(lap))


def test_singular_inverse_is_not_finite():
    value, lap = _values_and_laplacian(lambda a: torch.linalg.inv(a).sum((-1, -2)))
    assert not torch.any(torch.isfinite(value))
    assert not torch.any(torch.isfinite(lap))


def test_cholesky_of_an_indefinite_matrix_is_nan():
    """PyTorch raises; the compiled code returns NaN from the first
    non-positive pivot on (here the first: a negative definite matrix),
    never a finite factor."""
    value, lap = _values_and_laplacian(
        lambda a: torch.linalg.cholesky(-(a @ a.mT) - 0.1 * torch.eye(N, dtype=DTYPE))[
            ..., -1, -1
        ]
    )
    assert torch.all(torch.isnan(value))
    assert torch.all(torch.isnan(lap))


def test_imported_ops():
    """The torch.linalg calls reach taylor-mlir as the taylor dialect's
    ops, with the FX node's location."""
    from taylor_mlir.torch_import import import_torch_module

    from taylor_mlir.torch_import import import_exported_program

    model, _ = _model("det")
    text = import_torch_module(model, (_inputs(),))
    assert '"taylor.slogdet"' in text
    assert "torch.operator" not in text and "func.call" not in text
    # The op's location names its FX node, whose stack trace is the model's
    # line (what errors report).
    imported = import_exported_program(torch.export.export(model, (_inputs(),)))
    assert '"fx:slogdet"' in imported.text
    node = imported.nodes["slogdet"]
    assert node["target"] == "taylor.slogdet.default"
    assert "test_linalg.py" in node["stack_trace"]
    model, _ = _model("cholesky")
    assert '"taylor.cholesky"' in import_torch_module(model, (_inputs(),))
    model, _ = _model("solve_broadcast")
    assert '"taylor.solve"' in import_torch_module(model, (_inputs(),))


def test_function_transforms():
    """``taylor_mlir.func`` (grad by taylor-reverse, hessian as
    jacfwd(jacrev)) of a function with slogdet and inv."""
    from taylor_mlir import func as tf

    torch.manual_seed(0)
    w = torch.randn(D, N * N, dtype=DTYPE)

    def matrix(x):
        return torch.tanh(x @ w).reshape(N, N) + 2.0 * torch.eye(N, dtype=DTYPE)

    def f(x):
        a = matrix(x)
        return torch.linalg.slogdet(a)[1] + torch.linalg.inv(a).sum()

    def f_ref(x):
        a = matrix(x)
        return torch.log(leibniz_det(a).abs()) + adjugate_inverse(a).sum()

    x = torch.randn(D, dtype=DTYPE)
    assert _relative_error(tf.grad(f)(x), torch.func.grad(f_ref)(x)) <= TOL
    assert _relative_error(tf.hessian(f)(x), torch.func.hessian(f_ref)(x)) <= TOL


@pytest.mark.parametrize("kind", ["slogdet", "inv", "cholesky"])
def test_float32(kind):
    """float32 models compile to float32 loops and rules; the Laplacian
    agrees with the float64 reference to float32 rounding."""
    model, reference = _model(kind)
    x = _inputs()
    op = tm.compile(model.float(), "laplacian", example_inputs=x.float())
    got = op(x.float())
    assert got.dtype == torch.float32
    assert _relative_error(got.double(), _laplacian(reference, x)) <= 1e-4


def _directional(model, x, v, order):
    """``d^order/dt^order f(x + t v)`` per datum, by nested ``jvp``."""

    def one(xi):
        g = lambda y: model(y[None])[0]
        for _ in range(order):
            g = (lambda h: lambda y: torch.func.jvp(h, (y,), (v,))[1])(g)
        return g(xi)

    return torch.stack([one(xi) for xi in x])


@pytest.mark.parametrize("kind", ["slogdet", "inv", "solve", "cholesky"])
def test_taylor_coefficients_to_order_3(kind):
    """``op="taylor"``: every coefficient f_0 .. f_3 along two directions
    (standard Taylor mode, each recurrence to order 3)."""
    model, reference = _model(kind)
    x = _inputs()
    torch.manual_seed(7)
    directions = torch.randn(2, D, dtype=DTYPE)
    op = tm.compile(model, "taylor", example_inputs=x, order=3, directions=directions)
    got = op(x)  # [K+1, R, B]
    for r, v in enumerate(directions):
        for k in range(4):
            want = _directional(reference, x, v, k)
            assert _relative_error(got[k, r], want) <= TOL, (k, r)


def test_weighted_laplacian():
    model, reference = _model("slogdet")
    x = _inputs()
    torch.manual_seed(5)
    sigma = torch.randn(D, 2, dtype=DTYPE)
    op = tm.compile(model, "weighted_laplacian", example_inputs=x, sigma=sigma)

    def one(xi):
        hessian = torch.func.hessian(lambda y: reference(y[None])[0])(xi)
        return torch.trace(sigma.T @ hessian @ sigma)

    assert _relative_error(op(x), torch.stack([one(xi) for xi in x])) <= TOL
