"""TaylorSeer benchmark: full sampling vs feature reuse vs Taylor forecasting.

    .venv/bin/python benchmarks/taylorseer/bench.py           # the committed run
    .venv/bin/python benchmarks/taylorseer/bench.py --quick   # smoke run, /tmp

The trained glyph DiT (`checkpoints/dit.pt`, from `train.py`) samples
`--repeats` (4) batches of `--batch` (256) images, classes 0..9 repeated,
with the 50-step DDIM sampler (η = 0); batch r starts from the noise of seed
`--seed` + r, the same in every configuration:

- ``full``: every module computed at every step;
- ``reuse N=<n>``: plain feature reuse, the last full result copied, with the
  fixed schedule of interval n: `taylor_mlir.seer` with ``n_derivatives=0``,
  whose forecast is exactly the last full result (checked at start-up);
- ``taylor<o> N=<n>``: TaylorSeer of order o (1, 2) at interval n (2..5);
- ``auto<o> tol=<τ>``: the automatic mode (order o) at tolerance τ, which
  forecasts while the forecast's highest-order term is at most τ relative
  to the output; ``auto1+check tol=<τ>``: the same with a check step (a
  full evaluation compared with the forecast, adapting τ) after every 3
  forecasts.

Every configuration wraps the ``attn`` and ``mlp`` submodules of each of the
model's blocks (``blocks.<i>.attn``, ``blocks.<i>.mlp``) with
``seer.wrap(model, ..., warmup_steps=W)``, the same warm-up W (3, the least
that order 2 needs) everywhere.

Per configuration: the wall time and the CPU time of one sampling run (one
batch; median of the `--repeats` runs, which go round-robin over the
configurations, so that a burst of load on this shared machine hits every
configuration alike), the speed-up against ``full``, the number of full
module evaluations (summed over the wrapped modules; ``full`` has 50 per
module; auto mode: mean over the batches), and over all repeats x batch
samples: the mean squared error of the final samples against ``full``'s
(same noise; model space [-1, 1]), the Fréchet distance (FD) between the
classifier's penultimate features of the samples and of `--reference-size`
(10,000) real glyphs, the same distance to ``full``'s samples ("FD vs
full"), and how often the classifier recognises the requested class. Two
references for the FD: as many other real glyphs (the estimate's floor) and
``full`` from other noise (the estimate's spread for one sampler).

Automatic vs fixed at equal numbers of full evaluations: each auto
configuration is compared with the fixed-interval TaylorSeer of the same
order, whose MSE (log scale) and FDs are interpolated linearly in the number
of full evaluations between the fixed intervals that bracket it (auto points
outside the fixed intervals' range are not compared).

Output: `results/taylorseer.json` (everything, including raw times and the
schedules), `results/taylorseer.md` (table and conclusions),
`results/plots/taylorseer_grid.png` (samples and their difference from
full sampling's x 10; rows: configurations, same noise) and `results/plots/taylorseer_tradeoff.png` (MSE and Fréchet distance
against full evaluations).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import classifier as clf  # noqa: E402
import glyphs  # noqa: E402
from common import (  # noqa: E402
    CLASSIFIER_CHECKPOINT,
    DIT_CHECKPOINT,
    PLOTS_DIR,
    RESULTS_DIR,
    load_classifier,
    load_dit,
    machine_info,
    set_threads,
)
from diffusion import ddim_sample, initial_noise  # noqa: E402
from grid import save_grid  # noqa: E402

#: The wrapped submodules: every block's attention and MLP.
WRAP_PATTERN = re.compile(r"blocks\.\d+\.(attn|mlp)")


def import_seer():
    """`taylor_mlir.seer` from the installed package (``make install``)."""
    from taylor_mlir import seer

    return seer


def parse_args(argv=None):
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=256, help="samples per run")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps")
    p.add_argument("--warmup", type=int, default=3, help="warmup_steps of every config")
    p.add_argument("--intervals", type=int, nargs="+", default=[2, 3, 4, 5])
    p.add_argument("--orders", type=int, nargs="+", default=[1, 2])
    p.add_argument("--auto-orders", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--tolerances",
        type=float,
        nargs="+",
        default=None,
        help="auto mode tolerances (default: a grid per variant, see AUTO_VARIANTS)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=4,
        help="timed runs per config, each from its own noise (samples: repeats x batch)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: see benchmarks/README.md)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    p.add_argument("--reference-size", type=int, default=10000)
    p.add_argument("--grid-columns", type=int, default=12)
    p.add_argument("--dit", default=str(DIT_CHECKPOINT))
    p.add_argument("--classifier", default=str(CLASSIFIER_CHECKPOINT))
    p.add_argument("--out-dir", default=str(RESULTS_DIR))
    p.add_argument("--plots-dir", default=str(PLOTS_DIR))
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite taylorseer.md from the existing taylorseer.json",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: batch 32, 1 repeat, intervals 2 and 4, one tolerance "
        "per order; outputs in /tmp/taylorseer_quick",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.repeats, args.intervals = 32, 1, [2, 4]
        args.reference_size = 2000
        args.tolerances = args.tolerances or [0.05]
        args.out_dir = args.plots_dir = "/tmp/taylorseer_quick"
    return args


#: Auto-mode variants: (family, order, extra parameters, tolerances). The
#: tolerances (relative size of the forecast's highest-order term; with
#: checks also the target of the measured error) were chosen so that the
#: full-evaluation counts span those of intervals 2 to 5.
AUTO_VARIANTS = [
    ("auto1", 1, {}, [0.06, 0.075, 0.09, 0.12, 0.16, 0.2]),
    ("auto2", 2, {}, [0.012, 0.02, 0.03, 0.045, 0.07, 0.12]),
    ("auto1+check", 1, {"check_interval": 3}, [0.1, 0.15, 0.2, 0.3]),
]


def build_configs(args) -> list[dict]:
    """Every configuration of the run, `full` first."""
    configs = [{"name": "full", "family": "full", "params": None}]
    for n in args.intervals:
        configs.append(
            {
                "name": f"reuse N={n}",
                "family": "reuse",
                "order": 0,
                "interval": n,
                "params": dict(
                    warmup_steps=args.warmup, skip_interval_steps=n, n_derivatives=0
                ),
            }
        )
    for order in args.orders:
        for n in args.intervals:
            configs.append(
                {
                    "name": f"taylor{order} N={n}",
                    "family": f"taylor{order}",
                    "order": order,
                    "interval": n,
                    "params": dict(
                        warmup_steps=args.warmup,
                        skip_interval_steps=n,
                        n_derivatives=order,
                    ),
                }
            )
    for family, order, extra, tolerances in AUTO_VARIANTS:
        if order not in args.auto_orders:
            continue
        for tol in args.tolerances or tolerances:
            configs.append(
                {
                    "name": f"{family} tol={tol:g}",
                    "family": family,
                    "order": order,
                    "tolerance": tol,
                    **extra,
                    "params": dict(
                        warmup_steps=args.warmup,
                        n_derivatives=order,
                        mode="auto",
                        tolerance=tol,
                        **extra,
                    ),
                }
            )
    return configs


def check_reuse_is_exact(seer):
    """Assert that ``n_derivatives=0`` forecasts return the last full result.

    A module whose output changes every call (a counter), wrapped with
    interval 3: every forecast must equal the preceding full output exactly.
    """

    class Counter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return x * self.calls + torch.sin(x * self.calls)

    module = seer.taylor_seer(warmup_steps=1, skip_interval_steps=3, n_derivatives=0)(
        Counter()
    )
    x = torch.randn(4, 5)
    last_full, forecasts = None, 0
    for _ in range(12):
        before = module.module.calls
        out = module(x)
        if module.module.calls > before:
            last_full = out.clone()
        else:
            forecasts += 1
            if not torch.equal(out, last_full):
                raise AssertionError(
                    "n_derivatives=0 does not reuse the last full result"
                )
    if forecasts == 0:
        raise AssertionError("the reuse check made no forecast")
    return True


def sample(model, schedule, x_T, y, steps):
    """One timed sampling run: (samples, wall seconds, CPU seconds)."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = ddim_sample(model, schedule, x_T, y, steps=steps)
    return out, time.perf_counter() - w0, time.process_time() - c0


