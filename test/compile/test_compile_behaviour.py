"""`taylor_mlir.compile` beyond numerics: stochastic estimates, weight
updates, errors, NaN/Inf, inputs left alone, the compile cache, the IR of
every stage."""

import inspect
import math
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm
from taylor_mlir.tools import taylor_opt

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref
from reference import relative_error
from test_compile import inputs, mlp


def assert_replay_fails(command: str, message: str) -> None:
    """Runs a failure's reproducer command (with this build's taylor-opt):
    it fails again, with ``message``."""
    command = shlex.split(command)
    command[0] = taylor_opt()
    replay = subprocess.run(command, capture_output=True, text=True, check=False)
    assert replay.returncode != 0
    assert message in replay.stderr


# -- stochastic operators ------------------------------------------------------


@pytest.mark.parametrize(
    "op, options, exact",
    [
        ("stochastic_laplacian", {"distribution": "rademacher"}, ref.laplacian),
        ("stochastic_laplacian", {"distribution": "normal"}, ref.laplacian),
        ("stochastic_biharmonic", {}, ref.biharmonic),
    ],
)
def test_stochastic_estimates_are_unbiased(op, options, exact):
    """The mean of many estimates (fresh directions per call, from a seeded
    stream) lies within 3 standard errors of the exact value."""
    model = mlp(3, "tanh", hidden=8)
    x = inputs(3, 3)
    estimator = tm.compile(
        model,
        op=op,
        example_inputs=x,
        samples=2,
        seed=np.random.default_rng(123),
        **options,
    )
    calls = 600
    samples = torch.stack([estimator(x) for _ in range(calls)])
    mean = samples.mean(0)
    standard_error = samples.std(0) / calls**0.5
    want = exact(model, x)[:, 0]
    assert torch.all(standard_error > 0)  # the directions do change per call
    assert torch.all((mean - want).abs() <= 3 * standard_error), (
        mean,
        want,
        standard_error,
    )


@pytest.mark.parametrize("op", ["stochastic_laplacian", "stochastic_biharmonic"])
def test_stochastic_fixed_seed_is_deterministic(op):
    model = mlp(3, "sin")
    x = inputs(4, 3)
    a = tm.compile(model, op=op, example_inputs=x, samples=3, seed=7)
    b = tm.compile(model, op=op, example_inputs=x, samples=3, seed=7)
    c = tm.compile(model, op=op, example_inputs=x, samples=3, seed=8)
    assert torch.equal(a(x), a(x))
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))


def test_stochastic_without_seed_draws_fresh_directions():
    model = mlp(3, "tanh")
    x = inputs(4, 3)
    estimator = tm.compile(
        model,
        op="stochastic_laplacian",
        example_inputs=x,
        samples=2,
        distribution="normal",  # continuous: two draws never coincide
    )
    a, b, c = estimator(x), estimator(x), estimator(x)
    assert not torch.equal(a, b) and not torch.equal(b, c) and not torch.equal(a, c)


# -- parameters are runtime inputs --------------------------------------------


def test_weights_changed_after_compile_are_used():
    model = mlp(3, "softplus")
    x = inputs(5, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    before = lap(x)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(x).pow(2).sum()
    loss.backward()
    optimizer.step()
    after = lap(x)
    assert not torch.allclose(before, after)
    assert relative_error(after, ref.laplacian(model, x)[:, 0]) <= 1e-9


def test_working_memory_is_kept_between_calls_until_released():
    model = mlp(4)
    x = inputs(6, 4)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    want = ref.laplacian(model, x)[:, 0]
    tracker = lap.artifact.jit.allocations
    first = lap(x)
    reserved = tracker.reserved
    assert reserved > 0 and tracker.live == 0
    second = lap(x)
    assert torch.equal(first, second) and relative_error(second, want) <= 1e-9
    assert tracker.reserved == reserved and tracker.reused > 0
    lap.release_buffers()
    assert tracker.reserved == 0
    assert relative_error(lap(x), want) <= 1e-9


def test_buffers_are_runtime_inputs():
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp(3, "tanh")
            self.register_buffer("scale", torch.tensor(2.0, dtype=torch.float64))

        def forward(self, x):
            return self.scale * self.net(x)

    model = Scaled()
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    model.scale.fill_(-3.0)
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-9


def test_replacing_a_parameter_with_another_shape_is_an_error():
    model = mlp(3, "tanh")
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    model[0].bias = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"'0.bias' has shape \(5,\).*\(12,\)"):
        lap(x)


# -- errors --------------------------------------------------------------------


class RemainderModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x):
        y = self.linear(x)
        return torch.remainder(y, 0.7).sum(-1)  # no Taylor rule for arith.remf


class BesselModel(torch.nn.Module):
    def forward(self, x):
        return torch.special.i1(x).sum(-1)  # torch-mlir cannot lower it


def _line_of(cls, text):
    lines, start = inspect.getsourcelines(cls)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_unsupported_op_names_the_aten_op_and_source_line(capsys):
    x = inputs(4, 3)
    with pytest.raises(tm.UnsupportedOperationError) as info:
        tm.compile(RemainderModel().double(), op="laplacian", example_inputs=x)
    error = info.value
    line = _line_of(RemainderModel, "torch.remainder")
    assert error.op == "aten.remainder.Scalar"
    assert error.source == f"{__file__}:{line}"
    assert "aten.remainder.Scalar" in str(error)
    assert f"{__file__}:{line}: return torch.remainder(y, 0.7).sum(-1)" in str(error)
    assert "no Taylor-mode rule for 'arith.remf'" in str(error)
    # The failing pass left a reproducer and printed the command.
    assert Path(error.reproducer).is_file()
    assert error.command in capsys.readouterr().err
    assert_replay_fails(error.command, "no Taylor-mode rule for 'arith.remf'")


def test_op_torch_mlir_cannot_lower_is_unsupported():
    x = inputs(4, 3)
    with pytest.raises(tm.UnsupportedOperationError) as info:
        tm.compile(BesselModel(), op="laplacian", example_inputs=x)
    line = _line_of(BesselModel, "torch.special.i1")
    assert "special_i1" in info.value.op
    assert info.value.source == f"{__file__}:{line}"


def test_failing_pass_writes_a_reproducer(tmp_path, monkeypatch, capsys):
    from taylor_mlir import errors, ir

    monkeypatch.setenv(errors.REPRODUCER_DIR_ENV, str(tmp_path))
    text = """
      func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
        %r = arith.remf %x, %x : tensor<4xf64>
        return %r : tensor<4xf64>
      }"""
    pipeline = "builtin.module(taylor-jet{order=2 directions=1})"
    with ir.Context():
        module = ir.Module.parse(text)
        with pytest.raises(tm.CompilationError) as info:
            errors.run_pipeline(module, pipeline, stage="taylor-jet")
    error = info.value
    assert Path(error.reproducer).parent == tmp_path
    assert "arith.remf" in Path(error.reproducer).read_text()
    assert f"--pass-pipeline={shlex.quote(pipeline)}" in error.command
    assert error.command in capsys.readouterr().err
    assert error.diagnostics and "no Taylor-mode rule" in error.diagnostics[0].message


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(4, 3, 1, dtype=torch.float64), r"expected an input of rank 2"),
        (torch.zeros(3, dtype=torch.float64), r"expected an input of rank 2"),
        (torch.zeros(4, 5, dtype=torch.float64), r"expected 3 input features.*got 5"),
        (
            torch.zeros(4, 3, dtype=torch.float32),
            r"expected dtype torch.float64.*got torch.float32",
        ),
    ],
)
def test_bad_inputs_are_value_errors(bad, message):
    lap = tm.compile(mlp(3, "tanh"), op="laplacian", example_inputs=inputs(4, 3))
    with pytest.raises(ValueError, match=message):
        lap(bad)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"op": "curl"}, ValueError, r"unknown op 'curl'"),
        ({"op": "laplacian", "samples": 3}, ValueError, r"takes no option samples"),
        ({"op": "weighted_laplacian"}, ValueError, r"needs the option sigma="),
        (
            {"op": "weighted_laplacian", "sigma": torch.zeros(4, 2)},
            ValueError,
            r"sigma: expected shape \(3, R\).*got \(4, 2\)",
        ),
        ({"op": "stochastic_laplacian", "samples": 0}, ValueError, r"samples must be"),
        (
            {"op": "stochastic_laplacian", "samples": 2, "distribution": "cauchy"},
            ValueError,
            r"distribution must be",
        ),
        ({"op": "linear", "terms": {(1, 0): 1.0}}, ValueError, r"must have 3"),
        (
            {"op": "linear", "terms": {(1, -1, 0): 5.0, (2, 0, 0): 1.0}},
            ValueError,
            r"\(1, -1, 0\) must have 3 non-negative entries",
        ),
        (
            {"op": "linear", "terms": {(2, 0, 0): 0.0, (0, 0, 0): 1.0}},
            ValueError,
            r"at least one term with a derivative and a non-zero",
        ),
        (
            {"op": "stochastic_laplacian", "samples": 2, "seed": True},
            TypeError,
            r"seed must be None.*got bool",
        ),
        (
            {"op": "weighted_laplacian", "sigma": torch.zeros(3, 0)},
            ValueError,
            r"sigma: expected shape \(3, R\), R >= 1",
        ),
        (
            {"op": "taylor", "order": 2, "directions": torch.zeros(0, 3)},
            ValueError,
            r"directions: expected shape \(R, 3\), R >= 1",
        ),
        (
            {"op": "taylor", "order": 0, "directions": torch.eye(3)},
            ValueError,
            r"order",
        ),
        (
            {"op": "taylor", "order": 2, "directions": torch.eye(2)},
            ValueError,
            r"directions: expected shape \(R, 3\)",
        ),
    ],
)
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        tm.compile(mlp(3, "tanh"), example_inputs=inputs(4, 3), **kwargs)


