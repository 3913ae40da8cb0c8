"""Python bindings of the ``taylor`` dialect.

The op classes (``MakeJetOp``, ``CoeffOp``, ``SumOp``) and their builder
functions (``make_jet``, ``coeff``, ``sum``) are generated from the dialect's
ODS; ``JetType`` comes from the native extension.
"""

from ._taylor_ops_gen import *  # noqa: F401,F403
from ._taylor_ops_gen import _Dialect  # noqa: F401
from .._mlir_libs._taylorDialects.taylor import JetType  # noqa: F401
