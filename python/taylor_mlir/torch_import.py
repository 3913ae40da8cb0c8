"""Import PyTorch models through torch-mlir, in a child process.

torch-mlir bundles its own MLIR build, which cannot share a process with
taylor_mlir's (see ``taylor_mlir._torch_guard``). This module exports the
model with ``torch.export`` here, saves the ``ExportedProgram``, and runs
``torch_mlir.fx.export_and_import`` on it in a child Python process, which
prints the module in MLIR's generic form; the text is returned for parsing in
a taylor_mlir context. Only ``torch`` is imported in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

#: The child's entry point; run as a script so that it never imports taylor_mlir.
_WORKER = Path(__file__).with_name("_torch_import_worker.py")


class TorchImportError(RuntimeError):
    """torch-mlir failed to import a model; carries the child's stderr."""


def import_torch_module(
    model: Any,
    example_inputs: Sequence[Any],
    *,
    output_type: str = "linalg-on-tensors",
    dynamic_shapes: Any = None,
    func_name: str = "main",
    timeout: float | None = 600,
) -> str:
    """Returns the MLIR text (generic form) of ``model`` imported by torch-mlir.

    Args:
      model: a ``torch.nn.Module`` (or an ``ExportedProgram``).
      example_inputs: the positional example inputs for ``torch.export``.
      output_type: torch-mlir output type, e.g. ``"linalg-on-tensors"``.
      dynamic_shapes: forwarded to ``torch.export.export``.
      func_name: name of the imported function.
      timeout: seconds to wait for the child process.
    """
    return import_torch_modules(
        [(model, example_inputs)],
        output_type=output_type,
        dynamic_shapes=dynamic_shapes,
        func_name=func_name,
        timeout=timeout,
    )[0]


def import_torch_modules(
    models: Sequence[tuple[Any, Sequence[Any]]],
    *,
    output_type: str = "linalg-on-tensors",
    dynamic_shapes: Any = None,
    func_name: str = "main",
    timeout: float | None = 600,
) -> list[str]:
    """Imports several ``(model, example_inputs)`` pairs in one child process
    (the process start and the torch-mlir import are paid once). Options as
    for ``import_torch_module``."""
    import torch

    programs = []
    for model, example_inputs in models:
        if isinstance(model, torch.export.ExportedProgram):
            programs.append(model)
        else:
            programs.append(
                torch.export.export(
                    model, tuple(example_inputs), dynamic_shapes=dynamic_shapes
                )
            )
    with tempfile.TemporaryDirectory(prefix="taylor_mlir_import_") as tmp:
        command = [
            sys.executable,
            str(_WORKER),
            "--output-type",
            output_type,
            "--func-name",
            func_name,
        ]
        outputs = []
        for i, program in enumerate(programs):
            program_path = os.path.join(tmp, f"program_{i}.pt2")
            output_path = os.path.join(tmp, f"module_{i}.mlir")
            torch.export.save(program, program_path)
            command += ["--program", program_path, "--output", output_path]
            outputs.append(output_path)
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout
        )
        if completed.returncode != 0:
            raise TorchImportError(
                "torch-mlir failed to import the model "
                f"(exit code {completed.returncode}):\n{completed.stderr.strip()}"
            )
        return [Path(path).read_text() for path in outputs]


__all__ = ["TorchImportError", "import_torch_module", "import_torch_modules"]
