"""Where the time goes: compile stages and the parts of one call.

The paper MLP ``D -> 768 -> 768 -> 512 -> 512 -> 1`` (tanh, seeded, float64
by default), an operator of ``taylor_mlir.compile`` (default: the exact
Laplacian, D = 50), collapsed and standard Taylor mode, one batch size.

Compile: the seconds of every stage (``CompiledOperator.artifact.timings``:
torch.export, torch-mlir import, taylor-jet, taylor-collapse, taylor-lower,
taylor-to-llvm + JIT).

One call (median over ``--repeats`` after a warm-up), split into:

- ``BLAS``: time inside the matrix products (the native runtime's BLAS
  shim, timed by its own counters: ``taylor_mlir._native.profile``), with
  their GFLOP/s;
- ``allocator``: time in the compiled code's allocations and frees (the
  runtime's buffer pool, buffers reused across calls);
- ``generated code``: the rest of the time inside the compiled functions —
  the elementwise jet arithmetic (Faà di Bruno / Leibniz / collapsed sums),
  transposes, slices, copies;
- ``boundary``: the runtime call (``_native.run``) outside the compiled
  functions (memref descriptors, native thread dispatch);
- ``Python``: ``CompiledOperator.__call__`` outside the runtime call (input
  checks, reading the model's parameters, allocating results, summing
  terms).

The split is additive on one thread (``--threads 1``, the default); with
more threads the parts of the batch run concurrently and only the wall time
is comparable. Each measurement runs in its own process.

Usage::

    .venv/bin/python benchmarks/profile_stages.py                 # B = 256
    .venv/bin/python benchmarks/profile_stages.py --batch 64 --op biharmonic --dim 5

Results: ``benchmarks/results/profile_stages.{json,md}`` (markdown also on
stdout).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ["BLAS", "allocator", "generated code", "boundary", "Python"]


def operator_options(op: str, dim: int) -> dict:
    import numpy as np

    if op == "weighted_laplacian":
        return {"sigma": np.diag(np.sqrt(np.arange(1.0, dim + 1)))}
    if op in ("stochastic_laplacian", "stochastic_biharmonic"):
        return {"samples": 10, "seed": 0}
    return {}


class Timers:
    """Accumulated seconds per part of a call."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PARTS + ["call", "runtime", "jobs"], 0.0)
        self.flops = 0

    def reset(self) -> None:
        """Zeroes the timers and the runtime's counters."""
        from taylor_mlir import _native

        self.seconds = dict.fromkeys(self.seconds, 0.0)
        self.flops = 0
        _native.profile_reset()

    def read(self) -> tuple[dict[str, float], int]:
        """The seconds (with the runtime's counters since `reset`) and the
        BLAS FLOPs."""
        read_counters(self)
        return dict(self.seconds), self.flops


def split(seconds: dict[str, float], wall: float, python: str = "Python") -> dict:
    """The parts of ``wall`` seconds (see the module doc) from `Timers.read`."""
    return {
        "BLAS": seconds["BLAS"],
        "allocator": seconds["allocator"],
        "generated code": seconds["jobs"] - seconds["BLAS"] - seconds["allocator"],
        "boundary": seconds["runtime"] - seconds["jobs"],
        python: wall - seconds["runtime"],
    }


def instrument(timers: Timers) -> None:
    """Turns the runtime's counters on and times its calls
    (`taylor_mlir._native.run`)."""
    from taylor_mlir import _native

    _native.profile(True)
    run = _native.run

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return run(*args, **kwargs)
        finally:
            timers.seconds["runtime"] += time.perf_counter() - start

    _native.run = timed


def read_counters(timers: Timers) -> None:
    """Adds the runtime's counters since the last reset to ``timers``."""
    from taylor_mlir import _native

    counters = _native.profile_read()
    timers.seconds["BLAS"] += counters.gemm_ns * 1e-9
    timers.seconds["allocator"] += counters.allocator_ns * 1e-9
    timers.seconds["jobs"] += counters.job_ns * 1e-9
    timers.flops += counters.gemm_flops


