"""DDPM noise schedule, training loss and the deterministic DDIM sampler.

- `NoiseSchedule`: T = 1000 training timesteps, the cosine schedule of
  Nichol & Dhariwal (betas clipped at 0.999), ᾱ_t = Π (1 - β_s) for s <= t.
- `ddpm_loss`: the simple DDPM objective, E ||target - model(√ᾱ_t x0 +
  √(1-ᾱ_t) ε, t)||², t uniform in [0, T), target ε or v (the schedule's
  `prediction`), optionally Min-SNR weighted.
- `ddim_timesteps` / `ddim_sample`: DDIM (Song et al.) with η = 0, S = 50
  steps over the trained schedule, "trailing" spacing (t = T-1, T-1-T/S,
  ..., T/S - 1, so that the first step starts at the noisiest trained
  timestep), the last step to ᾱ = 1, the x0 prediction clipped to [-1, 1].
  Deterministic: the only randomness is the initial noise, drawn from its own
  `torch.Generator` seeded by the caller.

The model is called exactly once per step (one call of each of its modules
per step), which is what TaylorSeer's step counting assumes.
"""

from __future__ import annotations

import math

import torch


class NoiseSchedule:
    """The cosine schedule's ᾱ_t (float64, `alphas_cumprod[t]`) and what the
    model predicts: ``prediction="eps"`` (the noise ε) or ``"v"`` (the
    velocity v = √ᾱ_t ε - √(1-ᾱ_t) x0 of Salimans & Ho, from which ε and x0
    follow: ε = √(1-ᾱ_t) x_t + √ᾱ_t v, x0 = √ᾱ_t x_t - √(1-ᾱ_t) v)."""

    def __init__(
        self,
        num_timesteps: int = 1000,
        kind: str = "cosine",
        s: float = 0.008,
        prediction: str = "eps",
    ):
        if kind != "cosine":
            raise ValueError(f"unknown schedule {kind!r} (only 'cosine')")
        if prediction not in ("eps", "v"):
            raise ValueError(f"prediction must be 'eps' or 'v', got {prediction!r}")
        self.prediction = prediction
        self.num_timesteps = num_timesteps
        self.kind = kind
        self.s = s
        steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0)

    def config_dict(self) -> dict:
        """Plain-dict description (stored in checkpoints)."""
        return {
            "num_timesteps": self.num_timesteps,
            "kind": self.kind,
            "s": self.s,
            "prediction": self.prediction,
        }

    @classmethod
    def from_config(cls, config: dict) -> "NoiseSchedule":
        """Rebuild from `config_dict`'s output."""
        return cls(**config)

    def _abar(self, t, like: torch.Tensor) -> torch.Tensor:
        return self.alphas_cumprod[t].to(like.dtype).view(-1, *([1] * (like.ndim - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor):
        """x_t = √ᾱ_t x0 + √(1-ᾱ_t) ε."""
        a = self._abar(t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def target(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor):
        """What the model is trained to output: ε, or v = √ᾱ_t ε - √(1-ᾱ_t) x0."""
        if self.prediction == "eps":
            return noise
        a = self._abar(t, x0)
        return a.sqrt() * noise - (1 - a).sqrt() * x0


def ddpm_loss(
    model, schedule: NoiseSchedule, x0, y, generator=None, min_snr_gamma=None
):
    """Mean squared error of the model's prediction (ε or v, `schedule.prediction`)
    at uniform random timesteps.

    `min_snr_gamma` (γ): the Min-SNR weighting of Hang et al. (2023), each
    sample's error weighted by min(SNR_t, γ) / SNR_t for ε (min(SNR_t, γ) /
    (SNR_t + 1) for v), SNR_t = ᾱ_t / (1 - ᾱ_t). None: the plain loss.
    """
    b = x0.shape[0]
    t = torch.randint(0, schedule.num_timesteps, (b,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    x_t = schedule.q_sample(x0, t, noise)
    target = schedule.target(x0, t, noise)
    err = ((model(x_t, t, y) - target) ** 2).flatten(1).mean(dim=1)
    if min_snr_gamma is None:
        return err.mean()
    a = schedule.alphas_cumprod[t]
    snr = a / (1 - a)
    denom = snr if schedule.prediction == "eps" else snr + 1
    weight = (snr.clamp(max=min_snr_gamma) / denom).to(err.dtype)
    return (weight * err).mean()


def ddim_timesteps(num_timesteps: int = 1000, steps: int = 50) -> list[int]:
    """Trailing spacing: T-1, T-1-T/S, ..., (descending, `steps` values)."""
    if not 1 <= steps <= num_timesteps:
        raise ValueError(f"steps must be in [1, {num_timesteps}], got {steps}")
    ts = [round(num_timesteps - i * num_timesteps / steps) - 1 for i in range(steps)]
    return ts


def initial_noise(n: int, image_size: int = 16, seed: int = 0, channels: int = 1):
    """The sampler's starting point x_T ~ N(0, I), from its own generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n, channels, image_size, image_size), generator=g)


@torch.no_grad()
def ddim_sample(
    model,
    schedule: NoiseSchedule,
    x_T: torch.Tensor,
    y: torch.Tensor | None = None,
    steps: int = 50,
    clip: bool = True,
    callback=None,
) -> torch.Tensor:
    """DDIM with η = 0 from x_T: `steps` model calls, returns x_0 (B, C, H, W).

    `y`: class labels (B,) or None (unconditional). `callback(i, t, x)`, if
    given, is called after every step with the new x.
    """
    ts = ddim_timesteps(schedule.num_timesteps, steps)
    ac = schedule.alphas_cumprod
    x = x_T
    for i, t in enumerate(ts):
        a_t = ac[t].item()
        a_prev = ac[ts[i + 1]].item() if i + 1 < len(ts) else 1.0
        t_batch = torch.full((x.shape[0],), t, dtype=torch.long)
        out = model(x, t_batch, y)
        if schedule.prediction == "eps":
            eps = out
            x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        else:
            x0 = math.sqrt(a_t) * x - math.sqrt(1 - a_t) * out
            eps = math.sqrt(1 - a_t) * x + math.sqrt(a_t) * out
        if clip:
            x0 = x0.clamp(-1, 1)
            # Noise direction consistent with the clipped x0 (as in DDIM
            # implementations that clip the prediction).
            eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
        x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
        if callback is not None:
            callback(i, t, x)
    return x
