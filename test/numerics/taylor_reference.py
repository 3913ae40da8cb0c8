"""Reference Taylor coefficients from nested forward-mode differentiation
(torch.func), and the error measure of the numeric tests."""

import math

import numpy as np
import torch
from torch.func import jvp, vmap


def reference_coefficients(f, x0, xs, order):
    """f_0..f_order of f(x(t)), x(t) = x0 + Σ_k xs[k] t^k / k!, for every
    direction, by nested forward-mode differentiation (torch.func.jvp) in t,
    vectorized over the directions with torch.func.vmap."""
    listed = [k for k in sorted(xs) if k <= order]

    def derivatives(*coefficients):
        def curve(t):
            x = x0
            for k, xk in zip(listed, coefficients):
                x = x + xk * t**k / math.factorial(k)
            return (f(x),)

        # level(t) returns (d^0, ..., d^j) of the curve at t; one more jvp
        # appends d^(j+1).
        level = curve
        for _ in range(order):
            level = (
                lambda g: lambda t: (lambda out: (out[0][0],) + tuple(out[1]))(
                    jvp(g, (t,), (torch.ones_like(t),))
                )
            )(level)
        return level(torch.zeros((), dtype=x0.dtype))

    coefficients = vmap(derivatives)(*[xs[k] for k in listed])
    with torch.no_grad():
        f0 = f(x0)
    return [f0] + [c.detach() for c in coefficients[1:]]


def relative_error(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = want.double().numpy(force=True)
    scale = np.abs(want).max()
    diff = np.abs(got - want).max()
    return diff if scale < 1e-12 else diff / scale


def tanh_sigmoid_mlp(dim, width, seed):
    """``dim -> width -> width -> 1`` (tanh, sigmoid), float64, seeded: the
    small model the end-to-end tests import."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(dim, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, width),
        torch.nn.Sigmoid(),
        torch.nn.Linear(width, 1),
    ).double()
