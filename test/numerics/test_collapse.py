"""`taylor-collapse` numerics: collapsed vs standard Taylor mode on the whole
function suite (`taylor_suite.py`), float64, K = 2, 3, 4, with exact (unit)
and random directions and random weights; the two must agree to 1e-12
relative. Standard Taylor mode itself is checked against torch.func in
`test_taylor_jet.py`; a few cases here are also checked against torch.func
directly."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import taylor_suite as suite
from taylor_mlir import operators
from taylor_mlir.taylor_mode import TaylorJet, broadcast_directions
from taylor_mlir.torch_import import import_torch_modules
from taylor_reference import reference_coefficients, relative_error

R = suite.D  # exact directions: the D unit vectors
FUNCTIONS = suite.all_functions()
TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def imported():
    x = torch.zeros(suite.B, suite.D, dtype=torch.float64)
    names = list(FUNCTIONS)
    texts = import_torch_modules([(FUNCTIONS[n].double(), (x,)) for n in names])
    return dict(zip(names, texts))


def directions(kind, seed):
    """x_1 of shape [R, B, D]: unit vectors (exact operators) or random."""
    if kind == "exact":
        return broadcast_directions(torch.eye(suite.D, dtype=torch.float64), suite.B)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(R, suite.B, suite.D, generator=g, dtype=torch.float64)


def compile_pair(text, order, **options):
    standard = TaylorJet(text, order=order, directions=R, sum_top=True, **options)
    collapsed = TaylorJet(
        text, order=order, directions=R, sum_top=True, collapse=True, **options
    )
    assert "taylor.sum" not in collapsed.collapsed_ir.split("func.func")[-1] or (
        "input_coefficients" in options and order in options["input_coefficients"]
    )
    return standard, collapsed


def assert_agree(name, standard_out, collapsed_out):
    assert len(standard_out) == len(collapsed_out)
    for k, (s, c) in enumerate(zip(standard_out, collapsed_out)):
        err = relative_error(c, s)
        assert (
            err <= TOLERANCE
        ), f"{name}: coefficient {k}: collapsed vs standard {err:.2e}"


@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_collapsed_matches_standard(imported, name, order):
    """Static random weights; one compile serves exact and random directions."""
    seed = sum(map(ord, name)) + order
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(suite.B, suite.D, generator=g, dtype=torch.float64)
    weights = torch.randn(R, generator=g, dtype=torch.float64).tolist()
    standard, collapsed = compile_pair(
        imported[name], order, input_coefficients=[1], weights=weights
    )
    # Every jet carried between ops is collapsed (none is left standard).
    body = collapsed.collapsed_ir.split(f"func.func @{collapsed.jet_function}")[-1]
    assert "taylor.sum" not in body, f"{name}: a sum was not pushed to the seeds"
    for kind in ["exact", "random"]:
        x1 = directions(kind, seed)
        assert_agree(f"{name} ({kind})", standard(x0, x1), collapsed(x0, x1))


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize(
    "name", ["mlp_tanh", "residual_tanh", "quotient_of_branches", "prod_reduction"]
)
def test_full_jets_and_runtime_weights(imported, name, order):
    """Every input coefficient non-zero (the seed's summed top coefficient
    Σ_r w_r x_K^(r) is not zero) and runtime weights; also against torch.func."""
    g = torch.Generator().manual_seed(5 + order)
    x0 = torch.randn(suite.B, suite.D, generator=g, dtype=torch.float64)
    xs = {
        k: torch.randn(R, suite.B, suite.D, generator=g, dtype=torch.float64) / k
        for k in range(1, order + 1)
    }
    w = torch.randn(R, generator=g, dtype=torch.float64)
    listed = list(range(1, order + 1))
    standard, collapsed = compile_pair(
        imported[name], order, input_coefficients=listed, runtime_weights=True
    )
    args = [x0, *[xs[k] for k in listed], w]
    got = collapsed(*args)
    assert_agree(name, standard(*args), got)
    want = reference_coefficients(FUNCTIONS[name].double(), x0, xs, order)
    summed = torch.einsum("r,r...->...", w, want[order])
    assert relative_error(got[order], summed) <= 1e-10
    for k in range(order):
        assert relative_error(got[k], want[k]) <= 1e-10


def test_laplacian_of_mlp_against_hessian(imported):
    """The collapsed exact Laplacian is the trace of the Hessian."""
    from torch.func import hessian, vmap

    model = FUNCTIONS["mlp_tanh"].double()
    x0 = torch.randn(
        suite.B,
        suite.D,
        generator=torch.Generator().manual_seed(1),
        dtype=torch.float64,
    )
    lap = TaylorJet(
        imported["mlp_tanh"],
        order=2,
        directions=R,
        input_coefficients=[1],
        sum_top=True,
        collapse=True,
    )
    _, _, got = lap(x0, directions("exact", 0))
    want = vmap(
        lambda xi: torch.einsum("oii->o", hessian(lambda z: model(z[None])[0])(xi))
    )(x0)
    np.testing.assert_allclose(
        got.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-13
    )


def test_collapse_needs_sum_top(imported):
    with pytest.raises(ValueError, match="collapse=True needs sum_top=True"):
        TaylorJet(imported["tanh"], order=2, directions=R, collapse=True)


@pytest.mark.parametrize("name", ["mlp_tanh", "mlp_softplus", "residual_tanh"])
def test_float32(name):
    """Collapsed Taylor mode in float32: the Laplacian against the float64
    standard one, to float32 accuracy."""
    x64 = torch.randn(
        suite.B,
        suite.D,
        generator=torch.Generator().manual_seed(2),
        dtype=torch.float64,
    )
    (text32,) = import_torch_modules([(FUNCTIONS[name].float(), (x64.float(),))])
    eye = directions("exact", 0)
    lap32 = operators.laplacian(R).taylor_jet(text32)
    got = lap32(x64.float(), eye.float())
    assert all(c.dtype == torch.float32 for c in got)
    want = reference_coefficients(FUNCTIONS[name].double(), x64, {1: eye}, 2)
    assert relative_error(got[2], want[2].sum(0)) <= 1e-4
