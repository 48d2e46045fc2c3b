"""The Sinkhorn/SNS whole-matrix steps on Numba-CUDA kernels (the CuPy path).

:func:`numlearn.ot._sinkhorn_array_api.select_ops` picks :class:`CudaOps` once, at the
solver's entry, when the inputs are CuPy arrays; the solver loops then call the same
methods as on :class:`~numlearn.ot._sinkhorn_array_api.GenericOps`:

* ``row_lse`` / ``col_lse``: the fused log-sum-exp kernels (one read of ``M`` per
  half-step, no ``(n, m)`` temporaries) instead of four whole-matrix operations;
* ``sparsify``: the top-k kernel builds the CSR arrays of the sparsified plan on the
  device and the Schur products run on ``cupyx.scipy.sparse`` (cuSPARSE).

With NumPy arrays (under the CUDA simulator, in the tests) the same kernels run on host
arrays and the sparse matrix is a SciPy one.
"""

from __future__ import annotations

from numlearn.ot import _kernels as K
from numlearn.ot._sns_array_api import SchurFromProducts

__all__ = ["CudaOps", "CsrSparsified"]


class CsrSparsified(SchurFromProducts):
    """The sparsified plan as a CSR matrix of ``sparse`` (``cupyx.scipy.sparse`` or
    ``scipy.sparse``), with the products the Newton step needs."""

    def __init__(self, indptr, indices, data, shape, sparse, xp):
        indices, indptr = xp.astype(indices, xp.int32), xp.astype(indptr, xp.int32)
        self.nnz = int(data.shape[0])
        self.S = sparse.csr_matrix((data, indices, indptr), shape=shape)
        self.S2 = sparse.csr_matrix((data * data, indices, indptr), shape=shape)
        self.St, self.S2t = self.S.T.tocsr(), self.S2.T.tocsr()

    def mv(self, v):
        return self.S @ v

    def rmv(self, u):
        return self.St @ u

    def sq_mv(self, w):
        return self.S2 @ w

    def sq_rmv(self, u):
        return self.S2t @ u


class CudaOps:
    """Row/column log-sum-exp and the SNS sparsifier on the Numba-CUDA kernels.

    Parameters
    ----------
    xp : namespace
        The array namespace of the inputs (CuPy's; NumPy's under the simulator).
    threads_per_block : int, default 128
        Block size of the row kernels (a power of two, at most 256).
    rows_per_chunk : int, default 64
        Rows per thread in the column log-sum-exp.
    """

    def __init__(self, xp, *, threads_per_block: int = 128, rows_per_chunk: int = 64):
        from numlearn._backend import is_numpy_namespace

        self.xp = xp
        self.tpb = threads_per_block
        self.rows_per_chunk = rows_per_chunk
        if is_numpy_namespace(xp):
            import scipy.sparse as sparse
        else:
            import cupyx.scipy.sparse as sparse
        self.sparse = sparse

    def row_lse(self, M, f, g, inv_reg):
        out = self.xp.empty((M.shape[0],), dtype=self.xp.float64)
        return K.launch_row_logsumexp_cuda(M, f, g, inv_reg, out, threads_per_block=self.tpb)

    def col_lse(self, M, f, g, inv_reg):
        out = self.xp.empty((M.shape[1],), dtype=self.xp.float64)
        return K.launch_col_logsumexp_cuda(M, f, g, inv_reg, out, threads_per_block=self.tpb,
                                           rows_per_chunk=self.rows_per_chunk)

    def sparsify(self, P, threshold, cap):
        indptr, indices, data = K.launch_row_topk_cuda(P, threshold, cap,
                                                       threads_per_block=self.tpb)
        return CsrSparsified(indptr, indices, data, tuple(P.shape), self.sparse, self.xp)
