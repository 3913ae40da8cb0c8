"""Shared fixtures of the numeric tests (run with pytest against the installed
taylor_mlir package)."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
