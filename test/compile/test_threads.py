"""Threads of compiled operators (`taylor_mlir.threads`): a batch is split
into one part per thread, computed concurrently; the result is the same as
in one piece."""

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import taylor_mlir as tm
from taylor_mlir import threads

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref
from reference import relative_error
from test_compile import inputs, mlp


#: The default (the tests' conftest sets 0 for every other test).
DEFAULT_MIN_PART_BYTES = threads.MIN_PART_BYTES


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of 2 data at least (instead of `MIN_CHUNK`, and whatever the
    work per datum), 2 threads."""
    monkeypatch.setattr(threads, "MIN_CHUNK", 2)
    monkeypatch.setattr(threads, "MIN_PART_BYTES", 0)
    before = tm.get_num_threads()
    tm.set_num_threads(2)
    yield
    tm.set_num_threads(before)


@pytest.mark.parametrize(
    "batch, count, parts",
    [
        (1, 2, [(0, 1)]),
        (15, 2, [(0, 15)]),
        (16, 2, [(0, 8), (8, 16)]),
        (31, 2, [(0, 16), (16, 31)]),
        (32, 2, [(0, 16), (16, 32)]),
        (33, 2, [(0, 17), (17, 33)]),
        (100, 3, [(0, 34), (34, 67), (67, 100)]),
        (40, 3, [(0, 14), (14, 27), (27, 40)]),
        (20, 3, [(0, 10), (10, 20)]),
        (1000, 1, [(0, 1000)]),
    ],
)
def test_split(batch, count, parts):
    assert threads.split(batch, count) == parts


@pytest.mark.parametrize("batch", [1, 15, 31, 32, 33, 100, 256, 1000, 4099])
@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("bytes_per_datum", [0, 8, 50 * 768 * 8, 1 << 22, 1 << 30])
def test_split_properties(batch, count, bytes_per_datum, monkeypatch):
    monkeypatch.setattr(threads, "MIN_PART_BYTES", DEFAULT_MIN_PART_BYTES)
    parts = threads.split(batch, count, bytes_per_datum)
    assert parts[0][0] == 0 and parts[-1][1] == batch
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    sizes = [stop - start for start, stop in parts]
    assert max(sizes) - min(sizes) <= 1
    if len(parts) > 1:
        assert min(sizes) >= threads.MIN_CHUNK
    if bytes_per_datum:
        budget = max(threads.MIN_CHUNK, threads.PART_BYTES // bytes_per_datum)
        assert max(sizes) <= max(budget, 2 * threads.MIN_CHUNK - 1)
        if len(parts) > 1:  # each part worth a thread's wake-up
            least = -(-threads.MIN_PART_BYTES // bytes_per_datum)
            assert min(sizes) >= min(least, budget)


def test_small_models_run_small_batches_in_one_piece(monkeypatch):
    """A small MLP's Laplacian (8 directions × 64 features × 8 bytes per
    datum): parts of 64 data at least; the paper MLP's: of MIN_CHUNK."""
    monkeypatch.setattr(threads, "MIN_PART_BYTES", DEFAULT_MIN_PART_BYTES)
    assert threads.split(16, 2, 8 * 64 * 8) == [(0, 16)]
    assert threads.split(127, 2, 8 * 64 * 8) == [(0, 127)]
    assert threads.split(128, 2, 8 * 64 * 8) == [(0, 64), (64, 128)]
    assert threads.split(16, 2, 50 * 768 * 8) == [(0, 8), (8, 16)]


def test_split_bounds_the_paper_mlp_laplacian_parts():
    """50 directions × 768 features × 8 bytes per datum: 27 data per part at
    most, an even number of parts on 2 threads."""
    parts = threads.split(256, 2, 50 * 768 * 8)
    sizes = [stop - start for start, stop in parts]
    assert len(parts) == 10 and set(sizes) == {25, 26}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts(bad):
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        tm.set_num_threads(bad)


def test_thread_count_round_trips():
    before = tm.get_num_threads()
    try:
        tm.set_num_threads(3)
        assert tm.get_num_threads() == 3
    finally:
        tm.set_num_threads(before)


def test_parts_match_one_piece(small_parts):
    model = mlp(3)
    x = inputs(5, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    # Compiled for the parts 3 and 2, not for 5.
    assert sorted(lap._artifacts) == [2, 3]
    split = lap(x)
    tm.set_num_threads(1)
    whole = lap(x)
    assert sorted(lap._artifacts) == [2, 3, 5]
    assert relative_error(split, whole) <= 1e-13
    assert relative_error(split, ref.laplacian(model, x)[:, 0]) <= 1e-9


def test_parts_share_the_random_directions(small_parts):
    model = mlp(3)
    x = inputs(6, 3)
    est = tm.compile(
        model, op="stochastic_laplacian", example_inputs=x, samples=4, seed=7
    )
    split = est(x)
    tm.set_num_threads(1)
    assert relative_error(split, est(x)) <= 1e-13
    fresh = tm.compile(
        model,
        op="stochastic_laplacian",
        example_inputs=x,
        samples=4,
        seed=np.random.default_rng(3),
    )
    tm.set_num_threads(2)
    a = fresh(x)
    # One draw per call: with shared directions, equal data give equal values.
    same = fresh(torch.cat([x[:3], x[:3]]))
    assert torch.equal(same[:3], same[3:])
    assert not torch.equal(a, fresh(x))


def test_taylor_coefficients_are_joined_along_the_batch(small_parts):
    model = mlp(3, outputs=2)
    x = inputs(5, 3)
    directions = torch.randn(2, 3, dtype=torch.float64)
    op = tm.compile(
        model, op="taylor", example_inputs=x, order=2, directions=directions
    )
    got = op(x)
    assert got.shape == (3, 2, 5, 2)
    want = ref.taylor(model, x, directions, 2)
    assert relative_error(got, want) <= 1e-9


def test_vector_outputs_and_dynamic_batch(small_parts):
    model = mlp(3, outputs=2)
    x = inputs(7, 3)
    lap = tm.compile(model, op="laplacian", example_inputs=x, dynamic_batch=True)
    assert list(lap._artifacts) == [None]
    got = lap(x)
    assert got.shape == (7, 2)
    assert relative_error(got, ref.laplacian(model, x)) <= 1e-9
