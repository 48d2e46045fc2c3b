"""Numba kernels for implicit-feedback ALS (Hu, Koren, Volinsky 2008).

With the other side's factors ``Y`` fixed, row ``u``'s factor minimizes
``Σ_i c_ui (p_ui − x_uᵀy_i)² + reg ‖x_u‖²`` over *all* items ``i``, with ``p_ui = 1`` and
confidence ``c_ui = 1 + α r_ui`` on the observed entries and ``p_ui = 0``, ``c_ui = 1``
elsewhere. Its normal equations are ``(YᵀY + Yᵀ(C_u − I)Y + reg I) x_u = Yᵀ C_u p_u``: the
``YᵀY`` part is shared by every row (computed once per half-step, ``G = YᵀY + reg I``), and
``C_u − I`` is nonzero on the row's observed entries only, so a row costs ``O(n_u k²)``
(exact, :func:`implicit_rows_cholesky`) or ``O((n_u k + k²) · steps)`` with conjugate
gradients warm-started from the current factor (Takács, Pilászy, Tikk 2011,
:func:`implicit_rows_cg`). Rows are independent: the kernels loop over them with ``prange``;
``*_serial`` twins run the same row functions on one thread for small problems.
"""

from __future__ import annotations

import numba
import numpy as np

from numlearn.completion._altmin_kernels import _cg_step, _cholesky_solve_inplace

__all__ = [
    "implicit_rows_cholesky",
    "implicit_rows_cholesky_serial",
    "implicit_rows_cg",
    "implicit_rows_cg_serial",
    "implicit_loss_terms",
]


@numba.njit(cache=True, inline="always", fastmath=True)
def _cholesky_row(indptr, indices, conf, Y, G, out, u):
    """Exact solve of row ``u``; False (and a zero row) if not positive definite."""
    k = Y.shape[1]
    A = G.copy()
    b = np.zeros(k, dtype=Y.dtype)
    for jj in range(indptr[u], indptr[u + 1]):
        i = indices[jj]
        c = conf[jj]
        for a in range(k):
            ya = Y[i, a]
            b[a] += c * ya
            w = (c - 1.0) * ya
            for d in range(a + 1):
                A[a, d] += w * Y[i, d]
    for a in range(k):
        for d in range(a):
            A[d, a] = A[a, d]
    ok = _cholesky_solve_inplace(A, b, k)
    for a in range(k):
        out[u, a] = b[a] if ok else 0.0
    return ok


@numba.njit(cache=True, inline="always", fastmath=True)
def _cg_row(indptr, indices, conf, Y, G, out, n_steps, u):
    """``n_steps`` CG steps on row ``u``'s normal equations, from ``out[u]``."""
    k = Y.shape[1]
    x = out[u].copy()
    r = np.empty(k, dtype=Y.dtype)
    for a in range(k):  # r = Yᵀ C_u p_u − (G + Yᵀ(C_u − I)Y) x
        t = 0.0
        for d in range(k):
            t += G[a, d] * x[d]
        r[a] = -t
    for jj in range(indptr[u], indptr[u + 1]):
        i = indices[jj]
        c = conf[jj]
        s = 0.0
        for a in range(k):
            s += Y[i, a] * x[a]
        w = c - (c - 1.0) * s
        for a in range(k):
            r[a] += w * Y[i, a]
    p = r.copy()
    q = np.empty(k, dtype=Y.dtype)
    rr = 0.0
    for a in range(k):
        rr += r[a] * r[a]
    for _ in range(n_steps):
        if rr < 1e-300:
            break
        for a in range(k):
            t = 0.0
            for d in range(k):
                t += G[a, d] * p[d]
            q[a] = t
        for jj in range(indptr[u], indptr[u + 1]):
            i = indices[jj]
            s = 0.0
            for a in range(k):
                s += Y[i, a] * p[a]
            w = (conf[jj] - 1.0) * s
            for a in range(k):
                q[a] += w * Y[i, a]
        rr = _cg_step(x, r, p, q, rr)
        if rr < 0.0:  # pᵀq ≤ 0: breakdown
            break
    for a in range(k):
        out[u, a] = x[a]


@numba.njit(cache=True, parallel=True, fastmath=True)
def implicit_rows_cholesky(indptr, indices, conf, Y, G, out):
    """Exact solve of every row into ``out``; returns the number of singular rows."""
    failures = 0
    for u in numba.prange(indptr.shape[0] - 1):
        if not _cholesky_row(indptr, indices, conf, Y, G, out, u):
            failures += 1
    return failures


@numba.njit(cache=True, fastmath=True)
def implicit_rows_cholesky_serial(indptr, indices, conf, Y, G, out):
    """:func:`implicit_rows_cholesky` on one thread."""
    failures = 0
    for u in range(indptr.shape[0] - 1):
        if not _cholesky_row(indptr, indices, conf, Y, G, out, u):
            failures += 1
    return failures


@numba.njit(cache=True, parallel=True, fastmath=True)
def implicit_rows_cg(indptr, indices, conf, Y, G, out, n_steps):
    """``n_steps`` warm-started CG steps per row, in place in ``out``."""
    for u in numba.prange(indptr.shape[0] - 1):
        _cg_row(indptr, indices, conf, Y, G, out, n_steps, u)


@numba.njit(cache=True, fastmath=True)
def implicit_rows_cg_serial(indptr, indices, conf, Y, G, out, n_steps):
    """:func:`implicit_rows_cg` on one thread."""
    for u in range(indptr.shape[0] - 1):
        _cg_row(indptr, indices, conf, Y, G, out, n_steps, u)


@numba.njit(cache=True, parallel=True, fastmath=True)
def implicit_loss_terms(indptr, indices, conf, X, Y):
    """``Σ_observed [c (1 − s)² − s²]`` with ``s = x_uᵀy_i``: the observed entries'
    correction to the all-entries term ``Σ_{u,i} s² = tr(XᵀX YᵀY)``."""
    n_rows = indptr.shape[0] - 1
    k = X.shape[1]
    total = 0.0
    for u in numba.prange(n_rows):
        for jj in range(indptr[u], indptr[u + 1]):
            i = indices[jj]
            s = 0.0
            for a in range(k):
                s += X[u, a] * Y[i, a]
            total += conf[jj] * (1.0 - s) * (1.0 - s) - s * s
    return total
