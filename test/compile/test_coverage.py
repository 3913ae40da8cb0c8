"""Every function of coverage.ENTRIES compiles and agrees with torch.func in
float64 (Laplacian and all Taylor coefficients to order 4), or is refused
with `UnsupportedOperationError` naming its aten op and the model's line;
docs/coverage.md is the table of these results; gradients through the
rules of the inverse trigonometric and hyperbolic functions, atan2, and the
decompositions (hypot, erfc) are those of torch.func."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import coverage  # noqa: E402
import reference as ref  # noqa: E402

SUPPORTED = [e for e in coverage.ENTRIES if not e.refused]
REFUSED = [e for e in coverage.ENTRIES if e.refused]


@pytest.fixture(scope="module")
def results():
    return {r.entry.name: r for r in coverage.check()}


def test_entries_have_unique_names():
    names = [e.name for e in coverage.ENTRIES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("entry", SUPPORTED, ids=lambda e: e.name)
def test_supported(results, entry):
    r = results[entry.name]
    assert r.error is None, f"{entry.name} does not compile: {r.error}"
    assert set(r.errors) == {"laplacian", "taylor"}
    for op, error in r.errors.items():
        assert error <= coverage.TOL, f"{entry.name}, {op}: relative error {error:.2e}"


def _base(op: str) -> str:
    return op.split(".")[1].removeprefix("special_")


@pytest.mark.parametrize("entry", REFUSED, ids=lambda e: e.name)
def test_refused_by_name(results, entry):
    r = results[entry.name]
    assert isinstance(r.error, tm.UnsupportedOperationError), repr(r.error)
    # torch.special aliases reach torch-mlir as the op they alias
    # (aten.special_i0 as aten.i0).
    assert _base(r.error.op) in map(_base, r.aten), (r.error.op, r.aten)
    assert r.error.source == coverage.CALL_SITE
    message = str(r.error)
    assert r.error.op in message and coverage.CALL_SITE in message
    assert "return fn(*args)" in message  # the model's line itself


def test_docs_coverage_is_current(results):
    """docs/coverage.md is the table of these results."""
    rendered = coverage.render([results[e.name] for e in coverage.ENTRIES])
    current = coverage.DOC.read_text() if coverage.DOC.exists() else ""
    assert (
        current == rendered
    ), f"{coverage.DOC} is stale: regenerate with {coverage.REGENERATE}"


class NewFunctions(torch.nn.Module):
    """A layer, then every new rule and decomposition, then a layer."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.inp = torch.nn.Linear(4, 4).double()
        self.out = torch.nn.Linear(9, 1).double()

    def forward(self, x):
        h = self.inp(x)
        u = 0.5 * torch.tanh(h)
        a, b = h[:, :2], h[:, 2:]
        return self.out(
            torch.cat(
                [
                    torch.asin(u[:, :1]),
                    torch.acos(u[:, 1:2]),
                    torch.atanh(u[:, 2:3]),
                    torch.asinh(h[:, :1]),
                    torch.acosh(1.5 + h[:, 1:2] ** 2),
                    torch.atan2(a, b),
                    torch.hypot(a[:, :1], b[:, :1]),
                    torch.erfc(h[:, 3:]),
                ],
                -1,
            )
        )


def test_gradients_through_new_rules():
    """The adjoint rules (the scalar rules at order 1): the gradient of a
    loss of the Laplacian with respect to the parameters and x."""
    model = NewFunctions()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64)
    compiled = tm.compile(model, op="laplacian", example_inputs=x)
    tensors = list(model.parameters())

    def gradients(value, xs):
        # The output layer's bias does not reach the Laplacian.
        grads = torch.autograd.grad((value**2).sum(), [*tensors, xs], allow_unused=True)
        return [
            torch.zeros_like(t) if g is None else g
            for t, g in zip([*tensors, xs], grads)
        ]

    xg = x.clone().requires_grad_(True)
    got = gradients(compiled(xg), xg)
    xr = x.clone().requires_grad_(True)
    want = gradients(ref.laplacian(model, xr), xr)
    assert float(want[-1].abs().max()) > 0  # x's gradient is not trivial
    for a, b in zip(got, want):
        assert ref.relative_error(a, b) <= 1e-10
