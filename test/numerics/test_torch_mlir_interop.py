"""torch-mlir and taylor_mlir: the child-process import, and the guard that
keeps the two MLIR builds out of one process."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from taylor_mlir.jit import JitModule  # noqa: E402
from taylor_mlir.torch_import import TorchImportError, import_torch_module  # noqa: E402


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )


def test_taylor_mlir_refuses_to_load_after_torch_mlir():
    result = _run_python(
        """
        import torch_mlir.fx
        import taylor_mlir
        """
    )
    assert result.returncode != 0
    assert "cannot import taylor_mlir" in result.stderr
    assert "torch_mlir._mlir_libs" in result.stderr
    assert "child process" in result.stderr


def test_torch_mlir_refuses_to_load_after_taylor_mlir():
    result = _run_python(
        """
        import taylor_mlir.ir
        import torch_mlir.fx
        """
    )
    assert result.returncode != 0
    assert "cannot import 'torch_mlir._mlir_libs" in result.stderr
    assert "taylor_mlir.torch_import.import_torch_module" in result.stderr


def test_torch_mlir_is_not_loaded_here():
    """The import below ran torch-mlir, but only in a child process."""
    import_torch_module(torch.nn.Linear(2, 1).double(), (torch.zeros(1, 2, dtype=torch.float64),))
    assert not any(name.startswith("torch_mlir") for name in sys.modules)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_imported_mlp_runs_in_taylor_mlir(dtype):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
        torch.nn.Sigmoid(), torch.nn.Linear(16, 1),
    ).to(dtype)
    x = torch.randn(8, 5, dtype=dtype)
    text = import_torch_module(model, (x,))
    assert "linalg.matmul" in text or "linalg.generic" in text
    module = JitModule(text)
    (y,) = module.main(x)
    with torch.no_grad():
        expected = model(x)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(y, expected, rtol=tol, atol=tol)
    # A second batch through the same compiled function.
    x2 = torch.randn(8, 5, dtype=dtype)
    (y2,) = module.main(x2)
    with torch.no_grad():
        torch.testing.assert_close(y2, model(x2), rtol=tol, atol=tol)


def test_import_failure_reports_the_child_error():
    with pytest.raises(TorchImportError, match="torch-mlir failed to import the model"):
        import_torch_module(
            torch.nn.Linear(2, 1), (torch.zeros(1, 2),), output_type="no-such-output-type"
        )
