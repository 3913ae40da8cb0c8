"""The paper MLP's Laplacian and biharmonic on an NVIDIA GPU: taylor-mlir
(``compile(..., device="cuda")``) vs jet-for-pytorch and torch.func, both on
CUDA, forward and training step. Run by ``benchmarks/gpu_check.sh`` where a
GPU is; results in ``benchmarks/results/gpu_paper_mlp.{json,md}``.

What is measured
----------------
The MLP of the collapsed-Taylor-mode paper, ``D -> 768 -> 768 -> 512 -> 512
-> 1`` with tanh (seeded), float64 and float32:

- ``laplacian`` at D = 50, ``biharmonic`` at D = 5;
- ``forward``: the operator on a batch, no gradients;
- ``training step``: ``loss = mean(op(x)²)`` and its gradient with respect
  to every parameter (``loss.backward()``).

Methods, all on the same CUDA device and inputs:

- ``ours``: ``taylor_mlir.compile(model, op, example_inputs=x,
  device="cuda")`` (collapsed Taylor mode);
- ``torch_func``: ``vmap(hessian)`` and its trace (Laplacian); the trace of
  the Hessian of that Laplacian (biharmonic);
- ``jet_collapsed``: jet-for-pytorch's ``jet.laplacian`` /
  ``jet.bilaplacian`` (collapsed), traced and ``vmap``-ed as in its authors'
  benchmark (``peers/worker312.py``); skipped, and said so, where the
  package is not installed.

Each timing: 3 warm-up calls, then calls until ``--seconds`` have passed
(at least 5), each ended by ``torch.cuda.synchronize()``; median seconds.
Correctness: every method's float64 forward against ``torch_func``'s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"
WIDTHS = (768, 768, 512, 512)


def paper_mlp(dim: int, dtype: torch.dtype, device) -> torch.nn.Sequential:
    torch.manual_seed(0)
    layers, width = [], dim
    for out in WIDTHS:
        layers += [torch.nn.Linear(width, out), torch.nn.Tanh()]
        width = out
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers).to(dtype=dtype, device=device)


def torch_func_operator(model, op):
    from torch.func import hessian, vmap

    def f(xi):
        return model(xi[None]).reshape(())

    def lap(xi):
        return hessian(f)(xi).diagonal().sum()

    if op == "laplacian":
        return vmap(lap)
    return vmap(lambda xi: hessian(lap)(xi).diagonal().sum())


def jet_operator(model, op, x):
    import jet
    from torch.func import vmap

    build = jet.laplacian if op == "laplacian" else jet.bilaplacian
    fn = build(model, (x[0],), collapsed=True)
    fn, _ = jet.capture_graph(fn, (x[0],))
    jet.common_subexpression_elimination(fn.graph)
    fn.recompile()
    return vmap(fn)


def ours_operator(model, op, x):
    import taylor_mlir as tm

    return tm.compile(model, op, example_inputs=x, device="cuda")


def timed(fn, seconds: float) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times, start = [], time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(op, dtype, batch, method, seconds):
    device = torch.device("cuda")
    dim = 50 if op == "laplacian" else 5
    model = paper_mlp(dim, dtype, device)
    x = torch.randn(batch, dim, generator=torch.Generator().manual_seed(1))
    x = x.to(dtype=dtype, device=device)
    start = time.perf_counter()
    if method == "ours":
        operator = ours_operator(model, op, x)
    elif method == "torch_func":
        operator = torch_func_operator(model, op)
    else:
        operator = jet_operator(model, op, x)
    setup = time.perf_counter() - start
    value = operator(x).reshape(-1)
    params = list(model.parameters())

    def forward():
        with torch.no_grad():
            operator(x)

    def training_step():
        loss = operator(x).reshape(-1).pow(2).mean()
        torch.autograd.grad(loss, params)

    return {
        "setup_s": setup,
        "forward_s": timed(forward, seconds),
        "training_step_s": timed(training_step, seconds),
        "value": value.detach().double().cpu(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu_paper_mlp")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_paper_mlp: no CUDA device (torch.cuda.is_available())")
    methods = ["ours", "torch_func"]
    if importlib.util.find_spec("jet") is not None:
        methods.append("jet_collapsed")
    else:
        print("jet-for-pytorch is not installed: its column is left out")
    rows = []
    for op in ("laplacian", "biharmonic"):
        for dtype in (torch.float64, torch.float32):
            for batch in args.batches:
                results = {}
                for method in methods:
                    try:
                        results[method] = measure(
                            op, dtype, batch, method, args.seconds
                        )
                    except Exception as error:  # reported, not hidden
                        results[method] = {"error": f"{type(error).__name__}: {error}"}
                    torch.cuda.empty_cache()
                reference = results["torch_func"].get("value")
                for method, r in results.items():
                    if "value" in r and reference is not None:
                        v = r.pop("value")
                        r["max_rel_error_vs_torch_func"] = float(
                            (v - reference).abs().max() / reference.abs().max()
                        )
                    r.pop("value", None)
                    rows.append(
                        {
                            "op": op,
                            "dtype": str(dtype),
                            "batch": batch,
                            "method": method,
                            **r,
                        }
                    )
                    print(rows[-1], flush=True)
    meta = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1)
    )
    lines = [
        f"# Paper MLP on {meta['gpu']} (torch {meta['torch']}, CUDA {meta['cuda']})",
        "",
        "Median seconds per call; ratio = method / ours (above 1: ours is faster).",
        "",
        "| op | dtype | B | method | forward s | ratio | training step s | ratio | error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ours = next(
            r
            for r in rows
            if r["method"] == "ours"
            and all(r[k] == row[k] for k in ("op", "dtype", "batch"))
        )
        if "error" in row:
            lines.append(
                f"| {row['op']} | {row['dtype']} | {row['batch']} | {row['method']} "
                f"| failed: {row['error'][:80]} | | | | |"
            )
            continue
        ratio = lambda k: (f"{row[k] / ours[k]:.2f}" if k in ours and ours[k] else "-")
        lines.append(
            f"| {row['op']} | {row['dtype']} | {row['batch']} | {row['method']} "
            f"| {row['forward_s']:.3g} | {ratio('forward_s')} "
            f"| {row['training_step_s']:.3g} | {ratio('training_step_s')} "
            f"| {row.get('max_rel_error_vs_torch_func', float('nan')):.1e} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
