"""taylor-mlir: an MLIR compiler for differential operators of neural networks.

The package carries its own MLIR Python bindings (``taylor_mlir.ir``,
``taylor_mlir.passmanager``, ``taylor_mlir.execution_engine``, the upstream
dialect modules under ``taylor_mlir.dialects``) with the ``taylor`` dialect
registered in every context (``taylor_mlir.dialects.taylor``), plus:

- ``taylor_mlir.compile(model, op="laplacian", example_inputs=x)``: a PyTorch
  model's differential operator, compiled (``taylor_mlir.compiler``);
- ``taylor_mlir.func``: ``jvp``, ``vjp``, ``grad``, ``jacfwd``, ``jacrev``,
  ``hessian`` and ``hvp`` of PyTorch functions, built by this project's
  transforms and composable;
- ``taylor_mlir.seer``: TaylorSeer, forecasting the outputs of chosen modules
  of a diffusion model between full computations (``docs/guide/taylorseer.md``);
- ``taylor_mlir.compile_cache``: the compile caches, in memory and on disk
  (``compile(..., cache=False)``, ``TAYLOR_MLIR_CACHE=0``,
  ``TAYLOR_MLIR_CACHE_DIR``);
- ``taylor_mlir.set_num_threads(n)`` / ``get_num_threads()``: the threads
  compiled operators run on (``taylor_mlir.threads``; default: every core);
- ``taylor_mlir.jit``: lower a module with the ``taylor-cpu-codegen`` pipeline and
  run its functions on numpy arrays or torch tensors;
- ``taylor_mlir.torch_import``: import a PyTorch model through torch-mlir, in a
  child process (see ``docs/torch-mlir-interop.md`` for why).

torch-mlir bundles a second, different build of MLIR; loading both into one
process breaks the JIT. Importing ``taylor_mlir`` therefore refuses to run
beside an in-process ``torch_mlir`` (and vice versa): use
``taylor_mlir.torch_import``, which runs torch-mlir in a child process.
"""

from ._torch_guard import install_torch_mlir_guard as _install_torch_mlir_guard

_install_torch_mlir_guard()

__version__ = "0.1.0"

#: Names served lazily from `taylor_mlir.compiler` / `taylor_mlir.errors`
#: (importing them loads torch).
_COMPILER_NAMES = (
    "CompiledOperator",
    "clear_compile_cache",
    "compile",
    "compile_cache_info",
)
_ERROR_NAMES = ("CompilationError", "SelfCheckError", "UnsupportedOperationError")
_THREAD_NAMES = ("get_num_threads", "set_num_threads")
#: Submodules served lazily as attributes (``tm.func``, ``tm.compile_cache``,
#: ``tm.seer``).
_MODULE_NAMES = ("func", "compile_cache", "seer")


def __getattr__(name):
    if name in _MODULE_NAMES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in _COMPILER_NAMES:
        from . import compiler

        return getattr(compiler, name)
    if name in _ERROR_NAMES:
        from . import errors

        return getattr(errors, name)
    if name in _THREAD_NAMES:
        from . import threads

        return getattr(threads, name)
    raise AttributeError(f"module 'taylor_mlir' has no attribute {name!r}")


def __dir__():
    return sorted(
        [*globals(), *_MODULE_NAMES, *_COMPILER_NAMES, *_ERROR_NAMES, *_THREAD_NAMES]
    )
