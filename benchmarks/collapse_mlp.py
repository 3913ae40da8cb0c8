"""Standard vs collapsed Taylor mode: exact Laplacian of the paper MLP.

What is measured
----------------
The model is the MLP of the collapsed-Taylor-mode paper,
``D -> 768 -> 768 -> 512 -> 512 -> 1`` with ``tanh`` after every hidden layer,
in float64 (``torch.nn.Sequential`` of ``Linear``/``Tanh``, seeded), D = 50.
It is imported once per batch size with torch-mlir
(``taylor_mlir.torch_import``) and compiled by taylor-mlir twice with
``operators.laplacian(D).taylor_jet(text, collapse=...)`` (a ``TaylorJet`` of
order 2 along the D unit directions, top coefficient summed):

- ``standard``:  ``collapse=False`` (second-order coefficients per direction,
  summed at the end);
- ``collapsed``: ``collapse=True`` (``taylor-collapse``: the sum over the D
  directions is pushed toward the inputs, one second-order coefficient).

Both are called with the D unit directions ``x1 = eye`` (``[D, B, D]``) and
return the exact Laplacian ``[B, 1]``.

For each (method, batch size) the script reports: the compile time
(``TaylorJet`` construction: ``taylor-jet``, ``taylor-collapse``,
``taylor-lower``, LLVM lowering and JIT), the median and the minimum time per
call over ``--repeats`` timed calls (after one untimed warm-up call), the peak
heap memory of the compiled code during the calls, and the error of the Laplacian
against a ``torch.func`` reference (the trace of the Hessian, float64). Then
the ratios collapsed/standard of the median time and of the peak memory, per
batch size, against the targets of the issue (time <= 0.55, memory <= 0.5;
reported as PASS/MISS, not asserted).

How
---
Every (method, batch size) runs in its own child process (this script with
``--worker``; it prints one JSON object on stdout), so that both methods are
measured the same way and neither inherits the other's heap. The parent builds
the model, imports it with torch-mlir, computes the reference and hands the
MLIR text, the input and the reference to the children through files.

Work: the FLOPs of the lowered code, standard and collapsed, as estimated by
``taylor-collapse{cost-analysis}`` (float ops of every linalg body times its
trip count), reported as a third ratio: it is what the compiler removed,
independent of how fast the generated loops run.

Peak memory: the peak heap memory of the compiled code during the timed
calls, counted exactly: the JIT-compiled code's ``malloc``/``free`` go through
``taylor_mlir.jit.BufferPool`` (``TaylorJet(track_allocations=True)``),
which records the bytes live and their peak. This is the operator's working
memory: intermediate coefficient tensors and temporaries (the result arrays,
allocated by the caller, are not counted). Resident-set measurements
(``VmHWM``, sampling ``/proc``) do not work here: the compiled code's buffers
are served from memory glibc has already freed back into its heap after
compiling, so the RSS does not move during a call.

The compiled code is simple (row-blocked contractions, no explicit
vectorization yet), so the default batch sizes are moderate; ``--small`` shrinks the model (D = 8, widths
/16) for a quick end-to-end check.

Usage::

    .venv/bin/python benchmarks/collapse_mlp.py                 # default
    .venv/bin/python benchmarks/collapse_mlp.py --batch 8 32 128 --repeats 5
    .venv/bin/python benchmarks/collapse_mlp.py --small --batch 1 --repeats 1

Results: ``benchmarks/results/collapse_mlp.{json,md}`` (``collapse_mlp_small``
with ``--small``); the markdown table is printed on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
METHODS = ("standard", "collapsed")
PAPER_WIDTHS = (768, 768, 512, 512)
PAPER_DIM = 50
TARGETS = {"time": 0.55, "memory": 0.5}
# --------------------------------------------------------------------------
# Child process: compile one method for one batch size, time it, measure it.
# --------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    from taylor_mlir import operators
    from taylor_mlir.taylor_mode import broadcast_directions

    workdir = Path(args.workdir)
    text = (workdir / f"model_b{args.batch}.mlir").read_text()
    x = np.load(workdir / f"x_b{args.batch}.npy")
    reference = np.load(workdir / f"ref_b{args.batch}.npy")
    batch, dim = x.shape
    laplacian_op = operators.laplacian(dim)
    eye = broadcast_directions(laplacian_op.directions, batch)

    start = time.perf_counter()
    jet = laplacian_op.taylor_jet(
        text, collapse=args.method == "collapsed", track_allocations=True
    )
    compile_s = time.perf_counter() - start

    start = time.perf_counter()
    _, _, laplacian = jet(x, eye)
    warmup_s = time.perf_counter() - start
    laplacian = np.asarray(laplacian).reshape(-1)
    error = float(np.max(np.abs(laplacian - reference)) / np.max(np.abs(reference)))
    del laplacian

    gc.collect()
    gc.disable()
    allocations = jet.allocations
    allocations.reset_peak()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        outputs = jet(x, eye)
        times.append(time.perf_counter() - start)
        del outputs
    gc.enable()

    return {
        "method": args.method,
        "batch": batch,
        "compile_s": compile_s,
        "warmup_s": warmup_s,
        "times_s": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "peak_heap_mib": allocations.peak / 2**20,
        "allocations_per_call": allocations.allocations / (args.repeats + 1),
        "max_rel_error": error,
    }


# --------------------------------------------------------------------------
# Parent process: model, import, reference, one child per measurement, report.
# --------------------------------------------------------------------------


def build_model(dim: int, widths: tuple[int, ...], seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    previous = dim
    for width in widths:
        layers += [torch.nn.Linear(previous, width), torch.nn.Tanh()]
        previous = width
    layers.append(torch.nn.Linear(previous, 1))
    return torch.nn.Sequential(*layers).double().eval()


def reference_laplacian(model: Any, x: Any) -> np.ndarray:
    """The Laplacian of ``model`` at each row of ``x``: tr(Hessian), torch.func."""
    import torch
    from torch.func import hessian, vmap

    def f(xi: torch.Tensor) -> torch.Tensor:
        return model(xi[None])[0, 0]

    return vmap(lambda xi: torch.trace(hessian(f)(xi)))(x).detach().numpy()


def estimated_flops(text: str, dim: int) -> tuple[int, int]:
    """FLOPs of the lowered code, standard and collapsed, as estimated by
    ``taylor-collapse{cost-analysis}`` (its remark) through ``taylor-opt``."""
    from taylor_mlir.tools import taylor_opt

    jet = f"--taylor-jet=order=2 directions={dim} input-coefficients=1 sum-top"
    completed = subprocess.run(
        [
            taylor_opt(),
            "-",
            jet,
            "--taylor-collapse=cost-analysis",
            "-mlir-print-op-on-diagnostic=false",
            "-o",
            os.devnull,
        ],
        input=text,
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"estimated FLOPs (\d+) -> (\d+)", completed.stderr)
    if match is None:
        raise RuntimeError(f"no cost remark from taylor-opt:\n{completed.stderr}")
    return int(match.group(1)), int(match.group(2))


def run_child(method: str, batch: int, repeats: int, workdir: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--method",
        method,
        "--batch",
        str(batch),
        "--repeats",
        str(repeats),
        "--workdir",
        str(workdir),
    ]
    completed = subprocess.run(command, check=False, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"worker ({method}, batch {batch}) failed with exit code "
            f"{completed.returncode}:\n{completed.stderr.strip()}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


def markdown(report: dict[str, Any]) -> str:
    config = report["config"]
    widths = " -> ".join(map(str, [config["dim"], *config["widths"], 1]))
    lines = [
        "# Standard vs collapsed Taylor mode: exact Laplacian of an MLP",
        "",
        (
            f"Model `{widths}`, tanh, float64, order 2, {config['dim']} directions; "
            f"{config['repeats']} timed calls after 1 warm-up; "
            f"commit `{report['machine']['commit']}`, "
            f"{report['machine']['cpu_count']} CPUs, {report['date']}."
        ),
        "",
        (
            "| batch | method | compile (s) | median (ms) | min (ms) "
            "| peak heap (MiB) | max rel. error |"
        ),
        "|---:|:---|---:|---:|---:|---:|---:|",
    ]
    for r in report["measurements"]:
        lines.append(
            f"| {r['batch']} | {r['method']} | {r['compile_s']:.2f} "
            f"| {1e3 * r['median_s']:.1f} | {1e3 * r['min_s']:.1f} "
            f"| {r['peak_heap_mib']:.2f} | {r['max_rel_error']:.1e} |"
        )
    time_target, memory_target = TARGETS["time"], TARGETS["memory"]
    lines += [
        "",
        (
            f"| batch | time collapsed/standard (target <= {time_target}) "
            f"| memory collapsed/standard (target <= {memory_target}) "
            "| estimated FLOPs collapsed/standard |"
        ),
        "|---:|:---|:---|:---|",
    ]
    for r in report["ratios"]:
        lines.append(
            f"| {r['batch']} | {r['time']:.3f} {r['time_verdict']} "
            f"| {r['memory']:.3f} {r['memory_verdict']} "
            f"| {r['flops']:.3f} ({r['flops_collapsed']:.3g} / "
            f"{r['flops_standard']:.3g}) |"
        )
    return "\n".join(lines) + "\n"


def run_benchmark(args: argparse.Namespace) -> None:
    import torch

    if args.small:
        dim, widths = 8, tuple(w // 16 for w in PAPER_WIDTHS)
    else:
        dim, widths = args.dim, PAPER_WIDTHS
    stem = "collapse_mlp_small" if args.small else "collapse_mlp"
    model = build_model(dim, widths, args.seed)
    generator = torch.Generator().manual_seed(args.seed + 1)
    inputs = {
        b: torch.randn(b, dim, dtype=torch.float64, generator=generator)
        for b in args.batch
    }

    from taylor_mlir.torch_import import import_torch_modules

    print(
        f"importing the model with torch-mlir ({len(inputs)} batch sizes)",
        file=sys.stderr,
    )
    start = time.perf_counter()
    texts = import_torch_modules([(model, (x,)) for x in inputs.values()])
    import_s = time.perf_counter() - start

    measurements = []
    texts_by_batch = dict(zip(inputs, texts, strict=True))
    with tempfile.TemporaryDirectory(prefix="collapse_mlp_") as tmp:
        workdir = Path(tmp)
        for (b, x), text in zip(inputs.items(), texts, strict=True):
            (workdir / f"model_b{b}.mlir").write_text(text)
            np.save(workdir / f"x_b{b}.npy", x.numpy())
            np.save(workdir / f"ref_b{b}.npy", reference_laplacian(model, x))
        for b in args.batch:
            for method in args.methods:
                print(
                    f"[{method:>9} batch {b:>3}] ...",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
                r = run_child(method, b, args.repeats, workdir)
                print(
                    f" compile {r['compile_s']:.2f} s, median "
                    f"{1e3 * r['median_s']:.1f} ms, peak extra "
                    f"{r['peak_heap_mib']:.2f} MiB, error {r['max_rel_error']:.1e}",
                    file=sys.stderr,
                )
                measurements.append(r)

    ratios = []
    by_key = {(r["method"], r["batch"]): r for r in measurements}
    for b in args.batch:
        standard, collapsed = by_key.get(("standard", b)), by_key.get(("collapsed", b))
        if standard is None or collapsed is None:
            continue
        flops_standard, flops_collapsed = estimated_flops(texts_by_batch[b], dim)
        time_ratio = collapsed["median_s"] / standard["median_s"]
        memory_ratio = collapsed["peak_heap_mib"] / standard["peak_heap_mib"]
        ratios.append(
            {
                "batch": b,
                "time": time_ratio,
                "time_verdict": verdict(time_ratio, TARGETS["time"]),
                "memory": memory_ratio,
                "memory_verdict": verdict(memory_ratio, TARGETS["memory"]),
                "flops_standard": flops_standard,
                "flops_collapsed": flops_collapsed,
                "flops": flops_collapsed / flops_standard,
            }
        )

    report = {
        "benchmark": "collapse_mlp",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": {
            "dim": dim,
            "widths": list(widths),
            "activation": "tanh",
            "dtype": "float64",
            "batch": list(args.batch),
            "repeats": args.repeats,
            "warmup": 1,
            "seed": args.seed,
            "small": args.small,
        },
        "machine": {
            "commit": git_commit(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "torch_mlir_import_s": import_s,
        "targets": TARGETS,
        "measurements": measurements,
        "ratios": ratios,
    }
    table = markdown(report)
    print(table)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / f"{stem}.md").write_text(table)
    print(f"wrote {out_dir / stem}.json and .md", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls")
    parser.add_argument("--dim", type=int, default=PAPER_DIM, help="input size D")
    parser.add_argument(
        "--small", action="store_true", help="D = 8 and widths / 16 (a quick check)"
    )
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    # Internal: one measurement in a child process.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker and (args.method is None or args.workdir is None):
        parser.error("--worker needs --method and --workdir")
    if args.worker and len(args.batch) != 1:
        parser.error("--worker takes one --batch")
    if args.worker:
        args.batch = args.batch[0]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
