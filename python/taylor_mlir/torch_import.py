"""Import PyTorch models through torch-mlir, in a child process.

torch-mlir bundles its own MLIR build, which cannot share a process with
taylor_mlir's (see ``taylor_mlir._torch_guard``). This module exports the
model with ``torch.export`` here, saves the ``ExportedProgram``, and has a
child Python process run ``torch_mlir.fx.export_and_import`` on it and print
the module in MLIR's generic form, with locations; the text is returned for
parsing in a taylor_mlir context. Only ``torch`` is imported in this process.

The child is started once, on the first import, and serves every later one
(loading torch and torch-mlir takes seconds); it exits with this process,
however this process ends. If it dies (a crash, a kill, an interrupted or
timed-out import), the import fails with a `TorchImportError` naming what
happened, and the next import starts a new child.
Every op of the text carries the FX node it came from as a name location
``"fx:<node name>"`` (``NODE_LOCATION_PREFIX``) around its source location.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The child's entry point; run as a script so that it never imports taylor_mlir.
_WORKER = Path(__file__).with_name("_torch_import_worker.py")

#: Prefix of the name locations that name the FX node of each imported op.
NODE_LOCATION_PREFIX = "fx:"


class TorchImportError(RuntimeError):
    """torch-mlir failed to import a model. ``nodes`` describes the FX nodes
    imported so far (see `ImportedModule.nodes`)."""

    def __init__(self, message: str, nodes: dict[str, Any] | None = None):
        super().__init__(message)
        self.nodes = nodes or {}


@dataclass(frozen=True)
class ImportedModule:
    """A module imported by torch-mlir.

    Attributes:
      text: the MLIR module, generic form, with locations.
      nodes: for each FX node name of the (decomposed) program torch-mlir
        imported, ``{"target": aten op, "stack_trace": str, "modules":
        [[path, class name], ...]}``; op locations name these nodes
        (``loc("fx:<node>"(...))``).
    """

    text: str
    nodes: dict[str, Any]


def import_exported_program(
    program: Any,
    *,
    output_type: str = "linalg-on-tensors",
    func_name: str = "main",
    timeout: float | None = 600,
) -> ImportedModule:
    """Imports a ``torch.export.ExportedProgram`` with torch-mlir (in the
    child process), after the decompositions of `taylor_mlir._decompositions`;
    raises `TorchImportError` if torch-mlir fails."""
    import torch

    from ._decompositions import decompose
    from ._export import TRACE_LOCK

    with tempfile.TemporaryDirectory(prefix="taylor_mlir_import_") as tmp:
        program_path = os.path.join(tmp, "program.pt2")
        output_path = os.path.join(tmp, "module.mlir")
        # The re-trace is an export, and the save registers a process-wide
        # FakeTensor pickler (``copyreg``): neither may run on two threads.
        with TRACE_LOCK:
            # Also torch.linalg inverse/det/slogdet/solve/cholesky -> taylor ops.
            program = decompose(program)
            torch.export.save(program, program_path)
        reply = _convert(
            {
                "program": program_path,
                "output": output_path,
                "output_type": output_type,
                "func_name": func_name,
            },
            timeout,
        )
        return ImportedModule(Path(output_path).read_text(), reply["nodes"])


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
    return [
        import_exported_program(
            program, output_type=output_type, func_name=func_name, timeout=timeout
        ).text
        for program in programs
    ]


class _ServerGone(TorchImportError):
    """The process had exited before it read the request (a new one can
    take the request)."""


#: Signals that mean the process crashed (rather than was stopped).
_CRASHES = ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE")


class _ImportServer:
    """The child process that runs torch-mlir (``_torch_import_worker.py
    --serve``): one JSON request and one JSON reply per line.

    Its lifetime is tied to this process's: it runs in its own process group
    (a Ctrl-C at the terminal interrupts this process, not the import
    process; see `convert` for an import it interrupts), and it exits when
    its stdin closes or when this process is gone (it watches its parent,
    ``TAYLOR_MLIR_IMPORT_PARENT``), even if this process was killed."""

    def __init__(self) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [sys.executable, str(_WORKER), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            process_group=0,
            env={**os.environ, "TAYLOR_MLIR_IMPORT_PARENT": str(os.getpid())},
        )
        #: The import process's pid (a test hook, and named in errors).
        self.pid = self._process.pid
        #: The process that started it (a forked child starts its own).
        self.owner = os.getpid()
        self._lock = threading.Lock()
        self._requests = 0

    def alive(self) -> bool:
        return self._process.poll() is None

    def convert(self, request: dict[str, str], timeout: float | None) -> dict:
        """Runs one import and returns the reply; raises `TorchImportError`
        with torch-mlir's message if it fails, or naming what happened if the
        process died (`_ServerGone` if before it read the request). One
        request at a time; if the exchange is interrupted (KeyboardInterrupt,
        timeout, a crash), the process is killed (a later import starts a
        new one) so that no reply can be read for the wrong request."""
        with self._lock:
            start = self._stderr.seek(0, os.SEEK_END)
            try:
                if not self.alive():
                    raise _ServerGone(self._death(start, "before the import"))
                self._requests += 1
                request = {**request, "id": self._requests}
                reply = self._exchange(request, timeout, start)
            except BaseException:
                self.kill()
                raise
            if not reply["ok"]:
                # MLIR prints the diagnostics of a failing pass to stderr.
                self._stderr.seek(start)
                printed = self._stderr.read().strip()
                raise TorchImportError(
                    "torch-mlir failed to import the model: "
                    + reply["error"]
                    + (f"\n{printed}" if printed else ""),
                    reply.get("nodes"),
                )
            return reply

    def _exchange(
        self, request: dict[str, Any], timeout: float | None, start: int
    ) -> dict:
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError):  # (ValueError: stdin closed)
            raise _ServerGone(self._death(start, "before the import")) from None
        ready, _, _ = select.select([self._process.stdout], [], [], timeout)
        if not ready:
            raise TorchImportError(
                f"torch-mlir did not answer within {timeout} s; its process "
                f"(pid {self.pid}) was stopped (the next import starts a new one)"
            )
        line = self._process.stdout.readline()
        if not line:
            raise TorchImportError(self._death(start, "while importing the model"))
        try:
            reply = json.loads(line)
        except ValueError:
            raise TorchImportError(
                f"the torch-mlir process (pid {self.pid}) sent a malformed reply "
                f"{line[:200]!r}; it was stopped (the next import starts a new one)"
            ) from None
        if not isinstance(reply, dict) or reply.get("id") != request["id"]:
            raise TorchImportError(
                f"the torch-mlir process answered request "
                f"{reply.get('id') if isinstance(reply, dict) else reply!r} "
                f"instead of {request['id']}"
            )
        return reply

    def _death(self, start: int, when: str) -> str:
        """What happened to the (dead) process, and what it printed since
        ``start``."""
        try:
            code = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self._process.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            verb = "crashed" if name in _CRASHES else "was killed"
            how = f"{verb} ({name})"
        else:
            how = f"exited (code {code})"
        self._stderr.seek(start)
        printed = self._stderr.read().strip()[-4000:]
        return (
            f"the torch-mlir import process (pid {self.pid}) {how} {when}; the "
            "next import starts a new process"
            + (f". It printed:\n{printed}" if printed else "")
        )

    def kill(self) -> None:
        if self.alive():
            self._process.kill()
            self._process.wait()

    def close(self) -> None:
        if self.alive():
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._stderr):
            try:
                stream.close()
            except (BrokenPipeError, OSError):
                pass


_SERVER: _ImportServer | None = None
_SERVER_LOCK = threading.Lock()


def _server() -> _ImportServer:
    """The import process, started if there is none (or it died, or it is
    the parent's: this process is a fork)."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is not None and _SERVER.owner != os.getpid():
            _SERVER = None  # the parent's: left alone
        if _SERVER is None or not _SERVER.alive():
            if _SERVER is not None:
                _SERVER.close()
            _SERVER = _ImportServer()
        return _SERVER


def _convert(request: dict[str, str], timeout: float | None) -> dict:
    """`_ImportServer.convert` on the import process; if the process had
    died before it read the request, once more on a new one."""
    try:
        return _server().convert(request, timeout)
    except _ServerGone:
        return _server().convert(request, timeout)


@atexit.register
def _close_server() -> None:
    if _SERVER is not None and _SERVER.owner == os.getpid():
        _SERVER.close()


__all__ = [
    "NODE_LOCATION_PREFIX",
    "ImportedModule",
    "TorchImportError",
    "import_exported_program",
    "import_torch_module",
    "import_torch_modules",
]
