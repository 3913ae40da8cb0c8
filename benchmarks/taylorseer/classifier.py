"""A small CNN classifier of the glyphs, and the Fréchet distance of its features.

The benchmark measures the distribution of generated images by the Fréchet
distance (as in FID, Heusel et al.) between Gaussians fitted to the
classifier's penultimate-layer features (`FEATURE_DIM` = 64) of generated
and of real images. The classifier is trained on the same data as the
diffusion model (`train.py`) and saved next to it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

#: Width of the penultimate layer (the feature space of the Fréchet distance).
FEATURE_DIM = 64


class GlyphClassifier(nn.Module):
    """Conv(32)-Conv(32)-pool-Conv(64)-pool-Linear(64)-Linear(10) on (B, 1, 16, 16).

    Inputs in model space ([-1, 1]). `features(x)` returns the penultimate
    activations (B, 64) (after the ReLU); `forward(x)` the class logits.
    """

    def __init__(self, num_classes: int = 10, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 4 * 4, feature_dim)
        self.fc2 = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, feature_dim)."""
        h = F.relu(self.conv1(x))
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.max_pool2d(F.relu(self.conv3(h)), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.features(x))


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int = 2,
    batch: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    log=print,
) -> GlyphClassifier:
    """Train a `GlyphClassifier` with Adam on (x, y); x (N, 1, 16, 16) in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GlyphClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    step = 0
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        total, correct, loss_sum = 0, 0, 0.0
        for start in range(0, len(x), batch):
            idx = perm[start : start + batch]
            logits = model(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += len(idx)
            correct += (logits.argmax(1) == y[idx]).sum().item()
            loss_sum += loss.item() * len(idx)
        log(
            f"classifier epoch {epoch + 1}/{epochs}: loss {loss_sum / total:.4f}, "
            f"train accuracy {correct / total:.4f}"
        )
    return model.eval()


@torch.no_grad()
def evaluate(model: GlyphClassifier, x: torch.Tensor, y: torch.Tensor, batch=1024):
    """Accuracy of `model` on (x, y)."""
    correct = 0
    for start in range(0, len(x), batch):
        correct += (
            (model(x[start : start + batch]).argmax(1) == y[start : start + batch])
            .sum()
            .item()
        )
    return correct / len(x)


@torch.no_grad()
def features(model: GlyphClassifier, x: torch.Tensor, batch=1024) -> np.ndarray:
    """Penultimate features of x (N, 1, 16, 16) in model space, float64 (N, 64)."""
    out = [model.features(x[s : s + batch]) for s in range(0, len(x), batch)]
    return torch.cat(out).double().numpy()


def gaussian_stats(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features f (N, D), float64."""
    f = np.asarray(f, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (eigh)."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(stats_a, stats_b) -> float:
    """Fréchet distance of two Gaussians (mean, cov):

    ||μa - μb||² + tr(Σa) + tr(Σb) - 2 tr((Σa^½ Σb Σa^½)^½).

    Computed with symmetric eigendecompositions (no scipy): Σa^½ Σb Σa^½ is
    symmetric positive semi-definite, and its square root's trace is the sum
    of the square roots of its eigenvalues.
    """
    mu_a, cov_a = stats_a
    mu_b, cov_b = stats_b
    root_a = _sqrtm_psd(cov_a)
    inner = root_a @ cov_b @ root_a
    w = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_cross = np.sqrt(np.clip(w, 0, None)).sum()
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_cross)
    return max(value, 0.0)  # >= 0; identical inputs can round to -1e-13
