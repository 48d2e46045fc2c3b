"""One check of ``sample_weight`` for every linear model, path and solver."""

from __future__ import annotations

import numpy as np

__all__ = ["check_sample_weight"]


def check_sample_weight(sample_weight, n: int):
    """Validate ``sample_weight``: None, or ``n`` finite non-negative numbers, not all 0.

    Returns a float64 copy (None stays None).

    Examples
    --------
    >>> from numlearn.linear_model._sample_weight import check_sample_weight
    >>> check_sample_weight([1, 2], 2).tolist()
    [1.0, 2.0]
    >>> check_sample_weight([1.0, -1.0], 2)
    Traceback (most recent call last):
    ValueError: sample_weight must be non-negative, got a minimum of -1.0.
    """
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        sample_weight = np.full(n, sample_weight, dtype=np.float64)
    try:
        sw = np.array(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"sample_weight must be an array of real numbers: {exc}") from None
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(
            f"sample_weight must be a vector of length {n} (one weight per sample), got "
            f"shape {sw.shape}.")
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight must be finite; it contains NaN or infinity.")
    if sw.size and sw.min() < 0:
        raise ValueError(f"sample_weight must be non-negative, got a minimum of {sw.min()}.")
    if not np.any(sw > 0):
        raise ValueError("sample_weight must have at least one positive weight; every weight is zero.")
    return sw
