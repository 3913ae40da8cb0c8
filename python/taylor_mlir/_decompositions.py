"""Decompositions applied to every exported program before torch-mlir sees it.

Each entry replaces an aten op by aten ops whose torch-mlir lowering and
Taylor-mode rules are exact, for one of two reasons:

- torch-mlir lowers the op wrongly (``aten.gelu`` with ``approximate="tanh"``
  uses sqrt(2/π) computed with π ≈ 22/7, an error of 2e-4 in the constant);
- torch-mlir lowers the op outside linalg (into its TMTensor dialect) or not
  at all, and an exact formulation in ops it lowers to linalg exists.

`decompose` runs only this table (``ExportedProgram.run_decompositions``
with an explicit table decomposes nothing else); torch-mlir's own
decompositions run after it, in the import process. A decomposition returns
``NotImplemented`` for the overloads or arguments it leaves alone.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch

aten = torch.ops.aten

#: sqrt(2/π), as eager PyTorch computes it (``M_SQRT2 * M_2_SQRTPI * 0.5``).
_SQRT_2_OVER_PI = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5


def _gelu(x: torch.Tensor, approximate: str = "none"):
    """GELU's tanh approximation with the exact constant (torch-mlir's
    lowering uses π ≈ 22/7); the exact GELU is left to torch-mlir."""
    if approximate != "tanh":
        return NotImplemented
    inner = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
    return 0.5 * x * (1.0 + torch.tanh(inner))


#: aten op overload -> decomposition.
DECOMPOSITIONS: dict[torch._ops.OperatorBase, Callable] = {
    aten.gelu.default: _gelu,
}


def decompose(program: torch.export.ExportedProgram) -> torch.export.ExportedProgram:
    """``program`` with the ops of `DECOMPOSITIONS` decomposed (the program
    itself if it calls none of them)."""
    targets = {
        node.target
        for module in program.graph_module.modules()
        if isinstance(module, torch.fx.GraphModule)
        for node in module.graph.nodes
        if node.op == "call_function"
    }
    if not targets & DECOMPOSITIONS.keys():
        return program
    with warnings.catch_warnings():
        # torch's own pytree deprecation notices, not about the model.
        warnings.simplefilter("ignore", FutureWarning)
        return program.run_decompositions(DECOMPOSITIONS)


__all__: list[str] = []  # internal to taylor_mlir.torch_import
