"""``taylor_mlir.compile``: PyTorch models to compiled differential operators.

Example::

    import taylor_mlir as tm
    lap = tm.compile(model, op="laplacian", example_inputs=x)   # x: [B, D]
    y = lap(x)                                                  # [B]

The model is exported with ``torch.export`` as a function of the input *and*
of its parameters and buffers (so that later weight updates are used without
recompiling), imported by torch-mlir (in a child process, see
`taylor_mlir.torch_import`), transformed by ``taylor-jet`` (+
``taylor-collapse``) once per derivative order of the operator, lowered and
JIT-compiled. See ``docs/guide/`` for each operator.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ._artifact import _Artifact, _unsupported
from ._export import _export, _Functional, _named_tensors, _program_key
from ._plans import OPERATORS, _plan
from .torch_import import TorchImportError, import_exported_program

_DTYPES = (torch.float32, torch.float64)


_CACHE: dict[str, _Artifact] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_STATS = {"hits": 0, "misses": 0}


def clear_compile_cache() -> None:
    """Forgets every compiled artifact."""
    with _CACHE_LOCK:
        _CACHE.clear()


def compile_cache_info() -> dict[str, int]:
    """``{"hits", "misses", "size"}`` of the compile cache."""
    with _CACHE_LOCK:
        return {**_CACHE_STATS, "size": len(_CACHE)}


class CompiledOperator:
    """A differential operator of a model, compiled; call it on ``[B, D]``
    inputs. Created by `compile`.

    Attributes:
      op, options: the operator and its options.
      dtype: the floating-point type it computes in.
      input_dim: D.
      batch: the batch size it accepts (None with ``dynamic_batch``).
      collapsed: whether collapsed Taylor mode was used.
      ir: the IR of every stage, ``{"imported", "taylor-jet",
        "taylor-collapse" (None when not collapsed), "lowered", "llvm"}``.
      pipeline: the pass pipeline, as one textual pipeline.
    """

    def __init__(self, model, op, options, x, collapsed, dynamic_batch):
        self.op = op
        self.options = dict(options)
        self.dtype = x.dtype
        self.input_dim = int(x.shape[1])
        self.batch = None if dynamic_batch else int(x.shape[0])
        self.collapsed = collapsed
        self._model_ref = (
            weakref.ref(model) if isinstance(model, torch.nn.Module) else None
        )
        self._tensor_names = [name for name, _ in _named_tensors(model)]
        self._tensor_specs = [(tuple(t.shape)) for _, t in _named_tensors(model)]
        self._plan = _plan(op, self.input_dim, options)
        named = _named_tensors(model)
        with torch.no_grad():
            out = _Functional(model, [n for n, _ in named])(
                x.detach(), *[t.detach().to(x.dtype) for _, t in named]
            )
        if not isinstance(out, torch.Tensor):
            raise ValueError(
                f"the model must return one tensor, got {type(out).__name__}"
            )
        if out.ndim not in (1, 2) or out.shape[0] != x.shape[0]:
            raise ValueError(
                f"the model must map [B, D] to [B], [B, 1] or [B, m]; for input "
                f"shape {tuple(x.shape)} it returned {tuple(out.shape)}"
            )
        self._output_tail = tuple(out.shape[1:])
        self._squeeze = self._output_tail == (1,)

        program = _export(model, x, _named_tensors(model), dynamic_batch)
        key = hashlib.sha256(
            repr(
                (
                    _program_key(program),
                    [t.key() for t in self._plan.terms],
                    collapsed,
                    dynamic_batch,
                )
            ).encode()
        ).hexdigest()
        with _CACHE_LOCK:
            artifact = _CACHE.get(key)
            _CACHE_STATS["hits" if artifact else "misses"] += 1
        if artifact is None:
            try:
                imported = import_exported_program(program)
            except TorchImportError as error:
                unsupported = _unsupported(error.nodes, str(error), str(error))
                raise (unsupported or error) from None
            artifact = _Artifact(imported, self._plan.terms, collapsed)
            with _CACHE_LOCK:
                _CACHE[key] = artifact
        self.artifact = artifact
        self.ir = artifact.ir
        self.pipeline = artifact.pipeline
        np_dtype = np.float64 if self.dtype == torch.float64 else np.float32
        self._weights = [
            None if w is None else torch.from_numpy(w.astype(np_dtype))
            for w in self._plan.weights
        ]
        self._fixed_directions = [
            (
                torch.from_numpy(np.ascontiguousarray(d, dtype=np_dtype))
                if isinstance(d, np.ndarray)
                else d
            )
            for d in self._plan.directions
        ]
        self._np_dtype = np_dtype

    # -- calling -------------------------------------------------------------

    def _check_input(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(
                f"expected an input of rank 2, [B, {self.input_dim}], "
                f"got rank {x.ndim} (shape {tuple(x.shape)})"
            )
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"expected {self.input_dim} input features (shape "
                f"[B, {self.input_dim}]), got {x.shape[1]} (shape {tuple(x.shape)})"
            )
        if x.dtype != self.dtype:
            raise ValueError(
                f"expected dtype {self.dtype} (the dtype of example_inputs), "
                f"got {x.dtype}"
            )
        if self.batch is not None and x.shape[0] != self.batch:
            raise ValueError(
                f"expected batch size {self.batch}, got {x.shape[0]}; compile with "
                "dynamic_batch=True to accept any batch size"
            )
        if x.device.type != "cpu":
            raise ValueError(f"expected a CPU tensor, got one on {x.device}")
        return x.detach()

    def _tensors(self) -> list[torch.Tensor]:
        """The model's current parameters and buffers, in the compiled order."""
        if self._model_ref is None:
            return []
        model = self._model_ref()
        if model is None:
            raise RuntimeError("the model this operator was compiled for is gone")
        current = dict(_named_tensors(model))
        tensors = []
        for name, shape in zip(self._tensor_names, self._tensor_specs):
            if name not in current:
                raise ValueError(f"the model no longer has the tensor {name!r}")
            value = current[name].detach()
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"the model's {name!r} has shape {tuple(value.shape)}; it was "
                    f"compiled with shape {shape} (recompile after changing it)"
                )
            tensors.append(value.to(self.dtype))
        return tensors

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x)
        tensors = self._tensors()
        batch = int(x.shape[0])
        out_shape = (batch, *self._output_tail)
        total = None
        for i, term in enumerate(self._plan.terms):
            args = [x]
            if term.seed == "broadcast":
                directions = self._fixed_directions[i]
                if callable(directions):
                    directions = torch.from_numpy(
                        np.ascontiguousarray(directions(), dtype=self._np_dtype)
                    )
                args.append(directions)
            if term.summed:
                args.append(self._weights[i])
            args += tensors
            shapes = [
                (
                    out_shape
                    if (k == 0 or term.summed)
                    else (term.num_directions, *out_shape)
                )
                for k in term.results
            ]
            results = self.artifact.jit.call(term.function, *args, result_shapes=shapes)
            if not term.summed:
                f0 = results[0].expand(term.num_directions, *out_shape)
                stacked = torch.stack([f0, *results[1:]])
                return stacked.squeeze(-1) if self._squeeze else stacked
            value = results[-1]
            if self._plan.value_factor[i]:
                value = value + self._plan.value_factor[i] * results[0]
            total = value if total is None else total + value
        return total.reshape(batch) if self._squeeze else total

    def __repr__(self) -> str:
        batch = "dynamic" if self.batch is None else self.batch
        return (
            f"CompiledOperator(op={self.op!r}, D={self.input_dim}, batch={batch}, "
            f"dtype={self.dtype}, collapsed={self.collapsed})"
        )


