"""The compile-time self-check (`taylor_mlir._check`): the compiled value and
first Taylor coefficient against eager PyTorch, and the gelu(tanh) bug it
was built for (torch-mlir lowers it with π ≈ 22/7)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import taylor_mlir as tm
from taylor_mlir import _check, _decompositions

from reference import biharmonic, laplacian


class GeluTanh(torch.nn.Module):
    def __init__(self, approximate="tanh"):
        super().__init__()
        self.approximate = approximate
        self.inner = torch.nn.Linear(3, 8)
        self.outer = torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.outer(F.gelu(self.inner(x), approximate=self.approximate))


@pytest.fixture
def model():
    torch.manual_seed(0)
    return GeluTanh().double()


@pytest.fixture
def x():
    return torch.randn(6, 3, generator=torch.Generator().manual_seed(1)).double()


@pytest.fixture(autouse=True)
def fresh_cache():
    # Every test compiles for itself (a cached artifact skips the check).
    tm.clear_compile_cache()
    yield
    tm.clear_compile_cache()


@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_matches_torch_func(approximate, x):
    torch.manual_seed(0)
    model = GeluTanh(approximate).double()
    lap = tm.compile(
        model, op="laplacian", example_inputs=x, outputs=("value", "laplacian")
    )
    value, got = lap(x)
    torch.testing.assert_close(value, model(x)[:, 0], rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(got, laplacian(model, x)[:, 0], rtol=1e-11, atol=1e-12)
    bih = tm.compile(model, op="biharmonic", example_inputs=x)
    torch.testing.assert_close(
        bih(x), biharmonic(model, x)[:, 0], rtol=1e-10, atol=1e-11
    )


def test_float32_passes_the_check(x):
    torch.manual_seed(0)
    model = GeluTanh()
    lap = tm.compile(model, op="laplacian", example_inputs=x.float())
    assert "self-check" in lap.artifact.timings
    assert "taylor_check" in lap.ir["taylor-jet"]


def test_wrong_import_is_refused_and_named(model, x, monkeypatch):
    # Without the decomposition, torch-mlir's gelu(tanh) is off by ~2e-5.
    monkeypatch.delitem(_decompositions.DECOMPOSITIONS, torch.ops.aten.gelu.default)
    with pytest.raises(tm.SelfCheckError) as raised:
        tm.compile(model, op="laplacian", example_inputs=x)
    error = raised.value
    assert error.stage == "torch-mlir import"
    assert error.quantity == "value"
    assert 1e-7 < error.error < 1e-3
    assert "check=False" in str(error)
    # check=False compiles it, and the value is then wrong: the check is what
    # refuses it.
    unchecked = tm.compile(
        model, op="laplacian", example_inputs=x, outputs=("value",), check=False
    )
    assert "self-check" not in unchecked.artifact.timings
    assert (unchecked(x) - model(x)[:, 0]).abs().max() > 1e-7


def test_wrong_first_coefficient_names_taylor_jet(model, x, monkeypatch):
    eager = _check._eager

    def perturbed(module, x, v):
        value, derivative = eager(module, x, v)
        return value, derivative * (1 + 1e-4)

    monkeypatch.setattr(_check, "_eager", perturbed)
    with pytest.raises(tm.SelfCheckError, match="taylor-jet") as raised:
        tm.compile(model, op="laplacian", example_inputs=x)
    assert raised.value.quantity == "first Taylor coefficient"


def test_wrong_value_after_a_right_import_names_the_passes(model, x, monkeypatch):
    eager = _check._eager

    def shifted(module, x, v):
        value, derivative = eager(module, x, v)
        return value + 1e-3, derivative

    # The imported program "agrees" with the (shifted) eager value.
    monkeypatch.setattr(_check, "_eager", shifted)
    monkeypatch.setattr(
        _check, "_imported_value", lambda artifact, x, tensors, shape: None
    )
    with pytest.raises(tm.SelfCheckError) as raised:
        tm.compile(model, op="laplacian", example_inputs=x)
    assert raised.value.stage == "taylor-mlir passes"


def test_random_models_are_not_checked(x):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8),
        torch.nn.Tanh(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(8, 1),
    ).double()
    with pytest.warns(UserWarning, match="random"):
        lap = tm.compile(model, op="laplacian", example_inputs=x)
    assert "self-check" not in lap.artifact.timings


def test_check_compares_against_eager(model, x):
    # The reference itself: the eager value and jvp of the model.
    v = _check._direction(3, torch.float64)
    value, derivative = _check._eager(model, x, v)
    torch.testing.assert_close(value, model(x))
    expected = torch.func.jvp(model, (x,), (v.expand_as(x),))[1]
    torch.testing.assert_close(derivative, expected)
    assert _check._mismatch(value.numpy(), value, 1e-8) is None
    assert _check._mismatch((value + 1e-6).numpy(), value, 1e-8) is not None


def test_celu_is_not_refused_for_torchs_float32_constant(x):
    # PyTorch's celu derivative rounds 1/alpha to float32 (4e-8 relative):
    # the compiled (exact) derivative must still pass.
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.CELU(alpha=1.3), torch.nn.Linear(8, 1)
    ).double()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    assert "self-check" in lap.artifact.timings


def test_plain_function_errors_name_its_source_line(x):
    def model(x):
        return torch.remainder(x, 0.7).sum(-1)  # no Taylor rule

    with pytest.raises(tm.UnsupportedOperationError) as raised:
        tm.compile(model, op="laplacian", example_inputs=x)
    assert raised.value.source.startswith(__file__ + ":")
    assert "torch.remainder(x, 0.7)" in str(raised.value)


def test_vanishing_derivative_is_compared_at_the_value_scale(x):
    # X A⁻¹ with X = A is the identity: its derivative is exactly 0 in
    # eager, ~1e-16 compiled (rounding), which must pass.
    def model(x):
        a = torch.tanh(x[:, :2, None] * x[:, None, 1:]) + 2 * torch.eye(
            2, dtype=x.dtype
        )
        return torch.linalg.solve(a, a, left=False).reshape(-1, 4)

    lap = tm.compile(model, op="laplacian", example_inputs=x)
    assert "self-check" in lap.artifact.timings


def test_output_dtype_other_than_the_input_is_refused(x):
    with pytest.raises(ValueError, match="returns torch.float64 for torch.float32"):
        tm.compile(lambda x: x.double().sum(-1), example_inputs=x.float())


def test_mismatch_floor():
    zero = torch.zeros(3, dtype=torch.float64)
    rounding = np.full(3, 1e-17)
    assert _check._mismatch(rounding, zero, 1e-6) is not None
    assert _check._mismatch(rounding, zero, 1e-6, floor=1.0) is None
    assert _check._mismatch(np.full(3, 1e-3), zero, 1e-6, floor=1.0) is not None
