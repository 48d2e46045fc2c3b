"""Helpers shared by the benchmark modules."""

import warnings

import numpy as np


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with warnings silenced (benchmarks time, tests check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def relative_error(x, reference):
    return float(np.linalg.norm(np.asarray(x) - reference) / np.linalg.norm(reference))
