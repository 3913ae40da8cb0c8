"""Training through a compiled Laplacian with DistributedDataParallel (gloo,
CPU): the Poisson PINN of ``pinn_poisson.py``, its batch split across
processes.

    .venv/bin/torchrun --nproc_per_node=2 examples/ddp_train.py
    .venv/bin/python examples/ddp_train.py            # one process

Each process (rank) draws the same global batch at every step, keeps its
shard (``batch / world_size`` interior and as many boundary points) and
computes the loss on it; DistributedDataParallel averages the gradients
across the ranks during ``loss.backward()``, so every rank takes the same
Adam step as one process on the whole batch would.

How the compiled operator and DDP fit together: ``taylor_mlir.compile``
exports its model with ``torch.export``, which cannot trace a
``DistributedDataParallel`` object, so the operator is compiled on the
plain network. DDP, however, only averages the gradients of a backward
pass that follows a forward pass *through the DDP object* (that forward
prepares its reducer). So the network and its compiled Laplacian are put in
one module, `PoissonTerms`, whose ``forward`` returns both the Laplacian at
the interior points and the values at the boundary points, and DDP wraps
that module: the compiled operator is called inside DDP's forward, its
gradients flow into the network's parameters, and DDP's hooks average them.
(Compiling on ``ddp.module`` and calling the operator outside DDP's forward
silently skips the averaging when nothing else goes through DDP in that
step.) The compiled code reads the parameters at every call, so it sees the
weights DDP broadcasts from rank 0 at construction and every optimizer
step.

``--gradients DIR`` computes the gradients of the first step's loss instead
of training, once without averaging (``ddp.no_sync()``) and once with, and
saves them per rank to ``DIR/rank<r>.pt`` (``test/compile/test_ddp.py``
compares their average with the gradient of the whole batch in one
process).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

import taylor_mlir as tm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pinn_poisson import (  # noqa: E402
    DTYPES,
    TEST_POINTS,
    TEST_SEED,
    boundary_points,
    exact_solution,
    interior_points,
    make_model,
    relative_l2_error,
    source,
)


class PoissonTerms(torch.nn.Module):
    """The network and its compiled Laplacian in one module (for DDP to
    wrap): ``forward(x_interior, x_boundary)`` returns ``(Δu(x_interior),
    u(x_boundary))``, both ``[B]``."""

    def __init__(self, net: torch.nn.Module, example: torch.Tensor):
        super().__init__()
        self.net = net
        # A plain attribute (not a module): DDP sees only `net`'s parameters.
        self.laplacian = tm.compile(net, op="laplacian", example_inputs=example)

    def forward(self, x_interior, x_boundary):
        return self.laplacian(x_interior), self.net(x_boundary)[:, 0]


def global_batch(step: int, batch: int, dim: int, seed: int, dtype):
    """The interior and boundary points of ``step`` (the same on every
    rank)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return (
        interior_points(batch, dim, generator, dtype),
        boundary_points(batch, dim, generator, dtype),
    )


