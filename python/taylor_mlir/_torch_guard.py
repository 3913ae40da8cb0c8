"""Keeps torch-mlir's MLIR build out of processes that use taylor_mlir.

torch-mlir ships its own MLIR (a different LLVM revision) in
``torch_mlir._mlir_libs``. With both builds loaded, vague-linkage C++ symbols
of one LLVM bind to the other and the JIT fails ("Symbols not found", garbled
names) or worse. taylor_mlir therefore runs torch-mlir only in a child
process (``taylor_mlir.torch_import``) and enforces it here:

- importing ``taylor_mlir`` after ``torch_mlir``'s native libraries were loaded
  raises ``ImportError``;
- importing ``torch_mlir``'s native libraries after ``taylor_mlir`` raises
  ``ImportError``.

Set ``TAYLOR_MLIR_ALLOW_TORCH_MLIR_IN_PROCESS=1`` to switch the guard off (at
your own risk; nothing in taylor_mlir does this).
"""

import importlib.abc
import os
import sys

_TORCH_MLIR_NATIVE = "torch_mlir._mlir_libs"
_ESCAPE_HATCH = "TAYLOR_MLIR_ALLOW_TORCH_MLIR_IN_PROCESS"

_MESSAGE = (
    "torch_mlir's native MLIR libraries and taylor_mlir cannot share a process: "
    "the two MLIR builds clash and the JIT breaks. Use "
    "taylor_mlir.torch_import.import_torch_module(...), which runs torch-mlir "
    f"in a child process (set {_ESCAPE_HATCH}=1 to override at your own risk)"
)


class TorchMlirInProcessError(ImportError):
    """Raised when torch_mlir and taylor_mlir would be loaded in one process."""


def _is_torch_mlir_native(name: str) -> bool:
    return name == _TORCH_MLIR_NATIVE or name.startswith(_TORCH_MLIR_NATIVE + ".")


class _TorchMlirBlocker(importlib.abc.MetaPathFinder):
    """Meta-path finder that refuses to import torch_mlir's native libraries."""

    def find_spec(self, fullname, path=None, target=None):
        if _is_torch_mlir_native(fullname):
            raise TorchMlirInProcessError(f"cannot import {fullname!r}: {_MESSAGE}")
        return None


def install_torch_mlir_guard() -> None:
    """Checks that torch_mlir is not loaded and blocks it from now on."""
    if os.environ.get(_ESCAPE_HATCH) == "1":
        return
    loaded = sorted(name for name in sys.modules if _is_torch_mlir_native(name))
    if loaded:
        raise TorchMlirInProcessError(
            f"cannot import taylor_mlir: {loaded[0]!r} is already loaded; {_MESSAGE}"
        )
    if not any(isinstance(finder, _TorchMlirBlocker) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TorchMlirBlocker())
