"""taylor_mlir.seer (TaylorSeer): the reference example, the schedule, the
derivative estimates and forecasts against closed forms, the three ways of
wrapping, state between runs, the auto mode, and every error. Stub modules
only: fast."""

import copy
import math
import subprocess
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from taylor_mlir import seer  # noqa: E402
from taylor_mlir.seer import TaylorSeer, taylor_seer  # noqa: E402


class Fn(nn.Module):
    """out = fn(t) * x for a scalar tensor t; counts its calls."""

    def __init__(self, fn, x=None):
        super().__init__()
        self.fn = fn
        self.x = torch.ones(()) if x is None else x
        self.calls = 0

    def forward(self, t):
        self.calls += 1
        return self.fn(t) * self.x


def run(module, n, dtype=torch.float64, make=None):
    make = make or (lambda i: torch.tensor(float(i), dtype=dtype))
    return [module(make(i)) for i in range(n)]


def backward_difference(values, i):
    """∇^i f at the last entry of values (unit steps)."""
    return sum((-1) ** j * math.comb(i, j) * values[-1 - j] for j in range(i + 1))


# ---------------------------------------------------------------- reference


def test_reference_example_exactly():
    @taylor_seer(warmup_steps=4, skip_interval_steps=2, n_derivatives=1)
    class timestep_squared(nn.Module):
        def forward(self, timestep):
            return timestep**2

    model = timestep_squared()
    model.reset_cache(warmup_steps=4, skip_interval_steps=2)
    out = [model(torch.tensor(i, dtype=torch.float32)) for i in range(10)]
    assert [o.item() for o in out] == [0, 1, 4, 9, 14, 25, 33, 49, 61, 81]
    assert all(o.dtype == torch.float32 for o in out)
    assert model.seer_full_steps == [0, 1, 2, 3, 5, 7, 9]
    assert model.seer_step == 10
    s = model.seer_stats()
    assert (s["full"], s["forecast"], s["schedule"]) == (7, 3, "FFFF.F.F.F")


@pytest.mark.parametrize(
    "warmup, interval, full",
    [
        (4, 2, [0, 1, 2, 3, 5, 7, 9, 11]),
        (2, 3, [0, 1, 4, 7, 10]),
        (3, 3, [0, 1, 2, 5, 8, 11]),
        (3, 4, [0, 1, 2, 6, 10]),
        (1, 4, [0, 4, 8]),
        (2, 1, list(range(12))),
    ],
)
def test_schedule(warmup, interval, full):
    stub = Fn(lambda t: t)
    m = taylor_seer(warmup, interval, 0)(stub)
    run(m, 12)
    assert m.seer_full_steps == full
    assert stub.calls == len(full)
    assert m.seer_stats()["forecast"] == 12 - len(full)


# ------------------------------------------------------ estimates, forecasts


def test_derivatives_over_uneven_gaps():
    # f = t^3, full steps 0, 1, 2 (gap 1) then 5, 8 (gap 3).
    m = taylor_seer(3, 3, 2)(Fn(lambda t: t**3))
    out = run(m, 8)
    assert m.seer_full_steps == [0, 1, 2, 5]
    # after step 2: d = [8, 7, 6]; after step 5 (gap 3): d1 = (125 - 8) / 3,
    # d2 = (39 - 7) / 3.
    assert [d.item() for d in m.seer_derivatives] == pytest.approx([125, 39, 32 / 3])
    assert out[3].item() == pytest.approx(8 + 7 + 6 / 2)
    assert out[4].item() == pytest.approx(8 + 7 * 2 + 6 * 4 / 2)
    assert out[6].item() == pytest.approx(125 + 39 + 32 / 3 / 2)
    assert out[7].item() == pytest.approx(125 + 39 * 2 + 32 / 3 * 4 / 2)


def test_orders_grow_with_the_full_results():
    m = taylor_seer(4, 2, 3)(Fn(lambda t: t**2))
    sizes = []
    for i in range(4):
        m(torch.tensor(float(i), dtype=torch.float64))
        sizes.append(len(m.seer_derivatives))
    assert sizes == [1, 2, 3, 4]


