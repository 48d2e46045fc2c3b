"""Numba-CUDA twins of the AltMin row kernels of :mod:`numlearn.completion._altmin_kernels`.

This module imports ``numba.cuda`` at the top, so it is imported only by the launch helpers
of :mod:`numlearn.completion._cuda_engine`, on first use: importing numlearn never touches
CUDA. Kernels are defined at module level (the CUDA simulator swaps the ``cuda`` global of
a kernel's module; a kernel defined inside a function would see the real module).

The observations of one side are CSR arrays ``(indptr, indices, values)`` (columns
ascending within a row, as on the CPU). A half-step of the exact solver is two launches:

* :func:`normal_equations_kernel` — one *block* per row (grid-stride over the rows): the
  block's threads share out the ``k² + k`` entries of the row's normal equations
  ``G_i = V_iᵀV_i + reg I`` and ``r_i = V_iᵀ m_i``; each thread sums its entry over the row's
  observations in the CPU twin's order (so the float64 results agree with it to rounding:
  only fused multiply-adds differ on a real GPU). Accumulation is in float64 for float32
  factors too.
* :func:`cholesky_solve_kernel` — one *thread* per row: the k × k Cholesky factorization
  and the two triangular solves in a thread-local float64 array holding the packed lower
  triangle (``MAX_RANK (MAX_RANK + 1) / 2`` entries, ``MAX_RANK = 32``, a compile-time
  size: 4.2 kB of local memory per thread), as
  :func:`_altmin_kernels._cholesky_solve_inplace`;
  a row whose Gram matrix is not numerically positive definite is set to zero and flagged.

The fast approximate update (``solver="cg"``) is :func:`cg_rows_kernel`, one thread per row
running the CPU twin's warm-started CG steps matrix-free; :func:`residuals_kernel` gives the
training residuals.
"""

import math

from numba import cuda, float64

__all__ = [
    "MAX_RANK",
    "normal_equations_kernel",
    "cholesky_solve_kernel",
    "cg_rows_kernel",
    "residuals_kernel",
]

MAX_RANK = 32  # compile-time bound of the thread-local k × k arrays


@cuda.jit
def normal_equations_kernel(indptr, indices, values, V, reg, G, r):
    """``G[i] = V_iᵀV_i + reg I`` and ``r[i] = V_iᵀ m_i`` for every row ``i``.

    One block per row (grid-stride); thread ``t`` of the block computes the entries
    ``e = t, t + blockDim, ...`` of the flattened ``(G_i, r_i)`` (``e < k²``: ``G_i[e // k,
    e % k]``; else ``r_i[e - k²]``), both triangles of ``G_i`` (exactly symmetric).
    """
    k = V.shape[1]
    kk = k * k
    n_rows = indptr.shape[0] - 1
    for i in range(cuda.blockIdx.x, n_rows, cuda.gridDim.x):
        start = indptr[i]
        stop = indptr[i + 1]
        for e in range(cuda.threadIdx.x, kk + k, cuda.blockDim.x):
            acc = float64(0.0)
            if e < kk:
                a = e // k
                b = e - a * k
                for jj in range(start, stop):
                    j = indices[jj]
                    acc += float64(V[j, a]) * float64(V[j, b])
                if a == b:
                    acc += reg
                G[i, a, b] = acc
            else:
                a = e - kk
                for jj in range(start, stop):
                    acc += float64(V[indices[jj], a]) * float64(values[jj])
                r[i, a] = acc


