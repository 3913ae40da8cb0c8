"""Matrix-product throughput on this machine: the measurement behind the
codegen choice for contractions (docs/performance.md).

For the contraction shapes of the paper MLP's Taylor-mode code (rows = R·B
coefficient rows, the layer widths as k and n), in float64 and float32, one
``linalg.matmul`` compiled by taylor-mlir's ``taylor-to-llvm``:

- ``loops``: with ``blas=false``, the generated loops (row-blocked by
  ``taylor-tile-contractions``, vectorized by LLVM only);
- ``ours``: as compiled by default — ``taylor-gemm-to-blas`` calls the
  OpenBLAS bundled with numpy — with 1 and 2 threads;
- ``torch``: ``torch.matmul`` with 1 and 2 threads (the machine's reference
  dgemm/sgemm throughput, as PEERS.md measures it).

Reports GFLOP/s (best of ``--repeats`` after a warm-up) as JSON and a
markdown table in ``benchmarks/results/gemm_throughput.{json,md}``.

    .venv/bin/python benchmarks/gemm_throughput.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path

import numpy as np
import torch
from taylor_mlir import blas as taylor_blas
from taylor_mlir.jit import JitModule

HERE = Path(__file__).resolve().parent
#: (rows, k, n): R·B rows for R = 50 directions at B = 32 and 128, the
#: paper MLP's 768x768 and 768x512 layers.
SHAPES = [(1600, 768, 768), (6400, 768, 768), (1600, 768, 512)]
TYPES = {"f64": np.float64, "f32": np.float32}


def matmul(m: int, k: int, n: int, t: str, blas: bool) -> JitModule:
    """``linalg.matmul`` through ``taylor-to-llvm``, with (default) or
    without (``blas=false``: generated loops) BLAS calls."""
    a, b, c = f"tensor<{m}x{k}x{t}>", f"tensor<{k}x{n}x{t}>", f"tensor<{m}x{n}x{t}>"
    return JitModule(
        f"""
        func.func @mm(%a: {a}, %b: {b}) -> {c} {{
          %z = arith.constant 0.0 : {t}
          %e = tensor.empty() : {c}
          %f = linalg.fill ins(%z : {t}) outs(%e : {c}) -> {c}
          %r = linalg.matmul ins(%a, %b : {a}, {b}) outs(%f : {c}) -> {c}
          return %r : {c}
        }}""",
        pipeline=f"builtin.module(taylor-to-llvm{{blas={str(blas).lower()}}})",
    )


def best(fn, repeats: int) -> float:
    fn()
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one small shape")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    args = parser.parse_args(argv)

    shapes = [(256, 128, 128)] if args.quick else SHAPES
    rng = np.random.default_rng(0)
    rows = []
    for t, dtype in TYPES.items():
        for m, k, n in shapes:
            print(f"{t} {m}x{k}x{n} ...", file=sys.stderr)
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            gflops = 2 * m * k * n / 1e9
            row = {"type": t, "m": m, "k": k, "n": n}
            loops = matmul(m, k, n, t, blas=False)
            row["loops"] = gflops / best(lambda: loops.mm(a, b), args.repeats)
            ours = matmul(m, k, n, t, blas=True)
            for threads in (1, 2):
                taylor_blas.set_num_threads(threads)
                row[f"ours {threads}t"] = gflops / best(
                    lambda: ours.mm(a, b), args.repeats
                )
            tolerance = 1e-9 if t == "f64" else 1e-3
            for mod in (loops, ours):
                (c,) = mod.mm(a, b)
                np.testing.assert_allclose(c, a @ b, rtol=tolerance, atol=tolerance * k)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            for threads in (1, 2):
                torch.set_num_threads(threads)
                row[f"torch {threads}t"] = gflops / best(lambda: ta @ tb, args.repeats)
            rows.append(row)

    methods = ["loops", "ours 1t", "ours 2t", "torch 1t", "torch 2t"]
    lines = [
        "| type | m x k x n | " + " | ".join(methods) + " | ours 1t / torch 1t |",
        "|---|---|" + "---:|" * (len(methods) + 1),
    ]
    for r in rows:
        values = " | ".join(f"{r[m]:.1f}" for m in methods)
        lines.append(
            f"| {r['type']} | {r['m']}x{r['k']}x{r['n']} | {values} | "
            f"{r['ours 1t'] / r['torch 1t']:.2f} |"
        )
    table = f"GFLOP/s, best of {args.repeats} calls\n\n" + "\n".join(lines)
    print(table)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "gemm_throughput_quick" if args.quick else "gemm_throughput"
    (out / f"{stem}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / f"{stem}.md").write_text(table + "\n")
    print(f"wrote {out / stem}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
