"""Train the glyph DiT (DDPM, v-prediction) and the glyph classifier on this CPU.

    .venv/bin/python benchmarks/taylorseer/train.py            # the committed run
    .venv/bin/python benchmarks/taylorseer/train.py --quick    # a 1-minute smoke run

The diffusion model (`dit.DiT`, `MODEL_CONFIG` below) is trained on 60,000
procedural glyphs (`glyphs.make_glyphs(60000, seed=0)`) with the DDPM loss
on the cosine schedule's 1000 timesteps: 4800 AdamW steps of batch 64, a
linear warm-up then cosine decay of the learning rate, 10% label dropout
(the model also samples unconditionally), and an exponential moving average
of the weights (decay 0.999, warmed up), which is what is saved. Then the
CNN classifier of the Fréchet distance is trained on the same images.

The model predicts v = √ᾱ ε - √(1-ᾱ) x0 (``--prediction v``); the sampler
turns it into ε and x0. With ε-prediction (``--prediction eps``) the same
budget gave samples the classifier recognised only ~28% of the time (the
plain ε loss weights x0's error by SNR_t, ~0.03 at t = 900, so the class
structure decided at high noise was barely learned); v-prediction weights
it by SNR_t + 1 and gave ~80% at half the budget.

Written: `checkpoints/dit.pt` ({"config", "schedule", "state_dict" (EMA),
"train": loss curve, wall time, threads, ...}), `checkpoints/classifier.pt`
({"config", "state_dict", "accuracy"}), and a PNG of 50-step DDIM samples
(one row per class) next to real images, `results/plots/taylorseer_samples.png`.
Wall time of each phase is printed and stored.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import classifier as clf  # noqa: E402
import glyphs  # noqa: E402
from common import (  # noqa: E402
    CLASSIFIER_CHECKPOINT,
    DIT_CHECKPOINT,
    PLOTS_DIR,
    machine_info,
    set_threads,
)
from diffusion import NoiseSchedule, ddim_sample, ddpm_loss, initial_noise  # noqa: E402
from dit import NULL_LABEL, DiT, DiTConfig  # noqa: E402
from grid import save_grid  # noqa: E402

#: The benchmark's model: 16 tokens (4x4 patches of 16x16), width 96, 6 blocks.
MODEL_CONFIG = DiTConfig(
    image_size=16, patch_size=4, hidden=96, depth=6, heads=4, mlp_ratio=4.0
)


def model_config(args) -> DiTConfig:
    """`MODEL_CONFIG` with the `--model` overrides."""
    overrides = {}
    for item in filter(None, args.model.split(",")):
        key, value = item.split("=")
        overrides[key.strip()] = (
            float(value) if key.strip() == "mlp_ratio" else int(value)
        )
    return DiTConfig(**{**MODEL_CONFIG.__dict__, **overrides})


def parse_args(argv=None):
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=4800, help="optimizer steps")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=200, help="warm-up steps")
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay")
    p.add_argument("--label-dropout", type=float, default=0.1)
    p.add_argument(
        "--prediction",
        choices=["eps", "v"],
        default="v",
        help="what the model outputs (see diffusion.NoiseSchedule)",
    )
    p.add_argument(
        "--min-snr",
        type=float,
        default=0.0,
        help="Min-SNR loss weighting gamma (0: the plain loss)",
    )
    p.add_argument(
        "--model",
        default="",
        help="experiments: DiTConfig overrides, e.g. 'patch_size=2,hidden=64,depth=4'",
    )
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: steadier than 2 on this shared "
        "2-core machine, see benchmarks/README.md)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-seconds",
        type=float,
        default=520.0,
        help="stop the DiT's training early (with a warning) past this wall time",
    )
    p.add_argument("--dit-out", default=str(DIT_CHECKPOINT))
    p.add_argument("--classifier-out", default=str(CLASSIFIER_CHECKPOINT))
    p.add_argument("--png", default=str(PLOTS_DIR / "taylorseer_samples.png"))
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 100 steps, 5000 images, 1 classifier epoch, outputs in /tmp",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.train_size, args.classifier_epochs = 100, 5000, 1
        args.warmup = 20
        args.dit_out = "/tmp/taylorseer_quick/dit.pt"
        args.classifier_out = "/tmp/taylorseer_quick/classifier.pt"
        args.png = "/tmp/taylorseer_quick/samples.png"
    return args


def lr_at(step: int, args) -> float:
    """Linear warm-up to `args.lr`, then cosine decay to 5% of it."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def ema_update(ema: DiT, model: DiT, step: int, decay: float):
    """ema = d·ema + (1-d)·model with d = min(decay, (1+step)/(10+step))."""
    d = min(decay, (1 + step) / (10 + step))
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm, 1 - d)


