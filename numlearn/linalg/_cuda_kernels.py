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


# multicolor SOR (numlearn.linalg._sor_multicolor)
__all__ += ["sor_color_sweep_kernel", "sor_residual_kernel"]


@cuda.jit
def sor_color_sweep_kernel(bptr, bind, bdata, c, x, w1, start, stop):
    """Multicolor SOR: update the rows ``start:stop`` of one color, one thread per row.

    ``x_i ← w1 x_i + c_i − Σ_j B_ij x_j`` with ``B = ωD⁻¹(L + U)`` (no diagonal), ``c = ωD⁻¹b``
    and ``w1 = 1 − ω`` (see ``numlearn.linalg._sor_multicolor``). Rows of one color are
    uncoupled, so every thread reads only values of other colors.
    """
    i = start + cuda.grid(1)
    if i < stop:
        s = c[i] + w1 * x[i]
        for jj in range(bptr[i], bptr[i + 1]):
            s -= bdata[jj] * x[bind[jj]]
        x[i] = s


@cuda.jit
def sor_residual_kernel(bptr, bind, bdata, c, dscale, omega, x, r):
    """``r = b − A x`` from the SOR split: ``r_i = dscale_i (c_i − ω x_i − Σ_j B_ij x_j)``."""
    i = cuda.grid(1)
    if i < x.shape[0]:
        t = c[i] - omega * x[i]
        for jj in range(bptr[i], bptr[i + 1]):
            t -= bdata[jj] * x[bind[jj]]
        r[i] = dscale[i] * t


__all__ += ["sor_color_sweep_residual_kernel"]


@cuda.jit
def sor_color_sweep_residual_kernel(bptr, bind, bdata, c, dscale, x, xold, r, w1, omega, start,
                                    stop):
    """The color sweep of ``sor_color_sweep_kernel`` fused with the residual of the *incoming*
    iterate: ``r_i = dscale_i (c_i − ω x_i^old − Σ_j B_ij x_j^old)``.

    Colors are contiguous and in sweep order, so a column ``j < start`` belongs to an earlier
    color, already updated in this sweep: its old value is read from ``xold``, which every
    thread fills for its own row before overwriting ``x_i``.
    """
    i = start + cuda.grid(1)
    if i < stop:
        xi = x[i]
        ci = c[i]
        s = ci + w1 * xi
        t = ci - omega * xi
        for jj in range(bptr[i], bptr[i + 1]):
            j = bind[jj]
            a = bdata[jj]
            if j < start:
                s -= a * x[j]
                t -= a * xold[j]
            else:
                p = a * x[j]
                s -= p
                t -= p
        r[i] = dscale[i] * t
        xold[i] = xi
        x[i] = s
