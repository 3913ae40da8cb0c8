"""Paths, checkpoint loading and machine facts shared by `train.py` and `bench.py`."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
#: Committed checkpoints of the diffusion model and the classifier.
CHECKPOINT_DIR = HERE / "checkpoints"
DIT_CHECKPOINT = CHECKPOINT_DIR / "dit.pt"
CLASSIFIER_CHECKPOINT = CHECKPOINT_DIR / "classifier.pt"
#: benchmarks/results and its plots folder.
RESULTS_DIR = HERE.parent / "results"
PLOTS_DIR = RESULTS_DIR / "plots"


def set_threads(threads: int) -> int:
    """Fix torch's intra-op threads (and the OpenMP/BLAS variables for children)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def load_dit(path=DIT_CHECKPOINT):
    """(model in eval mode, NoiseSchedule, checkpoint dict) from `train.py`'s file."""
    from diffusion import NoiseSchedule
    from dit import DiT

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = DiT.from_config(ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), NoiseSchedule.from_config(ckpt["schedule"]), ckpt


def load_classifier(path=CLASSIFIER_CHECKPOINT):
    """(classifier in eval mode, checkpoint dict)."""
    from classifier import GlyphClassifier

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = GlyphClassifier(**ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt


def machine_info() -> dict:
    """CPU model, cores, load average and versions, for the results files."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
    }
