"""One training step of a PINN-style loss on the paper MLP: taylor-mlir vs its peers.

What is measured
----------------
The MLP of the collapsed-Taylor-mode paper, ``D -> 768 -> 768 -> 512 -> 512
-> 1`` with ``tanh`` after every hidden layer (the seeded weights of
``benchmarks/operators.py``), and one training step of a loss built from a
differential operator::

    model.zero_grad(set_to_none=True)
    loss = (op(x) - f).pow(2).mean()      # f: a fixed target, one value per datum
    loss.backward()                       # every parameter's .grad filled

for two workloads, in float64 and float32:

- ``laplacian``: the exact Laplacian, D = 50;
- ``biharmonic``: the exact ``Δ²f``, D = 5 (the paper MLP with a 5-wide input),

by every method that supports them:

- ``ours_collapsed``: ``op = taylor_mlir.compile(model, op=..., example_inputs=x)``
  (collapsed Taylor mode), ``loss.backward()`` through it: the compiled
  vector-Jacobian product of the lowered jet functions (``taylor-reverse``),
  which recomputes the forward and pulls the cotangents back;
- ``ours_fused``: the same compiled operator, the loss by
  ``op.loss(x, lambda u, x, f: (u - f) ** 2, f)`` then ``loss.backward()``:
  the forward and the adjoint run part by part in one pass (the primal half
  of the split vjp returns a tape, ``taylor-split-adjoint``), nothing is
  recomputed;
- ``torch_func``: ``loss.backward()`` through the batched operator of
  ``benchmarks/operators.py`` (``vmap`` of the trace of the Hessian; the
  biharmonic: the trace of the Hessian of that Laplacian), the parameters
  requiring gradients. ``--torch-func-variant``: ``backward`` (the Hessian
  by ``torch.func.hessian``, i.e. ``jacfwd(jacrev)``), ``jacrev`` (the
  Hessian by ``jacrev(jacrev)``), ``grad`` (``torch.func.grad`` of the loss
  over ``functional_call``'s parameters, ``hessian``), ``auto`` (default:
  the fastest of the three measured here, ``backward`` for the Laplacian,
  ``jacrev`` for the biharmonic);
- ``jet_collapsed``: jet-for-pytorch 1.0.0's collapsed ``jet.laplacian`` /
  ``jet.bilaplacian`` built as in ``peers/worker312.py`` (``capture_graph``,
  CSE, ``vmap``), ``loss.backward()`` through it (jet's captured graph holds
  the model's own ``Parameter`` objects, so autograd reaches them);
- ``folx``: ``jax.value_and_grad`` over the parameters of the loss of
  ``folx.forward_laplacian`` (``vmap``-ed, sparsity threshold 0, as in
  ``peers/worker312.py``), one ``jax.jit`` compiled ahead of time. No
  biharmonic: folx has no fourth-order operator (skipped, with the reason).

How
---
The protocol of ``benchmarks/operators.py`` (``peers/harness.py``): every
(workload, dtype, method, batch) in its own child process (this script with
``--worker``, run by the project's Python for taylor-mlir and torch.func and
by the peers' Python 3.12 venv for jet and folx), the same threads, the same
timing (set-up, first step, warm-up steps, timed steps: median and minimum)
and the same memory measurement (peak ``VmHWM`` of a step above the process
after the set-up, glibc's mmap threshold fixed at 64 KiB). The set-up is
``tm.compile`` plus one step and ``op.release_buffers()`` for taylor-mlir (the
first backward compiles the vjp programs; the buffers it cached are freed
again), the tracing for jet, the ahead-of-time ``jit`` for folx, nothing for
torch.func. Correctness: every method's gradient (all parameters, flattened)
against torch.func's in float64, ``max|g − ref| / max|ref|``.

Work: the nominal matrix-product FLOPs of the step (the same count for every
method): the collapsed Taylor-mode forward pushes K coefficient rows per
datum through every ``Linear`` layer (K = D + 2 = 52 for the Laplacian: the
value, D first-order rows, one summed second-order row; K = 3R + 2 = 77 for
the biharmonic with R = D² = 25 directions), ``2·K·B·Σ n_in·n_out`` FLOPs;
the reverse pass multiplies the K·B cotangent rows by each weight twice (the
weight's gradient, and the input's cotangent for every layer but the first),
``2·K·B·(2·Σ n_in·n_out − n_in,1·n_out,1)``. Rate = nominal FLOPs / median
step time, as a fraction of the machine's matrix-product rate
(``results/gemm_throughput.json``: the best of taylor-mlir's and torch's
product on the contraction shapes, median over the shapes, same threads).
ours_collapsed executes more products than the nominal count: its backward
recomputes the forward (reported by the profile).

Where the time goes (``profile`` / ``profile_fused`` rows): one more
taylor-mlir child per workload, dtype and taylor-mlir method at the largest
batch, on one thread so that the parts add up, with the native runtime's
counters on (BLAS, allocator, compiled functions) and its calls timed
(``profile_stages.instrument``): the step split into
forward (``op(x)`` and the loss; ``op.loss``) and backward, each into BLAS,
allocator, generated code, boundary and Python/torch; the BLAS FLOPs executed
and their rate.

Targets (the issue's; reported PASS/MISS, never asserted), at the largest
batch, per workload, dtype and taylor-mlir method (ours_collapsed,
ours_fused): >= 1.4x faster than the fastest peer; peak memory <= 0.5x
jet_collapsed's; nominal FLOP rate >= 80% of the machine's matrix-product
rate.

Usage::

    .venv/bin/python benchmarks/training_step.py            # full run
    .venv/bin/python benchmarks/training_step.py --quick    # < 1 min, no peers
    .venv/bin/python benchmarks/training_step.py --report-only

Results: ``benchmarks/results/training_step.{json,md}`` and
``benchmarks/results/plots/training_step_*.png`` (``training_step_quick.*``,
no plots, with ``--quick``).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = HERE / "peers"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(PEERS))

import harness  # noqa: E402
import operators as ops  # noqa: E402

#: workload -> input size D (the operators of benchmarks/operators.py)
WORKLOADS = {"laplacian": 50, "biharmonic": 5}
METHODS = ("ours_collapsed", "ours_fused", "torch_func", "jet_collapsed", "folx")
OURS = ("ours_collapsed", "ours_fused")
#: the one-thread profiles of taylor-mlir's step: op(x) + loss.backward(), op.loss
PROFILES = {"profile": "ours_collapsed", "profile_fused": "ours_fused"}
PEER_METHODS = ("torch_func", "jet_collapsed", "folx")
PY312_METHODS = ("jet_collapsed", "folx")
DTYPES = ("float64", "float32")
DEFAULT_BATCH = [16, 64, 256]
#: the MLP of --quick: the paper MLP's widths / 16 (as collapse_mlp.py --small)
QUICK_WIDTHS = tuple(w // 16 for w in ops.WIDTHS)
TORCH_FUNC_VARIANTS = ("auto", "backward", "grad", "jacrev")
#: the fastest torch.func step measured per workload (B = 64, float64; README)
TORCH_FUNC_AUTO = {"laplacian": "backward", "biharmonic": "jacrev"}
#: the issue's targets
TARGET_SPEEDUP = 1.4
TARGET_MEMORY = 0.5
TARGET_RATE = 0.8
#: the parts of a profiled step (profile_stages.PARTS, the last one here also
#: holds the loss and torch's autograd engine)
PARTS = ["BLAS", "allocator", "generated code", "boundary", "Python/torch"]


# --------------------------------------------------------------------------
# Work
# --------------------------------------------------------------------------


def step_flops(operator: str, batch: int, widths=ops.WIDTHS) -> dict[str, int]:
    """Nominal matrix-product FLOPs of one step (see the module docstring)."""
    pairs = list(itertools.pairwise([WORKLOADS[operator], *widths, 1]))
    rows = ops.coefficient_vectors(operator, None) * batch
    macs = sum(a * b for a, b in pairs)
    forward = 2 * rows * macs
    reverse = 2 * rows * (2 * macs - pairs[0][0] * pairs[0][1])
    return {
        "coefficient_rows": rows // batch,
        "forward": forward,
        "reverse": reverse,
        "step": forward + reverse,
        # what taylor-mlir executes: its backward recomputes the forward
        "step_with_recompute": 2 * forward + reverse,
    }


def machine_rate(threads: int, path: Path | None = None) -> dict[str, Any]:
    """The machine's matrix-product rate per dtype (GFLOP/s) from
    ``results/gemm_throughput.json``: per contraction shape the best of
    taylor-mlir's and torch's product on ``threads`` threads, median over
    the shapes."""
    path = path or HERE / "results" / "gemm_throughput.json"
    try:
        rows = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {"source": f"{path} (missing)", "gflops": {}}
    columns = [f"ours {threads}t", f"torch {threads}t"]
    rates: dict[str, list[float]] = {}
    shapes: dict[str, list[str]] = {}
    for row in rows:
        best = [row[c] for c in columns if c in row]
        if not best:
            continue
        dtype = {"f64": "float64", "f32": "float32"}[row["type"]]
        rates.setdefault(dtype, []).append(max(best))
        shapes.setdefault(dtype, []).append(f"{row['m']}x{row['k']}x{row['n']}")
    return {
        "source": f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: "
        f"max({', '.join(columns)}) per shape, median over the shapes",
        "threads": threads,
        "shapes": shapes,
        "gflops": {d: statistics.median(v) for d, v in rates.items()},
    }


# --------------------------------------------------------------------------
# Child process: one method's training step
# --------------------------------------------------------------------------


def torch_inputs(spec: dict[str, Any], data: Any):
    """The model (parameters requiring gradients), x and the target."""
    import torch

    dtype = {"float64": torch.float64, "float32": torch.float32}[spec["dtype"]]
    dim, batch = spec["dim"], spec["batch"]
    model = harness.torch_mlp(data, dim, dtype)
    model.requires_grad_(True)
    x = torch.from_numpy(np.array(data[f"x_d{dim}_b{batch}"])).to(dtype)
    target = torch.from_numpy(np.array(data[f"target_b{batch}"])).to(dtype)
    return model, x, target


def torch_step(model, operator, x, target):
    """The step ``zero_grad; loss(operator(x)); backward``; returns the loss."""

    def step():
        model.zero_grad(set_to_none=True)
        loss = (operator(x).reshape(-1) - target).pow(2).mean()
        loss.backward()
        return loss.detach()

    return step


def torch_gradient(model) -> np.ndarray:
    """Every parameter's gradient, flattened in the model's order (zeros for
    a parameter autograd did not reach: the last bias)."""
    import torch

    return np.concatenate(
        [
            (torch.zeros_like(p) if p.grad is None else p.grad)
            .detach()
            .double()
            .reshape(-1)
            .numpy()
            for p in model.parameters()
        ]
    )


def fused_step(model, op, x, target):
    """The step by ``CompiledOperator.loss`` (forward and gradient in one
    pass, part by part); returns the loss."""

    def squared_residual(u, x, f):
        return (u.reshape(-1) - f) ** 2

    def step():
        model.zero_grad(set_to_none=True)
        loss = op.loss(x, squared_residual, target)
        loss.backward()
        return loss.detach()

    return step


def ours_setup(spec, data):
    import taylor_mlir as tm

    model, x, target = torch_inputs(spec, data)
    op = tm.compile(
        model, op=spec["operator"], example_inputs=x, collapsed=True, cache=False
    )
    make = fused_step if spec["method"] == "ours_fused" else torch_step
    step = make(model, op, x, target)
    start = time.perf_counter()
    step()  # the first backward compiles the vjp programs
    first_step_s = time.perf_counter() - start
    op.release_buffers()
    step.op = op
    return model, step, {"setup_first_step_s": first_step_s}


def torch_func_setup(spec, data):
    import torch
    from torch.func import functional_call, grad, hessian, jacrev, vmap

    model, x, target = torch_inputs(spec, data)
    variant = spec.get("torch_func_variant", "auto")
    if variant == "auto":
        variant = TORCH_FUNC_AUTO[spec["operator"]]
    second = (lambda g: jacrev(jacrev(g))) if variant == "jacrev" else hessian

    def batched_operator(f):
        def laplacian(xi):
            return torch.trace(second(f)(xi))

        if spec["operator"] == "laplacian":
            return vmap(laplacian)
        return vmap(lambda xi: torch.trace(second(laplacian)(xi)))

    info = {"torch_func_variant": variant}
    if variant != "grad":
        operator = batched_operator(lambda xi: model(xi)[0])
        return model, torch_step(model, operator, x, target), info

    names = [name for name, _ in model.named_parameters()]
    parameters = list(model.parameters())

    def loss_of(params):
        operator = batched_operator(lambda xi: functional_call(model, params, (xi,))[0])
        loss = (operator(x) - target).pow(2).mean()
        return loss, loss.detach()

    gradient = grad(loss_of, has_aux=True)

    def step():
        model.zero_grad(set_to_none=True)
        grads, loss = gradient({n: p.detach() for n, p in zip(names, parameters)})
        for name, p in zip(names, parameters):
            p.grad = grads[name]
        return loss

    return model, step, info


def jet_setup(spec, data):
    import jet
    from torch.func import vmap

    model, x, target = torch_inputs(spec, data)
    x0 = x[0]
    if spec["operator"] == "laplacian":
        fn = jet.laplacian(model, (x0,), collapsed=True)
    else:
        fn = jet.bilaplacian(model, (x0,), collapsed=True)
    fn, _ = jet.capture_graph(fn, (x0,))
    jet.common_subexpression_elimination(fn.graph)
    fn.recompile()
    return model, torch_step(model, vmap(fn), x, target), {}


def run_torch(spec, data) -> dict[str, Any]:
    """ours_*, torch_func, jet_collapsed: measure the step."""
    setups = {
        "ours_collapsed": ours_setup,
        "ours_fused": ours_setup,
        "torch_func": torch_func_setup,
        "jet_collapsed": jet_setup,
    }
    extra: dict[str, Any] = {}
    if spec["method"] in OURS:
        extra["threads_via"] = ops.set_ours_threads(spec["threads"])
    harness.prime_blas()
    start = time.perf_counter()
    model, step, info = setups[spec["method"]](spec, data)
    setup_s = time.perf_counter() - start
    extra.update(info)
    return finish(
        spec, step, setup_s, lambda r: r, lambda: torch_gradient(model), extra
    )


def run_folx(spec, data) -> dict[str, Any]:
    import jax

    if spec["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from folx import forward_laplacian

    if spec["operator"] != "laplacian":
        raise ValueError(ops.unsupported("folx", spec["operator"]))
    dim, batch = spec["dim"], spec["batch"]
    dtype = {"float64": jnp.float64, "float32": jnp.float32}[spec["dtype"]]
    params = []
    i = 0
    while f"d{dim}_w{i}" in data:
        params.append(
            (
                jnp.asarray(np.array(data[f"d{dim}_w{i}"]).T, dtype=dtype),
                jnp.asarray(np.array(data[f"d{dim}_b{i}"]), dtype=dtype),
            )
        )
        i += 1
    x = jnp.asarray(np.array(data[f"x_d{dim}_b{batch}"]), dtype=dtype)
    target = jnp.asarray(np.array(data[f"target_b{batch}"]), dtype=dtype)

    def mlp(params, xi):
        h = xi
        for k, (w, b) in enumerate(params):
            h = h @ w + b
            if k < len(params) - 1:
                h = jnp.tanh(h)
        return h[0]

    def laplacian(params, xi):
        fwd = forward_laplacian(lambda y: mlp(params, y), 0, disable_jit=True)
        return fwd(xi).laplacian

    def loss(params, x, target):
        values = jax.vmap(laplacian, in_axes=(None, 0))(params, x)
        return jnp.mean((values - target) ** 2)

    harness.prime_blas()
    start = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(loss)).lower(params, x, target).compile()
    setup_s = time.perf_counter() - start
    holder: dict[str, Any] = {}

    def step():
        holder.clear()  # the previous step's gradients, as zero_grad(set_to_none)
        value, grads = compiled(params, x, target)
        holder["grads"] = grads
        return value

    def sync(value):
        jax.block_until_ready(holder["grads"])
        return value.block_until_ready()

    def gradient():
        return np.concatenate(
            [
                part
                for w, b in holder["grads"]
                for part in (
                    np.asarray(w, dtype=np.float64).T.reshape(-1),
                    np.asarray(b, dtype=np.float64).reshape(-1),
                )
            ]
        )

    return finish(spec, step, setup_s, sync, gradient, {})


def finish(spec, step, setup_s, sync, gradient, extra) -> dict[str, Any]:
    """Measures ``step`` (or runs it once for ``reference_only``), saves the
    gradient, returns the child's JSON object."""
    result, first = harness.measure_spec(spec, step, sync)
    harness.save_output(spec.get("output"), gradient())
    result.update(extra)
    result["setup_s"] = setup_s
    result["compile_s"] = setup_s + result["first_call_s"]
    result["loss"] = float(np.asarray(first, dtype=np.float64).reshape(-1)[0])
    return result


