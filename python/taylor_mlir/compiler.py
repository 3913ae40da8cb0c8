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

import copy
import inspect
import pickle
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from . import _autograd, _fused, _native, _program, compile_cache, threads
from ._artifact import _Artifact
from ._artifacts import Artifacts
from ._export import _FunctionModule, as_module, named_tensors
from ._model_tensors import ModelTensors
from ._outputs import Outputs
from ._plans import OPERATORS, _plan, with_outputs
from .compile_cache import clear_compile_cache, compile_cache_info

_DTYPES = (torch.float32, torch.float64)


#: Serializes compiles, imports and the caches (`compile_cache.LOCK`).
_COMPILE_LOCK = compile_cache.LOCK


class CompiledOperator:
    """A differential operator of a model, compiled; call it on ``[B, D]``
    inputs. Created by `compile`.

    Without ``dynamic_batch``, code is specialized for each batch size: the
    first call with a new batch size compiles (through the cache) for it.

    Attributes:
      op, options: the operator and its options.
      dtype: the floating-point type it computes in.
      input_dim: D.
      batch: the batch size of ``example_inputs`` (None with
        ``dynamic_batch``).
      collapsed: whether collapsed Taylor mode was used.
      artifact: the compiled artifact for ``example_inputs``.
      ir: the IR of its every stage (read-only), ``{"imported",
        "taylor-jet", "taylor-collapse" (None when not collapsed),
        "lowered", "llvm"}``; for ``device="cuda"`` also ``"gpu-mapped"``
        (loops mapped onto blocks and threads), ``"ptx-sm_80"``,
        ``"ptx-sm_90"`` (the kernels) and ``"emulated-llvm"`` (the
        GPU-mapped program for the CPU), ``"llvm"`` being the host code.
      device: ``"cpu"`` or ``"cuda"``; emulate: see `compile`.
      pipeline: the pass pipeline (a `_pipelines.Pipeline` of registered
        pipelines; ``str()`` gives its text, ``.command()`` the taylor-opt
        command).
    """

    def __init__(
        self,
        model,
        op,
        options,
        x,
        collapsed,
        dynamic_batch,
        outputs,
        check=True,
        cache=None,
        device="cpu",
        emulate=False,
    ):
        self.op = op
        #: What the code is compiled for: ``"cpu"`` or ``"cuda"``.
        self.device = device
        #: For ``"cuda"``: calls take CPU tensors and run the GPU-mapped
        #: program on the CPU (its kernels as loops), not on a GPU.
        self.emulate = bool(emulate)
        self._gpu = device == "cuda" and not self.emulate
        self._weights_device = torch.device("cpu")
        self.options = dict(options)
        self.dtype = x.dtype
        self.input_dim = int(x.shape[1])
        self.batch = None if dynamic_batch else int(x.shape[0])
        self.collapsed = collapsed
        self.dynamic_batch = dynamic_batch
        #: Whether each artifact compiled for an example input is checked
        #: against eager PyTorch (`taylor_mlir._check`).
        self.check = bool(check)
        self._plan = with_outputs(
            _plan(op, self.input_dim, options), op, self.input_dim, outputs
        )
        #: What a call returns: the names of ``outputs`` (``"operator"``,
        #: ``"value"``, ``"gradient"``); one tensor when it is the operator.
        self.outputs = self._plan.outputs
        self._module = as_module(model)
        tensors = named_tensors(self._module)
        #: The model's tensors, as each call finds and passes them.
        self._tensors = ModelTensors(self._module, tensors, self.dtype)
        self._output_tail: tuple[int, ...] | None = None
        self._artifacts: dict[int | None, _Artifact] = {}
        self._bytes_per_datum = self._coefficient_bytes_per_datum(tensors, x)
        #: The `compile` option (None: the default), kept for pickling.
        self._cache = cache
        self._resolver = Artifacts(
            self._module,
            self._plan.terms,
            self.dtype,
            self.input_dim,
            collapsed,
            dynamic_batch,
            self.check,
            cache,
            target=device,
        )
        # Compiled for the parts of the batch a call computes (`threads`).
        sizes = [self.batch] if dynamic_batch else self._part_sizes(self.batch)
        self.artifact = self._artifact_for(sizes[0], x[: sizes[0]])
        for size in sizes[1:]:
            self._artifact_for(size, x[:size])
        self.ir = MappingProxyType(self.artifact.ir)
        self.pipeline = self.artifact.pipeline
        self._np_dtype = np.float64 if self.dtype == torch.float64 else np.float32
        weights = [
            None if w is None else torch.from_numpy(w.astype(self._np_dtype))
            for w in self._plan.weights
        ]
        #: The jet functions' arguments and results, and the outputs.
        self._outputs = Outputs(
            self._plan, self.input_dim, self.dtype, weights, self._output_tail
        )
        self._fixed_directions = [
            (
                torch.from_numpy(np.ascontiguousarray(d, dtype=self._np_dtype))
                if isinstance(d, np.ndarray)
                else d
            )
            for d in self._plan.directions
        ]

    def _artifact_for(self, batch: int | None, example: torch.Tensor | None = None):
        """The artifact for ``batch`` (None: any batch size), compiled or
        taken from the caches (`taylor_mlir._artifacts`); checked against
        eager PyTorch when compiled for a real ``example``."""
        if batch in self._artifacts:
            return self._artifacts[batch]
        artifact, tail = self._resolver.get(batch, example)
        if self._output_tail is None:
            self._output_tail = tail
        self._artifacts[batch] = artifact
        return artifact

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
        if self._gpu and x.device.type != "cuda":
            from . import _cuda

            _cuda.driver()  # without a GPU, say so first
            raise ValueError(
                f"expected a CUDA tensor (compiled with device='cuda'), got one "
                f"on {x.device}"
            )
        if not self._gpu and x.device.type != "cpu":
            how = (
                " (compiled with emulate=True: the GPU-mapped program runs on the "
                "CPU)"
                if self.emulate
                else " (compile with device='cuda' for CUDA tensors)"
            )
            raise ValueError(f"expected a CPU tensor{how}, got one on {x.device}")
        return x.detach().contiguous()

    def _arguments(self, model_tensors: list[torch.Tensor], x: torch.Tensor) -> list:
        """The model's tensors as the compiled code's arguments (numpy
        arrays for CPU code, tensors on the GPU for GPU code), after
        checking that they are on ``x``'s device."""
        self._tensors.check_device(model_tensors, x.device)
        if self._gpu:
            return self._tensors.on_device(model_tensors)
        return self._tensors.arrays(model_tensors)

    def _to_device(self, x: torch.Tensor, directions: list) -> list:
        """GPU code: the directions and the operator's weights moved to
        ``x``'s device (the weights once)."""
        if not self._gpu:
            return directions
        if self._weights_device != x.device:
            self._outputs.weights = [
                None if w is None else w.to(x.device) for w in self._outputs.weights
            ]
            self._weights_device = x.device
        return [None if d is None else d.to(x.device) for d in directions]

    def _coefficient_bytes_per_datum(self, tensors, x: torch.Tensor) -> int:
        """Estimated size of one datum's largest coefficient tensor: the
        coefficients a direction carries × the directions × the model's
        widest feature dimension (of its parameters) × the element size."""
        width = max(
            [self.input_dim]
            + [max(t.shape) for _, t in tensors if t.is_floating_point() and t.ndim]
        )
        coefficients = max(
            t.num_directions * (max(t.order - 1, 1) if self.collapsed else t.order)
            for t in self._plan.terms
        )
        return coefficients * width * x.element_size()

    def _parts(self, batch: int) -> list[tuple[int, int]]:
        if self.device == "cuda":  # one launch per kernel for the whole batch
            return [(0, batch)]
        return threads.split(batch, bytes_per_datum=self._bytes_per_datum)

    def _part_sizes(self, batch: int) -> list[int]:
        return sorted({stop - start for start, stop in self._parts(batch)})

    def _model_tensors(self) -> list[torch.Tensor]:
        """The model's current parameters and buffers as they are (for
        autograd), in the compiled order, checked against the compiled
        shapes."""
        return self._tensors.current()

    def _draw_directions(self) -> list[torch.Tensor | None]:
        """The directions of each term for one call (drawn once per call,
        shared by every part of the batch and by the backward pass)."""
        directions = []
        for i, term in enumerate(self._plan.terms):
            d = self._fixed_directions[i] if term.seed == "broadcast" else None
            if callable(d):
                d = torch.from_numpy(np.ascontiguousarray(d(), dtype=self._np_dtype))
            directions.append(d)
        return directions

    def __call__(self, x: torch.Tensor):
        original = x
        x = self._check_input(x)
        if int(x.shape[0]) == 0:
            return self._unwrap(self._outputs.empty())
        model_tensors = self._model_tensors()
        directions = self._to_device(x, self._draw_directions())
        if _autograd.records(original, model_tensors):
            return self._unwrap(
                _autograd.OperatorFunction.apply(
                    self, directions, original, *model_tensors
                )
            )
        # numpy views made once per call, not once per part.
        tensors = self._arguments(model_tensors, x)
        return self._unwrap(self._evaluate(x, tensors, directions))

    def _unwrap(self, outputs: tuple):
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _evaluate(
        self,
        x: torch.Tensor,
        tensors: list[Any],
        directions: list[torch.Tensor | None],
        differentiable: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        """The outputs on a batch, split into parts on the thread pool (in
        order on this thread when ``differentiable``: the calls are then
        recorded for autograd, see `_program.apply`)."""
        batch = int(x.shape[0])
        parts = self._parts(batch)
        for size in {stop - start for start, stop in parts}:
            self._artifact_for(None if self.dynamic_batch else size)
        if differentiable:
            return self._outputs.combine_parts(
                [
                    self._run(x[a:b], tensors, directions, differentiable=True)
                    for a, b in parts
                ]
            )
        return self._execute(x, tensors, directions, parts)

    def _execute(
        self,
        x: torch.Tensor,
        tensors: list[Any],
        directions: list[torch.Tensor | None],
        parts: list[tuple[int, int]],
    ) -> tuple[torch.Tensor, ...]:
        """The outputs on a batch: every jet function on every part, as one
        run of the native runtime (the jobs spread over its threads, the GIL
        released until all are done)."""
        if self._gpu:
            return self._execute_gpu(x, tensors, directions)
        # numpy views: the runtime reads them through the buffer protocol,
        # cheaper than torch's DLPack.
        x = x.numpy()
        directions = [None if d is None else d.numpy() for d in directions]
        jobs, results = [], []
        for start, stop in parts:
            size = stop - start
            jit = self._artifact_for(None if self.dynamic_batch else size).jit
            part = x[start:stop]
            term_results = []
            for i, term in enumerate(self._plan.terms):
                outputs = [
                    np.empty(shape, dtype=self._np_dtype)
                    for shape in self._outputs.term_shapes(i, size)
                ]
                args = [
                    a.numpy() if isinstance(a, torch.Tensor) else a
                    for a in self._outputs.term_args(i, part, tensors, directions)
                ]
                jobs.append(jit.job(term.function, [*args, *outputs]))
                term_results.append([torch.from_numpy(out) for out in outputs])
            results.append(term_results)
        _native.run(jobs, self.artifact.jit.pool)
        return self._outputs.combine_parts(
            [
                self._outputs.combine_terms(terms, stop - start)
                for terms, (start, stop) in zip(results, parts)
            ]
        )

    def _execute_gpu(
        self,
        x: torch.Tensor,
        tensors: list[torch.Tensor],
        directions: list[torch.Tensor | None],
    ) -> tuple[torch.Tensor, ...]:
        """`_execute` on the GPU: every jet function on the whole batch, on
        the current stream of ``x``'s device (results allocated there)."""
        batch = int(x.shape[0])
        artifact = self._artifact_for(None if self.dynamic_batch else batch)
        calls, term_results = [], []
        for i, term in enumerate(self._plan.terms):
            outputs = [
                torch.empty(shape, dtype=self.dtype, device=x.device)
                for shape in self._outputs.term_shapes(i, batch)
            ]
            args = self._outputs.term_args(i, x, tensors, directions)
            calls.append((term.function, [*args, *outputs]))
            term_results.append(outputs)
        artifact.cuda.run(calls, x.device)
        return self._outputs.combine_terms(term_results, batch)

    def _run(
        self,
        x: torch.Tensor,
        tensors: list[Any],
        directions: list[torch.Tensor | None],
        differentiable: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        """The outputs on one batch (or part of one), on this thread."""
        batch = int(x.shape[0])
        artifact = self._artifact_for(None if self.dynamic_batch else batch)
        term_results = []
        for i, term in enumerate(self._plan.terms):
            args = self._outputs.term_args(i, x, tensors, directions)
            shapes = self._outputs.term_shapes(i, batch)
            if differentiable:
                results = _program.apply(artifact.programs[i], shapes, *args)
            else:
                results = artifact.programs[i](*args, result_shapes=shapes)
            term_results.append(results)
        return self._outputs.combine_terms(term_results, batch)

    def loss(
        self,
        x: torch.Tensor,
        loss_fn: Callable[..., torch.Tensor],
        *data: torch.Tensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """The mean (or sum) over the data of ``loss_fn(*outputs, x, *data)``,
        a per-datum loss of this operator's outputs, with its gradient
        computed in the same pass.

        ``loss_fn`` receives the outputs (`outputs`), ``x`` and ``data`` (tensors
        with the batch dimension first) of a part of the batch and returns one
        loss per datum of the part. The returned scalar is differentiable
        like ``op(x)``: ``backward()`` fills the gradients of the model's
        tensors and of ``x``. Unlike ``loss_fn(op(x), ...).backward()``, which
        recomputes the forward inside the backward, the forward and the
        backward run part by part in one pass: nothing is computed twice, and
        the working memory is one part per thread. The gradient flows through
        the operator's outputs only (tensors ``loss_fn`` reads otherwise are
        constants); a second backward (``create_graph``) is not available.

        Example, the PINN residual ``Δu + f``::

            loss = lap.loss(x, lambda lap_u, x, f: (lap_u + f) ** 2, f)
            loss.backward()
        """
        return _fused.fused_loss(self, x, loss_fn, data, reduction)

    def release_buffers(self) -> None:
        """Frees the working memory kept for the next calls.

        Compiled code keeps the buffers a call frees for the next calls (the
        process's `jit.shared_buffer_pool()`, shared by every compiled
        operator): from the second call on it allocates nothing and
        page-faults nothing, at the price of holding the peak working memory
        between calls. This returns it (for every operator).
        """
        for artifact in self._artifacts.values():
            artifact.jit.release_buffers()

    # -- copying and pickling ------------------------------------------------

    def __copy__(self) -> CompiledOperator:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._artifacts = dict(self._artifacts)
        return new

    def __deepcopy__(self, memo: dict) -> CompiledOperator:
        """A copy on a deep copy of the model (``copy.deepcopy((model, op))``:
        on the copied model) that shares the compiled code: it is immutable,
        and the model's tensors are its arguments."""
        for artifact in self._artifacts.values():
            memo[id(artifact)] = artifact
        memo[id(self.ir)] = self.ir
        new = object.__new__(type(self))
        memo[id(self)] = new
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def __reduce__(self):
        """Pickles the recipe (the model, the operator and its options), not
        the compiled code, which cannot be: unpickling compiles again (in a
        process that has compiled the same model, the compile cache leaves
        only the export). Pickle the model with the operator
        (``pickle.dumps((model, op))``) to get them back together."""
        module = self._module
        model = module._function if isinstance(module, _FunctionModule) else module
        if inspect.isfunction(model):
            try:
                pickle.dumps(model)
            except Exception as error:
                raise TypeError(
                    f"cannot pickle this CompiledOperator: it pickles as its "
                    f"model and options (compiled code cannot be pickled, it is "
                    f"compiled again when unpickled), and its model, the function "
                    f"{model.__qualname__!r}, cannot be pickled ({error}); compile "
                    f"a torch.nn.Module or a module-level function, or pickle the "
                    f"model and compile it after loading"
                ) from None
        recipe = {
            "model": model,
            "op": self.op,
            "options": self.options,
            "dtype": self.dtype,
            "input_dim": self.input_dim,
            "batch": self.batch,
            "collapsed": self.collapsed,
            "dynamic_batch": self.dynamic_batch,
            "outputs": None if self.outputs == ("operator",) else self.outputs,
            "check": self.check,
            "cache": self._cache,
            "device": self.device,
            "emulate": self.emulate,
        }
        return (_unpickle_operator, (recipe,))

    def __repr__(self) -> str:
        batch = "dynamic" if self.batch is None else self.batch
        return (
            f"CompiledOperator(op={self.op!r}, D={self.input_dim}, batch={batch}, "
            f"dtype={self.dtype}, collapsed={self.collapsed}, device={self.device!r}"
            + (", emulate=True)" if self.emulate else ")")
        )


def _unpickle_operator(recipe: dict[str, Any]) -> CompiledOperator:
    """A pickled `CompiledOperator`, compiled again (on a fixed random
    example: only its shape and dtype matter)."""
    batch = recipe["batch"]
    example = torch.randn(
        (2 if batch is None else batch, recipe["input_dim"]),
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    ).to(recipe["dtype"])
    return CompiledOperator(
        recipe["model"],
        recipe["op"],
        recipe["options"],
        example,
        recipe["collapsed"],
        recipe["dynamic_batch"],
        recipe["outputs"],
        recipe["check"],
        recipe.get("cache"),
        recipe.get("device", "cpu"),
        recipe.get("emulate", False),
    )


def compile(
    model: Callable[[torch.Tensor], torch.Tensor],
    op: str = "laplacian",
    *,
    example_inputs: torch.Tensor | Sequence[torch.Tensor],
    collapsed: bool = True,
    dynamic_batch: bool = False,
    outputs: Sequence[str] | None = None,
    check: bool = True,
    cache: bool | None = None,
    device: str | torch.device | None = None,
    emulate: bool = False,
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
      dynamic_batch: one compiled artifact for every batch size. Without it
        (default), the code is specialized to each batch size, compiled on
        the first call with that size.
      outputs: what a call returns, a tuple of ``"value"`` (u, ``[B(, m)]``),
        ``"gradient"`` (∇u, ``[B(, m), D]``) and ``"operator"`` (or the
        operator's name), in that order; default: the operator alone. For
        the Laplacian, u and ∇u are Taylor coefficients the operator
        computes anyway (one pass, nothing recomputed).
      check: compare the compiled value and first Taylor coefficient (the
        derivative along one direction) with eager PyTorch on
        ``example_inputs`` once, after compiling, and raise `SelfCheckError`
        naming the wrong stage if they differ beyond rounding (float64:
        1e-8, float32: 2e-4, relative to the largest magnitude). Skipped
        for models that draw random numbers. False skips it.
      cache: read and write the disk compile cache
        (`taylor_mlir.compile_cache`: a script started again skips
        torch.export and torch-mlir); default: on, unless
        ``TAYLOR_MLIR_CACHE=0`` or ``compile_cache.DISK_CACHE = False``.
      device: ``"cpu"`` or ``"cuda"`` (default: the device of
        ``example_inputs``). For ``"cuda"`` the code is GPU kernels (PTX for
        sm_80 and sm_90, in ``op.ir``) and cuBLAS calls, run on CUDA tensors
        on torch's current stream (docs/gpu.md). Compiling needs no GPU;
        calling does.
      emulate: with ``device="cuda"``: calls take CPU tensors and run the
        GPU-mapped program on the CPU, its kernels as loops over the same
        blocks and threads (to check the GPU mapping where no GPU is).

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
    device = _device_of(device, x)
    if emulate and device != "cuda":
        raise ValueError("emulate=True runs GPU code on the CPU: pass device='cuda'")
    if isinstance(
        model,
        (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel),
    ):
        raise TypeError(
            f"compile the module that {type(model).__name__} wraps "
            "(model.module), and call the compiled operator inside the forward of "
            "the module the wrapper wraps, so that the wrapper averages its "
            "gradients (docs/guide/training.md, DistributedDataParallel)"
        )
    return CompiledOperator(
        model,
        op,
        options,
        x,
        collapsed,
        dynamic_batch,
        outputs,
        check,
        cache,
        device,
        emulate,
    )


def _device_of(device: str | torch.device | None, x: torch.Tensor) -> str:
    """``"cpu"`` or ``"cuda"``: the ``device`` asked for, or ``x``'s."""
    if device is None:
        device = x.device
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}") from None
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    return kind


__all__ = [
    "OPERATORS",
    "CompiledOperator",
    "clear_compile_cache",
    "compile",
    "compile_cache_info",
]
