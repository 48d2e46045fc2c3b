"""Numba kernels for alternating minimization: one regularized least-squares solve per row.

A half-step of AltMin updates every row ``i`` of one factor ``U`` from the other, ``V``,
by the ridge regression over the row's observed entries ``(j, m_ij)``::

    u_i = argmin_u Σ_j (m_ij − v_jᵀu)² + reg ‖u‖²  ⇔  (V_iᵀV_i + reg I) u = V_iᵀ m_i.

The observations are given row-wise in CSR arrays ``(indptr, indices, values)`` (for the
column half-step, the CSR arrays of the transpose). Rows are independent: every kernel
loops over them with ``prange``. The three solvers:

* :func:`solve_rows_cholesky` — forms the k × k Gram matrix (``O(n_i k²)``) and solves by
  Cholesky (``O(k³)``): exact.
* :func:`solve_rows_cg` — a few conjugate-gradient steps on the normal equations,
  matrix-free (``O(n_i k)`` per step), warm-started from the current row.
* :func:`solve_rows_sketch` — sketch-and-precondition: a CountSketch of the ``n_i × k``
  design (``O(n_i k)``), its QR factor ``R`` (``O(s k²)``, ``s`` the sketch size), then CG on
  the normal equations right-preconditioned by ``R`` (a handful of ``O(n_i k)`` steps,
  since the sketch makes the preconditioned system well conditioned). Rows with few
  observations (``n_i ≤ s``) are solved exactly, which is cheaper there.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "solve_rows_cholesky",
    "solve_rows_cg",
    "solve_rows_sketch",
    "observed_residuals",
]


@numba.njit(cache=True, inline="always")
def _cg_step(x, r, p, q, rr):
    """One conjugate-gradient update of a ``k``-vector solve after ``q = A p``:
    ``x += α p``, ``r -= α q``, ``p = r + β p``. Returns the new ``rᵀr``, or ``-1.0`` on
    breakdown (``pᵀq ≤ 0``: stop). Inlined into its callers (their ``fastmath`` applies)."""
    k = r.shape[0]
    pq = 0.0
    for a in range(k):
        pq += p[a] * q[a]
    if not pq > 0.0:
        return -1.0
    alpha = rr / pq
    rr_new = 0.0
    for a in range(k):
        x[a] += alpha * p[a]
        r[a] -= alpha * q[a]
        rr_new += r[a] * r[a]
    beta = rr_new / rr
    for a in range(k):
        p[a] = r[a] + beta * p[a]
    return rr_new


@numba.njit(cache=True, inline="always")
def _cholesky_solve_inplace(G, r, k):
    """Solve ``G x = r`` for SPD ``G`` (k × k) by Cholesky, overwriting G and r; False if
    ``G`` is not numerically positive definite."""
    for j in range(k):
        s = G[j, j]
        for p in range(j):
            s -= G[j, p] * G[j, p]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        G[j, j] = d
        for i in range(j + 1, k):
            t = G[i, j]
            for p in range(j):
                t -= G[i, p] * G[j, p]
            G[i, j] = t / d
    for i in range(k):  # forward: L y = r
        t = r[i]
        for p in range(i):
            t -= G[i, p] * r[p]
        r[i] = t / G[i, i]
    for i in range(k - 1, -1, -1):  # backward: Lᵀ x = y
        t = r[i]
        for p in range(i + 1, k):
            t -= G[p, i] * r[p]
        r[i] = t / G[i, i]
    return True


@numba.njit(cache=True, inline="always")
def _upper_solve(R, p, k):
    """``R⁻¹ p`` for upper-triangular ``R`` (back substitution, ``O(k²)``)."""
    w = np.empty(k)
    for i in range(k - 1, -1, -1):
        t = p[i]
        for j in range(i + 1, k):
            t -= R[i, j] * w[j]
        w[i] = t / R[i, i]
    return w


@numba.njit(cache=True, inline="always")
def _upper_transpose_solve(R, q, k):
    """``R⁻ᵀ q`` for upper-triangular ``R`` (forward substitution, ``O(k²)``)."""
    z = np.empty(k)
    for i in range(k):
        t = q[i]
        for j in range(i):
            t -= R[j, i] * z[j]
        z[i] = t / R[i, i]
    return z


@numba.njit(cache=True, inline="always")
def _solve_row_exact(indptr, indices, values, V, reg, i, out):
    """Row ``i``'s ridge regression by its k × k normal equations and Cholesky, into
    ``out[i]``; False (and a zero row) if the Gram matrix is singular."""
    k = V.shape[1]
    G = np.zeros((k, k))
    r = np.zeros(k)
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        m = values[jj]
        for a in range(k):
            va = V[j, a]
            r[a] += va * m
            for b in range(a + 1):
                G[a, b] += va * V[j, b]
    for a in range(k):
        G[a, a] += reg
        for b in range(a):
            G[b, a] = G[a, b]
    ok = _cholesky_solve_inplace(G, r, k)
    for a in range(k):
        out[i, a] = r[a] if ok else 0.0
    return ok


@numba.njit(cache=True, parallel=True)
def solve_rows_cholesky(indptr, indices, values, V, reg, out):
    """Exact ridge solve of every row; returns the number of rows whose Gram matrix was
    singular (those rows are set to zero)."""
    n_rows = indptr.shape[0] - 1
    failures = 0
    for i in numba.prange(n_rows):
        if not _solve_row_exact(indptr, indices, values, V, reg, i, out):
            failures += 1
    return failures


@numba.njit(cache=True, inline="always")
def _normal_matvec(indptr, indices, V, reg, i, p, out):
    """``out = (V_iᵀV_i + reg I) p`` without forming the Gram matrix."""
    k = V.shape[1]
    for a in range(k):
        out[a] = reg * p[a]
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        t = 0.0
        for a in range(k):
            t += V[j, a] * p[a]
        for a in range(k):
            out[a] += t * V[j, a]


@numba.njit(cache=True, parallel=True)
def solve_rows_cg(indptr, indices, values, V, reg, out, n_steps):
    """``n_steps`` CG steps per row on the normal equations, starting from ``out`` (in place)."""
    n_rows = indptr.shape[0] - 1
    k = V.shape[1]
    for i in numba.prange(n_rows):
        x = out[i].copy()
        r = np.zeros(k)
        q = np.zeros(k)
        # r = V_iᵀ m_i − (V_iᵀV_i + reg I) x
        _normal_matvec(indptr, indices, V, reg, i, x, q)
        for a in range(k):
            r[a] = -q[a]
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            m = values[jj]
            for a in range(k):
                r[a] += V[j, a] * m
        p = r.copy()
        rr = 0.0
        for a in range(k):
            rr += r[a] * r[a]
        for _ in range(n_steps):
            if rr == 0.0:
                break
            _normal_matvec(indptr, indices, V, reg, i, p, q)
            rr = _cg_step(x, r, p, q, rr)
            if rr < 0.0:  # pᵀq ≤ 0: breakdown
                break
        for a in range(k):
            out[i, a] = x[a]


@numba.njit(cache=True, parallel=True)
def solve_rows_sketch(indptr, indices, values, V, reg, out, sketch_rows, sketch_signs,
                      sketch_size, n_steps):
    """Sketch-and-precondition ridge solve of every row (warm-started from ``out``).

    ``sketch_rows[jj]``/``sketch_signs[jj]`` give, for observation ``jj``, the CountSketch
    row (in ``[0, sketch_size)``) and sign it is hashed to. For a row with ``n_i`` observations
    the design ``A = [V_i; √reg I]`` is sketched to ``S A`` (``sketch_size + k`` rows: the
    ridge rows are kept exactly), ``S A = Q R``, and CG runs on
    ``R⁻ᵀ(AᵀA)R⁻¹ y = R⁻ᵀAᵀm`` with ``u = R⁻¹ y``. Rows with ``n_i ≤ sketch_size`` are solved
    exactly by Cholesky instead.
    """
    n_rows = indptr.shape[0] - 1
    k = V.shape[1]
    sqrt_reg = np.sqrt(reg)
    for i in numba.prange(n_rows):
        start, stop = indptr[i], indptr[i + 1]
        n_i = stop - start
        if n_i <= sketch_size:
            _solve_row_exact(indptr, indices, values, V, reg, i, out)
            continue
        # sketched design: CountSketch rows of V_i, then the exact ridge rows
        SA = np.zeros((sketch_size + k, k))
        for jj in range(start, stop):
            j = indices[jj]
            row = sketch_rows[jj]
            sgn = sketch_signs[jj]
            for a in range(k):
                SA[row, a] += sgn * V[j, a]
        for a in range(k):
            SA[sketch_size + a, a] = sqrt_reg
        R = np.linalg.qr(SA)[1]
        ok = True
        for a in range(k):
            if R[a, a] == 0.0:
                ok = False
        if not ok:
            for a in range(k):
                out[i, a] = 0.0
            continue
        # CG on the preconditioned normal equations, in y = R u
        u = out[i].copy()
        y = R @ u
        # residual of the normal equations: Aᵀm − AᵀA u, then pulled back by R⁻ᵀ
        g = np.zeros(k)
        for jj in range(start, stop):
            j = indices[jj]
            t = values[jj]
            for a in range(k):
                t -= V[j, a] * u[a]
            for a in range(k):
                g[a] += V[j, a] * t
        for a in range(k):
            g[a] -= reg * u[a]
        rvec = _upper_transpose_solve(R, g, k)
        p = rvec.copy()
        rr = 0.0
        for a in range(k):
            rr += rvec[a] * rvec[a]
        q = np.zeros(k)
        for _ in range(n_steps):
            if rr == 0.0:
                break
            w = _upper_solve(R, p, k)
            for a in range(k):
                q[a] = reg * w[a]
            for jj in range(start, stop):
                j = indices[jj]
                t = 0.0
                for a in range(k):
                    t += V[j, a] * w[a]
                for a in range(k):
                    q[a] += t * V[j, a]
            q2 = _upper_transpose_solve(R, q, k)  # R⁻ᵀ AᵀA R⁻¹ p
            pq = 0.0
            for a in range(k):
                pq += p[a] * q2[a]
            if not pq > 0.0:
                break
            alpha = rr / pq
            rr_new = 0.0
            for a in range(k):
                y[a] += alpha * p[a]
                rvec[a] -= alpha * q2[a]
                rr_new += rvec[a] * rvec[a]
            beta = rr_new / rr
            rr = rr_new
            for a in range(k):
                p[a] = rvec[a] + beta * p[a]
        u = _upper_solve(R, y, k)
        for a in range(k):
            out[i, a] = u[a]


@numba.njit(cache=True, parallel=True)
def observed_residuals(indptr, indices, values, U, V, out):
    """``out[jj] = m_ij − u_iᵀv_j`` for every observation ``jj`` (row-wise CSR order)."""
    n_rows = indptr.shape[0] - 1
    k = U.shape[1]
    for i in numba.prange(n_rows):
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            t = values[jj]
            for a in range(k):
                t -= U[i, a] * V[j, a]
            out[jj] = t
