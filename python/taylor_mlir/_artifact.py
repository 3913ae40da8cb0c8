"""The compiled artifact of `taylor_mlir.compile` (jet functions of an
imported model, lowered and JIT-compiled, with the IR of every stage), and
the mapping of compiler failures back to the aten ops and source lines of
the model (`UnsupportedOperationError`)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from . import ir
from ._plans import _Term
from . import _pipelines
from .errors import CompilationError, UnsupportedOperationError, run_pipeline
from ._program import Executables, Program
from .jit import JitModule
from .torch_import import NODE_LOCATION_PREFIX, ImportedModule

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in [^\n]*\n?([^\n]*)')


def _user_frame(stack_trace: str) -> tuple[str, str]:
    """The innermost frame of ``stack_trace`` outside torch and taylor_mlir
    (the model's code): ``("file:line", code)``."""
    frames = _FRAME.findall(stack_trace or "")
    if not frames:
        return "", ""
    import torch

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
    """An `UnsupportedOperationError` for the first aten op named in
    ``text`` (a diagnostic's location or torch-mlir's message): None if it
    names none (a failure at the inputs, say, is not about an operation)."""
    for name in _node_names(text):
        node = nodes.get(name)
        if node is None or not node["target"].startswith(("aten.", "prims.")):
            continue
        source, code = _user_frame(node["stack_trace"])
        module = ""
        modules = [
            m
            for m in node["modules"]
            if m[0] and m[1] not in ("_Functional", "_FunctionModule")
        ]
        if modules:
            path, cls = modules[-1]
            module = f" in module '{path.removeprefix('_module.')}' ({cls})"
        where = f"{source}: {code}" if source else "an unknown source line"
        return UnsupportedOperationError(
            f"unsupported operation {node['target']}{module} at {where}\n{what}",
            op=node["target"],
            node=name,
            source=source,
            **kwargs,
        )
    return None


def _as_unsupported(
    error: CompilationError, nodes: Mapping[str, Any]
) -> CompilationError:
    """``error`` as an `UnsupportedOperationError` if a diagnostic's location
    names an imported op, else ``error``."""
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
            return unsupported
    return error


def _run_stage(
    module: ir.Module, pipeline: _pipelines.Step, stage: str, nodes: Mapping[str, Any]
) -> None:
    """`run_pipeline`, with failures at imported ops reported as
    `UnsupportedOperationError`."""
    try:
        run_pipeline(module, pipeline, stage=stage)
    except UnsupportedOperationError:
        raise
    except CompilationError as error:
        raise _as_unsupported(error, nodes) from None


def _jets(terms: Sequence[_Term], function: str = "main") -> _pipelines.Step:
    """The `taylor-jets` step that derives the jet function of every term
    from ``@function`` (then drops the functions no jet function uses)."""
    return _pipelines.step(
        "taylor-jets",
        function=function,
        jet_functions=[t.function for t in terms],
        orders=[t.order for t in terms],
        directions=[t.num_directions for t in terms],
        input_coefficients=[[1]],
        seeds=[t.seed for t in terms],
        result_coefficients=[list(t.results) for t in terms],
        sum_top=[bool(t.summed) for t in terms],
        runtime_weights=[bool(t.summed) for t in terms],
        symbol_dce=True,
    )


class _Artifact:
    """The compiled module of a model and operator structure, with the IR of
    every stage. Immutable; shared by every `CompiledOperator` of the same
    key."""

    def __init__(
        self,
        imported: ImportedModule,
        terms: Sequence[_Term],
        collapsed: bool,
        check_term: _Term | None = None,
        target: str = "cpu",
    ):
        """``check_term``: one more jet function compiled beside ``terms``
        (the self-check's, `taylor_mlir._check`), not part of `programs`.
        ``target``: ``"cpu"``, or ``"cuda"``: `cuda` is the GPU code, and
        `jit` the same GPU-mapped program run on the CPU (the self-check
        runs it, and so do calls on CPU tensors with ``emulate``)."""
        self.terms = list(terms)
        self.target = target
        #: The GPU code (`taylor_mlir.cuda.CudaModule`), for ``"cuda"``.
        self.cuda = None
        self.imported_ir = imported.text
        nodes = imported.nodes
        context = ir.Context()
        with context:
            module = ir.Module.parse(imported.text)
            for op in module.body.operations:
                if op.operation.name == "func.func":
                    op.attributes["sym_visibility"] = ir.StringAttr.get("private")
            stages = [
                ("taylor-jet", _jets([t for t in self.terms + [check_term] if t]))
            ]
            if collapsed and any(t.summed for t in self.terms):
                stages.append(
                    ("taylor-collapse", _pipelines.step("taylor-collapse-jets"))
                )
            stages.append(("taylor-lower", _pipelines.step("taylor-lower-jets")))
            self.ir: dict[str, str] = {"imported": imported.text}
            #: Seconds per compile stage (`compile` adds export and import).
            self.timings: dict[str, float] = {}
            for stage, pipeline in stages:
                start = time.perf_counter()
                _run_stage(module, pipeline, stage, nodes)
                self.timings[stage] = time.perf_counter() - start
                self.ir[stage] = str(module)
            self._lowered_with_locations = module.operation.get_asm(
                enable_debug_info=True, large_elements_limit=None
            )
            self.ir.setdefault("taylor-collapse", None)
            self.ir["lowered"] = self.ir.pop("taylor-lower")
            start = time.perf_counter()
            codegen = (
                _pipelines.Pipeline([_pipelines.codegen("cuda-emulated")])
                if target == "cuda"
                else _pipelines.default_codegen()
            )
            try:
                self.jit = JitModule(module, pipeline=codegen)
                if target == "cuda":
                    self.timings["GPU-mapped code on the CPU + JIT"] = (
                        time.perf_counter() - start
                    )
                    start = time.perf_counter()
                    from .cuda import CudaModule

                    self.cuda = CudaModule(module)
            except CompilationError as error:
                raise _as_unsupported(error, nodes) from None
            if target == "cuda":
                self.timings["GPU codegen + host JIT"] = time.perf_counter() - start
                self.ir.update(self.cuda.ir)
                self.ir["emulated-llvm"] = str(self.jit.module)
                codegen = self.cuda.pipeline
            else:
                self.timings["taylor-to-llvm + JIT"] = time.perf_counter() - start
                self.ir["llvm"] = str(self.jit.module)
        #: Per term: its jet function as a differentiable `Program` (the
        #: reverse transform runs on the lowered IR when a gradient is first
        #: asked for).
        lowered = self._lowered_with_locations
        code = Executables(lowered, target, self.jit, self.cuda)
        self.programs = [
            Program(
                lowered,
                t.function,
                executables=code,
                map_error=lambda error: _as_unsupported(error, nodes),
            )
            for t in self.terms
        ]
        #: The named pipelines run, in order (`_pipelines.Pipeline`: ``str()``
        #: is the textual pipeline, ``.command()`` the ``taylor-opt`` command
        #: that runs them on the imported IR).
        self.pipeline = _pipelines.Pipeline(s for _, s in stages) + codegen
