"""Differential checks of `taylor_mlir.compile` on random models
(`models.py`) against torch.func, in float64.

A `Case` is one compile: one random model, or several combined side by side
into one model with an output ``[B, Σ m_i]`` (`models.combine`; the columns
of each model are checked separately, so that a wrong column names its
model), an operator with random options, and random compile variants
(standard Taylor mode, ``dynamic_batch``, ``outputs=("value", "gradient",
...)``). A training case also checks the gradient of a scalar loss of the
outputs with respect to every parameter and to ``x`` (through
``loss.backward()`` or the fused ``op.loss``) against autograd through the
torch.func reference.

`make_case(run_seed, index)` is deterministic; case ``index`` checks
operator ``OPERATORS[index % len(OPERATORS)]``, so that any ``len(OPERATORS)``
consecutive cases cover every operator.
"""

from __future__ import annotations

import random
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import taylor_mlir as tm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compile"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402  (test/compile/reference.py)
from models import FuzzModel, column_slices, combine, generate  # noqa: E402

#: Largest |got - want| / max(max |want|, 1) accepted, per model and output
#: (values, operators and gradients).
TOL = 1e-9

#: Model features whose ops have no reverse-mode rule: compile refuses to
#: differentiate them (`tm.UnsupportedOperationError`), so training cases
#: leave them out.
NO_ADJOINT = frozenset({"reduce_prod"})
OPERATORS = (
    "laplacian",
    "weighted_laplacian",
    "biharmonic",
    "stochastic_laplacian",
    "stochastic_biharmonic",
    "linear",
    "taylor",
)


@dataclass
class Case:
    """One compile of the fuzzer and what it checks."""

    run_seed: int
    index: int
    models: list[FuzzModel]
    op: str
    options: dict[str, Any]
    batch: int
    collapsed: bool = True
    dynamic_batch: bool = False
    outputs: tuple[str, ...] | None = None
    #: None, "backward" (``loss.backward()`` through ``op(x)``) or "fused"
    #: (``op.loss``).
    train: str | None = None
    #: Whether compile's own self-check runs (``check=``); off by default,
    #: the fuzzer's comparison being stronger.
    self_check: bool = False

    @property
    def dim(self) -> int:
        return self.models[0].dim

    def describe(self) -> str:
        seeds = ", ".join(str(m.seed) for m in self.models)
        options = {
            k: (v.tolist() if isinstance(v, torch.Tensor) else v)
            for k, v in self.options.items()
        }
        variants = [
            f"collapsed={self.collapsed}" if not self.collapsed else "",
            "dynamic_batch=True" if self.dynamic_batch else "",
            f"outputs={self.outputs}" if self.outputs else "",
            f"train={self.train}" if self.train else "",
            "check=True" if self.self_check else "",
        ]
        extra = " ".join(v for v in variants if v)
        return (
            f"case {self.run_seed}:{self.index} op={self.op} D={self.dim} "
            f"B={self.batch} models=[{seeds}] options={options} {extra}".rstrip()
        )

    def inputs(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.run_seed * 7919 + self.index)
        return torch.randn(self.batch, self.dim, generator=g, dtype=torch.float64)

    def single(self, j: int) -> Case:
        """This case on its ``j``-th model alone."""
        return Case(
            self.run_seed,
            self.index,
            [self.models[j]],
            self.op,
            self.options,
            self.batch,
            self.collapsed,
            self.dynamic_batch,
            self.outputs,
            self.train,
            self.self_check,
        )


def random_options(op: str, dim: int, rng: random.Random) -> dict[str, Any]:
    """Random options of ``op`` for ``dim`` input features."""
    g = torch.Generator().manual_seed(rng.randrange(2**31))
    if op == "weighted_laplacian":
        rank = rng.randint(1, dim + 1)
        return {"sigma": torch.randn(dim, rank, generator=g, dtype=torch.float64)}
    if op == "stochastic_laplacian":
        return {
            "samples": rng.randint(1, 4),
            "distribution": rng.choice(["rademacher", "normal"]),
            "seed": rng.randrange(1000),
        }
    if op == "stochastic_biharmonic":
        return {"samples": rng.randint(1, 4), "seed": rng.randrange(1000)}
    if op == "linear":
        terms = {}
        for _ in range(rng.randint(1, 4)):
            order = rng.randint(0, 4)
            alpha = [0] * dim
            for _ in range(order):
                alpha[rng.randrange(dim)] += 1
            terms[tuple(alpha)] = float(rng.randint(-4, 4) or 1) / 2
        if all(sum(a) == 0 for a in terms):
            terms[tuple([2] + [0] * (dim - 1))] = 1.0
        return {"terms": terms}
    if op == "taylor":
        directions = torch.randn(rng.randint(1, 3), dim, generator=g)
        return {"order": rng.randint(1, 4), "directions": directions.double()}
    return {}


