"""Errors raised while compiling, and the reproducers failing passes leave.

A pass pipeline that fails in `run_pipeline` (or `taylor_mlir._pipelines.run`,
which runs the named pipelines registered in C++) writes the module it was
given to a reproducer file and raises `CompilationError` with the exact
``taylor-opt`` command that replays the failure, naming the same pipelines; `taylor_mlir.compile` turns
failures at an op imported from PyTorch into `UnsupportedOperationError`,
naming the aten op and the model's source line.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import ir, passmanager

#: Where reproducers go (default: ``<tmp>/taylor_mlir_reproducers``).
REPRODUCER_DIR_ENV = "TAYLOR_MLIR_REPRODUCER_DIR"


@dataclass(frozen=True)
class Diagnostic:
    """One error diagnostic of a failing pass: its location and message."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CompilationError(RuntimeError):
    """A pass pipeline failed.

    Attributes:
      stage: what was being done (e.g. ``"taylor-jet"``).
      diagnostics: the error `Diagnostic`s.
      reproducer: the ``.mlir`` file holding the pipeline's input.
      command: the ``taylor-opt`` command that replays the failure.
    """

    def __init__(
        self,
        message: str,
        *,
        stage: str = "",
        diagnostics: tuple[Diagnostic, ...] = (),
        reproducer: str | None = None,
        command: str | None = None,
    ):
        super().__init__(message)
        self.stage = stage
        self.diagnostics = diagnostics
        self.reproducer = reproducer
        self.command = command


class UnsupportedOperationError(CompilationError):
    """An operation of the model cannot be compiled (no Taylor-mode rule, or
    torch-mlir cannot lower it).

    Attributes (besides `CompilationError`'s):
      op: the aten op, e.g. ``"aten.atan2.default"``.
      node: the FX node name.
      source: ``"file:line"`` of the model code that called it ("" if
        unknown).
    """

    def __init__(self, message: str, *, op: str, node: str, source: str, **kwargs):
        super().__init__(message, **kwargs)
        self.op = op
        self.node = node
        self.source = source


class SelfCheckError(CompilationError):
    """The compiled program disagrees with eager PyTorch on the example input
    (the compile-time self-check of `taylor_mlir.compile`).

    Attributes (besides `CompilationError`'s; ``stage`` names the stage
    found wrong: ``"torch-mlir import"``, ``"taylor-mlir passes"`` or
    ``"taylor-jet"``):
      quantity: ``"value"`` or ``"first Taylor coefficient"``.
      error: the largest absolute difference.
    """

    def __init__(self, message: str, *, quantity: str, error: float, **kwargs):
        super().__init__(message, **kwargs)
        self.quantity = quantity
        self.error = error


def reproducer_dir() -> Path:
    """The directory reproducers are written to (created if needed)."""
    path = Path(
        os.environ.get(REPRODUCER_DIR_ENV)
        or os.path.join(tempfile.gettempdir(), "taylor_mlir_reproducers")
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_reproducer(text: str, stage: str) -> Path:
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in stage)
    path = reproducer_dir() / f"{name}-{digest}.mlir"
    path.write_text(text)
    return path


def run_pass_manager(
    module: ir.Module, pm: passmanager.PassManager, *, stage: str, pipeline: str
) -> None:
    """Runs ``pm`` on ``module`` in place. If it fails, writes the input
    module to a reproducer, prints the ``taylor-opt`` command that replays
    the failure (``--pass-pipeline=pipeline``, the textual form of ``pm``) to
    stderr, and raises `CompilationError`."""
    with module.context:
        before = module.operation.get_asm(
            enable_debug_info=True, large_elements_limit=None
        )
        try:
            pm.run(module.operation)
        except ir.MLIRError as error:
            diagnostics = tuple(
                Diagnostic(str(d.location), d.message) for d in error.error_diagnostics
            )
            path = _write_reproducer(before, stage)
            command = (
                f"taylor-opt {shlex.quote(str(path))} "
                f"--pass-pipeline={shlex.quote(pipeline)} --mlir-print-debuginfo"
            )
            print(
                f"taylor_mlir: {stage} failed; reproduce with:\n  {command}",
                file=sys.stderr,
            )
            details = "\n".join(f"  {d}" for d in diagnostics) or f"  {error}"
            raise CompilationError(
                f"{stage} failed:\n{details}\nreproducer: {path}\n"
                f"reproduce with: {command}",
                stage=stage,
                diagnostics=diagnostics,
                reproducer=str(path),
                command=command,
            ) from None


def run_pipeline(module: ir.Module, pipeline, *, stage: str = "") -> None:
    """Runs ``pipeline`` on ``module`` in place: registered named pipelines
    (a `taylor_mlir._pipelines.Step` or a sequence of them, e.g.
    ``_pipelines.codegen("cpu")``), or a textual pass pipeline given by a
    user (``"builtin.module(...)"``). If it fails, writes the input module to
    a reproducer, prints the ``taylor-opt`` command that replays the failure
    to stderr, and raises `CompilationError`."""
    if not isinstance(pipeline, str):
        from . import _pipelines

        _pipelines.run(module, pipeline, stage=stage)
        return
    with module.context:
        pm = passmanager.PassManager.parse(pipeline)
    run_pass_manager(module, pm, stage=stage or pipeline, pipeline=pipeline)


__all__ = [
    "REPRODUCER_DIR_ENV",
    "CompilationError",
    "Diagnostic",
    "SelfCheckError",
    "UnsupportedOperationError",
    "reproducer_dir",
    "run_pass_manager",
    "run_pipeline",
]
