"""Entries of a completed matrix, ``(U Vᵀ)[rows, cols]`` (+ biases), on any array
library: the one ``predict_entries`` of every engine and estimator."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from numlearn._backend import device_of, non_numpy_namespace
from numlearn._validation import check_array, suggest_keywords

__all__ = ["predict_entries"]


def _entry_indices(idx: Any, name: str, xp, device) -> Any:
    """``idx`` as flat int64 indices of ``xp`` on ``device`` (a float would be truncated
    silently: refused)."""
    idx = np.asarray(idx) if xp is np else xp.asarray(idx, device=device)
    if (idx.shape[0] if idx.ndim == 1 else math.prod(idx.shape)) and not xp.isdtype(
            idx.dtype, "integral"):
        raise TypeError(f"{name} must hold integer indices (integers expected), got dtype "
                        f"{idx.dtype}.")
    return xp.astype(idx, xp.int64)


@suggest_keywords
def predict_entries(U: Any, V: Any, rows: Any, cols: Any, *, row_bias: Any = None,
                    col_bias: Any = None, mean: float = 0.0) -> Any:
    """``(U Vᵀ)[rows, cols]`` without forming ``U Vᵀ``.

    Factors of another array library (CuPy, ...) give the entries in that library, on their
    device (``rows`` and ``cols`` are then taken onto it). ``row_bias``, ``col_bias`` and
    ``mean`` (the fields of an :func:`altmin` result fitted with ``biases=True``) add
    ``mean + row_bias[rows] + col_bias[cols]``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import predict_entries
    >>> U, V = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0, 1.0], [1.0, 1.0]])
    >>> predict_entries(U, V, [0, 1], [0, 1])
    array([3., 2.])
    """
    xp = non_numpy_namespace(U, V)
    on_numpy = xp is None
    xp = np if on_numpy else xp
    device = None if on_numpy else device_of(U)
    if on_numpy:
        U = check_array(U, "U", ndim=2)
        V = check_array(V, "V", ndim=2)
    if U.shape[1] != V.shape[1]:
        raise ValueError(f"U and V must have the same number of columns (the rank), got "
                         f"{U.shape[1]} and {V.shape[1]}.")
    rows = _entry_indices(rows, "rows", xp, device)
    cols = _entry_indices(cols, "cols", xp, device)
    if tuple(rows.shape) != tuple(cols.shape):
        raise ValueError(f"rows and cols must have the same shape, got {tuple(rows.shape)}, "
                         f"{tuple(cols.shape)}.")
    shape = tuple(rows.shape)
    r, c = xp.reshape(rows, (-1,)), xp.reshape(cols, (-1,))
    if r.shape[0] and bool(xp.any(r < 0) | xp.any(r >= U.shape[0]) | xp.any(c < 0)
                           | xp.any(c >= V.shape[0])):
        raise ValueError(f"an index lies outside the {U.shape[0]} x {V.shape[0]} matrix.")
    if on_numpy:
        out = np.einsum("ij,ij->i", U[r], V[c]).reshape(shape)
    else:
        out = xp.reshape(xp.sum(xp.take(U, r, axis=0) * xp.take(V, c, axis=0), axis=1),
                         shape)
    for bias, idx in ((row_bias, rows), (col_bias, cols)):
        if bias is not None:
            bias = (np.asarray(bias, dtype=np.float64) if on_numpy
                    else xp.asarray(bias, device=device))
            out = out + xp.reshape(xp.take(bias, xp.reshape(idx, (-1,))), shape)
    return out + float(mean) if mean else out
