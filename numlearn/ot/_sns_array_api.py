"""Sinkhorn–Newton–Sparse written against the array API (CuPy, ``array_api_strict``, ...).

The path :func:`numlearn.ot.sinkhorn_newton_sparse` (and ``sinkhorn(method="sns")``) takes
for non-NumPy inputs. It is the algorithm of ``_sns_loop`` in :mod:`numlearn.ot._sinkhorn`
step for step (warm-up Sinkhorn iterations in the scaling or log form, epsilon scaling,
sparsified Newton steps through the smaller Schur complement solved by
:func:`numlearn.linalg.cg` with a Jacobi preconditioner, the backtracking line search,
the threshold reductions and the Sinkhorn sweeps after slow steps), with whole-matrix
operations in place of the fused Numba pass:

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
import warnings

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status
from numlearn.linalg import cg
from numlearn.ot._sinkhorn_array_api import _exponent, _log_loop, _scaling_loop

__all__ = ["DenseSparsified", "sns_stages"]


class DenseSparsified:
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


class _Operator(LinearOperator):
    """A LinearOperator whose ``matvec`` takes and returns arrays of any namespace (no
    conversion to NumPy), for :func:`numlearn.linalg.cg`."""

    def __init__(self, size, fn):
        super().__init__(np.float64, (size, size))
        self._fn = fn

    def matvec(self, x):
        return self._fn(x)

    def _matvec(self, x):  # pragma: no cover - matvec is overridden
        return self._fn(x)


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


def _newton_direction(st, a, b, reg, cg_rtol, cg_maxiter, xp):
    """``_newton_direction`` of :mod:`numlearn.ot._sinkhorn`: the smaller Schur complement
    of ``[[diag(r), S], [Sᵀ, diag(c)]]`` by Jacobi-preconditioned CG."""
    gf, gg = reg * (a - st.r), reg * (b - st.c)
    S = st.sparse()
    n, m = st.r.shape[0], st.c.shape[0]
    rinv, cinv = 1.0 / st.r, 1.0 / st.c
    if m <= n:  # unknown dg, df eliminated
        ridge = 1e-10 * float(xp.max(st.c))
        cdiag = st.c + ridge
        rhs = gg - S.rmv(gf * rinv)

        def matvec(v):
            return cdiag * v - S.rmv(rinv * S.mv(v))

        diag = cdiag - S.sq_rmv(rinv)
        size = m
    else:  # unknown df, dg eliminated
        ridge = 1e-10 * float(xp.max(st.r))
        rdiag = st.r + ridge
        rhs = gf - S.mv(gg * cinv)

        def matvec(u):
            return rdiag * u - S.mv(cinv * S.rmv(u))

        diag = rdiag - S.sq_mv(cinv)
        size = n
    diag = xp.maximum(diag, xp.full_like(diag, ridge))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # an inexact step is fine
        sol = cg(_Operator(size, matvec), rhs, rtol=cg_rtol, maxiter=cg_maxiter,
                 M=lambda v: v / diag)
    if m <= n:
        dg = sol.x
        df = (gf - S.mv(dg)) * rinv
    else:
        df = sol.x
        dg = (gg - S.rmv(df)) * cinv
    return df, dg, sol.n_iter


def _scaling_is_safe(M, f, g, reg, xp, limit=300.0):
    """``_scaling_is_safe`` of :mod:`numlearn.ot._sinkhorn` in ``xp``."""
    if M.dtype != xp.float64:
        return False
    span = (float(xp.max(M)) + float(xp.max(xp.abs(f))) + float(xp.max(xp.abs(g)))) / reg
    return span < limit and float(xp.min(M)) >= 0.0


def _sweep(M, a, b, reg, f, g, xp, ops):
    """One log-domain Sinkhorn iteration (row then column update)."""
    f = f + reg * (xp.log(a) - ops.row_lse(M, f, g, 1.0 / reg))
    g = g + reg * (xp.log(b) - ops.col_lse(M, f, g, 1.0 / reg))
    return f, g


def _sns_loop(M, a, b, reg, f, g, tol, n_sinkhorn, threshold, cap, max_newton_iter, cg_rtol,
              cg_maxiter, mon, xp, ops):
    """``_sns_loop`` of :mod:`numlearn.ot._sinkhorn` (potentials rebound, returned)."""
    start = mon.n_iter
    if _scaling_is_safe(M, f, g, reg, xp):
        status, err, f, g = _scaling_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon, xp)
        if status is Status.DIVERGED:  # not expected; the log domain is always safe
            status, err, f, g = _log_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon, xp, ops)
    else:
        status, err, f, g = _log_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon, xp, ops)
    counts = [mon.n_iter - start, 0, 0]
    if status is not Status.MAX_ITER:
        return status, err, f, g, counts
    st = _PlanState(ops, xp, threshold, cap).evaluate(M, a, b, f, g, reg)
    trial = _PlanState(ops, xp, threshold, cap)
    err = st.err
    sigma = 1e-4
    while True:
        if err <= tol:
            status = Status.SUCCESS
            break
        if not math.isfinite(err):
            status = Status.DIVERGED
            break
        if counts[1] >= max_newton_iter:
            break
        df, dg, its = _newton_direction(st, a, b, reg, cg_rtol, cg_maxiter, xp)
        counts[2] += its
        slope = float(xp.vecdot(a - st.r, df)) + float(xp.vecdot(b - st.c, dg))
        finite = bool(xp.all(xp.isfinite(df)) & xp.all(xp.isfinite(dg)))
        if not (slope > 0 and finite):
            # not an ascent direction (CG broke down): fall back on the gradient
            df, dg = reg * (a - st.r) / st.r, reg * (b - st.c) / st.c
            slope = float(xp.vecdot(a - st.r, df)) + float(xp.vecdot(b - st.c, dg))
        t = 1.0
        accepted = False
        for _ in range(30):
            ft, gt = f + t * df, g + t * dg
            trial.evaluate(M, a, b, ft, gt, reg)
            armijo = trial.dual >= st.dual + sigma * t * slope
            decrease = trial.err <= (1.0 - sigma * t) * st.err
            if armijo or decrease:
                accepted = True
                break
            t *= 0.5
        counts[1] += 1
        if accepted:
            f, g = ft, gt
            if t == 1.0 and trial.err > 0.5 * st.err and st.threshold > 0.0:
                st.threshold = trial.threshold = (
                    st.threshold * 1e-2 if st.threshold > 1e-10 else 0.0)
            if trial.err > 1e-3 * st.err:
                f, g = _sweep(M, a, b, reg, f, g, xp, ops)
                trial.evaluate(M, a, b, f, g, reg)
            st, trial = trial, st
        else:  # no progress along the Newton direction: one Sinkhorn iteration instead
            f, g = _sweep(M, a, b, reg, f, g, xp, ops)
            st.evaluate(M, a, b, f, g, reg)
        err = st.err
        if mon.step(err, f, g):
            status = Status.CALLBACK_STOP
            break
    return status, err, f, g, counts


def _auto_schedule(M, reg, xp):
    span = float(xp.max(M) - xp.min(M))
    stages = []
    r = 1e-2 * span
    while r > 3.0 * reg:
        stages.append(r)
        r *= 0.1
    return stages


def sns_stages(M, a, b, reg, f, g, tol, mon, xp, ops, options):
    """The epsilon-scaling stages of SNS (as ``_solve`` of :mod:`numlearn.ot._sinkhorn`).

    Returns ``status, err, f, g, extra`` with the iteration counts in ``extra``.
    """
    m = M.shape[1]
    density = options["density"]
    cap = m if density is None else int(min(m, max(1, math.ceil(density * m))))
    schedule = options["reg_schedule"]
    if schedule == "auto":
        schedule = _auto_schedule(M, reg, xp)
    stages = [(r, max(tol, 1e-6)) for r in schedule if r > reg] + [(reg, tol)]
    counts = np.zeros(3, dtype=int)
    status, err = Status.MAX_ITER, math.inf
    for i, (reg_k, tol_k) in enumerate(stages):
        status, err, f, g, c = _sns_loop(
            M, a, b, reg_k, f, g, tol_k, options["n_sinkhorn"] if i == 0 else 2,
            options["threshold"], cap, options["max_newton_iter"], options["cg_rtol"],
            options["cg_maxiter"], mon, xp, ops,
        )
        counts += c
        if status is Status.CALLBACK_STOP:
            break
    extra = dict(n_sinkhorn_iter=int(counts[0]), n_newton_iter=int(counts[1]),
                 n_cg_iter=int(counts[2]))
    return status, err, f, g, extra
