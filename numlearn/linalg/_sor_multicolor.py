"""Multicolor SOR: graph coloring of a CSR matrix, per-color sweeps and their CUDA launches.

A SOR sweep is sequential in the natural row order, since row ``i`` reads the ``x_j`` just
written by the rows before it. If the rows are colored so that no two rows of one color
are coupled (``a_ij = a_ji = 0`` for ``i ≠ j`` of the same color), all rows of a color can
be updated at once from the latest values of the other colors, and a sweep becomes one
parallel pass per color. Numbering the unknowns color by color (permutation ``P``), that
sweep *is* the natural-order SOR sweep of the permuted system ``(P A Pᵀ)(P x) = P b``:
exact Gauss–Seidel / SOR in the permuted ordering, not an approximation.

* :func:`color_csr` colors the graph of ``A + Aᵀ`` greedily in natural order (Numba,
  ``O(nnz)``, once per matrix on the CPU; :func:`greedy_coloring` is the same on a given
  symmetric adjacency). On the 5-point Laplacian (any grid size) it
  finds the red-black (checkerboard) coloring: unknown ``(i, j)`` gets color
  ``(i + j) mod 2``, by induction over the natural order.
* :class:`MulticolorSplit` permutes ``A`` color by color (each color a contiguous range
  of rows) and splits it as :func:`~numlearn.linalg._sor_kernels.sor_split` does:
  ``B = ωD⁻¹(L + U)`` without the diagonal, ``c = ωD⁻¹b``.
* :func:`multicolor_sweep` (Numba, CPU) is the twin of the CUDA kernel
  ``sor_color_sweep_kernel`` (one launch per color, one thread per row of that color),
  :func:`multicolor_sweep_residual` of ``sor_color_sweep_residual_kernel`` (the same sweep
  fused with the residual of the incoming iterate, as the CPU solver's natural-order
  sweep is: the stopping test costs a few extra reads instead of a second pass) and
  :func:`sor_residual` of ``sor_residual_kernel`` (a plain ``b − A x``, for ``x0`` and the
  last iterate), all in :mod:`numlearn.linalg._cuda_kernels`. ``launch_*_cuda`` run the
  kernels; arrays may be CuPy arrays (on a GPU) or NumPy arrays (under the simulator).

Red-black ordering of the 5-point Laplacian is *consistently ordered*, so SOR in that
ordering has Young's optimal ω and rate ``ω* − 1``, as the natural ordering has.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
import scipy.sparse as sp

__all__ = [
    "greedy_coloring",
    "color_csr",
    "multicolor_ordering",
    "permute_csr",
    "MulticolorSplit",
    "multicolor_sweep",
    "multicolor_sweep_residual",
    "sor_residual",
    "launch_color_sweep_cuda",
    "launch_multicolor_sweep_cuda",
    "launch_multicolor_sweep_residual_cuda",
    "launch_sor_residual_cuda",
]

THREADS_PER_BLOCK = 128


# --------------------------------------------------------------------------------------
# coloring (CPU, once per matrix)
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _take_free_color(colors, mark, i, n_colors):
    """Give node ``i`` the smallest color ``c`` not marked next to it (``mark[c] != i``);
    returns the number of colors used so far."""
    c = 0
    while mark[c] == i:
        c += 1
    colors[i] = c
    return max(n_colors, c + 1)


@numba.njit(cache=True)
def greedy_coloring(indptr, indices, n):
    """Greedy coloring of the graph with adjacency ``(indptr, indices)`` in natural order.

    Node ``i`` takes the smallest color not used by an already colored neighbour (self
    loops are ignored). The adjacency must be symmetric for the coloring to be proper
    (pass the pattern of ``A + Aᵀ``). Returns ``(colors, n_colors)``; at most
    ``max degree + 1`` colors are used.
    """
    colors = np.full(n, -1, dtype=np.int64)
    mark = np.full(n + 1, -1, dtype=np.int64)  # mark[c] == i: color c is taken next to i
    n_colors = 0
    for i in range(n):
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            cj = colors[j]
            if j != i and cj >= 0:
                mark[cj] = i
        n_colors = _take_free_color(colors, mark, i, n_colors)
    return colors, n_colors


@numba.njit(cache=True)
def color_csr(indptr, indices, data, n):
    """Greedy coloring (natural order) of the graph of ``A + Aᵀ`` straight from ``A``'s CSR.

    The neighbours of ``i`` are the columns ``j`` of row ``i`` *and* the rows ``j`` whose
    row has column ``i`` (found through a transposed pattern built here by a counting
    sort), so nonsymmetric patterns are colored properly without forming ``A + Aᵀ``.
    Explicitly stored zeros are not edges. Returns ``(colors, n_colors)``.
    """
    # transposed pattern (nonzero entries only)
    tptr = np.zeros(n + 1, dtype=np.int64)
    for jj in range(indptr[n]):
        if data[jj] != 0:
            tptr[indices[jj] + 1] += 1
    for j in range(n):
        tptr[j + 1] += tptr[j]
    fill = tptr[:n].copy()
    tind = np.empty(tptr[n], dtype=np.int64)
    for i in range(n):
        for jj in range(indptr[i], indptr[i + 1]):
            if data[jj] != 0:
                j = indices[jj]
                tind[fill[j]] = i
                fill[j] += 1
    colors = np.full(n, -1, dtype=np.int64)
    mark = np.full(n + 1, -1, dtype=np.int64)
    n_colors = 0
    for i in range(n):
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            if j != i and data[jj] != 0 and colors[j] >= 0:
                mark[colors[j]] = i
        for jj in range(tptr[i], tptr[i + 1]):
            j = tind[jj]
            if j != i and colors[j] >= 0:
                mark[colors[j]] = i
        n_colors = _take_free_color(colors, mark, i, n_colors)
    return colors, n_colors


def multicolor_ordering(A: sp.csr_matrix):
    """Color ``A``'s graph and number the unknowns color by color.

    Returns ``(perm, color_ptr, colors)``: ``perm[k]`` is the original index of permuted
    unknown ``k`` (colors in increasing order, original order inside a color),
    ``color_ptr`` (length ``n_colors + 1``) delimits the colors in the permuted
    numbering, and ``colors`` is the color of each original unknown (:func:`color_csr`:
    the same coloring as :func:`greedy_coloring` on the pattern of ``A + Aᵀ``).
    """
    A = sp.csr_matrix(A)
    n = A.shape[0]
    colors, n_colors = color_csr(A.indptr, A.indices, A.data, n)
    perm = np.argsort(colors, kind="stable")
    color_ptr = np.zeros(n_colors + 1, dtype=np.int64)
    np.cumsum(np.bincount(colors, minlength=n_colors), out=color_ptr[1:])
    return perm, color_ptr, colors


@numba.njit(cache=True)
def permute_csr(indptr, indices, data, perm, iperm):
    """CSR arrays of ``P A Pᵀ``: row ``k`` is row ``perm[k]`` of ``A`` with its column
    indices mapped through ``iperm`` (``iperm[perm[k]] = k``); entry order kept."""
    n = perm.shape[0]
    pptr = np.empty(n + 1, dtype=np.int64)
    pptr[0] = 0
    for k in range(n):
        i = perm[k]
        pptr[k + 1] = pptr[k] + indptr[i + 1] - indptr[i]
    pind = np.empty(pptr[n], dtype=np.int64)
    pdata = np.empty(pptr[n], dtype=data.dtype)
    for k in range(n):
        i = perm[k]
        dst = pptr[k]
        for jj in range(indptr[i], indptr[i + 1]):
            pind[dst] = iperm[indices[jj]]
            pdata[dst] = data[jj]
            dst += 1
    return pptr, pind, pdata


class MulticolorSplit:
    """``A`` permuted color by color and split for multicolor SOR sweeps (host arrays).

    Attributes: ``perm`` / ``iperm`` (``x_perm = x[perm]``, ``x = x_perm[iperm]``),
    ``color_ptr``, ``n_colors``, ``diag`` (permuted diagonal), and the CSR arrays
    ``bptr, bmid, bind, bdata`` of ``B = ωD⁻¹(L + U)`` of the permuted matrix, as built by
    :func:`~numlearn.linalg._sor_kernels.sor_split` (float64; :meth:`arrays` casts).

    Raises ``ValueError`` naming the (original) row of a zero diagonal entry.
    """

    def __init__(self, A: sp.csr_matrix, omega: float):
        from numlearn.linalg._sor_kernels import sor_split

        A = sp.csr_matrix(A, dtype=np.float64)
        n = A.shape[0]
        self.n = n
        self.omega = float(omega)
        self.perm, self.color_ptr, _ = multicolor_ordering(A)
        self.iperm = np.empty_like(self.perm)
        self.iperm[self.perm] = np.arange(n)
        self.n_colors = self.color_ptr.shape[0] - 1
        pptr, pind, pdata = permute_csr(A.indptr, A.indices, A.data, self.perm, self.iperm)
        diag, bptr, bmid, bind, bdata, bad_row = sor_split(pptr, pind, pdata, n, self.omega)
        if bad_row >= 0:
            row = int(self.perm[bad_row])
            raise ValueError(
                f"A has a zero diagonal entry in row {row}; SOR divides by the "
                "diagonal, so every diagonal entry of A must be nonzero."
            )
        self.diag = diag
        self.bptr, self.bmid, self.bind, self.bdata = bptr, bmid, bind, bdata

    def arrays(self, dtype=np.float64):
        """``(bptr, bind, bdata, diag)`` with the values in ``dtype``.

        Indices are int32 when they fit (4 bytes less per entry for the GPU to read),
        int64 otherwise.
        """
        index = np.int32 if int(self.bptr[-1]) < np.iinfo(np.int32).max else np.int64
        return (self.bptr.astype(index), self.bind.astype(index),
                self.bdata.astype(dtype), self.diag.astype(dtype))


# --------------------------------------------------------------------------------------
# CPU twins (Numba)
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def multicolor_sweep(bptr, bind, bdata, c, x, w1, color_ptr, backward):
    """One multicolor SOR sweep in place, color by color (reversed if ``backward``).

    Each row ``i`` of a color: ``x_i ← w1 x_i + c_i − Σ_j B_ij x_j`` (``w1 = 1 − ω``), read
    from the values before this color's pass: the rows of one color are uncoupled, so
    the order inside a color does not matter (the CUDA kernel runs them in parallel).
    """
    n_colors = color_ptr.shape[0] - 1
    for k in range(n_colors):
        col = n_colors - 1 - k if backward else k
        for i in range(color_ptr[col], color_ptr[col + 1]):
            s = c[i] + w1 * x[i]
            for jj in range(bptr[i], bptr[i + 1]):
                s -= bdata[jj] * x[np.uintp(bind[jj])]
            x[i] = s


@numba.njit(cache=True)
def multicolor_sweep_residual(bptr, bind, bdata, c, dscale, x, xold, r, w1, omega, color_ptr):
    """A forward multicolor sweep that also returns ``‖b − A x_old‖²`` of the incoming ``x``.

    Updates ``x`` as :func:`multicolor_sweep` does, saves the incoming iterate in ``xold``
    and writes its residual into ``r`` (``r_i = dscale_i (c_i − ω x_i^old − Σ_j B_ij
    x_j^old)``, ``dscale = D/ω``): a column ``j`` before the current color's first row was
    already updated in this sweep, so its old value comes from ``xold``. The twin of
    ``sor_color_sweep_residual_kernel``.
    """
    n_colors = color_ptr.shape[0] - 1
    rr = 0.0
    for col in range(n_colors):
        start = color_ptr[col]
        for i in range(start, color_ptr[col + 1]):
            xi = x[i]
            ci = c[i]
            s = ci + w1 * xi
            t = ci - omega * xi
            for jj in range(bptr[i], bptr[i + 1]):
                j = bind[jj]
                a = bdata[jj]
                xj = x[np.uintp(j)]
                if j < start:
                    s -= a * xj
                    t -= a * xold[np.uintp(j)]
                else:
                    p = a * xj
                    s -= p
                    t -= p
            ri = dscale[i] * t
            r[i] = ri
            rr += float(ri) * float(ri)
            xold[i] = xi
            x[i] = s
    return rr


@numba.njit(cache=True)
def sor_residual(bptr, bind, bdata, c, dscale, omega, x, r):
    """``r = b − A x`` from the split (``r_i = dscale_i (c_i − ω x_i − Σ_j B_ij x_j)``,
    ``dscale = D/ω``); returns ``‖r‖²`` (accumulated in float64)."""
    rr = 0.0
    for i in range(x.shape[0]):
        t = c[i] - omega * x[i]
        for jj in range(bptr[i], bptr[i + 1]):
            t -= bdata[jj] * x[np.uintp(bind[jj])]
        ri = dscale[i] * t
        r[i] = ri
        rr += float(ri) * float(ri)
    return rr


# --------------------------------------------------------------------------------------
# CUDA launches (the CUDA module is imported on first use)
# --------------------------------------------------------------------------------------
def _blocks(n: int, threads_per_block: int) -> int:
    return max(1, (n + threads_per_block - 1) // threads_per_block)


def _launch(kernel, blocks, threads_per_block, *args):
    """Launch ``kernel``; small grids (a small color, a small system) are expected here, so
    Numba's low-occupancy performance warning is not passed on to the user."""
    if blocks >= 128:
        kernel[blocks, threads_per_block](*args)
        return
    from numba.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        kernel[blocks, threads_per_block](*args)