def test_cubic_taylor_forecast_matches_closed_form():
    """n = 3 on a cubic: the forecast is sum_i ∇^i f(s) k^i / i! (backward
    differences, unit steps during the warm-up), not the cubic itself."""
    g = torch.Generator().manual_seed(0)
    a, b, c, e = (torch.randn(5, 3, generator=g, dtype=torch.float64) for _ in "abce")

    def f(t):
        return a * t**3 + b * t**2 + c * t + e

    m = taylor_seer(4, 3, 3)(Fn(f))
    out = run(m, 6)
    values = [f(torch.tensor(float(i), dtype=torch.float64)) for i in range(4)]
    for k, step in ((1, 4), (2, 5)):
        closed = sum(
            backward_difference(values, i) * k**i / math.factorial(i) for i in range(4)
        )
        torch.testing.assert_close(out[step], closed, rtol=1e-12, atol=1e-12)
        truth = f(torch.tensor(float(step), dtype=torch.float64))
        assert not torch.allclose(out[step], truth)  # the scheme lags


def test_linear_function_is_forecast_exactly_by_taylor():
    x = torch.randn(4, dtype=torch.float64)
    m = taylor_seer(2, 4, 1)(Fn(lambda t: 3 * t - 2, x))
    for i, o in enumerate(run(m, 20)):
        torch.testing.assert_close(o, (3 * i - 2) * x, rtol=1e-12, atol=1e-12)
    assert len(m.seer_full_steps) < 20


@pytest.mark.parametrize("n", [1, 2, 3])
def test_newton_reproduces_polynomials_of_degree_n_over_uneven_gaps(n):
    g = torch.Generator().manual_seed(n)
    coef = [torch.randn(3, generator=g, dtype=torch.float64) for _ in range(n + 1)]

    def f(t):
        return sum(c * t**i for i, c in enumerate(coef))

    # gaps of 1 during the warm-up, then of 3
    m = taylor_seer(n + 1, 3, n, formula="newton")(Fn(f))
    out = run(m, 16)
    full = m.seer_full_steps
    assert {b - a for a, b in zip(full, full[1:])} == {1, 3}
    for i, o in enumerate(out):
        truth = f(torch.tensor(float(i), dtype=torch.float64))
        torch.testing.assert_close(o, truth, rtol=1e-9, atol=1e-9)
    # one degree more is not reproduced
    m = taylor_seer(n + 1, 3, n - 1, formula="newton")(Fn(f))
    out = run(m, 8)
    truth = f(torch.tensor(float(n + 1), dtype=torch.float64))
    assert not torch.allclose(out[n + 1], truth)


def test_zero_derivatives_reuses_the_last_full_result():
    m = taylor_seer(1, 3, 0)(Fn(lambda t: t + 1))
    assert [o.item() for o in run(m, 7)] == [1, 1, 1, 4, 4, 4, 7]


# ------------------------------------------------------------ three uses