def compile(
    model: Callable[[torch.Tensor], torch.Tensor],
    op: str = "laplacian",
    *,
    example_inputs: torch.Tensor | Sequence[torch.Tensor],
    collapsed: bool = True,
    dynamic_batch: bool = False,
    **options: Any,
) -> CompiledOperator:
    """Compiles the differential operator ``op`` of ``model``.

    Args:
      model: a ``torch.nn.Module`` or function mapping ``[B, D]`` to ``[B]``,
        ``[B, 1]`` or ``[B, m]``; operators act per datum on the D features.
        Its parameters and buffers are read at each call (not baked in).
      op: ``"laplacian"``, ``"weighted_laplacian"`` (``sigma=[D, R]``),
        ``"biharmonic"``, ``"stochastic_laplacian"`` (``samples=``,
        ``distribution="rademacher"|"normal"``, ``seed=``: an int fixes the
        directions, a ``numpy.random.Generator`` draws fresh ones from its
        stream at each call, None (default) fresh ones from OS entropy),
        ``"stochastic_biharmonic"`` (``samples=``, ``seed=``), ``"linear"``
        (``terms={multi-index: coefficient}``) or ``"taylor"`` (``order=``,
        ``directions=[R, D]``).
      example_inputs: a ``[B, D]`` float32 or float64 tensor (or a 1-tuple
        of one); its dtype is the operator's.
      collapsed: collapsed Taylor mode (False: standard Taylor mode).
      dynamic_batch: accept any batch size with one compiled artifact.

    Returns a `CompiledOperator`: ``op(x)`` is ``[B]`` for scalar models,
    ``[B, m]`` for m outputs; for ``"taylor"``, ``[K+1, R, B(, m)]``.
    """
    if isinstance(example_inputs, (tuple, list)):
        if len(example_inputs) != 1:
            raise ValueError(
                f"example_inputs: expected one tensor [B, D], got {len(example_inputs)}"
            )
        (example_inputs,) = example_inputs
    x = example_inputs
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"example_inputs: expected a torch.Tensor, got {type(x).__name__}"
        )
    if x.ndim != 2:
        raise ValueError(
            f"example_inputs: expected rank 2, [B, D], got shape {tuple(x.shape)}"
        )
    if x.dtype not in _DTYPES:
        raise ValueError(
            f"example_inputs: expected dtype torch.float32 or torch.float64, "
            f"got {x.dtype}"
        )
    if not callable(model):
        raise TypeError(f"model must be callable, got {type(model).__name__}")
    return CompiledOperator(model, op, options, x, collapsed, dynamic_batch)


__all__ = [
    "OPERATORS",
    "CompiledOperator",
    "clear_compile_cache",
    "compile",
    "compile_cache_info",
]
