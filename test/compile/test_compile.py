"""`taylor_mlir.compile`: every operator against torch.func (float64,
≤ 1e-9 relative), on MLPs with several activations, a residual MLP, several
input dimensions and batch sizes, vector outputs and float32."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref
from reference import relative_error

TOL = 1e-9

ACTIVATIONS = {
    "tanh": torch.nn.Tanh,
    "sin": None,
    "sigmoid": torch.nn.Sigmoid,
    "softplus": torch.nn.Softplus,
    "gelu": torch.nn.GELU,
}


class Sin(torch.nn.Module):
    def forward(self, x):
        return torch.sin(x)


def mlp(dim, activation="tanh", outputs=1, hidden=12, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    act = ACTIVATIONS[activation] or Sin
    return torch.nn.Sequential(
        torch.nn.Linear(dim, hidden),
        act(),
        torch.nn.Linear(hidden, hidden),
        act(),
        torch.nn.Linear(hidden, outputs),
    ).to(dtype)


class ResidualMLP(torch.nn.Module):
    def __init__(self, dim, hidden=10, blocks=2):
        super().__init__()
        self.inp = torch.nn.Linear(dim, hidden)
        self.blocks = torch.nn.ModuleList(
            torch.nn.Linear(hidden, hidden) for _ in range(blocks)
        )
        self.out = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        for block in self.blocks:
            h = h + torch.tanh(block(h))
        return self.out(h).squeeze(-1)


def inputs(batch, dim, dtype=torch.float64, seed=1):
    return torch.randn(batch, dim, generator=torch.Generator().manual_seed(seed)).to(
        dtype
    )


SIGMA = torch.tensor([[1.0, 0.5], [0.0, -0.7], [0.3, 0.2]], dtype=torch.float64)
LINEAR_TERMS = {
    (2, 0, 0): 1.5,
    (1, 1, 0): -0.5,
    (0, 1, 2): 0.25,
    (1, 0, 0): 2.0,
    (0, 0, 0): 0.75,
}
TAYLOR_DIRECTIONS = torch.tensor([[1.0, 0.0, -1.0], [0.2, 0.4, 0.6]])


OPERATOR_CASES = {
    "laplacian": {},
    "weighted_laplacian": {"sigma": SIGMA},
    "biharmonic": {},
    "stochastic_laplacian": {"samples": 4, "seed": 3},
    "stochastic_laplacian_normal": {"samples": 3, "seed": 4, "distribution": "normal"},
    "stochastic_biharmonic": {"samples": 5, "seed": 5},
    "linear": {"terms": LINEAR_TERMS},
    "taylor": {"order": 3, "directions": TAYLOR_DIRECTIONS},
}


def _op_name(case):
    return case.removesuffix("_normal")


def _check(op, model, x, options, compiled=None, tol=TOL):
    compiled = compiled or tm.compile(model, op=op, example_inputs=x, **options)
    got = compiled(x)
    want = ref.operator(op, model, x, options)
    scalar = model(x[:1]).ndim == 1 or model(x[:1]).shape[-1] == 1
    if scalar:  # [B] for scalar models; [K+1, R, B] for op="taylor"
        want = want[..., 0]
    assert got.shape == want.shape
    assert got.dtype == x.dtype
    assert relative_error(got, want) <= tol
    return compiled


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_every_operator_on_every_activation(case, activation):
    model = mlp(3, activation)
    _check(_op_name(case), model, inputs(4, 3), OPERATOR_CASES[case])


@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_vector_outputs(case):
    model = mlp(3, "tanh", outputs=2)
    compiled = _check(_op_name(case), model, inputs(5, 3), OPERATOR_CASES[case])
    if case == "taylor":
        assert compiled(inputs(5, 3)).shape == (4, 2, 5, 2)  # [K+1, R, B, m]
    else:
        assert compiled(inputs(5, 3)).shape == (5, 2)


@pytest.mark.parametrize("case", ["laplacian", "biharmonic", "linear", "taylor"])
def test_residual_mlp(case):
    model = ResidualMLP(3).double()
    _check(_op_name(case), model, inputs(4, 3), OPERATOR_CASES[case])


@pytest.mark.parametrize("dim", [1, 2, 5, 50])
def test_laplacian_dims_and_batch_sizes_from_one_compile(dim):
    model = mlp(dim, "tanh", hidden=16)
    lap = tm.compile(
        model, op="laplacian", example_inputs=inputs(4, dim), dynamic_batch=True
    )
    assert lap.batch is None
    for batch in (1, 3, 8):
        x = inputs(batch, dim, seed=batch)
        assert lap(x).shape == (batch,)
        assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= TOL


@pytest.mark.parametrize("dim", [1, 2, 5, 50])
def test_biharmonic_dims(dim):
    model = mlp(dim, "sigmoid", hidden=6 if dim == 50 else 12)
    _check("biharmonic", model, inputs(2, dim), {})


@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_dynamic_batch_every_operator(case):
    model = mlp(3, "softplus")
    options = OPERATOR_CASES[case]
    compiled = tm.compile(
        model,
        op=_op_name(case),
        example_inputs=inputs(2, 3),
        dynamic_batch=True,
        **options,
    )
    for batch in (1, 6):
        _check(_op_name(case), model, inputs(batch, 3, seed=batch), options, compiled)


@pytest.mark.parametrize("case", ["laplacian", "biharmonic", "weighted_laplacian"])
def test_standard_taylor_mode_matches(case):
    model = mlp(3, "gelu")
    x = inputs(4, 3)
    options = OPERATOR_CASES[case]
    standard = tm.compile(model, op=case, example_inputs=x, collapsed=False, **options)
    collapsed = tm.compile(model, op=case, example_inputs=x, **options)
    assert standard.ir["taylor-collapse"] is None
    assert collapsed.ir["taylor-collapse"] is not None
    assert relative_error(standard(x), collapsed(x)) <= 1e-12
    _check(case, model, x, options, standard)


@pytest.mark.parametrize("case", ["laplacian", "biharmonic", "linear", "taylor"])
def test_float32(case):
    model64 = mlp(3, "tanh")
    model32 = mlp(3, "tanh", dtype=torch.float32)
    x = inputs(4, 3)
    options = OPERATOR_CASES[case]
    compiled = tm.compile(
        model32, op=_op_name(case), example_inputs=x.float(), **options
    )
    got = compiled(x.float())
    assert got.dtype == torch.float32
    want = ref.operator(_op_name(case), model64, x, options)
    assert relative_error(got, want.reshape(got.shape)) <= 2e-5


def test_float32_dynamic_batch():
    model = mlp(3, "softplus", dtype=torch.float32)
    model64 = mlp(3, "softplus")
    lap = tm.compile(
        model, op="laplacian", example_inputs=inputs(4, 3).float(), dynamic_batch=True
    )
    for batch in (1, 7):
        x = inputs(batch, 3, seed=batch)
        assert relative_error(lap(x.float()), ref.laplacian(model64, x)[:, 0]) <= 2e-5


def test_batch_sizes_without_dynamic_batch_specialize():
    """Without dynamic_batch, a new batch size compiles code for it (once)."""
    model = mlp(3, "tanh")
    lap = tm.compile(model, op="laplacian", example_inputs=inputs(4, 3))
    for batch in (4, 9, 9, 1):
        x = inputs(batch, 3, seed=batch)
        assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= TOL
    assert lap._artifacts.keys() == {4, 9, 1}
    assert lap(inputs(0, 3)).shape == (0,)


def test_float64_inputs_with_a_float32_model():
    """The dtype follows example_inputs; the model's float32 parameters are
    read (converted) at each call."""
    model32 = mlp(3, "tanh", dtype=torch.float32)
    model64 = mlp(3, "tanh")
    x = inputs(4, 3)
    lap = tm.compile(model32, op="laplacian", example_inputs=x)
    assert lap.dtype == torch.float64
    assert next(model32.parameters()).dtype == torch.float32
    want = ref.laplacian(model64, x)[:, 0]
    assert relative_error(lap(x), want) <= 1e-6  # float32 weights


def test_model_without_a_variable():
    x = inputs(4, 3)
    lap = tm.compile(mlp(3, "sin"), op="laplacian", example_inputs=x)
    assert relative_error(lap(x), ref.laplacian(mlp(3, "sin"), x)[:, 0]) <= TOL


def test_function_of_a_module_reads_its_weights_at_each_call():
    net = mlp(3, "tanh")

    def f(x):
        return net(x).squeeze(-1) * 2.0

    x = inputs(4, 3)
    lap = tm.compile(f, op="laplacian", example_inputs=x)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(1.5)
    assert relative_error(lap(x), ref.laplacian(f, x)[:, 0]) <= TOL


def test_plain_function():
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)

    def f(x):
        return torch.sin(x @ w) * torch.exp(-0.5 * (x * x).sum(-1))

    x = inputs(5, 3)
    lap = tm.compile(f, op="laplacian", example_inputs=x)
    want = ref.laplacian(f, x)[:, 0]
    assert relative_error(lap(x), want) <= TOL


def test_output_shapes_of_scalar_models():
    model = mlp(3, "tanh")  # [B, 1] outputs are squeezed
    x = inputs(4, 3)
    assert tm.compile(model, op="laplacian", example_inputs=x)(x).shape == (4,)
    taylor = tm.compile(
        model, op="taylor", example_inputs=x, order=3, directions=TAYLOR_DIRECTIONS
    )
    assert taylor(x).shape == (4, 2, 4)  # [K+1, R, B]
    residual = ResidualMLP(3).double()  # returns [B]
    assert tm.compile(residual, op="biharmonic", example_inputs=x)(x).shape == (4,)


def _options_for_dim(case, dim):
    """OPERATOR_CASES adapted to D input features."""
    g = torch.Generator().manual_seed(dim)
    if case == "weighted_laplacian":
        return {"sigma": torch.randn(dim, 2, generator=g, dtype=torch.float64)}
    if case == "linear":

        def alpha(**entries):
            a = [0] * dim
            for index, power in entries.items():
                a[int(index[1:]) % dim] += power
            return tuple(a)

        return {
            "terms": {
                alpha(d0=2): 1.5,
                alpha(d0=1, d1=1): -0.5,
                alpha(d0=1): 2.0,
                alpha(d49=3): 0.25,
            }
        }
    if case == "taylor":
        return {"order": 3, "directions": torch.randn(2, dim, generator=g)}
    return OPERATOR_CASES[case]


@pytest.mark.parametrize("dim", [1, 2, 5, 50])
@pytest.mark.parametrize(
    "case",
    [c for c in OPERATOR_CASES if c not in ("laplacian", "biharmonic")],
)
def test_every_operator_in_every_dimension(case, dim):
    model = mlp(dim, "tanh", outputs=2, hidden=10)
    _check(_op_name(case), model, inputs(3, dim), _options_for_dim(case, dim))
