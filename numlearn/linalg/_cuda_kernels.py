"""Numba-CUDA twins of numlearn.linalg's CPU kernels.

This module imports ``numba.cuda`` at the top, so it is imported only by the launch
helpers, on first use: importing numlearn never touches CUDA. Kernels are defined at
module level (the CUDA simulator swaps the ``cuda`` global of a kernel's module; a
kernel defined inside a function would see the real module in its closure).
"""

from numba import cuda

__all__ = ["csr_matvec_kernel", "cg_update_kernel", "sparse_sketch_apply_kernel"]


@cuda.jit
def csr_matvec_kernel(indptr, indices, data, x, out):
    """``out = A @ x`` for CSR ``A``; one thread per row."""
    i = cuda.grid(1)
    if i < out.shape[0]:
        acc = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            acc += data[jj] * x[indices[jj]]
        out[i] = acc


@cuda.jit
def cg_update_kernel(x, r, p, q, alpha, rr):
    """``x += αp``, ``r -= αq`` and ``rr[0] += Σ r_i²`` (``rr`` zeroed by the caller)."""
    i = cuda.grid(1)
    if i < x.shape[0]:
        x[i] += alpha * p[i]
        ri = r[i] - alpha * q[i]
        r[i] = ri
        cuda.atomic.add(rr, 0, ri * ri)


@cuda.jit
def sparse_sketch_apply_kernel(row_idx, vals, A, out):
    """``out += S @ A`` for a sparse sketch stored column by column (see _sketch_kernels).

    One thread per entry ``(j, c)`` of a C-ordered ``A``: consecutive threads read
    consecutive entries of ``A`` and add into consecutive entries of a row of ``out``.
    """
    idx = cuda.grid(1)
    k = A.shape[1]
    if idx < A.shape[0] * k:
        j = idx // k
        c = idx - j * k
        a = A[j, c]
        for t in range(row_idx.shape[1]):
            cuda.atomic.add(out, (row_idx[j, t], c), vals[j, t] * a)
