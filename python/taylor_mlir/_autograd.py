"""Compiled operators under ``torch.autograd``.

A call of a `CompiledOperator` whose input or model tensors require grad
(with grad mode on) is one autograd node, `OperatorFunction`. Its forward
runs the compiled operator as without autograd and keeps only its inputs
(``x``, the model's tensors, the directions of the call): no intermediate
value crosses into Python. Its backward runs, per part of the batch and per
jet function, the function's vector-Jacobian product — the program that
``taylor-reverse`` derives from the lowered jet function, which recomputes
the forward and then pulls the cotangents back (see ``docs/reverse.md``) —
on the thread pool, and adds the parts' parameter gradients.

With ``create_graph=True`` the backward instead recomputes the operator as
a graph of differentiable program calls (`_program.apply`) and
differentiates it with autograd, so the gradients it returns are
differentiable again (reverse over reverse of the compiled code).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from . import threads

if TYPE_CHECKING:
    from .compiler import CompiledOperator


def records(x: torch.Tensor, tensors: Sequence[torch.Tensor]) -> bool:
    """Whether a call on ``x`` and the model's ``tensors`` must be recorded
    for autograd (grad mode on and a floating-point input requires grad)."""
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(
        t.requires_grad and t.is_floating_point() for t in tensors
    )


def run_parts(function, parts: Sequence[tuple[int, int]]) -> list:
    """``function(part)`` for every part of a batch, on the thread pool
    (the compiled calls inside run with one BLAS thread each: a
    multi-threaded BLAS on one part's small products was 3-10x slower,
    docs/performance.md)."""
    if len(parts) == 1:
        return [function(parts[0])]
    return threads.map(function, parts)


def gather_gradients(
    x: torch.Tensor,
    model_tensors: Sequence[torch.Tensor],
    parts: Sequence[tuple[int, int]],
    x_parts: Sequence[torch.Tensor | None] | None,
    tensor_parts: Sequence[Sequence[torch.Tensor | None]],
    wanted: Sequence[int],
) -> list[torch.Tensor | None]:
    """The gradients of ``x`` (its parts' concatenated; None if
    ``x_parts`` is) and of the model's tensors ``wanted`` (their parts'
    sums), in the tensors' dtypes; zeros where nothing flowed back."""
    out: list[torch.Tensor | None] = [None] * (1 + len(model_tensors))
    if x_parts is not None:
        out[0] = torch.cat(
            [
                torch.zeros_like(x[a:b]) if g is None else g
                for g, (a, b) in zip(x_parts, parts)
            ]
        ).to(x.dtype)
    for k, j in enumerate(wanted):
        found = [t[k] for t in tensor_parts if t[k] is not None]
        total = sum(found[1:], found[0]) if found else None
        tensor = model_tensors[j]
        out[1 + j] = (
            torch.zeros_like(tensor) if total is None else total.to(tensor.dtype)
        )
    return out


def _gradients(
    op: CompiledOperator,
    x: torch.Tensor,
    model_tensors: Sequence[torch.Tensor],
    directions: list,
    grads: Sequence[torch.Tensor | None],
    needs: Sequence[bool],
) -> list[torch.Tensor | None]:
    """The gradients of ``Σ_j <grads[j], output_j(x)>`` with respect to
    ``x`` and the model's tensors (None where ``needs`` is false), by the
    compiled vjp programs, part by part on the thread pool."""
    x = x.detach()
    tensors = op._arguments(model_tensors, x)
    needs_x, needs_tensors = needs[0], needs[1:]
    wanted = [
        i
        for i, (t, need) in enumerate(zip(model_tensors, needs_tensors))
        if need and t.is_floating_point()
    ]
    parts = op._parts(int(x.shape[0]))
    grads = {
        name: g.detach().to(op.dtype)
        for name, g in zip(op.outputs, grads)
        if g is not None
    }

    def part_gradients(part: tuple[int, int]):
        a, b = part
        xp = x[a:b]
        gp = {
            name: g[:, :, a:b] if op._outputs.batch_dim(name) == 2 else g[a:b]
            for name, g in grads.items()
        }
        artifact = op._artifact_for(None if op.dynamic_batch else b - a)
        gx, gt = None, [None] * len(wanted)
        for i in range(len(op._plan.terms)):
            results, cotangents = op._outputs.cotangents(i, gp, b - a)
            if not results:
                continue
            args = op._outputs.term_args(i, xp, tensors, directions)
            offset = len(args) - len(tensors)
            arguments = ([0] if needs_x else []) + [offset + j for j in wanted]
            program = artifact.programs[i].vjp(arguments, results)
            shapes = op._outputs.term_shapes(i, b - a) + [
                tuple(args[k].shape) for k in arguments
            ]
            outputs = program(*args, *cotangents, result_shapes=shapes)
            products = outputs[len(shapes) - len(arguments) :]
            if needs_x:
                gx = products[0] if gx is None else gx + products[0]
                products = products[1:]
            gt = [g if s is None else s + g for s, g in zip(gt, products)]
        return gx, gt

    results = run_parts(part_gradients, parts)
    return gather_gradients(
        x,
        model_tensors,
        parts,
        [r[0] for r in results] if needs_x else None,
        [r[1] for r in results],
        wanted,
    )


def _differentiable_gradients(
    op: CompiledOperator,
    x: torch.Tensor,
    model_tensors: Sequence[torch.Tensor],
    directions: list,
    grads: Sequence[torch.Tensor | None],
    needs: Sequence[bool],
) -> list[torch.Tensor | None]:
    """`_gradients` as a differentiable graph (``create_graph=True``): the
    operator recomputed through differentiable program calls, then
    differentiated by autograd."""
    inputs = [x, *model_tensors]
    wanted = [i for i, need in enumerate(needs) if need]
    with torch.enable_grad():
        # In the operator's dtype, still connected to the model's tensors.
        tensors = [
            t.to(op.dtype) if t.is_floating_point() else t for t in model_tensors
        ]
        values = op._evaluate(x, tensors, directions, differentiable=True)
        flowing = [j for j, g in enumerate(grads) if g is not None]
        gradients = torch.autograd.grad(
            [values[j] for j in flowing],
            [inputs[i] for i in wanted],
            [grads[j] for j in flowing],
            create_graph=True,
            allow_unused=True,
        )
    out: list[torch.Tensor | None] = [None] * len(needs)
    for i, g in zip(wanted, gradients):
        out[i] = torch.zeros_like(inputs[i]) if g is None else g
    return out


class OperatorFunction(torch.autograd.Function):
    """``OperatorFunction.apply(op, directions, x, *model_tensors)``: the
    operator's outputs (a tuple, `CompiledOperator.outputs`), differentiable
    with respect to ``x`` and the model's floating-point tensors."""

    @staticmethod
    def forward(ctx, op, directions, x, *model_tensors):
        tensors = op._arguments(model_tensors, x)
        outputs = op._evaluate(x.detach(), tensors, directions)
        ctx.op = op
        ctx.directions = directions
        ctx.save_for_backward(x, *model_tensors)
        ctx.set_materialize_grads(False)
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        x, *model_tensors = ctx.saved_tensors
        needs = list(ctx.needs_input_grad[2:])
        if not any(needs) or all(g is None for g in grads):
            return (None,) * (2 + len(needs))
        compute = _differentiable_gradients if torch.is_grad_enabled() else _gradients
        gradients = compute(ctx.op, x, model_tensors, ctx.directions, grads, needs)
        return (None, None, *gradients)


__all__: list[Any] = []  # internal to taylor_mlir.compile
