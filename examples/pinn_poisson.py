"""A physics-informed network for the Poisson equation, trained through a
compiled Laplacian (`make demo` runs it with ``--quick``).

Problem, on the unit cube [0, 1]^d (d = --dim, 5 by default):

    -Δu = f  inside,   u = u*  on the boundary,

with the exact solution u*(x) = Π_i sin(π x_i), so f = d π² u* (and u* = 0
on the boundary). The network u_θ is a tanh MLP d -> width -> width -> 1.
Its loss, on fresh random points at every step,

    mean over interior points of (Δu_θ + f)²
      + w · mean over boundary points of (u_θ - u*)²      (w: --boundary-weight),

takes the Laplacian from ``taylor_mlir.compile(model, op="laplacian")``
(collapsed Taylor mode); ``loss.backward()`` differentiates through the
compiled operator, and Adam (cosine-decayed learning rate) updates the
parameters, which the compiled code reads at every call. The boundary term
uses the model itself. The default w = 100 balances the two terms: the
residual is measured in units of f = d π² u* (~50 u* for d = 5), and with
w = 1 the network drifts toward u* plus a harmonic function that the weak
boundary term does not pin down (relative error 2.2 after 2000 steps).

It prints the loss and the relative L2 error ||u_θ - u*|| / ||u*|| on a
fixed set of test points while it trains, and saves a plot of both
(``pinn_poisson.png`` in ``--out``; needs matplotlib) and a summary
(``pinn_poisson.json``).

``--check-torch-func`` instead runs the first Adam steps twice from the same
initialization and data, with the compiled Laplacian and with torch.func's
(the trace of ``torch.func.hessian`` under ``vmap``), in float64, prints the
largest relative difference between the two sets of parameters after each
step, and exits nonzero if it exceeds 1e-8.

    .venv/bin/python examples/pinn_poisson.py              # full run
    .venv/bin/python examples/pinn_poisson.py --quick      # ~20 s
    .venv/bin/python examples/pinn_poisson.py --check-torch-func
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import torch

import taylor_mlir as tm

HERE = Path(__file__).resolve().parent
DTYPES = {"float64": torch.float64, "float32": torch.float32}
#: Seed of the test points: the same for every run (and every --seed).
TEST_SEED = 20240601
TEST_POINTS = 4096
#: --check-torch-func: largest relative parameter difference allowed.
CHECK_TOLERANCE = 1e-8


# -- the problem ---------------------------------------------------------------


def exact_solution(x: torch.Tensor) -> torch.Tensor:
    """u*(x) = Π_i sin(π x_i), shape [B]."""
    return torch.sin(math.pi * x).prod(dim=1)


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -Δu* = d π² u*, shape [B]."""
    return x.shape[1] * math.pi**2 * exact_solution(x)


def interior_points(n: int, dim: int, generator, dtype) -> torch.Tensor:
    """n points uniformly distributed in the open cube."""
    return torch.rand(n, dim, generator=generator, dtype=dtype)


def boundary_points(n: int, dim: int, generator, dtype) -> torch.Tensor:
    """n points on the boundary: uniform points with one random coordinate
    set to 0 or 1."""
    x = torch.rand(n, dim, generator=generator, dtype=dtype)
    face = torch.randint(0, dim, (n,), generator=generator)
    side = torch.randint(0, 2, (n,), generator=generator).to(dtype)
    x[torch.arange(n), face] = side
    return x


def make_model(dim: int, width: int, dtype, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(dim, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, 1),
    ).to(dtype)


def torch_func_laplacian(model: torch.nn.Module):
    """The reference: Δu per datum as the trace of torch.func's Hessian."""

    def u(xi):
        return model(xi[None])[0, 0]

    return torch.vmap(lambda xi: torch.func.hessian(u)(xi).trace())


def loss_terms(model, laplacian, x_interior, x_boundary):
    """(residual, boundary) terms of the loss."""
    residual = laplacian(x_interior) + source(x_interior)
    boundary = model(x_boundary)[:, 0] - exact_solution(x_boundary)
    return residual.square().mean(), boundary.square().mean()


def relative_l2_error(model, x_test: torch.Tensor, u_test: torch.Tensor) -> float:
    with torch.no_grad():
        u = model(x_test)[:, 0]
    return float(
        torch.linalg.vector_norm(u - u_test) / torch.linalg.vector_norm(u_test)
    )


