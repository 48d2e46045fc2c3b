"""Observed entries of a partially known matrix: validation and row/column-wise layouts."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from numlearn._backend import device_of, is_cupy_sparse, non_numpy_namespace
from numlearn._validation import check_sparse_structure, float_dtype

__all__ = [
    "Observations",
    "ArrayObservations",
    "check_observations",
    "check_observations_array_api",
    "sorted_csr",
    "check_shape",
    "check_entries",
    "check_unique",
    "RowLayout",
    "row_layout",
]


class Observations(NamedTuple):
    """Validated observations ``M[rows[t], cols[t]] = values[t]`` of an ``shape`` matrix."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    row_order: np.ndarray | None = None  # permutation sorting by (row, col), if known


class RowLayout(NamedTuple):
    """Observations grouped by row, as CSR arrays, plus the permutation from input order."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    order: np.ndarray


def check_shape(shape: Any, name: str) -> tuple[int, int]:
    """``shape`` as a pair of positive ints (``TypeError``/``ValueError`` naming ``name``)."""
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: shape must be a pair of integers, got {shape!r}.") from None
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"{name}: shape must be two positive integers, got {shape}.")
    return shape


def check_entries(rows, cols, values, shape: tuple[int, int], name: str, xp):
    """The checks of the entries ``(rows, cols, values)`` shared by the NumPy and array-API
    paths (arrays of the namespace ``xp``): 1-D of equal, nonzero length, integer indices
    inside ``shape``, real finite values. Returns ``rows, cols`` as int64 and ``values``
    (float64 unless float32 or float64 already)."""
    if not (rows.ndim == cols.ndim == values.ndim == 1 and rows.shape == cols.shape
            == values.shape):
        raise ValueError(
            f"{name}: rows, cols and values must be 1-D of equal length, got shapes "
            f"{tuple(rows.shape)}, {tuple(cols.shape)}, {tuple(values.shape)}."
        )
    if values.shape[0] == 0:
        raise ValueError(f"{name} has no observed entries.")
    for label, idx in (("rows", rows), ("cols", cols)):
        if not xp.isdtype(idx.dtype, "integral"):
            raise TypeError(f"{name}: {label} must be integers, got dtype {idx.dtype}.")
    if not xp.isdtype(values.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"{name}: values must be real numbers, got dtype {values.dtype}.")
    if values.dtype not in (xp.float32, xp.float64):  # integers, bool, float16
        values = xp.astype(values, xp.float64)
    rows, cols = xp.astype(rows, xp.int64, copy=False), xp.astype(cols, xp.int64, copy=False)
    m, n = shape
    # one host synchronization for the four reductions
    if bool((xp.min(rows) < 0) | (xp.max(rows) >= m) | (xp.min(cols) < 0)
            | (xp.max(cols) >= n)):
        raise ValueError(f"{name}: a (row, col) index lies outside the {m} x {n} matrix.")
    if not bool(xp.all(xp.isfinite(values))):
        raise ValueError(f"{name}: observed values must be finite (found NaN or inf).")
    return rows, cols, values


def check_unique(sorted_linear, name: str, xp) -> None:
    """Raise ``ValueError`` if the sorted linear indices ``row * n + col`` repeat."""
    if sorted_linear.shape[0] > 1 and bool(xp.any(sorted_linear[1:] == sorted_linear[:-1])):
        raise ValueError(
            f"{name} has duplicate (row, col) pairs; combine them (e.g. average) first."
        )


def check_observations(M_obs: Any, name: str = "M_obs") -> Observations:
    """Validate observed entries given as a SciPy sparse matrix (its *stored* entries are
    the observations, explicit zeros included) or a tuple ``(rows, cols, values, shape)``.

    Raises ``ValueError`` on NaN/inf values, indices out of range, duplicate ``(row, col)``
    pairs and an empty set of observations; ``TypeError`` on anything else.
    """
    if sp.issparse(M_obs):
        # structure checked before SciPy's conversion reads it; duplicates kept (refused below)
        coo = check_sparse_structure(M_obs, name, format="coo", canonical=False)
        rows, cols, values, shape = coo.row, coo.col, coo.data, coo.shape
    elif isinstance(M_obs, tuple) and len(M_obs) == 4:
        rows, cols, values, shape = M_obs
        shape = check_shape(shape, name)
    else:
        raise TypeError(
            f"{name} must be a SciPy sparse matrix of observed entries or a tuple "
            f"(rows, cols, values, shape); got {type(M_obs).__name__}."
        )
    values = np.asarray(values)
    float_dtype(values.dtype, f"{name}: values")  # complex or object refused, not truncated
    values = values.astype(np.float64)
    rows, cols, values = check_entries(np.asarray(rows), np.asarray(cols), values, shape, name,
                                       np)
    # one sort finds duplicates and gives the row-wise layout's order
    linear = rows * shape[1] + cols
    order = np.argsort(linear)
    check_unique(linear[order], name, np)
    return Observations(rows, cols, values, tuple(shape), order)


def row_layout(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int,
               order: np.ndarray | None = None) -> RowLayout:
    """Group observations by row (columns ascending within a row) into CSR arrays.

    ``order``, if given, must be the permutation sorting the observations by
    ``(row, col)`` (as :func:`check_observations` returns it).
    """
    if order is None:
        n_cols = int(cols.max()) + 1 if cols.size else 1
        order = np.argsort(rows.astype(np.int64) * n_cols + cols)
    counts = np.bincount(rows, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return RowLayout(indptr, cols[order].astype(np.int64), values[order], order)


class ArrayObservations(NamedTuple):
    """Validated observations in the namespace ``xp`` (on ``device``)."""

    rows: Any
    cols: Any
    values: Any
    shape: tuple[int, int]
    xp: Any
    device: Any


def check_observations_array_api(M_obs: Any, name: str = "M_obs") -> ArrayObservations | None:
    """The observations as arrays of their own (non-NumPy) namespace, validated as
    :func:`numlearn.completion._observations.check_observations` does (same messages);
    ``None`` when ``M_obs`` is not made of non-NumPy arrays (the NumPy path takes it)."""
    if is_cupy_sparse(M_obs):
        coo = M_obs.tocoo()
        triple, shape = (coo.row, coo.col, coo.data), coo.shape
    elif isinstance(M_obs, tuple) and len(M_obs) == 4:
        triple, shape = M_obs[:3], M_obs[3]
        if not any(hasattr(a, "__array_namespace__") for a in triple):
            return None
    else:
        return None
    xp = non_numpy_namespace(*triple)
    if xp is None:
        return None
    like = next(a for a in triple if hasattr(a, "__array_namespace__"))
    device = device_of(like)
    shape = check_shape(shape, name)
    rows, cols, values = (xp.asarray(a, device=device) for a in triple)
    rows, cols, values = check_entries(rows, cols, values, shape, name, xp)
    m, n = shape
    check_unique(xp.sort(rows * n + cols), name, xp)
    return ArrayObservations(rows, cols, values, (m, n), xp, device)


def sorted_csr(major, minor, values, n_major: int, n_minor: int, xp):
    """CSR arrays ``(indptr, indices, values)`` of the observations grouped by ``major``
    (``minor`` ascending within a group), all in ``xp``."""
    order = xp.argsort(major * n_minor + minor)
    major_sorted = xp.take(major, order)
    bounds = xp.arange(n_major + 1, dtype=xp.int64, device=device_of(major))
    indptr = xp.astype(xp.searchsorted(major_sorted, bounds), xp.int64)
    return indptr, xp.take(minor, order), xp.take(values, order)
