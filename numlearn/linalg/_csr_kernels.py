"""Numba kernels for compressed-sparse-row products, CPU and CUDA twins.

Kernels are small pure functions over the CSR arrays (``indptr``, ``indices``,
``data``); the CUDA twin takes the same arrays plus a launch configuration. Both are
tested against ``scipy.sparse`` products.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["csr_row_dot", "csr_matvec", "launch_csr_matvec_cuda", "csr_matvec_reference"]


@numba.njit(inline="always")
def csr_row_dot(indptr, indices, data, x, i):
    """``A[i, :] @ x`` for row ``i`` of the CSR matrix ``A`` (inlined into callers).

    Indices are cast to unsigned integers: Numba then skips its negative-index
    wrap-around test on every access, which otherwise doubles the time of CSR loops.
    """
    acc = 0.0
    jj = np.uintp(indptr[i])
    stop = np.uintp(indptr[i + 1])
    while jj < stop:
        acc += data[jj] * x[np.uintp(indices[jj])]
        jj += np.uintp(1)
    return acc


@numba.njit(cache=True)
def csr_matvec(indptr, indices, data, x, out):
    """``out[:] = A @ x`` for the CSR matrix ``A`` (single-threaded, like SciPy's)."""
    for i in range(indptr.shape[0] - 1):
        out[np.uintp(i)] = csr_row_dot(indptr, indices, data, x, i)
    return out


def launch_csr_matvec_cuda(indptr, indices, data, x, out, *, threads_per_block: int = 128):
    """Run the Numba-CUDA twin of :func:`csr_matvec` (one thread per row).

    Arrays may be host or device arrays. The CUDA module is imported here, on first use,
    so importing numlearn never touches CUDA.
    """
    from numlearn.linalg._cuda_kernels import csr_matvec_kernel

    n_rows = out.shape[0]
    blocks = max(1, (n_rows + threads_per_block - 1) // threads_per_block)
    csr_matvec_kernel[blocks, threads_per_block](indptr, indices, data, x, out)
    return out


def csr_matvec_reference(indptr, indices, data, x):
    """Plain NumPy reference for tests: ``A @ x`` from CSR arrays."""
    n_rows = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    out = np.zeros(n_rows, dtype=np.result_type(data, x))
    np.add.at(out, rows, data * x[indices])
    return out
