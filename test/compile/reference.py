"""torch.func references for the compiled operators (float64).

Derivative tensors come from nested ``jacfwd`` per datum (``vmap``); every
operator is then a contraction of them.
"""

import itertools

import numpy as np
import torch
from torch.func import hessian, jacfwd, jvp, vmap


def derivative(model, x, order):
    """``∂^order f`` per datum: ``[B, m, D, ..., D]`` (m = 1 for [B] or
    [B, 1] outputs)."""

    def f(xi):
        return model(xi[None]).reshape(-1)

    g = f
    for _ in range(order):
        g = jacfwd(g)
    return vmap(g)(x.double())


def squeeze(value, scalar):
    """``[B, m]`` → ``[B]`` for scalar models."""
    return value[:, 0] if scalar else value


def laplacian(model, x):
    h = derivative(model, x, 2)
    return h.diagonal(dim1=-2, dim2=-1).sum(-1)


def weighted_laplacian(model, x, sigma):
    h = derivative(model, x, 2)
    return torch.einsum("bmij,ir,jr->bm", h, sigma.double(), sigma.double())


def biharmonic(model, x):
    """``Δ(Δf)``: the trace of the Hessian of the Laplacian (cheaper than the
    full fourth-derivative tensor for large D)."""

    def f(xi):
        return model(xi[None]).reshape(-1)

    def lap(xi):
        return hessian(f)(xi).diagonal(dim1=-2, dim2=-1).sum(-1)

    return vmap(lambda xi: hessian(lap)(xi).diagonal(dim1=-2, dim2=-1).sum(-1))(
        x.double()
    )


def directional_derivative(model, x, v, order):
    """``∂^order_v f`` per datum, ``[B, m]``, by nested ``jvp``."""

    def f(xi):
        return model(xi[None]).reshape(-1)

    g = f
    for _ in range(order):
        g = (lambda h: lambda xi: jvp(h, (xi,), (v,))[1])(g)
    return vmap(g)(x.double())


def directional_sum(model, x, directions, weights, order):
    """``Σ_r w_r ∂^K_{v_r} f``."""
    v = torch.as_tensor(np.asarray(directions), dtype=torch.float64)
    return sum(
        float(weights[r]) * directional_derivative(model, x, v[r], order)
        for r in range(v.shape[0])
    )


def taylor(model, x, directions, order):
    """``[K+1, R, B, m]``: ``f_k = ∂^k_{v_r} f``."""
    v = torch.as_tensor(np.asarray(directions), dtype=torch.float64)
    return torch.stack(
        [
            torch.stack(
                [directional_derivative(model, x, v[r], k) for r in range(len(v))]
            )
            for k in range(order + 1)
        ]
    )


def linear(model, x, terms):
    """``Σ_α c_α ∂^α f``."""
    total = 0
    for alpha, c in terms.items():
        order = sum(alpha)
        if order == 0:
            total = total + c * model(x.double()).reshape(len(x), -1)
            continue
        index = tuple(
            itertools.chain.from_iterable([d] * a for d, a in enumerate(alpha))
        )
        t = derivative(model, x, order)
        total = total + c * t[(slice(None), slice(None), *index)]
    return total


def relative_error(got, want):
    got = got.double()
    want = want.double().reshape(got.shape)
    scale = want.abs().max().item()
    diff = (got - want).abs().max().item()
    return diff if scale < 1e-12 else diff / scale


def operator(op, model, x, options):
    """The operator ``op`` of `taylor_mlir.compile` with ``options``, by
    torch.func: ``[B, m]`` (``[K+1, R, B, m]`` for "taylor"); the stochastic
    ones along the directions compile draws from ``options["seed"]``."""
    from taylor_mlir import operators

    if op == "laplacian":
        return laplacian(model, x)
    if op == "weighted_laplacian":
        return weighted_laplacian(model, x, options["sigma"])
    if op == "biharmonic":
        return biharmonic(model, x)
    if op == "linear":
        return linear(model, x, options["terms"])
    if op == "taylor":
        return taylor(model, x, options["directions"], options["order"])
    dim = x.shape[1]
    rng = np.random.default_rng(options["seed"])
    if op == "stochastic_laplacian":
        s = operators.stochastic_laplacian(
            dim, options["samples"], options.get("distribution", "rademacher"), rng
        )
    else:
        s = operators.stochastic_biharmonic(dim, options["samples"], rng)
    return directional_sum(model, x, s.directions, s.weights, s.order)
