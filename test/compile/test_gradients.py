"""Gradients through compiled operators: every operator's gradient with
respect to the model's parameters and to ``x`` against autograd through the
torch.func references (float64, ≤ 1e-10 relative), gradcheck, second
backward (``create_graph=True``), and the edge cases of the training issue
(frozen parameters, integer buffers, NaN, no_grad, nothing mutated, ops
without an adjoint)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm
import taylor_mlir.threads as tm_threads

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref
from reference import relative_error
from test_compile import OPERATOR_CASES, ResidualMLP, _op_name, inputs, mlp

TOL = 1e-10


def _loss(value, weights):
    return (value * weights).sum() + 0.5 * (value**2).sum()


def _reference_value(op, model, x, options):
    want = ref.operator(op, model, x, options)
    return want[..., 0]  # scalar models: [B] (or [K+1, R, B] for "taylor")


def _gradients(loss, tensors):
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]


def _compare(got, want, tol=TOL):
    for g, w in zip(got, want):
        assert g.shape == w.shape
        scale = max(float(w.abs().max()), 1e-300)
        assert (
            float((g - w).abs().max()) / scale <= tol
            or float((g - w).abs().max()) <= 1e-14
        )


@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_gradients_of_every_operator(case):
    op = _op_name(case)
    options = OPERATOR_CASES[case]
    model = mlp(3, "tanh")
    x = inputs(5, 3)
    compiled = tm.compile(model, op=op, example_inputs=x, **options)
    weights = torch.linspace(-1.0, 1.0, compiled(x).numel(), dtype=x.dtype)
    tensors = [*model.parameters()]

    xg = x.clone().requires_grad_(True)
    value = compiled(xg)
    got = _gradients(_loss(value, weights.reshape(value.shape)), [*tensors, xg])

    xr = x.clone().requires_grad_(True)
    want_value = _reference_value(op, model, xr, options)
    want = _gradients(
        _loss(want_value, weights.reshape(want_value.shape)), [*tensors, xr]
    )
    assert relative_error(value.detach(), want_value.detach()) <= 1e-9
    _compare(got, want)


@pytest.mark.parametrize("op", ["laplacian", "biharmonic"])
def test_gradients_of_a_residual_model_split_into_parts(op, monkeypatch):
    """Batches split into parts on the thread pool: the parts' parameter
    gradients add up, their x gradients are concatenated."""
    monkeypatch.setattr(tm_threads, "PART_BYTES", 1024)
    model = ResidualMLP(3).double()
    x = inputs(37, 3)
    compiled = tm.compile(model, op=op, example_inputs=x)
    assert len(compiled._parts(37)) > 1
    xg = x.clone().requires_grad_(True)
    got = _gradients(compiled(xg).pow(2).sum(), [*model.parameters(), xg])
    xr = x.clone().requires_grad_(True)
    want = _gradients(
        _reference_value(op, model, xr, {}).pow(2).sum(), [*model.parameters(), xr]
    )
    _compare(got, want)


def test_gradcheck_parameters_and_input():
    model = mlp(2, "sigmoid", hidden=4)
    x = inputs(3, 2)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    weight = model[0].weight
    assert torch.autograd.gradcheck(lambda w: lap(x), (weight,))
    xg = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lap, (xg,))


def test_second_backward_matches_nested_autograd():
    """``create_graph=True``: the gradient is differentiable again (reverse
    over reverse over Taylor mode); a Gauss-Newton-style second derivative
    agrees with autograd through the torch.func reference."""
    model = mlp(3, "tanh", hidden=6)
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    params = [*model.parameters()]

    def second(value_fn):
        loss = value_fn().pow(2).sum()
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        penalty = sum((g**2).sum() for g in grads if g is not None)
        return _gradients(penalty, params)

    got = second(lambda: lap(x))
    want = second(lambda: _reference_value("laplacian", model, x, {}))
    _compare(got, want, tol=1e-9)
    # and with respect to x: d/dx |d loss/dx|^2
    xg = x.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad(lap(xg).pow(2).sum(), xg, create_graph=True)
    got_x = _gradients((gx**2).sum(), [xg])
    xr = x.clone().requires_grad_(True)
    (gr,) = torch.autograd.grad(
        _reference_value("laplacian", model, xr, {}).pow(2).sum(), xr, create_graph=True
    )
    _compare(got_x, _gradients((gr**2).sum(), [xr]), tol=1e-9)


def test_training_with_an_optimizer_reads_new_weights():
    model = mlp(3, "tanh", hidden=8)
    x = inputs(6, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = (lap(x) - 1.0).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.parameters())


def test_frozen_parameters_and_integer_buffers_are_constants():
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(3, 6)
            self.b = torch.nn.Linear(6, 1)
            self.register_buffer("steps", torch.tensor([2], dtype=torch.int64))

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)) * self.steps.to(x.dtype))

    model = Model().double()
    model.a.weight.requires_grad_(False)
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    lap(x).sum().backward()
    assert model.a.weight.grad is None
    assert model.a.bias.grad is not None and model.b.weight.grad is not None
    want = _gradients(
        _reference_value("laplacian", model, x, {}).sum(),
        [model.a.bias, model.b.weight],
    )
    _compare([model.a.bias.grad, model.b.weight.grad], want)


def test_nan_propagates_into_gradients():
    model = mlp(3, "tanh")
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    bad = x.clone()
    bad[1, 0] = float("nan")
    bad.requires_grad_(True)
    lap(bad).sum().backward()
    assert torch.isnan(bad.grad[1]).all()
    assert torch.isfinite(bad.grad[[0, 2, 3]]).all()
    assert torch.isnan(model[0].weight.grad).any()


def test_no_grad_records_nothing_and_derives_nothing():
    tm.clear_compile_cache()  # artifacts (and their derived programs) are shared
    model = mlp(3, "tanh")
    x = inputs(4, 3).requires_grad_(True)
    lap = tm.compile(model, op="laplacian", example_inputs=x.detach())
    with torch.no_grad():
        value = lap(x)
    assert value.grad_fn is None and not value.requires_grad
    assert all(not p._vjps for p in lap.artifact.programs)
    frozen = mlp(3, "tanh").requires_grad_(False)
    assert (
        tm.compile(frozen, op="laplacian", example_inputs=x.detach())(
            x.detach()
        ).grad_fn
        is None
    )


def test_nothing_the_user_passed_is_mutated():
    model = mlp(3, "tanh")
    x = inputs(4, 3).requires_grad_(True)
    before = [p.detach().clone() for p in model.parameters()]
    x_before = x.detach().clone()
    lap = tm.compile(model, op="biharmonic", example_inputs=x.detach())
    lap(x).sum().backward()
    assert torch.equal(x.detach(), x_before)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_float32_gradients():
    model = mlp(3, "tanh", dtype=torch.float32)
    x = inputs(4, 3, dtype=torch.float32)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    lap(x).pow(2).sum().backward()
    got = [p.grad for p in model.parameters()]
    model64 = mlp(3, "tanh")
    want = _gradients(
        _reference_value("laplacian", model64, x.double(), {}).pow(2).sum(),
        [*model64.parameters()],
    )
    for g, w in zip(got, want):
        assert g.dtype == torch.float32
        assert float((g.double() - w).abs().max()) <= 1e-4 * max(
            float(w.abs().max()), 1.0
        )


class SoftmaxMax(torch.nn.Module):
    """Softmax and a max reduction: Taylor mode picks the coefficients of the
    first maximal entry, and so does the adjoint."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 5)
        self.b = torch.nn.Linear(5, 1)

    def forward(self, x):
        h = self.a(x)
        return self.b(torch.softmax(h, -1)) + torch.amax(
            torch.tanh(h), -1, keepdim=True
        )


