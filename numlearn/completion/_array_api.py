"""Matrix completion on observations held by another array library than NumPy (CuPy,
array_api_strict): which engine runs them, and the estimators' conversion of such input.

:func:`numlearn.completion.altmin` and :func:`numlearn.completion.implicit_als` take this
path when the observed entries come as a tuple ``(rows, cols, values, shape)`` of arrays of
a non-NumPy array-API namespace (or a ``cupyx.scipy.sparse`` matrix). The iteration,
stopping rule, history, warnings and statuses are those of the NumPy path (the loop is
shared); only the engine that runs the half-steps differs (:func:`make_engine`):

* :class:`~numlearn.completion._array_api_engine.ArrayAPIEngine` (any namespace; CuPy
  with ``rank > 32``; implicit ALS and ``reg_scaling="count"`` on every namespace):
  whole-array operations;
* :class:`~numlearn.completion._cuda_engine.CudaEngine` (plain AltMin on CuPy with
  ``rank ≤ 32``): the Numba-CUDA kernels of :mod:`numlearn.completion._cuda_kernels`.

The SVD initialization runs ARPACK on the host with the products ``P_Ω(M) x`` computed by
the engine on the device, so the starting point (and hence the factors) are those of the
NumPy path. ``solver="sketch"`` is not implemented here: :func:`altmin` solves such inputs on
the host and returns the factors in the inputs' namespace.

Factors are computed in the dtype of ``values`` when it is float32 or float64 (other dtypes:
float64); the normal equations are accumulated in float64 in the CUDA kernels.
"""

from __future__ import annotations

from typing import Any

from numlearn._backend import is_cupy_sparse, pick_ops
from numlearn.completion._array_api_engine import ArrayAPIEngine
from numlearn.completion._cuda_engine import CudaEngine
from numlearn.completion._engine import Engine
from numlearn.completion._observations import ArrayObservations, check_observations_array_api

__all__ = ["make_engine", "observed_entries_array_api", "check_observations_array_api",
           "ArrayObservations"]


def make_engine(obs: ArrayObservations, rank: int, *, implicit: bool = False,
                recommender: bool = False) -> Engine:
    """The engine for ``obs``: the Numba-CUDA kernels for CuPy arrays (plain AltMin,
    ``rank ≤ 32``, a usable GPU), the generic array-API engine otherwise (implicit ALS and
    the ALS-WR penalty ``reg_scaling="count"`` always take it)."""
    cuda = CudaEngine if not (implicit or recommender) and rank <= 32 else None
    return pick_ops(obs.xp, numpy=ArrayAPIEngine, array_api=ArrayAPIEngine, cuda=cuda)(obs)


def observed_entries_array_api(X: Any, xp, min_samples: int = 1, min_features: int = 1):
    """``(rows, cols, values, shape)`` of a dense array with NaN for missing entries (or a
    ``cupyx.scipy.sparse`` matrix: its stored entries), in ``xp``; the estimator's checks."""
    if is_cupy_sparse(X):
        coo = X.tocoo(copy=True)
        coo.sum_duplicates()
        rows, cols, values, shape = coo.row, coo.col, coo.data, tuple(coo.shape)
        if values.dtype.kind != "f":
            values = xp.astype(values, xp.float64)
        if not bool(xp.all(xp.isfinite(values))):
            raise ValueError("X: stored (observed) entries must be finite.")
    else:
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array, got an array of shape {tuple(X.shape)}.")
        if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}.")
        if X.dtype not in (xp.float32, xp.float64):
            X = xp.astype(X, xp.float64)
        shape = tuple(X.shape)
        if bool(xp.any(xp.isinf(X))):
            raise ValueError("X must not contain inf (NaN marks a missing entry).")
        flat = xp.nonzero(xp.reshape(~xp.isnan(X), (-1,)))[0]
        rows, cols = flat // shape[1], flat % shape[1]
        values = xp.take(xp.reshape(X, (-1,)), flat)
    if shape[0] < min_samples or shape[1] < min_features:
        raise ValueError(f"X of shape {shape} is too small: at least {min_samples} samples and "
                         f"{min_features} features are required.")
    return rows, cols, values, shape