class Block(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.lin = nn.Linear(d, d)
        self.register_buffer("scale", torch.full((d,), 2.0))
        self.register_buffer("tmp", torch.zeros(d), persistent=False)

    def forward(self, x):
        return self.lin(x) * self.scale


def test_class_decorator_keeps_name_isinstance_state_dict():
    Seer = taylor_seer(2, 2, 1)(Block)
    torch.manual_seed(0)
    plain = Block()
    torch.manual_seed(0)
    m = Seer()
    assert Seer.__name__ == "Block" and Seer.__qualname__ == Block.__qualname__
    assert isinstance(m, Seer) and isinstance(m, Block) and seer.is_seer(m)
    assert not seer.is_seer(plain)
    assert (
        list(m.state_dict())
        == list(plain.state_dict())
        == ["scale", "lin.weight", "lin.bias"]
    )
    m.load_state_dict(plain.state_dict())
    x = torch.randn(3, 4)
    torch.testing.assert_close(m(x), plain(x))
    # two instances, two caches
    m2 = Seer()
    m(x)
    assert (m.seer_step, m2.seer_step) == (2, 0)


def test_instance_wrapper_shares_parameters_and_leaves_the_module_alone():
    inner = Block()
    before = dict(inner.__dict__)
    w = taylor_seer(2, 2, 1)(inner)
    assert isinstance(w, TaylorSeer) and w.module is inner
    assert list(w.state_dict()) == list(inner.state_dict())
    assert [p is q for p, q in zip(w.parameters(), inner.parameters())] == [True, True]
    assert dict(inner.__dict__) == before and type(inner) is Block
    assert not seer.is_seer(inner)
    assert w.lin is inner.lin and w.scale is inner.scale  # attributes read through
    # loading through the wrapper loads the module
    sd = {k: torch.zeros_like(v) for k, v in inner.state_dict().items()}
    w.load_state_dict(sd)
    assert inner.lin.weight.abs().sum() == 0
    # the wrapped module still computes every call itself
    x = torch.randn(2, 4)
    for _ in range(4):
        w(x)
    assert w.seer_full_steps == [0, 1, 3]
    w.eval()
    assert not inner.training and not w.training
    w.double()
    assert inner.lin.weight.dtype == torch.float64


def test_wrap_by_name_type_predicate_and_unwrap():
    torch.manual_seed(0)
    model = nn.Sequential(Block(), nn.ReLU(), nn.Sequential(Block(), nn.Linear(4, 4)))
    keys = list(model.state_dict())
    originals = [model[0], model[2][0], model[2][1]]
    x = torch.randn(2, 4)
    ref = model(x)

    assert seer.wrap(model, ["2.1"], warmup_steps=2, n_derivatives=1) == ["2.1"]
    assert isinstance(model[2][1], TaylorSeer) and model[2][1].module is originals[2]
    assert list(model.state_dict()) == keys
    torch.testing.assert_close(model(x), ref)
    assert seer.unwrap(model) == ["2.1"] and model[2][1] is originals[2]

    # by type: the inside of a selected module is not searched (Block.lin)
    assert seer.wrap(model, [Block, nn.Linear], n_derivatives=1) == ["0", "2.0", "2.1"]
    assert list(model.state_dict()) == keys
    assert sorted(seer.stats(model)) == ["0", "2.0", "2.1"]
    assert seer.unwrap(model) == ["0", "2.0", "2.1"]
    assert [model[0], model[2][0], model[2][1]] == originals

    names = seer.wrap(model, lambda name, m: isinstance(m, Block) and name != "0")
    assert names == ["2.0"]
    seer.unwrap(model)
    assert not any(seer.is_seer(m) for m in model.modules())


def test_wrap_errors_leave_the_model_unchanged():
    model = nn.Sequential(Block(), Block())
    with pytest.raises(ValueError, match="no submodule named 2"):
        seer.wrap(model, ["0", "2"])
    assert not any(seer.is_seer(m) for m in model.modules())
    with pytest.raises(ValueError, match="matched no submodule"):
        seer.wrap(model, [nn.Conv2d])
    with pytest.raises(ValueError, match="model itself"):
        seer.wrap(model, [nn.Sequential])
    seer.wrap(model, ["0"])
    with pytest.raises(ValueError, match="0 already forecasts"):
        seer.wrap(model, ["0"])
    with pytest.raises(ValueError, match="warmup_steps=1 is too short"):
        seer.wrap(model, ["1"], warmup_steps=1, n_derivatives=1)
    with pytest.raises(TypeError, match="names and types"):
        seer.wrap(model, [3])
    with pytest.raises(ValueError, match="model.module"):
        seer.unwrap(model[0])
    with pytest.raises(ValueError, match="already forecasts"):
        taylor_seer()(model[0])


def test_one_cache_per_module():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3)).double()
    seer.wrap(
        model, [nn.Linear], warmup_steps=2, skip_interval_steps=2, n_derivatives=1
    )
    first, second = model[0], model[2]
    inputs = [torch.full((1, 3), 0.1 * i, dtype=torch.float64) for i in range(6)]
    h = [first.module(x) for x in inputs]
    for x in inputs:
        model(x)
    # each forecasts from its own full results (step 4: full at 1 and 3)
    d0 = first.seer_derivatives[0]
    torch.testing.assert_close(d0, h[5])
    assert not torch.equal(d0, second.seer_derivatives[0])
    assert first.seer_full_steps == second.seer_full_steps == [0, 1, 3, 5]


