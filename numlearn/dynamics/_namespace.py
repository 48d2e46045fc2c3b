"""Array-namespace helpers of the dynamics models (NumPy, CuPy, array_api_strict, ...).

A model keeps the namespace of its data: ``np`` itself for NumPy data (so the NumPy path
runs the very NumPy calls it always did), array-api-compat's namespace otherwise, as
:func:`numlearn._backend.non_numpy_namespace` decides (``non_numpy_namespace(a) or np``;
mixing libraries raises ``TypeError``). The helpers below are the few operations whose spelling differs between NumPy and the
array API standard.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit as _np_expit

from numlearn._backend import to_numpy

__all__ = ["is_np", "as_float", "take", "concat", "flat", "copy", "norm",
           "expit", "softplus_neg", "all_finite", "host", "reshape"]


def is_np(xp) -> bool:
    return xp is np


def as_float(a: Any, xp, device):
    """``a`` as a float64 array of ``xp`` on ``device`` (NumPy arrays and lists are moved)."""
    if xp is np:
        return np.asarray(a, dtype=np.float64)
    if isinstance(a, np.ndarray) or not hasattr(a, "__array_namespace__"):
        return xp.asarray(np.asarray(a, dtype=np.float64), device=device)
    a = xp.asarray(a)
    return a if a.dtype == xp.float64 else xp.astype(a, xp.float64)


def take(xp, a, idx):
    """Rows ``idx`` of ``a`` (``a[idx]``)."""
    if idx is None:
        return a
    if xp is np:
        return a[idx]
    return xp.take(a, idx, axis=0)


def concat(xp, arrays):
    if xp is np:
        return np.concatenate(arrays)
    return xp.concat(arrays)


def flat(xp, a):
    if xp is np:
        return a.ravel()
    return xp.reshape(a, (-1,))


def copy(xp, a):
    if xp is np:
        return a.copy()
    return xp.asarray(a, copy=True)


def norm(xp, a) -> float:
    if xp is np:
        return float(np.linalg.norm(a))
    return float(xp.linalg.vector_norm(a))


def expit(xp, t):
    """The logistic function ``1 / (1 + exp(-t))``, without overflow."""
    if xp is np:
        return _np_expit(t)
    return xp.exp(-xp.logaddexp(xp.zeros_like(t), -t))


def softplus_neg(xp, t):
    """``log(1 + exp(-t))``, without overflow."""
    if xp is np:
        return np.logaddexp(0.0, -t)
    return xp.logaddexp(xp.zeros_like(t), -t)


def all_finite(xp, a) -> bool:
    if xp is np:
        return bool(np.all(np.isfinite(a)))
    return bool(xp.all(xp.isfinite(a)))


def host(a: Any) -> np.ndarray:
    """``a`` copied to a NumPy array (a no-op for NumPy)."""
    return to_numpy(a)


def reshape(xp, a, shape):
    if xp is np:
        return a.reshape(shape)
    return xp.reshape(a, shape)
