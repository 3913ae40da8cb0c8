"""The measurement protocol of ``benchmarks/operators.py``, shared by every
method's child process (``operators.py --worker`` in the project's Python 3.11
venv, ``peers/worker312.py`` in the Python 3.12 peers' venv), so that every
method is timed and its memory measured by the same code.

Standard library and numpy only at import time (torch is imported lazily by
`torch_mlp`).

Protocol of `measure` (see benchmarks/README.md), after the operator's
set-up (compilation, tracing; BLAS work buffers primed by `prime_blas`):

1. ``VmRSS`` is read: the set-up baseline;
2. the first call (``first_call_s``; JAX and taylor-mlir have compiled in
   the set-up, eager methods trace or dispatch here);
3. ``warmup`` untimed calls (fewer when the calls so far, the first one
   included, took more than a quarter of ``max_seconds``); ``VmRSS`` is read again: what the
   method keeps between calls (``retained_mib``, e.g. buffer caches);
4. the peak ``VmHWM`` is reset (``5`` written to ``/proc/self/clear_refs``),
   then ``repeats`` timed calls (at least ``min_repeats``, stopping once all
   the calls, the first and the warm-up included, took more than
   ``max_seconds``); after the first, ``VmHWM`` is read:
   ``peak_mib = VmHWM - baseline`` (retained + transient).

The child runs with ``MALLOC_MMAP_THRESHOLD_=65536`` (set by the parent):
glibc serves every buffer above 64 KiB by ``mmap`` and unmaps it on
``free``, so the resident set follows the live buffers instead of the heap
glibc keeps. With ``HEAP_PEAK_LIB`` (``--memory-check``) the C heap's live
bytes are counted as well (``heap_peak.c``), the same way.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

MIB = 2.0**20


def proc_status_kib(field: str) -> int | None:
    """``field`` (e.g. ``VmRSS``, ``VmHWM``) of /proc/self/status in KiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Resets ``VmHWM`` to the current ``VmRSS`` (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def measure(
    call: Callable[[], Any],
    *,
    sync: Callable[[Any], Any] = lambda result: result,
    warmup: int = 2,
    repeats: int = 7,
    max_seconds: float = 20.0,
    min_repeats: int = 3,
) -> tuple[dict[str, Any], Any]:
    """Runs the protocol on ``call`` (``sync`` waits for an asynchronous
    result, e.g. JAX's ``block_until_ready``). Returns the measurements and
    the first call's result."""
    heap = heap_counter()
    gc.collect()
    setup_kib = proc_status_kib("VmRSS")
    heap_setup = heap.heap_peak_live() if heap else None

    window_start = time.perf_counter()
    cpu_start = resource.getrusage(resource.RUSAGE_SELF)
    busy_start = machine_busy_s()
    start = time.perf_counter()
    first = sync(call())
    first_call_s = time.perf_counter() - start

    warmup_s = 0.0
    warmups = 0
    for _ in range(warmup):
        if first_call_s + warmup_s > max_seconds / 4:
            break  # slow calls: the first call was warm-up enough
        start = time.perf_counter()
        result = sync(call())
        warmup_s += time.perf_counter() - start
        warmups += 1
        del result

    gc.collect()
    idle_kib = proc_status_kib("VmRSS")
    heap_idle = heap.heap_peak_live() if heap else None
    if heap:
        heap.heap_peak_reset()
    peak_reset = reset_peak_rss()
    times: list[float] = []
    peak_kib = heap_peak = None
    timed_cpu_start = resource.getrusage(resource.RUSAGE_SELF)
    gc.disable()
    try:
        for _ in range(max(repeats, 1)):
            start = time.perf_counter()
            result = sync(call())
            times.append(time.perf_counter() - start)
            if peak_kib is None:
                peak_kib = proc_status_kib("VmHWM")
                heap_peak = heap.heap_peak_peak() if heap else None
            del result
            spent = first_call_s + warmup_s + sum(times)
            if len(times) >= min_repeats and spent > max_seconds:
                break
    finally:
        gc.enable()
    busy_end = machine_busy_s()
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    window_s = time.perf_counter() - window_start

    def cpu_seconds(a: Any, b: Any) -> float:
        return sum(getattr(b, f) - getattr(a, f) for f in ("ru_utime", "ru_stime"))

    timed_cpu_s = cpu_seconds(timed_cpu_start, cpu_end)
    window_cpu_s = cpu_seconds(cpu_start, cpu_end)

    def mib(a: int | None, b: int | None, unit: float = 1024) -> float | None:
        return None if a is None or b is None else (a - b) / unit

    measured = peak_reset and None not in (setup_kib, idle_kib, peak_kib)
    return {
        "first_call_s": first_call_s,
        "warmup_calls": warmups,
        "times_s": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        # Peak memory of a call above the process after setup (before the
        # first call): what a call needs, including what the method keeps
        # between calls (buffer caches); `retained` + `transient`.
        "peak_mib": mib(peak_kib, setup_kib) if measured else None,
        "retained_mib": mib(idle_kib, setup_kib),
        "transient_mib": mib(peak_kib, idle_kib) if measured else None,
        "setup_rss_mib": None if setup_kib is None else setup_kib / 1024,
        "heap_peak_mib": mib(heap_peak, heap_setup, MIB),
        "heap_retained_mib": mib(heap_idle, heap_setup, MIB),
        # CPU time / wall time of the timed calls: ~threads when the calls
        # keep every thread busy, lower when they wait (or are preempted).
        "cpu_utilization": timed_cpu_s / sum(times),
        # Cores kept busy by other processes from the first call to the last
        # (the machine's busy time from /proc/stat minus this process's): ~0
        # on a quiet machine; above ~0.3 the measurement shared the cores.
        # None for windows under 0.25 s (/proc/stat counts 10 ms ticks).
        "foreign_load": (
            None
            if busy_start is None or busy_end is None or window_s < 0.25
            else max(busy_end - busy_start - window_cpu_s, 0.0) / window_s
        ),
    }, first


def measure_spec(
    spec: dict[str, Any],
    call: Callable[[], Any],
    sync: Callable[[Any], Any] = lambda result: result,
) -> tuple[dict[str, Any], Any]:
    """`measure` with the worker spec's ``warmup``, ``repeats`` and
    ``max_seconds``, or, for a ``reference_only`` spec, one timed call
    (``{"first_call_s"}``). Returns the measurement and the first result."""
    if spec.get("reference_only"):
        start = time.perf_counter()
        first = sync(call())
        return {"first_call_s": time.perf_counter() - start}, first
    return measure(
        call,
        sync=sync,
        warmup=spec["warmup"],
        repeats=spec["repeats"],
        max_seconds=spec["max_seconds"],
    )


def machine_busy_s() -> float | None:
    """Seconds of CPU time the whole machine spent busy (/proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest is in user)
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


def prime_blas() -> None:
    """One small matrix product per dtype in numpy (whose OpenBLAS
    taylor-mlir calls) and torch, before the memory baseline: the BLAS
    libraries' lazily allocated work buffers are then part of it for every
    method."""
    for dtype in (np.float64, np.float32):
        a = np.ones((256, 256), dtype=dtype)
        a @ a
    if "torch" in sys.modules:
        import torch

        for dtype in (torch.float64, torch.float32):
            b = torch.ones(256, 256, dtype=dtype)
            b @ b


def heap_counter() -> Any:
    """The ``heap_peak.c`` library when preloaded (``--memory-check``)."""
    path = os.environ.get("HEAP_PEAK_LIB")
    if not path:
        return None
    library = ctypes.CDLL(path)
    for name in ("heap_peak_live", "heap_peak_peak"):
        getattr(library, name).restype = ctypes.c_long
    return library


def torch_mlp(data: Any, dim: int, dtype: Any) -> Any:
    """The benchmark's MLP as a ``torch.nn.Sequential`` of ``Linear``/``Tanh``
    with the weights ``d{dim}_w{i}``/``d{dim}_b{i}`` of ``data`` (an npz), in
    ``dtype``, evaluation mode, parameters without gradients."""
    import torch

    layers: list[torch.nn.Module] = []
    i = 0
    while f"d{dim}_w{i}" in data:
        weight = torch.from_numpy(np.array(data[f"d{dim}_w{i}"]))
        bias = torch.from_numpy(np.array(data[f"d{dim}_b{i}"]))
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        if layers:
            layers.append(torch.nn.Tanh())
        layers.append(linear)
        i += 1
    model = torch.nn.Sequential(*layers).to(dtype).eval()
    model.requires_grad_(False)
    return model


def apply_threads_in_child(threads: int) -> None:
    """Thread settings every child applies for itself (the parent sets the
    environment variables and the CPU affinity)."""
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def error_result(error: BaseException) -> dict[str, Any]:
    """The child's result for a measurement that raised `error` (reported;
    the parent goes on)."""
    return {
        "status": "error",
        "reason": f"{type(error).__name__}: {error}",
        "traceback": traceback.format_exc(limit=8),
    }


def emit(result: dict[str, Any]) -> None:
    """Prints the child's one JSON object (the last line of stdout)."""
    sys.stdout.flush()
    print("\n" + json.dumps(result), flush=True)


def float64_output(value: Any) -> np.ndarray:
    """The operator's value per datum, ``[B]``, float64."""
    return np.asarray(value, dtype=np.float64).reshape(-1)


def save_output(path: str | None, value: np.ndarray) -> None:
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, value)