def test_deepcopy_copies_the_cache():
    m = taylor_seer(2, 2, 1)(Fn(lambda t: t))
    run(m, 3)
    c = copy.deepcopy(m)
    c(torch.tensor(3.0, dtype=torch.float64))
    assert (m.seer_step, c.seer_step) == (3, 4)


# ------------------------------------------------------------------ state


def test_reset_cache_and_sampling_between_runs():
    m = taylor_seer(2, 3, 1)(Fn(lambda t: t**2))
    first = [o.item() for o in run(m, 9)]
    # without a reset the counter goes on, and the schedule with it
    assert m.seer_step == 9
    m.reset_cache()
    assert (m.seer_step, m.seer_full_steps, m.seer_derivatives) == (0, [], [])
    assert [o.item() for o in run(m, 9)] == first
    # parameters change with reset_cache, as in the reference
    m.reset_cache(skip_interval_steps=2)
    run(m, 6)
    assert m.seer_full_steps == [0, 1, 3, 5]
    assert m.seer_config.skip_interval_steps == 2
    with pytest.raises(ValueError, match="skip_interval_steps must be >= 1"):
        m.reset_cache(skip_interval_steps=0)
    assert m.seer_config.skip_interval_steps == 2 and m.seer_step == 6

    model = nn.Sequential(m)
    with seer.sampling(model) as r:
        assert m.seer_step == 0
        out = [o.item() for o in run(model, 9)]
    assert m.seer_step == 0
    assert r.stats["0"]["steps"] == 9
    assert r.stats["0"]["full_steps"] == [0, 1, 3, 5, 7]
    assert (r.full, r.forecast) == (5, 4)
    assert out == [o.item() for o in run(taylor_seer(2, 2, 1)(Fn(lambda t: t**2)), 9)]
    assert m.seer_stats()["total_full"] >= 5 + 5
    assert seer.reset(model) == ["0"]


def test_sampling_resets_on_an_exception():
    m = taylor_seer(2, 2, 1)(Fn(lambda t: t))
    with pytest.raises(RuntimeError):
        with seer.sampling(m):
            run(m, 3)
            raise RuntimeError
    assert m.seer_step == 0


