"""A loss over a compiled operator's outputs, with its gradient computed in
the same pass, part by part (`CompiledOperator.loss`).

The loss is a sum (or mean) over the data of a per-datum loss of the
operator's outputs, so the gradient splits over the parts of the batch. For
each part on the thread pool: the primal half of the vjp program
(``taylor-split-adjoint``) computes the outputs and the tape, the per-datum
loss and its gradient with respect to the outputs are evaluated (by
autograd, on the part's outputs only), and the adjoint half turns them into
the gradients of ``x`` and of the model's tensors; the tape is freed. Nothing
is computed twice, and the memory is that of one part per thread, not of the
batch. The gradients wait in the autograd node until ``backward()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ._autograd import gather_gradients, records, run_parts

if TYPE_CHECKING:
    from .compiler import CompiledOperator


def _part_loss(op, loss_fn, outputs, xp, data, scale):
    """The part's loss and its gradients with respect to the outputs."""
    with torch.enable_grad():
        leaves = [o.detach().requires_grad_(True) for o in outputs]
        per_datum = loss_fn(*leaves, xp, *data)
        if not isinstance(per_datum, torch.Tensor) or per_datum.shape != (xp.shape[0],):
            shape = getattr(per_datum, "shape", type(per_datum).__name__)
            raise ValueError(
                f"loss_fn must return one loss per datum, a tensor of shape "
                f"({xp.shape[0]},) for this part of the batch; it returned {shape}"
            )
        loss = per_datum.sum() * scale
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return loss.detach(), {
        name: g for name, g in zip(op.outputs, grads) if g is not None
    }


def _part(op, loss_fn, scale, x, tensors, directions, data, wanted, needs_x, part):
    a, b = part
    xp = x[a:b]
    data_p = [d[a:b] for d in data]
    batch = b - a
    artifact = op._artifact_for(None if op.dynamic_batch else batch)
    terms = op._plan.terms
    argument_lists, programs, term_results, tapes = [], [], [], []
    for i, term in enumerate(terms):
        args = op._outputs.term_args(i, xp, tensors, directions)
        offset = len(args) - len(tensors)
        arguments = ([0] if needs_x else []) + [offset + j for j in wanted]
        every = list(range(len(term.results)))
        vjp = artifact.programs[i].vjp(arguments, every)
        primal, adjoint = vjp.split(len(term.results))
        shapes = primal.result_shapes()
        if shapes is None:  # dynamic shapes: no static tape, recompute
            results = artifact.programs[i](
                *args, result_shapes=op._outputs.term_shapes(i, batch)
            )
            tapes.append(None)
        else:
            outputs = primal(*args, result_shapes=shapes)
            results, tape = outputs[: len(term.results)], outputs[len(term.results) :]
            tapes.append(tape)
        argument_lists.append((args, arguments))
        programs.append((vjp, adjoint))
        term_results.append(results)
    outputs = op._outputs.combine_terms(term_results, batch)
    loss, grads = _part_loss(op, loss_fn, outputs, xp, data_p, scale)

    gx, gt = None, [None] * len(wanted)
    for i, term in enumerate(terms):
        positions, cotangents = op._outputs.cotangents(i, grads, batch)
        if not positions:
            continue
        full = [torch.zeros_like(r) for r in term_results[i]]
        for position, cotangent in zip(positions, cotangents):
            full[position] = cotangent
        (args, arguments), (vjp, adjoint) = argument_lists[i], programs[i]
        arg_shapes = [tuple(args[k].shape) for k in arguments]
        if tapes[i] is None:
            shapes = op._outputs.term_shapes(i, batch) + arg_shapes
            products = vjp(*args, *full, result_shapes=shapes)[len(full) :]
        else:
            products = adjoint(*args, *tapes[i], *full, result_shapes=arg_shapes)
        tapes[i] = None  # freed as soon as its adjoint ran
        if needs_x:
            gx = products[0] if gx is None else gx + products[0]
            products = products[1:]
        gt = [g if s is None else s + g for s, g in zip(gt, products)]
    return loss, gx, gt


class FusedLoss(torch.autograd.Function):
    """``FusedLoss.apply(op, loss_fn, reduction, directions, data, x,
    *model_tensors)``: the loss, its gradients computed in the forward."""

    @staticmethod
    def forward(ctx, op, loss_fn, reduction, directions, data, x, *model_tensors):
        needs = ctx.needs_input_grad[5:]
        needs_x = bool(needs[0])
        wanted = [
            j
            for j, (t, need) in enumerate(zip(model_tensors, needs[1:]))
            if need and t.is_floating_point()
        ]
        tensors = op._arguments(model_tensors, x)
        batch = int(x.shape[0])
        scale = 1.0 / batch if reduction == "mean" else 1.0
        xd = x.detach()
        parts = op._parts(batch)
        for size in {stop - start for start, stop in parts}:
            op._artifact_for(None if op.dynamic_batch else size)

        def run(part):
            return _part(
                op, loss_fn, scale, xd, tensors, directions, data, wanted, needs_x, part
            )

        results = run_parts(run, parts)
        loss = sum((r[0] for r in results[1:]), results[0][0])
        ctx.grads = gather_gradients(
            x,
            model_tensors,
            parts,
            [r[1] for r in results] if needs_x else None,
            [r[2] for r in results],
            wanted,
        )
        return loss.to(op.dtype)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():
            raise RuntimeError(
                "CompiledOperator.loss computes first-order gradients in its "
                "forward; for create_graph=True, build the loss from op(x)"
            )
        grads = [None if g is None else grad * g for g in ctx.grads]
        return (None, None, None, None, None, *grads)


def fused_loss(
    op: CompiledOperator,
    x: torch.Tensor,
    loss_fn: Callable[..., torch.Tensor],
    data: Sequence[torch.Tensor],
    reduction: str,
) -> torch.Tensor:
    """`CompiledOperator.loss`."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    original = x
    x = op._check_input(x)
    batch = int(x.shape[0])
    for i, d in enumerate(data):
        if not isinstance(d, torch.Tensor) or d.ndim < 1 or d.shape[0] != batch:
            shape = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
            raise ValueError(
                f"data[{i}] must be a tensor with the batch dimension first "
                f"({batch} data), got {shape}"
            )
    if batch == 0:
        raise ValueError("the loss of an empty batch is undefined")
    data = [d.detach() for d in data]
    model_tensors = op._model_tensors()
    if not records(original, model_tensors):
        outputs = op(x)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        per_datum = loss_fn(*outputs, x, *data)
        return per_datum.mean() if reduction == "mean" else per_datum.sum()
    directions = op._to_device(x, op._draw_directions())
    return FusedLoss.apply(
        op, loss_fn, reduction, directions, data, original, *model_tensors
    )


__all__: list[Any] = []  # internal to taylor_mlir.compile