def worker(args: argparse.Namespace) -> dict:
    """One (mode) measurement in this process."""
    import torch

    timers = Timers()
    instrument(timers)
    import taylor_mlir as tm

    tm.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    from collapse_mlp import PAPER_WIDTHS, build_model

    model = build_model(args.dim, PAPER_WIDTHS, seed=0).to(dtype)
    x = torch.randn(
        args.batch, args.dim, generator=torch.Generator().manual_seed(1)
    ).to(dtype)
    start = time.perf_counter()
    op = tm.compile(
        model,
        op=args.op,
        example_inputs=x,
        collapsed=args.mode == "collapsed",
        cache=False,  # the compile stages are reported: never from the disk cache
        **operator_options(args.op, args.dim),
    )
    compile_seconds = time.perf_counter() - start
    timings = {}
    for artifact in op._artifacts.values():
        for stage, seconds in artifact.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    op(x)
    samples = []
    for _ in range(args.repeats):
        timers.reset()
        start = time.perf_counter()
        op(x)
        timers.seconds["call"] = time.perf_counter() - start
        samples.append(timers.read())
    samples.sort(key=lambda s: s[0]["call"])
    seconds, flops = samples[len(samples) // 2]
    parts = split(seconds, seconds["call"])
    return {
        "mode": args.mode,
        "compile_seconds": compile_seconds,
        "compile_stages": timings,
        "call_seconds": seconds["call"],
        "min_call_seconds": samples[0][0]["call"],
        "parts": parts,
        "blas_gflops": flops / seconds["BLAS"] / 1e9 if seconds["BLAS"] else None,
        "blas_flop": flops,
    }


def markdown(report: dict) -> str:
    cfg = report["config"]
    lines = [
        (
            f"# Profile: {cfg['op']}, paper MLP, D = {cfg['dim']}, B = {cfg['batch']}, "
            f"{cfg['dtype']}, {cfg['threads']} thread(s)"
        ),
        "",
        f"{report['date']}, {report['machine']}. Median call of {cfg['repeats']}.",
        "",
        "## One call",
        "",
        "| part | " + " | ".join(r["mode"] for r in report["runs"]) + " |",
        "|---|" + "---:|" * len(report["runs"]),
    ]
    for part in PARTS:
        cells = []
        for r in report["runs"]:
            ms = r["parts"][part] * 1e3
            cells.append(
                f"{ms:.1f} ms ({100 * r['parts'][part] / r['call_seconds']:.0f}%)"
            )
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    lines.append(
        "| **call** | "
        + " | ".join(f"**{r['call_seconds'] * 1e3:.1f} ms**" for r in report["runs"])
        + " |"
    )
    lines.append(
        "| BLAS GFLOP/s | "
        + " | ".join(
            f"{r['blas_gflops']:.1f}" if r["blas_gflops"] else "—"
            for r in report["runs"]
        )
        + " |"
    )
    lines += [
        "",
        "## Compile",
        "",
        "| stage | " + " | ".join(r["mode"] for r in report["runs"]) + " |",
    ]
    lines.append("|---|" + "---:|" * len(report["runs"]))
    stages = list(report["runs"][0]["compile_stages"])
    for stage in stages:
        lines.append(
            f"| {stage} | "
            + " | ".join(
                f"{r['compile_stages'].get(stage, 0.0):.2f} s" for r in report["runs"]
            )
            + " |"
        )
    lines.append(
        "| **tm.compile** | "
        + " | ".join(f"**{r['compile_seconds']:.2f} s**" for r in report["runs"])
        + " |"
    )
    if len(report["runs"]) == 2:
        a, b = report["runs"]
        lines += [
            "",
            (
                f"{a['mode']}/{b['mode']} time per call: "
                f"{a['call_seconds'] / b['call_seconds']:.3f}"
            ),
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--op", default="laplacian")
    parser.add_argument("--dim", type=int, default=50)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", nargs="+", default=["collapsed", "standard"])
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="collapsed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    runs = []
    for mode in args.modes:
        print(f"[profile] {args.op} {mode} B={args.batch} ...", file=sys.stderr)
        command = [sys.executable, __file__, "--worker", "--mode", mode]
        for name in ("op", "dim", "batch", "dtype", "threads", "repeats"):
            command += [f"--{name}", str(getattr(args, name))]
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "config": {
            k: getattr(args, k)
            for k in ("op", "dim", "batch", "dtype", "threads", "repeats")
        },
        "runs": runs,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "profile_stages.json").write_text(
        json.dumps(report, indent=2) + "\n"
    )
    text = markdown(report)
    (args.out_dir / "profile_stages.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
