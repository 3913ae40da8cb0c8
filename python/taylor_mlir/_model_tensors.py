"""The parameters and buffers of a compiled model, as each call passes them.

A compiled operator takes the model's tensors as arguments (weight updates
need no recompile). `ModelTensors` finds the current ones on every call —
by the paths recorded at compile time (two dictionary lookups per tensor,
instead of walking every module with ``named_parameters``), falling back to
the full walk, which names what is missing, when a path no longer leads to a
tensor — checks their shapes, and gives the arrays the runtime reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._export import TRACE_LOCK, as_input, named_tensors


class ModelTensors:
    """The tensors of ``module`` in compiled order (parameters, then
    buffers), with the names and shapes they were compiled with."""

    def __init__(
        self,
        module: torch.nn.Module,
        named: Sequence[tuple[str, torch.Tensor]],
        dtype: torch.dtype,
    ):
        self.module = module
        self.dtype = dtype
        self.names = [name for name, _ in named]
        self.shapes = [tuple(t.shape) for _, t in named]
        #: Per tensor: the module names leading to its owner, and its name.
        self._paths = [tuple(name.split(".")) for name in self.names]

    def current(self) -> list[torch.Tensor]:
        """The model's tensors as they are now (for autograd), checked
        against the compiled shapes."""
        tensors = self._by_paths()
        if tensors is None:
            found = dict(named_tensors(self.module))
            tensors = []
            for name in self.names:
                if name not in found:
                    raise ValueError(f"the model no longer has the tensor {name!r}")
                tensors.append(found[name])
        for name, shape, value in zip(self.names, self.shapes, tensors):
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"the model's {name!r} has shape {tuple(value.shape)}; it was "
                    f"compiled with shape {shape} (recompile after changing it)"
                )
        return tensors

    def _by_paths(self) -> list[torch.Tensor] | None:
        """The tensors at the recorded paths; None if one is missing."""
        tensors = []
        with TRACE_LOCK:  # (not the fake tensors of an export in progress)
            for path in self._paths:
                owner = self.module
                for step in path[:-1]:
                    owner = owner._modules.get(step)
                    if owner is None:
                        return None
                leaf = path[-1]
                value = owner._parameters.get(leaf)
                if value is None:
                    value = owner._buffers.get(leaf)
                if value is None:
                    return None
                tensors.append(value)
        return tensors

    def check_device(
        self, tensors: Sequence[torch.Tensor], device: torch.device
    ) -> None:
        """Raises ``ValueError`` naming the first of ``tensors`` that is not
        on ``device`` (the device of the input; nothing is moved)."""
        for name, value in zip(self.names, tensors):
            if value.device != device:
                raise ValueError(
                    f"the model's {name!r} is on {value.device}, the input x is on "
                    f"{device}: move the model and x to one device "
                    f"(model.to({str(device)!r}))"
                )

    def on_device(self, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``tensors`` as arguments of GPU code: contiguous tensors (on their
        device), floating-point ones in the operator's dtype."""
        return [as_input(t, self.dtype) for t in tensors]

    def arrays(self, tensors: Sequence[torch.Tensor]) -> list[np.ndarray]:
        """``tensors`` as the compiled code's arguments: numpy views of
        floating-point tensors in the operator's dtype (a converted copy
        otherwise), C-contiguous."""
        arrays = []
        for t in tensors:
            if (
                t.device.type == "cpu"
                and t.is_contiguous()
                and (t.dtype == self.dtype or not t.is_floating_point())
            ):
                arrays.append(t.detach().numpy())
            else:
                arrays.append(as_input(t, self.dtype).cpu().numpy())
        return arrays


__all__ = ["ModelTensors"]
