"""A compiled Laplacian under DistributedDataParallel: two processes (gloo,
CPU, launched by torchrun) each compute the gradient of the PINN loss of
``examples/ddp_train.py`` on their half of a fixed batch through DDP; the
gradients DDP averages must be those of the whole batch in one process."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist

import taylor_mlir as tm

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ddp_train.py"
sys.path.insert(0, str(EXAMPLE.parent))
import ddp_train  # noqa: E402
from pinn_poisson import torch_func_laplacian  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available in this "
    "torch build",
)

WORLD = 2
OPTIONS = {"dim": 5, "width": 16, "batch": 32, "seed": 3, "boundary_weight": 100.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun() -> list[str]:
    """torchrun of this Python environment."""
    script = Path(sys.executable).parent / "torchrun"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "torch.distributed.run"]


def run_ranks(out: Path) -> None:
    """``examples/ddp_train.py --gradients out`` in WORLD processes (a
    second try on another port if the first one was taken)."""
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "OMP_NUM_THREADS": "1"}
    for attempt in range(2):
        command = [
            *torchrun(),
            f"--nproc_per_node={WORLD}",
            "--master_addr=127.0.0.1",
            f"--master_port={free_port()}",
            str(EXAMPLE),
            "--gradients",
            str(out),
            "--dtype",
            "float64",
            *(f"--{name.replace('_', '-')}={value}" for name, value in OPTIONS.items()),
        ]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=180
        )
        if result.returncode == 0:
            return
        if attempt == 0 and "address already in use" in result.stderr.lower():
            shutil.rmtree(out, ignore_errors=True)
            continue
        pytest.fail(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )


def full_batch_gradients() -> dict[str, torch.Tensor]:
    """The gradients of the loss of the whole first batch, one process."""
    dtype = torch.float64
    net = ddp_train.make_model(OPTIONS["dim"], OPTIONS["width"], dtype, OPTIONS["seed"])
    xi, xb = ddp_train.global_batch(
        1, OPTIONS["batch"], OPTIONS["dim"], OPTIONS["seed"], dtype
    )
    laplacian = tm.compile(net, op="laplacian", example_inputs=xi)
    loss = ddp_train.loss_of(
        laplacian(xi), net(xb)[:, 0], xi, xb, OPTIONS["boundary_weight"]
    )
    names = [name for name, _ in net.named_parameters()]
    grads = torch.autograd.grad(loss, list(net.parameters()))
    # Checks the compiled gradient itself against torch.func's Laplacian.
    reference = ddp_train.loss_of(
        torch_func_laplacian(net)(xi),
        net(xb)[:, 0],
        xi,
        xb,
        OPTIONS["boundary_weight"],
    )
    reference_grads = torch.autograd.grad(reference, list(net.parameters()))
    for name, g, r in zip(names, grads, reference_grads):
        assert relative(g, r) <= 1e-10, name
    return dict(zip(names, grads))


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def test_ddp_averages_the_gradients_of_the_compiled_laplacian(tmp_path):
    run_ranks(tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    assert [r["rank"] for r in ranks] == list(range(WORLD))
    assert all(r["world_size"] == WORLD for r in ranks)
    want = full_batch_gradients()
    for name, g in want.items():
        # DDP's average, on every rank.
        for r in ranks:
            assert relative(r["averaged"][name], g) <= 1e-10, (name, r["rank"])
        # The ranks' own gradients: their mean is the full batch's, while
        # each differs from it (the averaging is what makes them agree).
        mean = sum(r["local"][name] for r in ranks) / WORLD
        assert relative(mean, g) <= 1e-10, name
    assert all(
        max(relative(r["local"][n], g) for n, g in want.items()) > 1e-3 for r in ranks
    )
