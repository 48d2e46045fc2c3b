"""Numba kernels for explicit-feedback ALS as recommenders fit it: offsets, ALS-WR and
nonnegativity.

Row ``i``'s regression over its observations ``(j, m_ij)`` against the design rows
``d_j`` (the other factor, with a column of ones appended when biases are fitted) is::

    x_i = argmin_x Σ_j (m_ij − offset_j − d_jᵀx)² + λ_i ‖x‖²,   λ_i = reg · (n_i or 1)

``offset_j`` carries what the other side contributes and is not being solved for (global
mean plus the other side's bias); ``λ_i = reg · n_i`` is ALS-WR (Zhou et al. 2008; Spark's
``regParam`` scaled by the row's number of ratings). Rows without observations get zero.
The first ``n_nonneg`` coordinates of ``x`` may be constrained to be nonnegative: the
quadratic is then minimized by projected coordinate descent on its k × k normal equations
(warm-started, to a relative change of 1e-12 or ``max_sweeps`` sweeps).

Each kernel also gives every row's sum of squared residuals at its new solution (when
``row_sse`` is not empty), so the training error after a sweep needs no separate call.
Every kernel has a one-thread twin
(``*_serial``, the same row function in a plain loop) for problems too small for threads.
"""

from __future__ import annotations

import numba
import numpy as np

from numlearn.completion._altmin_kernels import _cg_step, _cholesky_solve_inplace

__all__ = ["solve_rows_ridge", "solve_rows_ridge_serial", "solve_rows_ridge_cg",
           "solve_rows_ridge_cg_serial"]


@numba.njit(cache=True, inline="always")
def _row_normal_equations(indptr, indices, values, offset, D, reg, count_scaling, i, G, r):
    """Fill ``G = D_iᵀD_i + λ_i I`` and ``r = D_iᵀ(m_i − offset)``."""
    k = D.shape[1]
    for a in range(k):
        r[a] = 0.0
        for b in range(k):
            G[a, b] = 0.0
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        m = values[jj] - offset[j]
        for a in range(k):
            da = D[j, a]
            r[a] += da * m
            for b in range(a + 1):
                G[a, b] += da * D[j, b]
    lam = reg * (indptr[i + 1] - indptr[i]) if count_scaling else reg
    for a in range(k):
        G[a, a] += lam
        for b in range(a):
            G[b, a] = G[a, b]


@numba.njit(cache=True, inline="always")
def _projected_cd(G, r, x, n_nonneg, max_sweeps):
    """Minimize ``½xᵀGx − rᵀx`` with ``x[:n_nonneg] ≥ 0`` by cyclic coordinate descent."""
    k = G.shape[0]
    for a in range(n_nonneg):
        if x[a] < 0.0:
            x[a] = 0.0
    for _ in range(max_sweeps):
        change = 0.0
        size = 0.0
        for a in range(k):
            g = -r[a]
            for b in range(k):
                g += G[a, b] * x[b]
            new = x[a] - g / G[a, a]
            if a < n_nonneg and new < 0.0:
                new = 0.0
            change = max(change, abs(new - x[a]))
            size = max(size, abs(new))
            x[a] = new
        if change <= 1e-12 * size:
            break


@numba.njit(cache=True, inline="always")
def _row_sse(indptr, indices, values, offset, D, i, x):
    """``Σ_j (m_ij − offset_j − d_jᵀx)²`` over row ``i``'s observations."""
    k = D.shape[1]
    total = 0.0
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        t = values[jj] - offset[j]
        for a in range(k):
            t -= D[j, a] * x[a]
        total += t * t
    return total


@numba.njit(cache=True, inline="always")
def _exact_row(indptr, indices, values, offset, D, reg, count_scaling, n_nonneg, out,
               max_sweeps, i):
    """Row ``i``'s exact solve into ``out[i]``; False (and a zero row) if singular."""
    k = D.shape[1]
    if indptr[i + 1] == indptr[i]:
        for a in range(k):
            out[i, a] = 0.0
        return True
    G = np.empty((k, k))
    r = np.empty(k)
    _row_normal_equations(indptr, indices, values, offset, D, reg, count_scaling, i, G, r)
    x = out[i].copy()
    ok = True
    if n_nonneg > 0:
        for a in range(k):
            if not G[a, a] > 0.0:
                ok = False
        if ok:
            _projected_cd(G, r, x, n_nonneg, max_sweeps)
    else:
        ok = _cholesky_solve_inplace(G, r, k)
        x[:] = r
    if not ok:
        x[:] = 0.0
    for a in range(k):
        out[i, a] = x[a]
    return ok


