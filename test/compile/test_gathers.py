"""Gathers of tensors that depend on x (``flip``, ``index_select``,
``x[:, index]``, ``gather``, ``take_along_dim``): masked sums
(`taylor_mlir._decompositions`), checked against torch.func in float64."""

import pytest
import torch

import taylor_mlir as tm
from taylor_mlir import _decompositions

from reference import biharmonic, laplacian

INDEX = torch.tensor([3, 0, 1, 1, -1])


class Gathering(torch.nn.Module):
    def __init__(self, pick):
        super().__init__()
        self.pick = pick
        self.inner = torch.nn.Linear(4, 6)
        self.outer = torch.nn.Linear(5, 2)

    def forward(self, x):
        h = torch.tanh(self.inner(x))  # [B, 6]
        return self.outer(torch.sin(self.pick(h, x)))


PICKS = {
    "flip": lambda h, x: torch.flip(h, [-1])[:, :5],
    "flip_2d": lambda h, x: torch.flip(h.reshape(-1, 2, 3), [1, 2]).reshape(-1, 6)[
        :, 1:
    ],
    "index_select": lambda h, x: torch.index_select(h, 1, INDEX % 6),
    "index": lambda h, x: h[:, INDEX],
    "index_2d": lambda h, x: h[:, INDEX[:4].reshape(2, 2)]
    .reshape(-1, 4)
    .repeat(1, 2)[:, :5],
    "gather": lambda h, x: torch.gather(h, 1, (INDEX % 6).expand(x.shape[0], 5)),
    "gather_by_argmax": lambda h, x: torch.gather(
        h, 1, torch.argsort(x, dim=1)[:, :1].expand(x.shape[0], 5)
    )
    * h[:, :5],
    "take_along_dim": lambda h, x: torch.take_along_dim(h, (INDEX % 6)[None], 1),
    "mixed_with_x": lambda h, x: h[:, [0, 2, 4, 1, 3]] * x[:, [3, 2, 1, 0, 0]],
}


def inputs():
    return torch.randn(6, 4, generator=torch.Generator().manual_seed(0)).double()


@pytest.mark.parametrize("name", sorted(PICKS))
def test_gathers_match_torch_func(name):
    torch.manual_seed(0)
    model = Gathering(PICKS[name]).double()
    x = inputs()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    torch.testing.assert_close(lap(x), laplacian(model, x), rtol=1e-11, atol=1e-12)
    if name in ("flip", "index", "gather_by_argmax"):
        bih = tm.compile(model, op="biharmonic", example_inputs=x)
        torch.testing.assert_close(bih(x), biharmonic(model, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["flip", "index", "gather"])
def test_gradients_through_gathers(name):
    torch.manual_seed(0)
    model = Gathering(PICKS[name]).double()
    x = inputs()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    parameters = list(model.parameters())
    got = torch.autograd.grad(lap(x).pow(2).sum(), parameters)
    want = torch.autograd.grad(
        laplacian(model, x).pow(2).sum(), parameters, materialize_grads=True
    )
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-11)


def test_values_are_exact_with_infinities_elsewhere():
    torch.manual_seed(0)
    model = lambda x: torch.flip(x, [-1])[:, :2].sum(-1)  # noqa: E731
    x = inputs()
    op = tm.compile(model, op="laplacian", example_inputs=x, outputs=("value",))
    x[0, 0] = float("inf")  # not picked
    x[1, 3] = float("nan")  # picked
    value = op(x)
    torch.testing.assert_close(value, model(x), equal_nan=True)


def test_large_gather_of_x_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(_decompositions, "MAX_GATHER", 4)
    tm.clear_compile_cache()
    torch.manual_seed(0)
    model = Gathering(PICKS["flip"]).double()
    with pytest.raises(tm.UnsupportedOperationError) as raised:
        tm.compile(model, op="laplacian", example_inputs=inputs())
    assert raised.value.op == "aten.flip.default"
    assert raised.value.source.startswith(__file__)


def test_large_gather_of_a_parameter_table_is_left_to_torch_mlir():
    torch.manual_seed(0)

    class Table(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Parameter(torch.randn(200, 4))
            self.rows = torch.arange(0, 200, 7)

        def forward(self, x):
            return torch.tanh(x @ self.table[self.rows].T).sum(-1)

    model = Table().double()
    x = inputs()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    torch.testing.assert_close(
        lap(x), laplacian(model, x)[:, 0], rtol=1e-11, atol=1e-12
    )
