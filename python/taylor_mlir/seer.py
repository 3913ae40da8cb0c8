"""TaylorSeer: forecast the outputs of chosen modules of a diffusion model.

A diffusion sampler calls the same denoiser at many timesteps, and the output
of each of its blocks changes smoothly from one timestep to the next.
TaylorSeer ("From Reusing to Forecasting: Accelerating Diffusion Models with
TaylorSeers", Liu et al. 2025, arXiv:2503.06923) computes a chosen module fully
at some steps only, estimates the time derivatives of its output by finite
differences of those full results, and forecasts the other steps with a Taylor
polynomial. This module implements it for any ``torch.nn.Module`` whose
``forward`` returns one tensor (see ``docs/guide/taylorseer.md``).

Three ways to use it, with the same parameters::

    @taylor_seer(warmup_steps=4, skip_interval_steps=2, n_derivatives=1)
    class Block(nn.Module): ...              # every instance forecasts

    attn = taylor_seer(n_derivatives=2)(model.blocks[3].attn)  # a wrapper

    seer.wrap(model, [Attention, Mlp], skip_interval_steps=3)  # in place

Steps. A wrapped module counts its calls since the last reset: call number
``s`` (0-based) is *step* ``s`` (``seer_step`` is the number of calls made).

Schedule (``mode="fixed"``), with ``W = warmup_steps`` and
``N = skip_interval_steps``: step ``s`` is computed fully iff::

    s < W  or  (s - W) % N == N - 1

that is, after the warm-up, ``N - 1`` forecasts then one full step,
repeatedly (``N = 1``: every step is full). ``W = 4, N = 2`` computes
steps 0, 1, 2, 3, 5, 7, 9, ... and forecasts 4, 6, 8, ...; ``N = 3``
computes 0-3, 6, 9, 12, ... This is the rule of the reference implementation
(``(s - W + 1) % N == 0``).

Derivatives (``formula="taylor"``, as in the official implementation). After a
full step at ``s`` whose previous full step was at ``p`` (gap ``g = s - p``,
the actual gap, whatever the schedule), the estimates become::

    d_0 = F(s),   d_{i+1} = (d_i(s) - d_i(p)) / g     for i < n_derivatives

where ``d_i(p)`` is the estimate kept from step ``p``; order ``i + 1`` is
only formed when ``d_i(p)`` exists, so after ``m`` full steps the orders
``0 .. min(m - 1, n_derivatives)`` are known. A forecast ``k`` steps after
the last full step is the Taylor polynomial::

    F(s + k) ~ sum_i d_i * k**i / i!

These ``d_i`` are backward differences, not derivatives at ``s``: the
forecast of a polynomial of degree ``<= 1`` is exact, of a higher degree it
lags (``t**2`` forecast from ``d_1 = 2t - g`` is too small by ``g * k``; the
reference example shows it). ``formula="newton"`` (not in the reference)
uses the same full results as Newton's divided-difference interpolation
through the last ``n_derivatives + 1`` full steps ``t_0 > t_1 > ...``::

    D_0 = F(t_0),  D_{i+1} = (D_i(t_0) - D_i(t_1)) / (t_0 - t_{i+1})
    F(t) ~ sum_i D_i * (t - t_0)(t - t_1)...(t - t_{i-1})

which reproduces every polynomial of degree ``<= n_derivatives`` exactly,
whatever the gaps.

Automatic schedule (``mode="auto"``, the reference's TODO). Warm-up steps are
full. After the warm-up, step ``s`` at ``k`` steps after the last full step
is forecast iff the relative size of the forecast's highest-order term::

    e(k) = ||d_n * w_n(k)|| / ||d_0||     (w_n(k) = k**n / n! for "taylor")

is at most the effective tolerance ``tau`` and fewer than ``max_skip``
forecasts were made in a row (``max_skip=None``: no cap); otherwise it is
computed fully. ``n`` is ``n_derivatives`` (>= 1 in auto mode) and the norm
is the 2-norm over the whole output. ``tau`` starts at ``tolerance``. With
``check_interval=c``, the step that would be the ``(c + 1)``-th forecast
since the last check is computed fully instead (a *check*): the forecast it
would have made is compared with the full result, the true relative error
``||forecast - F|| / ||F||`` is recorded in the stats, and ``tau`` adapts:
halved when the true error exceeds ``tolerance``, doubled (at most back to
``tolerance``) when it is at most ``tolerance / 2``. ``skip_interval_steps``
is not used in auto mode.

State. Each wrapped module has its own cache: the estimates ``d_i`` (detached
copies, never the tensors returned to the caller), the steps of the full
results and the step counter. ``reset_cache()`` (or ``seer.reset(model)``,
or ``with seer.sampling(model):``) starts a new run at step 0; do it between
sampling runs. A call whose tensor inputs differ in shape, dtype or device
from the run's first call (a new batch size), or whose full output differs
from the cached one, also starts a new run at step 0, with a warning (once
per module).

Numbers. Outputs must be floating point (or complex). The finite differences
and forecasts are done in float32 for float16 and bfloat16 outputs (the cache
is float32) and in the output's dtype otherwise; forecasts are cast back to
the output's dtype and are on its device. Forecasts are new tensors that
carry no autograd graph; full steps return the module's own output.
Forecasting under autograd is allowed but the forecast steps get no
gradient.

Not thread-safe: one wrapped module must not be called from several threads
at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import numbers
import warnings
from typing import Callable, Iterator

import torch
from torch import nn

__all__ = [
    "SeerConfig",
    "SamplingRun",
    "TaylorSeer",
    "is_seer",
    "reset",
    "sampling",
    "stats",
    "taylor_seer",
    "unwrap",
    "wrap",
]

_MODES = ("fixed", "auto")
_FORMULAS = ("taylor", "newton")
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _check_int(name: str, value, minimum: int, why: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"taylor_seer: {name} must be an integer, got {value!r} "
            f"({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(
            f"taylor_seer: {name} must be >= {minimum} ({why}), got {value}"
        )


@dataclasses.dataclass(frozen=True)
class SeerConfig:
    """The parameters of one wrapped module (see the module docstring).

    Creating one validates it: every inconsistent or out-of-range value
    raises ``ValueError`` saying why.
    """

    warmup_steps: int = 3
    skip_interval_steps: int = 3
    n_derivatives: int = 2
    mode: str = "fixed"
    tolerance: float | None = None
    max_skip: int | None = None
    check_interval: int | None = None
    formula: str = "taylor"

    def __post_init__(self):
        _check_int("n_derivatives", self.n_derivatives, 0, "the number of derivatives")
        _check_int(
            "skip_interval_steps",
            self.skip_interval_steps,
            1,
            "1 computes every step, N computes one step in N after the warm-up",
        )
        _check_int("warmup_steps", self.warmup_steps, 1, "step 0 is always full")
        need = self.n_derivatives + 1
        if self.warmup_steps < need:
            raise ValueError(
                f"taylor_seer: warmup_steps={self.warmup_steps} is too short for "
                f"n_derivatives={self.n_derivatives}: estimating derivatives up to "
                f"order {self.n_derivatives} needs {need} full steps before the "
                f"first forecast; use warmup_steps >= {need}"
            )
        if self.mode not in _MODES:
            raise ValueError(
                f"taylor_seer: mode must be one of {_MODES}, got {self.mode!r}"
            )
        if self.formula not in _FORMULAS:
            raise ValueError(
                f"taylor_seer: formula must be one of {_FORMULAS}, "
                f"got {self.formula!r}"
            )
        auto_only = {
            "tolerance": self.tolerance,
            "max_skip": self.max_skip,
            "check_interval": self.check_interval,
        }
        if self.mode == "fixed":
            given = [k for k, v in auto_only.items() if v is not None]
            if given:
                raise ValueError(
                    f"taylor_seer: {', '.join(given)} only apply to mode='auto' "
                    f"(mode='fixed' follows warmup_steps and skip_interval_steps)"
                )
            return
        if self.tolerance is None:
            raise ValueError(
                "taylor_seer: mode='auto' needs a tolerance: the largest relative "
                "size of the forecast's highest-order term that still forecasts"
            )
        if (
            isinstance(self.tolerance, bool)
            or not isinstance(self.tolerance, numbers.Real)
            or not math.isfinite(self.tolerance)
            or self.tolerance <= 0
        ):
            raise ValueError(
                f"taylor_seer: tolerance must be a finite number > 0, "
                f"got {self.tolerance!r}"
            )
        if self.n_derivatives < 1:
            raise ValueError(
                "taylor_seer: mode='auto' needs n_derivatives >= 1: its error "
                "estimate is the forecast's highest-order term, d_n * k**n / n!, "
                "which is the output itself when n = 0"
            )
        if self.max_skip is not None:
            _check_int("max_skip", self.max_skip, 1, "forecasts in a row")
        if self.check_interval is not None:
            _check_int(
                "check_interval", self.check_interval, 1, "forecasts between checks"
            )

    def replace(self, **changes) -> "SeerConfig":
        """A validated copy with ``changes`` (``None`` values keep the current
        ones; switching to ``mode="fixed"`` drops the auto-only parameters
        not given)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"taylor_seer: unknown parameter(s) {sorted(unknown)}")
        values = dataclasses.asdict(self)
        if changes.get("mode") == "fixed":
            for key in ("tolerance", "max_skip", "check_interval"):
                values[key] = None
        values.update(changes)
        return SeerConfig(**values)


