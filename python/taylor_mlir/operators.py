"""Differential operators as weighted sums of directional derivatives.

Every operator taylor-mlir compiles is, per derivative order K,

    Σ_r w_r ∂^K_{v_r} f(x),

a weighted sum of K-th directional derivatives along directions ``v_r`` (the
top Taylor coefficient of a K-jet with ``x_1 = v_r``). This module turns an
operator specification into such *directional sums* (directions and weights,
chosen once, at compile time); ``taylor-jet`` + ``taylor-collapse`` then
compute each sum in one collapsed Taylor-mode pass.

The math (see ``docs/operators.md``): an order-K operator
``Σ_{|α|=K} c_α ∂^α`` has the symbol ``p(y) = Σ_α c_α y^α``; since
``∂^K_v = Σ_{|α|=K} (K!/α!) v^α ∂^α`` corresponds to ``(v·y)^K``, any
decomposition ``p(y) = Σ_r w_r (v_r·y)^K`` gives the operator.

- Laplacian: ``|y|² = Σ_d y_d²``: the D unit directions, weights 1.
- Weighted Laplacian ``tr(σσᵀ ∇²f)``: the R columns of σ, weights 1.
- Biharmonic ``|y|⁴ = (1/6) Σ_{i<j} [(y_i+y_j)⁴ + (y_i−y_j)⁴] + (1 − (D−1)/3) Σ_i y_i⁴``:
  D² directions ``e_i ± e_j`` and ``e_i`` (D(D−1) for D = 4).
- General ``Σ c_α ∂^α`` of one order K: the Griewank–Utke–Walther lattice, the
  directions ``i`` with ``|i| = K`` (multi-indices as vectors) over the
  variables the operator involves, weights solving the square system
  ``Σ_r w_r (K!/α!) i_r^α = c_α`` exactly (rational arithmetic); directions
  with zero weight are dropped.
- Stochastic estimates: ``E[(v·y)²] = |y|²`` for Rademacher or standard
  normal v (weights 1/S); ``E[(v·y)⁴] = 3|y|⁴`` for standard normal v
  (weights 1/(3S)).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "DirectionalSum",
    "biharmonic",
    "laplacian",
    "linear",
    "stochastic_biharmonic",
    "stochastic_laplacian",
    "weighted_laplacian",
]


@dataclass(frozen=True)
class DirectionalSum:
    """``Σ_r weights[r] ∂^order_{directions[r]} f``.

    Attributes:
      order: the derivative order K.
      directions: ``[R, D]`` float64 array, one direction per row.
      weights: ``[R]`` float64 array.
    """

    order: int
    directions: np.ndarray
    weights: np.ndarray

    @property
    def num_directions(self) -> int:
        return int(self.directions.shape[0])

    def taylor_jet(self, module: Any, *, collapse: bool = True, **options: Any) -> Any:
        """A `TaylorJet` of order K along the R directions whose last result is
        this sum at each datum, ``Σ_r w_r ∂^K_{v_r} f``; call it with ``x`` and
        ``taylor_mode.broadcast_directions(self.directions, batch)``. Collapsed
        Taylor mode unless ``collapse=False``; ``options`` go to `TaylorJet`."""
        from .taylor_mode import TaylorJet

        weights = None if np.all(self.weights == 1.0) else self.weights.tolist()
        return TaylorJet(
            module,
            order=self.order,
            directions=self.num_directions,
            input_coefficients=[1],
            sum_top=True,
            weights=weights,
            collapse=collapse,
            **options,
        )

    def symbol(self, y: np.ndarray) -> np.ndarray:
        """The symbol ``Σ_r w_r (v_r·y)^K`` at the points ``y`` (``[..., D]``)."""
        return ((y @ self.directions.T) ** self.order) @ self.weights


def _check_dim(dim: int) -> None:
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"the input dimension must be a positive integer, got {dim!r}")


def laplacian(dim: int) -> DirectionalSum:
    """``Δf = Σ_d ∂²f/∂x_d²``: the unit directions."""
    _check_dim(dim)
    return DirectionalSum(2, np.eye(dim), np.ones(dim))


def weighted_laplacian(sigma: np.ndarray) -> DirectionalSum:
    """``tr(σσᵀ ∇²f) = Σ_r ∂²_{σ_r} f`` for ``sigma`` of shape ``[D, R]``: the
    columns of σ."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim != 2:
        raise ValueError(
            f"sigma must have shape [D, R], got shape {tuple(sigma.shape)}"
        )
    return DirectionalSum(2, np.ascontiguousarray(sigma.T), np.ones(sigma.shape[1]))


