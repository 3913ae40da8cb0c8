"""``examples/vmc_kinetic.py --quick``: the local kinetic energy of a
Slater-Jastrow wave function (log|det| of a network's 4 x 4 matrix plus a
Jastrow factor) from one compiled operator agrees with torch.func to 1e-10
(the example exits nonzero otherwise)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vmc_kinetic.py"


def test_vmc_kinetic_quick():
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    match = re.search(r"max relative error vs torch.func: (\S+)", run.stdout)
    assert match, run.stdout
    assert float(match.group(1)) <= 1e-10


def test_kinetic_energy_is_exchange_invariant():
    """Swapping two electrons flips the determinant's sign and leaves
    log|ψ| and E_kin unchanged (the Slater matrix's rows swap)."""
    import torch

    sys.path.insert(0, str(EXAMPLE.parent))
    import vmc_kinetic
    import taylor_mlir as tm

    model = vmc_kinetic.LogPsi(3, hidden=8)
    torch.manual_seed(3)
    x = torch.randn(4, 9, dtype=torch.float64)
    swapped = x.reshape(4, 3, 3)[:, [1, 0, 2]].reshape(4, 9)
    op = tm.compile(
        model, "laplacian", example_inputs=x, outputs=("value", "gradient", "operator")
    )
    energy = vmc_kinetic.kinetic_energy(op(x))
    energy_swapped = vmc_kinetic.kinetic_energy(op(swapped))
    assert torch.allclose(energy, energy_swapped, rtol=1e-12, atol=0)