def launch_color_sweep_cuda(bptr, bind, bdata, c, x, w1, start, stop, *,
                            threads_per_block: int = THREADS_PER_BLOCK):
    """Update rows ``start:stop`` (one color) of ``x`` in place on the device."""
    from numlearn.linalg._cuda_kernels import sor_color_sweep_kernel

    count = int(stop) - int(start)
    if count > 0:
        _launch(sor_color_sweep_kernel, _blocks(count, threads_per_block), threads_per_block,
                bptr, bind, bdata, c, x, float(w1), int(start), int(stop))
    return x


def launch_multicolor_sweep_cuda(bptr, bind, bdata, c, x, w1, color_ptr, backward=False, *,
                                 threads_per_block: int = THREADS_PER_BLOCK):
    """The CUDA twin of :func:`multicolor_sweep`: one kernel launch per color.

    ``color_ptr`` is a host sequence of ints.
    """
    n_colors = len(color_ptr) - 1
    order = range(n_colors - 1, -1, -1) if backward else range(n_colors)
    for col in order:
        launch_color_sweep_cuda(bptr, bind, bdata, c, x, w1, color_ptr[col],
                                color_ptr[col + 1], threads_per_block=threads_per_block)
    return x


def launch_multicolor_sweep_residual_cuda(bptr, bind, bdata, c, dscale, x, xold, r, w1, omega,
                                          color_ptr, *,
                                          threads_per_block: int = THREADS_PER_BLOCK):
    """The CUDA twin of :func:`multicolor_sweep_residual` (one launch per color); the norm
    of ``r`` is taken by the caller."""
    from numlearn.linalg._cuda_kernels import sor_color_sweep_residual_kernel

    for col in range(len(color_ptr) - 1):
        start, stop = int(color_ptr[col]), int(color_ptr[col + 1])
        if stop > start:
            _launch(sor_color_sweep_residual_kernel, _blocks(stop - start, threads_per_block),
                    threads_per_block, bptr, bind, bdata, c, dscale, x, xold, r, float(w1),
                    float(omega), start, stop)
    return r


def launch_sor_residual_cuda(bptr, bind, bdata, c, dscale, omega, x, r, *,
                             threads_per_block: int = THREADS_PER_BLOCK):
    """The CUDA twin of :func:`sor_residual`: writes ``r = b − A x`` (the norm is taken by
    the caller, in the arrays' namespace)."""
    from numlearn.linalg._cuda_kernels import sor_residual_kernel

    n = x.shape[0]
    _launch(sor_residual_kernel, _blocks(n, threads_per_block), threads_per_block,
            bptr, bind, bdata, c, dscale, float(omega), x, r)
    return r
