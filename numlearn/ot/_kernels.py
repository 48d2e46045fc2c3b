"""Numba kernels for entropic optimal transport (log-domain Sinkhorn and SNS).

The plan is never stored during the iterations: every kernel recomputes
``P_ij = exp((f_i + g_j - M_ij) / reg)`` on the fly from the cost ``M`` (row-major) and
the dual potentials ``f``, ``g``, so memory stays at ``M`` plus ``O(n + m)`` vectors (and
the ``n k`` kept entries of the sparsified plan in the Newton phase).

Log-sum-exp without a max pass: the sums are taken relative to the *current*
potentials. After a column (row) update every plan entry is at most 1, so
``s = sum_j exp((f_i + g_j - M_ij) / reg)`` neither overflows nor, usually, underflows,
and ``log s`` is the row's log-sum-exp in one pass and one ``exp`` per entry. Where ``s``
is not a comfortable normal number (all entries underflowed at tiny ``reg``, or
overflowed from a poor starting point), that row or column alone is recomputed with the
classic max-shifted two-pass log-sum-exp, so the result is exact either way.

All kernels are single-threaded (see ``numlearn/linalg/_cg_kernels.py`` for why).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "vexp",
    "row_logsumexp",
    "col_logsumexp",
    "plan_stats_sparse",
    "fill_plan",
    "gibbs_kernel",
    "fill_plan_fast",
    "scale_plan_stats",
    "schur_matvec_g",
    "schur_matvec_f",
    "schur_diag_g",
    "schur_diag_f",
    "sparse_hessian_matvec",
    "csr_matvec",
    "csr_rmatvec",
    "row_topk_select",
    "row_topk_fill",
    "row_topk",
    "launch_row_logsumexp_cuda",
    "launch_col_logsumexp_cuda",
    "launch_row_topk_cuda",
]

# Reassociating sums lets LLVM vectorize the reductions; NaN/infinity semantics are kept
# (the kernels test the sums for finiteness).
_FAST = {"reassoc", "contract"}

# A sum in [_LOW, _HIGH] is a normal number far from under/overflow: its log is exact
# to rounding even if some of its terms underflowed (they are < 1e-308 relative to it).
_LOW = 1e-200
_HIGH = 1e200


# ---- a vectorizable exp -------------------------------------------------------------
# Numba has no SIMD exp here (no SVML), and libm's scalar exp takes a slow path for
# underflowing arguments (x < -708), which is most of the plan at small reg. These helpers
# compute exp over a buffer in three elementwise loops LLVM vectorizes (AVX2): range
# reduction x = k ln2 + r with |r| <= ln2/2 (rounding by the 1.5*2^52 "magic" addition),
# a degree-12 Taylor polynomial (truncation < 2e-16 relative), and 2^k assembled in the
# exponent bits. Arguments are clamped to [-708, 709]: results below exp(-708) ~ 3e-308
# (instead of 0) are harmless in the sums (a sum < 1e-200 triggers the exact fallback) and
# overflow shows up as a sum > 1e200. No fastmath here: reassociation would cancel the
# magic-number rounding.
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split so that k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.9082149292705877e-10
_MAGIC = 6755399441055744.0  # 1.5 * 2^52
_MAGIC_BITS = 0x4338000000000000
_C = np.array([1.0 / math.factorial(i) for i in range(13)])


@numba.njit(cache=True)
def vexp(x, y):
    """``y[:] = exp(x)`` for float64 buffers (``x`` is overwritten); vectorized."""
    m = x.shape[0]
    yi = y.view(np.int64)
    c0, c1, c2, c3, c4, c5, c6 = _C[0], _C[1], _C[2], _C[3], _C[4], _C[5], _C[6]
    c7, c8, c9, c10, c11, c12 = _C[7], _C[8], _C[9], _C[10], _C[11], _C[12]
    for j in range(m):
        v = x[j]
        v = -708.0 if v < -708.0 else v
        v = 709.0 if v > 709.0 else v
        t = v * _LOG2E + _MAGIC
        kf = t - _MAGIC
        r = (v - kf * _LN2_HI) - kf * _LN2_LO
        p = c12
        p = p * r + c11
        p = p * r + c10
        p = p * r + c9
        p = p * r + c8
        p = p * r + c7
        p = p * r + c6
        p = p * r + c5
        p = p * r + c4
        p = p * r + c3
        p = p * r + c2
        p = p * r + c1
        p = p * r + c0
        x[j] = p
        y[j] = t
    for j in range(m):
        yi[j] = (yi[j] - _MAGIC_BITS + 1023) << 52
    for j in range(m):
        y[j] *= x[j]


@numba.njit(cache=True, fastmath=_FAST)
def _sum(y):
    s = 0.0
    for j in range(y.shape[0]):
        s += y[j]
    return s


@numba.njit(cache=True, fastmath=_FAST)
def row_logsumexp(M, f, g, inv_reg, out):
    """``out[i] = log sum_j exp((f[i] + g[j] - M[i, j]) * inv_reg)`` for every row."""
    n, m = M.shape
    x = np.empty(m)
    y = np.empty(m)
    for i in range(n):
        fi = f[i]
        for j in range(m):
            x[j] = (fi + g[j] - M[i, j]) * inv_reg
        vexp(x, y)
        s = _sum(y)
        if s >= _LOW and s <= _HIGH:
            out[i] = np.log(s)
        else:
            out[i] = _row_lse_exact(M, f, g, inv_reg, i)


@numba.njit(cache=True)
def _row_lse_exact(M, f, g, inv_reg, i):
    m = M.shape[1]
    fi = f[i]
    mx = -np.inf
    for j in range(m):
        v = (fi + g[j] - M[i, j]) * inv_reg
        if v > mx:
            mx = v
    if not np.isfinite(mx):
        return mx
    s = 0.0
    for j in range(m):
        s += np.exp((fi + g[j] - M[i, j]) * inv_reg - mx)
    return mx + np.log(s)


@numba.njit(cache=True, fastmath=_FAST)
def col_logsumexp(M, f, g, inv_reg, work, out):
    """``out[j] = log sum_i exp((f[i] + g[j] - M[i, j]) * inv_reg)`` for every column.

    ``work`` is a float64 scratch vector of length ``m``. ``M`` is read row by row.
    """
    n, m = M.shape
    x = np.empty(m)
    y = np.empty(m)
    for j in range(m):
        work[j] = 0.0
    for i in range(n):
        fi = f[i]
        for j in range(m):
            x[j] = (fi + g[j] - M[i, j]) * inv_reg
        vexp(x, y)
        for j in range(m):
            work[j] += y[j]
    for j in range(m):
        s = work[j]
        if s >= _LOW and s <= _HIGH:
            out[j] = np.log(s)
        else:
            out[j] = _col_lse_exact(M, f, g, inv_reg, j)


@numba.njit(cache=True)
def _col_lse_exact(M, f, g, inv_reg, j):
    n = M.shape[0]
    gj = g[j]
    mx = -np.inf
    for i in range(n):
        v = (f[i] + gj - M[i, j]) * inv_reg
        if v > mx:
            mx = v
    if not np.isfinite(mx):
        return mx
    s = 0.0
    for i in range(n):
        s += np.exp((f[i] + gj - M[i, j]) * inv_reg - mx)
    return mx + np.log(s)


@numba.njit(cache=True)
def plan_stats_sparse(M, f, g, inv_reg, threshold, cap, r, c, indptr, indices, data):
    """Marginals of the plan and its sparsification, in one pass over ``M``.

    Fills the row sums ``r`` and column sums ``c`` of ``P = exp((f ⊕ g - M) * inv_reg)``
    and the CSR arrays of ``S``: the entries of each row that are at least
    ``threshold * max(row)``, at most ``cap`` of them per row (the ``cap`` largest when
    more pass: a top-k selection by ``np.partition``, entries equal to the ``cap``-th largest
going to the lowest column indices; :func:`row_topk_select` / :func:`row_topk_fill` apply
the same rule to a stored matrix). One ``exp`` per entry.

    Returns ``(total, nnz)``: the plan's total mass and the number of kept entries, or
    ``-needed`` if ``indices``/``data`` were too short (``r``, ``c`` and ``total`` are
    still exact; the caller enlarges the buffers to ``needed`` and calls again).
    """
    n, m = M.shape
    capacity = indices.shape[0]
    for j in range(m):
        c[j] = 0.0
    total = 0.0
    x = np.empty(m)
    y = np.empty(m)
    ibuf = np.empty(m, dtype=np.int64)
    nnz = 0
    overflow = False
    indptr[0] = 0
    for i in range(n):
        fi = f[i]
        for j in range(m):
            x[j] = (fi + g[j] - M[i, j]) * inv_reg
        vexp(x, y)
        s, ymax = _sum_max_accumulate(y, c)
        r[i] = s
        total += s
        thr = threshold * ymax
        kept = 0
        for j in range(m):  # branch-free compaction into the row's scratch buffers
            ibuf[kept] = j
            kept += y[j] >= thr
        if overflow or nnz + min(kept, cap) > capacity:
            overflow = True
            nnz += min(kept, cap)  # keep counting: the caller learns the size needed
            continue
        if kept <= cap:
            for t in range(kept):
                j = ibuf[t]
                indices[nnz + t] = j
                data[nnz + t] = y[j]
            nnz += kept
        else:  # keep the cap largest (top-k selection; ties to the lowest columns)
            thr = np.partition(y, m - cap)[m - cap]
            ties = cap
            for j in range(m):
                ties -= y[j] > thr
            for j in range(m):
                v = y[j]
                if v > thr or (v == thr and ties > 0):
                    ties -= v == thr
                    indices[nnz] = j
                    data[nnz] = v
                    nnz += 1
        indptr[i + 1] = nnz
    return total, (-nnz if overflow else nnz)


@numba.njit(cache=True, fastmath=_FAST)
def _sum_max_accumulate(y, c):
    """Return ``sum(y), max(y)`` and add ``y`` to ``c``, in one vectorized loop."""
    s = 0.0
    mx = -np.inf
    for j in range(y.shape[0]):
        v = y[j]
        s += v
        mx = max(mx, v)
        c[j] += v
    return s, mx


@numba.njit(cache=True)
def gibbs_kernel(M, shift, inv_reg, out):
    """``out[i, j] = exp((shift - M[i, j]) * inv_reg)`` (float64 ``out``), row by row on
    the vectorized :func:`vexp` (several times faster than ``np.exp``); ``M`` may be float32
    or float64. Arguments below -708 give ``exp(-708)``, not a subnormal (callers keep
    ``(max(M) - shift) * inv_reg`` well below 708)."""
    n, m = M.shape
    x = np.empty(m)
    for i in range(n):
        for j in range(m):
            x[j] = (shift - M[i, j]) * inv_reg
        vexp(x, out[i])
    return out


@numba.njit(cache=True)
def fill_plan_fast(M, f, g, inv_reg, P):
    """:func:`fill_plan` on the vectorized :func:`vexp` (float64 ``P``): entries below
    ``exp(-708)`` come out as ``exp(-708)`` (a few 1e-308) instead of 0 or a subnormal."""
    n, m = M.shape
    x = np.empty(m)
    for i in range(n):
        fi = f[i]
        for j in range(m):
            x[j] = (fi + g[j] - M[i, j]) * inv_reg
        vexp(x, P[i])
    return P


@numba.njit(cache=True, fastmath=_FAST)
def scale_plan_stats(P, u, v, M, r, c):
    """In one pass: ``P[i, j] *= u[i] v[j]`` (the kernel becomes the plan), its row sums
    in ``r``, column sums in ``c`` and ``⟨M, P⟩`` returned."""
    n, m = P.shape
    for j in range(m):
        c[j] = 0.0
    cost = 0.0
    for i in range(n):
        ui = u[i]
        s = 0.0
        t = 0.0
        for j in range(m):
            p = ui * P[i, j] * v[j]
            P[i, j] = p
            s += p
            c[j] += p
            t += p * M[i, j]
        r[i] = s
        cost += t
    return cost


@numba.njit(cache=True)
def fill_plan(M, f, g, inv_reg, P):
    """``P[i, j] = exp((f[i] + g[j] - M[i, j]) * inv_reg)``."""
    n, m = M.shape
    for i in range(n):
        fi = f[i]
        for j in range(m):
            P[i, j] = np.exp((fi + g[j] - M[i, j]) * inv_reg)


@numba.njit(cache=True)
def schur_matvec_g(indptr, indices, data, rinv, cdiag, v, out):
    """``out = diag(cdiag) v - Sᵀ diag(rinv) S v`` for the CSR matrix ``S`` (n x m).

    The gather ``(S v)_i`` and the scatter of row ``i`` happen in the same loop: one pass
    over the kept entries.
    """
    n = indptr.shape[0] - 1
    for j in range(v.shape[0]):
        out[j] = cdiag[j] * v[j]
    for i in range(n):
        start, stop = indptr[i], indptr[i + 1]
        acc = 0.0
        for t in range(start, stop):
            acc += data[t] * v[np.uintp(indices[t])]
        acc *= rinv[i]
        for t in range(start, stop):
            out[np.uintp(indices[t])] -= data[t] * acc
    return out


@numba.njit(cache=True)
def schur_matvec_f(indptr, indices, data, cinv, rdiag, u, work, out):
    """``out = diag(rdiag) u - S diag(cinv) Sᵀ u``; ``work`` is scratch of length ``m``."""
    n = indptr.shape[0] - 1
    for j in range(work.shape[0]):
        work[j] = 0.0
    for i in range(n):
        ui = u[i]
        for t in range(indptr[i], indptr[i + 1]):
            work[np.uintp(indices[t])] += data[t] * ui
    for j in range(work.shape[0]):
        work[j] *= cinv[j]
    for i in range(n):
        acc = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            acc += data[t] * work[np.uintp(indices[t])]
        out[i] = rdiag[i] * u[i] - acc
    return out


@numba.njit(cache=True)
def schur_diag_g(indptr, indices, data, rinv, cdiag, out):
    """Diagonal of ``diag(cdiag) - Sᵀ diag(rinv) S`` (for a Jacobi preconditioner)."""
    n = indptr.shape[0] - 1
    for j in range(out.shape[0]):
        out[j] = cdiag[j]
    for i in range(n):
        for t in range(indptr[i], indptr[i + 1]):
            out[np.uintp(indices[t])] -= data[t] * data[t] * rinv[i]
    return out


@numba.njit(cache=True)
def schur_diag_f(indptr, indices, data, cinv, rdiag, out):
    """Diagonal of ``diag(rdiag) - S diag(cinv) Sᵀ``."""
    n = indptr.shape[0] - 1
    for i in range(n):
        acc = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            acc += data[t] * data[t] * cinv[np.uintp(indices[t])]
        out[i] = rdiag[i] - acc
    return out


@numba.njit(cache=True)
def sparse_hessian_matvec(indptr, indices, data, rdiag, cdiag, x, y, out_x, out_y):
    """``[out_x; out_y] = [[diag(rdiag), S], [Sᵀ, diag(cdiag)]] [x; y]`` (one pass over S)."""
    n = indptr.shape[0] - 1
    for j in range(y.shape[0]):
        out_y[j] = cdiag[j] * y[j]
    for i in range(n):
        acc = rdiag[i] * x[i]
        xi = x[i]
        for t in range(indptr[i], indptr[i + 1]):
            j = np.uintp(indices[t])
            acc += data[t] * y[j]
            out_y[j] += data[t] * xi
        out_x[i] = acc


@numba.njit(cache=True)
def csr_matvec(indptr, indices, data, v, out):
    """``out = S v`` for the CSR matrix ``S``."""
    for i in range(indptr.shape[0] - 1):
        acc = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            acc += data[t] * v[np.uintp(indices[t])]
        out[i] = acc
    return out


@numba.njit(cache=True)
def csr_rmatvec(indptr, indices, data, u, out):
    """``out = Sᵀ u`` for the CSR matrix ``S`` (``out`` of length m, overwritten)."""
    for j in range(out.shape[0]):
        out[j] = 0.0
    for i in range(indptr.shape[0] - 1):
        ui = u[i]
        for t in range(indptr[i], indptr[i + 1]):
            out[np.uintp(indices[t])] += data[t] * ui
    return out


# ---- per-row top-k sparsification of a stored matrix (CPU twins of the CUDA kernels) ---
@numba.njit(cache=True)
def row_topk_select(Y, threshold, cap, tval, nties, counts):
    """Per row of the non-negative ``Y``: the sparsifier's cut-off and counts.

    The rule of :func:`plan_stats_sparse`: keep the entries ``>= threshold * max(row)``;
    when more than ``cap`` pass, keep the ``cap`` largest instead, entries equal to the
    ``cap``-th largest going to the lowest column indices. Fills ``tval[i]`` (keep entries
    ``> tval[i]``), ``nties[i]`` (and the first ``nties[i]`` entries ``== tval[i]``) and
    ``counts[i]`` (the number kept).
    """
    n, m = Y.shape
    for i in range(n):
        y = Y[i]
        ymax = -np.inf
        for j in range(m):
            ymax = max(ymax, y[j])
        thr = threshold * ymax
        kept = 0
        for j in range(m):
            kept += y[j] >= thr
        if kept <= cap:
            tval[i] = thr
            nties[i] = m
            counts[i] = kept
        else:
            t = np.partition(y, m - cap)[m - cap]
            gt = 0
            for j in range(m):
                gt += y[j] > t
            tval[i] = t
            nties[i] = cap - gt
            counts[i] = cap


@numba.njit(cache=True)
def row_topk_fill(Y, tval, nties, indptr, indices, data):
    """Write the entries kept by :func:`row_topk_select` as CSR (column order per row)."""
    n, m = Y.shape
    for i in range(n):
        t = tval[i]
        ties = nties[i]
        q = indptr[i]
        for j in range(m):
            v = Y[i, j]
            if v > t or (v == t and ties > 0):
                if v == t:
                    ties -= 1
                indices[q] = j
                data[q] = v
                q += 1


def row_topk(Y, threshold, cap):
    """CSR arrays ``(indptr, indices, data)`` of the per-row top-k sparsification of the
    non-negative matrix ``Y`` (NumPy, C-ordered): see :func:`row_topk_select`."""
    n = Y.shape[0]
    tval, nties, counts = np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64)
    row_topk_select(Y, float(threshold), int(cap), tval, nties, counts)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1], dtype=Y.dtype)
    row_topk_fill(Y, tval, nties, indptr, indices, data)
    return indptr, indices, data


# ---- launch helpers of the Numba-CUDA twins (numlearn.ot._cuda_kernels) -------------
# Arrays may be CuPy arrays (they stay on the GPU) or, under the CUDA simulator, NumPy
# arrays. The CUDA module is imported on first use, so importing numlearn never touches
# CUDA. Scratch and output arrays are made in the namespace of the inputs.
def _check_tpb(threads_per_block):
    from numlearn.ot._cuda_kernels import MAX_THREADS

    t = int(threads_per_block)
    if t < 1 or t > MAX_THREADS or t & (t - 1):
        raise ValueError(
            f"threads_per_block must be a power of two <= {MAX_THREADS}, got {threads_per_block}."
        )
    return t


def _blocks_for_rows(n):
    return max(1, min(n, 65535))


def launch_row_logsumexp_cuda(M, f, g, inv_reg, out, *, threads_per_block: int = 128):
    """CUDA twin of :func:`row_logsumexp` (one block per row, shared-memory reduction)."""
    from numlearn.ot._cuda_kernels import row_lse_kernel

    tpb = _check_tpb(threads_per_block)
    row_lse_kernel[_blocks_for_rows(M.shape[0]), tpb](M, f, g, float(inv_reg), out)
    return out


def launch_col_logsumexp_cuda(M, f, g, inv_reg, out, *, threads_per_block: int = 128,
                              rows_per_chunk: int = 64):
    """CUDA twin of :func:`col_logsumexp` (a thread per column and chunk of rows, then a
    combine pass over the chunks)."""
    from numlearn._backend import get_namespace
    from numlearn.ot._cuda_kernels import col_lse_combine_kernel, col_lse_partial_kernel

    tpb = _check_tpb(threads_per_block)
    xp = get_namespace(out)
    n, m = M.shape
    rows_per_chunk = max(1, int(rows_per_chunk), -(-n // 65535))  # grid.y <= 65535
    chunks = -(-n // rows_per_chunk)
    pmax = xp.empty((chunks, m), dtype=xp.float64)
    psum = xp.empty((chunks, m), dtype=xp.float64)
    col_blocks = -(-m // tpb)
    col_lse_partial_kernel[(col_blocks, chunks), (tpb, 1)](M, f, g, float(inv_reg),
                                                           rows_per_chunk, pmax, psum)
    col_lse_combine_kernel[col_blocks, tpb](pmax, psum, out)
    return out


def launch_row_topk_cuda(Y, threshold, cap, *, threads_per_block: int = 128):
    """CUDA twin of :func:`row_topk`: ``(indptr, indices, data)`` in ``Y``'s namespace.

    ``Y`` must be C-ordered, non-negative, float32 or float64.
    """
    from numlearn._backend import get_namespace
    from numlearn.ot._cuda_kernels import topk_fill_kernel, topk_select_kernel

    tpb = _check_tpb(threads_per_block)
    xp = get_namespace(Y)
    n, m = Y.shape
    wide = Y.dtype == xp.float64
    keys = Y.view(np.int64 if wide else np.int32)  # same bits; order of non-negative floats
    tval = xp.empty((n,), dtype=xp.float64)
    nties = xp.empty((n,), dtype=xp.int64)
    counts = xp.empty((n,), dtype=xp.int64)
    blocks = _blocks_for_rows(n)
    topk_select_kernel[blocks, tpb](Y, keys, float(threshold), int(cap), 8 if wide else 4,
                                    tval, nties, counts)
    indptr = xp.concat((xp.zeros((1,), dtype=xp.int64), xp.cumulative_sum(counts)))
    nnz = int(indptr[-1])
    indices = xp.empty((nnz,), dtype=xp.int64)
    data = xp.empty((nnz,), dtype=Y.dtype)
    if nnz:
        topk_fill_kernel[blocks, tpb](Y, tval, nties, indptr, indices, data)
    return indptr, indices, data