def _flat_tensors(value, out: list) -> None:
    if isinstance(value, torch.Tensor):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _flat_tensors(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _flat_tensors(item, out)


def _signature(args, kwargs) -> tuple:
    tensors: list = []
    _flat_tensors(args, tensors)
    _flat_tensors(kwargs, tensors)
    return tuple((tuple(t.shape), t.dtype, t.device) for t in tensors)


def _describe(meta) -> str:
    return (
        ", ".join(
            f"{list(s)} {str(d).replace('torch.', '')} {dev}" for s, d, dev in meta
        )
        or "none"
    )


class _SeerState:
    """The cache and the schedule of one wrapped module."""

    def __init__(self, config: SeerConfig, name: str):
        self.config = config
        self.name = name
        self.warned = False
        self.total_full = 0
        self.total_forecast = 0
        self.reset()

    def reset(self) -> None:
        self.step = 0
        self.full_steps: list[int] = []
        self.schedule: list[str] = []
        self.coeffs: list[torch.Tensor] = []
        self.nodes: list[int] = []
        self.signature = None
        self.out_meta = None
        self.in_a_row = 0
        self.since_check = 0
        self.checks: list[dict] = []
        self.effective_tolerance = self.config.tolerance
        self.term_ratio = 0.0

    # The forecast: sum_i coeffs[i] * weight(i, step).
    def _weight(self, i: int, step: int) -> float:
        if self.config.formula == "taylor":
            k = step - self.nodes[-1]
            return k**i / math.factorial(i)
        w = 1.0
        for j in range(i):
            w *= step - self.nodes[-1 - j]
        return w

    def forecast(self, step: int) -> torch.Tensor:
        out = self.coeffs[0].clone()
        for i in range(1, len(self.coeffs)):
            out.add_(self.coeffs[i], alpha=self._weight(i, step))
        return out

    def estimate(self, step: int) -> float:
        """The relative size of the forecast's highest-order term."""
        m = len(self.coeffs) - 1
        return self.term_ratio * abs(self._weight(m, step))

    def decide(self, step: int) -> str:
        cfg = self.config
        if step < cfg.warmup_steps or not self.coeffs:
            return "full"
        if cfg.mode == "fixed":
            n = cfg.skip_interval_steps
            return "full" if (step - cfg.warmup_steps) % n == n - 1 else "forecast"
        if cfg.max_skip is not None and self.in_a_row >= cfg.max_skip:
            return "full"
        if self.estimate(step) > self.effective_tolerance:
            return "full"
        if cfg.check_interval is not None and self.since_check >= cfg.check_interval:
            return "check"
        return "forecast"

    def update(self, output: torch.Tensor, step: int) -> None:
        cfg = self.config
        dtype = torch.float32 if output.dtype in _LOW_PRECISION else output.dtype
        new = [output.detach().to(dtype=dtype, copy=True)]
        for i in range(min(cfg.n_derivatives, len(self.coeffs))):
            if cfg.formula == "taylor":
                gap = step - self.nodes[-1]
            else:
                gap = step - self.nodes[-1 - i]
            new.append((new[i] - self.coeffs[i]) / gap)
        self.coeffs = new
        self.nodes = (self.nodes + [step])[-(cfg.n_derivatives + 1) :]
        if cfg.mode == "auto":
            top = float(torch.linalg.vector_norm(new[-1]))
            base = float(torch.linalg.vector_norm(new[0]))
            if len(new) == 1:
                self.term_ratio = 0.0
            elif base > 0:
                self.term_ratio = top / base
            else:
                self.term_ratio = 0.0 if top == 0 else math.inf

    def restart(self, why: str) -> None:
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"taylor_seer: {self.name}: {why} at step {self.step}; its cache was "
                f"reset and a new run started at step 0 (reset between sampling "
                f"runs with seer.reset(model) or `with seer.sampling(model):`; "
                f"this warning is shown once per module)",
                stacklevel=4,
            )
        self.reset()

    def call(self, compute: Callable[[], object], args, kwargs):
        signature = _signature(args, kwargs)
        if self.signature is not None and signature != self.signature:
            self.restart(
                f"the inputs changed from ({_describe(self.signature)}) to "
                f"({_describe(signature)})"
            )
        self.signature = signature
        step = self.step
        decision = self.decide(step)
        if decision == "forecast":
            out = self.forecast(step).to(self.out_meta[1])
            self.step += 1
            self.in_a_row += 1
            self.since_check += 1
            self.total_forecast += 1
            self.schedule.append(".")
            return out

        output = compute()
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"taylor_seer: {self.name}.forward returned "
                f"{type(output).__name__}; a forecast module must return one "
                f"torch.Tensor (wrap the part of it that does)"
            )
        if not (output.dtype.is_floating_point or output.dtype.is_complex):
            raise TypeError(
                f"taylor_seer: {self.name}.forward returned a {output.dtype} "
                f"tensor; forecasting needs a floating-point output"
            )
        meta = (tuple(output.shape), output.dtype, output.device)
        if self.out_meta is not None and meta != self.out_meta:
            self.restart(
                f"the output changed from ({_describe([self.out_meta])}) to "
                f"({_describe([meta])})"
            )
            self.signature = signature
            step, decision = 0, "full"
        if decision == "check":
            self._check(output, step)
        self.update(output, step)
        self.out_meta = meta
        self.full_steps.append(step)
        self.schedule.append("C" if decision == "check" else "F")
        self.step = step + 1
        self.in_a_row = 0
        self.total_full += 1
        return output

    def _check(self, output: torch.Tensor, step: int) -> None:
        predicted = self.forecast(step)
        truth = output.detach().to(predicted.dtype)
        scale = float(torch.linalg.vector_norm(truth))
        diff = float(torch.linalg.vector_norm(predicted - truth))
        error = diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)
        estimate = self.estimate(step)
        tol = self.config.tolerance
        if error > tol:
            self.effective_tolerance /= 2
        elif error <= tol / 2:
            self.effective_tolerance = min(tol, 2 * self.effective_tolerance)
        self.checks.append(
            {
                "step": step,
                "k": step - self.nodes[-1],
                "estimate": estimate,
                "error": error,
                "effective_tolerance": self.effective_tolerance,
            }
        )
        self.since_check = 0

    def stats(self) -> dict:
        return {
            "mode": self.config.mode,
            "steps": self.step,
            "full": len(self.full_steps),
            "forecast": self.step - len(self.full_steps),
            "full_steps": list(self.full_steps),
            "schedule": "".join(self.schedule),
            "checks": [dict(c) for c in self.checks],
            "effective_tolerance": self.effective_tolerance,
            "total_full": self.total_full,
            "total_forecast": self.total_forecast,
        }