@pytest.mark.parametrize(
    "example, message",
    [
        (torch.zeros(4, dtype=torch.float64), r"expected rank 2"),
        (
            torch.zeros(4, 3, dtype=torch.int64),
            r"float32 or torch.float64, got torch.int64",
        ),
        (np.zeros((4, 3)), r"expected a torch.Tensor"),
    ],
)
def test_bad_example_inputs(example, message):
    with pytest.raises((ValueError, TypeError), match=message):
        tm.compile(mlp(3, "tanh"), op="laplacian", example_inputs=example)


def test_model_output_shape_is_checked():
    with pytest.raises(ValueError, match=r"\[B\], \[B, 1\] or \[B, m\].*\(4, 3, 1\)"):
        tm.compile(lambda x: x[..., None], op="laplacian", example_inputs=inputs(4, 3))


# -- NaN / Inf, inputs untouched -------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_inf_propagate_per_datum(bad):
    model = mlp(3, "tanh")
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    clean = lap(x)
    x_bad = x.clone()
    x_bad[1, 2] = bad
    y = lap(x_bad)
    assert torch.equal(y[[0, 2, 3]], clean[[0, 2, 3]])
    # NaN propagates to its datum; an infinite feature follows IEEE arithmetic
    # (tanh saturates: the compiled derivatives are 0 there, where torch.func's
    # nested forward mode happens to form 0 * inf = NaN).
    if math.isnan(bad):
        assert torch.isnan(y[1])
    else:
        assert torch.isnan(y[1]) or y[1] == 0.0


def test_inputs_and_parameters_are_not_mutated():
    model = mlp(3, "tanh")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = inputs(4, 6)[:, ::2]  # non-contiguous view
    x_before = x.clone()
    sigma = torch.eye(3, dtype=torch.float64)
    sigma_before = sigma.clone()
    op = tm.compile(model, op="weighted_laplacian", example_inputs=x, sigma=sigma)
    op(x)
    op(x)
    assert torch.equal(x, x_before)
    assert torch.equal(sigma, sigma_before)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert model.training  # the model's mode is left as it was


# -- cache, stages -------------------------------------------------------------------


def test_compile_cache_reuses_the_artifact():
    model = mlp(3, "sigmoid", seed=11)
    x = inputs(4, 3)
    first = tm.compile(model, op="biharmonic", example_inputs=x)
    hits = tm.compile_cache_info()["hits"]
    second = tm.compile(model, op="biharmonic", example_inputs=x)
    assert second.artifact is first.artifact
    assert tm.compile_cache_info()["hits"] == hits + 1
    # Same architecture, other weights: the artifact is shared, the weights not.
    other = mlp(3, "sigmoid", seed=12)
    third = tm.compile(other, op="biharmonic", example_inputs=x)
    assert third.artifact is first.artifact
    assert relative_error(third(x), ref.biharmonic(other, x)[:, 0]) <= 1e-9
    # Another op, shape or structure: another artifact.
    assert (
        tm.compile(model, op="laplacian", example_inputs=x).artifact
        is not first.artifact
    )
    assert (
        tm.compile(model, op="biharmonic", example_inputs=inputs(5, 3)).artifact
        is not first.artifact
    )
    model[1] = torch.nn.Tanh()
    changed = tm.compile(model, op="biharmonic", example_inputs=x)
    assert changed.artifact is not first.artifact
    assert relative_error(changed(x), ref.biharmonic(model, x)[:, 0]) <= 1e-9