@pytest.mark.parametrize("op", ["laplacian", "biharmonic"])
def test_gradients_through_softmax_and_max(op):
    model = SoftmaxMax().double()
    x = inputs(6, 3)
    compiled = tm.compile(model, op=op, example_inputs=x)
    xg = x.clone().requires_grad_(True)
    got = _gradients(compiled(xg).pow(2).sum(), [*model.parameters(), xg])
    xr = x.clone().requires_grad_(True)
    want = _gradients(
        _reference_value(op, model, xr, {}).pow(2).sum(), [*model.parameters(), xr]
    )
    _compare(got, want)


def test_an_op_without_adjoint_is_refused_by_name():
    class Product(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(3, 4)

        def forward(self, x):
            return torch.tanh(self.a(x)).prod(-1)

    model = Product().double()
    x = inputs(3, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    value = lap(x)  # the forward operator works
    with pytest.raises(tm.UnsupportedOperationError) as info:
        value.sum().backward()
    assert info.value.op.startswith("aten.prod")
    assert "test_gradients.py" in info.value.source
    assert all(p.grad is None for p in model.parameters())


def _value_and_gradient(model, x):
    """u and ∇u by autograd (differentiable), ``[B]`` and ``[B, D]``."""
    x = x if x.requires_grad else x.clone().requires_grad_(True)
    u = model(x).reshape(x.shape[0])
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return u, g


@pytest.mark.parametrize("op", ["laplacian", "biharmonic", "stochastic_laplacian"])
def test_value_and_gradient_outputs_are_differentiable(op):
    options = {"samples": 3, "seed": 2} if op.startswith("stochastic") else {}
    model = mlp(3, "tanh")
    x = inputs(5, 3)
    compiled = tm.compile(
        model, op=op, example_inputs=x, outputs=("value", "gradient", op), **options
    )
    # the Laplacian's u and ∇u are coefficients of its own pass
    assert len(compiled._plan.terms) == (1 if op == "laplacian" else 2)
    xg = x.clone().requires_grad_(True)
    u, grad_u, value = compiled(xg)
    xr = x.clone().requires_grad_(True)
    want_u, want_grad = _value_and_gradient(model, xr)
    want_value = _reference_value(op, model, xr, options)
    assert relative_error(u.detach(), want_u.detach()) <= 1e-12
    assert relative_error(grad_u.detach(), want_grad.detach()) <= 1e-12
    assert relative_error(value.detach(), want_value.detach()) <= 1e-9

    def loss(u, g, v):
        return (u**2).sum() + (g**3).sum() + (u * v).sum()

    got = _gradients(loss(u, grad_u, value), [*model.parameters(), xg])
    want = _gradients(loss(want_u, want_grad, want_value), [*model.parameters(), xr])
    _compare(got, want)
    # only one of the outputs in the loss
    got = _gradients(compiled(xg)[1].pow(2).sum(), [xg])
    want = _gradients(_value_and_gradient(model, xr)[1].pow(2).sum(), [xr])
    _compare(got, want)


def test_gradient_output_of_a_vector_model():
    model = mlp(3, "tanh", outputs=2)
    x = inputs(4, 3)
    compiled = tm.compile(
        model, op="laplacian", example_inputs=x, outputs=("gradient",)
    )
    jacobian = compiled(x)
    want = torch.func.vmap(torch.func.jacrev(lambda xi: model(xi[None])[0]))(x)
    assert jacobian.shape == (4, 2, 3)
    assert relative_error(jacobian, want) <= 1e-12


def test_bad_outputs():
    model, x = mlp(3, "tanh"), inputs(4, 3)
    with pytest.raises(ValueError, match="outputs: expected distinct names"):
        tm.compile(
            model, op="laplacian", example_inputs=x, outputs=("value", "hessian")
        )
    with pytest.raises(TypeError, match="tuple of names"):
        tm.compile(model, op="laplacian", example_inputs=x, outputs="value")
    with pytest.raises(ValueError, match="op='taylor' returns every"):
        tm.compile(
            model,
            op="taylor",
            example_inputs=x,
            order=2,
            directions=torch.eye(3),
            outputs=("value",),
        )


def test_gradients_with_dynamic_batch():
    model = mlp(3, "tanh")
    x = inputs(7, 3)
    compiled = tm.compile(model, op="biharmonic", example_inputs=x, dynamic_batch=True)
    for batch in (7, 3):
        xg = x[:batch].clone().requires_grad_(True)
        got = _gradients(compiled(xg).pow(2).sum(), [*model.parameters(), xg])
        xr = x[:batch].clone().requires_grad_(True)
        want = _gradients(
            _reference_value("biharmonic", model, xr, {}).pow(2).sum(),
            [*model.parameters(), xr],
        )
        _compare(got, want)


def test_fresh_directions_are_reused_by_the_backward():
    """Directions drawn at a call are the ones its backward differentiates."""
    import numpy as np

    from taylor_mlir import operators

    model = mlp(3, "tanh")
    x = inputs(5, 3)
    compiled = tm.compile(
        model,
        op="stochastic_laplacian",
        example_inputs=x,
        samples=4,
        seed=np.random.default_rng(11),
    )
    value = compiled(x)
    value.pow(2).sum().backward()
    got = [p.grad.clone() for p in model.parameters()]
    twin = operators.stochastic_laplacian(3, 4, "rademacher", np.random.default_rng(11))
    from reference import directional_sum

    want_value = directional_sum(model, x, twin.directions, twin.weights, 2)[:, 0]
    assert relative_error(value.detach(), want_value.detach()) <= 1e-12
    want = _gradients(want_value.pow(2).sum(), [*model.parameters()])
    _compare(got, want)


def test_a_data_parallel_wrapper_is_refused_with_the_way_out():
    model = torch.nn.DataParallel(mlp(3, "tanh"))
    with pytest.raises(TypeError, match=r"model.module"):
        tm.compile(model, op="laplacian", example_inputs=inputs(4, 3))


@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_fused_loss_gradients_of_every_operator(case, monkeypatch):
    """`op.loss`: forward and backward part by part in one pass (the tape of
    taylor-split-adjoint), the same gradients."""
    monkeypatch.setattr(tm_threads, "PART_BYTES", 1024)
    op = _op_name(case)
    options = OPERATOR_CASES[case]
    model = mlp(3, "tanh")
    x = inputs(37, 3)
    target = torch.linspace(-1.0, 1.0, 37, dtype=x.dtype)
    compiled = tm.compile(model, op=op, example_inputs=x, **options)
    assert len(compiled._parts(37)) > 1

    def per_datum(value, x, target):
        value = value.reshape(value.shape[0], -1) if op != "taylor" else value
        if op == "taylor":  # [K+1, R, B] -> per datum
            return (value**2).sum((0, 1)) + x.sum(1) * 0
        return ((value - target[:, None]) ** 2).sum(1)

    xg = x.clone().requires_grad_(True)
    loss = compiled.loss(xg, per_datum, target)
    loss.backward()
    got = [p.grad.clone() for p in model.parameters()] + [xg.grad]
    model.zero_grad()
    xr = x.clone().requires_grad_(True)
    want_value = _reference_value(op, model, xr, options)
    want_loss = per_datum(want_value, xr, target).mean()
    want = _gradients(want_loss, [*model.parameters(), xr])
    assert abs(float(loss) - float(want_loss)) <= 1e-12 * max(
        1.0, abs(float(want_loss))
    )
    _compare(got, want)


def test_fused_loss_with_several_outputs_and_sum():
    model = mlp(3, "tanh")
    x = inputs(9, 3)
    compiled = tm.compile(
        model,
        op="laplacian",
        example_inputs=x,
        outputs=("value", "gradient", "laplacian"),
    )

    def energy(u, grad_u, lap_u, x):
        return -0.5 * (lap_u + (grad_u**2).sum(-1)) + u**2

    loss = compiled.loss(x, energy, reduction="sum")
    loss.backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    xr = x.clone().requires_grad_(True)
    u, g = _value_and_gradient(model, xr)
    lap_u = _reference_value("laplacian", model, xr, {})
    want = _gradients(energy(u, g, lap_u, xr).sum(), [*model.parameters()])
    _compare(got, want)


def test_fused_loss_dynamic_batch_and_no_grad():
    model = mlp(3, "tanh")
    x = inputs(6, 3)
    compiled = tm.compile(model, op="laplacian", example_inputs=x, dynamic_batch=True)
    compiled.loss(x, lambda v, x: v**2).backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    want = _gradients(
        (_reference_value("laplacian", model, x, {}) ** 2).mean(),
        [*model.parameters()],
    )
    _compare(got, want)
    with torch.no_grad():
        value = compiled.loss(x, lambda v, x: v**2)
    assert value.grad_fn is None
    assert float(value) == pytest.approx(float(compiled(x).pow(2).mean()), rel=1e-12)


def test_fused_loss_bad_input():
    model = mlp(3, "tanh")
    x = inputs(4, 3)
    compiled = tm.compile(model, op="laplacian", example_inputs=x)
    with pytest.raises(ValueError, match="one loss per datum"):
        compiled.loss(x, lambda v, x: v.sum())
    with pytest.raises(ValueError, match="reduction must be"):
        compiled.loss(x, lambda v, x: v, reduction="max")
    with pytest.raises(ValueError, match=r"data\[0\] must be a tensor"):
        compiled.loss(x, lambda v, x, f: v, torch.zeros(3))
    loss = compiled.loss(x.clone().requires_grad_(True), lambda v, x: v**2)
    with pytest.raises(RuntimeError, match="create_graph"):
        torch.autograd.grad(loss, [*model.parameters()], create_graph=True)
