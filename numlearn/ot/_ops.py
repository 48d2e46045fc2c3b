"""The primitives the Sinkhorn / SNS loops need, one implementation per kind of array.

The loops of :mod:`numlearn.ot._sinkhorn_loop` are written once, against an array
namespace ``ops.xp`` and the methods of :class:`Ops`:

* :class:`NumbaOps` (NumPy arrays): the fused Numba kernels of :mod:`numlearn.ot._kernels`
  (row/column log-sum-exp with one ``exp`` per entry, a vectorized Gibbs kernel, the fused
  marginals + sparsification pass of SNS and its CSR Schur products);
* :class:`GenericOps` (any array-API library, e.g. ``array_api_strict``): whole-matrix
  operations (a max-shifted log-sum-exp, ``(n, m)`` float64 temporaries, the SNS
  sparsifier as a dense masked matrix);
* :class:`CudaOps` (CuPy arrays): :class:`GenericOps` with the log-sum-exp half-steps on
  fused Numba-CUDA kernels (one read of ``M`` each) and the sparsifier on a CUDA top-k
  kernel with ``cupyx.scipy.sparse`` products (SciPy's under the simulator).

The public functions pick one at entry (:func:`numlearn._backend.pick_ops`). This module
imports kernels only.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from numlearn.ot import _kernels as K

__all__ = ["Ops", "NumbaOps", "GenericOps", "CudaOps", "SchurFromProducts",
           "DenseSparsified", "CsrSparsified"]


class Ops(abc.ABC):
    """The primitives of the Sinkhorn, auto and SNS loops on one kind of array.

    Attributes
    ----------
    xp : namespace
        The array namespace the loops compute in (NumPy for :class:`NumbaOps`).
    """

    xp = np

    @abc.abstractmethod
    def row_lse(self, M, f, g, inv_reg):
        """``log Σ_j exp((f_i + g_j - M_ij) · inv_reg)`` for every row (float64)."""

    @abc.abstractmethod
    def col_lse(self, M, f, g, inv_reg):
        """``log Σ_i exp((f_i + g_j - M_ij) · inv_reg)`` for every column (float64)."""

    @abc.abstractmethod
    def gibbs_kernel(self, M, shift, inv_reg):
        """The float64 Gibbs kernel ``exp((shift - M) · inv_reg)`` (no subnormals: callers
        keep ``(max M - shift) · inv_reg`` below 650)."""

    @abc.abstractmethod
    def scale_plan_stats(self, Kmat, u, v, M):
        """``(P, row sums, column sums, ⟨M, P⟩)`` of ``P = diag(u) Kmat diag(v)`` (``Kmat``
        may be overwritten by ``P``)."""

    @abc.abstractmethod
    def fill_plan(self, M, f, g, inv_reg, dtype, fast=False):
        """The plan ``exp((f_i + g_j - M_ij) · inv_reg)`` in ``dtype`` (``fast``: a float64
        evaluation that may round entries below ``exp(-708)`` up to it)."""

    @abc.abstractmethod
    def plan_state(self, M, threshold, cap, like=None):
        """A fresh SNS plan state (``evaluate(M, a, b, f, g, reg)`` sets ``r``, ``c``,
        ``dual``, ``err``; ``sparse()`` gives the sparsified plan with ``mv``, ``rmv``,
        ``schur_g``, ``schur_f``); ``like`` an earlier state whose buffers size this one."""


# --------------------------------------------------------------------------------------
# NumPy: fused Numba kernels
# --------------------------------------------------------------------------------------
class CsrPlanState:
    """Marginals, dual value and sparsified plan (CSR) at potentials ``(f, g)`` in one
    fused Numba pass over ``M``; its own sparsifier (:meth:`sparse`), with the fused CSR
    Schur products."""

    def __init__(self, n, m, threshold, cap, size=None):
        self.r = np.empty(n)
        self.c = np.empty(m)
        self.threshold, self.cap = threshold, cap
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        size = min(n * cap, 16 * (n + m) if size is None else size)
        self.indices = np.empty(size, dtype=np.int64)
        self.data = np.empty(size)
        self.nnz = 0
        self.dual = -math.inf
        self.err = math.inf

    def evaluate(self, M, a, b, f, g, reg):
        while True:
            total, nnz = K.plan_stats_sparse(M, f, g, 1.0 / reg, self.threshold, self.cap,
                                             self.r, self.c, self.indptr, self.indices,
                                             self.data)
            if nnz >= 0:
                break
            size = min(M.shape[0] * self.cap, max(-nnz + -nnz // 4, 2 * self.indices.shape[0]))
            self.indices = np.empty(size, dtype=np.int64)
            self.data = np.empty(size)
        self.nnz = nnz
        with np.errstate(over="ignore", invalid="ignore"):  # a wild trial point: rejected
            self.dual = float(a @ f + b @ g - reg * total)
            self.err = float(np.abs(self.r - a).sum() + np.abs(self.c - b).sum())
        if not (math.isfinite(self.dual) and math.isfinite(self.err)):
            self.dual, self.err = -math.inf, math.inf
        return self

    def sparse(self):
        return self

    def mv(self, v):
        """``S v``."""
        return K.csr_matvec(self.indptr, self.indices, self.data, v, np.empty_like(self.r))

    def rmv(self, u):
        """``Sᵀ u``."""
        return K.csr_rmatvec(self.indptr, self.indices, self.data, u, np.empty_like(self.c))

    def _csr(self):
        return self.indptr, self.indices[: self.nnz], self.data[: self.nnz]

    def schur_g(self, rinv, cdiag):
        """``v ↦ (diag(cdiag) - Sᵀ diag(rinv) S) v`` and its diagonal (fused kernels)."""
        csr, out = self._csr(), np.empty(cdiag.shape[0])

        def matvec(v):
            return K.schur_matvec_g(*csr, rinv, cdiag, np.ascontiguousarray(v.ravel()),
                                    out).copy()

        return matvec, K.schur_diag_g(*csr, rinv, cdiag, np.empty(cdiag.shape[0]))

    def schur_f(self, cinv, rdiag):
        """``u ↦ (diag(rdiag) - S diag(cinv) Sᵀ) u`` and its diagonal (fused kernels)."""
        csr = self._csr()
        out, work = np.empty(rdiag.shape[0]), np.empty(cinv.shape[0])

        def matvec(v):
            return K.schur_matvec_f(*csr, cinv, rdiag, np.ascontiguousarray(v.ravel()),
                                    work, out).copy()

        return matvec, K.schur_diag_f(*csr, cinv, rdiag, np.empty(rdiag.shape[0]))


class NumbaOps(Ops):
    """The primitives on NumPy arrays and the fused Numba kernels."""

    xp = np

    def __init__(self, xp=None):
        pass

    def row_lse(self, M, f, g, inv_reg):
        out = np.empty(M.shape[0])
        K.row_logsumexp(M, f, g, inv_reg, out)
        return out

    def col_lse(self, M, f, g, inv_reg):
        out = np.empty(M.shape[1])
        K.col_logsumexp(M, f, g, inv_reg, np.empty(M.shape[1]), out)
        return out

    def gibbs_kernel(self, M, shift, inv_reg):
        return K.gibbs_kernel(M, shift, inv_reg, np.empty(M.shape))

    def scale_plan_stats(self, Kmat, u, v, M):
        r, c = np.empty(M.shape[0]), np.empty(M.shape[1])
        cost = K.scale_plan_stats(Kmat, u, v, M, r, c)  # the kernel becomes the plan
        return Kmat, r, c, cost

    def fill_plan(self, M, f, g, inv_reg, dtype, fast=False):
        if fast:
            return K.fill_plan_fast(M, f, g, inv_reg, np.empty(M.shape)).astype(dtype,
                                                                                 copy=False)
        P = np.empty(M.shape, dtype=dtype)
        K.fill_plan(M, f, g, inv_reg, P)
        return P

    def plan_state(self, M, threshold, cap, like=None):
        n, m = M.shape
        return CsrPlanState(n, m, threshold, cap,
                            size=None if like is None else like.indices.shape[0])


# --------------------------------------------------------------------------------------
# any array-API library: whole-matrix operations
# --------------------------------------------------------------------------------------
def _lse(Z, axis, xp):
    """Max-shifted log-sum-exp of ``Z`` along ``axis`` (``-inf`` for an all ``-inf`` line)."""
    mx = xp.max(Z, axis=axis, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    s = xp.sum(xp.exp(Z - mx), axis=axis)
    return xp.log(s) + xp.squeeze(mx, axis=axis)


def exponent(M, f, g, inv_reg):
    """``(f_i + g_j - M_ij) · inv_reg`` as an ``(n, m)`` array."""
    return (f[:, None] + g[None, :] - M) * inv_reg


class SchurFromProducts:
    """The Schur complements of the Newton system (``schur_g``/``schur_f``) from a
    sparsifier's products ``mv`` (``S v``), ``rmv`` (``Sᵀ u``), ``sq_mv`` and ``sq_rmv``
    (those of ``S∘S``)."""

    def schur_g(self, rinv, cdiag):
        """``v ↦ (diag(cdiag) - Sᵀ diag(rinv) S) v`` and its diagonal."""
        return (lambda v: cdiag * v - self.rmv(rinv * self.mv(v))), cdiag - self.sq_rmv(rinv)

    def schur_f(self, cinv, rdiag):
        """``u ↦ (diag(rdiag) - S diag(cinv) Sᵀ) u`` and its diagonal."""
        return (lambda u: rdiag * u - self.mv(cinv * self.rmv(u))), rdiag - self.sq_mv(cinv)


class DenseSparsified(SchurFromProducts):
    """The SNS sparsifier of the plan ``P`` as a dense masked matrix ``S`` (any ``xp``).

    Keeps, in every row, the entries ``>= threshold · max(row)``, or, when more than
    ``cap`` pass, the ``cap`` largest (entries equal to the ``cap``-th largest going to the
    lowest columns): the rule of :func:`numlearn.ot._kernels.row_topk_select`.
    """

    def __init__(self, P, threshold, cap, xp):
        self.xp = xp
        m = P.shape[1]
        keep = P >= threshold * xp.max(P, axis=1, keepdims=True)
        if cap < m:
            kept = xp.sum(xp.astype(keep, xp.int64), axis=1)
            over = kept > cap
            if bool(xp.any(over)):
                t = xp.sort(P, axis=1, descending=True)[:, cap - 1:cap]
                gt = P > t
                ties = cap - xp.sum(xp.astype(gt, xp.int64), axis=1, keepdims=True)
                eq = P == t
                rank = xp.cumulative_sum(xp.astype(eq, xp.int64), axis=1)
                top = gt | (eq & (rank <= ties))
                keep = xp.where(over[:, None], top, keep)
        self.nnz = int(xp.sum(xp.astype(keep, xp.int64)))
        self.S = xp.where(keep, P, xp.zeros_like(P))
        self.S2 = self.S * self.S

    def mv(self, v):
        """``S v``."""
        return self.xp.matmul(self.S, v)

    def rmv(self, u):
        """``Sᵀ u``."""
        return self.xp.matmul(self.S.T, u)

    def sq_mv(self, w):
        """``(S∘S) w``."""
        return self.xp.matmul(self.S2, w)

    def sq_rmv(self, u):
        """``(S∘S)ᵀ u``."""
        return self.xp.matmul(self.S2.T, u)


class DensePlanState:
    """Marginals and dual value at ``(f, g)`` from the formed ``(n, m)`` plan, and the
    sparsified plan (built lazily, by ``ops.sparsify``, only for accepted points)."""

    def __init__(self, ops, threshold, cap):
        self.ops, self.xp = ops, ops.xp
        self.threshold, self.cap = threshold, cap
        self.dual, self.err = -math.inf, math.inf

    def evaluate(self, M, a, b, f, g, reg):
        xp = self.xp
        P = xp.exp(exponent(M, f, g, 1.0 / reg))
        self.r = xp.sum(P, axis=1)
        self.c = xp.sum(P, axis=0)
        total = float(xp.sum(self.r))
        self.P, self.used_threshold, self._sparse = P, self.threshold, None
        self.dual = float(xp.vecdot(a, f)) + float(xp.vecdot(b, g)) - reg * total
        self.err = float(xp.sum(xp.abs(self.r - a)) + xp.sum(xp.abs(self.c - b)))
        if not (math.isfinite(self.dual) and math.isfinite(self.err)):
            self.dual, self.err = -math.inf, math.inf
        return self

    def sparse(self):
        if self._sparse is None:
            self._sparse = self.ops.sparsify(self.P, self.used_threshold, self.cap)
        return self._sparse


class GenericOps(Ops):
    """The primitives as whole-matrix operations of the namespace ``xp``."""

    def __init__(self, xp):
        self.xp = xp

    def row_lse(self, M, f, g, inv_reg):
        return _lse(exponent(M, f, g, inv_reg), 1, self.xp)

    def col_lse(self, M, f, g, inv_reg):
        return _lse(exponent(M, f, g, inv_reg), 0, self.xp)

    def gibbs_kernel(self, M, shift, inv_reg):
        xp = self.xp
        return xp.exp((shift - xp.astype(M, xp.float64)) * inv_reg)

    def scale_plan_stats(self, Kmat, u, v, M):
        xp = self.xp
        P = u[:, None] * Kmat * v[None, :]
        return (P, xp.sum(P, axis=1), xp.sum(P, axis=0),
                float(xp.sum(P * xp.astype(M, xp.float64))))

    def fill_plan(self, M, f, g, inv_reg, dtype, fast=False):
        return self.xp.astype(self.xp.exp(exponent(M, f, g, inv_reg)), dtype)

    def plan_state(self, M, threshold, cap, like=None):
        return DensePlanState(self, threshold, cap)

    def sparsify(self, P, threshold, cap):
        """The SNS sparsifier of the plan ``P`` (:class:`DenseSparsified`)."""
        return DenseSparsified(P, threshold, cap, self.xp)


# --------------------------------------------------------------------------------------
# CuPy: Numba-CUDA kernels
# --------------------------------------------------------------------------------------
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


class CudaOps(GenericOps):
    """:class:`GenericOps` with the log-sum-exp and the SNS sparsifier on Numba-CUDA kernels.

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

        super().__init__(xp)
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
