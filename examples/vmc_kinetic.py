"""Local kinetic energy of a variational Monte Carlo wave function, through
a compiled Laplacian of a log-determinant (docs/linalg.md).

The wave function of n electrons at positions r_1 .. r_n in 3-D (the input
x = (r_1, ..., r_n) flattened, D = 3n) is a Slater determinant times a
Jastrow factor,

    ψ(x) = det Φ(x) · exp(J(x)),   Φ_ij = φ_j(r_i) · exp(-|r_i|),
    J(x) = Σ_{i<j} a r_ij / (1 + b r_ij),   r_ij = |r_i - r_j|,

with orbitals φ: R³ → Rⁿ a small tanh MLP (one row of Φ per electron, so
ψ is antisymmetric under exchanging two electrons). VMC estimates the
energy from the *local* energy; its kinetic part is

    E_kin(x) = -½ Δψ / ψ = -½ (Δ log|ψ| + |∇ log|ψ||²),

with log|ψ| = log|det Φ| + J. One compiled operator,
``taylor_mlir.compile(log_psi, "laplacian", outputs=("value", "gradient",
"operator"))``, returns log|ψ|, ∇ log|ψ| and Δ log|ψ| in one collapsed
Taylor-mode pass; ``torch.linalg.slogdet`` becomes ``taylor.slogdet``, whose
Taylor rule pushes the jet through the log-determinant with the inverse's
matrix series (l_2 = tr(B_0 A_2) + tr(B_1 A_1)).

The example compares E_kin with torch.func (per sample ``grad`` and
``hessian``; not under ``vmap``, whose Hessian of ``slogdet`` is wrong in
PyTorch 2.13) in float64, prints the largest relative error and both times,
and exits nonzero if the error exceeds ``--tolerance`` (1e-10). Both sides
round, and second derivatives of log|det Φ| amplify rounding by about
cond(Φ)²: for larger n the random Slater matrices get worse conditioned
(n = 16: cond up to 4e5, agreement 1e-9), so give a looser tolerance there.

    .venv/bin/python examples/vmc_kinetic.py             # n = 6, D = 18, B = 256
    .venv/bin/python examples/vmc_kinetic.py --quick     # n = 4, D = 12, B = 8
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

import taylor_mlir as tm

#: Largest relative difference from torch.func allowed by default (float64).
TOLERANCE = 1e-10


class LogPsi(torch.nn.Module):
    """log|ψ(x)| = log|det Φ(x)| + J(x) for x of shape [B, 3n]."""

    def __init__(self, electrons: int, hidden: int = 16, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.n = electrons
        self.orbitals = torch.nn.Sequential(
            torch.nn.Linear(3, hidden, dtype=torch.float64),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, electrons, dtype=torch.float64),
        )
        # Jastrow parameters (a: cusp strength, b > 0 via softplus).
        self.a = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
        self.b_raw = torch.nn.Parameter(torch.tensor(0.3, dtype=torch.float64))
        # The pairs i < j, as a mask (advanced indexing has no Taylor rule).
        pairs = torch.ones(electrons, electrons, dtype=torch.float64).triu(1)
        self.register_buffer("pairs", pairs)

    def slater_matrix(self, x: torch.Tensor) -> torch.Tensor:
        r = x.reshape(-1, self.n, 3)  # [B, electron, xyz]
        envelope = torch.exp(-torch.sqrt((r * r).sum(-1, keepdim=True)))
        return self.orbitals(r) * envelope  # [B, electron i, orbital j]

    def jastrow(self, x: torch.Tensor) -> torch.Tensor:
        r = x.reshape(-1, self.n, 3)
        diff = r[:, :, None, :] - r[:, None, :, :]  # [B, i, j, xyz]
        # The diagonal (r_ii = 0, where sqrt is not differentiable) is
        # shifted to 1 and masked out with the other pairs j <= i.
        eye = torch.eye(self.n, dtype=x.dtype)
        rij = torch.sqrt((diff * diff).sum(-1) + eye)
        b = torch.nn.functional.softplus(self.b_raw)
        return (self.pairs * self.a * rij / (1.0 + b * rij)).sum((-1, -2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, logabsdet = torch.linalg.slogdet(self.slater_matrix(x))
        return logabsdet + self.jastrow(x)


def kinetic_energy(value_gradient_laplacian) -> torch.Tensor:
    """E_kin = -½ (Δ log|ψ| + |∇ log|ψ||²) from the compiled outputs."""
    _, gradient, laplacian = value_gradient_laplacian
    return -0.5 * (laplacian + (gradient * gradient).sum(-1))


def torch_func_kinetic_energy(model: LogPsi, x: torch.Tensor) -> torch.Tensor:
    """The reference: torch.func per sample."""

    def one(xi):
        f = lambda y: model(y[None])[0]
        gradient = torch.func.grad(f)(xi)
        laplacian = torch.func.hessian(f)(xi).diagonal().sum()
        return -0.5 * (laplacian + (gradient * gradient).sum())

    return torch.stack([one(xi) for xi in x])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 4, B = 8")
    parser.add_argument("--electrons", type=int, help="n (default 6; 4 --quick)")
    parser.add_argument("--batch", type=int, help="walkers (default 256; 8 --quick)")
    parser.add_argument(
        "--check-points",
        type=int,
        default=16,
        help="walkers compared with torch.func (it is slow)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help="largest relative difference from torch.func accepted",
    )
    args = parser.parse_args(argv)
    electrons = args.electrons or (4 if args.quick else 6)
    batch = args.batch or (8 if args.quick else 256)

    model = LogPsi(electrons)
    torch.manual_seed(1)
    walkers = torch.randn(batch, 3 * electrons, dtype=torch.float64)

    start = time.perf_counter()
    op = tm.compile(
        model,
        "laplacian",
        example_inputs=walkers,
        outputs=("value", "gradient", "operator"),
    )
    compile_time = time.perf_counter() - start
    with torch.no_grad():
        energy = kinetic_energy(op(walkers))  # the first call also warms up
        start = time.perf_counter()
        energy = kinetic_energy(op(walkers))
        compiled_time = time.perf_counter() - start

    checked = walkers[: args.check_points]
    start = time.perf_counter()
    reference = torch_func_kinetic_energy(model, checked).detach()
    reference_time = time.perf_counter() - start
    error = float((energy[: len(checked)] - reference).abs().max()) / float(
        reference.abs().max()
    )

    print(f"n = {electrons} electrons, D = {3 * electrons}, {batch} walkers")
    print(f"compile: {compile_time:.1f} s")
    print(
        f"taylor_mlir: {compiled_time * 1e3:.1f} ms for {batch} walkers "
        f"({compiled_time / batch * 1e6:.0f} us per walker)"
    )
    print(
        f"torch.func: {reference_time * 1e3:.1f} ms for {len(checked)} walkers "
        f"({reference_time / len(checked) * 1e6:.0f} us per walker; a per-sample "
        "loop, not a speed reference)"
    )
    print(f"mean local kinetic energy: {float(energy.mean()):.6f}")
    print(f"max relative error vs torch.func: {error:.2e}")
    if not error <= args.tolerance:
        print(f"error above {args.tolerance:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
