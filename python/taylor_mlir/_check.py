"""The compile-time self-check of `taylor_mlir.compile`.

Every compiled artifact holds one more jet function, `CHECK_TERM`: the value
f_0 and the first Taylor coefficient f_1 = ∂u·v along one direction v passed
at the call. After compiling, `check_artifact` runs it on the example input
and compares it with eager PyTorch (the model's forward, and
``torch.func.jvp``). This is what catches an importer that lowers an op to
different arithmetic than PyTorch's (torch-mlir's ``gelu(approximate=
"tanh")``, which used π ≈ 22/7), or a first-order rule that is wrong, before
a single wrong number reaches the user: one evaluation of the model and one
of its jvp, once per compile.

On disagreement, the imported program alone (before any Taylor-mode pass) is
compiled and run to name the stage that is wrong: torch-mlir's import, or
taylor-mlir's passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._plans import _Term
from .errors import SelfCheckError

#: The self-check's jet function: f_0 and f_1 along one direction (passed).
CHECK_TERM = _Term("taylor_check", 1, 1, "broadcast", False, (0, 1))

#: Relative tolerance per dtype of the value, on the largest magnitude of
#: the reference: |compiled - eager| <= rtol * (|eager| + max |eager|)
#: elementwise. Compiled and eager code sum in different orders, so
#: agreement is to rounding, not bitwise; a wrong constant or rule is off by
#: far more.
TOLERANCES = {torch.float64: 1e-8, torch.float32: 2e-4}

#: The same for the first Taylor coefficient, looser in float64: some of
#: PyTorch's own derivative formulas round a constant to float32 (celu's
#: 1/alpha: 4e-8 relative), and the reference must not refuse exact code.
FIRST_TOLERANCES = {torch.float64: 1e-6, torch.float32: 1e-3}

#: An absolute allowance of this many ulps of 1 on top: a value or
#: derivative that cancels to ~0 (``layer_norm(x).sum(-1)``) is rounding
#: noise of O(1) terms on both sides, not a wrong number.
NOISE_ULPS = 256


def _direction(dim: int, dtype: torch.dtype) -> torch.Tensor:
    """A fixed direction with unequal, nonzero entries (so that no input
    feature is left out and no symmetry hides a transposed derivative)."""
    generator = torch.Generator().manual_seed(20261129)
    v = torch.rand(dim, generator=generator, dtype=torch.float64) + 0.5
    signs = torch.where(torch.arange(dim) % 2 == 0, 1.0, -1.0)
    return (v * signs / v.norm()).to(dtype)


def _eager(module: torch.nn.Module, x: torch.Tensor, v: torch.Tensor):
    """The model's value and directional derivative along ``v`` (the same
    for every datum) in eager PyTorch; the derivative is None if PyTorch
    cannot compute it (an op without a forward- or double-backward rule)."""
    tangent = v.expand_as(x).contiguous()
    with torch.no_grad():
        try:
            return torch.func.jvp(module, (x,), (tangent,))
        except Exception:  # no forward-mode formula: try double backward
            pass
        value = module(x)
    try:
        with torch.enable_grad():
            _, derivative = torch.autograd.functional.jvp(module, x, tangent)
        return value, derivative
    except Exception:
        return value, None


def _mismatch(
    got: np.ndarray | torch.Tensor,
    want: torch.Tensor,
    rtol: float,
    floor: float = 0.0,
    noise: float = 0.0,
) -> tuple[float, float] | None:
    """(largest error, largest magnitude of ``want``) if ``got`` differs
    from ``want`` beyond ``rtol`` relative to the larger of ``want``'s
    largest magnitude and ``floor``, plus ``noise`` (absolute), else
    None."""
    got = torch.as_tensor(np.asarray(got)).to(torch.float64).reshape(want.shape)
    want = want.detach().to(torch.float64)
    if not torch.isfinite(want).all():
        # Compare where eager is finite; elsewhere the compiled value must
        # be the same non-finite number.
        finite = torch.isfinite(want)
        same = (got[~finite] == want[~finite]) | (
            torch.isnan(got[~finite]) & torch.isnan(want[~finite])
        )
        if not same.all():
            return float("inf"), float("nan")
        got, want = got[finite], want[finite]
    if want.numel() == 0:
        return None
    scale = max(float(want.abs().max()), floor)
    error = (got - want).abs()
    if bool((error <= rtol * (want.abs() + scale) + noise).all()):
        return None
    return float(error.max()), scale


def _imported_value(artifact, x: torch.Tensor, tensors: Sequence[Any], shape):
    """The value computed by the imported program alone (torch-mlir's
    output, before any Taylor-mode pass), or None if it cannot be run."""
    from .jit import JitModule

    try:
        jit = JitModule(artifact.imported_ir)
        (value,) = jit.call("main", x, *tensors, result_shapes=[shape])
    except Exception:
        return None
    return value


def check_artifact(
    artifact,
    module: torch.nn.Module,
    x: torch.Tensor,
    tensors: Sequence[Any],
    output_tail: tuple[int, ...],
) -> None:
    """Compares the artifact's value and first Taylor coefficient on ``x``
    with eager PyTorch; raises `SelfCheckError` naming the failing stage."""
    batch, dim = int(x.shape[0]), int(x.shape[1])
    v = _direction(dim, x.dtype)
    shape = (batch, *output_tail)
    # On the CPU (for GPU code: the GPU-mapped program, its kernels as loops);
    # eager PyTorch on the model's device.
    value, first = artifact.jit.call(
        CHECK_TERM.function,
        x.cpu(),
        v[None],
        *tensors,
        result_shapes=[shape, (1, *shape)],
    )
    want_value, want_first = _eager(module, x, v.to(x.device))
    want_value = want_value.cpu()
    want_first = None if want_first is None else want_first.cpu()
    rtol = TOLERANCES[x.dtype]
    noise = NOISE_ULPS * torch.finfo(x.dtype).eps
    advice = (
        "this is a bug of the compiler, not of the model: please report it "
        "with the model; compile(..., check=False) skips this check"
    )
    bad = _mismatch(value, want_value, rtol, noise=noise)
    if bad is not None:
        imported = _imported_value(artifact, x.cpu(), tensors, shape)
        wrong_import = imported is not None and _mismatch(
            imported, want_value, rtol, noise=noise
        )
        stage = "torch-mlir import" if wrong_import else "taylor-mlir passes"
        where = (
            "the program torch-mlir imported already computes other values than "
            "eager PyTorch (an op lowered to different arithmetic)"
            if wrong_import
            else "the imported program agrees with eager PyTorch; the compiled "
            "value does not (taylor-jet, taylor-lower or code generation)"
        )
        raise SelfCheckError(
            f"self-check failed at the {stage}: the compiled model's value "
            f"differs from eager PyTorch's on example_inputs by up to "
            f"{bad[0]:.3g} (largest |value| {bad[1]:.3g}, tolerance "
            f"{rtol:g} relative); {where}; {advice}",
            stage=stage,
            quantity="value",
            error=bad[0],
        )
    if want_first is None:
        return
    rtol = FIRST_TOLERANCES[x.dtype]
    # A derivative that vanishes (exactly, in eager) is compared at the
    # scale of the value: rounding leaves it tiny, not zero.
    finite = want_value.detach().abs()
    finite = finite[torch.isfinite(finite)]
    floor = float(finite.max()) if finite.numel() else 0.0
    bad = _mismatch(first, want_first, rtol, floor, noise)
    if bad is not None:
        raise SelfCheckError(
            "self-check failed at taylor-jet: the compiled first Taylor "
            "coefficient (the derivative along a direction) differs from "
            f"torch.func.jvp on example_inputs by up to {bad[0]:.3g} (largest "
            f"|derivative| {bad[1]:.3g}, tolerance {rtol:g} relative) while the "
            f"value agrees: a first-order Taylor rule is wrong; {advice}",
            stage="taylor-jet",
            quantity="first Taylor coefficient",
            error=bad[0],
        )


__all__: list[str] = []  # internal to taylor_mlir.compile
