"""Numba kernels for entropic OT between point clouds, the cost computed on the fly.

Row ``i`` of the cost ``C_ij = c(x_i, y_j)`` is formed in a buffer of length ``m`` (the
features summed coordinate by coordinate over the transposed target cloud, so the loops
vectorize), reduced and forgotten: memory is ``O((n + m) d)`` plus ``m`` floats per
thread, never ``n × m``. Rows run in parallel (``prange`` over blocks of rows, one pair of
buffers per block). Metrics: 0 squared Euclidean, 1 Euclidean, 2 city block (the sums
of :func:`scipy.spatial.distance.cdist`, term by term).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from numlearn.ot._kernels import vexp

__all__ = ["METRICS", "cost_logsumexp", "plan_row_stats", "plan_rows", "plan_matmul"]

#: metric name -> code of the kernels
METRICS = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2}

_BLOCK = 64  # rows per parallel task


@numba.njit(cache=True)
def _cost_row(x, Yt, metric, out):
    """``out[j] = c(x, Yt[:, j])``."""
    d, m = Yt.shape
    for j in range(m):
        out[j] = 0.0
    for k in range(d):
        xk = x[k]
        if metric == 2:
            for j in range(m):
                out[j] += abs(xk - Yt[k, j])
        else:
            for j in range(m):
                t = xk - Yt[k, j]
                out[j] += t * t
    if metric == 1:
        for j in range(m):
            out[j] = math.sqrt(out[j])


@numba.njit(cache=True, parallel=True)
def cost_logsumexp(X, Yt, g, inv_reg, metric, out):
    """``out[i] = log Σ_j exp((g_j - c(x_i, y_j)) · inv_reg)`` (max-shifted, exact)."""
    n = X.shape[0]
    m = Yt.shape[1]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for blk in numba.prange(nblocks):
        buf = np.empty(m)
        ex = np.empty(m)
        for i in range(blk * _BLOCK, min(n, (blk + 1) * _BLOCK)):
            _cost_row(X[i], Yt, metric, buf)
            mx = -np.inf
            for j in range(m):
                v = (g[j] - buf[j]) * inv_reg
                buf[j] = v
                mx = v if v > mx else mx
            if mx == -np.inf:
                out[i] = -np.inf
                continue
            for j in range(m):
                buf[j] -= mx
            vexp(buf, ex)
            s = 0.0
            for j in range(m):
                s += ex[j]
            out[i] = mx + math.log(s)
    return out


@numba.njit(cache=True, parallel=True)
def plan_row_stats(X, Yt, f, g, inv_reg, metric, mass, cost):
    """Row sums of the plan ``P_ij = exp((f_i + g_j - c_ij) · inv_reg)`` in ``mass`` and
    of ``c_ij P_ij`` in ``cost``."""
    n = X.shape[0]
    m = Yt.shape[1]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for blk in numba.prange(nblocks):
        buf = np.empty(m)
        x = np.empty(m)
        ex = np.empty(m)
        for i in range(blk * _BLOCK, min(n, (blk + 1) * _BLOCK)):
            _cost_row(X[i], Yt, metric, buf)
            fi = f[i]
            for j in range(m):
                x[j] = (fi + g[j] - buf[j]) * inv_reg
            vexp(x, ex)
            s = 0.0
            c = 0.0
            if fi == -np.inf:
                mass[i] = 0.0
                cost[i] = 0.0
                continue
            for j in range(m):
                e = ex[j] if g[j] > -np.inf else 0.0
                s += e
                c += e * buf[j]
            mass[i] = s
            cost[i] = c


@numba.njit(cache=True, parallel=True)
def plan_rows(X, Yt, f, g, inv_reg, metric, out):
    """``out[i, j] = exp((f_i + g_j - c(x_i, y_j)) · inv_reg)`` for the rows of ``X``."""
    n = X.shape[0]
    m = Yt.shape[1]
    for i in numba.prange(n):
        buf = np.empty(m)
        _cost_row(X[i], Yt, metric, buf)
        for j in range(m):
            out[i, j] = math.exp((f[i] + g[j] - buf[j]) * inv_reg)
    return out


@numba.njit(cache=True, parallel=True)
def plan_matmul(X, Yt, f, g, inv_reg, metric, V, out):
    """``out = P @ V`` for ``V`` of shape (m, k), the plan formed row by row."""
    n = X.shape[0]
    m = Yt.shape[1]
    k = V.shape[1]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for blk in numba.prange(nblocks):
        buf = np.empty(m)
        x = np.empty(m)
        ex = np.empty(m)
        for i in range(blk * _BLOCK, min(n, (blk + 1) * _BLOCK)):
            _cost_row(X[i], Yt, metric, buf)
            fi = f[i]
            for j in range(m):
                x[j] = (fi + g[j] - buf[j]) * inv_reg
            vexp(x, ex)
            for c in range(k):
                out[i, c] = 0.0
            if fi == -np.inf:
                continue
            for j in range(m):
                if g[j] > -np.inf:
                    e = ex[j]
                    for c in range(k):
                        out[i, c] += e * V[j, c]
    return out