class _SeerMethods:
    """What every forecasting module has: the decorated classes' instances
    and ``TaylorSeer`` wrappers."""

    def _seer_state(self) -> _SeerState:
        state = self.__dict__.get("_taylor_seer")
        if state is None:
            state = _SeerState(type(self)._taylor_seer_config, type(self).__name__)
            self.__dict__["_taylor_seer"] = state
        return state

    def reset_cache(
        self,
        warmup_steps: int | None = None,
        skip_interval_steps: int | None = None,
        n_derivatives: int | None = None,
        **params,
    ) -> None:
        """Empty the cache and restart the step counter at 0; parameters given
        (not ``None``) replace the current ones (``mode``, ``tolerance``,
        ``max_skip``, ``check_interval``, ``formula`` as keywords). Raises
        ``ValueError`` on bad parameters, changing nothing then."""
        state = self._seer_state()
        state.config = state.config.replace(
            warmup_steps=warmup_steps,
            skip_interval_steps=skip_interval_steps,
            n_derivatives=n_derivatives,
            **params,
        )
        state.reset()

    @property
    def seer_config(self) -> SeerConfig:
        """The current parameters."""
        return self._seer_state().config

    @property
    def seer_step(self) -> int:
        """The number of calls since the last reset (the next call's step)."""
        return self._seer_state().step

    @property
    def seer_full_steps(self) -> list[int]:
        """The steps computed fully since the last reset."""
        return list(self._seer_state().full_steps)

    @property
    def seer_derivatives(self) -> list[torch.Tensor]:
        """Copies of the cached estimates ``d_0, d_1, ...`` (divided
        differences ``D_i`` with ``formula="newton"``), float32 for
        low-precision outputs."""
        return [c.clone() for c in self._seer_state().coeffs]

    def seer_stats(self) -> dict:
        """This module's counts since the last reset (``steps``, ``full``,
        ``forecast``, ``full_steps``, ``schedule``: one character per step,
        ``F`` full, ``.`` forecast, ``C`` check; ``checks``: the auto mode's
        measured errors; ``effective_tolerance``) and since it was created
        (``total_full``, ``total_forecast``)."""
        return self._seer_state().stats()