# -- training ------------------------------------------------------------------


def train(args) -> dict:
    dtype = DTYPES[args.dtype]
    model = make_model(args.dim, args.width, dtype, args.seed)
    data = torch.Generator().manual_seed(args.seed)
    test = torch.Generator().manual_seed(TEST_SEED)
    x_test = interior_points(TEST_POINTS, args.dim, test, dtype)
    u_test = exact_solution(x_test)

    print(
        f"PINN for -Δu = f on [0,1]^{args.dim}, u* = Π sin(π x_i): tanh MLP "
        f"{args.dim}-{args.width}-{args.width}-1, {args.dtype}, "
        f"{args.batch} interior + {args.batch} boundary points per step, "
        f"Adam lr {args.lr} (cosine decay), {args.steps} steps, seed {args.seed}, "
        f"{tm.get_num_threads()} threads"
    )
    start = time.perf_counter()
    x_interior = interior_points(args.batch, args.dim, data, dtype)
    laplacian = tm.compile(model, op="laplacian", example_inputs=x_interior)
    compile_seconds = time.perf_counter() - start
    print(f"compiled the Laplacian in {compile_seconds:.1f} s")

    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=args.steps, eta_min=args.lr / 100
    )
    history = {"step": [], "loss": [], "error_step": [], "error": []}
    error = relative_l2_error(model, x_test, u_test)
    history["error_step"].append(0)
    history["error"].append(error)
    log_every = args.log_every or max(1, args.steps // 20)
    eval_every = max(1, min(log_every, args.steps // 100))
    print(
        f"{'step':>6} {'loss':>11} {'residual':>11} {'boundary':>11} "
        f"{'rel. L2 err':>11} {'time [s]':>9}"
    )
    train_start = time.perf_counter()
    for step in range(1, args.steps + 1):
        if step > 1:
            x_interior = interior_points(args.batch, args.dim, data, dtype)
        x_boundary = boundary_points(args.batch, args.dim, data, dtype)
        optimizer.zero_grad(set_to_none=True)
        residual, boundary = loss_terms(model, laplacian, x_interior, x_boundary)
        loss = residual + args.boundary_weight * boundary
        loss.backward()
        optimizer.step()
        schedule.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
        if step % eval_every == 0 or step == args.steps:
            error = relative_l2_error(model, x_test, u_test)
            history["error_step"].append(step)
            history["error"].append(error)
        if step % log_every == 0 or step == 1 or step == args.steps:
            print(
                f"{step:>6} {loss.item():>11.4e} {residual.item():>11.4e} "
                f"{boundary.item():>11.4e} {error:>11.4e} "
                f"{time.perf_counter() - start:>9.1f}",
                flush=True,
            )
    train_seconds = time.perf_counter() - train_start
    total = time.perf_counter() - start
    summary = {
        "dim": args.dim,
        "width": args.width,
        "batch": args.batch,
        "steps": args.steps,
        "lr": args.lr,
        "seed": args.seed,
        "dtype": args.dtype,
        "threads": tm.get_num_threads(),
        "final_loss": history["loss"][-1],
        "final_relative_l2_error": history["error"][-1],
        "best_relative_l2_error": min(history["error"]),
        "compile_seconds": compile_seconds,
        "training_seconds": train_seconds,
        "total_seconds": total,
        "ms_per_step": 1000 * train_seconds / args.steps,
    }
    print(
        f"done: relative L2 error {summary['final_relative_l2_error']:.3e} after "
        f"{args.steps} steps; {total:.1f} s in all (compile {compile_seconds:.1f} s, "
        f"training {train_seconds:.1f} s, {summary['ms_per_step']:.1f} ms per step)"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pinn_poisson.json").write_text(
        json.dumps({"summary": summary, "history": history}, indent=1) + "\n"
    )
    plot(history, summary, out / "pinn_poisson.png")
    return summary


def plot(history: dict, summary: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "note: matplotlib is not installed, so no plot was saved "
            "(`.venv/bin/pip install -r benchmarks/requirements.txt` installs it)"
        )
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.semilogy(history["step"], history["loss"], lw=0.8)
    left.set(xlabel="step", ylabel="loss", title="training loss")
    right.semilogy(history["error_step"], history["error"], lw=1.2, color="C1")
    right.set(
        xlabel="step",
        ylabel="‖u_θ − u*‖ / ‖u*‖",
        title=f"relative L2 error ({TEST_POINTS} test points)",
    )
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"PINN, -Δu = f on [0,1]^{summary['dim']}, Laplacian by taylor-mlir "
        f"({summary['dtype']}, {summary['steps']} steps, "
        f"{summary['total_seconds']:.0f} s)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"saved {path}")


# -- --check-torch-func ----------------------------------------------------------


def check_torch_func(args, steps: int = 5) -> float:
    """The first Adam steps with the compiled Laplacian and with torch.func's,
    from the same initialization and data, in float64; returns the largest
    relative parameter difference."""
    dtype = torch.float64
    ours = make_model(args.dim, args.width, dtype, args.seed)
    theirs = copy.deepcopy(ours)
    data = torch.Generator().manual_seed(args.seed)
    batches = [
        (
            interior_points(args.batch, args.dim, data, dtype),
            boundary_points(args.batch, args.dim, data, dtype),
        )
        for _ in range(steps)
    ]
    compiled = tm.compile(ours, op="laplacian", example_inputs=batches[0][0])
    reference = torch_func_laplacian(theirs)
    runs = [
        (ours, compiled, torch.optim.Adam(ours.parameters(), lr=args.lr)),
        (theirs, reference, torch.optim.Adam(theirs.parameters(), lr=args.lr)),
    ]
    print(
        f"{steps} Adam steps (lr {args.lr}) from the same initialization and data: "
        "taylor-mlir's Laplacian vs torch.func's (trace of the Hessian), float64"
    )
    print(
        f"{'step':>4} {'loss (taylor-mlir)':>21} {'loss (torch.func)':>21} "
        f"{'max rel. param. diff. after the step':>37}"
    )
    worst = 0.0
    for step, (x_interior, x_boundary) in enumerate(batches, 1):
        losses = []
        for model, laplacian, optimizer in runs:
            optimizer.zero_grad(set_to_none=True)
            residual, boundary = loss_terms(model, laplacian, x_interior, x_boundary)
            loss = residual + args.boundary_weight * boundary
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        with torch.no_grad():
            difference = max(
                float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))
                for a, b in zip(ours.parameters(), theirs.parameters())
            )
        worst = max(worst, difference)
        print(f"{step:>4} {losses[0]:>21.15e} {losses[1]:>21.15e} {difference:>37.3e}")
    verdict = "OK" if worst <= CHECK_TOLERANCE else "FAILED"
    print(
        f"largest relative difference {worst:.3e} "
        f"(tolerance {CHECK_TOLERANCE:g}): {verdict}"
    )
    return worst


# -- command line ------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--steps", type=int, default=8000, help="Adam steps")
    parser.add_argument("--dim", type=int, default=5, help="dimension d of the cube")
    parser.add_argument(
        "--batch",
        type=int,
        default=512,
        help="interior points per step (and as many boundary points)",
    )
    parser.add_argument("--width", type=int, default=64, help="hidden layer width")
    parser.add_argument("--lr", type=float, default=3e-3, help="initial learning rate")
    parser.add_argument(
        "--boundary-weight",
        type=float,
        default=100.0,
        help="weight of the boundary term of the loss",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch's intra-op threads (0: torch's default); see the note in main()",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="initialization and data seed"
    )
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float64")
    parser.add_argument(
        "--out", default=str(HERE / "output"), help="directory for the plot and summary"
    )
    parser.add_argument(
        "--log-every", type=int, default=0, help="print every N steps (0: steps/20)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (1000 steps of 256 points) for `make demo`",
    )
    parser.add_argument(
        "--check-torch-func",
        action="store_true",
        help="compare 5 Adam steps against torch.func's Laplacian and exit",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.batch = 1000, 256
        args.log_every = args.log_every or 100
    if args.dim < 1 or args.steps < 1 or args.batch < 1 or args.width < 1:
        parser.error("--dim, --steps, --batch and --width must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # The compiled operator runs on its own threads (tm.set_num_threads, every
    # core by default). torch's threads keep spinning for a while after each
    # torch operation and then compete with them for the cores: with the
    # model's small torch operations between the operator's calls, one
    # training step took about twice as long with torch's default threads
    # as with one (2 cores). One thread is plenty for this small MLP.
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    if args.check_torch_func:
        return 0 if check_torch_func(args) <= CHECK_TOLERANCE else 1
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