@torch.no_grad()
def validation_loss(model, schedule, x0, y, seed=123) -> float:
    """The DDPM loss on fixed images, timesteps and noise (comparable across runs)."""
    g = torch.Generator().manual_seed(seed)
    return ddpm_loss(model, schedule, x0, y, generator=g).item()


def train_dit(args, x, y, x_val, y_val, log=print):
    """Train the DiT; return (EMA model, schedule, training record)."""
    schedule = NoiseSchedule(1000, "cosine", prediction=args.prediction)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        model = DiT(model_config(args))
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(args.seed + 1)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"DiT: {n_params} parameters, {args.steps} steps of batch {args.batch}")

    curve, window = [], []
    start = time.perf_counter()
    perm, pos = torch.randperm(len(x), generator=g), 0
    step = 0
    stopped_early = False
    model.train()
    while step < args.steps:
        if pos + args.batch > len(x):
            perm, pos = torch.randperm(len(x), generator=g), 0
        idx = perm[pos : pos + args.batch]
        pos += args.batch
        labels = y[idx].clone()
        drop = torch.rand(len(idx), generator=g) < args.label_dropout
        labels[drop] = NULL_LABEL
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        loss = ddpm_loss(
            model,
            schedule,
            x[idx],
            labels,
            generator=g,
            min_snr_gamma=args.min_snr or None,
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema_update(ema, model, step, args.ema)
        window.append(loss.item())
        step += 1
        if step % 100 == 0 or step == args.steps:
            elapsed = time.perf_counter() - start
            mean = sum(window) / len(window)
            curve.append({"step": step, "loss": mean, "seconds": elapsed})
            window = []
            log(
                f"step {step:5d}  loss {mean:.4f}  lr {lr_at(step - 1, args):.2e}  "
                f"{elapsed:6.1f} s  ({elapsed / step * 1000:.0f} ms/step)"
            )
            if elapsed > args.max_seconds and step < args.steps:
                log(
                    f"WARNING: stopping at step {step}: past --max-seconds "
                    f"{args.max_seconds:.0f} s (the machine is slower or busier than planned)"
                )
                stopped_early = True
                break
    seconds = time.perf_counter() - start
    record = {
        "steps": step,
        "planned_steps": args.steps,
        "stopped_early": stopped_early,
        "batch": args.batch,
        "lr": args.lr,
        "warmup": args.warmup,
        "ema_decay": args.ema,
        "label_dropout": args.label_dropout,
        "min_snr_gamma": args.min_snr or None,
        "train_size": len(x),
        "seed": args.seed,
        "seconds": seconds,
        "loss_curve": curve,
        "final_loss": curve[-1]["loss"],
        "val_loss_ema": validation_loss(ema, schedule, x_val, y_val),
        "val_loss_raw": validation_loss(model.eval(), schedule, x_val, y_val),
        "parameters": n_params,
    }
    return ema, schedule, record


def main(argv=None):
    """Train both models, save them and the sample PNG."""
    args = parse_args(argv)
    threads = set_threads(args.threads)
    machine = machine_info()
    print(f"threads {threads}; load average at start {machine['load_average']}")
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    images, labels = glyphs.make_glyphs(args.train_size, glyphs.SEEDS["train"])
    x = glyphs.to_model_space(torch.from_numpy(images)).unsqueeze(1)
    y = torch.from_numpy(labels)
    val_images, val_labels = glyphs.make_glyphs(2000, glyphs.SEEDS["classifier_test"])
    x_val = glyphs.to_model_space(torch.from_numpy(val_images)).unsqueeze(1)
    y_val = torch.from_numpy(val_labels)
    data_seconds = time.perf_counter() - t0
    print(f"data: {len(x)} training images in {data_seconds:.1f} s")

    ema, schedule, record = train_dit(args, x, y, x_val[:1000], y_val[:1000])
    record["data_seconds"] = data_seconds
    record["threads"] = threads
    record["load_average_end"] = list(os.getloadavg())
    print(
        f"DiT trained in {record['seconds']:.1f} s ({record['steps']} steps); "
        f"final training loss {record['final_loss']:.4f}, validation loss "
        f"(EMA) {record['val_loss_ema']:.4f}, (raw) {record['val_loss_raw']:.4f}"
    )
    os.makedirs(os.path.dirname(args.dit_out), exist_ok=True)
    torch.save(
        {
            "config": ema.config_dict(),
            "schedule": schedule.config_dict(),
            "state_dict": ema.state_dict(),
            "train": record,
            "machine": machine,
        },
        args.dit_out,
    )
    print(f"wrote {args.dit_out}")

    t0 = time.perf_counter()
    classifier = clf.train_classifier(
        x, y, epochs=args.classifier_epochs, seed=args.seed
    )
    accuracy = clf.evaluate(classifier, x_val, y_val)
    clf_seconds = time.perf_counter() - t0
    print(
        f"classifier trained in {clf_seconds:.1f} s; held-out accuracy {accuracy:.4f}"
    )
    torch.save(
        {
            "config": {
                "num_classes": glyphs.NUM_CLASSES,
                "feature_dim": clf.FEATURE_DIM,
            },
            "state_dict": classifier.state_dict(),
            "accuracy": accuracy,
            "seconds": clf_seconds,
            "epochs": args.classifier_epochs,
        },
        args.classifier_out,
    )
    print(f"wrote {args.classifier_out}")

    # Samples: one row per class (conditional), a row unconditional, real data.
    t0 = time.perf_counter()
    n_per = 12
    y_s = torch.arange(glyphs.NUM_CLASSES).repeat_interleave(n_per)
    x_T = initial_noise(len(y_s), ema.config.image_size, seed=1)
    samples = ddim_sample(ema, schedule, x_T, y_s, steps=50)
    uncond = ddim_sample(
        ema, schedule, initial_noise(n_per, 16, seed=2), None, steps=50
    )
    predicted = clf.evaluate(classifier, samples, y_s)
    print(
        f"sampling (50-step DDIM, {len(y_s) + n_per} images) {time.perf_counter() - t0:.1f} s; "
        f"classifier agrees with the requested class on {predicted:.3f} of them"
    )
    real = images[:n_per]
    pix = glyphs.to_pixel_space(samples[:, 0]).numpy()
    rows = [pix[i * n_per : (i + 1) * n_per] for i in range(glyphs.NUM_CLASSES)]
    rows += [glyphs.to_pixel_space(uncond[:, 0]).numpy(), real]
    names = [f"class {i}" for i in range(glyphs.NUM_CLASSES)] + ["uncond", "real"]
    os.makedirs(os.path.dirname(args.png), exist_ok=True)
    save_grid(rows, args.png, row_labels=names)
    print(f"wrote {args.png}")
    ckpt = torch.load(args.dit_out, weights_only=True)
    ckpt["train"]["sample_class_agreement"] = predicted
    ckpt["train"]["classifier_accuracy"] = accuracy
    torch.save(ckpt, args.dit_out)
    print(f"total wall time {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
