"""Site initializer of the taylor_mlir bindings.

``taylor_mlir._mlir_libs`` imports ``_site_initialize_{i}`` modules when it
is first loaded: every ``taylor_mlir.ir.Context`` then knows the taylor dialect
(beside every upstream dialect, from ``_mlirRegisterEverything``), and the
taylor passes and pipelines can be named in pass-pipeline strings.
"""

from ._taylorDialects import register_dialects as _register_dialects
from ._taylorDialects import register_passes as _register_passes

_register_passes()


def register_dialects(registry):
    """Adds the taylor dialect to ``registry``."""
    _register_dialects(registry)