def make_case(
    run_seed: int,
    index: int,
    *,
    op: str | None = None,
    max_models: int = 4,
    max_depth: int = 8,
    variants: bool = True,
) -> Case:
    """Case ``index`` of the run ``run_seed`` (deterministic): operator
    ``OPERATORS[index % 7]`` unless ``op``, 1..``max_models`` models."""
    rng = random.Random(f"taylor-mlir fuzz {run_seed} {index}")
    op = op or OPERATORS[index % len(OPERATORS)]
    dim = rng.randint(1, 5)
    count = rng.randint(1, max_models)
    batch = rng.randint(1, 4)
    collapsed, dynamic_batch, outputs, train, self_check = (
        True,
        False,
        None,
        None,
        False,
    )
    if variants:
        collapsed = rng.random() >= 0.15
        dynamic_batch = rng.random() < 0.2
        if op != "taylor" and rng.random() < 0.2:
            outputs = ("value", "gradient", op)
        if rng.random() < 0.35:
            fusable = outputs is None and op != "taylor"
            train = rng.choice(["backward", "fused"]) if fusable else "backward"
        self_check = rng.random() < 0.2
    # Training cases leave out the ops compile cannot differentiate.
    exclude = set()
    if train:
        exclude |= NO_ADJOINT
    models = [
        generate(rng.randrange(2**31), dim, max_depth=max_depth, exclude=exclude)
        for _ in range(count)
    ]
    options = random_options(op, dim, rng)
    return Case(
        run_seed,
        index,
        models,
        op,
        options,
        batch,
        collapsed,
        dynamic_batch,
        outputs,
        train,
        self_check,
    )


# -- references ---------------------------------------------------------------


def reference_operator(case: Case, model, x: torch.Tensor) -> torch.Tensor:
    """The operator by torch.func: ``[B, M]`` (``[K+1, R, B, M]`` for
    "taylor")."""
    return ref.operator(case.op, model, x, case.options)


def reference_outputs(case: Case, model, x: torch.Tensor) -> list[torch.Tensor]:
    """The outputs a call returns, by torch.func, each with the model's
    columns last but one for the gradient (``[B, M, D]``) and last
    otherwise."""
    names = case.outputs or ("operator",)
    result = []
    for name in names:
        if name == "value":
            result.append(model(x).reshape(len(x), -1))
        elif name == "gradient":
            result.append(ref.derivative(model, x, 1))
        else:
            result.append(reference_operator(case, model, x))
    return result


# -- checking -----------------------------------------------------------------


@dataclass
class Result:
    """The outcome of a case: per model, ``"pass"``, ``"mismatch"`` (a wrong
    number), ``"error"`` (an exception of the compiler or the compiled code)
    or ``"unsupported"``; the largest error per model."""

    case: Case
    status: list[str]
    errors: list[float]
    message: str = ""
    seconds: float = 0.0
    details: list[str] = field(default_factory=list)
    #: Seconds of the reference and of the compile (and first call).
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(s == "pass" for s in self.status)

    def failing_models(self) -> list[int]:
        return [j for j, s in enumerate(self.status) if s != "pass"]


