"""Sinkhorn–Newton–Sparse written against the array API (CuPy, ``array_api_strict``, ...).

The path :func:`numlearn.ot.sinkhorn_newton_sparse` (and ``sinkhorn(method="sns")``) takes
for non-NumPy inputs. The algorithm itself (warm-up Sinkhorn iterations in the scaling or
log form, epsilon scaling, sparsified Newton steps through the smaller Schur complement
solved by :func:`numlearn.linalg.cg` with a Jacobi preconditioner, the backtracking line
search, the threshold reductions and the Sinkhorn sweeps after slow steps) is the one
``_sns_stages`` / ``_sns_loop`` / ``_newton_direction`` of :mod:`numlearn.ot._sinkhorn`
that the NumPy path runs too; this module supplies its steps in ``xp`` (:class:`_XpSNS`),
with whole-matrix operations in place of the fused Numba pass:

* each trial point forms the plan ``P = exp((f ⊕ g - M)/reg)`` (an ``(n, m)`` float64
  array) and reduces it to its marginals and dual value;
* the Hessian's sparsifier is that of the ``ops`` object chosen at entry: a dense masked
  matrix here (:class:`DenseSparsified`, products by ``xp.matmul``), or the top-k CUDA
  kernel and a ``cupyx.scipy.sparse`` CSR matrix on CuPy
  (:class:`numlearn.ot._cuda_ops.CudaOps`). It is built only for accepted points.

So it needs ``O(n m)`` memory (two plans), where the Numba path keeps only the sparsified
one; on a GPU that is the price of a fused-free, library-only implementation.
"""

from __future__ import annotations

import math

from numlearn.ot._sinkhorn import _sns_stages
from numlearn.ot._sinkhorn_array_api import _exponent, _log_loop, _scaling_loop

__all__ = ["DenseSparsified", "SchurFromProducts", "sns_stages"]


class SchurFromProducts:
    """The Schur complements of the Newton system (the ``schur_g``/``schur_f`` interface
    of :func:`numlearn.ot._sinkhorn._newton_direction`) from a sparsifier's products
    ``mv`` (``S v``), ``rmv`` (``Sᵀ u``), ``sq_mv`` and ``sq_rmv`` (those of ``S∘S``)."""

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


class _PlanState:
    """Marginals and dual value at ``(f, g)``, and the sparsified plan (built lazily)."""

    def __init__(self, ops, xp, threshold, cap):
        self.ops, self.xp = ops, xp
        self.threshold, self.cap = threshold, cap
        self.dual, self.err = -math.inf, math.inf

    def evaluate(self, M, a, b, f, g, reg):
        xp = self.xp
        P = xp.exp(_exponent(M, f, g, 1.0 / reg))
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


def _sweep(M, a, b, reg, f, g, xp, ops):
    """One log-domain Sinkhorn iteration (row then column update)."""
    f = f + reg * (xp.log(a) - ops.row_lse(M, f, g, 1.0 / reg))
    g = g + reg * (xp.log(b) - ops.col_lse(M, f, g, 1.0 / reg))
    return f, g


class _XpSNS:
    """The steps of :func:`numlearn.ot._sinkhorn._sns_loop` in the namespace ``xp`` with
    the kernels ``ops`` (potentials rebound, not mutated)."""

    def __init__(self, xp, ops):
        self.xp, self.ops = xp, ops

    def scaling_loop(self, M, a, b, reg, f, g, tol, max_iter, mon):
        return _scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon, self.xp)

    def log_loop(self, M, a, b, reg, f, g, tol, max_iter, mon):
        return _log_loop(M, a, b, reg, f, g, tol, max_iter, mon, self.xp, self.ops)

    def sweep(self, M, a, b, reg, f, g):
        return _sweep(M, a, b, reg, f, g, self.xp, self.ops)

    def plan_state(self, M, threshold, cap, like=None):
        return _PlanState(self.ops, self.xp, threshold, cap)


def sns_stages(M, a, b, reg, f, g, tol, mon, xp, ops, options):
    """The epsilon-scaling stages of SNS (:func:`numlearn.ot._sinkhorn._sns_stages`, the
    loop shared with the NumPy path) in the namespace ``xp``.

    Returns ``status, err, f, g, extra`` with the iteration counts in ``extra``.
    """
    return _sns_stages(M, a, b, reg, f, g, tol, mon, options, _XpSNS(xp, ops))
