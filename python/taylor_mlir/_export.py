"""Export for `taylor_mlir.compile`: the model as a function of its input,
parameters and buffers (so that they are runtime inputs of the compiled
code), and a digest of the exported program for the compile cache."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import torch


class _Functional(torch.nn.Module):
    """``forward(x, *tensors)``: the user's model with its parameters and
    buffers replaced by ``tensors`` (``torch.func.functional_call``)."""

    def __init__(self, model: Callable, names: Sequence[str]):
        super().__init__()
        # Not registered as a submodule: its tensors must not be lifted.
        object.__setattr__(self, "_model", model)
        self._names = tuple(names)

    def forward(self, x, *tensors):
        if not self._names:
            return self._model(x)
        return torch.func.functional_call(
            self._model, dict(zip(self._names, tensors)), (x,), strict=True
        )


def _named_tensors(model: Any) -> list[tuple[str, torch.Tensor]]:
    if not isinstance(model, torch.nn.Module):
        return []
    return list(model.named_parameters()) + list(model.named_buffers())


def _export(model, x: torch.Tensor, tensors, dynamic_batch: bool):
    names = [name for name, _ in tensors]
    values = [t.detach().to(x.dtype) for _, t in tensors]
    example = x.detach()
    dynamic_shapes = None
    if dynamic_batch:
        if example.shape[0] < 2:  # torch.export specializes sizes 0 and 1
            example = torch.zeros((2, example.shape[1]), dtype=x.dtype)
        dynamic_shapes = (
            {0: torch.export.Dim("batch", min=1)},
            tuple(None for _ in values),
        )
    with torch.no_grad():
        return torch.export.export(
            _Functional(model, names),
            (example, *values),
            dynamic_shapes=dynamic_shapes,
        )


def _program_key(program) -> str:
    """A digest of everything in an ExportedProgram that torch-mlir's output
    depends on (the graph, its signature, constant tensors' values)."""
    digest = hashlib.sha256()
    digest.update(program.graph_module.code.encode())
    digest.update(str(program.graph_signature).encode())
    for node in program.graph.nodes:
        value = node.meta.get("val")
        if value is not None:
            digest.update(f"{node.name}:{value}".encode())
    for name, value in sorted(program.constants.items()):
        digest.update(name.encode())
        if isinstance(value, torch.Tensor):
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