def test_a_new_batch_shape_starts_a_new_run():
    m = taylor_seer(2, 3, 1)(Fn(lambda t: t.sum(-1, keepdim=True) * 2))
    for i in range(5):
        m(torch.full((2, 3), float(i)))
    assert m.seer_full_steps == [0, 1, 4]
    x = torch.full((5, 3), 7.0)
    with pytest.warns(UserWarning, match=r"inputs changed from \(\[2, 3\].*\(\[5, 3\]"):
        out = m(x)
    torch.testing.assert_close(out, x.sum(-1, keepdim=True) * 2)  # computed
    assert (m.seer_step, m.seer_full_steps) == (1, [0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per module
        m(torch.full((2, 3), 1.0))
    assert m.seer_step == 1


def test_a_changed_output_starts_a_new_run():
    class Varying(nn.Module):
        n = 2

        def forward(self, t):
            return t * torch.ones(self.n)

    m = taylor_seer(2, 1, 1)(Varying())
    run(m, 3, dtype=torch.float32)
    m.module.n = 3
    with pytest.warns(UserWarning, match="output changed"):
        out = m(torch.tensor(5.0))
    assert out.shape == (3,) and m.seer_step == 1


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_derivatives=-1), "n_derivatives must be >= 0"),
        (dict(skip_interval_steps=0), "skip_interval_steps must be >= 1"),
        (dict(warmup_steps=0, n_derivatives=0), "warmup_steps must be >= 1"),
        (
            dict(warmup_steps=2, n_derivatives=2),
            "warmup_steps=2 is too short for n_derivatives=2.*needs 3 full steps",
        ),
        (dict(warmup_steps=2.5), r"warmup_steps must be an integer, got 2.5 \(float\)"),
        (dict(n_derivatives=1.0), "n_derivatives must be an integer"),
        (dict(skip_interval_steps="2"), "skip_interval_steps must be an integer"),
        (dict(skip_interval_steps=True), "skip_interval_steps must be an integer"),
        (dict(mode="adaptive"), "mode must be one of"),
        (dict(formula="pade"), "formula must be one of"),
        (dict(mode="auto"), "mode='auto' needs a tolerance"),
        (dict(mode="auto", tolerance=0.0), "tolerance must be a finite number > 0"),
        (dict(mode="auto", tolerance=math.nan), "tolerance must be a finite"),
        (
            dict(mode="auto", tolerance=0.1, n_derivatives=0, warmup_steps=1),
            "n_derivatives >= 1",
        ),
        (dict(mode="auto", tolerance=0.1, max_skip=0), "max_skip must be >= 1"),
        (
            dict(mode="auto", tolerance=0.1, check_interval=1.5),
            "check_interval must be an integer",
        ),
        (dict(tolerance=0.1), "tolerance only apply to mode='auto'"),
        (dict(max_skip=2, check_interval=2), "max_skip, check_interval only apply"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        taylor_seer(**kwargs)


def test_reset_cache_to_fixed_drops_the_auto_parameters():
    m = taylor_seer(mode="auto", tolerance=0.1, max_skip=3)(Fn(lambda t: t))
    m.reset_cache(mode="fixed")
    assert m.seer_config.tolerance is None and m.seer_config.mode == "fixed"


@pytest.mark.parametrize(
    "result, name", [((1, 2), "tuple"), (None, "NoneType"), ({"a": 1}, "dict")]
)
def test_forward_must_return_one_tensor(result, name):
    class Bad(nn.Module):
        def forward(self, x):
            return result if not isinstance(result, tuple) else (x, x)

    model = nn.Sequential(nn.Identity(), Bad())
    seer.wrap(model, ["1"])
    with pytest.raises(
        TypeError, match=rf"1\.forward returned {name}; .*one torch.Tensor"
    ):
        model(torch.ones(2))
    Decorated = taylor_seer()(type("Bad", (Bad,), {}))
    with pytest.raises(TypeError, match=rf"Bad\.forward returned {name}"):
        Decorated()(torch.ones(2))


def test_integer_outputs_are_refused():
    m = taylor_seer()(Fn(lambda t: t, torch.ones(2, dtype=torch.int64)))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.tensor(1))


def test_decorating_something_else():
    with pytest.raises(TypeError, match="nn.Module subclasses"):
        taylor_seer()(int)
    with pytest.raises(TypeError, match="defines no forward"):
        taylor_seer()(type("Empty", (nn.Module,), {}))
    with pytest.raises(TypeError, match="got function"):
        taylor_seer()(lambda x: x)


# ---------------------------------------------------- autograd and dtypes


def test_no_grad_and_cached_tensors_are_detached():
    torch.manual_seed(0)
    lin = nn.Linear(3, 3)
    m = taylor_seer(2, 2, 1)(lin)
    x = torch.randn(1, 3)
    out = [m(x * i) for i in range(4)]
    assert out[0].requires_grad and out[1].requires_grad  # full: the module's
    assert not out[2].requires_grad  # forecast
    state = m._seer_state()
    assert state.coeffs and not any(c.requires_grad for c in state.coeffs)
    assert not any(c.grad_fn for c in state.coeffs)
    m.reset_cache()
    with torch.no_grad():
        out = [m(x * i) for i in range(4)]
    assert not any(o.requires_grad for o in out)
    assert m.seer_full_steps == [0, 1, 3]


def test_float32_and_bfloat16():
    f = lambda t: t**2 + 0.5  # noqa: E731
    for dtype in (torch.float32, torch.bfloat16):
        m = taylor_seer(3, 2, 2)(Fn(f, torch.ones(4, dtype=dtype)))
        out = run(m, 6, dtype=dtype)
        assert all(o.dtype == dtype and o.device.type == "cpu" for o in out)
        assert all(c.dtype == torch.float32 for c in m.seer_derivatives)
    # the bfloat16 forecast is the float32 one on the bfloat16 full values
    m = taylor_seer(3, 2, 2)(Fn(f, torch.ones(4, dtype=torch.bfloat16)))
    out = run(m, 4, dtype=torch.bfloat16)
    full = [f(torch.tensor(float(i), dtype=torch.bfloat16)).float() for i in range(3)]
    expected = sum(backward_difference(full, i) / math.factorial(i) for i in range(3))
    assert out[3][0].item() == expected.to(torch.bfloat16).item()
    m = taylor_seer(3, 2, 2)(Fn(lambda t: t * 0.1, torch.ones(2, dtype=torch.float16)))
    assert run(m, 4, dtype=torch.float16)[3].dtype == torch.float16


