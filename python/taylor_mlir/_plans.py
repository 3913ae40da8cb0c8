"""Operator plans for `taylor_mlir.compile`: an operator name and its options
as jet functions (`_Term`) — one weighted directional sum per derivative
order (`taylor_mlir.operators`) — and the directions and weights passed to
them at each call."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import operators

#: The operators `compile` knows, and the options each takes.
OPERATORS: dict[str, tuple[str, ...]] = {
    "laplacian": (),
    "weighted_laplacian": ("sigma",),
    "biharmonic": (),
    "stochastic_laplacian": ("samples", "distribution", "seed"),
    "stochastic_biharmonic": ("samples", "seed"),
    "linear": ("terms",),
    "taylor": ("order", "directions"),
}


@dataclass(frozen=True)
class _Term:
    """One jet function of the compiled module.

    ``seed`` is ``"identity"`` (unit directions, generated in the function),
    ``"broadcast"`` (directions ``[R, D]`` passed at each call) ; ``weights``
    are passed at each call when ``summed``. ``results`` are the orders of
    the coefficients the function returns.
    """

    function: str
    order: int
    num_directions: int
    seed: str
    summed: bool
    results: tuple[int, ...]

    def key(self) -> tuple:
        return (self.order, self.num_directions, self.seed, self.summed, self.results)


@dataclass
class _Plan:
    """Terms plus how to get their directions and weights at each call."""

    terms: list[_Term]
    #: Per term: directions ``[R, D]`` (numpy) or a callable drawing them,
    #: None for identity seeds.
    directions: list[Any]
    #: Per term: weights ``[R]`` (numpy) for summed terms, else None.
    weights: list[np.ndarray | None]
    #: Per term: the factor of its ``f_0`` added to the result (order-0
    #: terms of ``linear``), else 0.
    value_factor: list[float]
    #: What a call returns, in order: ``"operator"``, ``"value"`` (u),
    #: ``"gradient"`` (∇u).
    outputs: tuple[str, ...] = ("operator",)
    #: The term whose ``f_0`` is u, and the term whose ``f_1`` (identity
    #: seeds, one direction per input feature) is ∇u, when returned.
    value_term: int | None = None
    gradient_term: int | None = None
    #: The term added for u and ∇u only (not part of the operator), if any.
    outputs_term: int | None = None

    @property
    def operator_terms(self) -> list[int]:
        """The terms whose sum is the operator."""
        return [i for i in range(len(self.terms)) if i != self.outputs_term]


#: What a call of a compiled operator can return.
OUTPUTS = ("operator", "value", "gradient")


def with_outputs(plan: _Plan, op: str, dim: int, outputs: Any) -> _Plan:
    """``plan`` returning ``outputs`` (names from `OUTPUTS`; the operator's
    name stands for ``"operator"``). u and ∇u come from a term that already
    computes them when there is one (the Laplacian's identity seeds: f_0 is
    u, f_1 is ∇u, in the same pass as Δu); otherwise from one more jet
    function of order 1 with identity seeds."""
    if outputs is None:
        return plan
    if isinstance(outputs, str) or not all(isinstance(o, str) for o in outputs):
        raise TypeError(f"outputs must be a tuple of names, got {outputs!r}")
    names = tuple("operator" if o == op else o for o in outputs)
    unknown = [o for o in names if o not in OUTPUTS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"outputs: expected distinct names among {', '.join(OUTPUTS)} (or "
            f"{op!r} for the operator), got {tuple(outputs)}"
        )
    if op == "taylor" and names != ("operator",):
        raise ValueError(
            "op='taylor' returns every Taylor coefficient (f_0 is the value); "
            "outputs= is for the other operators"
        )
    plan.outputs = names
    if "value" not in names and "gradient" not in names:
        return plan
    first = plan.terms[0]
    # Unit directions e_1..e_D: f_1[r] = ∂u/∂x_r, computed anyway -- unless
    # f_1 is the term's summed top coefficient (an order-1 term, as in
    # op="linear" with first-order terms on every feature), Σ_r w_r ∂u/∂x_r.
    if (
        first.seed == "identity"
        and first.num_directions == dim
        and not (first.summed and first.order == 1)
    ):
        plan.terms[0] = _Term(
            first.function,
            first.order,
            first.num_directions,
            first.seed,
            first.summed,
            tuple(sorted({0, 1, *first.results})),
        )
        plan.value_term = plan.gradient_term = 0
        return plan
    plan.terms.append(_Term("value_and_gradient", 1, dim, "identity", False, (0, 1)))
    plan.directions.append(None)
    plan.weights.append(None)
    plan.value_factor.append(0.0)
    plan.value_term = plan.gradient_term = len(plan.terms) - 1
    plan.outputs_term = len(plan.terms) - 1
    return plan


def _identity(directions: np.ndarray) -> bool:
    r, d = directions.shape
    return r == d and np.array_equal(directions, np.eye(d))


def _sum_plan(sums: Sequence[operators.DirectionalSum], value_factor: float = 0.0):
    terms, directions, weights, factors = [], [], [], []
    for i, s in enumerate(sums):
        identity = _identity(s.directions)
        results = (0, s.order) if (i == 0 and value_factor) else (s.order,)
        terms.append(
            _Term(
                f"term{i}_order{s.order}",
                s.order,
                s.num_directions,
                "identity" if identity else "broadcast",
                True,
                results,
            )
        )
        directions.append(None if identity else s.directions)
        weights.append(s.weights)
        factors.append(value_factor if i == 0 else 0.0)
    return _Plan(terms, directions, weights, factors)


def _option(options: Mapping[str, Any], name: str, op: str, default: Any = None):
    if name in options:
        return options[name]
    if default is None:
        raise ValueError(f"op={op!r} needs the option {name}=")
    return default


def _as_array(value: Any, what: str) -> np.ndarray:
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} must be finite")
    return array


def _matrix(
    options: Mapping[str, Any], name: str, op: str, dim: int, features_axis: int
) -> np.ndarray:
    """Option ``name``: a finite ``[D, R]`` (features_axis 0) or ``[R, D]``
    (features_axis 1) matrix with R >= 1."""
    matrix = _as_array(_option(options, name, op), name)
    if (
        matrix.ndim != 2
        or matrix.shape[features_axis] != dim
        or matrix.shape[1 - features_axis] < 1
    ):
        expected = f"({dim}, R)" if features_axis == 0 else f"(R, {dim})"
        raise ValueError(
            f"{name}: expected shape {expected}, R >= 1, for D = {dim} input "
            f"features, got {tuple(matrix.shape)}"
        )
    return matrix


def _positive_int(value: Any, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return number


def _multi_index(alpha: Any, dim: int) -> tuple[int, ...]:
    try:
        alpha = tuple(alpha)
        if any(isinstance(a, bool) for a in alpha):
            raise TypeError
        alpha = tuple(operator.index(a) for a in alpha)
    except TypeError:
        raise ValueError(
            f"terms: {alpha!r} is not a multi-index (a tuple of {dim} integers)"
        ) from None
    if len(alpha) != dim or any(a < 0 for a in alpha):
        raise ValueError(
            f"terms: multi-index {alpha} must have {dim} non-negative entries "
            "(one per input feature)"
        )
    return alpha


def _plan(op: str, dim: int, options: Mapping[str, Any]) -> _Plan:
    """Turns an operator name and its options into a `_Plan`."""
    if op not in OPERATORS:
        raise ValueError(
            f"unknown op {op!r}; expected one of {', '.join(sorted(OPERATORS))}"
        )
    unknown = sorted(set(options) - set(OPERATORS[op]))
    if unknown:
        allowed = ", ".join(OPERATORS[op]) or "none"
        raise ValueError(
            f"op={op!r} takes no option {', '.join(unknown)} (its options: {allowed})"
        )
    if op == "laplacian":
        return _sum_plan([operators.laplacian(dim)])
    if op == "biharmonic":
        return _sum_plan([operators.biharmonic(dim)])
    if op == "weighted_laplacian":
        sigma = _matrix(options, "sigma", op, dim, features_axis=0)
        return _sum_plan([operators.weighted_laplacian(sigma)])
    if op in ("stochastic_laplacian", "stochastic_biharmonic"):
        samples = _positive_int(_option(options, "samples", op), "samples")
        seed = options.get("seed")
        if not (
            seed is None
            or isinstance(seed, np.random.Generator)
            or (not isinstance(seed, bool) and isinstance(seed, (int, np.integer)))
        ):
            raise TypeError(
                "seed must be None (fresh directions at each call), an int (fixed "
                "directions) or a numpy.random.Generator (a reproducible stream), "
                f"got {type(seed).__name__}"
            )
        if op == "stochastic_laplacian":
            distribution = options.get("distribution", "rademacher")

            def draw(rng):
                return operators.stochastic_laplacian(dim, samples, distribution, rng)

        else:

            def draw(rng):
                return operators.stochastic_biharmonic(dim, samples, rng)

        first = draw(np.random.default_rng(0))  # validates the options
        plan = _sum_plan([first])
        plan.terms[0] = _Term(
            plan.terms[0].function,
            first.order,
            samples,
            "broadcast",
            True,
            (first.order,),
        )
        if seed is None or isinstance(seed, np.random.Generator):
            # Fresh directions at each call (from `seed`'s stream if given).
            rng = np.random.default_rng() if seed is None else seed
            plan.directions = [lambda: draw(rng).directions]
        else:
            plan.directions = [draw(np.random.default_rng(seed)).directions]
        return plan
    if op == "linear":
        terms: dict[tuple[int, ...], float] = {}
        for alpha, c in dict(_option(options, "terms", op)).items():
            alpha = _multi_index(alpha, dim)
            terms[alpha] = terms.get(alpha, 0.0) + float(c)
        value = terms.pop((0,) * dim, 0.0)
        sums = operators.linear(terms, dim) if any(terms.values()) else []
        if not sums:
            raise ValueError(
                "op='linear' needs at least one term with a derivative and a "
                f"non-zero coefficient (a multi-index of length {dim} with a "
                "positive order)"
            )
        return _sum_plan(sums, value)
    # op == "taylor"
    order = _positive_int(_option(options, "order", op), "order")
    directions = _matrix(options, "directions", op, dim, features_axis=1)
    term = _Term(
        f"taylor_order{order}",
        order,
        directions.shape[0],
        "broadcast",
        False,
        tuple(range(order + 1)),
    )
    return _Plan([term], [directions], [None], [0.0])
