"""`taylor-jet` + `taylor-lower` numerics through calls of a helper function:
jets cross `func.call` (one jet callee for the three calls, whose arguments
are both jets). Coefficients f_0..f_K against nested `torch.func.jvp` in
float64.

Jets through `scf.if` (a branch chosen by a passive argument) are checked
too, through the public `TaylorJet`. (Jets through `scf.for` are checked at
the IR level only, test/Transforms/taylor-jet-structural.mlir and
taylor-lower-structural.mlir: one-shot bufferization refuses an `scf.for`
whose iter_args are not updated in place.)"""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from taylor_reference import reference_coefficients, relative_error  # noqa: E402

from taylor_mlir import _pipelines, ir  # noqa: E402
from taylor_mlir.jit import JitModule  # noqa: E402
from taylor_mlir.taylor_mode import TaylorJet, taylor_jet_pipeline  # noqa: E402

R = 3
STEPS = 3

# layer(a, x) = tanh(a * x) + x; f(x) = exp(layer applied 3 times to a = x).
MODULE = """
#id = affine_map<(d0, d1) -> (d0, d1)>
!t = tensor<2x4xf64>
func.func private @layer(%a: !t, %x: !t) -> !t {
  %e = tensor.empty() : !t
  %r = linalg.generic {indexing_maps = [#id, #id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %x : !t, !t) outs(%e : !t) {
  ^bb0(%p: f64, %q: f64, %o: f64):
    %m = arith.mulf %p, %q : f64
    %t = math.tanh %m : f64
    %s = arith.addf %t, %q : f64
    linalg.yield %s : f64
  } -> !t
  return %r : !t
}

func.func @f(%x: !t) -> !t {
  %y1 = func.call @layer(%x, %x) : (!t, !t) -> !t
  %y2 = func.call @layer(%y1, %x) : (!t, !t) -> !t
  %r = func.call @layer(%y2, %x) : (!t, !t) -> !t
  %e = tensor.empty() : !t
  %out = linalg.exp ins(%r : !t) outs(%e : !t) -> !t
  return %out : !t
}
"""


def reference(x):
    acc = x
    for _ in range(STEPS):
        acc = torch.tanh(acc * x) + x
    return torch.exp(acc)


@pytest.fixture(scope="module")
def jets():
    """The jet functions of order 1..3, lowered and JIT-compiled."""
    compiled = {}
    for order in (1, 2, 3):
        with ir.Context():
            module = ir.Module.parse(MODULE)
            _pipelines.run(
                module,
                taylor_jet_pipeline(order=order, directions=R, function="f"),
            )
            text = str(module)
            assert text.count("func.func private @layer_jet_0_1") == 1
            _pipelines.run(module, "taylor-lower-jets")
            assert "taylor." not in str(module)
            compiled[order] = JitModule(module)
    return compiled


@pytest.mark.parametrize("order", [1, 2, 3])
def test_calls_float64(jets, order):
    g = torch.Generator().manual_seed(7 + order)
    x0 = 0.5 * torch.randn(2, 4, generator=g, dtype=torch.float64)
    xs = {
        k: torch.randn(R, 2, 4, generator=g, dtype=torch.float64) / k
        for k in range(1, order + 1)
    }
    want = reference_coefficients(reference, x0, xs, order)
    got = jets[order].f_jet(x0, *[xs[k] for k in range(1, order + 1)])
    assert len(got) == order + 1
    for k in range(order + 1):
        err = relative_error(got[k], want[k])
        assert err <= 1e-10, f"coefficient {k} of K={order}: rel. error {err:.2e}"


def test_collapsed_sum_through_calls_float64():
    """sum-top + taylor-collapse: the sum over directions cannot be pushed into
    the jet callee; the result is still Σ_r f_2^(r)."""
    order = 2
    with ir.Context():
        module = ir.Module.parse(MODULE)
        _pipelines.run(
            module,
            taylor_jet_pipeline(order=order, directions=R, function="f", sum_top=True),
        )
        _pipelines.run(module, "taylor-collapse-jets")
        _pipelines.run(module, "taylor-lower-jets")
        jit = JitModule(module)
    g = torch.Generator().manual_seed(11)
    x0 = 0.5 * torch.randn(2, 4, generator=g, dtype=torch.float64)
    xs = {1: torch.randn(R, 2, 4, generator=g, dtype=torch.float64)}
    want = reference_coefficients(reference, x0, {1: xs[1], 2: 0 * xs[1]}, order)
    got = jit.f_jet(x0, xs[1], torch.zeros(R, 2, 4, dtype=torch.float64))
    assert len(got) == order + 1
    assert relative_error(got[0], want[0]) <= 1e-10
    assert relative_error(got[1], want[1]) <= 1e-10
    assert relative_error(got[2], want[2].sum(0)) <= 1e-10


def test_taylor_jet_keeps_the_jet_callees():
    """`TaylorJet` (the public path) keeps the jet copies of the callees."""
    jet = TaylorJet(MODULE, order=2, directions=R, function="f")
    assert "func.func private @layer_jet" in jet.jet_ir
    g = torch.Generator().manual_seed(5)
    x0 = 0.5 * torch.randn(2, 4, generator=g, dtype=torch.float64)
    xs = {k: torch.randn(R, 2, 4, generator=g, dtype=torch.float64) for k in (1, 2)}
    want = reference_coefficients(reference, x0, xs, 2)
    got = jet(x0, xs[1], xs[2])
    for k in range(3):
        assert relative_error(got[k], want[k]) <= 1e-10


BRANCH = """
!t = tensor<2x4xf64>
func.func @g(%x: !t, %c: tensor<f64>) -> !t {
  %z = arith.constant 0.0 : f64
  %v = tensor.extract %c[] : tensor<f64>
  %p = arith.cmpf olt, %v, %z : f64
  %r = scf.if %p -> !t {
    %e = tensor.empty() : !t
    %a = linalg.tanh ins(%x : !t) outs(%e : !t) -> !t
    scf.yield %a : !t
  } else {
    %e = tensor.empty() : !t
    %b = linalg.exp ins(%x : !t) outs(%e : !t) -> !t
    scf.yield %b : !t
  }
  return %r : !t
}
"""


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_branch_float64(sign):
    """f_0..f_3 through an `scf.if` on a passive argument, each branch."""
    jet = TaylorJet(BRANCH, order=3, directions=R, function="g")
    g = torch.Generator().manual_seed(3)
    x0 = 0.5 * torch.randn(2, 4, generator=g, dtype=torch.float64)
    xs = {
        k: torch.randn(R, 2, 4, generator=g, dtype=torch.float64) for k in (1, 2, 3)
    }
    function = torch.tanh if sign < 0 else torch.exp
    want = reference_coefficients(function, x0, xs, 3)
    got = jet(x0, xs[1], xs[2], xs[3], torch.tensor(sign, dtype=torch.float64))
    for k in range(4):
        assert relative_error(got[k], want[k]) <= 1e-10