def shard(x: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    size = x.shape[0] // world
    return x[rank * size : (rank + 1) * size]


def loss_of(laplacian_values, boundary_values, x_interior, x_boundary, weight):
    """The PINN loss of a batch from the terms `PoissonTerms` returns."""
    residual = (laplacian_values + source(x_interior)).square().mean()
    boundary = (boundary_values - exact_solution(x_boundary)).square().mean()
    return residual + weight * boundary


def init_distributed() -> tuple[int, int]:
    """Joins the process group that torchrun describes in the environment;
    without torchrun, a group of one process."""
    if "RANK" not in os.environ:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK="0",
            WORLD_SIZE="1",
            LOCAL_WORLD_SIZE="1",
        )
    dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="PINN training through a compiled Laplacian under DDP",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--steps", type=int, default=300, help="Adam steps")
    parser.add_argument("--dim", type=int, default=5, help="dimension d of the cube")
    parser.add_argument(
        "--batch",
        type=int,
        default=256,
        help="global interior points per step (and as many boundary points), "
        "split across the ranks",
    )
    parser.add_argument("--width", type=int, default=32, help="hidden layer width")
    parser.add_argument("--lr", type=float, default=3e-3, help="learning rate")
    parser.add_argument(
        "--boundary-weight",
        type=float,
        default=100.0,
        help="weight of the boundary term",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="initialization and data seed"
    )
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float64")
    parser.add_argument("--log-every", type=int, default=50, help="print every N steps")
    parser.add_argument(
        "--gradients",
        metavar="DIR",
        help="save the first step's gradients per rank to DIR/rank<r>.pt and exit",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    rank, world = init_distributed()
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} is not divisible by {world} processes")
    # Share the cores among the processes on this machine. torch itself gets
    # one thread: its threads spin after each operation and would compete
    # with the compiled operator's (see pinn_poisson.py).
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    threads = max(1, (os.cpu_count() or 1) // local)
    tm.set_num_threads(threads)
    torch.set_num_threads(1)
    dtype = DTYPES[args.dtype]

    # Every rank builds the same network (DDP would broadcast rank 0's anyway).
    net = make_model(args.dim, args.width, dtype, args.seed)
    x_interior, x_boundary = global_batch(1, args.batch, args.dim, args.seed, dtype)
    start = time.perf_counter()
    terms = PoissonTerms(net, shard(x_interior, rank, world))
    compile_seconds = time.perf_counter() - start
    ddp = torch.nn.parallel.DistributedDataParallel(terms)

    def step_loss(x_interior, x_boundary):
        xi, xb = shard(x_interior, rank, world), shard(x_boundary, rank, world)
        return loss_of(*ddp(xi, xb), xi, xb, args.boundary_weight)

    if args.gradients:
        names = [name for name, _ in net.named_parameters()]
        with ddp.no_sync():  # this rank's own gradients, not averaged
            loss = step_loss(x_interior, x_boundary)
            loss.backward()
        local_grads = {n: p.grad.clone() for n, p in zip(names, net.parameters())}
        ddp.zero_grad(set_to_none=True)
        step_loss(x_interior, x_boundary).backward()  # averaged by DDP
        averaged = {n: p.grad.clone() for n, p in zip(names, net.parameters())}
        out = Path(args.gradients)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "rank": rank,
                "world_size": world,
                "loss": loss.detach(),
                "local": local_grads,
                "averaged": averaged,
            },
            out / f"rank{rank}.pt",
        )
        dist.barrier()
        dist.destroy_process_group()
        return 0

    if rank == 0:
        print(
            f"{world} process(es), gloo, {threads} thread(s) each; tanh MLP "
            f"{args.dim}-{args.width}-{args.width}-1, {args.dtype}; global batch "
            f"{args.batch} ({args.batch // world} per rank); compiled the "
            f"Laplacian in {compile_seconds:.1f} s"
        )
        print(f"{'step':>6} {'loss':>11} {'rel. L2 err':>11} {'time [s]':>9}")
    x_test = interior_points(
        TEST_POINTS, args.dim, torch.Generator().manual_seed(TEST_SEED), dtype
    )
    u_test = exact_solution(x_test)
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        if step > 1:
            x_interior, x_boundary = global_batch(
                step, args.batch, args.dim, args.seed, dtype
            )
        optimizer.zero_grad(set_to_none=True)
        loss = step_loss(x_interior, x_boundary)
        loss.backward()
        optimizer.step()
        if step % args.log_every == 0 or step in (1, args.steps):
            # The loss of the whole batch: the mean of the ranks' losses.
            total = loss.detach().clone()
            dist.all_reduce(total)
            if rank == 0:
                error = relative_l2_error(net, x_test, u_test)
                print(
                    f"{step:>6} {total.item() / world:>11.4e} {error:>11.4e} "
                    f"{time.perf_counter() - start:>9.1f}",
                    flush=True,
                )
    # The ranks' parameters must be identical (same averaged gradients).
    flat = torch.cat([p.detach().flatten() for p in net.parameters()])
    spread = flat.clone()
    dist.all_reduce(spread, op=dist.ReduceOp.MAX)
    lowest = flat.clone()
    dist.all_reduce(lowest, op=dist.ReduceOp.MIN)
    if rank == 0:
        difference = (spread - lowest).abs().max().item()
        print(f"largest parameter difference between the ranks: {difference:.3e}")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
