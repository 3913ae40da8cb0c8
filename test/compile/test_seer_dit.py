"""TaylorSeer (`taylor_mlir.seer`) on the benchmark's DiT and DDIM sampler
(benchmarks/taylorseer), with the tiny untrained configuration: the
wrapped attention and MLP blocks compute on the schedule's steps only, a
schedule of every step is full sampling exactly, and sampling runs of
different batch sizes share no state."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from taylor_mlir import seer  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks" / "taylorseer"))
from diffusion import NoiseSchedule, ddim_sample, initial_noise  # noqa: E402
from dit import tiny_dit  # noqa: E402

STEPS = 12


def blocks(name, module):
    """The attention and MLP of every transformer block."""
    return name.startswith("blocks.") and name.endswith((".attn", ".mlp"))


def sample(model, batch, seed=0):
    x_T = initial_noise(batch, image_size=8, seed=seed)
    y = torch.arange(batch) % 10
    with torch.no_grad(), seer.sampling(model) as run:
        out = ddim_sample(model, NoiseSchedule(), x_T, y, steps=STEPS)
    return out, run


def counting(model):
    """Counts the calls that reach each attention and MLP module."""
    calls = {}
    for name, module in model.named_modules():
        if blocks(name, module):
            calls[name] = 0

            def hook(module, args, output, name=name):
                calls[name] += 1

            module.register_forward_hook(hook)
    return calls


def test_every_step_full_is_full_sampling():
    reference = tiny_dit()
    want, _ = sample(reference, 4)
    model = tiny_dit()
    seer.wrap(model, blocks, warmup_steps=3, skip_interval_steps=1, n_derivatives=2)
    got, run = sample(model, 4)
    assert torch.equal(got, want)
    assert run.forecast == 0


def test_wrapped_blocks_compute_on_the_schedule_only():
    model = tiny_dit()
    calls = counting(model)
    names = seer.wrap(
        model, blocks, warmup_steps=3, skip_interval_steps=3, n_derivatives=2
    )
    assert sorted(names) == sorted(calls)
    full_sampling, _ = sample(tiny_dit(), 4)
    got, run = sample(model, 4)
    # Steps 0-2 (warm-up), then every third: 5, 8, 11.
    full_steps = [0, 1, 2, 5, 8, 11]
    assert all(count == len(full_steps) for count in calls.values()), calls
    assert run.full == len(names) * len(full_steps)
    assert run.forecast == len(names) * (STEPS - len(full_steps))
    assert torch.isfinite(got).all()
    # Forecasting changes the samples, a little: not a copy of full sampling,
    # and not something else entirely.
    error = float((got - full_sampling).abs().max())
    assert 0 < error < float(full_sampling.abs().max())


def test_no_state_leaks_between_runs_and_batch_sizes():
    model = tiny_dit()
    seer.wrap(model, blocks, warmup_steps=2, skip_interval_steps=2, n_derivatives=1)
    first, _ = sample(model, 4, seed=1)
    other, _ = sample(model, 3, seed=2)  # another batch size in between
    again, _ = sample(model, 4, seed=1)
    assert torch.equal(first, again)
    assert other.shape[0] == 3
    seer.unwrap(model)
    assert not any(seer.is_seer(m) for m in model.modules())
