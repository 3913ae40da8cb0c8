"""Differential fuzzing, fixed-seed sample: about 50 random models
(`test/fuzz/models.py`) compiled for every operator in rotation and compared
with torch.func in float64 (`test/fuzz/check.py`, ≤ 1e-9 relative to
max(|reference|, 1) per model and output; gradients of a loss for the
training cases).

Several models share one compile (side by side, ``[B, Σ m_i]``; each model's
columns checked on their own), so that the sample fits in about 15
compiles. The long run is ``test/fuzz/fuzz.py`` (docs/testing.md).
"""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from check import OPERATORS, check, make_case  # noqa: E402

RUN_SEED = 9  # a sample that covers every operator and variant
MODELS = 50
MAX_MODELS = 6
MAX_DEPTH = 5


def _sample():
    cases, models = [], 0
    while models < MODELS:
        case = make_case(
            RUN_SEED, len(cases), max_models=MAX_MODELS, max_depth=MAX_DEPTH
        )
        cases.append(case)
        models += len(case.models)
    return cases


CASES = _sample()


def test_the_sample_covers_every_operator_and_variant():
    assert sum(len(c.models) for c in CASES) >= MODELS
    assert {c.op for c in CASES} == set(OPERATORS)
    assert any(not c.collapsed for c in CASES)
    assert any(c.dynamic_batch for c in CASES)
    assert any(c.outputs for c in CASES)
    assert {c.train for c in CASES} >= {"backward", "fused"}
    assert any(c.self_check for c in CASES)
    assert any(len(c.models) == 1 for c in CASES)
    outputs = {m.output for c in CASES for m in c.models}
    assert () in outputs and (1,) in outputs and any(o[0] > 1 for o in outputs if o)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.index}-{c.op}")
def test_random_models_match_torch_func(case):
    result = check(case)
    if not result.passed:
        sources = "\n".join(case.models[j].source for j in result.failing_models())
        pytest.fail(
            f"{case.describe()}\nstatus {result.status}\n{result.message}\n"
            f"failing models:\n{sources}"
        )
