"""Numba kernels behind the sketch operators and sketch-and-project, CPU and CUDA twins.

Kernels are small pure functions over arrays and scalars; each is tested against a plain
NumPy/SciPy reference. The sparse sketches (CountSketch, sparse sign) are stored column by
column: column ``j`` of ``S`` has nonzeros ``vals[j, t]`` at rows ``row_idx[j, t]``,
``t < s``, so that ``S @ A`` adds ``vals[j, t] * A[j, :]`` into row ``row_idx[j, t]``.

The CUDA twin of :func:`sparse_sketch_apply` lives in ``_cuda_kernels.py`` with the other
CUDA kernels and is imported by :func:`launch_sparse_sketch_apply_cuda` on first use:
importing numlearn never touches CUDA.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "fwht_inplace",
    "distinct_rows_floyd",
    "sparse_sketch_apply",
    "sparse_sketch_apply_csr",
    "launch_sparse_sketch_apply_cuda",
    "fill_distinct_blocks",
    "kaczmarz_epoch_dense",
    "kaczmarz_epoch_csr",
    "psd_solve",
    "block_kaczmarz_epoch_dense",
    "block_kaczmarz_epoch_csr",
]


# --------------------------------------------------------------------------------------
# Fast Walsh–Hadamard transform
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def fwht_inplace(a):
    """Unnormalized Walsh–Hadamard transform of the rows' axis: ``a[:] = H @ a``.

    ``a`` has shape ``(N, k)`` with ``N`` a power of two (Sylvester ordering, the same
    ``H`` as :func:`scipy.linalg.hadamard`); ``O(N k log N)`` operations, in place.
    """
    n, k = a.shape
    h = 1
    while h < n:
        for start in range(0, n, 2 * h):
            for i in range(start, start + h):
                for c in range(k):
                    u = a[i, c]
                    v = a[i + h, c]
                    a[i, c] = u + v
                    a[i + h, c] = u - v
        h *= 2
    return a


# --------------------------------------------------------------------------------------
# Sparse sketches: drawing and applying
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def distinct_rows_floyd(draws, n):
    """Turn integer draws into sorted ``s``-subsets of ``range(n)`` by Floyd's algorithm.

    ``draws`` has shape ``(n_cols, s)`` with ``draws[:, t]`` uniform on
    ``{0, ..., n - s + t}``; row ``j`` of the result is then a uniformly random subset of
    ``s`` distinct integers in ``[0, n)``, sorted increasingly.
    """
    n_cols, s = draws.shape
    out = np.empty((n_cols, s), dtype=np.int64)
    for j in range(n_cols):
        for t in range(s):
            top = n - s + t
            r = draws[j, t]
            for q in range(t):
                if out[j, q] == r:
                    r = top
                    break
            out[j, t] = r
        # insertion sort: s is small
        for t in range(1, s):
            key = out[j, t]
            q = t - 1
            while q >= 0 and out[j, q] > key:
                out[j, q + 1] = out[j, q]
                q -= 1
            out[j, q + 1] = key
    return out


@numba.njit(cache=True)
def sparse_sketch_apply(row_idx, vals, A, out):
    """``out += S @ A`` for the column-stored sparse sketch ``S`` and a dense ``A``.

    Loops over the columns ``j`` of ``S`` (the rows of ``A``, read once, in order):
    ``out[row_idx[j, t], :] += vals[j, t] * A[j, :]``. ``A`` (``n_cols × k``) and ``out``
    (``n_rows × k``) are C-ordered float64 arrays.

    Serial on purpose: the loop is memory bound, and thread-private ``out`` buffers (or
    a split over the columns of ``A``) measured several times slower on a loaded 2-core
    machine than this loop, which matches or beats SciPy's CSC × dense product.
    """
    n_cols, k = A.shape
    s = row_idx.shape[1]
    for j in range(n_cols):
        for t in range(s):
            r = row_idx[j, t]
            v = vals[j, t]
            for c in range(k):
                out[r, c] += v * A[j, c]
    return out


@numba.njit(cache=True)
def sparse_sketch_apply_csr(row_idx, vals, indptr, indices, data, out):
    """``out += S @ A`` for the column-stored sparse sketch ``S`` and a CSR ``A``.

    ``out`` is a dense C-ordered ``n_rows × n`` float64 array: for the short, wide
    sketches of sketch-and-project each row of ``S @ A`` sums many rows of ``A`` and is
    nearly dense anyway. ``O(s · nnz(A))`` operations.
    """
    s = row_idx.shape[1]
    for j in range(indptr.shape[0] - 1):
        for kk in range(indptr[j], indptr[j + 1]):
            c = indices[kk]
            a = data[kk]
            for t in range(s):
                out[row_idx[j, t], c] += vals[j, t] * a
    return out


def sparse_sketch_apply_reference(row_idx, vals, A, n_rows):
    """Plain NumPy reference for tests: ``S @ A`` from the column-stored sketch."""
    s = row_idx.shape[1]
    out = np.zeros((n_rows, A.shape[1]))
    np.add.at(out, row_idx.ravel(), vals.ravel()[:, None] * np.repeat(A, s, axis=0))
    return out


# --------------------------------------------------------------------------------------
# CUDA twin of sparse_sketch_apply (compiled on first use)
# --------------------------------------------------------------------------------------
def launch_sparse_sketch_apply_cuda(row_idx, vals, A, out, *, threads_per_block: int = 256):
    """Run the Numba-CUDA twin of :func:`sparse_sketch_apply`: ``out += S @ A``.

    One thread per entry ``(j, c)`` of ``A`` adds ``vals[j, t] * A[j, c]`` into
    ``out[row_idx[j, t], c]`` with ``cuda.atomic.add``.

    Arrays may be host arrays, Numba device arrays or CuPy arrays (anything with
    ``__cuda_array_interface__``); ``A`` and ``out`` should be C-ordered 2-D arrays.
    """
    n_entries = A.shape[0] * A.shape[1]
    blocks = max(1, (n_entries + threads_per_block - 1) // threads_per_block)
    from numlearn.linalg._cuda_kernels import sparse_sketch_apply_kernel

    sparse_sketch_apply_kernel[blocks, threads_per_block](row_idx, vals, A, out)
    return out


# --------------------------------------------------------------------------------------
# Sketch-and-project with row sampling
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def fill_distinct_blocks(candidates, out, block, pos):
    """Fill ``out`` (``n_blocks × τ``) row by row with candidates, skipping repeats.

    Starts at ``out[block, pos]`` and consumes ``candidates`` in order; a candidate already
    in the current row is dropped. With i.i.d. candidates this is successive sampling
    without replacement within each row. Returns the position ``(block, pos)`` reached.
    """
    n_blocks, tau = out.shape
    for k in range(candidates.shape[0]):
        if block >= n_blocks:
            break
        c = candidates[k]
        repeated = False
        for q in range(pos):
            if out[block, q] == c:
                repeated = True
                break
        if not repeated:
            out[block, pos] = c
            pos += 1
            if pos == tau:
                block += 1
                pos = 0
    return block, pos


@numba.njit(cache=True)
def kaczmarz_epoch_dense(A, b, row_norms2, rows, x):
    """Randomized Kaczmarz steps on dense ``A`` for ``i`` in ``rows``, in place on ``x``.

    ``x += (b_i - a_i^T x) / ||a_i||^2 a_i``; zero rows are skipped.
    """
    n = A.shape[1]
    for i in rows:
        nrm = row_norms2[i]
        if nrm > 0.0:
            dot = 0.0
            for c in range(n):
                dot += A[i, c] * x[c]
            coef = (b[i] - dot) / nrm
            for c in range(n):
                x[c] += coef * A[i, c]
    return x


@numba.njit(cache=True)
def kaczmarz_epoch_csr(indptr, indices, data, b, row_norms2, rows, x):
    """Randomized Kaczmarz steps on CSR ``A`` for ``i`` in ``rows``, in place on ``x``."""
    for i in rows:
        nrm = row_norms2[i]
        if nrm > 0.0:
            dot = 0.0
            for kk in range(indptr[i], indptr[i + 1]):
                dot += data[kk] * x[indices[kk]]
            coef = (b[i] - dot) / nrm
            for kk in range(indptr[i], indptr[i + 1]):
                x[indices[kk]] += coef * data[kk]
    return x


@numba.njit(cache=True)
def psd_solve(M, z, rcond_factor):
    """``M⁺ z`` for a small symmetric positive semi-definite ``M`` (``τ × τ``).

    Eigenvalues at or below ``rcond_factor · τ · eps · λ_max`` are rounding noise of a Gram
    matrix and are dropped (their directions get no update).
    """
    tau = M.shape[0]
    y = np.zeros(tau)
    if tau == 1:
        if M[0, 0] > 0.0:
            y[0] = z[0] / M[0, 0]
        return y
    w, V = np.linalg.eigh(M)
    cutoff = rcond_factor * tau * np.finfo(np.float64).eps * max(w[tau - 1], 0.0)
    for q in range(tau):
        if w[q] > cutoff:
            coef = 0.0
            for a in range(tau):
                coef += V[a, q] * z[a]
            coef /= w[q]
            for a in range(tau):
                y[a] += coef * V[a, q]
    return y


@numba.njit(cache=True)
def block_kaczmarz_epoch_dense(A, b, blocks, x, rcond_factor):
    """Block Kaczmarz steps on dense ``A``, one per row of ``blocks``, in place on ``x``.

    For each block ``I``: ``x -= A_Iᵀ (A_I A_Iᵀ)⁺ (A_I x − b_I)``.
    """
    n_blocks, tau = blocks.shape
    n = A.shape[1]
    M = np.empty((tau, tau))
    z = np.empty(tau)
    for k in range(n_blocks):
        for a in range(tau):
            i = blocks[k, a]
            acc = 0.0
            for c in range(n):
                acc += A[i, c] * x[c]
            z[a] = acc - b[i]
            for q in range(a + 1):
                j = blocks[k, q]
                acc = 0.0
                for c in range(n):
                    acc += A[i, c] * A[j, c]
                M[a, q] = acc
                M[q, a] = acc
        y = psd_solve(M, z, rcond_factor)
        for a in range(tau):
            i = blocks[k, a]
            ya = y[a]
            for c in range(n):
                x[c] -= ya * A[i, c]
    return x


@numba.njit(cache=True)
def block_kaczmarz_epoch_csr(indptr, indices, data, b, blocks, x, rcond_factor):
    """Block Kaczmarz steps on CSR ``A`` (canonical: no duplicate entries), in place on ``x``.

    The Gram matrix of a block is formed by scattering each row into a dense workspace
    and reading the other rows against it: ``O(τ · nnz(A_I))`` per block.
    """
    n_blocks, tau = blocks.shape
    work = np.zeros(x.shape[0])
    M = np.empty((tau, tau))
    z = np.empty(tau)
    for k in range(n_blocks):
        for a in range(tau):
            i = blocks[k, a]
            acc = 0.0
            for kk in range(indptr[i], indptr[i + 1]):
                acc += data[kk] * x[indices[kk]]
                work[indices[kk]] = data[kk]
            z[a] = acc - b[i]
            for q in range(a + 1):
                j = blocks[k, q]
                acc = 0.0
                for kk in range(indptr[j], indptr[j + 1]):
                    acc += data[kk] * work[indices[kk]]
                M[a, q] = acc
                M[q, a] = acc
            for kk in range(indptr[i], indptr[i + 1]):
                work[indices[kk]] = 0.0
        y = psd_solve(M, z, rcond_factor)
        for a in range(tau):
            i = blocks[k, a]
            ya = y[a]
            for kk in range(indptr[i], indptr[i + 1]):
                x[indices[kk]] -= ya * data[kk]
    return x
