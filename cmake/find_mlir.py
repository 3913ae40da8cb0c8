"""Print the MLIRConfig.cmake and LLVMConfig.cmake directories of the xtc wheels.

Under pip's build isolation the wheels live in an overlay directory that is on
``sys.path`` but not among ``sysconfig``'s paths, so scan ``sys.path``.
Output: two lines, the MLIR and the LLVM CMake directory. Exit 1 if not found.
"""

import os
import sys


def _find(relative: str) -> str | None:
    for entry in sys.path:
        candidate = os.path.join(entry, relative)
        if os.path.isfile(candidate):
            return os.path.dirname(candidate)
    return None


mlir_dir = _find(os.path.join("mlir", "lib", "cmake", "mlir", "MLIRConfig.cmake"))
llvm_dir = _find(os.path.join("llvm", "lib", "cmake", "llvm", "LLVMConfig.cmake"))
if not mlir_dir or not llvm_dir:
    sys.exit(1)
print(f"{mlir_dir};{llvm_dir}")
