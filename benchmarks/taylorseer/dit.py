"""A small DiT (diffusion transformer) that predicts the noise ε of DDPM.

The architecture of Peebles & Xie, "Scalable Diffusion Models with
Transformers" (DiT), scaled down for 16x16 grayscale images on a CPU:

- patchify: a `patch_size` x `patch_size` convolution with stride
  `patch_size` to `hidden` channels, plus fixed 2-D sine-cosine position
  embeddings;
- conditioning c = MLP(sinusoidal(t)) + embedding(class label) (class 10 =
  "no label", used for label dropout during training: the model also samples
  unconditionally);
- `depth` `DiTBlock`s, each x += gate * attn(modulate(LN(x))) and
  x += gate * mlp(modulate(LN(x))) with shift, scale and gate from c
  (adaLN-Zero: the modulation layers start at zero);
- a final adaLN-modulated LayerNorm and linear layer, then unpatchify.

Every block has the submodules ``attn`` (`Attention`) and ``mlp`` (`Mlp`),
each a module of one tensor input and one tensor output, which is what
TaylorSeer wraps (``blocks.<i>.attn``, ``blocks.<i>.mlp``).

`DiT.from_config(config)` builds a model from a plain dict (the checkpoint
stores the dict); `tiny_dit()` is a tiny untrained configuration for fast
tests. Importing this module has no side effects.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Label index meaning "unconditional" (the extra row of the label embedding).
NULL_LABEL = 10


@dataclass(frozen=True)
class DiTConfig:
    """Hyperparameters of a `DiT` (stored in checkpoints as a dict)."""

    image_size: int = 16
    in_channels: int = 1
    patch_size: int = 2
    hidden: int = 96
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    num_classes: int = 10
    freq_dim: int = 64


class Attention(nn.Module):
    """Multi-head self-attention: (B, N, D) -> (B, N, D)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden size {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, N, d_head)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """Two-layer feed-forward network with tanh-approximated GELU."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor):
    """adaLN modulation: x * (1 + scale) + shift, per sample (B, D) over tokens."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class DiTBlock(nn.Module):
    """Transformer block with adaLN-Zero conditioning on c."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.adaLN_modulation(
            c
        ).chunk(6, dim=1)
        x = x + gate_a.unsqueeze(1) * self.attn(
            modulate(self.norm1(x), shift_a, scale_a)
        )
        x = x + gate_m.unsqueeze(1) * self.mlp(
            modulate(self.norm2(x), shift_m, scale_m)
        )
        return x


class TimestepEmbedder(nn.Module):
    """Sinusoidal embedding of the (continuous) timestep, then a 2-layer MLP."""

    def __init__(self, dim: int, freq_dim: int):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(
            nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim)
        )

    @staticmethod
    def sinusoidal(t: torch.Tensor, dim: int, max_period: float = 10000.0):
        """(B,) timesteps -> (B, dim) cosines and sines of geometric frequencies."""
        half = dim // 2
        freqs = torch.exp(
            -math.log(max_period)
            * torch.arange(half, dtype=torch.float32, device=t.device)
            / half
        )
        args = t.float()[:, None] * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        emb = self.sinusoidal(t, self.freq_dim)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))


def _pos_embed_2d(dim: int, grid: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding (grid*grid, dim), as in DiT/MAE."""
    if dim % 4:
        raise ValueError(f"hidden size {dim} must be a multiple of 4")
    coords = torch.arange(grid, dtype=torch.float64)
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))

    def embed(pos):
        out = pos.reshape(-1)[:, None] * omega[None]
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)

    return torch.cat([embed(gy), embed(gx)], dim=1).float()


class FinalLayer(nn.Module):
    """adaLN-modulated LayerNorm and a linear map to patch pixels."""

    def __init__(self, dim: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm(x), shift, scale))


class DiT(nn.Module):
    """DiT denoiser: ``model(x, t, y) -> ε̂`` for x (B, C, H, W), t (B,), y (B,).

    `y` holds class labels in [0, num_classes) or `NULL_LABEL` (10) for
    unconditional; ``y=None`` means unconditional for the whole batch.
    """

    def __init__(self, config: DiTConfig | None = None, **overrides):
        super().__init__()
        if config is None:
            config = DiTConfig(**overrides)
        elif overrides:
            config = DiTConfig(**{**asdict(config), **overrides})
        if config.image_size % config.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        self.config = config
        d, p = config.hidden, config.patch_size
        self.grid = config.image_size // p
        self.x_embedder = nn.Conv2d(config.in_channels, d, kernel_size=p, stride=p)
        self.register_buffer("pos_embed", _pos_embed_2d(d, self.grid), persistent=False)
        self.t_embedder = TimestepEmbedder(d, config.freq_dim)
        self.y_embedder = nn.Embedding(config.num_classes + 1, d)
        self.blocks = nn.ModuleList(
            DiTBlock(d, config.heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.final_layer = FinalLayer(d, p, config.in_channels)
        self._init_weights()

    @classmethod
    def from_config(cls, config: dict) -> "DiT":
        """A model from a plain dict of `DiTConfig` fields (as checkpoints store it)."""
        return cls(DiTConfig(**config))

    def config_dict(self) -> dict:
        """The configuration as a plain dict (for checkpoints)."""
        return asdict(self.config)

    def _init_weights(self):
        """DiT's initialization: Xavier linears, zeroed adaLN and output layers."""

        def basic(m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

        self.apply(basic)
        w = self.x_embedder.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.bias)
        nn.init.normal_(self.y_embedder.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, p*p*C) tokens -> (B, C, H, W) images."""
        p, g, c = self.config.patch_size, self.grid, self.config.in_channels
        x = x.reshape(x.shape[0], g, g, p, p, c)
        return torch.einsum("bhwpqc->bchpwq", x).reshape(x.shape[0], c, g * p, g * p)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        b = x.shape[0]
        if t.ndim == 0:
            t = t.expand(b)
        if y is None:
            y = torch.full((b,), NULL_LABEL, dtype=torch.long, device=x.device)
        h = self.x_embedder(x).flatten(2).transpose(1, 2) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y)
        for block in self.blocks:
            h = block(h, c)
        return self.unpatchify(self.final_layer(h, c))


def tiny_dit(seed: int = 0) -> DiT:
    """A tiny untrained DiT for fast tests: 8x8 images, 2 blocks, width 16.

    Deterministic given `seed` (parameters drawn under a local generator
    state; the global RNG is left as it was). Same interface and submodule
    names (``blocks.<i>.attn``, ``blocks.<i>.mlp``) as the benchmark's model;
    select them by type (``seer.wrap(model, [Attention, Mlp])``) or by those
    names (``t_embedder.mlp`` is an ``nn.Sequential``, not an `Mlp`).
    The adaLN-Zero gates and the output layer start at zero, which would make
    every block and the output constant; they are re-drawn small and nonzero
    so that the wrapped submodules influence the output.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DiT(
            DiTConfig(
                image_size=8, patch_size=2, hidden=16, depth=2, heads=2, freq_dim=16
            )
        )
        for name, p in model.named_parameters():
            if "adaLN_modulation" in name or "final_layer.linear" in name:
                nn.init.normal_(p, std=0.1)
    return model.eval()