def test_ir_of_every_stage_and_the_pipeline():
    lap = tm.compile(mlp(3, "tanh"), op="laplacian", example_inputs=inputs(4, 3))
    assert set(lap.ir) == {
        "imported",
        "taylor-jet",
        "taylor-collapse",
        "lowered",
        "llvm",
    }
    assert "linalg.matmul" in lap.ir["imported"]
    assert "taylor.propagate" in lap.ir["taylor-jet"]
    assert "!taylor.jet<2, 3, tensor<4x12xf64>, collapsed>" in lap.ir["taylor-collapse"]
    assert "taylor." not in lap.ir["lowered"]
    assert "llvm.func" in lap.ir["llvm"]
    assert lap.pipeline.names == [
        "taylor-jets",
        "taylor-collapse-jets",
        "taylor-lower-jets",
        "taylor-cpu-codegen",
    ]
    assert "seeds=identity" in str(lap.pipeline)
    stages = lap.artifact.timings
    assert list(stages) == [
        "torch.export",
        "torch-mlir import",
        "taylor-jet",
        "taylor-collapse",
        "taylor-lower",
        "taylor-to-llvm + JIT",
        "self-check",
    ]
    assert all(seconds >= 0 for seconds in stages.values())


def test_identity_seeds_need_no_dense_products():
    """The Laplacian's unit directions are generated in the function and the
    first layer's product with them folds into a slice of its weights."""
    lap = tm.compile(mlp(5, "tanh"), op="laplacian", example_inputs=inputs(4, 5))
    signature = lap.ir["taylor-jet"].split("func.func @term0_order2(")[1].split(")")[0]
    assert "tensor<5x4x5xf64>" not in signature  # no x_1 argument
    folded = subprocess.run(
        [
            taylor_opt(),
            "--pass-pipeline=builtin.module(taylor-to-llvm)",
            "--mlir-pass-statistics",
            "-o",
            "/dev/null",
        ],
        input=lap.ir["lowered"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "(S) 1 num-folded" in folded.stderr


def test_numpy_integers_are_integers():
    x = inputs(4, 3)
    op = tm.compile(
        mlp(3, "tanh"), op="stochastic_laplacian", example_inputs=x, samples=np.int64(2)
    )
    assert op(x).shape == (4,)


# -- models with buffers, modes, random ops --------------------------------------


class Normalized(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(3)
        self.net = mlp(3, "tanh")

    def forward(self, x):
        return self.net(self.norm(x))


def test_batchnorm_in_training_mode_is_refused_and_left_alone():
    model = Normalized().double()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(
        ValueError,
        match=r"batch normalization in training mode \(norm\).*model.eval\(\)",
    ):
        tm.compile(model, op="laplacian", example_inputs=inputs(4, 3))
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_batchnorm_in_eval_mode_reads_its_running_statistics():
    model = Normalized().double().eval()
    with torch.no_grad():
        model.norm.running_mean.copy_(torch.tensor([0.5, -1.0, 0.2]))
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-9
    with torch.no_grad():
        model.norm.running_var.mul_(3.0)  # a buffer change is used
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-9


def test_integer_buffers_stay_integers():
    class Select(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("factor", torch.tensor([2, -1, 3]))
            self.net = mlp(3, "sin")

        def forward(self, x):
            return self.net(x * self.factor)

    model = Select()
    x = inputs(4, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-9


def test_random_ops_warn():
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8),
        torch.nn.Tanh(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(8, 1),
    ).double()
    with pytest.warns(UserWarning, match=r"draws random numbers.*dropout.*model.eval"):
        tm.compile(model, op="laplacian", example_inputs=inputs(4, 3))


# -- the torch-mlir process ----------------------------------------------------


def test_concurrent_compiles():
    import threading

    models = [mlp(3, "tanh", hidden=8 + i) for i in range(4)]
    x = inputs(4, 3)
    results, errors = {}, []

    def work(i):
        try:
            results[i] = tm.compile(models[i], op="laplacian", example_inputs=x)(x)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, model in enumerate(models):
        assert relative_error(results[i], ref.laplacian(model, x)[:, 0]) <= 1e-9


def test_an_interrupted_import_does_not_desynchronize(monkeypatch):
    from taylor_mlir import torch_import

    model = mlp(3, "tanh", hidden=5)
    x = inputs(4, 3)
    real_select = torch_import.select.select
    calls = []

    def interrupted(*args):
        if not calls:
            calls.append(1)
            raise KeyboardInterrupt
        return real_select(*args)

    monkeypatch.setattr(torch_import.select, "select", interrupted)
    with pytest.raises(KeyboardInterrupt):
        torch_import.import_torch_module(model, [x])
    text = torch_import.import_torch_module(model, [x])
    assert "linalg" in text
    second = torch_import.import_torch_module(mlp(3, "tanh", hidden=7), [x])
    assert "7xf64" in second
