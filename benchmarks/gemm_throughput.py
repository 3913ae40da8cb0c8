"""Matrix-product throughput on this machine: the measurement behind the
codegen choice for contractions (docs/performance.md).

For the contraction shapes of the paper MLP's Taylor-mode code (rows = R·B
coefficient rows, the layer widths as k and n), in float64 and float32:

- ``ours``: ``linalg.matmul`` through taylor-mlir's ``taylor-to-llvm``
  pipeline as it stands (row-blocked loops, no explicit vectorization);
- ``jit-blas``: JIT-compiled code that calls ``cblas_dgemm``/``cblas_sgemm``
  of the OpenBLAS bundled with numpy (``scipy_cblas_?gemm64_``, ILP64),
  registered in the execution engine as a runtime symbol — what a
  BLAS-calling lowering would generate — with 1 and 2 threads;
- ``torch``: ``torch.matmul`` with 1 and 2 threads (the machine's reference
  dgemm/sgemm throughput, as PEERS.md measures it).

Reports GFLOP/s (best of ``--repeats`` after a warm-up) as JSON and a
markdown table in ``benchmarks/results/gemm_throughput.{json,md}``.

    .venv/bin/python benchmarks/gemm_throughput.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import timeit
from pathlib import Path

import numpy as np
import torch
from taylor_mlir import blas as taylor_blas
from taylor_mlir import ir, passmanager
from taylor_mlir.execution_engine import ExecutionEngine
from taylor_mlir.jit import JitModule
from taylor_mlir.runtime import get_ranked_memref_descriptor

HERE = Path(__file__).resolve().parent
#: (rows, k, n): R·B rows for R = 50 directions at B = 32 and 128, the
#: paper MLP's 768x768 and 768x512 layers.
SHAPES = [(1600, 768, 768), (6400, 768, 768), (1600, 768, 512)]
TYPES = {"f64": (np.float64, "d"), "f32": (np.float32, "s")}


def ours(m: int, k: int, n: int, t: str) -> JitModule:
    a, b, c = f"tensor<{m}x{k}x{t}>", f"tensor<{k}x{n}x{t}>", f"tensor<{m}x{n}x{t}>"
    return JitModule(f"""
        func.func @mm(%a: {a}, %b: {b}) -> {c} {{
          %z = arith.constant 0.0 : {t}
          %e = tensor.empty() : {c}
          %f = linalg.fill ins(%z : {t}) outs(%e : {c}) -> {c}
          %r = linalg.matmul ins(%a, %b : {a}, {b}) outs(%f : {c}) -> {c}
          return %r : {c}
        }}""")


def jit_blas(m: int, k: int, n: int, t: str, blas: ctypes.CDLL, letter: str):
    """JIT code calling ``cblas_?gemm`` on row-major memrefs."""
    a, b, c = f"memref<{m}x{k}x{t}>", f"memref<{k}x{n}x{t}>", f"memref<{m}x{n}x{t}>"
    signature = f"(i32, i32, i32, i64, i64, i64, {t}, !llvm.ptr, i64, !llvm.ptr, i64, {t}, !llvm.ptr, i64) -> ()"
    pointers = []
    for name, type_ in (("a", a), ("b", b), ("c", c)):
        pointers.append(f"""
          %{name}i = memref.extract_aligned_pointer_as_index %{name} : {type_} -> index
          %{name}64 = arith.index_cast %{name}i : index to i64
          %{name}p = llvm.inttoptr %{name}64 : i64 to !llvm.ptr""")
    text = f"""
        func.func private @gemm{signature.split(" -> ")[0]}
        func.func @mm(%a: {a}, %b: {b}, %c: {c}) attributes {{llvm.emit_c_interface}} {{
          {"".join(pointers)}
          %row_major = arith.constant 101 : i32
          %no_trans = arith.constant 111 : i32
          %m = arith.constant {m} : i64
          %n = arith.constant {n} : i64
          %k = arith.constant {k} : i64
          %one = arith.constant 1.0 : {t}
          %zero = arith.constant 0.0 : {t}
          func.call @gemm(%row_major, %no_trans, %no_trans, %m, %n, %k, %one, %ap, %k,
                          %bp, %n, %zero, %cp, %n) : {signature}
          return
        }}"""
    with ir.Context():
        module = ir.Module.parse(text)
        passmanager.PassManager.parse(
            "builtin.module(finalize-memref-to-llvm, convert-func-to-llvm, "
            "convert-arith-to-llvm, reconcile-unrealized-casts)"
        ).run(module.operation)
        engine = ExecutionEngine(module, opt_level=2)
        symbol = getattr(blas, f"scipy_cblas_{letter}gemm64_")
        engine.raw_register_runtime("gemm", ctypes.cast(symbol, ctypes.c_void_p))

    def call(x, y, z):
        engine.invoke(
            "mm",
            *[
                ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(v)))
                for v in (x, y, z)
            ],
        )

    return call


def best(fn, repeats: int) -> float:
    fn()
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one small shape")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    args = parser.parse_args(argv)

    blas = taylor_blas.library()
    shapes = [(256, 128, 128)] if args.quick else SHAPES
    rng = np.random.default_rng(0)
    rows = []
    for t, (dtype, letter) in TYPES.items():
        for m, k, n in shapes:
            print(f"{t} {m}x{k}x{n} ...", file=sys.stderr)
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            c = np.zeros((m, n), dtype=dtype)
            gflops = 2 * m * k * n / 1e9
            row = {"type": t, "m": m, "k": k, "n": n}
            mod = ours(m, k, n, t)
            row["ours"] = gflops / best(lambda: mod.mm(a, b), args.repeats)
            call = jit_blas(m, k, n, t, blas, letter)
            for threads in (1, 2):
                taylor_blas.set_num_threads(threads)
                row[f"jit-blas {threads}t"] = gflops / best(
                    lambda: call(a, b, c), args.repeats
                )
            tolerance = 1e-9 if t == "f64" else 1e-3
            np.testing.assert_allclose(c, a @ b, rtol=tolerance, atol=tolerance * k)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            for threads in (1, 2):
                torch.set_num_threads(threads)
                row[f"torch {threads}t"] = gflops / best(lambda: ta @ tb, args.repeats)
            rows.append(row)

    methods = ["ours", "jit-blas 1t", "jit-blas 2t", "torch 1t", "torch 2t"]
    lines = [
        "| type | m x k x n | " + " | ".join(methods) + " | ours / torch 1t |",
        "|---|---|" + "---:|" * (len(methods) + 1),
    ]
    for r in rows:
        values = " | ".join(f"{r[m]:.1f}" for m in methods)
        lines.append(
            f"| {r['type']} | {r['m']}x{r['k']}x{r['n']} | {values} | "
            f"{r['ours'] / r['torch 1t']:.2f} |"
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
