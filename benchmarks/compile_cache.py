"""Compile time of a process started again, with and without the disk
compile cache (`taylor_mlir.compile_cache`).

Each configuration runs a fresh Python process that builds the small MLP
8 -> 64 -> 64 -> 1 (tanh, float64) and compiles its Laplacian once; the
time of ``tm.compile`` (the fastest of ``--repeats`` processes) and its stages
(``artifact.timings``) are recorded:

- ``no cache``: ``TAYLOR_MLIR_CACHE=0``: export, import, build, self-check;
- ``cold``: the cache on, empty: the same, plus writing the entries;
- ``fingerprint hit``: the cache on, the entries written by a previous
  process: no export and no import; the artifact is built from the stored
  import and validated by the self-check;
- ``graph hit``: the same with the fingerprint lookup off
  (``compile_cache.FINGERPRINT = False``): exported, the import skipped;
- ``graph hit, no check``: ``check=False``: without the self-check a
  fingerprint is never trusted, so the same, without the self-check.

Results in ``results/compile_cache.{json,md}``; about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results")

_CHILD = """
import json, sys, time
import torch
import taylor_mlir as tm
import taylor_mlir.compile_cache

torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(8, 64), torch.nn.Tanh(),
    torch.nn.Linear(64, 64), torch.nn.Tanh(),
    torch.nn.Linear(64, 1),
).double()
x = torch.randn(16, 8, dtype=torch.float64)
check = sys.argv[1] != "nocheck"
tm.compile_cache.FINGERPRINT = sys.argv[1] != "nofingerprint"
start = time.perf_counter()
lap = tm.compile(model, op="laplacian", example_inputs=x, check=check)
seconds = time.perf_counter() - start
info = tm.compile_cache_info()
json.dump({
    "compile_s": seconds,
    "timings": lap.artifact.timings,
    "origin": getattr(lap.artifact, "origin", None),
    "fingerprint_hits": info["fingerprint_hits"],
    "disk_hits": info["disk_hits"],
    "laplacian": lap(x).tolist(),
}, sys.stdout)
"""


def run(script: Path, cache_dir: Path, enabled: bool, mode: str = "check") -> dict:
    env = {**os.environ, "TAYLOR_MLIR_CACHE_DIR": str(cache_dir)}
    env["TAYLOR_MLIR_CACHE"] = "1" if enabled else "0"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    configurations = {}
    with tempfile.TemporaryDirectory(prefix="taylor_mlir_bench_") as tmp:
        tmp = Path(tmp)
        script = tmp / "child.py"
        script.write_text(_CHILD)
        # (configuration, cache on, child mode, the origin expected)
        plan = [
            ("no cache", False, "check", "compiled"),
            ("cold", True, "check", "compiled"),
            ("fingerprint hit", True, "check", "disk: fingerprint"),
            ("graph hit", True, "nofingerprint", "disk: exported graph"),
            ("graph hit, no check", True, "nocheck", "disk: exported graph"),
        ]
        runs: dict[str, list[dict]] = {name: [] for name, *_ in plan}
        retries = 0
        while len(runs["no cache"]) < args.repeats:
            # A repeat is redone if a run did not come from where expected
            # (a reinstall of taylor_mlir meanwhile changes every key).
            cache = tmp / f"cache{len(runs['no cache'])}-{retries}"
            results = {
                name: run(script, cache, enabled, mode)
                for name, enabled, mode, _ in plan
            }
            if any(results[n]["origin"] != origin for n, _, _, origin in plan):
                retries += 1
                if retries > 3 * args.repeats:
                    raise RuntimeError(f"unexpected origins: {results}")
                continue
            for name, result in results.items():
                runs[name].append(result)
        reference = runs["no cache"][0]["laplacian"]
        for name, results in runs.items():
            assert all(r["laplacian"] == reference for r in results), name
            stages = sorted({k for r in results for k in r["timings"]})
            # The fastest repeat: the least disturbed by other work.
            best = min(results, key=lambda r: r["compile_s"])
            configurations[name] = {
                "compile_s": best["compile_s"],
                "compile_s_median": statistics.median(r["compile_s"] for r in results),
                "process_s": best["process_s"],
                "origin": best["origin"],
                "stages_s": {k: best["timings"].get(k, 0.0) for k in stages},
            }

    base = configurations["no cache"]["compile_s"]
    result = {
        "model": "MLP 8 -> 64 -> 64 -> 1, tanh, float64; laplacian, B = 16",
        "repeats": args.repeats,
        "retries": retries,
        "cpus": os.cpu_count(),
        "load_average": [load_before, os.getloadavg()[0]],
        "configurations": configurations,
        "speedup_fingerprint_hit": base
        / configurations["fingerprint hit"]["compile_s"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "compile_cache.json").write_text(json.dumps(result, indent=2) + "\n")

    order = [
        "fingerprint",
        "disk cache read",
        "torch.export",
        "torch-mlir import",
        "taylor-jet",
        "taylor-collapse",
        "taylor-lower",
        "taylor-to-llvm + JIT",
        "self-check",
    ]
    lines = [
        "# Compile cache (`benchmarks/compile_cache.py`)",
        "",
        f"Model: {result['model']}; a fresh process per compile, the fastest "
        f"of {args.repeats} (its stages; median in the json); "
        f"{os.cpu_count()}-core machine, load average "
        f"{load_before:.1f} before, {result['load_average'][1]:.1f} after "
        "(other work: times scale with it). Seconds.",
        "",
        "| configuration | tm.compile | process | " + " | ".join(order) + " |",
        "|---" * (len(order) + 3) + "|",
    ]
    for name, c in configurations.items():
        cells = [
            f"{c['stages_s'][k]:.3f}" if k in c["stages_s"] else "–" for k in order
        ]
        lines.append(
            f"| {name} | **{c['compile_s']:.2f}** | {c['process_s']:.2f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        f"A fingerprint hit compiles {result['speedup_fingerprint_hit']:.1f}x "
        "faster than no cache. Every configuration computes the same "
        "Laplacian, bit for bit.",
        "",
    ]
    (RESULTS / "compile_cache.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