@numba.njit(cache=True, inline="always")
def _cg_row(indptr, indices, values, offset, D, reg, count_scaling, out, n_steps, i):
    """``n_steps`` matrix-free CG steps on row ``i``'s normal equations, from ``out[i]``."""
    k = D.shape[1]
    start, stop = indptr[i], indptr[i + 1]
    if stop == start:
        for a in range(k):
            out[i, a] = 0.0
        return
    lam = reg * (stop - start) if count_scaling else reg
    x = out[i].copy()
    r = np.empty(k)
    for a in range(k):
        r[a] = -lam * x[a]
    for jj in range(start, stop):  # r = D_iᵀ(m − offset − D_i x) − λ x
        j = indices[jj]
        t = values[jj] - offset[j]
        for a in range(k):
            t -= D[j, a] * x[a]
        for a in range(k):
            r[a] += D[j, a] * t
    p = r.copy()
    q = np.empty(k)
    rr = 0.0
    for a in range(k):
        rr += r[a] * r[a]
    for _ in range(n_steps):
        if rr == 0.0:
            break
        for a in range(k):
            q[a] = lam * p[a]
        for jj in range(start, stop):
            j = indices[jj]
            t = 0.0
            for a in range(k):
                t += D[j, a] * p[a]
            for a in range(k):
                q[a] += t * D[j, a]
        rr = _cg_step(x, r, p, q, rr)
        if rr < 0.0:  # pᵀq ≤ 0: breakdown
            break
    for a in range(k):
        out[i, a] = x[a]


@numba.njit(cache=True, parallel=True)
def solve_rows_ridge(indptr, indices, values, offset, D, reg, count_scaling, n_nonneg, out,
                     max_sweeps, row_sse):
    """Exact solve of every row into ``out`` (Cholesky; projected coordinate descent from
    ``out``'s rows when ``n_nonneg > 0``), each row's new sum of squared residuals into
    ``row_sse``. Returns the number of singular rows (set to zero)."""
    failures = 0
    for i in numba.prange(indptr.shape[0] - 1):
        ok = _exact_row(indptr, indices, values, offset, D, reg, count_scaling, n_nonneg, out,
                        max_sweeps, i)
        if not ok:
            failures += 1
        if row_sse.shape[0] > 0:
            row_sse[i] = _row_sse(indptr, indices, values, offset, D, i, out[i])
    return failures


@numba.njit(cache=True)
def solve_rows_ridge_serial(indptr, indices, values, offset, D, reg, count_scaling, n_nonneg,
                            out, max_sweeps, row_sse):
    """:func:`solve_rows_ridge` on one thread (small problems)."""
    failures = 0
    for i in range(indptr.shape[0] - 1):
        ok = _exact_row(indptr, indices, values, offset, D, reg, count_scaling, n_nonneg, out,
                        max_sweeps, i)
        if not ok:
            failures += 1
        if row_sse.shape[0] > 0:
            row_sse[i] = _row_sse(indptr, indices, values, offset, D, i, out[i])
    return failures


@numba.njit(cache=True, parallel=True)
def solve_rows_ridge_cg(indptr, indices, values, offset, D, reg, count_scaling, out, n_steps,
                        row_sse):
    """``n_steps`` matrix-free CG steps per row on the normal equations, from ``out``; each
    row's new sum of squared residuals into ``row_sse``."""
    for i in numba.prange(indptr.shape[0] - 1):
        _cg_row(indptr, indices, values, offset, D, reg, count_scaling, out, n_steps, i)
        if row_sse.shape[0] > 0:
            row_sse[i] = _row_sse(indptr, indices, values, offset, D, i, out[i])


@numba.njit(cache=True)
def solve_rows_ridge_cg_serial(indptr, indices, values, offset, D, reg, count_scaling, out,
                               n_steps, row_sse):
    """:func:`solve_rows_ridge_cg` on one thread (small problems)."""
    for i in range(indptr.shape[0] - 1):
        _cg_row(indptr, indices, values, offset, D, reg, count_scaling, out, n_steps, i)
        if row_sse.shape[0] > 0:
            row_sse[i] = _row_sse(indptr, indices, values, offset, D, i, out[i])