class TaylorSeer(_SeerMethods, nn.Module):
    """A forecasting wrapper around one module instance (made by
    ``taylor_seer(...)(module)`` or ``seer.wrap``).

    It shares the wrapped module's parameters, buffers and submodules (its
    ``state_dict`` has the same keys, ``.to()`` moves both) and leaves the
    wrapped module unchanged; ``wrapper.module`` is the wrapped module, and
    attributes the wrapper lacks are read from it. Full steps call
    ``wrapper.module(...)``, so the wrapped module's hooks run on those.
    """

    def __init__(self, module: nn.Module, config: SeerConfig, name: str | None = None):
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"taylor_seer: expected an nn.Module, got {type(module).__name__}"
            )
        if is_seer(module):
            raise ValueError(
                f"taylor_seer: {name or type(module).__name__} already forecasts"
            )
        super().__init__()
        d = self.__dict__
        d["module"] = module
        d["_parameters"] = module._parameters
        d["_buffers"] = module._buffers
        d["_non_persistent_buffers_set"] = module._non_persistent_buffers_set
        d["_modules"] = module._modules
        d["training"] = module.training
        d["_taylor_seer"] = _SeerState(config, name or type(module).__name__)

    def forward(self, *args, **kwargs):
        module = self.__dict__["module"]
        return self._seer_state().call(lambda: module(*args, **kwargs), args, kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            module = self.__dict__.get("module")
            if module is None:
                raise
            return getattr(module, name)

    def train(self, mode: bool = True):
        self.module.train(mode)
        self.training = mode
        return self

    def _apply(self, *args, **kwargs):
        self.module._apply(*args, **kwargs)
        return self

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.module.load_state_dict(*args, **kwargs)

    def _save_to_state_dict(self, *args, **kwargs):
        return self.module._save_to_state_dict(*args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        return self.module._load_from_state_dict(*args, **kwargs)

    def extra_repr(self) -> str:
        cfg = self.seer_config
        parts = [
            type(self.module).__name__,
            f"warmup_steps={cfg.warmup_steps}",
            f"skip_interval_steps={cfg.skip_interval_steps}",
            f"n_derivatives={cfg.n_derivatives}",
        ]
        for f in dataclasses.fields(cfg)[3:]:
            value = getattr(cfg, f.name)
            if value != f.default:
                parts.append(f"{f.name}={value!r}")
        return ", ".join(parts)


def is_seer(module) -> bool:
    """Whether ``module`` forecasts (a ``TaylorSeer`` wrapper or an instance of
    a decorated class)."""
    return isinstance(module, _SeerMethods)


def _decorate_class(cls: type, config: SeerConfig) -> type:
    if not issubclass(cls, nn.Module):
        raise TypeError(
            f"taylor_seer: can only decorate nn.Module subclasses, got {cls.__name__}"
        )
    if issubclass(cls, _SeerMethods):
        raise ValueError(f"taylor_seer: {cls.__name__} already forecasts")
    base_forward = cls.forward
    if base_forward is nn.Module.forward:
        raise TypeError(f"taylor_seer: {cls.__name__} defines no forward")

    @functools.wraps(base_forward)
    def forward(self, *args, **kwargs):
        return self._seer_state().call(
            lambda: base_forward(self, *args, **kwargs), args, kwargs
        )

    namespace = {
        "forward": forward,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "_taylor_seer_config": config,
    }
    return type(cls)(cls.__name__, (cls, _SeerMethods), namespace)


def taylor_seer(
    warmup_steps: int = 3,
    skip_interval_steps: int = 3,
    n_derivatives: int = 2,
    *,
    mode: str = "fixed",
    tolerance: float | None = None,
    max_skip: int | None = None,
    check_interval: int | None = None,
    formula: str = "taylor",
):
    """Make a module forecast its output between full computations.

    The result applies to an ``nn.Module`` subclass (as a class decorator: the
    class keeps its name and ``state_dict`` keys, and each instance gets its
    own cache and ``reset_cache``, ``seer_step``, ``seer_full_steps``,
    ``seer_stats()``), or to a module instance (it returns a ``TaylorSeer``
    wrapper and leaves the instance unchanged). ``seer.wrap`` applies it to
    chosen submodules of a model.

    Args:
        warmup_steps: steps computed fully at the start of each run
            (``>= n_derivatives + 1``).
        skip_interval_steps: ``N``: after the warm-up, one step in ``N`` is
            computed fully, the ``N - 1`` before it are forecast.
        n_derivatives: the highest derivative estimated (0: reuse the last
            full result).
        mode: ``"fixed"`` (the schedule above) or ``"auto"`` (decide per step
            from an error estimate; needs ``tolerance``).
        tolerance: auto mode: the largest relative size of the forecast's
            highest-order term that still forecasts.
        max_skip: auto mode: the most forecasts in a row (``None``: no cap).
        check_interval: auto mode: compute fully after this many forecasts
            to measure the true error and adapt the tolerance.
        formula: ``"taylor"`` (the reference) or ``"newton"`` (interpolation
            through the last ``n_derivatives + 1`` full results).

    The schedule, the derivative estimates and the auto mode's rule are in
    the module docstring. Raises ``ValueError`` on bad parameters.
    """
    config = SeerConfig(
        warmup_steps,
        skip_interval_steps,
        n_derivatives,
        mode,
        tolerance,
        max_skip,
        check_interval,
        formula,
    )

    def apply(target):
        if isinstance(target, type):
            return _decorate_class(target, config)
        if isinstance(target, nn.Module):
            return TaylorSeer(target, config)
        raise TypeError(
            f"taylor_seer: applies to an nn.Module subclass or instance, got "
            f"{type(target).__name__}"
        )

    apply.config = config
    return apply


def _matcher(select) -> tuple[Callable[[str, nn.Module], bool], set[str]]:
    if callable(select) and not isinstance(select, type):
        return select, set()
    if isinstance(select, (str, type)):
        select = [select]
    names = {s for s in select if isinstance(s, str)}
    types = tuple(s for s in select if isinstance(s, type))
    bad = [s for s in select if not isinstance(s, (str, type))]
    if bad:
        raise TypeError(
            f"seer.wrap: select holds module names and types, got {bad[0]!r}"
        )
    return (lambda name, m: name in names or isinstance(m, types)), names


def wrap(model: nn.Module, select, **params) -> list[str]:
    """Replace chosen submodules of ``model`` by ``TaylorSeer`` wrappers, in
    place: this modifies ``model`` (``seer.unwrap`` undoes it).

    ``select`` is a predicate ``(name, module) -> bool``, or a list of
    qualified names (as in ``model.named_modules()``) and module types.
    ``params`` are ``taylor_seer``'s. Each wrapped module gets its own cache.
    The inside of a selected module is not searched further, nor is that of a
    module that already forecasts. Returns the wrapped names; raises
    ``ValueError`` when nothing matches, when a name given matches nothing, or
    when ``model`` itself matches (wrap it with ``taylor_seer(...)(model)``).
    """
    config = SeerConfig(**params)
    match, names = _matcher(select)
    if match("", model):
        raise ValueError(
            "seer.wrap: the model itself is selected; wrap it with "
            "taylor_seer(...)(model) instead"
        )
    wrapped: list[str] = []

    def walk(parent: nn.Module, prefix: str) -> None:
        for child_name, child in list(parent.named_children()):
            name = prefix + child_name
            if is_seer(child):
                if name in names:
                    raise ValueError(f"seer.wrap: {name} already forecasts")
                continue
            if match(name, child):
                setattr(parent, child_name, TaylorSeer(child, config, name))
                wrapped.append(name)
                continue
            walk(child, name + ".")

    walk(model, "")
    missing = sorted(names - set(wrapped))
    if missing:
        for name in wrapped:
            _unwrap_one(model, name)
        raise ValueError(
            f"seer.wrap: no submodule named {', '.join(missing)} (names are those "
            f"of model.named_modules(), outside any module selected)"
        )
    if not wrapped:
        raise ValueError("seer.wrap: select matched no submodule")
    return wrapped


def _unwrap_one(model: nn.Module, name: str) -> None:
    parent_name, _, child_name = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child_name, getattr(parent, child_name).module)


def unwrap(model: nn.Module) -> list[str]:
    """Put back, in place, the modules that ``TaylorSeer`` wrappers inside
    ``model`` wrap; returns their names. Instances of decorated classes stay
    as they are. ``model`` itself must not be a wrapper (use its
    ``.module``)."""
    if isinstance(model, TaylorSeer):
        raise ValueError(
            "seer.unwrap: the model is itself a TaylorSeer wrapper; use model.module"
        )
    names: list[str] = []

    def walk(parent: nn.Module, prefix: str) -> None:
        for child_name, child in list(parent.named_children()):
            name = prefix + child_name
            if isinstance(child, TaylorSeer):
                setattr(parent, child_name, child.module)
                names.append(name)
                child = child.module
            walk(child, name + ".")

    walk(model, "")
    return names


def _seers(model: nn.Module) -> Iterator[tuple[str, _SeerMethods]]:
    for name, module in model.named_modules():
        if is_seer(module):
            yield name, module


def reset(model: nn.Module, **params) -> list[str]:
    """``reset_cache(**params)`` on every forecasting module in ``model``
    (itself included); returns their names."""
    names = []
    for name, module in _seers(model):
        module.reset_cache(**params)
        names.append(name)
    return names


def stats(model: nn.Module) -> dict[str, dict]:
    """``seer_stats()`` of every forecasting module in ``model``, by name
    (``""`` for the model itself)."""
    return {name: module.seer_stats() for name, module in _seers(model)}


@dataclasses.dataclass
class SamplingRun:
    """What ``seer.sampling`` yields: ``stats`` is filled on exit, before the
    caches are reset (``seer.stats`` after the block would see empty runs)."""

    model: nn.Module
    stats: dict[str, dict] = dataclasses.field(default_factory=dict)

    @property
    def full(self) -> int:
        """The full evaluations of every forecasting module together."""
        return sum(s["full"] for s in self.stats.values())

    @property
    def forecast(self) -> int:
        """The forecasts of every forecasting module together."""
        return sum(s["forecast"] for s in self.stats.values())


@contextlib.contextmanager
def sampling(model: nn.Module) -> Iterator[SamplingRun]:
    """One sampling run: every forecasting module in ``model`` is reset on
    entry and on exit (even on an exception); the run's stats are kept in the
    ``SamplingRun`` it yields."""
    reset(model)
    run = SamplingRun(model)
    try:
        yield run
    finally:
        run.stats = stats(model)
        reset(model)
