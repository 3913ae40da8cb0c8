"""Differential operators of the paper MLP, side by side: taylor-mlir vs its peers.

What is measured
----------------
The MLP of the collapsed-Taylor-mode paper, ``D -> 768 -> 768 -> 512 -> 512
-> 1`` with ``tanh`` after every hidden layer (a seeded
``torch.nn.Sequential`` of ``Linear``/``Tanh``), and five operators:

- ``laplacian``: the exact Laplacian, D = 50;
- ``weighted_laplacian``: ``tr(C ∇²f)``, D = R = 50, C = diag(1..50), i.e.
  ``sigma = diag(sqrt(1..50))`` (``C = sigma sigmaᵀ``) for taylor-mlir, jet's
  own ``diagonal_increments`` weighting, folx's ``weights = sqrt(diag C)``;
- ``stochastic_laplacian``: ``(1/S) Σ_s ∂²f/∂v_s²``, D = 50, S standard
  normal directions drawn afresh at every call;
- ``biharmonic``: the exact ``Δ²f``, D = 5;
- ``stochastic_biharmonic``: ``(1/(3S)) Σ_s ∂⁴f/∂v_s⁴``, D = 5, S normal
  directions,

in float64 and float32, by every method that supports them:

- ``ours_collapsed`` / ``ours_standard``: ``taylor_mlir.compile(model, op=...,
  example_inputs=x, collapsed=True/False)`` (this project's venv);
- ``torch_func``: nested first-order ``torch.func``: ``vmap(hessian)`` and a
  trace (Laplacian) or a contraction with C (weighted); the trace of the
  Hessian of that Laplacian (biharmonic); 2 (4) nested ``jvp`` per direction,
  ``vmap``-ed over the directions (stochastic Laplacian, biharmonic);
- ``jet_collapsed`` / ``jet_standard``: jet-for-pytorch 1.0.0 (collapsed /
  standard Taylor mode), as in its authors' benchmark (see
  ``peers/worker312.py``), in a Python 3.12 venv the suite sets up itself;
- ``folx``: ``folx.forward_laplacian`` under ``jax.jit`` (Laplacian and
  weighted Laplacian only), same venv.

How
---
The parent builds the weights and the inputs once (seeded) into an npz file;
every (operator, dtype, method, batch, samples) runs in its own child process
(this script with ``--worker`` for the Python 3.11 methods,
``peers/worker312.py`` for jet and folx) with the same threads (``--threads``,
default all cores: torch, OpenBLAS, OMP, XLA's Eigen pool; the children are
pinned to that many cores when it is fewer), the same timing protocol and the
same memory measurement (``peers/harness.py``): the set-up (taylor-mlir's
``tm.compile``, JAX's ahead-of-time ``jit``, jet's tracing), the first call
(compile time = set-up + first call), ``--warmup`` untimed calls, then
``--repeats`` timed calls (at least 3, stopping once the calls took
``--max-seconds``); median and minimum seconds per call. Peak memory: the
child runs with ``MALLOC_MMAP_THRESHOLD_=65536`` (every buffer above 64 KiB
is its own ``mmap``, returned on ``free``); ``VmRSS`` after the set-up is the
baseline; after the warm-up ``VmHWM`` is reset (``/proc/self/clear_refs``)
and read after the first timed call: peak = ``VmHWM − baseline`` (what a
call needs, including what the method keeps between calls). Measurements
that shared the cores with other processes (``foreign_load``, from
/proc/stat) are measured again at the end (``--retries``) and marked † if
they still did.

Correctness: every exact operator's value against ``torch_func`` in float64
(``max|y − ref| / max|ref|``); stochastic operators: the estimate's mean
over the batch, and the estimator evaluated on the same given directions
(taylor-mlir with a fixed ``seed``, jet with its sampler returning them,
``torch_func`` with them) against ``torch_func``'s.

Work: a nominal FLOP count, the same for every method: the multiply-adds of
the collapsed Taylor-mode propagation (2 FLOPs per multiply-add of every
``Linear`` layer, times the coefficient vectors: R + 2 for a Laplacian-type
operator with R directions (value, R first-order, one collapsed
second-order), 3R + 2 for a fourth-order one (value, R first- to
third-order, one collapsed fourth-order; the exact biharmonic has R = D²
directions), times B); GFLOP/s = that count / median time, next to
``torch.matmul``'s dgemm/sgemm throughput (2048², same threads, best of 5).

Usage::

    .venv/bin/python benchmarks/operators.py              # full run, ~25 min
    .venv/bin/python benchmarks/operators.py --quick      # smoke run, ~2 min
    .venv/bin/python benchmarks/operators.py --operators laplacian \\
        --methods ours_collapsed --merge                  # rerun one, merged

Results: ``benchmarks/results/operators.{json,md}`` and
``benchmarks/results/plots/*.png`` (``operators_quick.*``, no plots, with
``--quick``). The JSON is rewritten after every measurement.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import itertools
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = HERE / "peers"
sys.path.insert(0, str(PEERS))

import harness

WIDTHS = (768, 768, 512, 512)
#: operator -> (input size D, derivative order, stochastic)
OPERATORS = {
    "laplacian": (50, 2, False),
    "weighted_laplacian": (50, 2, False),
    "stochastic_laplacian": (50, 2, True),
    "biharmonic": (5, 4, False),
    "stochastic_biharmonic": (5, 4, True),
}
METHODS = (
    "ours_collapsed",
    "ours_standard",
    "torch_func",
    "jet_collapsed",
    "jet_standard",
    "folx",
)
OURS = ("ours_collapsed", "ours_standard")
PEER_METHODS = ("torch_func", "jet_collapsed", "jet_standard", "folx")
PY312_METHODS = ("jet_collapsed", "jet_standard", "folx")
DTYPES = ("float64", "float32")
DEFAULT_BATCH = [16, 64, 256]
DEFAULT_SAMPLES = {
    "stochastic_laplacian": [1, 10, 50],
    "stochastic_biharmonic": [1, 9, 36],
}
#: B of the stochastic operators: 256 for the Laplacian (as the paper and
#: PEERS.md), 64 for the biharmonic (PEERS.md's CPU measurement; torch.func's
#: 4 nested jvp take ~35 s per call at B = 256, S = 36 on this machine)
DEFAULT_STOCHASTIC_BATCH = {"stochastic_laplacian": 256, "stochastic_biharmonic": 64}
#: foreign load (cores busy with other processes during the timed calls)
#: above which a measurement counts as contended (+ the cores not used)
CONTENDED_LOAD = 0.3
#: bumped when the saved outputs (references) of earlier runs become invalid
CACHE_VERSION = 2
#: the seed of the given directions of the stochastic correctness check
CHECK_SEED = 12345
PY312_REQUIREMENTS = PEERS / "requirements-py312.txt"
COMPILER_PATHS = ("lib", "include", "python", "tools", "CMakeLists.txt")
PY312_DEFAULT = "/root/.pyenv/versions/3.12.1/bin/python"


def unsupported(method: str, operator: str) -> str | None:
    """Why ``method`` does not compute ``operator`` (None: it does)."""
    if method == "folx" and operator not in ("laplacian", "weighted_laplacian"):
        return (
            "folx computes forward Laplacians only (forward_laplacian, weighted by "
            "per-coordinate scalings): no stochastic estimator, no fourth order"
        )
    return None


def layer_sizes(dim: int) -> list[int]:
    return [dim, *WIDTHS, 1]


def coefficient_vectors(operator: str, samples: int | None) -> int:
    """Coefficient vectors of the collapsed Taylor-mode propagation."""
    dim, order, stochastic = OPERATORS[operator]
    directions = samples if stochastic else (dim * dim if order == 4 else dim)
    return directions + 2 if order == 2 else 3 * directions + 2


def nominal_flops(operator: str, batch: int, samples: int | None) -> int:
    sizes = layer_sizes(OPERATORS[operator][0])
    macs = sum(a * b for a, b in itertools.pairwise(sizes))
    return 2 * macs * coefficient_vectors(operator, samples) * batch


# --------------------------------------------------------------------------
# Child process (Python 3.11): taylor-mlir, torch.func, the GEMM reference.
# --------------------------------------------------------------------------


def torch_func_operator(spec: dict[str, Any], model, x, data, directions=None):
    """The batched operator by nested first-order torch.func."""
    import torch
    from torch.func import hessian, jvp, vmap

    op, dim = spec["operator"], spec["dim"]

    def f(xi):
        return model(xi)[0]

    if op == "laplacian":
        batched = vmap(lambda xi: torch.trace(hessian(f)(xi)))
    elif op == "weighted_laplacian":
        sigma = torch.from_numpy(np.array(data["sigma"])).to(x.dtype)
        c = sigma @ sigma.T
        batched = vmap(lambda xi: (hessian(f)(xi) * c).sum())
    elif op == "biharmonic":

        def laplacian(xi):
            return torch.trace(hessian(f)(xi))

        batched = vmap(lambda xi: torch.trace(hessian(laplacian)(xi)))
    else:
        nested = 2 if op == "stochastic_laplacian" else 4
        scale = 1.0 if nested == 2 else 1.0 / 3.0

        def along(h, v):
            return lambda y: jvp(h, (y,), (v,))[1]

        def derivative(xi, v):
            g = f
            for _ in range(nested):
                g = along(g, v)
            return g(xi)

        def estimate(xi, vs):
            return vmap(derivative, in_dims=(None, 0))(xi, vs).mean(0) * scale

        per_batch = vmap(estimate, in_dims=(0, None))
        generator = torch.Generator().manual_seed(spec.get("seed", 0))
        shape = (spec["samples"], dim)
        fixed = (
            None if directions is None else torch.as_tensor(directions, dtype=x.dtype)
        )

        def call():
            vs = fixed
            if vs is None:
                vs = torch.randn(shape, dtype=x.dtype, generator=generator)
            with torch.no_grad():
                return per_batch(x, vs)

        return call

    def call():
        with torch.no_grad():
            return batched(x)

    return call


def ours_operator(spec: dict[str, Any], model, x, data, seed=None):
    """``tm.compile`` of the operator (the call includes the compile)."""
    import taylor_mlir as tm
    import torch

    op = spec["operator"]
    options: dict[str, Any] = {}
    if op == "weighted_laplacian":
        options["sigma"] = torch.from_numpy(np.array(data["sigma"])).to(x.dtype)
    elif op.startswith("stochastic"):
        options["samples"] = spec["samples"]
        options["seed"] = (
            np.random.default_rng(spec.get("seed", 0)) if seed is None else seed
        )
        if op == "stochastic_laplacian":
            options["distribution"] = "normal"
    compiled = tm.compile(
        model,
        op=op,
        example_inputs=x,
        collapsed=spec["method"] == "ours_collapsed",
        cache=False,  # compile times are reported: never from the disk cache
        **options,
    )

    def call():
        return compiled(x)

    call.compiled = compiled
    return call


def ours_tracked_peak(compiled) -> float | None:
    """The peak live bytes of the compiled code's own allocation tracker
    (MiB, summed over its artifacts), where the installed version has one."""
    try:
        jits = {id(a.jit): a.jit for a in compiled._artifacts.values()}
        peaks = [j.allocations.peak for j in jits.values() if j.allocations]
        return sum(peaks) / 2**20 if peaks else None
    except AttributeError:
        return None


def set_ours_threads(threads: int) -> str:
    import taylor_mlir as tm

    if hasattr(tm, "set_num_threads"):
        tm.set_num_threads(threads)
        return "taylor_mlir.set_num_threads"
    import taylor_mlir.blas

    taylor_mlir.blas.set_num_threads(threads)
    return "taylor_mlir.blas.set_num_threads"


def gemm_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """torch.matmul 2048x2048 throughput, float64 and float32, best of 5."""
    import torch

    n = spec.get("size", 2048)
    result = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        a = torch.randn(n, n, dtype=dtype)
        b = torch.randn(n, n, dtype=dtype)
        torch.matmul(a, b)
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - start)
        result[name] = 2 * n**3 / best / 1e9
    return {"status": "ok", "gflops": result, "size": n}


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    harness.apply_threads_in_child(spec["threads"])
    if spec["method"] == "gemm":
        return gemm_worker(spec)
    import torch

    dtype = {"float64": torch.float64, "float32": torch.float32}[spec["dtype"]]
    data = np.load(spec["data"])
    dim, batch = spec["dim"], spec["batch"]
    model = harness.torch_mlp(data, dim, dtype)
    x = torch.from_numpy(np.array(data[f"x_d{dim}_b{batch}"])).to(dtype)
    check_key = f"check_d{dim}_s{spec.get('samples')}"
    check_directions = np.array(data[check_key]) if check_key in data else None
    harness.prime_blas()

    result: dict[str, Any] = {}
    if spec["method"] in OURS:
        result["threads_via"] = set_ours_threads(spec["threads"])
        start = time.perf_counter()
        call = ours_operator(spec, model, x, data)
        setup_s = time.perf_counter() - start

        def check():
            return ours_operator(spec, model, x, data, seed=CHECK_SEED)()

    elif spec["method"] == "torch_func":
        start = time.perf_counter()
        call = torch_func_operator(spec, model, x, data)
        setup_s = time.perf_counter() - start

        def check():
            return torch_func_operator(spec, model, x, data, check_directions)()

    else:
        raise ValueError(f"unknown method {spec['method']!r} for this worker")

    measured, first = harness.measure_spec(spec, call)
    result.update(measured)
    value = harness.float64_output(first)
    harness.save_output(spec.get("output"), value)
    if hasattr(call, "compiled"):
        result["tracker_peak_mib"] = ours_tracked_peak(call.compiled)
    result["setup_s"] = setup_s
    result["compile_s"] = setup_s + result["first_call_s"]
    result["value_mean"] = float(np.mean(value))
    if check_directions is not None and spec.get("check_output"):
        harness.save_output(spec["check_output"], harness.float64_output(check()))
    result["status"] = "ok"
    return result


def worker_main(spec_text: str) -> None:
    spec = json.loads(spec_text)
    try:
        result = run_worker(spec)
    except Exception as error:  # noqa: BLE001 (reported; the parent goes on)
        result = harness.error_result(error)
    harness.emit(result)


# --------------------------------------------------------------------------
# Parent: environments, data, plan, children, report.
# --------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def requirements_digest() -> str:
    return hashlib.sha256(PY312_REQUIREMENTS.read_bytes()).hexdigest()


def find_python312(explicit: str | None) -> str | None:
    for candidate in (explicit, os.environ.get("PEERS_PYTHON"), PY312_DEFAULT):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("python3.12")


def ensure_peers_env(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The Python of the peers' venv, created or updated when its marker
    (the requirements' hash) is missing or stale; or (None, why not)."""
    venv = Path(args.peers_venv)
    python = venv / "bin" / "python"
    marker = venv / ".requirements-sha256"
    digest = requirements_digest()
    if python.exists() and marker.exists() and marker.read_text().strip() == digest:
        return str(python), None
    if args.no_peers_setup:
        return None, f"the peers' venv {venv} is missing or stale (--no-peers-setup)"
    base = find_python312(args.peers_python)
    if not python.exists():
        if base is None:
            return None, (
                "no Python 3.12 found (jet-for-pytorch needs >= 3.12): "
                f"tried --peers-python, $PEERS_PYTHON, {PY312_DEFAULT}, python3.12"
            )
        log(f"== creating the peers' venv: {base} -m venv {venv}")
        completed = subprocess.run([base, "-m", "venv", str(venv)], check=False)
        if completed.returncode != 0:
            return None, f"`{base} -m venv {venv}` failed ({completed.returncode})"
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version_info >= (3, 12))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if version != "True":
        return None, f"{python} is not Python >= 3.12 (jet-for-pytorch needs it)"
    log(
        f"== installing the peers' requirements into {venv} "
        f"(pip install -r {PY312_REQUIREMENTS.relative_to(REPO)}; the first time "
        "~5 GB: PyTorch's CUDA build, jax, folx, jet-for-pytorch)"
    )
    start = time.perf_counter()
    completed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-r",
            str(PY312_REQUIREMENTS),
        ],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stdout.strip().splitlines()[-5:])
        return None, f"pip install into {venv} failed ({completed.returncode}): {tail}"
    marker.write_text(digest + "\n")
    log(f"== peers' venv ready in {time.perf_counter() - start:.0f} s")
    return str(python), None


