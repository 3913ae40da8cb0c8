"""The outputs of a compiled operator: the arguments and result shapes of
each jet function, and how their results become the operator's outputs (and
the outputs' gradients, the cotangents of the results).

A plan (`taylor_mlir._plans`) computes an operator with one or more jet
functions ("terms"), each on every part of the batch. `Outputs` is the one
place that knows their layouts: ``value`` ``[B(, m)]``, ``gradient``
``[B(, m), D]``, ``operator`` ``[B(, m)]`` (summed terms) or ``[K+1, R,
B(, m)]`` (the Taylor coefficients of ``"taylor"``).
"""

from __future__ import annotations

from typing import Any

import torch

from ._plans import _Plan


class Outputs:
    """The output layout of an operator.

    Args:
      plan: the operator's plan (terms, outputs, value/gradient terms).
      input_dim: D.
      dtype: the floating-point type of the outputs.
      weights: per term, the weights of a summed top coefficient (a tensor)
        or None.
      tail: the model's output shape after the batch dimension.
    """

    def __init__(
        self,
        plan: _Plan,
        input_dim: int,
        dtype: torch.dtype,
        weights: list[torch.Tensor | None],
        tail: tuple[int, ...],
    ):
        self.plan = plan
        self.outputs = plan.outputs
        self.input_dim = input_dim
        self.dtype = dtype
        self.weights = weights
        self.tail = tail
        #: A model with one output per datum gives ``[B]``, not ``[B, 1]``.
        self.squeeze = tail == (1,)

    def shape(self, name: str, batch: int) -> tuple[int, ...]:
        """The shape of output ``name`` for ``batch`` data."""
        tail = () if self.squeeze else self.tail
        if name == "value":
            return (batch, *tail)
        if name == "gradient":
            return (batch, *tail, self.input_dim)
        first = self.plan.terms[0]
        if not first.summed:
            return (first.order + 1, first.num_directions, batch, *tail)
        return (batch, *tail)

    def empty(self) -> tuple[torch.Tensor, ...]:
        """The outputs of an empty batch."""
        return tuple(
            torch.empty(self.shape(name, 0), dtype=self.dtype) for name in self.outputs
        )

    def batch_dim(self, name: str) -> int:
        """The batch dimension of output ``name``: first, or third for
        "taylor"'s ``[K+1, R, B(, m)]``."""
        return 2 if name == "operator" and not self.plan.terms[0].summed else 0

    def combine_parts(self, results: list[tuple]) -> tuple[torch.Tensor, ...]:
        """The outputs of a batch from those of its parts, in order."""
        if len(results) == 1:
            return results[0]
        return tuple(
            torch.cat([r[j] for r in results], dim=self.batch_dim(name))
            for j, name in enumerate(self.outputs)
        )

    def term_args(self, i: int, x, tensors, directions) -> list[Any]:
        """The arguments of term ``i``'s jet function."""
        term = self.plan.terms[i]
        args = [x]
        if term.seed == "broadcast":
            args.append(directions[i])
        if term.summed:
            args.append(self.weights[i])
        return args + list(tensors)

    def term_shapes(self, i: int, batch: int) -> list[tuple[int, ...]]:
        """The shapes of term ``i``'s results for ``batch`` data."""
        term = self.plan.terms[i]
        out_shape = (batch, *self.tail)
        return [
            (
                out_shape
                if k == 0 or (term.summed and k == term.order)
                else (term.num_directions, *out_shape)
            )
            for k in term.results
        ]

    def combine_terms(
        self, term_results: list[list[torch.Tensor]], batch: int
    ) -> tuple[torch.Tensor, ...]:
        """The outputs from the results of every jet function on a part."""
        plan = self.plan
        found: dict[str, torch.Tensor] = {}
        total = None
        for i, (term, results) in enumerate(zip(plan.terms, term_results)):
            if i == plan.value_term:
                found["value"] = results[term.results.index(0)]
            if i == plan.gradient_term:
                # f_1 along the unit directions: [D, B(, m)] -> [B(, m), D].
                found["gradient"] = results[term.results.index(1)].movedim(0, -1)
            if i not in self.plan.operator_terms:
                continue
            if not term.summed:
                f0 = results[0].expand(term.num_directions, *results[0].shape)
                total = torch.stack([f0, *results[1:]])
                continue
            value = results[-1]
            if plan.value_factor[i]:
                value = value + plan.value_factor[i] * results[0]
            total = value if total is None else total + value
        found["operator"] = total
        return tuple(
            found[name].reshape(self.shape(name, batch)) for name in self.outputs
        )

    def cotangents(
        self, i: int, grads: dict[str, torch.Tensor], batch: int
    ) -> tuple[list[int], list]:
        """The results of term ``i`` that receive cotangents, and the
        cotangents, from the gradients of the outputs on a part (``grads``:
        output name -> gradient, absent where none flows back)."""
        term, plan = self.plan.terms[i], self.plan
        tail = self.tail
        position = {k: j for j, k in enumerate(term.results)}
        cotangents: dict[int, torch.Tensor] = {}

        def add(k: int, value: torch.Tensor) -> None:
            j = position[k]
            cotangents[j] = value if j not in cotangents else cotangents[j] + value

        grad = grads.get("operator")
        if grad is not None and i in self.plan.operator_terms:
            if not term.summed:
                grad = grad.reshape(term.order + 1, term.num_directions, batch, *tail)
                add(0, grad[0].sum(0))
                for k in term.results[1:]:
                    add(k, grad[k])
            else:
                top = grad.reshape(batch, *tail)
                add(term.order, top)
                if plan.value_factor[i]:
                    add(0, plan.value_factor[i] * top)
        if grads.get("value") is not None and i == plan.value_term:
            add(0, grads["value"].reshape(batch, *tail))
        if grads.get("gradient") is not None and i == plan.gradient_term:
            gradient = grads["gradient"].reshape(batch, *tail, self.input_dim)
            add(1, gradient.movedim(-1, 0))
        results = sorted(cotangents)
        return results, [cotangents[j].contiguous() for j in results]


__all__ = ["Outputs"]
