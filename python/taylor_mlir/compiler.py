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
import re
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import ir, operators
from .errors import CompilationError, UnsupportedOperationError, run_pipeline
from .jit import DEFAULT_PIPELINE, JitModule
from .torch_import import (
    NODE_LOCATION_PREFIX,
    ImportedModule,
    TorchImportError,
    import_exported_program,
)

#: The operators `compile` knows, and the options each takes.
OPERATORS: dict[str, tuple[str, ...]] = {
    "laplacian": (),
    "weighted_laplacian": ("sigma",),
    "biharmonic": (),
    "stochastic_laplacian": ("samples", "distribution", "seed"),
    "stochastic_biharmonic": ("samples", "seed"),
    "linear": ("terms",),
    "taylor": ("order", "directions"),
}

_DTYPES = (torch.float32, torch.float64)


# ---------------------------------------------------------------------------
# Operator plans: what to compute, as directional sums per order.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    """One jet function of the compiled module.

    ``seed`` is ``"identity"`` (unit directions, generated in the function),
    ``"broadcast"`` (directions ``[R, D]`` passed at each call) ; ``weights``
    are passed at each call when ``summed``. ``results`` are the orders of
    the coefficients the function returns.
    """

    function: str
    order: int
    num_directions: int
    seed: str
    summed: bool
    results: tuple[int, ...]

    def key(self) -> tuple:
        return (self.order, self.num_directions, self.seed, self.summed, self.results)


@dataclass
class _Plan:
    """Terms plus how to get their directions and weights at each call."""

    terms: list[_Term]
    #: Per term: directions ``[R, D]`` (numpy) or a callable drawing them,
    #: None for identity seeds.
    directions: list[Any]
    #: Per term: weights ``[R]`` (numpy) for summed terms, else None.
    weights: list[np.ndarray | None]
    #: Per term: the factor of its ``f_0`` added to the result (order-0
    #: terms of ``linear``), else 0.
    value_factor: list[float]


def _identity(directions: np.ndarray) -> bool:
    r, d = directions.shape
    return r == d and np.array_equal(directions, np.eye(d))


def _sum_plan(sums: Sequence[operators.DirectionalSum], value_factor: float = 0.0):
    terms, directions, weights, factors = [], [], [], []
    for i, s in enumerate(sums):
        identity = _identity(s.directions)
        results = (0, s.order) if (i == 0 and value_factor) else (s.order,)
        terms.append(
            _Term(
                f"term{i}_order{s.order}",
                s.order,
                s.num_directions,
                "identity" if identity else "broadcast",
                True,
                results,
            )
        )
        directions.append(None if identity else s.directions)
        weights.append(s.weights)
        factors.append(value_factor if i == 0 else 0.0)
    return _Plan(terms, directions, weights, factors)


def _option(options: Mapping[str, Any], name: str, op: str, default: Any = None):
    if name in options:
        return options[name]
    if default is None:
        raise ValueError(f"op={op!r} needs the option {name}=")
    return default


def _as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} must be finite")
    return array


def _plan(op: str, dim: int, options: Mapping[str, Any]) -> _Plan:
    """Turns an operator name and its options into a `_Plan`."""
    if op not in OPERATORS:
        raise ValueError(
            f"unknown op {op!r}; expected one of {', '.join(sorted(OPERATORS))}"
        )
    unknown = sorted(set(options) - set(OPERATORS[op]))
    if unknown:
        allowed = ", ".join(OPERATORS[op]) or "none"
        raise ValueError(
            f"op={op!r} takes no option {', '.join(unknown)} (its options: {allowed})"
        )
    if op == "laplacian":
        return _sum_plan([operators.laplacian(dim)])
    if op == "biharmonic":
        return _sum_plan([operators.biharmonic(dim)])
    if op == "weighted_laplacian":
        sigma = _as_array(_option(options, "sigma", op), "sigma")
        if sigma.ndim != 2 or sigma.shape[0] != dim:
            raise ValueError(
                f"sigma: expected shape ({dim}, R) for D = {dim} input features, "
                f"got {tuple(sigma.shape)}"
            )
        return _sum_plan([operators.weighted_laplacian(sigma)])
    if op in ("stochastic_laplacian", "stochastic_biharmonic"):
        samples = _option(options, "samples", op)
        if not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be a positive integer, got {samples!r}")
        seed = options.get("seed")
        if op == "stochastic_laplacian":
            distribution = options.get("distribution", "rademacher")

            def draw(rng):
                return operators.stochastic_laplacian(dim, samples, distribution, rng)

        else:

            def draw(rng):
                return operators.stochastic_biharmonic(dim, samples, rng)

        first = draw(np.random.default_rng(0))  # validates the options
        plan = _sum_plan([first])
        plan.terms[0] = _Term(
            plan.terms[0].function,
            first.order,
            samples,
            "broadcast",
            True,
            (first.order,),
        )
        if seed is None or isinstance(seed, np.random.Generator):
            # Fresh directions at each call (from `seed`'s stream if given).
            rng = np.random.default_rng() if seed is None else seed
            plan.directions = [lambda: draw(rng).directions]
        else:
            plan.directions = [draw(np.random.default_rng(seed)).directions]
        return plan
    if op == "linear":
        terms = dict(_option(options, "terms", op))
        value = 0.0
        for alpha in list(terms):
            if len(tuple(alpha)) == dim and sum(alpha) == 0:
                value += float(terms.pop(alpha))
        sums = operators.linear(terms, dim) if terms else []
        if not sums:
            raise ValueError(
                "op='linear' needs at least one term with a derivative "
                f"(a multi-index of length {dim} with a positive order)"
            )
        return _sum_plan(sums, value)
    # op == "taylor"
    order = _option(options, "order", op)
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    directions = _as_array(_option(options, "directions", op), "directions")
    if directions.ndim != 2 or directions.shape[1] != dim:
        raise ValueError(
            f"directions: expected shape (R, {dim}) for D = {dim} input features, "
            f"got {tuple(directions.shape)}"
        )
    term = _Term(
        f"taylor_order{order}",
        order,
        directions.shape[0],
        "broadcast",
        False,
        tuple(range(order + 1)),
    )
    return _Plan([term], [directions], [None], [0.0])


# ---------------------------------------------------------------------------
# Export: the model as a function of its input, parameters and buffers.
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Errors at ops imported from PyTorch.
# ---------------------------------------------------------------------------

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in [^\n]*\n?([^\n]*)')


def _user_frame(stack_trace: str) -> tuple[str, str]:
    """The innermost frame of ``stack_trace`` outside torch and taylor_mlir
    (the model's code): ``("file:line", code)``."""
    frames = _FRAME.findall(stack_trace or "")
    if not frames:
        return "", ""
    torch_dir = torch.__file__.rsplit("/", 1)[0]
    own_dir = __file__.rsplit("/", 1)[0]
    for path, line, code in reversed(frames):
        if not path.startswith((torch_dir, own_dir)):
            return f"{path}:{line}", code.strip()
    path, line, code = frames[-1]
    return f"{path}:{line}", code.strip()


def _node_names(text: str) -> list[str]:
    return re.findall(re.escape(NODE_LOCATION_PREFIX) + r"([A-Za-z0-9_]+)", text)


def _unsupported(
    nodes: Mapping[str, Any], text: str, what: str, **kwargs
) -> UnsupportedOperationError | None:
    """An `UnsupportedOperationError` for the first FX node named in
    ``text`` (a diagnostic's location or torch-mlir's message)."""
    for name in _node_names(text):
        node = nodes.get(name)
        if node is None or node["target"] in ("output",):
            continue
        source, code = _user_frame(node["stack_trace"])
        module = ""
        modules = [m for m in node["modules"] if m[0] and m[1] != "_Functional"]
        if modules:
            path, cls = modules[-1]
            module = f" in module '{path.removeprefix('_model.')}' ({cls})"
        where = f"{source}: {code}" if source else "an unknown source line"
        return UnsupportedOperationError(
            f"unsupported operation {node['target']}{module} at {where}\n{what}",
            op=node["target"],
            node=name,
            source=source,
            **kwargs,
        )
    return None


def _run_stage(
    module: ir.Module, pipeline: str, stage: str, nodes: Mapping[str, Any]
) -> None:
    """`run_pipeline`, with failures at imported ops reported as
    `UnsupportedOperationError`."""
    try:
        run_pipeline(module, pipeline, stage=stage)
    except UnsupportedOperationError:
        raise
    except CompilationError as error:
        for diagnostic in error.diagnostics:
            unsupported = _unsupported(
                nodes,
                diagnostic.location,
                str(error),
                stage=error.stage,
                diagnostics=error.diagnostics,
                reproducer=error.reproducer,
                command=error.command,
            )
            if unsupported is not None:
                raise unsupported from None
        raise


# ---------------------------------------------------------------------------
# The compiled artifact (shared through the cache) and the operator.
# ---------------------------------------------------------------------------


def _jet_pipeline(term: _Term, function: str = "main") -> str:
    options = [
        f"function={function}",
        f"jet-function={term.function}",
        f"order={term.order}",
        f"directions={term.num_directions}",
        "input-coefficients=1",
        f"seed={term.seed}",
        "result-coefficients=" + ",".join(map(str, term.results)),
    ]
    if term.summed:
        options += ["sum-top=true", "runtime-weights=true"]
    return "taylor-jet{" + " ".join(options) + "}"


class _Artifact:
    """The compiled module of a model and operator structure, with the IR of
    every stage. Immutable; shared by every `CompiledOperator` of the same
    key."""

    def __init__(
        self, imported: ImportedModule, terms: Sequence[_Term], collapsed: bool
    ):
        self.terms = list(terms)
        self.imported_ir = imported.text
        nodes = imported.nodes
        context = ir.Context()
        with context:
            module = ir.Module.parse(imported.text)
            for op in module.body.operations:
                if op.operation.name == "func.func":
                    op.attributes["sym_visibility"] = ir.StringAttr.get("private")
            jet = (
                "builtin.module("
                + ", ".join(_jet_pipeline(t) for t in self.terms)
                + ", symbol-dce)"
            )
            stages = [("taylor-jet", jet)]
            if collapsed and any(t.summed for t in self.terms):
                stages.append(
                    ("taylor-collapse", "builtin.module(func.func(taylor-collapse))")
                )
            stages.append(
                (
                    "taylor-lower",
                    "builtin.module(func.func(taylor-lower), canonicalize, cse)",
                )
            )
            self.ir: dict[str, str] = {"imported": imported.text}
            for stage, pipeline in stages:
                _run_stage(module, pipeline, stage, nodes)
                self.ir[stage] = str(module)
            self.ir.setdefault("taylor-collapse", None)
            self.ir["lowered"] = self.ir.pop("taylor-lower")
            try:
                self.jit = JitModule(module)
            except CompilationError as error:
                unsupported = None
                for diagnostic in error.diagnostics:
                    unsupported = unsupported or _unsupported(
                        nodes,
                        diagnostic.location,
                        str(error),
                        stage=error.stage,
                        diagnostics=error.diagnostics,
                        reproducer=error.reproducer,
                        command=error.command,
                    )
                raise (unsupported or error) from None
            self.ir["llvm"] = str(self.jit.module)
        inner = ", ".join(p[len("builtin.module(") : -1] for _, p in stages)
        self.pipeline = (
            f"builtin.module({inner}, {DEFAULT_PIPELINE[len('builtin.module(') : -1]})"
        )


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
            torch.from_numpy(np.ascontiguousarray(d, dtype=np_dtype))
            if isinstance(d, np.ndarray)
            else d
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
                out_shape if (k == 0 or term.summed) else (term.num_directions, *out_shape)
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