def peers_versions(python: str | None) -> dict[str, str]:
    if python is None:
        return {}
    completed = subprocess.run(
        [python, str(PEERS / "worker312.py"), "--versions"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {}


def build_data(args: argparse.Namespace, plan_sizes: dict) -> tuple[Path, str]:
    """Weights, inputs, sigma and the check directions in one npz; its
    digest keys the saved outputs."""
    import torch

    arrays: dict[str, np.ndarray] = {}
    dims = sorted({OPERATORS[op][0] for op in args.operators})
    for dim in dims:
        torch.manual_seed(args.seed)
        previous = dim
        # (args.widths: another MLP of the same kind, e.g. training_step.py --quick)
        for i, width in enumerate([*getattr(args, "widths", WIDTHS), 1]):
            linear = torch.nn.Linear(previous, width, dtype=torch.float64)
            arrays[f"d{dim}_w{i}"] = linear.weight.detach().numpy().copy()
            arrays[f"d{dim}_b{i}"] = linear.bias.detach().numpy().copy()
            previous = width
        generator = torch.Generator().manual_seed(args.seed + 1)
        batches = sorted({b for (d, b) in plan_sizes["inputs"] if d == dim})
        # One stream for every batch size: x_b16 is the first 16 rows of x_b256.
        full = torch.randn(max(batches), dim, dtype=torch.float64, generator=generator)
        for batch in batches:
            arrays[f"x_d{dim}_b{batch}"] = full[:batch].numpy().copy()
    rank = OPERATORS["weighted_laplacian"][0]
    arrays["sigma"] = np.diag(np.sqrt(np.arange(1.0, rank + 1)))
    for op, samples in plan_sizes["checks"]:
        dim = OPERATORS[op][0]
        arrays[f"check_d{dim}_s{samples}"] = check_directions(op, dim, samples)
    digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    path = Path(args.cache_dir) / "data.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path, digest.hexdigest()[:16]


def check_directions(op: str, dim: int, samples: int) -> np.ndarray:
    """The directions taylor-mlir draws for ``seed=CHECK_SEED``."""
    try:
        from taylor_mlir import operators

        rng = np.random.default_rng(CHECK_SEED)
        if op == "stochastic_laplacian":
            return operators.stochastic_laplacian(
                dim, samples, "normal", rng
            ).directions
        return operators.stochastic_biharmonic(dim, samples, rng).directions
    except Exception:  # noqa: BLE001 (the draw taylor_mlir.operators makes today)
        return np.random.default_rng(CHECK_SEED).standard_normal((samples, dim))


def key_of(m: dict[str, Any]) -> str:
    return (
        f"{m['operator']}-{m['dtype']}-{m['method']}-b{m['batch']}"
        f"-s{m.get('samples')}"
    )


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def child_env(threads: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true",
            "MALLOC_MMAP_THRESHOLD_": "65536",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def run_child(
    command: list[str], threads: int, timeout: float, extra_env: dict | None = None
) -> dict[str, Any]:
    """Runs one child; its last JSON line, or an error record."""
    cores = os.cpu_count() or 1

    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(threads, extra_env),
        start_new_session=True,
    )
    if threads < cores and hasattr(os, "sched_setaffinity"):
        # Before the child starts its thread pools (inherited by them).
        os.sched_setaffinity(process.pid, set(range(threads)))
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {
            "status": "timeout",
            "reason": f"killed after the per-child limit of {timeout:.0f} s",
            "child_wall_s": time.perf_counter() - start,
        }
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # leftovers (import process)
        except ProcessLookupError:
            pass
    wall = time.perf_counter() - start
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            result["child_wall_s"] = wall
            return result
    code = process.returncode
    why = f"signal {-code}" if code < 0 else f"exit code {code}"
    if code == -signal.SIGKILL:
        why += " (killed: out of memory?)"
    tail = "\n".join(stderr.strip().splitlines()[-6:])
    return {
        "status": "error",
        "reason": f"child died: {why}: {tail}",
        "child_wall_s": wall,
    }


class Progress:
    """A progress line on stderr (``\\r``-updated on a terminal, one line per
    step otherwise): steps done, elapsed time, the ETA and the current
    measurement. The ETA sums an estimate of every pending step: a linear
    fit of the durations so far against the steps' nominal GFLOP, per
    method once it has two sizes done, else over every method."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.start = time.perf_counter()
        self.history: list[tuple[str, float, float]] = []
        self.tty = sys.stderr.isatty()

    @staticmethod
    def clock(seconds: float) -> str:
        seconds = int(seconds)
        return f"{seconds // 60}m{seconds % 60:02d}s"

    @staticmethod
    def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        mx, my = statistics.mean(xs), statistics.mean(ys)
        var = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0
        slope = max(slope, 0.0)
        return my - slope * mx, slope

    def estimate(self, method: str, gflop: float) -> float:
        own = [(g, d) for m, g, d in self.history if m == method]
        points = (
            own
            if len({g for g, _ in own}) >= 2
            else [(g, d) for _, g, d in self.history]
        )
        intercept, slope = self.fit(points)
        return max(intercept + slope * gflop, min(d for _, d in points))

    def begin(self, label: str, pending: list[tuple[str, float]]) -> None:
        elapsed = time.perf_counter() - self.start
        eta = "?"
        if self.history:
            eta = self.clock(sum(self.estimate(m, g) for m, g in pending))
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = (
            f"[{bar}] {self.done}/{self.total} {self.clock(elapsed)} "
            f"ETA {eta} | {label}"
        )
        if self.tty:
            print("\r\033[K" + line, end="", file=sys.stderr, flush=True)
        else:
            log(line)

    def end(
        self, summary: str, step: tuple[str, float] | None = None, duration=None
    ) -> None:
        self.done += 1
        if step is not None and duration is not None:
            self.history.append((step[0], step[1], duration))
        if self.tty:
            print("\r\033[K", end="", file=sys.stderr)
        log("    " + summary)


def contended(m: dict[str, Any], threads: int) -> bool:
    """Whether ``m``'s timed calls shared their cores with other processes."""
    load = m.get("foreign_load")
    spare = max((os.cpu_count() or 1) - threads, 0)
    return (
        m.get("status") == "ok" and load is not None and load > CONTENDED_LOAD + spare
    )


def summarize(m: dict[str, Any]) -> str:
    name = f"{m['operator']} {m['dtype']} {m['method']} B={m['batch']}" + (
        f" S={m['samples']}" if m.get("samples") else ""
    )
    if m["status"] != "ok":
        return f"{name}: {m['status']}: {m.get('reason', '')[:200]}"
    text = f"{name}: {1e3 * m['median_s']:.1f} ms (min {1e3 * m['min_s']:.1f})"
    if m.get("peak_mib") is not None:
        text += f", peak {m['peak_mib']:.0f} MiB"
    text += f", compile {m['compile_s']:.1f} s"
    if m.get("max_rel_error") is not None:
        text += f", error {m['max_rel_error']:.1e}"
    if m.get("check_max_rel_error") is not None:
        text += f", check error {m['check_max_rel_error']:.1e}"
    if m.get("foreign_load") is not None:
        text += f", foreign load {m['foreign_load']:.2f}"
    return text


def relative_error(value: np.ndarray, reference: np.ndarray) -> float:
    return float(np.max(np.abs(value - reference)) / np.max(np.abs(reference)))


def attach_errors(m: dict[str, Any], outputs: Path) -> None:
    """Fills the error fields of ``m`` from the saved outputs."""
    if m.get("status") != "ok":
        return
    ref_key = key_of({**m, "dtype": "float64", "method": "torch_func"})
    stochastic = OPERATORS[m["operator"]][2]
    if not stochastic:
        value, ref = outputs / f"{key_of(m)}.npy", outputs / f"{ref_key}.npy"
        if value.exists() and ref.exists():
            m["max_rel_error"] = relative_error(np.load(value), np.load(ref))
    else:
        value = outputs / f"{key_of(m)}-check.npy"
        ref = outputs / f"{ref_key}-check.npy"
        if value.exists() and ref.exists():
            m["check_max_rel_error"] = relative_error(np.load(value), np.load(ref))
        exact_key = key_of(
            {
                **m,
                "operator": m["operator"].replace("stochastic_", ""),
                "dtype": "float64",
                "method": "torch_func",
                "samples": None,
            }
        )
        exact = outputs / f"{exact_key}.npy"
        if exact.exists():
            m["exact_mean"] = float(np.mean(np.load(exact)))


def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every measurement, torch_func first within an operator and dtype
    (its float64 values are the references)."""
    order = ["torch_func"] + [m for m in METHODS if m != "torch_func"]
    jobs = []
    for op in args.operators:
        dim, _, stochastic = OPERATORS[op]
        sizes = (
            [
                (args.stochastic_batch or DEFAULT_STOCHASTIC_BATCH[op], s)
                for s in (args.samples or DEFAULT_SAMPLES[op])
            ]
            if stochastic
            else [(b, None) for b in args.batch]
        )
        for dtype in args.dtypes:
            for method in order:
                if method not in args.methods:
                    continue
                for batch, samples in sizes:
                    jobs.append(
                        {
                            "operator": op,
                            "dtype": dtype,
                            "method": method,
                            "batch": batch,
                            "samples": samples,
                            "dim": dim,
                        }
                    )
    return jobs


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def by_key(measurements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key_of(m): m for m in measurements if m.get("status") == "ok"}


def targets(
    measurements: list[dict[str, Any]], target_batch: int
) -> list[dict[str, Any]]:
    """The issue's targets (float64) evaluated on the measurements."""
    found = by_key(measurements)
    rows = []

    def get(op, method, batch, samples):
        return found.get(
            key_of(
                {
                    "operator": op,
                    "dtype": "float64",
                    "method": method,
                    "batch": batch,
                    "samples": samples,
                }
            )
        )

    sizes: dict[str, list[tuple[int, int | None]]] = {}
    for m in measurements:
        if (
            m["dtype"] == "float64"
            and m["method"] == "ours_collapsed"
            and (OPERATORS[m["operator"]][2] or m["batch"] == target_batch)
        ):
            sizes.setdefault(m["operator"], []).append((m["batch"], m.get("samples")))
    for op in OPERATORS:
        for batch, samples in sorted(set(sizes.get(op, [])), key=lambda s: (s[1] or 0)):
            ours = get(op, "ours_collapsed", batch, samples)
            where = f"B={batch}" + (f", S={samples}" if samples else "")
            checks = [("jet_collapsed", "time", 2.0)]
            if op == "laplacian":
                checks += [
                    ("torch_func", "time", 5.0),
                    ("jet_collapsed", "memory", 0.5),
                ]
            checks.append(("ours_standard", "time", 0.55))
            for peer, kind, threshold in checks:
                other = get(op, peer, batch, samples)
                if peer == "ours_standard":
                    target = f"collapsed/standard time <= {threshold}"
                elif kind == "time":
                    target = f">= {threshold}x faster than {peer}"
                else:
                    target = f"peak memory <= {threshold}x {peer}'s"
                value = None
                if ours is not None and other is not None:
                    if peer == "ours_standard":
                        value = ours["median_s"] / other["median_s"]
                    elif kind == "time":
                        value = other["median_s"] / ours["median_s"]
                    elif ours.get("peak_mib") is not None and other.get("peak_mib"):
                        value = ours["peak_mib"] / other["peak_mib"]
                if value is None:
                    outcome = "n/a"
                elif peer != "ours_standard" and kind == "time":
                    outcome = verdict(value >= threshold)
                else:
                    outcome = verdict(value <= threshold)
                rows.append(
                    {
                        "operator": op,
                        "where": where,
                        "versus": peer,
                        "kind": kind,
                        "threshold": threshold,
                        "target": target,
                        "value": value,
                        "verdict": outcome,
                    }
                )
    return rows


def fmt(value: float | None, spec: str, missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def markdown(report: dict[str, Any]) -> str:
    machine, config = report["machine"], report["config"]
    gemm = report.get("gemm", {}).get("gflops", {})
    versions = report.get("versions", {})
    lines = [
        "# Differential operators of the paper MLP: taylor-mlir vs its peers",
        "",
        (
            f"MLP `D -> {' -> '.join(map(str, WIDTHS))} -> 1`, tanh; "
            f"{machine['cpu_model']}, {machine['cores']} cores, "
            f"{config['threads']} threads; {report['date']}; commit "
            f"`{machine.get('commit')}`"
            + (
                " (+ uncommitted compiler changes)"
                if machine.get("compiler_sources_modified")
                else ""
            )
            + "; load average at start "
            f"{machine.get('loadavg_start')}, at end {machine.get('loadavg_end')}"
            + (
                f"; the run took {report['wall_s'] / 60:.1f} min."
                if report.get("wall_s")
                else "."
            )
        ),
        "",
        (
            "Versions: "
            + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if v)
            + "."
        ),
        "",
        (
            f"Protocol (benchmarks/README.md): every measurement in its own "
            f"process; set-up and first call (= compile s), {config['warmup']} "
            f"warm-up calls, up to {config['repeats']} timed calls (at least 3; "
            f"{config['max_seconds']:.0f} s for all the calls); median (min) "
            "per call. Peak memory: `VmHWM` over the first timed call minus "
            "`VmRSS` after the set-up, glibc mmap threshold fixed at 64 KiB. "
            "GFLOP/s: the nominal collapsed "
            "Taylor-mode FLOPs (the same count for every method) / median "
            "time. Machine: torch.matmul 2048² "
            f"{fmt(gemm.get('float64'), '.1f')} GFLOP/s (float64), "
            f"{fmt(gemm.get('float32'), '.1f')} GFLOP/s (float32). "
            "Error: max|y − ref| / max|ref| against torch_func in float64 "
            "(stochastic: with the same given directions)."
        ),
        "",
    ]
    if report.get("peers_env_error"):
        lines += [f"jet/folx not run: {report['peers_env_error']}", ""]
    measurements = report["measurements"]
    shared = [m for m in measurements if contended(m, config["threads"])]
    done = [m for m in measurements if m.get("status") == "ok"]
    if shared:
        lines += [
            (
                f"† {len(shared)} of {len(done)} measurements shared the cores "
                f"with other processes (more than {CONTENDED_LOAD} cores busy "
                "with other work during the timed calls, `foreign_load` in the "
                "JSON, even after measuring them again): their times are "
                "pessimistic."
            ),
            "",
        ]
    target_rows = report.get("targets", [])
    if target_rows:
        lines += [
            "## Targets (float64)",
            "",
            "| operator | size | target | value | verdict |",
            "|:---|:---|:---|---:|:---|",
        ]
        for row in target_rows:
            lines.append(
                f"| {row['operator']} | {row['where']} | {row['target']} "
                f"| {fmt(row['value'], '.2f')} | {row['verdict']} |"
            )
        lines.append("")
    for op, (dim, _, stochastic) in OPERATORS.items():
        for dtype in DTYPES:
            rows = [
                m for m in measurements if m["operator"] == op and m["dtype"] == dtype
            ]
            if not rows:
                continue
            size_name = "S" if stochastic else "B"
            title = f"## {op}, D = {dim}, {dtype}"
            if stochastic:
                title += f", B = {rows[0]['batch']}"
            heap = any(m.get("heap_peak_mib") is not None for m in rows)
            lines += [
                title,
                "",
                (
                    f"| {size_name} | method | median ms (min) | peak MiB "
                    + ("| heap peak MiB " if heap else "")
                    + "| compile s | GFLOP/s | error | ours_collapsed speed-up |"
                ),
                "|---:|:---|---:|---:|---:|---:|---:|---:|" + ("---:|" if heap else ""),
            ]
            ok = by_key(measurements)
            sizes = sorted(
                {(m["batch"], m.get("samples")) for m in rows},
                key=lambda s: (s[1] or 0, s[0]),
            )
            skipped: dict[str, str] = {}
            for batch, samples in sizes:
                ours = ok.get(
                    key_of(
                        {
                            "operator": op,
                            "dtype": dtype,
                            "method": "ours_collapsed",
                            "batch": batch,
                            "samples": samples,
                        }
                    )
                )
                for method in METHODS:
                    m = next(
                        (
                            r
                            for r in rows
                            if r["method"] == method
                            and r["batch"] == batch
                            and r.get("samples") == samples
                        ),
                        None,
                    )
                    if m is None:
                        continue
                    size = samples if stochastic else batch
                    if m["status"] == "skipped":
                        skipped[method] = m["reason"]
                        continue
                    if m["status"] != "ok":
                        lines.append(
                            f"| {size} | {method} | {m['status']}: "
                            f"{m.get('reason', '')[:80]} | | | | | |"
                        )
                        continue
                    error = m.get("max_rel_error", m.get("check_max_rel_error"))
                    speedup = (
                        m["median_s"] / ours["median_s"]
                        if ours is not None and method != "ours_collapsed"
                        else None
                    )
                    mark = " †" if contended(m, config["threads"]) else ""
                    lines.append(
                        f"| {size} | {method}{mark} | {1e3 * m['median_s']:.1f} "
                        f"({1e3 * m['min_s']:.1f}) | {fmt(m.get('peak_mib'), '.0f')} "
                        + (f"| {fmt(m.get('heap_peak_mib'), '.0f')} " if heap else "")
                        + f"| {m['compile_s']:.1f} | {m['gflops']:.1f} "
                        f"| {fmt(error, '.1e')} | {fmt(speedup, '.2f')}"
                        f"{'x' if speedup is not None else ''} |"
                    )
            lines.append("")
            ratio_lines = ratios(op, dtype, sizes, ok)
            if ratio_lines:
                lines += ratio_lines + [""]
            for method, reason in skipped.items():
                lines.append(f"- {method}: skipped: {reason}")
            if skipped:
                lines.append("")
            if stochastic:
                means = [
                    f"{m['method']} S={m['samples']}: {m['value_mean']:.4g}"
                    for m in rows
                    if m["status"] == "ok" and m.get("value_mean") is not None
                ]
                exact = next(
                    (
                        m.get("exact_mean")
                        for m in rows
                        if m.get("exact_mean") is not None
                    ),
                    None,
                )
                if means:
                    lines.append(
                        "Estimate's mean over the batch: "
                        + "; ".join(means)
                        + (f" (exact: {exact:.4g})." if exact is not None else ".")
                    )
                    lines.append("")
    return "\n".join(lines) + "\n"


def ratios(op, dtype, sizes, ok) -> list[str]:
    """ours_collapsed / best peer (time, memory) per size."""
    out = []
    for batch, samples in sizes:

        def get(method, batch=batch, samples=samples):
            return ok.get(
                key_of(
                    {
                        "operator": op,
                        "dtype": dtype,
                        "method": method,
                        "batch": batch,
                        "samples": samples,
                    }
                )
            )

        ours = get("ours_collapsed")
        peers = {p: get(p) for p in PEER_METHODS if get(p) is not None}
        if ours is None or not peers:
            continue
        best_time = min(peers, key=lambda p: peers[p]["median_s"])
        text = (
            f"ours_collapsed / best peer ({best_time}): time "
            f"{ours['median_s'] / peers[best_time]['median_s']:.2f}"
        )
        with_memory = {p: r for p, r in peers.items() if r.get("peak_mib")}
        if with_memory and ours.get("peak_mib") is not None:
            best_memory = min(with_memory, key=lambda p: with_memory[p]["peak_mib"])
            text += (
                f", memory {ours['peak_mib'] / with_memory[best_memory]['peak_mib']:.2f}"
                f" ({best_memory})"
            )
        size = f"S={samples}" if samples else f"B={batch}"
        out.append(f"- {size}: {text}")
    return out


def plots(
    report: dict[str, Any],
    directory: Path,
    prefix: str = "",
    title: str = "",
    per: str = "call",
    extra_styles: dict[str, tuple[str, str, str]] | None = None,
) -> list[str]:
    """Time and memory against B (or S) per operator and dtype, one line per
    method: ``<directory>/<prefix><operator>_<dtype>.png`` (``title`` before
    the figure's title; ``per``: what one timing is, e.g. "step";
    ``extra_styles``: (color, marker, line style) of methods beyond
    `METHODS`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        log(
            "matplotlib is missing: no plots (pip install -r benchmarks/requirements.txt)"
        )
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    ok = [m for m in report["measurements"] if m.get("status") == "ok"]
    styles = {
        "ours_collapsed": ("C3", "o", "-"),
        "ours_standard": ("C3", "s", "--"),
        "torch_func": ("C0", "^", "-"),
        "jet_collapsed": ("C2", "o", "-"),
        "jet_standard": ("C2", "s", "--"),
        "folx": ("C1", "D", "-"),
        **(extra_styles or {}),
    }
    for op, (dim, _, stochastic) in OPERATORS.items():
        for dtype in DTYPES:
            rows = [m for m in ok if m["operator"] == op and m["dtype"] == dtype]
            if not rows:
                continue
            fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
            for method in styles:
                points = sorted(
                    (
                        (m["samples"] if stochastic else m["batch"]),
                        m["median_s"],
                        m.get("peak_mib"),
                    )
                    for m in rows
                    if m["method"] == method
                )
                if not points:
                    continue
                color, marker, line = styles[method]
                xs = [p[0] for p in points]
                ax_t.plot(
                    xs,
                    [1e3 * p[1] for p in points],
                    marker=marker,
                    ls=line,
                    color=color,
                    label=method,
                )
                mem = [(p[0], p[2]) for p in points if p[2]]
                if mem:
                    ax_m.plot(
                        [p[0] for p in mem],
                        [p[1] for p in mem],
                        marker=marker,
                        ls=line,
                        color=color,
                        label=method,
                    )
            xlabel = (
                f"samples S (B = {rows[0]['batch']})" if stochastic else "batch size B"
            )
            for ax, ylabel in (
                (ax_t, f"median time per {per} (ms)"),
                (ax_m, "peak memory (MiB)"),
            ):
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel(xlabel)
                ax.set_ylabel(ylabel)
                ax.grid(True, which="both", alpha=0.3)
                sizes = sorted(
                    {(m["samples"] if stochastic else m["batch"]) for m in rows}
                )
                ax.set_xticks(sizes)
                ax.set_xticklabels([str(s) for s in sizes])
                ax.xaxis.set_minor_locator(ticker.NullLocator())
                ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(
                    ticker.FuncFormatter(lambda v, _: f"{v:g}")
                )
                ax.yaxis.set_minor_locator(ticker.NullLocator())
            ax_t.legend(fontsize=8)
            fig.suptitle(
                f"{title}{op}, D = {dim}, {dtype} ({report['machine']['threads']} threads)"
            )
            fig.tight_layout()
            path = directory / f"{prefix}{op}_{dtype}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(str(path))
    return written


def heap_peak_env(args: argparse.Namespace) -> dict[str, str]:
    """Builds peers/heap_peak.c (if needed) and the environment that
    preloads it."""
    source = PEERS / "heap_peak.c"
    library = Path(args.cache_dir) / "heap_peak.so"
    if not library.exists() or library.stat().st_mtime < source.stat().st_mtime:
        library.parent.mkdir(parents=True, exist_ok=True)
        command = [
            "cc",
            "-O2",
            "-shared",
            "-fPIC",
            "-o",
            str(library),
            str(source),
            "-ldl",
        ]
        log("== " + " ".join(command))
        subprocess.run(command, check=True)
    return {"LD_PRELOAD": str(library), "HEAP_PEAK_LIB": str(library)}


def git(*args: str) -> str | None:
    """The output of ``git -C <repo> *args`` (stripped), None if it fails."""
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) / 2**20
    except OSError:
        pass
    commit = git("rev-parse", "--short", "HEAD")
    status = git("status", "--porcelain", "--", *COMPILER_PATHS)
    dirty = None if status is None else bool(status)
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "threads": args.threads,
        "memory_gib": memory,
        "platform": platform.platform(),
        "commit": commit,
        # uncommitted changes to the compiler's sources (the installed
        # taylor_mlir may then differ from the commit)
        "compiler_sources_modified": dirty,
        "loadavg_start": load_average(),
    }


def own_versions() -> dict[str, str]:
    from importlib import metadata

    found = {"python (ours)": platform.python_version()}
    for name, dist in (
        ("torch (ours)", "torch"),
        ("taylor_mlir", "taylor-mlir"),
        ("numpy (ours)", "numpy"),
    ):
        try:
            found[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found


def run_benchmark(args: argparse.Namespace) -> None:
    out_dir = Path(args.out_dir)
    stem = "operators_quick" if args.quick else "operators"
    if args.memory_check:
        stem += "_memcheck"
    extra_env = heap_peak_env(args) if args.memory_check else None
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    out_dir.mkdir(parents=True, exist_ok=True)
    wall_start = time.perf_counter()

    jobs = plan(args)
    peers_python, peers_error = None, None
    if any(j["method"] in PY312_METHODS for j in jobs):
        peers_python, peers_error = ensure_peers_env(args)
        if peers_error:
            log(f"== jet/folx will be skipped: {peers_error}")

    sizes = {
        "inputs": {(j["dim"], j["batch"]) for j in jobs},
        "checks": {(j["operator"], j["samples"]) for j in jobs if j["samples"]},
    }
    data_path, digest = build_data(args, sizes)
    outputs = Path(args.cache_dir) / "outputs" / digest
    outputs.mkdir(parents=True, exist_ok=True)

    # References (torch_func, float64) not measured in this run nor saved.
    planned = {key_of(j) for j in jobs}
    references = []
    for j in jobs:
        ref = {**j, "dtype": "float64", "method": "torch_func"}
        name = key_of(ref)
        suffix = "-check" if j["samples"] else ""
        if (
            name not in planned
            and not (outputs / f"{name}{suffix}.npy").exists()
            and name not in {key_of(r) for r in references}
        ):
            references.append(ref)

    previous: list[dict[str, Any]] = []
    if args.merge and json_path.exists():
        old = json.loads(json_path.read_text())
        previous = [m for m in old.get("measurements", []) if key_of(m) not in planned]
        log(f"== merging into {json_path} ({len(previous)} earlier measurements kept)")

    report: dict[str, Any] = {
        "benchmark": "operators",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": {
            "operators": args.operators,
            "methods": args.methods,
            "dtypes": args.dtypes,
            "batch": args.batch,
            "samples": args.samples
            or {op: DEFAULT_SAMPLES[op] for op in DEFAULT_SAMPLES},
            "stochastic_batch": args.stochastic_batch or DEFAULT_STOCHASTIC_BATCH,
            "threads": args.threads,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "max_seconds": args.max_seconds,
            "timeout": args.timeout,
            "seed": args.seed,
            "quick": args.quick,
            "widths": list(WIDTHS),
            "distribution": "normal",
            "weighting": "C = diag(1..50), sigma = diag(sqrt(1..50))",
        },
        "machine": machine_info(args),
        "versions": {**own_versions(), **peers_versions(peers_python)},
        "peers_env_error": peers_error,
        "gemm": {},
        "measurements": list(previous),
        "targets": [],
    }

    def write() -> None:
        report["machine"]["loadavg_end"] = load_average()
        report["wall_s"] = time.perf_counter() - wall_start
        report["targets"] = targets(report["measurements"], max(args.batch))
        json_path.write_text(json.dumps(report, indent=1) + "\n")

    def gflop(job: dict[str, Any]) -> float:
        return nominal_flops(job["operator"], job["batch"], job["samples"]) / 1e9

    def runnable(job: dict[str, Any]) -> bool:
        return not (
            unsupported(job["method"], job["operator"])
            or (job["method"] in PY312_METHODS and peers_error)
        )

    pending = [("gemm", 0.0)]
    pending += [("reference", gflop(r)) for r in references]
    pending += [(j["method"], gflop(j)) for j in jobs if runnable(j)]
    progress = Progress(1 + len(references) + len(jobs))

    common = {
        "threads": args.threads,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "max_seconds": args.max_seconds,
        "data": str(data_path),
        "seed": args.seed,
    }
    me = [sys.executable, str(Path(__file__).resolve()), "--worker"]

    progress.begin("machine GEMM throughput (torch.matmul 2048²)", pending)
    start = time.perf_counter()
    gemm = run_child(
        me + [json.dumps({**common, "method": "gemm"})],
        args.threads,
        args.timeout,
        extra_env,
    )
    report["gemm"] = gemm
    progress.end(
        "torch.matmul 2048²: "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in gemm.get("gflops", {}).items()),
        pending.pop(0),
        time.perf_counter() - start,
    )
    write()

    for ref in references:
        progress.begin(f"reference {key_of(ref)}", pending)
        start = time.perf_counter()
        name = key_of(ref)
        spec = {
            **common,
            **ref,
            "reference_only": True,
            "output": str(outputs / f"{name}.npy"),
            "check_output": str(outputs / f"{name}-check.npy"),
        }
        result = run_child(
            me + [json.dumps(spec)], args.threads, args.timeout, extra_env
        )
        progress.end(
            f"reference {name}: {result['status']} {result.get('reason', '')}",
            pending.pop(0),
            time.perf_counter() - start,
        )

    def measure_job(job: dict[str, Any]) -> dict[str, Any]:
        name = key_of(job)
        spec = {
            **common,
            **job,
            "output": str(outputs / f"{name}.npy"),
            "check_output": str(outputs / f"{name}-check.npy"),
        }
        if job["method"] in PY312_METHODS:
            command = [peers_python, str(PEERS / "worker312.py"), json.dumps(spec)]
        else:
            command = me + [json.dumps(spec)]
        for stale in (spec["output"], spec["check_output"]):
            Path(stale).unlink(missing_ok=True)
        record = dict(job)
        record["nominal_gflop"] = gflop(job)
        record.update(run_child(command, args.threads, args.timeout, extra_env))
        record["loadavg"] = load_average()
        if record["status"] == "ok":
            record["gflops"] = record["nominal_gflop"] / record["median_s"]
            attach_errors(record, outputs)
        return record

    def label(job: dict[str, Any]) -> str:
        return f"{job['operator']} {job['dtype']} {job['method']} B={job['batch']}" + (
            f" S={job['samples']}" if job["samples"] else ""
        )

    measured = []
    for job in jobs:
        reason = unsupported(job["method"], job["operator"])
        if reason is None and job["method"] in PY312_METHODS and peers_error:
            reason = f"the Python 3.12 peers' venv is unavailable: {peers_error}"
        if reason is not None:
            record = {**job, "nominal_gflop": gflop(job)}
            record.update(status="skipped", reason=reason)
            report["measurements"].append(record)
            progress.end(summarize(record))
            write()
            continue
        progress.begin(label(job), pending)
        start = time.perf_counter()
        record = measure_job(job)
        report["measurements"].append(record)
        measured.append(record)
        progress.end(summarize(record), pending.pop(0), time.perf_counter() - start)
        write()

    # Measurements that shared the cores with other processes, once more.
    for attempt in range(args.retries):
        again = [m for m in measured if contended(m, args.threads)]
        if not again:
            break
        log(
            f"== {len(again)} measurements shared the cores with other processes "
            f"(foreign load > {CONTENDED_LOAD} cores): measuring them again "
            f"({attempt + 1}/{args.retries})"
        )
        progress.total += len(again)
        pending = [(m["method"], m["nominal_gflop"]) for m in again]
        for old in again:
            job = {k: old[k] for k in ("operator", "dtype", "method", "batch")}
            job.update(samples=old.get("samples"), dim=old["dim"])
            progress.begin("again: " + label(job), pending)
            start = time.perf_counter()
            new = measure_job(job)
            first = {k: old.get(k) for k in ("median_s", "min_s", "foreign_load")}
            if new["status"] == "ok" and (new["foreign_load"] or 0) < (
                old["foreign_load"] or 0
            ):
                new["earlier_attempts"] = [*old.get("earlier_attempts", []), first]
                index = report["measurements"].index(old)
                report["measurements"][index] = new
                measured[measured.index(old)] = new
                kept = new
            else:
                kept = old
                kept.setdefault("later_attempts", []).append(
                    {k: new.get(k) for k in ("median_s", "min_s", "foreign_load")}
                )
            progress.end(
                summarize(kept) + f" (first: {1e3 * first['median_s']:.1f} ms)",
                pending.pop(0),
                time.perf_counter() - start,
            )
            write()

    for m in report["measurements"]:
        if m.get("status") == "ok":
            attach_errors(m, outputs)
    write()
    text = markdown(report)
    md_path.write_text(text)
    skip_plots = args.quick or args.no_plots or args.memory_check
    written = [] if skip_plots else plots(report, out_dir / "plots")
    print(text)
    log(
        f"wrote {json_path}, {md_path}"
        + (f" and {len(written)} plots in {out_dir / 'plots'}" if written else "")
        + f"; {Progress.clock(time.perf_counter() - wall_start)} in all"
    )


def report_only(args: argparse.Namespace) -> None:
    out_dir = Path(args.out_dir)
    stem = "operators_quick" if args.quick else "operators"
    if args.memory_check:
        stem += "_memcheck"
    report = json.loads((out_dir / f"{stem}.json").read_text())
    report["targets"] = targets(report["measurements"], report["config"]["batch"][-1])
    text = markdown(report)
    (out_dir / f"{stem}.md").write_text(text)
    skip_plots = args.quick or args.no_plots or args.memory_check
    written = [] if skip_plots else plots(report, out_dir / "plots")
    print(text)
    log(f"wrote {out_dir / stem}.md and {len(written)} plots")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--operators", nargs="+", choices=list(OPERATORS), default=list(OPERATORS)
    )
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHODS), default=list(METHODS)
    )
    parser.add_argument(
        "--dtypes", nargs="+", choices=list(DTYPES), default=list(DTYPES)
    )
    parser.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=None,
        help=f"batch sizes of the exact operators (default {DEFAULT_BATCH})",
    )
    parser.add_argument(
        "--samples",
        type=int,
        nargs="+",
        default=None,
        help="samples of the stochastic operators (default: Laplacian 1 10 50, biharmonic 1 9 36)",
    )
    parser.add_argument(
        "--stochastic-batch",
        type=int,
        default=None,
        help="batch size of the stochastic operators (default: Laplacian 256, "
        "biharmonic 64)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed calls (default 7; at least 3, stopping after --max-seconds)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed calls after the first (default 2)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="time budget of one measurement's calls: the first, the warm-up and "
        "the timed ones (at least 3 of them) (default 20)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="limit per child process, s"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="measure again (at the end) what shared the cores with other "
        "processes, up to this many times",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: float64, B = 8, S = 2, few calls (~2 min); results in operators_quick.*",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the measurements of the existing JSON that this run does not redo",
    )
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the markdown and the plots from the existing JSON",
    )
    parser.add_argument(
        "--memory-check",
        action="store_true",
        help="also count the C heap's peak (LD_PRELOAD of peers/heap_peak.c) to "
        "check the resident-set protocol; results in operators_memcheck.*",
    )
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    parser.add_argument(
        "--cache-dir",
        default=str(REPO / "build" / "bench" / "operators"),
        help="data file and saved outputs (the references)",
    )
    parser.add_argument("--peers-venv", default=str(REPO / "build" / "peers" / "py312"))
    parser.add_argument(
        "--peers-python",
        default=None,
        help="a Python >= 3.12 to create the peers' venv with",
    )
    parser.add_argument(
        "--no-peers-setup",
        action="store_true",
        help="do not create or update the peers' venv",
    )
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "batch": [8] if quick else DEFAULT_BATCH,
        "stochastic_batch": 8 if quick else None,
        "repeats": 3 if quick else 7,
        "warmup": 1 if quick else 2,
        "max_seconds": 5.0 if quick else 20.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if quick and args.samples is None:
        args.samples = [2]
    if quick and args.dtypes == list(DTYPES) and "--dtypes" not in (argv or sys.argv):
        args.dtypes = ["float64"]
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