def fid_features(classifier, x):
    """Classifier penultimate features of model-space images (N, 1, 16, 16)."""
    return clf.features(classifier, x.clamp(-1, 1))


def interpolate(x_points, y_points, x, log_scale=False):
    """Piecewise-linear interpolation of y(x) (of log y if `log_scale`); None
    outside the points' range."""
    pts = sorted(zip(x_points, y_points))
    xs = [p[0] for p in pts]
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    ys = [math.log(p[1]) if log_scale else p[1] for p in pts]
    v = float(np.interp(x, xs, ys))
    return math.exp(v) if log_scale else v


def git_commit() -> str | None:
    """The checkout's HEAD commit, if any."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def sample_run(seer, model, schedule, config, x_T, y, steps):
    """One timed sampling run of `config`: (samples, wall s, CPU s, stats, names).

    The chosen submodules are wrapped for the run and unwrapped after it.
    """
    if config["params"] is None:
        out, wall, cpu = sample(model, schedule, x_T, y, steps)
        return out, wall, cpu, None, []
    names = seer.wrap(
        model, lambda name, m: WRAP_PATTERN.fullmatch(name), **config["params"]
    )
    try:
        with seer.sampling(model) as sampling_run:
            out, wall, cpu = sample(model, schedule, x_T, y, steps)
    finally:
        seer.unwrap(model)
    return out, wall, cpu, sampling_run.stats, names


def real_stats(classifier, n, seed, labels=None):
    """Feature statistics of `n` real glyphs drawn with `seed`."""
    images, _ = glyphs.make_glyphs(n, seed, labels=labels)
    x = glyphs.to_model_space(torch.from_numpy(images)).unsqueeze(1)
    return clf.gaussian_stats(fid_features(classifier, x))


def run(args):
    """Run every configuration; return the results dict."""
    seer = import_seer()
    threads = set_threads(args.threads)
    machine = machine_info()
    log(f"threads {threads}; load average {machine['load_average']}")
    check_reuse_is_exact(seer)

    model, schedule, ckpt = load_dit(args.dit)
    classifier, clf_ckpt = load_classifier(args.classifier)
    for p in model.parameters():
        p.requires_grad_(False)
    image_size = model.config.image_size
    # Repeat r samples from the noise of seed + r (the same in every
    # configuration): the timing runs also give repeats x batch samples.
    noises = [
        initial_noise(args.batch, image_size, seed=args.seed + r)
        for r in range(args.repeats)
    ]
    y = torch.from_numpy(glyphs.balanced_labels(args.batch))
    n_samples = args.batch * args.repeats

    t0 = time.perf_counter()
    ref_stats = real_stats(classifier, args.reference_size, glyphs.SEEDS["reference"])
    fd_floor = clf.frechet_distance(
        real_stats(
            classifier,
            n_samples,
            glyphs.SEEDS["reference_b"],
            labels=glyphs.balanced_labels(n_samples),
        ),
        ref_stats,
    )
    log(
        f"reference: {args.reference_size} real glyphs ({time.perf_counter() - t0:.1f} s); "
        f"Fréchet distance of {n_samples} other real glyphs: {fd_floor:.3f}"
    )

    configs = build_configs(args)
    n_wrappable = len(wrappable_names(model))
    # Untimed warm-up run (allocator, lazy initializations); it also checks
    # that sampling is deterministic (the same as the first timed full run).
    warm = ddim_sample(model, schedule, noises[0], y, steps=args.steps)

    results = {c["name"]: dict(c, wall=[], cpu=[]) for c in configs}
    samples = {c["name"]: [] for c in configs}
    t_start = time.perf_counter()
    for rep in range(args.repeats):
        for c in configs:
            r = results[c["name"]]
            out, wall, cpu, stats, names = sample_run(
                seer, model, schedule, c, noises[rep], y, args.steps
            )
            r["wall"].append(wall)
            r["cpu"].append(cpu)
            samples[c["name"]].append(out)
            full = (
                n_wrappable * args.steps
                if stats is None
                else sum(s["full"] for s in stats.values())
            )
            r.setdefault("full_evaluations_per_repeat", []).append(full)
            if rep == 0 and stats is not None:
                r["wrapped"] = names
                r["per_module"] = {
                    name: {
                        "full": s["full"],
                        "forecast": s["forecast"],
                        "schedule": s["schedule"],
                        "checks": len(s["checks"]),
                    }
                    for name, s in stats.items()
                }
                r["full_by_third"] = full_by_third(
                    [s["schedule"] for s in stats.values()], args.steps
                )
                r["full_by_kind"] = {
                    kind: sum(
                        s["full"]
                        for name, s in stats.items()
                        if name.endswith("." + kind)
                    )
                    for kind in ("attn", "mlp")
                }
            if rep == 0 and c["params"] is None:
                r["deterministic"] = bool(torch.equal(out, warm))
            log(
                f"[{rep + 1}/{args.repeats}] {c['name']:<20} {wall:6.2f} s wall "
                f"{cpu:6.2f} s CPU  full evaluations {full}"
            )
    sampling_seconds = time.perf_counter() - t_start

    # The spread of the FD estimate for one sampler: full sampling from other
    # noise (seeds + 1000), as many samples.
    other = torch.cat(
        [
            ddim_sample(
                model,
                schedule,
                initial_noise(args.batch, image_size, seed=args.seed + 1000 + r),
                y,
                steps=args.steps,
            )
            for r in range(args.repeats)
        ]
    )
    fd_full_other_noise = clf.frechet_distance(
        clf.gaussian_stats(fid_features(classifier, other)), ref_stats
    )

    # Quality: MSE against full sampling, Fréchet distance, class agreement.
    samples = {name: torch.cat(v) for name, v in samples.items()}
    labels = y.repeat(args.repeats)
    reference = samples["full"]
    full_feature_stats = clf.gaussian_stats(fid_features(classifier, reference))
    full_wall = statistics.median(results["full"]["wall"])
    full_cpu = statistics.median(results["full"]["cpu"])
    total_evals = n_wrappable * args.steps
    for name, r in results.items():
        s = samples[name]
        r["full_evaluations"] = statistics.mean(r["full_evaluations_per_repeat"])
        if r["full_evaluations"] == int(r["full_evaluations"]):
            r["full_evaluations"] = int(r["full_evaluations"])
        r["wall_median"] = statistics.median(r["wall"])
        r["cpu_median"] = statistics.median(r["cpu"])
        r["speedup_wall"] = full_wall / r["wall_median"]
        r["speedup_cpu"] = full_cpu / r["cpu_median"]
        r["full_fraction"] = r["full_evaluations"] / total_evals
        r["mse_vs_full"] = float(torch.mean((s - reference) ** 2))
        r["max_abs_vs_full"] = float((s - reference).abs().max())
        stats = clf.gaussian_stats(fid_features(classifier, s))
        r["fd"] = clf.frechet_distance(stats, ref_stats)
        r["fd_vs_full"] = clf.frechet_distance(stats, full_feature_stats)
        r["class_agreement"] = clf.evaluate(classifier, s.clamp(-1, 1), labels)
        r.pop("params", None)

    comparisons = compare_auto_fixed(results)
    grid_path = write_grid(args, configs, samples)
    plot_path = write_tradeoff_plot(args, results, fd_floor, fd_full_other_noise)

    return {
        "benchmark": "taylorseer",
        "description": (
            "Sampling the trained glyph DiT with the 50-step DDIM sampler: full, "
            "plain feature reuse (seer, n_derivatives=0), TaylorSeer (fixed "
            "intervals, orders 1-2) and the automatic mode, wrapping every "
            "block's attn and mlp; wall/CPU time medians, full module "
            "evaluations, MSE vs full (same noise), Fréchet distance in the "
            "classifier's feature space"
        ),
        "commit": git_commit(),
        "machine": machine,
        "load_average_end": list(os.getloadavg()),
        "threads": threads,
        "settings": {
            "batch": args.batch,
            "steps": args.steps,
            "warmup_steps": args.warmup,
            "repeats": args.repeats,
            "samples_per_config": n_samples,
            "seed": args.seed,
            "noise_seeds": [args.seed + r for r in range(args.repeats)],
            "reference_size": args.reference_size,
            "wrapped": "blocks.<i>.attn and blocks.<i>.mlp",
            "timing": (
                "median of the repeats (each a batch from its own noise seed, "
                "the same in every configuration), round-robin over configurations"
            ),
            "reuse_implementation": (
                "taylor_mlir.seer with n_derivatives=0 (its forecast is the last "
                "full result exactly; checked at start-up)"
            ),
        },
        "model": {
            "config": ckpt["config"],
            "schedule": ckpt["schedule"],
            "parameters": ckpt["train"]["parameters"],
            "train_steps": ckpt["train"]["steps"],
            "train_seconds": ckpt["train"]["seconds"],
            "final_loss": ckpt["train"]["final_loss"],
        },
        "classifier_accuracy": clf_ckpt["accuracy"],
        "fd_real_floor": fd_floor,
        "fd_full_other_noise": fd_full_other_noise,
        "sampling_seconds": sampling_seconds,
        "results": list(results.values()),
        "auto_vs_fixed": comparisons,
        "files": {"grid": grid_path, "tradeoff": plot_path},
    }


def full_by_third(schedules: list[str], steps: int) -> list[int]:
    """Full evaluations (``F`` or check ``C``) in the first, middle and last
    third of the sampling steps, summed over the modules' schedules."""
    bounds = [0, steps // 3, 2 * steps // 3, steps]
    return [
        sum(sch[bounds[i] : bounds[i + 1]].count("F") for sch in schedules)
        + sum(sch[bounds[i] : bounds[i + 1]].count("C") for sch in schedules)
        for i in range(3)
    ]


def wrappable_names(model):
    """Names of the submodules every configuration wraps."""
    return [n for n, _ in model.named_modules() if WRAP_PATTERN.fullmatch(n)]


def compare_auto_fixed(results: dict) -> list[dict]:
    """Auto vs fixed TaylorSeer of the same order at equal full evaluations."""
    out = []
    for r in results.values():
        if not r["family"].startswith("auto"):
            continue
        fixed = [f for f in results.values() if f["family"] == f"taylor{r['order']}"]
        counts = [f["full_evaluations"] for f in fixed]
        mse = interpolate(
            counts,
            [f["mse_vs_full"] for f in fixed],
            r["full_evaluations"],
            log_scale=True,
        )
        fd = interpolate(counts, [f["fd"] for f in fixed], r["full_evaluations"])
        fd_full = interpolate(
            counts, [f["fd_vs_full"] for f in fixed], r["full_evaluations"]
        )
        speed = interpolate(
            counts, [f["speedup_wall"] for f in fixed], r["full_evaluations"]
        )
        out.append(
            {
                "auto": r["name"],
                "full_evaluations": r["full_evaluations"],
                "auto_mse": r["mse_vs_full"],
                "fixed_mse_interpolated": mse,
                "mse_ratio": None if mse is None else r["mse_vs_full"] / mse,
                "auto_fd": r["fd"],
                "fixed_fd_interpolated": fd,
                "auto_fd_vs_full": r["fd_vs_full"],
                "fixed_fd_vs_full_interpolated": fd_full,
                "auto_speedup_wall": r["speedup_wall"],
                "fixed_speedup_wall_interpolated": speed,
            }
        )
    return out


def write_grid(args, configs, samples) -> str:
    """PNG: one row per configuration: the first `grid_columns` samples (the
    first noise seed), a gap, then |sample - full sampling's| x 10 (white:
    no difference)."""
    k = args.grid_columns
    full = samples["full"][:k, 0]
    rows = []
    for c in configs:
        s = samples[c["name"]][:k, 0]
        diff = ((s - full).abs() * 10).clamp(0, 1).numpy()
        gap = np.zeros((1,) + diff.shape[1:], dtype=np.float32)
        rows.append(
            np.concatenate([glyphs.to_pixel_space(s).numpy(), gap, diff], axis=0)
        )
    os.makedirs(args.plots_dir, exist_ok=True)
    path = os.path.join(args.plots_dir, "taylorseer_grid.png")
    save_grid(rows, path, row_labels=[c["name"] for c in configs], scale=3)
    return os.path.relpath(path, args.out_dir)


def write_tradeoff_plot(args, results, fd_floor, fd_other) -> str | None:
    """PNG: MSE vs full and Fréchet distance against the full evaluations."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no trade-off plot")
        return None
    families = {}
    for r in results.values():
        families.setdefault(r["family"], []).append(r)
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.4))
    styles = {
        "reuse": "s-",
        "taylor1": "o-",
        "taylor2": "^-",
        "auto1": "o--",
        "auto2": "^--",
        "auto1+check": "D:",
    }
    full = results["full"]
    for family, rs in families.items():
        if family == "full":
            continue
        rs = sorted(rs, key=lambda r: r["full_evaluations"])
        x = [r["full_fraction"] for r in rs]
        axes[0].plot(
            x, [r["mse_vs_full"] for r in rs], styles.get(family, "x-"), label=family
        )
        axes[1].plot(x, [r["fd"] for r in rs], styles.get(family, "x-"), label=family)
    axes[1].axhline(full["fd"], color="k", lw=1, label="full")
    axes[1].axhline(fd_other, color="k", lw=1, ls="--", label="full, other noise")
    axes[1].axhline(fd_floor, color="gray", lw=1, ls=":", label="real vs real")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("MSE of samples vs full sampling")
    axes[1].set_ylabel("Fréchet distance (classifier features)")
    for ax in axes:
        ax.set_xlabel("full module evaluations / full sampling's")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(
        f"TaylorSeer on the glyph DiT: {args.repeats} x {args.batch} samples, "
        f"{args.steps} DDIM steps"
    )
    fig.tight_layout()
    path = os.path.join(args.plots_dir, "taylorseer_tradeoff.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.path.relpath(path, args.out_dir)


def log(msg):
    """Progress on stderr."""
    print(msg, file=sys.stderr, flush=True)


def _fmt(v, spec):
    return "–" if v is None else format(v, spec)


def _geomean(values):
    values = [v for v in values if v is not None and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def conclusions(data: dict) -> list[str]:
    """Findings in words, derived from the numbers of this run."""
    rs = {r["name"]: r for r in data["results"]}
    full = rs["full"]
    out = []
    by_family = {}
    for r in data["results"]:
        by_family.setdefault(r["family"], []).append(r)
    # Forecasting vs reuse, interval by interval.
    lines = []
    for reuse in by_family.get("reuse", []):
        n = reuse["interval"]
        parts = []
        for fam in sorted(f for f in by_family if f.startswith("taylor")):
            t = rs.get(f"{fam} N={n}")
            if t is None:
                continue
            parts.append(
                f"order {t['order']}: MSE {t['mse_vs_full'] / reuse['mse_vs_full']:.2g}x "
                f"reuse's, FD vs full {t['fd_vs_full']:.2f} vs {reuse['fd_vs_full']:.2f}"
            )
        if parts:
            lines.append(f"N={n}: " + "; ".join(parts))
    if lines:
        wins = sum(
            1
            for fam in by_family
            if fam.startswith("taylor")
            for t in by_family[fam]
            if t["mse_vs_full"] < rs[f"reuse N={t['interval']}"]["mse_vs_full"]
        )
        total = sum(len(by_family[f]) for f in by_family if f.startswith("taylor"))
        out.append(
            f"**Forecasting vs reuse.** At the same interval (the same full "
            f"evaluations and practically the same time), TaylorSeer's samples are "
            f"closer to full sampling's than plain reuse's in {wins} of {total} "
            f"(order, interval) pairs: " + " | ".join(lines) + "."
        )
    # Speed.
    fixed = [
        r for r in data["results"] if r["family"] in ("reuse", "taylor1", "taylor2")
    ]
    if fixed:
        lo = min(fixed, key=lambda r: r["speedup_wall"])
        hi = max(fixed, key=lambda r: r["speedup_wall"])
        # Least-squares fit of time = a + b * fraction over full and the fixed
        # intervals: b is the wrapped modules' share of full sampling's time.
        pts = [(r["full_fraction"], r["wall_median"]) for r in fixed + [full]]
        fx = np.array([p[0] for p in pts])
        fy = np.array([p[1] for p in pts])
        b, a = np.polyfit(fx, fy, 1)
        ratios = [
            rs[f"taylor1 N={r['interval']}"]["wall_median"] / r["wall_median"]
            for r in by_family.get("reuse", [])
            if f"taylor1 N={r['interval']}" in rs
        ]
        overhead = _geomean(ratios)
        out.append(
            f"**Speed.** Fixed intervals {min(r['interval'] for r in fixed)}–"
            f"{max(r['interval'] for r in fixed)} compute "
            f"{100 * hi['full_fraction']:.0f}–{100 * lo['full_fraction']:.0f}% of the "
            f"module evaluations and run {lo['speedup_wall']:.2f}–"
            f"{hi['speedup_wall']:.2f}x faster than full sampling in wall time "
            f"(median of {data['settings']['repeats']}, {data['threads']} thread(s)). "
            f"Time is close to linear in the fraction of full evaluations: "
            f"{a:.2f} s + {b:.2f} s x fraction (least squares over full and the "
            f"fixed intervals; full sampling {full['wall_median']:.2f} s): the "
            f"wrapped attention and MLP modules are ~{100 * b / (a + b):.0f}% of "
            f"full sampling's time, and the rest (patch and timestep embeddings, "
            f"adaLN modulation, layer norms, the final layer, the sampler, and the "
            f"forecasts' own elementwise work) bounds the speed-up at "
            f"{(a + b) / a:.1f}x."
            + (
                f" At the same interval, order-1 TaylorSeer takes {overhead:.2f}x "
                f"reuse's time (geometric mean over the intervals)."
                if overhead
                else ""
            )
        )
    # Distribution.
    spread = abs(data["fd_full_other_noise"] - full["fd"])
    others = [r for r in data["results"] if r["family"] != "full"]
    within = [r for r in others if abs(r["fd"] - full["fd"]) <= spread]
    below = [r["name"] for r in others if r["fd"] < full["fd"] - spread]
    above = [r["name"] for r in others if r["fd"] > full["fd"] + spread]
    n = data["settings"]["samples_per_config"]
    out.append(
        f"**Distribution.** Full sampling's Fréchet distance to real glyphs is "
        f"{full['fd']:.2f}; from other noise, {data['fd_full_other_noise']:.2f} "
        f"(the estimate's spread for one sampler at {n} samples); another {n} real "
        f"glyphs: {data['fd_real_floor']:.2f}. {len(within)} of {len(others)} "
        f"configurations are within that spread of full sampling's FD"
        + (f"; below it: {', '.join(below)}" if below else "")
        + (f"; above it: {', '.join(above)}" if above else "")
        + f". The classifier recognises the requested class in "
        f"{100 * full['class_agreement']:.1f}% of full sampling's images "
        f"({100 * min(r['class_agreement'] for r in others):.1f}–"
        f"{100 * max(r['class_agreement'] for r in others):.1f}% for the others)."
    )
    reuse = sorted(by_family.get("reuse", []), key=lambda r: r["interval"])
    if reuse and all(r["fd"] < full["fd"] for r in reuse):
        pairs = []
        for r in reuse:
            t = rs.get(f"taylor1 N={r['interval']}")
            if t is not None:
                pairs.append((r, t))
        vs_full = sum(t["fd_vs_full"] < r["fd_vs_full"] for r, t in pairs)
        out.append(
            "**FD to real data is not fidelity to the model here.** Reuse's FD to "
            "real glyphs is below full sampling's at every interval ("
            + ", ".join(f"N={r['interval']}: {r['fd']:.1f}" for r in reuse)
            + f", full {full['fd']:.1f}) while its MSE grows: its error (features "
            f"kept from earlier, noisier steps) moves the samples toward the real "
            f"data in this feature space, partly cancelling the model's own "
            f"distance from it (full sampling's FD is {full['fd']:.1f}, real vs "
            f"real {data['fd_real_floor']:.1f}). Measured against full sampling's "
            f"own samples (FD vs full), order-1 TaylorSeer is closer than reuse at "
            f"{vs_full} of {len(pairs)} intervals ("
            + ", ".join(
                f"N={r['interval']}: {t['fd_vs_full']:.2f} vs {r['fd_vs_full']:.2f}"
                for r, t in pairs
            )
            + ")."
        )
    # Auto vs fixed.
    comps = [c for c in data["auto_vs_fixed"] if c["mse_ratio"] is not None]
    if data["auto_vs_fixed"]:
        skipped = len(data["auto_vs_fixed"]) - len(comps)
        if comps:
            better = sum(c["mse_ratio"] < 1 for c in comps)
            gm = {}
            for order in sorted({rs[c["auto"]]["order"] for c in comps}):
                gm[order] = _geomean(
                    [c["mse_ratio"] for c in comps if rs[c["auto"]]["order"] == order]
                )
            fd_better = sum(
                c["auto_fd_vs_full"] < c["fixed_fd_vs_full_interpolated"] for c in comps
            )
            speed_ratio = _geomean(
                [
                    c["auto_speedup_wall"] / c["fixed_speedup_wall_interpolated"]
                    for c in comps
                ]
            )
            verdict = (
                "Yes"
                if better == len(comps)
                else ("No" if 2 * better <= len(comps) else "Mostly")
            )
            out.append(
                f"**Auto vs fixed at equal full evaluations.** {verdict}: the "
                f"automatic mode has a lower MSE than fixed intervals of the same "
                f"order in {better} of {len(comps)} comparable settings "
                f"(geometric-mean MSE ratio auto/fixed: "
                + ", ".join(f"order {o} {_fmt(v, '.2f')}" for o, v in gm.items())
                + f"), a lower FD vs full sampling in {fd_better} of {len(comps)}, "
                f"and {speed_ratio:.2f}x the fixed intervals' wall-time speed-up "
                f"at the same count (geometric mean). "
                f"Fixed intervals only give a few evaluation counts; the fixed "
                f"curve's log MSE and its FDs were interpolated linearly in the "
                f"number of full evaluations at each auto setting's count"
                + (
                    f" ({skipped} auto setting(s) outside the fixed intervals' "
                    f"range not compared)"
                    if skipped
                    else ""
                )
                + "."
            )
            out.append(where_auto_computes(data, comps))
        else:
            out.append(
                "**Auto vs fixed.** No auto setting fell inside the range of full "
                "evaluations of the fixed intervals: nothing to compare."
            )
    return out


def where_auto_computes(data: dict, comps: list[dict]) -> str:
    """Where the auto mode puts its full evaluations, against a fixed interval."""
    rs = {r["name"]: r for r in data["results"]}
    parts = []
    for family in sorted({rs[c["auto"]]["family"] for c in comps}):
        cands = [rs[c["auto"]] for c in comps if rs[c["auto"]]["family"] == family]
        order = cands[0]["order"] if cands else None
        fixed = [r for r in data["results"] if r["family"] == f"taylor{order}"]
        if not cands or not fixed:
            continue
        # The auto setting whose count is closest to a fixed interval's.
        a, f = min(
            ((a, f) for a in cands for f in fixed),
            key=lambda p: abs(p[0]["full_evaluations"] - p[1]["full_evaluations"]),
        )

        def pct(r):
            t = r["full_by_third"]
            return "/".join(f"{100 * v / sum(t):.0f}" for v in t)

        parts.append(
            f"{a['name']} ({a['full_evaluations']:g} full evaluations: "
            f"{pct(a)}% in the first/middle/last third of the steps, attention "
            f"{a['full_by_kind']['attn']} and MLP {a['full_by_kind']['mlp']}) vs "
            f"{f['name']} ({f['full_evaluations']:g}: {pct(f)}%, "
            f"{f['full_by_kind']['attn']} and {f['full_by_kind']['mlp']}): MSE "
            f"{a['mse_vs_full']:.2e} vs {f['mse_vs_full']:.2e}"
        )
    return (
        "**Where the auto mode computes.** Its error estimate is the relative "
        "size of the forecast's highest-order term, so it forecasts where a "
        "module's output changes slowly relative to its size and computes where "
        "it changes fast: "
        + "; ".join(parts)
        + ". Per-module schedules are in the JSON (`per_module`)."
    )


def write_markdown(data: dict, path: str):
    """The results table and the conclusions."""
    s = data["settings"]
    m = data["model"]
    lines = [
        "# TaylorSeer on a trained DiT (`benchmarks/taylorseer/bench.py`)",
        "",
        f"The glyph DiT ({m['parameters']:,} parameters, "
        f"patch {m['config']['patch_size']}, width {m['config']['hidden']}, "
        f"{m['config']['depth']} blocks; trained here in {m['train_seconds']:.0f} s, "
        f"{m['train_steps']} steps, final loss {m['final_loss']:.4f}) samples "
        f"{s['repeats']} batches of {s['batch']} images (classes 0-9 in turn) "
        f"with {s['steps']}-step DDIM (η = 0), batch r from the initial noise "
        f"of seed {s['seed']} + r, the same in every configuration "
        f"({s['samples_per_config']} samples each). TaylorSeer (`taylor_mlir.seer`) wraps "
        f"{s['wrapped']} of every block, warm-up {s['warmup_steps']} steps "
        f"everywhere. Reuse = {s['reuse_implementation']}.",
        "",
        f"Timing: {data['threads']} torch thread(s), wall and CPU time of one "
        f"sampling run of {s['batch']} images, **median of {s['repeats']} runs** "
        f"(round-robin over the configurations), on a shared {data['machine']['cores']}-core machine "
        f"({data['machine']['cpu']}; load average {data['machine']['load_average'][0]:.2f} "
        f"at the start, {data['load_average_end'][0]:.2f} at the end: other jobs "
        f"ran beside it). Full evaluations: calls of the wrapped modules computed "
        f"fully, summed over the {len(data['results'][1].get('wrapped', []))} "
        f"wrapped modules. MSE: mean squared difference of the final samples "
        f"from full sampling's, model space [-1, 1]. FD: Fréchet distance between "
        f"the classifier's penultimate features (64) of the samples and of "
        f"{s['reference_size']:,} real glyphs (classifier held-out accuracy "
        f"{100 * data['classifier_accuracy']:.1f}%); real vs real at "
        f"{s['samples_per_config']} images: {data['fd_real_floor']:.2f}; full "
        f"sampling from other noise: {data['fd_full_other_noise']:.2f}. FD vs "
        f"full: the same distance to full sampling's samples instead of real "
        f"glyphs. Class: how often the "
        f"classifier recognises the requested class. Commit {data['commit']}.",
        "",
        "| configuration | full evals | % | wall s | speed-up (wall) | speed-up (CPU) "
        "| MSE vs full | FD | FD vs full | class |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["results"]:
        lines.append(
            f"| {r['name']} | {r['full_evaluations']:g} | {100 * r['full_fraction']:.0f} "
            f"| {r['wall_median']:.2f} | {r['speedup_wall']:.2f}x "
            f"| {r['speedup_cpu']:.2f}x | {r['mse_vs_full']:.2e} | {r['fd']:.2f} "
            f"| {max(r['fd_vs_full'], 0.0):.2f} "
            f"| {100 * r['class_agreement']:.1f}% |"
        )
    if data["auto_vs_fixed"]:
        lines += [
            "",
            "## Auto vs fixed intervals at equal full evaluations",
            "",
            "Fixed: TaylorSeer of the same order, log MSE and the FDs interpolated "
            "linearly in the number of full evaluations between the intervals "
            "that bracket the auto setting's count (– : outside their range).",
            "",
            "| auto setting | full evals | MSE auto | MSE fixed | ratio "
            "| FD vs full auto | FD vs full fixed | FD auto | FD fixed "
            "| speed-up auto | speed-up fixed |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in data["auto_vs_fixed"]:
            lines.append(
                f"| {c['auto']} | {c['full_evaluations']:g} | {c['auto_mse']:.2e} "
                f"| {_fmt(c['fixed_mse_interpolated'], '.2e')} "
                f"| {_fmt(c['mse_ratio'], '.2f')} | {c['auto_fd_vs_full']:.2f} "
                f"| {_fmt(c['fixed_fd_vs_full_interpolated'], '.2f')} "
                f"| {c['auto_fd']:.2f} "
                f"| {_fmt(c['fixed_fd_interpolated'], '.2f')} "
                f"| {c['auto_speedup_wall']:.2f}x "
                f"| {_fmt(c['fixed_speedup_wall_interpolated'], '.2f')}"
                + ("x |" if c["fixed_speedup_wall_interpolated"] is not None else " |")
            )
    lines += ["", "## Conclusions", ""]
    lines += [f"- {c}" for c in conclusions(data)]
    lines += [
        "",
        f"Samples (rows: configurations; the first {12} images of the first "
        f"batch, then their difference from full sampling's x 10): "
        f"`{data['files']['grid']}`; MSE and FD against the full evaluations: "
        f"`{data['files']['tradeoff']}`.",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    """Run, then write the JSON and the markdown."""
    args = parse_args(argv)
    json_path = os.path.join(args.out_dir, "taylorseer.json")
    md_path = os.path.join(args.out_dir, "taylorseer.md")
    if args.report_only:
        with open(json_path) as f:
            write_markdown(json.load(f), md_path)
        log(f"wrote {md_path}")
        return
    t0 = time.perf_counter()
    data = run(args)
    data["total_seconds"] = time.perf_counter() - t0
    os.makedirs(args.out_dir, exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(data, f, indent=1)
    write_markdown(data, md_path)
    log(f"wrote {json_path}, {md_path} ({data['total_seconds']:.0f} s in all)")
    with open(md_path) as f:
        print(f.read())


if __name__ == "__main__":
    main()
