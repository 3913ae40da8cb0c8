"""`taylor-jet{sum-top}`: the weighted sum over directions of the top
coefficient, against torch.func (Laplacian as the trace of the Hessian,
weighted second derivatives) in float64."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.func import hessian, vmap  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from taylor_reference import reference_coefficients, tanh_sigmoid_mlp  # noqa: E402

from taylor_mlir.taylor_mode import TaylorJet, broadcast_directions  # noqa: E402
from taylor_mlir.torch_import import import_torch_module  # noqa: E402

D, B = 4, 5


@pytest.fixture(scope="module")
def mlp():
    model = tanh_sigmoid_mlp(D, 16, seed=3)
    x = torch.randn(B, D, dtype=torch.float64)
    return model, x, import_torch_module(model, (x,))


def unit_directions():
    return broadcast_directions(torch.eye(D, dtype=torch.float64), B)


def test_laplacian(mlp):
    model, x, text = mlp
    jet = TaylorJet(text, order=2, directions=D, input_coefficients=[1], sum_top=True)
    f0, f1, laplacian = jet(x, unit_directions())
    assert tuple(laplacian.shape) == (B, 1) and tuple(f1.shape) == (D, B, 1)
    want = vmap(lambda xi: torch.trace(hessian(lambda z: model(z[None])[0, 0])(xi)))(x)
    np.testing.assert_allclose(
        laplacian[:, 0].numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize("runtime", [False, True])
def test_weighted_third_derivatives(mlp, runtime):
    model, x, text = mlp
    g = torch.Generator().manual_seed(11)
    v = torch.randn(D, B, D, generator=g, dtype=torch.float64)
    w = torch.randn(D, generator=g, dtype=torch.float64)
    weights = {"runtime_weights": True} if runtime else {"weights": w.tolist()}
    jet = TaylorJet(
        text, order=3, directions=D, input_coefficients=[1], sum_top=True, **weights
    )
    coefficients = jet(x, v, w) if runtime else jet(x, v)
    want = reference_coefficients(lambda z: model(z), x, {1: v}, 3)
    np.testing.assert_allclose(
        coefficients[2].numpy(), want[2].detach().numpy(), rtol=1e-12, atol=1e-13
    )
    summed = torch.einsum("r,rbo->bo", w, want[3]).detach().numpy()
    np.testing.assert_allclose(coefficients[3].numpy(), summed, rtol=1e-11, atol=1e-12)