def test_callers_cannot_corrupt_the_cache():
    m = taylor_seer(2, 4, 1)(Fn(lambda t: t, torch.ones(3, dtype=torch.float64)))
    full = run(m, 2)
    full[1].mul_(100)  # a full output modified in place
    a = m(torch.tensor(2.0, dtype=torch.float64))
    a.fill_(-1)  # a forecast modified in place
    b = m(torch.tensor(3.0, dtype=torch.float64))
    assert a.data_ptr() != b.data_ptr()
    torch.testing.assert_close(b, torch.full((3,), 3.0, dtype=torch.float64))
    # the same with plain reuse, whose forecast is a copy of the cache
    m = taylor_seer(1, 3, 0)(Fn(lambda t: t + 1, torch.ones(2)))
    run(m, 1, dtype=torch.float32)
    m(torch.tensor(1.0)).zero_()
    assert m(torch.tensor(2.0)).tolist() == [1.0, 1.0]


# -------------------------------------------------------------- auto mode


def count_auto(fn, steps=40, **kwargs):
    stub = Fn(fn, torch.linspace(1, 2, 8, dtype=torch.float64))
    m = taylor_seer(3, 1, 2, mode="auto", **kwargs)(stub)
    run(m, steps)
    s = m.seer_stats()
    assert (
        s["full"]
        == stub.calls
        == len(s["full_steps"])
        == s["schedule"].count("F") + s["schedule"].count("C")
    )
    assert s["forecast"] == steps - stub.calls
    return s


def test_auto_skips_more_on_a_smooth_function():
    smooth = count_auto(lambda t: 1 + 0.02 * t + 0.001 * t**2, tolerance=0.01)
    rough = count_auto(lambda t: 1 + 0.5 * torch.sin(1.7 * t), tolerance=0.01)
    assert smooth["forecast"] >= 20
    assert smooth["full"] < rough["full"]
    assert rough["forecast"] < 10


def test_auto_max_skip():
    s = count_auto(lambda t: 1 + 0.001 * t, tolerance=0.5, max_skip=3)
    runs = [len(r) for r in s["schedule"].split("F") if r]
    assert max(runs) == 3
    free = count_auto(lambda t: 1 + 0.001 * t, tolerance=0.5)
    assert max(len(r) for r in free["schedule"].split("F") if r) > 3


def test_auto_check_steps_measure_the_error_and_adapt():
    # the estimate (2nd-order term) misses the large 3rd-order term: the
    # checks measure errors above the tolerance and halve it
    s = count_auto(
        lambda t: 1 + 0.05 * (t - 3) ** 3 / 27,
        tolerance=0.05,
        check_interval=2,
        steps=30,
    )
    assert s["checks"], s["schedule"]
    for check in s["checks"]:
        assert s["schedule"][check["step"]] == "C"
        assert check["error"] >= 0 and check["estimate"] <= 0.05
    big = [c for c in s["checks"] if c["error"] > 0.05]
    assert big and big[0]["effective_tolerance"] == 0.025
    # on a function forecast well, checks keep the tolerance
    s = count_auto(lambda t: 1 + 0.01 * t, tolerance=0.05, check_interval=2)
    assert s["checks"] and all(c["effective_tolerance"] == 0.05 for c in s["checks"])
    assert all(c["error"] < 1e-12 for c in s["checks"])


# ---------------------------------------------------------------- imports


def test_import_is_lazy():
    code = (
        "import sys, taylor_mlir as tm; assert 'taylor_mlir.seer' not in sys.modules; "
        "assert tm.seer.taylor_seer is not None; from taylor_mlir import seer"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
