"""Per-call overhead and concurrency of compiled operators, against the
figures of the Python runtime that the native runtime replaced
(``results/call_overhead_baseline.json``, measured by this script at commit
30653cd: ctypes malloc/free callbacks into Python, numpy's OpenBLAS,
batch parts on Python threads).

- Per-call time of a small MLP's compiled Laplacian at B = 1, 4, 16, against
  one eager forward of the same model and torch.func's Laplacian (median of
  ``--calls`` calls after a warm-up), under ``torch.no_grad()``; and the same
  call with grad mode on and the parameters requiring grad (the call of a
  training step, recorded for autograd).
- Time and peak memory (ru_maxrss growth) of one call at B = 256.
- Four Python threads calling compiled operators at once: correct results
  (compared with single-threaded calls) and the wall time.
- A Python thread counting while a long call is in flight: its rate against
  an idle machine's (1.0: the call never holds the GIL).

Results in ``results/call_overhead.{json,md}``; about a minute.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import threading
import time
from pathlib import Path

import torch

import taylor_mlir as tm

RESULTS = Path(__file__).with_name("results")


def mlp(dim: int, width: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(dim, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, 1),
    ).double()


def median_seconds(fn, calls: int) -> float:
    for _ in range(max(calls // 10, 3)):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_func_laplacian(model):
    def f(xi):
        return model(xi[None])[0, 0]

    def lap(x):
        return torch.vmap(lambda xi: torch.func.hessian(f)(xi).trace())(x)

    return lap


def per_call(model, dim: int, calls: int) -> list[dict]:
    rows = []
    reference = torch_func_laplacian(model)
    for batch in (1, 4, 16):
        x = torch.randn(batch, dim, dtype=torch.float64)
        op = tm.compile(model, op="laplacian", example_inputs=x)
        with torch.no_grad():
            ours = median_seconds(lambda: op(x), calls)
            eager = median_seconds(lambda: model(x), calls)
            func = median_seconds(lambda: reference(x), max(calls // 10, 5))
        recorded = median_seconds(lambda: op(x), calls)
        rows.append(
            {
                "batch": batch,
                "ours_us": ours * 1e6,
                "ours_recorded_us": recorded * 1e6,
                "eager_forward_us": eager * 1e6,
                "torch_func_us": func * 1e6,
                "ours_over_forward": ours / eager,
            }
        )
    return rows


def large_call(model, dim: int) -> dict:
    x = torch.randn(256, dim, dtype=torch.float64)
    op = tm.compile(model, op="laplacian", example_inputs=x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        seconds = median_seconds(lambda: op(x), 10)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from taylor_mlir.jit import shared_buffer_pool

    return {
        "batch": 256,
        "ms": seconds * 1e3,
        "peak_growth_mib": (after - before) / 1024,
        "pool_reserved_mib": shared_buffer_pool().reserved / 2**20,
    }


def concurrent(model, dim: int, calls: int) -> dict:
    xs = [torch.randn(16, dim, dtype=torch.float64) for _ in range(4)]
    op = tm.compile(model, op="laplacian", example_inputs=xs[0])
    with torch.no_grad():
        want = [op(x) for x in xs]
    wrong = []

    def worker(i: int) -> None:
        with torch.no_grad():
            for _ in range(calls):
                if not torch.equal(op(xs[i]), want[i]):
                    wrong.append(i)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"threads": 4, "calls_each": calls, "wall_s": wall, "wrong": len(wrong)}


def counting_rate(seconds: float, busy=None) -> float:
    """Iterations per second of a Python counting loop, while ``busy`` runs
    (on this thread's behalf, in another thread) if given."""
    stop = threading.Event()
    count = [0]

    def counter() -> None:
        n = 0
        while not stop.is_set():
            n += 1
        count[0] = n

    thread = threading.Thread(target=counter)
    start = time.perf_counter()
    thread.start()
    if busy is None:
        time.sleep(seconds)
    else:
        while time.perf_counter() - start < seconds:
            busy()
    stop.set()
    thread.join()
    return count[0] / (time.perf_counter() - start)


def gil(model, dim: int) -> dict:
    x = torch.randn(256, dim, dtype=torch.float64)
    op = tm.compile(model, op="laplacian", example_inputs=x)
    previous = tm.get_num_threads()
    tm.set_num_threads(1)  # one thread computes; the counter has the other core
    try:
        with torch.no_grad():
            op(x)
            idle = counting_rate(2.0)
            busy = counting_rate(2.0, lambda: op(x))
    finally:
        tm.set_num_threads(previous)
    return {"idle_rate": idle, "during_calls_rate": busy, "ratio": busy / idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    model = mlp(args.dim, args.width)
    result = {
        "model": f"MLP {args.dim} -> {args.width} -> {args.width} -> 1, tanh, float64",
        "per_call": per_call(model, args.dim, args.calls),
        "large_call": large_call(mlp(50, 512), 50),
        "concurrent": concurrent(model, args.dim, args.calls // 4),
        "gil": gil(mlp(50, 512), 50),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "call_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    baseline = json.loads((RESULTS / "call_overhead_baseline.json").read_text())
    text = markdown(result, baseline)
    (RESULTS / "call_overhead.md").write_text(text)
    print(text)


def markdown(now: dict, before: dict) -> str:
    """The table of this run next to the baseline's."""
    lines = [
        "# Call overhead and concurrency (`benchmarks/call_overhead.py`)",
        "",
        f"Model: {now['model']}; exact Laplacian, 2-core machine. *Before*: the",
        "Python runtime (ctypes malloc/free callbacks, numpy's OpenBLAS, parts on",
        "Python threads; `call_overhead_baseline.json`, commit 30653cd). *Now*: the",
        "native runtime (libTaylorRuntime). Median call; eager forward measured",
        "in the same run as *now*.",
        "",
        "| B | before (µs) | now (µs) | eager forward (µs) | now / forward |"
        " before / forward | now, recorded for autograd (µs) | torch.func (µs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r, b in zip(now["per_call"], before["per_call"]):
        lines.append(
            f"| {r['batch']} | {b['ours_us']:.0f} | {r['ours_us']:.0f} | "
            f"{r['eager_forward_us']:.0f} | **{r['ours_over_forward']:.1f}x** | "
            f"{b['ours_over_forward']:.1f}x | {r['ours_recorded_us']:.0f} | "
            f"{r['torch_func_us']:.0f} |"
        )
    big, conc, g = now["large_call"], now["concurrent"], now["gil"]
    big0, conc0, g0 = before["large_call"], before["concurrent"], before["gil"]
    lines += [
        "",
        "| | before | now |",
        "|---|---|---|",
        f"| B = 256 (MLP 50 -> 512 -> 512 -> 1), time per call | "
        f"{big0['ms']:.1f} ms | {big['ms']:.1f} ms |",
        f"| B = 256, peak RSS growth | {big0['peak_growth_mib']:.0f} MiB | "
        f"{big['peak_growth_mib']:.0f} MiB (pool holds "
        f"{big['pool_reserved_mib']:.0f} MiB) |",
        f"| 4 threads × {conc['calls_each']} calls (B = 16), wall | "
        f"{conc0['wall_s']:.2f} s, {conc0['wrong']} wrong | "
        f"{conc['wall_s']:.2f} s, {conc['wrong']} wrong |",
        f"| Python thread counting during B = 256 calls, rate / idle rate | "
        f"{g0['ratio']:.2f} | {g['ratio']:.2f} |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