def _error(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.detach(), want.detach()
    diff = float((got - want).abs().max()) if want.numel() else 0.0
    scale = max(float(want.abs().max()) if want.numel() else 0.0, 1.0)
    if not np.isfinite(diff):
        return float("inf")
    return diff / scale


def _per_model(got, want, slices, column_dim: int) -> list[float]:
    """The error of each model's columns (dimension ``column_dim``)."""
    errors = []
    for s in slices:
        index = [slice(None)] * want.ndim
        index[column_dim] = s
        errors.append(_error(got[tuple(index)], want[tuple(index)]))
    return errors


def _module(case: Case):
    if len(case.models) == 1:
        return case.models[0].module()
    return combine(case.models)


def _expected_shape(case, name, want: torch.Tensor) -> tuple[int, ...]:
    """``want``'s shape as the compiled operator returns it: without the
    column dimension for one [B] or [B, 1] model."""
    scalar = len(case.models) == 1 and case.models[0].width == 1
    if not scalar:
        return tuple(want.shape)
    column = want.ndim - 2 if name == "gradient" else want.ndim - 1
    return tuple(d for i, d in enumerate(want.shape) if i != column)


def _loss_weights(outputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [
        torch.linspace(-1.0, 1.0, o.numel(), dtype=o.dtype).reshape(o.shape)
        for o in outputs
    ]


def _loss(outputs, weights) -> torch.Tensor:
    return sum((o * w).sum() + 0.5 * (o * o).sum() for o, w in zip(outputs, weights))


def _gradients(loss, tensors):
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]


def check(case: Case, tol: float = TOL) -> Result:
    """Compiles ``case`` and compares every output (and, for a training
    case, every gradient) with torch.func."""
    start = time.perf_counter()
    n = len(case.models)
    model = _module(case)
    x = case.inputs()
    slices = column_slices(case.models)
    names = case.outputs or ("operator",)

    timings = {}
    try:
        wants = [w.detach() for w in reference_outputs(case, model, x)]
        timings["reference"] = time.perf_counter() - start
    except Exception as error:  # a generator bug, not a compiler bug
        return Result(
            case,
            ["reference-error"] * n,
            [float("nan")] * n,
            f"reference: {type(error).__name__}: {error}",
            time.perf_counter() - start,
        )

    try:
        compiled = tm.compile(
            model,
            op=case.op,
            example_inputs=x,
            collapsed=case.collapsed,
            dynamic_batch=case.dynamic_batch,
            outputs=case.outputs,
            check=case.self_check,
            **case.options,
        )
        got = compiled(x)
        timings["compile"] = time.perf_counter() - start - timings["reference"]
    except tm.UnsupportedOperationError as error:
        return Result(
            case,
            ["unsupported"] * n,
            [float("nan")] * n,
            f"{type(error).__name__}: {error}",
            time.perf_counter() - start,
        )
    except Exception as error:
        return Result(
            case,
            ["error"] * n,
            [float("nan")] * n,
            f"{type(error).__name__}: {error}\n{traceback.format_exc()}",
            time.perf_counter() - start,
        )
    got = list(got) if isinstance(got, tuple) else [got]

    errors = [0.0] * n
    details = []
    status = ["pass"] * n
    for name, g, w in zip(names, got, wants):
        shape = _expected_shape(case, name, w)
        if tuple(g.shape) != shape or g.dtype != torch.float64:
            return Result(
                case,
                ["mismatch"] * n,
                [float("inf")] * n,
                f"{name}: shape {tuple(g.shape)} {g.dtype}, expected "
                f"{shape} torch.float64",
                time.perf_counter() - start,
            )
        column = w.ndim - 2 if name == "gradient" else w.ndim - 1
        for j, e in enumerate(_per_model(g.reshape(w.shape), w, slices, column)):
            errors[j] = max(errors[j], e)
            if not e <= tol:
                status[j] = "mismatch"
                details.append(
                    f"model {j} ({case.models[j].seed}) {name}: error {e:.3g}"
                )

    if case.train:
        try:
            train_errors = _check_training(case, model, x, compiled, wants)
        except Exception as error:
            # Keeps the forward mismatches; the models that passed get the
            # training's status.
            kind = (
                "unsupported"
                if isinstance(error, tm.UnsupportedOperationError)
                else "error"
            )
            trace = "" if kind == "unsupported" else f"\n{traceback.format_exc()}"
            details.append(f"training: {type(error).__name__}: {error}{trace}")
            status = [kind if s == "pass" else s for s in status]
            return Result(
                case,
                status,
                errors,
                "; ".join(details),
                time.perf_counter() - start,
                details,
                timings,
            )
        for key, e in train_errors.items():
            models = range(n) if key is None else [key[0]]
            for j in models:
                errors[j] = max(errors[j], e)
                if not e <= tol:
                    status[j] = "mismatch"
                    what = "d/dx" if key is None else f"d/d{key[1]}"
                    details.append(
                        f"model {j} ({case.models[j].seed}) {what}: error {e:.3g}"
                    )
    if case.train:
        timings["training"] = (
            time.perf_counter() - start - timings["reference"] - timings["compile"]
        )
    return Result(
        case,
        status,
        errors,
        "; ".join(details),
        time.perf_counter() - start,
        details,
        timings,
    )


def _owner(name: str, n: int) -> int:
    """The model a parameter belongs to (``parts.<j>.`` in combined models)."""
    return int(name.split(".")[1]) if n > 1 else 0


def _check_training(case, model, x, compiled, wants) -> dict:
    """Errors of the gradients of a scalar loss of the outputs: key
    ``(model, parameter name)``, or None for ``x``."""
    n = len(case.models)
    named = list(model.named_parameters())
    params = [p for _, p in named]
    weights = _loss_weights(
        [
            w.reshape(_expected_shape(case, nm, w))
            for nm, w in zip(case.outputs or ("operator",), wants)
        ]
    )

    xg = x.clone().requires_grad_(True)
    if case.train == "fused":
        # Per datum: w·o + o²/2 summed over the columns; weights as data.
        def per_datum(out, x, w):
            value = out * w + 0.5 * out * out
            return value.reshape(len(value), -1).sum(-1)

        loss = compiled.loss(xg, per_datum, weights[0], reduction="sum")
    else:
        out = compiled(xg)
        out = list(out) if isinstance(out, tuple) else [out]
        loss = _loss(out, weights)
    got = _gradients(loss, [*params, xg])

    xr = x.clone().requires_grad_(True)
    want_out = [
        w.reshape(_expected_shape(case, nm, w))
        for nm, w in zip(
            case.outputs or ("operator",), reference_outputs(case, model, xr)
        )
    ]
    want = _gradients(_loss(want_out, weights), [*params, xr])

    errors: dict = {}
    for (name, _), g, w in zip(named, got[:-1], want[:-1]):
        errors[(_owner(name, n), name)] = _error(g, w)
    errors[None] = _error(got[-1], want[-1])
    return errors


__all__ = ["OPERATORS", "TOL", "Case", "Result", "check", "make_case"]