def profile_worker(spec, data) -> dict[str, Any]:
    """taylor-mlir's step on this process's threads, split into parts with
    the timing wrappers of ``profile_stages.instrument`` (installed before
    anything compiles)."""
    import profile_stages

    timers = profile_stages.Timers()
    profile_stages.instrument(timers)
    import taylor_mlir as tm

    tm.set_num_threads(spec["threads"])
    model, x, target = torch_inputs(spec, data)
    start = time.perf_counter()
    op = tm.compile(
        model, op=spec["operator"], example_inputs=x, collapsed=True, cache=False
    )
    compile_s = time.perf_counter() - start

    fused = spec["method"] == "profile_fused"

    def phases():
        marks = []
        model.zero_grad(set_to_none=True)
        timers.reset()
        start = time.perf_counter()
        if fused:  # the forward and the adjoint, part by part
            loss = op.loss(x, lambda u, x, f: (u.reshape(-1) - f) ** 2, target)
        else:
            loss = (op(x).reshape(-1) - target).pow(2).mean()
        middle = time.perf_counter()
        marks.append((middle - start, *timers.read()))
        timers.reset()
        loss.backward()
        marks.append((time.perf_counter() - middle, *timers.read()))
        return marks

    start = time.perf_counter()
    phases()  # compiles the vjp programs; its buffers are kept for the next
    first_step_s = time.perf_counter() - start
    samples = []
    start = time.perf_counter()
    # up to `repeats` steps, at least one, within `max_seconds` (a biharmonic
    # step at B = 256 takes minutes on one thread)
    while len(samples) < max(spec["repeats"], 1):
        samples.append(phases())
        if time.perf_counter() - start > spec["max_seconds"]:
            break
    samples.sort(key=lambda s: s[0][0] + s[1][0])
    median = samples[len(samples) // 2]
    result: dict[str, Any] = {
        "compile_s": compile_s,
        "first_step_s": first_step_s,
        "step_s": [s[0][0] + s[1][0] for s in samples],
    }
    for name, (wall, seconds, flops) in zip(("forward", "backward"), median):
        parts = profile_stages.split(seconds, wall, "Python/torch")
        result[name] = {
            "seconds": wall,
            "parts": parts,
            "blas_flop": flops,
            "blas_gflops": flops / seconds["BLAS"] / 1e9 if seconds["BLAS"] else None,
        }
    result["median_step_s"] = (
        result["forward"]["seconds"] + result["backward"]["seconds"]
    )
    return result


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    harness.apply_threads_in_child(spec["threads"])
    data = np.load(spec["data"])
    if spec["method"] in PROFILES:
        return {**profile_worker(spec, data), "status": "ok"}
    if spec["method"] == "folx":
        return {**run_folx(spec, data), "status": "ok"}
    return {**run_torch(spec, data), "status": "ok"}


def worker_main(spec_text: str) -> None:
    spec = json.loads(spec_text)
    try:
        result = run_worker(spec)
    except Exception as error:  # noqa: BLE001 (reported; the parent goes on)
        result = harness.error_result(error)
    harness.emit(result)


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------


def installed_build() -> str | None:
    """When the installed taylor_mlir was last written (the newest file of
    the package): a run whose start and end differ measured two builds."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("taylor_mlir")
        root = Path(spec.origin).parent
        newest = max(p.stat().st_mtime for p in root.rglob("*") if p.is_file())
    except (AttributeError, OSError, TypeError, ValueError):
        return None
    return datetime.datetime.fromtimestamp(newest).isoformat(timespec="seconds")


def key_of(m: dict[str, Any]) -> str:
    return f"{m['operator']}-{m['dtype']}-{m['method']}-b{m['batch']}"


def unsupported(method: str, operator: str) -> str | None:
    if method == "folx" and operator != "laplacian":
        return "folx has no biharmonic (no fourth-order operator): " + str(
            ops.unsupported("folx", operator)
        )
    return None


def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every measurement, torch_func first (its float64 gradients are the
    references), then the profiles."""
    order = ["torch_func"] + [m for m in METHODS if m != "torch_func"]
    jobs = []
    for op in args.operators:
        for dtype in args.dtypes:
            for method in order:
                if method in args.methods:
                    for batch in args.batch:
                        jobs.append(
                            {
                                "operator": op,
                                "dtype": dtype,
                                "method": method,
                                "batch": batch,
                                "dim": WORKLOADS[op],
                            }
                        )
    profiles = [p for p, ours in PROFILES.items() if ours in args.methods]
    if not args.no_profile:
        # --quick: the Laplacian's op(x) profile only (each compiles again)
        for op in args.operators[:1] if args.quick else args.operators:
            for dtype in args.dtypes:
                for method in profiles[:1] if args.quick else profiles:
                    jobs.append(
                        {
                            "operator": op,
                            "dtype": dtype,
                            "method": method,
                            "batch": max(args.batch),
                            "dim": WORKLOADS[op],
                        }
                    )
    return jobs


def build_data(args: argparse.Namespace, jobs) -> Path:
    """The weights and inputs of ``operators.build_data`` (the same seeded
    model and input stream) plus the fixed targets ``target_b{B}`` (one
    normal stream: the target at B = 16 is the first 16 of B = 256's)."""
    shim = argparse.Namespace(
        operators=args.operators,
        seed=args.seed,
        cache_dir=args.cache_dir,
        widths=args.widths,
    )
    sizes = {"inputs": {(j["dim"], j["batch"]) for j in jobs}, "checks": set()}
    path, _ = ops.build_data(shim, sizes)
    arrays = dict(np.load(path))
    batches = sorted({j["batch"] for j in jobs})
    full = np.random.default_rng(args.seed + 2).standard_normal(max(batches))
    for batch in batches:
        arrays[f"target_b{batch}"] = full[:batch].copy()
    np.savez(path, **arrays)
    return path


def attach(m: dict[str, Any], outputs: Path, rate: dict[str, float], widths) -> None:
    """Work, rate and the gradient's error against torch_func's (float64)."""
    if m.get("status") != "ok" or m["method"] in PROFILES:
        return
    flops = step_flops(m["operator"], m["batch"], widths)
    m["nominal_gflop"] = flops["step"] / 1e9
    m["gflops"] = m["nominal_gflop"] / m["median_s"]
    if rate.get(m["dtype"]):
        m["rate_fraction"] = m["gflops"] / rate[m["dtype"]]
    ref = outputs / f"{key_of({**m, 'dtype': 'float64', 'method': 'torch_func'})}.npy"
    value = outputs / f"{key_of(m)}.npy"
    if value.exists() and ref.exists():
        m["grad_rel_error"] = ops.relative_error(np.load(value), np.load(ref))


def summarize(m: dict[str, Any]) -> str:
    name = f"{m['operator']} {m['dtype']} {m['method']} B={m['batch']}"
    if m.get("status") != "ok":
        return f"{name}: {m.get('status')}: {m.get('reason', '')[:300]}"
    if m["method"] in PROFILES:
        f, b = m["forward"], m["backward"]
        blas = f["parts"]["BLAS"] + b["parts"]["BLAS"]
        return (
            f"{name}: 1 thread: step {1e3 * m['median_step_s']:.0f} ms (forward "
            f"{1e3 * f['seconds']:.0f}, backward {1e3 * b['seconds']:.0f}), BLAS "
            f"{100 * blas / m['median_step_s']:.0f}%"
        )
    text = f"{name}: {1e3 * m['median_s']:.1f} ms (min {1e3 * m['min_s']:.1f})"
    if m.get("peak_mib") is not None:
        text += f", peak {m['peak_mib']:.0f} MiB"
    text += f", compile {m['compile_s']:.1f} s"
    if m.get("grad_rel_error") is not None:
        text += f", grad error {m['grad_rel_error']:.1e}"
    if m.get("foreign_load") is not None:
        text += f", foreign load {m['foreign_load']:.2f}"
    return text


def find(measurements, **where) -> dict[str, Any] | None:
    for m in measurements:
        if m.get("status") == "ok" and all(m.get(k) == v for k, v in where.items()):
            return m
    return None


def comparisons(
    measurements, op, dtype, batch, method="ours_collapsed"
) -> dict[str, Any]:
    """``method`` (one of ours) / fastest peer (time), / jet (memory) at one
    size."""
    ours = find(measurements, operator=op, dtype=dtype, method=method, batch=batch)
    peers = {
        p: m
        for p in PEER_METHODS
        if (m := find(measurements, operator=op, dtype=dtype, method=p, batch=batch))
    }
    out: dict[str, Any] = {"ours": ours, "peers": peers}
    if ours is None:
        return out
    if peers:
        fastest = min(peers, key=lambda p: peers[p]["median_s"])
        out["fastest_peer"] = fastest
        out["speedup"] = peers[fastest]["median_s"] / ours["median_s"]
    jet = peers.get("jet_collapsed")
    if jet and jet.get("peak_mib") and ours.get("peak_mib") is not None:
        out["memory_vs_jet"] = ours["peak_mib"] / jet["peak_mib"]
    return out


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets at the largest B of each workload and dtype (from
    the measurements: a --merge run may have redone only some)."""
    measurements = report["measurements"]
    rows = []
    for op in WORKLOADS:
        for dtype in DTYPES:
            sizes = [
                m["batch"]
                for m in measurements
                if m["operator"] == op
                and m["dtype"] == dtype
                and m["method"] not in PROFILES
            ]
            if not sizes:
                continue
            batch = max(sizes)
            for method in OURS:
                c = comparisons(measurements, op, dtype, batch, method)
                if c["ours"] is not None:
                    rows += target_rows(c, op, dtype, batch, method)
    return rows


def target_rows(c, op, dtype, batch, method) -> list[dict[str, Any]]:
    """The three targets of one taylor-mlir method (``c``: `comparisons`)."""
    checks = [
        (
            f">= {TARGET_SPEEDUP}x faster than the fastest peer"
            + (f" ({c['fastest_peer']})" if c.get("fastest_peer") else ""),
            c.get("speedup"),
            lambda v: v >= TARGET_SPEEDUP,
        ),
        (
            f"peak memory <= {TARGET_MEMORY}x jet_collapsed's",
            c.get("memory_vs_jet"),
            lambda v: v <= TARGET_MEMORY,
        ),
        (
            f">= {TARGET_RATE:.0%} of the matrix-product rate (nominal FLOPs)",
            c["ours"].get("rate_fraction"),
            lambda v: v >= TARGET_RATE,
        ),
    ]
    return [
        {
            "operator": op,
            "dtype": dtype,
            "batch": batch,
            "method": method,
            "target": target,
            "value": value,
            "verdict": "n/a" if value is None else ops.verdict(ok(value)),
        }
        for target, value, ok in checks
    ]


def markdown(report: dict[str, Any]) -> str:
    machine, config = report["machine"], report["config"]
    rate = report["machine_rate"]
    measurements = report["measurements"]
    fmt = ops.fmt
    lines = [
        "# One training step of the paper MLP's operators: taylor-mlir vs its peers",
        "",
        (
            "Step = `zero_grad`; `loss = (op(x) - f).pow(2).mean()`; "
            "`loss.backward()` (every parameter's gradient). MLP `D -> "
            f"{' -> '.join(map(str, config['widths']))} -> 1`, tanh; "
            f"{machine['cpu_model']}, {machine['cores']} cores, "
            f"{config['threads']} threads; {report['date']}; commit "
            f"`{machine.get('commit')}`"
            + (
                " (+ uncommitted compiler changes)"
                if machine.get("compiler_sources_modified")
                else ""
            )
            + f"; load average at start {machine.get('loadavg_start')}, at end "
            f"{machine.get('loadavg_end')}"
            + (
                f"; the run took {report['wall_s'] / 60:.1f} min."
                if report.get("wall_s")
                else "."
            )
        ),
        "",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["versions"].items()) if v)
        + ".",
        "",
        (
            "Protocol of benchmarks/operators.py (benchmarks/README.md): every "
            f"measurement in its own process; set-up and first step (= compile s), "
            f"{config['warmup']} warm-up steps, up to {config['repeats']} timed "
            f"steps (at least 3; {config['max_seconds']:.0f} s for all the steps); "
            "median (min) per step. Peak memory: `VmHWM` over the first timed "
            "step minus `VmRSS` after the set-up. Nominal GFLOP: the step's "
            "matrix products (forward + reverse, the same count for every "
            "method); rate = nominal GFLOP / median time, as a fraction of the "
            "machine's matrix-product rate "
            f"({fmt(rate['gflops'].get('float64'), '.1f')} GFLOP/s float64, "
            f"{fmt(rate['gflops'].get('float32'), '.1f')} float32; {rate['source']}). "
            "Grad error: max|g − ref| / max|ref| over all parameters against "
            "torch_func in float64. torch_func's variant (README): "
            + ", ".join(
                sorted(
                    {
                        f"{m['operator']} `{m['torch_func_variant']}`"
                        for m in measurements
                        if m.get("torch_func_variant")
                    }
                )
            )
            + "."
        ),
        "",
    ]
    if report.get("peers_env_error"):
        lines += [f"jet/folx not run: {report['peers_env_error']}", ""]
    if config.get("merged_from"):
        earlier = config["merged_from"]
        earlier = [earlier] if isinstance(earlier, str) else earlier
        lines += [
            (
                "Merged run: the rows this run did not redo come from the runs "
                f"started at {', '.join(earlier)} (the header above is this "
                "run's; every row's `installed_build`, `foreign_load` and "
                "`loadavg` are in the JSON)."
            ),
            "",
        ]
    start, end = machine.get("installed_build_start"), machine.get(
        "installed_build_end"
    )
    if start != end:
        lines += [
            (
                f"**The installed taylor_mlir changed during the run** (files written "
                f"at {start} at the start, {end} at the end): its rows may come from "
                "two builds."
            ),
            "",
        ]
    shared = [m for m in measurements if ops.contended(m, config["threads"])]
    if shared:
        lines += [
            (
                f"† {len(shared)} measurements shared the cores with other "
                f"processes (more than {ops.CONTENDED_LOAD} cores busy with other "
                "work during the timed steps, `foreign_load` in the JSON, even "
                "after measuring them again): their times are pessimistic."
            ),
            "",
        ]
    rows = report.get("targets", [])
    if rows:
        lines += [
            "## Targets (the largest B)",
            "",
            "| workload | dtype | B | method | target | value | verdict |",
            "|:---|:---|---:|:---|:---|---:|:---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['operator']} | {row['dtype']} | {row['batch']} "
                f"| {row.get('method', 'ours_collapsed')} | {row['target']} "
                f"| {fmt(row['value'], '.2f')} | {row['verdict']} |"
            )
        lines.append("")
    for op, dim in WORKLOADS.items():
        for dtype in DTYPES:
            rows = [
                m
                for m in measurements
                if m["operator"] == op
                and m["dtype"] == dtype
                and m["method"] not in PROFILES
            ]
            if not rows:
                continue
            lines += [
                f"## {op}, D = {dim}, {dtype}",
                "",
                "| B | method | median ms (min) | peak MiB | compile s | nominal GFLOP "
                "| GFLOP/s | % of matmul rate | grad error | ours_collapsed speed-up |",
                "|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            skipped: dict[str, str] = {}
            for batch in sorted({m["batch"] for m in rows}):
                ours = find(rows, method="ours_collapsed", batch=batch)
                for method in METHODS:
                    m = next(
                        (
                            r
                            for r in rows
                            if r["method"] == method and r["batch"] == batch
                        ),
                        None,
                    )
                    if m is None:
                        continue
                    if m["status"] == "skipped":
                        skipped[method] = m["reason"]
                        continue
                    if m["status"] != "ok":
                        lines.append(
                            f"| {batch} | {method} | {m['status']}: "
                            f"{m.get('reason', '')[:100]} | | | | | | | |"
                        )
                        continue
                    speedup = (
                        m["median_s"] / ours["median_s"]
                        if ours is not None and method != "ours_collapsed"
                        else None
                    )
                    mark = " †" if ops.contended(m, config["threads"]) else ""
                    rate_fraction = m.get("rate_fraction")
                    lines.append(
                        f"| {batch} | {method}{mark} | {1e3 * m['median_s']:.1f} "
                        f"({1e3 * m['min_s']:.1f}) | {fmt(m.get('peak_mib'), '.0f')} "
                        f"| {m['compile_s']:.1f} | {m['nominal_gflop']:.1f} "
                        f"| {m['gflops']:.1f} "
                        f"| {fmt(None if rate_fraction is None else 100 * rate_fraction, '.0f')} "
                        f"| {fmt(m.get('grad_rel_error'), '.1e')} "
                        f"| {fmt(speedup, '.2f')}{'x' if speedup is not None else ''} |"
                    )
                for method in OURS:
                    c = comparisons(measurements, op, dtype, batch, method)
                    if c.get("speedup") is None:
                        continue
                    text = (
                        f"B={batch}: {method} / fastest peer ({c['fastest_peer']}) "
                        f"time {1 / c['speedup']:.2f} ({c['speedup']:.2f}x faster)"
                    )
                    if c.get("memory_vs_jet") is not None:
                        text += (
                            f"; / jet_collapsed peak memory {c['memory_vs_jet']:.2f}"
                        )
                    lines.append(f"| | *{text}* | | | | | | | | |")
            lines.append("")
            for method, reason in skipped.items():
                lines.append(f"- {method}: skipped: {reason}")
            if skipped:
                lines.append("")
    profiles = [m for m in measurements if m["method"] in PROFILES]
    if profiles:
        lines += profile_markdown(profiles, report)
    return "\n".join(lines) + "\n"


def profile_markdown(profiles, report) -> list[str]:
    rate_1t = report.get("machine_rate_1t", {}).get("gflops", {})
    lines = [
        "## Where taylor-mlir's step goes (one thread)",
        "",
        (
            "`profile_stages.instrument`: the native runtime's counters (BLAS, "
            "allocator, compiled functions) and its timed calls; median step "
            "of the timed ones, one thread so that the parts add up. "
            "ours_collapsed: forward = `op(x)` and the loss, backward = "
            "`loss.backward()` (the vjp programs: the forward recomputed, then "
            "the reverse pass). ours_fused: forward = `op.loss(...)` (the "
            "primal half with its tape and the adjoint half, part by part), "
            "backward = `loss.backward()` (hands the gradients over). Executed "
            "BLAS GFLOP counted by the wrapper (2·m·n·k per call); nominal: "
            "forward + reverse, no recompute."
        ),
        "",
        "| workload | dtype | B | method | phase | ms | "
        + " | ".join(PARTS)
        + " | BLAS GFLOP executed | BLAS GFLOP/s |",
        "|:---|:---|---:|:---|:---|---:|" + "---:|" * len(PARTS) + "---:|---:|",
    ]
    for m in profiles:
        where = f"| {m['operator']} | {m['dtype']} | {m['batch']} | {PROFILES[m['method']]} "
        if m.get("status") != "ok":
            lines.append(where + f"| {m.get('status')}: {m.get('reason', '')[:120]} |")
            continue
        total = m["median_step_s"]
        blas_total = 0.0
        flop_total = 0
        for phase in ("forward", "backward"):
            p = m[phase]
            blas_total += p["parts"]["BLAS"]
            flop_total += p["blas_flop"]
            cells = [
                f"{1e3 * p['parts'][part]:.0f} ({100 * p['parts'][part] / p['seconds']:.0f}%)"
                for part in PARTS
            ]
            lines.append(
                where
                + f"| {phase} | {1e3 * p['seconds']:.0f} | "
                + " | ".join(cells)
                + f" | {p['blas_flop'] / 1e9:.1f} | {fmt_rate(p['blas_gflops'])} |"
            )
        flops = step_flops(m["operator"], m["batch"], report["config"]["widths"])
        lines.append(
            where
            + f"| **step** | **{1e3 * total:.0f}** | "
            + f"**{1e3 * blas_total:.0f} ({100 * blas_total / total:.0f}%)** | | | | "
            + f"| {flop_total / 1e9:.1f} (nominal {flops['step'] / 1e9:.1f}) "
            + f"| {fmt_rate(flop_total / blas_total / 1e9 if blas_total else None)} |"
        )
    lines.append("")
    notes = []
    for m in profiles:
        if m.get("status") != "ok":
            continue
        flops = step_flops(m["operator"], m["batch"], report["config"]["widths"])
        executed = m["forward"]["blas_flop"] + m["backward"]["blas_flop"]
        blas = m["forward"]["parts"]["BLAS"] + m["backward"]["parts"]["BLAS"]
        one = rate_1t.get(m["dtype"])
        fused = m["method"] == "profile_fused"
        notes.append(
            f"- {m['operator']} {m['dtype']} {PROFILES[m['method']]}: matrix products "
            f"{100 * blas / m['median_step_s']:.0f}% of the step; executed "
            f"{executed / flops['step']:.2f}x the nominal FLOPs"
            + (
                ""
                if fused
                else " (with a recomputed forward: "
                f"{flops['step_with_recompute'] / flops['step']:.2f}x)"
            )
            + f"; nominal rate on one thread {flops['step'] / m['median_step_s'] / 1e9:.1f} GFLOP/s"
            + (
                f" = {flops['step'] / m['median_step_s'] / 1e9 / one:.0%} of one thread's "
                f"matrix-product rate ({one:.1f})"
                if one
                else ""
            )
            + (
                ""
                if fused
                else f"; backward / forward time "
                f"{m['backward']['seconds'] / m['forward']['seconds']:.2f}"
            )
            + "."
        )
    return lines + notes + [""]


def fmt_rate(value) -> str:
    return ops.fmt(value, ".1f")


def run_benchmark(args: argparse.Namespace) -> None:
    out_dir = Path(args.out_dir)
    stem = "training_step_quick" if args.quick else "training_step"
    json_path = out_dir / f"{stem}.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    wall_start = time.perf_counter()

    jobs = plan(args)
    peers_python, peers_error = None, None
    if any(j["method"] in PY312_METHODS for j in jobs):
        peers_python, peers_error = ops.ensure_peers_env(args)
        if peers_error:
            ops.log(f"== jet/folx will be skipped: {peers_error}")
    data_path = build_data(args, jobs)
    outputs = Path(args.cache_dir) / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)

    planned = {key_of(j) for j in jobs}
    references = []
    for j in jobs:
        ref = {**j, "dtype": "float64", "method": "torch_func"}
        if j["method"] not in PROFILES and key_of(ref) not in planned:
            if key_of(ref) not in {key_of(r) for r in references}:
                references.append(ref)

    report: dict[str, Any] = {
        "benchmark": "training_step",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": {
            "operators": args.operators,
            "methods": args.methods,
            "dtypes": args.dtypes,
            "batch": args.batch,
            "threads": args.threads,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "max_seconds": args.max_seconds,
            "timeout": args.timeout,
            "seed": args.seed,
            "quick": args.quick,
            "widths": list(args.widths),
            "torch_func_variant": args.torch_func_variant,
            "profile_repeats": args.profile_repeats,
        },
        "machine": {
            **ops.machine_info(args),
            "installed_build_start": installed_build(),
        },
        "versions": {**ops.own_versions(), **ops.peers_versions(peers_python)},
        "peers_env_error": peers_error,
        "machine_rate": machine_rate(args.threads),
        "machine_rate_1t": machine_rate(1),
        "flops": {op: step_flops(op, max(args.batch), args.widths) for op in WORKLOADS},
        "measurements": [],
        "targets": [],
    }
    if args.merge and json_path.exists():
        old = json.loads(json_path.read_text())
        report["measurements"] = [
            m for m in old.get("measurements", []) if key_of(m) not in planned
        ]
        # the runs the kept rows come from, and the versions they recorded
        earlier = old.get("config", {}).get("merged_from") or []
        if isinstance(earlier, str):
            earlier = [earlier]
        report["config"]["merged_from"] = [*earlier, old.get("date")]
        report["versions"] = {**old.get("versions", {}), **report["versions"]}
        ops.log(
            f"== merging into {json_path} ({len(report['measurements'])} earlier "
            "measurements kept)"
        )
    rate = report["machine_rate"]["gflops"]

    def write() -> None:
        report["machine"]["loadavg_end"] = ops.load_average()
        report["machine"]["installed_build_end"] = installed_build()
        report["wall_s"] = time.perf_counter() - wall_start
        report["targets"] = targets(report)
        json_path.write_text(json.dumps(report, indent=1) + "\n")

    common = {
        "threads": args.threads,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "max_seconds": args.max_seconds,
        "data": str(data_path),
        "seed": args.seed,
        "torch_func_variant": args.torch_func_variant,
    }
    me = [sys.executable, str(Path(__file__).resolve()), "--worker"]

    def gflop(job) -> float:
        return step_flops(job["operator"], job["batch"], args.widths)["step"] / 1e9

    def runnable(job) -> bool:
        return not (
            unsupported(job["method"], job["operator"])
            or (job["method"] in PY312_METHODS and peers_error)
        )

    pending = [("reference", gflop(r)) for r in references]
    pending += [(j["method"], gflop(j)) for j in jobs if runnable(j)]
    progress = ops.Progress(len(references) + len(jobs))

    def run(job: dict[str, Any], **extra) -> dict[str, Any]:
        name = key_of(job)
        spec = {**common, **job, **extra, "output": str(outputs / f"{name}.npy")}
        threads = args.threads
        if job["method"] in PROFILES:
            threads = spec["threads"] = 1
            spec["repeats"] = args.profile_repeats
        Path(spec["output"]).unlink(missing_ok=True)
        if job["method"] in PY312_METHODS:
            command = [peers_python, str(Path(__file__).resolve()), "--worker"]
        else:
            command = list(me)
        record = dict(job)
        record.update(
            ops.run_child(command + [json.dumps(spec)], threads, args.timeout)
        )
        record["threads"] = threads
        record["loadavg"] = ops.load_average()
        record["installed_build"] = installed_build()
        return record

    for ref in references:
        progress.begin(f"reference {key_of(ref)}", pending)
        start = time.perf_counter()
        result = run(ref, reference_only=True)
        progress.end(
            f"reference {key_of(ref)}: {result['status']} {result.get('reason', '')[:200]}",
            pending.pop(0),
            time.perf_counter() - start,
        )

    measured = []
    for job in jobs:
        reason = unsupported(job["method"], job["operator"])
        if reason is None and job["method"] in PY312_METHODS and peers_error:
            reason = f"the Python 3.12 peers' venv is unavailable: {peers_error}"
        if reason is not None:
            record = {**job, "status": "skipped", "reason": reason}
            report["measurements"].append(record)
            progress.end(summarize(record))
            write()
            continue
        progress.begin(
            f"{job['operator']} {job['dtype']} {job['method']} B={job['batch']}",
            pending,
        )
        start = time.perf_counter()
        record = run(job)
        attach(record, outputs, rate, args.widths)
        report["measurements"].append(record)
        measured.append(record)
        progress.end(summarize(record), pending.pop(0), time.perf_counter() - start)
        write()

    # Measurements that shared the cores with other processes, once more.
    for attempt in range(args.retries):
        again = [
            m
            for m in measured
            if m["method"] not in PROFILES and ops.contended(m, args.threads)
        ]
        if not again:
            break
        ops.log(
            f"== {len(again)} measurements shared the cores with other processes: "
            f"measuring them again ({attempt + 1}/{args.retries})"
        )
        progress.total += len(again)
        pending = [(m["method"], gflop(m)) for m in again]
        for old in again:
            job = {k: old[k] for k in ("operator", "dtype", "method", "batch", "dim")}
            progress.begin("again: " + key_of(job), pending)
            start = time.perf_counter()
            new = run(job)
            attach(new, outputs, rate, args.widths)
            first = {k: old.get(k) for k in ("median_s", "min_s", "foreign_load")}
            if new["status"] == "ok" and (new.get("foreign_load") or 0) < (
                old.get("foreign_load") or 0
            ):
                new["earlier_attempts"] = [*old.get("earlier_attempts", []), first]
                report["measurements"][report["measurements"].index(old)] = new
                measured[measured.index(old)] = new
                kept = new
            else:
                kept = old
                kept.setdefault("later_attempts", []).append(
                    {k: new.get(k) for k in ("median_s", "min_s", "foreign_load")}
                )
            progress.end(summarize(kept), pending.pop(0), time.perf_counter() - start)
            write()

    for m in report["measurements"]:
        attach(m, outputs, rate, args.widths)
    write()
    finish_report(report, args, out_dir, stem)
    ops.log(f"{ops.Progress.clock(time.perf_counter() - wall_start)} in all")


def finish_report(report, args, out_dir: Path, stem: str) -> None:
    report["targets"] = targets(report)
    text = markdown(report)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(text)
    written = []
    if not (args.quick or args.no_plots):
        steps = {
            **report,
            "measurements": [
                m for m in report["measurements"] if m["method"] not in PROFILES
            ],
        }
        written = ops.plots(
            steps,
            out_dir / "plots",
            prefix="training_step_",
            title="training step: ",
            per="step",
            extra_styles={"ours_fused": ("C4", "*", "-")},
        )
    print(text)
    ops.log(
        f"wrote {out_dir / stem}.json, .md"
        + (f" and {len(written)} plots in {out_dir / 'plots'}" if written else "")
    )


def report_only(args: argparse.Namespace) -> None:
    out_dir = Path(args.out_dir)
    stem = "training_step_quick" if args.quick else "training_step"
    report = json.loads((out_dir / f"{stem}.json").read_text())
    finish_report(report, args, out_dir, stem)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--operators", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS)
    )
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=None)
    parser.add_argument("--dtypes", nargs="+", choices=list(DTYPES), default=None)
    parser.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=None,
        help=f"batch sizes (default {DEFAULT_BATCH}; the targets at the largest)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed steps (default 7)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed steps (default 2)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="time budget of one measurement's steps (default 20)",
    )
    parser.add_argument(
        "--profile-repeats",
        type=int,
        default=3,
        help="timed steps of the one-thread profile of taylor-mlir's step",
    )
    parser.add_argument("--no-profile", action="store_true", help="no profile rows")
    parser.add_argument(
        "--torch-func-variant",
        choices=TORCH_FUNC_VARIANTS,
        default="auto",
        help="backward: loss.backward() through vmap(hessian); grad: "
        "torch.func.grad over functional_call's parameters; jacrev: "
        "loss.backward() through jacrev(jacrev) instead of hessian; auto: the "
        f"fastest measured per workload ({TORCH_FUNC_AUTO})",
    )
    parser.add_argument("--timeout", type=float, default=900, help="limit per child, s")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: float64, B = 8, widths / 16, ours_collapsed and torch_func only, "
        "few steps; results in training_step_quick.*",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the measurements of the existing JSON that this run does not redo",
    )
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    parser.add_argument(
        "--cache-dir",
        default=str(REPO / "build" / "bench" / "training_step"),
        help="data file and saved gradients (the references)",
    )
    parser.add_argument("--peers-venv", default=str(REPO / "build" / "peers" / "py312"))
    parser.add_argument("--peers-python", default=None)
    parser.add_argument("--no-peers-setup", action="store_true")
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "batch": [8] if quick else DEFAULT_BATCH,
        "repeats": 3 if quick else 7,
        "warmup": 1 if quick else 2,
        "max_seconds": 3.0 if quick else 20.0,
        # (each taylor-mlir child takes ~13 s: start-up, tm.compile, the vjp's
        # compilation; ours_fused with --methods)
        "methods": ["ours_collapsed", "torch_func"] if quick else list(METHODS),
        "dtypes": ["float64"] if quick else list(DTYPES),
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if quick and args.profile_repeats == parser.get_default("profile_repeats"):
        args.profile_repeats = 1
    args.widths = QUICK_WIDTHS if quick else ops.WIDTHS
    if quick and args.retries == parser.get_default("retries"):
        args.retries = 0
    if quick:
        args.cache_dir = str(Path(args.cache_dir) / "quick")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker)
    elif args.report_only:
        report_only(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
