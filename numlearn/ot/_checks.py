"""Argument checks of the OT solvers, written once for every array namespace.

``xp`` is None on the NumPy path (NumPy arrays, lists, None) and the inputs' namespace
otherwise (:func:`numlearn._backend.non_numpy_namespace`); weights and potentials come out
float64 in that namespace, on ``M``'s device.
"""

from __future__ import annotations

import numpy as np

from numlearn._backend import device_of
from numlearn._validation import check_array, check_scalar, check_vector

__all__ = ["check_cost", "check_weights", "weight_eps", "check_masses", "check_problem", "check_init"]


def _is_empty(w) -> bool:
    shape = getattr(w, "shape", None)
    if shape is not None and not isinstance(w, np.ndarray):
        return len(shape) == 1 and shape[0] == 0
    return hasattr(w, "__len__") and len(w) == 0


def check_weights(w, name: str, size: int, xp=None, device=None):
    """Non-negative finite weights of length ``size`` with a positive sum (float64);
    ``None`` or an empty sequence means uniform ``1/size``."""
    if w is None or _is_empty(w):
        if xp is None:
            return np.full(size, 1.0 / size)
        return xp.full((size,), 1.0 / size, dtype=xp.float64, device=device)
    if xp is None:
        w = np.asarray(check_vector(w, name, size), dtype=np.float64)
        xq = np
    else:
        if not hasattr(w, "__array_namespace__"):  # a list or tuple: onto M's device
            w = xp.asarray(w, device=device)
        w = xp.astype(check_vector(w, name, size, xp=xp), xp.float64)
        xq = xp
    if bool(xq.any(w < 0)):
        raise ValueError(f"{name} must be non-negative; it has negative entries.")
    if not float(xq.sum(w)) > 0:
        raise ValueError(f"{name} must have a positive sum.")
    return w


def weight_eps(*weights) -> float:
    """Unit roundoff of the least precise floating weights given (float64's otherwise)."""
    eps = float(np.finfo(np.float64).eps)
    for w in weights:
        dtype = getattr(w, "dtype", None)
        if dtype is None or (isinstance(w, np.ndarray) and dtype == np.float64):
            continue
        try:
            if np.dtype(str(dtype).split(".")[-1]).kind == "f":
                eps = max(eps, float(np.finfo(np.dtype(str(dtype).split(".")[-1])).eps))
        except TypeError:
            continue
    return eps


def check_masses(a, b, eps, xp=np):
    """Equal total masses, to ``1e-8`` relative for float64 weights and to ``16 eps`` for
    less precise ones (float32 ``a = ot.unif(n).astype(float32)`` sums to 1 ± 6e-8). Less
    precise weights have ``b`` rescaled to ``a``'s mass (a change below their rounding),
    so that the marginals are feasible to any tolerance."""
    sa, sb = float(xp.sum(a)), float(xp.sum(b))
    rtol = max(1e-8, 16.0 * eps)
    if abs(sa - sb) > rtol * max(sa, sb):
        raise ValueError(
            f"a and b must have the same total mass (the marginals are infeasible otherwise); "
            f"got sum(a) = {sa!r} and sum(b) = {sb!r} (relative tolerance {rtol:.1e} for "
            f"these weights' dtype)."
        )
    if eps > float(np.finfo(np.float64).eps) and sa != sb:
        b = b * (sa / sb)
    return b


def check_cost(M, xp=None):
    """A finite non-empty 2-D cost matrix in float32 or float64 (other real dtypes become
    float64), C-contiguous on the NumPy path."""
    xq = np if xp is None else xp
    M = check_array(M, "M", ndim=2) if xp is None else check_array(M, "M", ndim=2, xp=xp)
    if M.dtype not in (xq.float32, xq.float64):
        M = xq.astype(M, xq.float64)
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M must be non-empty, got shape {tuple(M.shape)}.")
    return np.ascontiguousarray(M) if xp is None else M


def check_problem(a, b, M, reg, xp=None):
    """``(a, b, M, reg)`` of a balanced problem: ``M`` a finite non-empty float32/float64
    matrix (C-contiguous on the NumPy path), float64 weights of equal mass, ``reg > 0``."""
    xq = np if xp is None else xp
    M = check_cost(M, xp)
    n, m = M.shape
    device = None if xp is None else device_of(M)
    eps = weight_eps(a, b)
    a = check_weights(a, "a", n, xp, device)
    b = check_weights(b, "b", m, xp, device)
    b = check_masses(a, b, eps, xq)
    reg = check_scalar(reg, "reg", low=0.0, include_low=False)
    return a, b, M, reg


def check_init(init, n: int, m: int, xp=None, device=None):
    """Starting potentials ``(f, g)`` as float64 copies (zeros by default)."""
    if init is None:
        if xp is None:
            return np.zeros(n), np.zeros(m)
        return (xp.zeros((n,), dtype=xp.float64, device=device),
                xp.zeros((m,), dtype=xp.float64, device=device))
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError("init must be a pair (f, g) of dual potentials.")
    out = []
    for k, size in enumerate((n, m)):
        v = init[k]
        if xp is None:
            out.append(np.array(check_vector(v, f"init[{k}]", size), dtype=np.float64))
            continue
        if not hasattr(v, "__array_namespace__"):
            v = xp.asarray(v, device=device)
        out.append(xp.astype(check_vector(v, f"init[{k}]", size, xp=xp), xp.float64))
    return tuple(out)
