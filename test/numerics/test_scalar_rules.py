"""Scalar rules on hand-written linalg bodies, for math ops that torch-mlir
does not emit for the suite (exp2, cbrt, fma, floor, ...) and the inverse
trigonometric and hyperbolic functions, against nested torch.func.jvp in
float64."""

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
  %c2 = arith.constant 1.25 : f64
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
    "cbrt": (
        "%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c : f64\n"
        "    %y = math.cbrt %q : f64",
        lambda x: torch.pow(x * x + 0.75, 1.0 / 3.0),
    ),
    "rsqrt": (
        "%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c : f64\n"
        "    %y = math.rsqrt %q : f64",
        lambda x: torch.rsqrt(x * x + 0.75),
    ),
    "log2": (
        "%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c : f64\n"
        "    %y = math.log2 %q : f64",
        lambda x: torch.log2(x * x + 0.75),
    ),
    "fma": (
        "%s = math.sin %a : f64\n    %y = math.fma %s, %a, %c : f64",
        lambda x: torch.sin(x) * x + 0.75,
    ),
    "fpowi": ("%y = math.fpowi %a, %i : f64, i32", lambda x: x**3),
    "floor_mix": (
        "%fl = math.floor %a : f64\n    %y = arith.addf %fl, %a : f64",
        lambda x: torch.floor(x) + x,
    ),
    "tan": (
        "%s = arith.mulf %a, %c : f64\n    %y = math.tan %s : f64",
        lambda x: torch.tan(0.75 * x),
    ),
    "sinh": ("%y = math.sinh %a : f64", torch.sinh),
    "cosh": ("%y = math.cosh %a : f64", torch.cosh),
    "atan": ("%y = math.atan %a : f64", torch.atan),
    "absf": ("%y = math.absf %a : f64", torch.abs),
    # Arguments kept inside the domains: |0.75 sin x| < 1 for asin, acos and
    # atanh, x^2 + 1.25 > 1 for acosh; atan2 of two active operands, the
    # second one changing sign.
    "asin": (
        "%s = math.sin %a : f64\n    %q = arith.mulf %s, %c : f64\n"
        "    %y = math.asin %q : f64",
        lambda x: torch.asin(0.75 * torch.sin(x)),
    ),
    "acos": (
        "%s = math.sin %a : f64\n    %q = arith.mulf %s, %c : f64\n"
        "    %y = math.acos %q : f64",
        lambda x: torch.acos(0.75 * torch.sin(x)),
    ),
    "atanh": (
        "%s = math.sin %a : f64\n    %q = arith.mulf %s, %c : f64\n"
        "    %y = math.atanh %q : f64",
        lambda x: torch.atanh(0.75 * torch.sin(x)),
    ),
    "asinh": ("%y = math.asinh %a : f64", torch.asinh),
    "acosh": (
        "%p = arith.mulf %a, %a : f64\n    %q = arith.addf %p, %c2 : f64\n"
        "    %y = math.acosh %q : f64",
        lambda x: torch.acosh(x * x + 1.25),
    ),
    "atan2": (
        "%s = math.sin %a : f64\n    %p = arith.mulf %a, %a : f64\n"
        "    %q = arith.subf %p, %c : f64\n    %y = math.atan2 %s, %q : f64",
        lambda x: torch.atan2(torch.sin(x), x * x - 0.75),
    ),
    "atan2_passive_y": (
        "%y = math.atan2 %c, %a : f64",
        lambda x: torch.atan2(torch.full_like(x, 0.75), x),
    ),
    "atan2_passive_x": (
        "%y = math.atan2 %a, %c2 : f64",
        lambda x: torch.atan2(x, torch.full_like(x, 1.25)),
    ),
    "minnum": (
        "%s = math.sin %a : f64\n    %y = arith.minnumf %s, %a : f64",
        lambda x: torch.minimum(torch.sin(x), x),
    ),
}


#: Rules added with their own recurrences: every order up to 4.
EVERY_ORDER = {"asin", "acos", "atanh", "asinh", "acosh", "atan2"}
CASES = [
    (name, order)
    for name in OPS
    for order in ((1, 2, 3, 4) if name in EVERY_ORDER else (1, 3, 5))
]


@pytest.mark.parametrize("name, order", CASES)
def test_scalar_rule(name, order):
    body, fn = OPS[name]
    g = torch.Generator().manual_seed(len(name))
    x0 = torch.randn(N, generator=g, dtype=torch.float64)
    xs = {
        k: torch.randn(R, N, generator=g, dtype=torch.float64) / k
        for k in range(1, order + 1)
    }
    want = reference_coefficients(fn, x0, xs, order)
    jet = TaylorJet(TEMPLATE.format(n=N, body=body), order=order, directions=R)
    got = jet(x0, *[xs[k] for k in range(1, order + 1)])
    for k in range(order + 1):
        err = relative_error(got[k], want[k])
        assert err <= 1e-10, f"{name}: coefficient {k}: rel. error {err:.2e}"