def biharmonic(dim: int) -> DirectionalSum:
    """``Δ²f = Σ_{i,j} ∂⁴f/∂x_i²∂x_j²`` exactly, from
    ``|y|⁴ = (1/6) Σ_{i<j} [(y_i+y_j)⁴ + (y_i−y_j)⁴] + (1 − (D−1)/3) Σ_i y_i⁴``:
    D² directions (D(D−1) for D = 4)."""
    _check_dim(dim)
    eye = np.eye(dim)
    directions, weights = [], []
    for i, j in itertools.combinations(range(dim), 2):
        directions += [eye[i] + eye[j], eye[i] - eye[j]]
        weights += [1.0 / 6.0, 1.0 / 6.0]
    diagonal = Fraction(1) - Fraction(dim - 1, 3)
    if diagonal != 0:
        directions += list(eye)
        weights += [float(diagonal)] * dim
    return DirectionalSum(4, np.array(directions).reshape(-1, dim), np.array(weights))


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def stochastic_laplacian(
    dim: int,
    samples: int,
    distribution: str = "rademacher",
    seed: int | np.random.Generator | None = None,
) -> DirectionalSum:
    """An unbiased estimate of the Laplacian from ``samples`` random
    directions (Rademacher or standard normal), weights ``1/samples``."""
    _check_dim(dim)
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    rng = _rng(seed)
    if distribution == "rademacher":
        directions = rng.choice([-1.0, 1.0], size=(samples, dim))
    elif distribution == "normal":
        directions = rng.standard_normal((samples, dim))
    else:
        raise ValueError(
            f"distribution must be 'rademacher' or 'normal', got {distribution!r}"
        )
    return DirectionalSum(2, directions, np.full(samples, 1.0 / samples))


def stochastic_biharmonic(
    dim: int, samples: int, seed: int | np.random.Generator | None = None
) -> DirectionalSum:
    """An unbiased estimate of the biharmonic from ``samples`` standard normal
    directions: ``E[∂⁴_v f] = 3 Δ²f``, weights ``1/(3·samples)``."""
    _check_dim(dim)
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    directions = _rng(seed).standard_normal((samples, dim))
    return DirectionalSum(4, directions, np.full(samples, 1.0 / (3 * samples)))


def _multi_indices(
    variables: Sequence[int], order: int, dim: int
) -> list[tuple[int, ...]]:
    """Every multi-index of length ``dim`` and total ``order`` supported on
    ``variables``."""
    result = []
    for combo in itertools.combinations_with_replacement(variables, order):
        index = [0] * dim
        for v in combo:
            index[v] += 1
        result.append(tuple(index))
    return result


def _solve_exact(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """Gauss–Jordan elimination in rational arithmetic."""
    n = len(rhs)
    a = [row[:] + [b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            raise ArithmeticError("the interpolation system is singular")
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [x / p for x in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[r][n] for r in range(n)]


def _monomial(v: Sequence[int], alpha: Sequence[int]) -> int:
    return math.prod(x**a for x, a in zip(v, alpha, strict=True))


def _multinomial(alpha: Sequence[int]) -> int:
    return math.factorial(sum(alpha)) // math.prod(math.factorial(a) for a in alpha)


def linear(terms: Mapping[Sequence[int], float], dim: int) -> list[DirectionalSum]:
    """``Σ_α c_α ∂^α f`` for ``terms = {α: c_α}`` (``α`` a multi-index of
    length ``dim``), one directional sum per derivative order present.

    Each order K is decomposed on the Griewank–Utke–Walther lattice of the
    variables the order-K terms involve: the directions are the multi-indices
    ``i`` with ``|i| = K`` over those variables, the weights solve
    ``Σ_r w_r (K!/α!) i_r^α = c_α`` exactly; zero weights are dropped.
    """
    _check_dim(dim)
    by_order: dict[int, dict[tuple[int, ...], Fraction]] = {}
    for alpha, c in terms.items():
        alpha = tuple(int(a) for a in alpha)
        if len(alpha) != dim:
            raise ValueError(
                f"multi-index {alpha} has length {len(alpha)}; expected {dim} "
                "(one entry per input feature)"
            )
        if any(a < 0 for a in alpha) or sum(alpha) == 0:
            raise ValueError(
                f"multi-index {alpha} must be non-negative with a positive order"
            )
        if c == 0:
            continue
        order = sum(alpha)
        coefficient = Fraction(c)
        by_order.setdefault(order, {})
        by_order[order][alpha] = by_order[order].get(alpha, Fraction(0)) + coefficient

    sums = []
    for order in sorted(by_order):
        coefficients = by_order[order]
        variables = sorted(
            {d for alpha in coefficients for d, a in enumerate(alpha) if a}
        )
        lattice = _multi_indices(variables, order, dim)
        matrix = [
            [Fraction(_multinomial(alpha) * _monomial(i, alpha)) for i in lattice]
            for alpha in lattice
        ]
        rhs = [coefficients.get(alpha, Fraction(0)) for alpha in lattice]
        weights = _solve_exact(matrix, rhs)
        kept = [(i, w) for i, w in zip(lattice, weights, strict=True) if w != 0]
        sums.append(
            DirectionalSum(
                order,
                np.array([i for i, _ in kept], dtype=np.float64).reshape(-1, dim),
                np.array([float(w) for _, w in kept]),
            )
        )
    return sums
