"""The function suite of the Taylor-mode tests: PyTorch functions of a
[B, D] input, imported once through torch-mlir."""

import math

import torch
import torch.nn.functional as F

D = 3
B = 4


def _positive(x):
    return x * x + 0.5


def _mlp(activation, *, seed, residual=False):
    torch.manual_seed(seed)
    l1, l2, l3 = torch.nn.Linear(D, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 2)

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2, self.l3 = l1, l2, l3

        def forward(self, x):
            h = activation(self.l1(x))
            g = activation(self.l2(h))
            if residual:
                g = g + h
            return self.l3(g)

    return MLP()


class Fn(torch.nn.Module):
    """Wraps a function of x as a module (for torch.export)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _c(constant, x):
    """A constant of the suite in the dtype of x."""
    return constant.to(x.dtype)


torch.manual_seed(1234)
_W = torch.randn(D, 5)
_V = torch.randn(D, 5)
_BIAS = torch.randn(5)

# name -> (module, whether it is piecewise-smooth: kinks give first-order rules)
ELEMENTWISE = {
    "tanh": lambda x: torch.tanh(x),
    "exp": lambda x: torch.exp(0.5 * x),
    "exp2": lambda x: torch.exp2(x),
    "expm1": lambda x: torch.expm1(x),
    "log": lambda x: torch.log(_positive(x)),
    "log1p": lambda x: torch.log1p(_positive(x)),
    "log2_log10": lambda x: torch.log2(_positive(x)) + torch.log10(_positive(x)),
    "sin": lambda x: torch.sin(x),
    "cos": lambda x: torch.cos(x),
    "tan": lambda x: torch.tan(0.3 * x),
    "sinh_cosh": lambda x: torch.sinh(x) * torch.cosh(0.5 * x),
    "sqrt": lambda x: torch.sqrt(_positive(x)),
    "rsqrt": lambda x: torch.rsqrt(_positive(x)),
    "pow_const": lambda x: torch.pow(_positive(x), 1.7),
    "pow_int": lambda x: x**3 - 2 * x**2,
    "pow_active": lambda x: torch.pow(_positive(x), torch.sin(x)),
    "erf": lambda x: torch.erf(x),
    "atan": lambda x: torch.atan(x),
    "reciprocal": lambda x: 1.0 / (2.0 + torch.sin(x)),
    "sigmoid": lambda x: torch.sigmoid(x),
    "softplus": lambda x: F.softplus(x),
    "silu": lambda x: F.silu(x),
    "gelu": lambda x: F.gelu(x),
    # Written out: torch-mlir 20261001 imports F.gelu(approximate="tanh") with
    # sqrt(2/pi) = 0.79772 instead of 0.79788, so the import itself is off.
    "gelu_tanh": lambda x: 0.5 * x
    * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
    "chain": lambda x: torch.exp(torch.sin(torch.tanh(x) * 2.0) - 1.0) / (1.0 + x * x),
    "abs": lambda x: torch.abs(x - 0.1),
    "relu": lambda x: torch.relu(x - 0.1) * x,
    "leaky_maximum": lambda x: torch.maximum(x, 0.3 * x),
    "minimum": lambda x: torch.minimum(torch.sin(x), torch.cos(x)),
    "where": lambda x: torch.where(x > 0.2, torch.sin(x), x * x),
}

STRUCTURED = {
    "product_of_branches": lambda x: (x @ _c(_W, x) + _c(_BIAS, x)) * torch.tanh(x @ _c(_V, x)),
    "quotient_of_branches": lambda x: torch.sin(x @ _c(_W, x)) / (2.0 + torch.cos(x @ _c(_V, x))),
    "broadcast": lambda x: x[:, :1] * x + _c(_BIAS, x)[:D],
    "sum_reduction": lambda x: torch.tanh(x).sum(dim=-1, keepdim=True) * x,
    "mean_reduction": lambda x: torch.sin(x).mean(dim=1),
    "max_reduction": lambda x: torch.amax(torch.sin(x) * x, dim=1),
    "prod_reduction": lambda x: torch.prod(torch.cos(x) + 1.5, dim=1),
    "bilinear_matmul": lambda x: torch.tanh(x) @ (x * x).T,
    "slice_concat": lambda x: torch.cat([torch.tanh(x[:, :2]), x[:, 2:] ** 2], dim=1),
    "reshape": lambda x: torch.tanh(x.reshape(B * D)).reshape(B, D) * x,
    "pad": lambda x: F.pad(torch.sin(x), (1, 2)),
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "layernorm_like": lambda x: (x - x.mean(-1, keepdim=True))
    / torch.sqrt(((x - x.mean(-1, keepdim=True)) ** 2).mean(-1, keepdim=True) + 1e-3),
}

MLPS = {
    "mlp_tanh": _mlp(torch.tanh, seed=1),
    "mlp_sin": _mlp(torch.sin, seed=2),
    "mlp_sigmoid": _mlp(torch.sigmoid, seed=3),
    "mlp_softplus": _mlp(F.softplus, seed=4),
    "mlp_gelu": _mlp(F.gelu, seed=5),
    "mlp_relu": _mlp(torch.relu, seed=6),
    "residual_tanh": _mlp(torch.tanh, seed=7, residual=True),
    "sequential": torch.nn.Sequential(
        torch.nn.Linear(D, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
        torch.nn.Softplus(), torch.nn.Linear(8, 1),
    ),
}


def polynomial(x):
    """f(x) = x_0^2 x_1 + 3 x_0 x_1^3, of the first two features."""
    return x[:, 0] ** 2 * x[:, 1] + 3.0 * x[:, 0] * x[:, 1] ** 3


def polynomial_directional(x, v, k):
    """The k-th directional derivative of `polynomial` at x along v
    (closed form; x, v: [B, 2])."""
    a, b = x[:, 0], x[:, 1]
    p, q = v[:, 0], v[:, 1]
    # g(t) = (a + tp)^2 (b + tq) + 3 (a + tp)(b + tq)^3
    terms = {
        0: a**2 * b + 3 * a * b**3,
        1: 2 * a * p * b + a**2 * q + 3 * (p * b**3 + 3 * a * b**2 * q),
        2: 2 * (p**2 * b + 2 * a * p * q) + 3 * (6 * p * b**2 * q + 6 * a * b * q**2),
        3: 6 * p**2 * q + 3 * (18 * p * b * q**2 + 6 * a * q**3),
        4: 3 * 24 * p * q**3,
    }
    return terms.get(k, torch.zeros_like(a))


def all_functions():
    """name -> torch.nn.Module mapping [B, D] float64 tensors."""
    functions = {name: Fn(fn) for name, fn in {**ELEMENTWISE, **STRUCTURED}.items()}
    functions.update(MLPS)
    functions["polynomial"] = Fn(polynomial)
    return functions


KINKED = {"abs", "relu", "leaky_maximum", "minimum", "where", "max_reduction", "mlp_relu"}
