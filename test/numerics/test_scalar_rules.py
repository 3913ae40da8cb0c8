"""Scalar rules on hand-written linalg bodies, for math ops that torch-mlir
does not emit for the suite (exp2, cbrt, fma, floor, ...), against nested
torch.func.jvp in float64."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from taylor_mlir.taylor_mode import TaylorJet  # noqa: E402

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from taylor_reference import reference_coefficients, relative_error  # noqa: E402

R, N = 2, 5

TEMPLATE = """
#id = affine_map<(d0) -> (d0)>
func.func @f(%x: tensor<{n}xf64>) -> tensor<{n}xf64> {{
  %c = arith.constant 0.75 : f64
  %i = arith.constant 3 : i32
  %e = tensor.empty() : tensor<{n}xf64>
  %r = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel"]}}
      ins(%x : tensor<{n}xf64>) outs(%e : tensor<{n}xf64>) {{
  ^bb0(%a: f64, %o: f64):
    {body}
    linalg.yield %y : f64
  }} -> tensor<{n}xf64>
  return %r : tensor<{n}xf64>
}}
"""

# name -> (MLIR body computing %y from %a, torch function)
OPS = {
    "exp2": ("%y = math.exp2 %a : f64", torch.exp2),
    "expm1": ("%y = math.expm1 %a : f64", torch.expm1),
    "cbrt": ("%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c : f64\n"
             "    %y = math.cbrt %q : f64", lambda x: torch.pow(x * x + 0.75, 1.0 / 3.0)),
    "rsqrt": ("%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c : f64\n"
              "    %y = math.rsqrt %q : f64", lambda x: torch.rsqrt(x * x + 0.75)),
    "log2": ("%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c : f64\n"
             "    %y = math.log2 %q : f64", lambda x: torch.log2(x * x + 0.75)),
    "fma": ("%s = math.sin %a : f64\n    %y = math.fma %s, %a, %c : f64",
            lambda x: torch.sin(x) * x + 0.75),
    "fpowi": ("%y = math.fpowi %a, %i : f64, i32", lambda x: x**3),
    "floor_mix": ("%fl = math.floor %a : f64\n    %y = arith.addf %fl, %a : f64",
                  lambda x: torch.floor(x) + x),
    "tan": ("%s = arith.mulf %a, %c : f64\n    %y = math.tan %s : f64",
            lambda x: torch.tan(0.75 * x)),
    "sinh": ("%y = math.sinh %a : f64", torch.sinh),
    "cosh": ("%y = math.cosh %a : f64", torch.cosh),
    "atan": ("%y = math.atan %a : f64", torch.atan),
    "absf": ("%y = math.absf %a : f64", torch.abs),
    "minnum": ("%s = math.sin %a : f64\n    %y = arith.minnumf %s, %a : f64",
               lambda x: torch.minimum(torch.sin(x), x)),
}


@pytest.mark.parametrize("order", [1, 3, 5])
@pytest.mark.parametrize("name", list(OPS))
def test_scalar_rule(name, order):
    body, fn = OPS[name]
    g = torch.Generator().manual_seed(len(name))
    x0 = torch.randn(N, generator=g, dtype=torch.float64)
    xs = {k: torch.randn(R, N, generator=g, dtype=torch.float64) / k
          for k in range(1, order + 1)}
    want = reference_coefficients(fn, x0, xs, order)
    jet = TaylorJet(TEMPLATE.format(n=N, body=body), order=order, directions=R)
    got = jet(x0, *[xs[k] for k in range(1, order + 1)])
    for k in range(order + 1):
        err = relative_error(got[k], want[k])
        assert err <= 1e-10, f"{name}: coefficient {k}: rel. error {err:.2e}"