@cuda.jit
def cholesky_solve_kernel(G, r, out, failed):
    """``out[i] = G[i]⁻¹ r[i]`` by Cholesky for every row (one thread per row);
    ``failed[i] = 1`` and ``out[i] = 0`` where ``G[i]`` is not numerically positive
    definite. Only the lower triangle of ``G[i]`` is read; ``k ≤ MAX_RANK``."""
    i = cuda.grid(1)
    if i >= G.shape[0]:
        return
    k = G.shape[1]
    # packed lower triangle: L[a, b] (b <= a) at a (a + 1) / 2 + b
    L = cuda.local.array(MAX_RANK * (MAX_RANK + 1) // 2, float64)
    x = cuda.local.array(MAX_RANK, float64)
    for a in range(k):
        x[a] = r[i, a]
        row = a * (a + 1) // 2
        for b in range(a + 1):
            L[row + b] = G[i, a, b]
    ok = True
    for j in range(k):
        rj = j * (j + 1) // 2
        s = L[rj + j]
        for p in range(j):
            s -= L[rj + p] * L[rj + p]
        if not s > 0.0:
            ok = False
            break
        d = math.sqrt(s)
        L[rj + j] = d
        for a in range(j + 1, k):
            ra = a * (a + 1) // 2
            t = L[ra + j]
            for p in range(j):
                t -= L[ra + p] * L[rj + p]
            L[ra + j] = t / d
    if ok:
        for a in range(k):  # forward: L y = r
            ra = a * (a + 1) // 2
            t = x[a]
            for p in range(a):
                t -= L[ra + p] * x[p]
            x[a] = t / L[ra + a]
        for a in range(k - 1, -1, -1):  # backward: Lᵀ x = y
            t = x[a]
            for p in range(a + 1, k):
                t -= L[p * (p + 1) // 2 + a] * x[p]
            x[a] = t / L[a * (a + 1) // 2 + a]
        for a in range(k):
            out[i, a] = x[a]
        failed[i] = 0
    else:
        for a in range(k):
            out[i, a] = 0.0
        failed[i] = 1


@cuda.jit(device=True)
def _normal_matvec(indptr, indices, V, reg, i, k, p, q):
    """``q = (V_iᵀV_i + reg I) p`` without forming the Gram matrix (device function)."""
    for a in range(k):
        q[a] = reg * p[a]
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        t = float64(0.0)
        for a in range(k):
            t += V[j, a] * p[a]
        for a in range(k):
            q[a] += t * V[j, a]


@cuda.jit
def cg_rows_kernel(indptr, indices, values, V, reg, out, n_steps):
    """``n_steps`` CG steps per row on its normal equations, warm-started from ``out[i]``
    (in place); one thread per row, the CPU twin :func:`_altmin_kernels.solve_rows_cg`."""
    i = cuda.grid(1)
    if i >= out.shape[0]:
        return
    k = V.shape[1]
    x = cuda.local.array(MAX_RANK, float64)
    r = cuda.local.array(MAX_RANK, float64)
    p = cuda.local.array(MAX_RANK, float64)
    q = cuda.local.array(MAX_RANK, float64)
    for a in range(k):
        x[a] = out[i, a]
    _normal_matvec(indptr, indices, V, reg, i, k, x, q)
    for a in range(k):
        r[a] = -q[a]
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        m = values[jj]
        for a in range(k):
            r[a] += V[j, a] * m
    rr = float64(0.0)
    for a in range(k):
        p[a] = r[a]
        rr += r[a] * r[a]
    for _ in range(n_steps):
        if rr == 0.0:
            break
        _normal_matvec(indptr, indices, V, reg, i, k, p, q)
        pq = float64(0.0)
        for a in range(k):
            pq += p[a] * q[a]
        if not pq > 0.0:
            break
        alpha = rr / pq
        rr_new = float64(0.0)
        for a in range(k):
            x[a] += alpha * p[a]
            r[a] -= alpha * q[a]
            rr_new += r[a] * r[a]
        beta = rr_new / rr
        rr = rr_new
        for a in range(k):
            p[a] = r[a] + beta * p[a]
    for a in range(k):
        out[i, a] = x[a]


@cuda.jit
def residuals_kernel(indptr, indices, values, U, V, out):
    """``out[jj] = m_ij − u_iᵀv_j`` for every observation (one thread per row)."""
    i = cuda.grid(1)
    if i >= indptr.shape[0] - 1:
        return
    k = U.shape[1]
    for jj in range(indptr[i], indptr[i + 1]):
        j = indices[jj]
        t = float64(values[jj])
        for a in range(k):
            t -= float64(U[i, a]) * float64(V[j, a])
        out[jj] = t
