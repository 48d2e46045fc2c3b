"""Entropic optimal transport: Sinkhorn (scaling and log-domain) and Sinkhorn–Newton–Sparse."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import get_namespace, is_numpy_namespace
from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    suggest_keywords,
    check_array,
    check_callable,
    check_keywords,
    check_option,
    check_scalar,
    check_vector,
    check_verbose,
)
from numlearn.linalg import cg
from numlearn.ot import _kernels as K

__all__ = ["sinkhorn", "sinkhorn_newton_sparse"]

#: The keywords every ``sinkhorn`` method accepts (for "did you mean" answers).
_SINKHORN_KEYWORDS = ("a", "b", "M", "reg", "method", "tol", "max_iter", "init",
                      "return_history", "verbose", "callback")

_METHODS = ("sinkhorn", "sinkhorn_log", "sns")


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def _check_weights(w, name: str, size: int) -> np.ndarray:
    if w is None or (hasattr(w, "__len__") and len(w) == 0):
        return np.full(size, 1.0 / size)
    w = np.asarray(check_vector(w, name, size), dtype=np.float64)
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative; it has negative entries.")
    if not w.sum() > 0:
        raise ValueError(f"{name} must have a positive sum.")
    return w


def _check_problem(a, b, M, reg):
    M = check_array(M, "M", ndim=2)
    if M.dtype not in (np.float32, np.float64):
        M = M.astype(np.float64)
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M must be non-empty, got shape {M.shape}.")
    a = _check_weights(a, "a", n)
    b = _check_weights(b, "b", m)
    sa, sb = float(a.sum()), float(b.sum())
    if abs(sa - sb) > 1e-8 * max(sa, sb):
        raise ValueError(
            f"a and b must have the same total mass (the marginals are infeasible otherwise); "
            f"got sum(a) = {sa!r} and sum(b) = {sb!r}."
        )
    reg = check_scalar(reg, "reg", low=0.0, include_low=False)
    return a, b, np.ascontiguousarray(M), reg


def _check_init(init, n, m):
    if init is None:
        return np.zeros(n), np.zeros(m)
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError("init must be a pair (f, g) of dual potentials.")
    f = np.array(check_vector(init[0], "init[0]", n), dtype=np.float64)
    g = np.array(check_vector(init[1], "init[1]", m), dtype=np.float64)
    return f, g


# --------------------------------------------------------------------------------------
# iteration loops (work on the support of a and b, float64 potentials)
# --------------------------------------------------------------------------------------
class _Monitor:
    """History, progress and callback bookkeeping shared by the loops."""

    def __init__(self, name, verbose, callback, return_history):
        self.progress = Progress(name, verbose, measure="marginal error")
        self.callback = callback
        self.history = [] if return_history else None
        self.n_iter = 0

    def step(self, err, f, g) -> bool:
        """Record one iteration; return True if the callback asked to stop."""
        self.n_iter += 1
        if self.history is not None:
            self.history.append(err)
        self.progress.update(self.n_iter, err)
        if self.callback is not None:
            try:
                self.callback(f, g)
            except StopIteration:
                return True
        return False

    def check(self, err, f, g, tol) -> Status | None:
        """Record an iteration whose marginal error is ``err`` and say whether to stop:
        ``DIVERGED`` (not finite), ``SUCCESS`` (``err <= tol``), ``CALLBACK_STOP`` or None."""
        if not math.isfinite(err):
            return Status.DIVERGED
        stop = self.step(err, f, g)
        if err <= tol:
            return Status.SUCCESS
        return Status.CALLBACK_STOP if stop else None


def _sinkhorn_log_loop(M, a, b, reg, f, g, tol, max_iter, mon):
    """Alternate exact row and column updates in the log domain, in place on f and g.

    The row pass first measures ``‖P1 - a‖₁`` of the current plan (its columns are exact
    after the previous column update), then updates ``f``; the column pass updates ``g``.
    """
    n, m = M.shape
    inv_reg = 1.0 / reg
    log_a, log_b = np.log(a), np.log(b)
    lr, lc, work = np.empty(n), np.empty(m), np.empty(m)
    err = math.inf
    status = Status.MAX_ITER
    for it in range(max_iter + 1):
        K.row_logsumexp(M, f, g, inv_reg, lr)
        if it > 0:  # the columns are exact only after a column update
            err = float(np.abs(np.exp(lr) - a).sum())
            verdict = mon.check(err, f, g, tol)
            if verdict is not None:
                status = verdict
                break
        if it >= max_iter:
            break
        f += reg * (log_a - lr)
        K.col_logsumexp(M, f, g, inv_reg, work, lc)
        g += reg * (log_b - lc)
    return status, err


#: At most this many epsilon-scaling stages (costs near 1e±300 or a reg near underflow
#: would otherwise give ~300 stages, each with up to max_newton_iter Newton steps).
_MAX_STAGES = 12


def _auto_schedule(M, reg, xp=np):
    """Epsilon-scaling stages ``span·1e-2, span·1e-3, ...`` above ``3 reg`` (span = cost range);
    beyond ``_MAX_STAGES`` of them, ``_MAX_STAGES`` stages geometrically spaced over the
    same range."""
    hi, lo = float(xp.max(M)), float(xp.min(M))
    if not hi > lo:
        return []
    log_top = math.log10(hi / 2 - lo / 2) + math.log10(2.0) - 2.0  # no overflow of hi - lo
    log_stop = math.log10(3.0) + math.log10(reg)
    if log_top - log_stop > _MAX_STAGES:
        return [float(r) for r in 10.0 ** np.linspace(log_top, log_stop, _MAX_STAGES + 1)[:-1]]
    span = float(xp.max(M) - xp.min(M))
    stages = []
    r = 1e-2 * span
    while r > 3.0 * reg:
        stages.append(r)
        r *= 0.1
    return stages


def _sinkhorn_sweep(M, a, b, reg, f, g):
    """One log-domain Sinkhorn iteration (row then column update), in place."""
    n, m = M.shape
    lr, lc, work = np.empty(n), np.empty(m), np.empty(m)
    K.row_logsumexp(M, f, g, 1.0 / reg, lr)
    f += reg * (np.log(a) - lr)
    K.col_logsumexp(M, f, g, 1.0 / reg, work, lc)
    g += reg * (np.log(b) - lc)


def _scaling_is_safe(M, f, g, reg, xp=np, limit=300.0):
    """True if every ``|f_i + g_j - M_ij| / reg`` is below ``limit`` (exp stays normal)."""
    if M.dtype != xp.float64 or math.prod(M.shape) == 0:
        return False
    span = (float(xp.max(M)) + float(xp.max(xp.abs(f))) + float(xp.max(xp.abs(g)))) / reg
    return span < limit and float(xp.min(M)) >= 0.0


def _sinkhorn_scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon):
    """Classic Sinkhorn–Knopp on the kernel ``exp(-M/reg)`` (two BLAS products/iteration).

    Stops with ``DIVERGED`` (keeping the last finite potentials) when the kernel's
    products underflow to zero or the scalings overflow: the small-``reg`` failure that
    the log-domain methods avoid.
    """
    dtype = M.dtype
    Kmat = np.exp(M * dtype.type(-1.0 / reg))
    u = np.exp(f / reg).astype(dtype)
    v = np.exp(g / reg).astype(dtype)
    err = math.inf
    status = Status.MAX_ITER
    with np.errstate(all="ignore"):
        Kv = Kmat @ v
        for it in range(max_iter + 1):
            if it > 0:
                err = float(np.abs(u.astype(np.float64) * Kv - a).sum())
                verdict = mon.check(err, f, g, tol)
                if verdict is not None:
                    status = verdict
                    break
            if it >= max_iter:
                break
            u_new = (a / Kv).astype(dtype)
            KTu = Kmat.T @ u_new
            v_new = (b / KTu).astype(dtype)
            Kv_new = Kmat @ v_new
            if not (np.all(np.isfinite(u_new)) and np.all(np.isfinite(v_new))
                    and np.all(u_new > 0) and np.all(v_new > 0)
                    and np.all(np.isfinite(Kv_new))):
                status = Status.DIVERGED
                break
            u, v, Kv = u_new, v_new, Kv_new
            f[:] = reg * np.log(u.astype(np.float64))
            g[:] = reg * np.log(v.astype(np.float64))
    return status, err


class _PlanState:
    """Marginals, dual value and sparsified plan (CSR) at potentials (f, g).

    It is also its own sparsifier (:meth:`sparse`): the products of
    :func:`_newton_direction` run on the fused Numba kernels.
    """

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


def _schur_solve(own, other, g_own, g_other, to_own, to_other, schur, cg_rtol, cg_maxiter, xp):
    """One side of the Newton system with the other side eliminated.

    ``own``/``other`` are the marginals on the kept/eliminated side, ``to_own``/``to_other``
    the products with the sparsified plan mapping into each side, ``schur(other_inv,
    own_diag)`` the Schur complement's matvec and diagonal. A ridge of 1e-10 max(own)
    fixes the gauge direction (1, -1); CG has a Jacobi preconditioner.
    """
    ridge = 1e-10 * float(xp.max(own))
    own_diag = own + ridge
    other_inv = 1.0 / other
    rhs = g_own - to_own(g_other * other_inv)
    matvec, diag = schur(other_inv, own_diag)
    diag = xp.maximum(diag, xp.full_like(diag, ridge))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # an inexact step is fine
        sol = cg(_Operator(own.shape[0], matvec), rhs, rtol=cg_rtol, maxiter=cg_maxiter,
                 M=lambda v: v / diag)
    d_own = sol.x
    return d_own, (g_other - to_other(d_own)) * other_inv, sol.n_iter


def _newton_direction(st, a, b, reg, cg_rtol, cg_maxiter, xp=np):
    """Solve ``[[diag(r), S], [Sᵀ, diag(c)]] d = reg ∇`` through the smaller Schur complement.

    ``S = st.sparse()`` is the sparsified plan (with ``mv``, ``rmv``, ``schur_g``,
    ``schur_f``); the diagonal blocks are the exact marginals of the full plan, so the
    matrix is diagonally dominant (PSD). Any namespace ``xp``.
    """
    gf, gg = reg * (a - st.r), reg * (b - st.c)
    S = st.sparse()
    if st.c.shape[0] <= st.r.shape[0]:  # unknown dg, df eliminated
        dg, df, its = _schur_solve(st.c, st.r, gg, gf, S.rmv, S.mv, S.schur_g, cg_rtol,
                                   cg_maxiter, xp)
    else:  # unknown df, dg eliminated
        df, dg, its = _schur_solve(st.r, st.c, gf, gg, S.mv, S.rmv, S.schur_f, cg_rtol,
                                   cg_maxiter, xp)
    return df, dg, its


class _NumbaSNS:
    """The steps :func:`_sns_loop` needs, on NumPy arrays and the fused Numba kernels
    (potentials updated in place and returned)."""

    xp = np

    @staticmethod
    def scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon):
        return (*_sinkhorn_scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon), f, g)

    @staticmethod
    def log_loop(M, a, b, reg, f, g, tol, max_iter, mon):
        return (*_sinkhorn_log_loop(M, a, b, reg, f, g, tol, max_iter, mon), f, g)

    @staticmethod
    def sweep(M, a, b, reg, f, g):
        _sinkhorn_sweep(M, a, b, reg, f, g)
        return f, g

    @staticmethod
    def plan_state(M, threshold, cap, like=None):
        n, m = M.shape
        return _PlanState(n, m, threshold, cap,
                          size=None if like is None else like.indices.shape[0])


def _sns_loop(M, a, b, reg, f, g, tol, n_sinkhorn, threshold, cap, max_newton_iter, cg_rtol,
              cg_maxiter, mon, kit=_NumbaSNS):
    """N₁ Sinkhorn steps, then sparse Newton steps with a backtracking line search.

    ``kit`` holds the namespace ``xp`` and the path's Sinkhorn loops, sweep and plan
    states (:class:`_NumbaSNS`; that of :mod:`numlearn.ot._sns_array_api` for other
    namespaces). Returns ``status, err, f, g, [n_sinkhorn, n_newton, n_cg]``.
    """
    xp = kit.xp
    start = mon.n_iter
    if _scaling_is_safe(M, f, g, reg, xp):
        # exp(-M/reg) and the scalings stay far from under/overflow: the scaling form of
        # the same iteration (two BLAS products instead of two exp passes) is exact
        status, err, f, g = kit.scaling_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon)
        if status is Status.DIVERGED:  # not expected; the log domain is always safe
            status, err, f, g = kit.log_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon)
    else:
        status, err, f, g = kit.log_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon)
    counts = [mon.n_iter - start, 0, 0]
    if status is not Status.MAX_ITER:
        return status, err, f, g, counts
    st = kit.plan_state(M, threshold, cap).evaluate(M, a, b, f, g, reg)
    trial = kit.plan_state(M, threshold, cap, like=st)
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
        slope = float((a - st.r) @ df + (b - st.c) @ dg)
        if not (slope > 0 and bool(xp.all(xp.isfinite(df)) & xp.all(xp.isfinite(dg)))):
            # not an ascent direction (CG broke down): fall back on the gradient
            df, dg = reg * (a - st.r) / st.r, reg * (b - st.c) / st.c
            slope = float((a - st.r) @ df + (b - st.c) @ dg)
        t = 1.0
        accepted = False
        for _ in range(30):
            ft, gt = f + t * df, g + t * dg
            trial.evaluate(M, a, b, ft, gt, reg)
            # Armijo on the concave dual, or a sufficient decrease of the marginal error
            # (near the optimum the dual's increase drowns in rounding).
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
                # a full step that gains little: the dropped entries carry the slow modes
                # (small reg, nearly singular Schur complement); sparsify less from now on
                st.threshold = trial.threshold = (
                    st.threshold * 1e-2 if st.threshold > 1e-10 else 0.0)
            if trial.err > 1e-3 * st.err:
                # slow progress (far from the region of fast convergence): one Sinkhorn
                # iteration (exact block ascent on the dual) restores the marginals
                f, g = kit.sweep(M, a, b, reg, f, g)
                trial.evaluate(M, a, b, f, g, reg)
            st, trial = trial, st
        else:  # no progress along the Newton direction: one Sinkhorn iteration instead
            f, g = kit.sweep(M, a, b, reg, f, g)
            st.evaluate(M, a, b, f, g, reg)
        err = st.err
        if mon.step(err, f, g):
            status = Status.CALLBACK_STOP
            break
    return status, err, f, g, counts


def _sns_stages(M, a, b, reg, f, g, tol, mon, options, kit=_NumbaSNS):
    """SNS with epsilon scaling: warm-start through the larger regs of the schedule, each
    solved to a loose tolerance, then solve at ``reg`` (any path: see :func:`_sns_loop`).

    Returns ``status, err, f, g, extra`` with the iteration counts in ``extra``.
    """
    m = M.shape[1]
    density = options["density"]
    cap = m if density is None else int(min(m, max(1, math.ceil(density * m))))
    schedule = options["reg_schedule"]
    if schedule == "auto":
        schedule = _auto_schedule(M, reg, kit.xp)
    stages = [(r, max(tol, 1e-6)) for r in schedule if r > reg] + [(reg, tol)]
    counts = np.zeros(3, dtype=int)
    status, err = Status.MAX_ITER, math.inf
    for i, (reg_k, tol_k) in enumerate(stages):
        status, err, f, g, c = _sns_loop(
            M, a, b, reg_k, f, g, tol_k, options["n_sinkhorn"] if i == 0 else 2,
            options["threshold"], cap, options["max_newton_iter"], options["cg_rtol"],
            options["cg_maxiter"], mon, kit,
        )
        counts += c
        if status is Status.CALLBACK_STOP or status is Status.DIVERGED:
            break  # (a diverged stage would hand non-finite potentials to the next)
    extra = dict(n_sinkhorn_iter=int(counts[0]), n_newton_iter=int(counts[1]),
                 n_cg_iter=int(counts[2]))
    return status, err, f, g, extra


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def _solve(a, b, M, reg, *, method, tol, max_iter, init, return_history, verbose, callback,
           sns_options, name):
    xp = get_namespace(a, b, M)
    if not is_numpy_namespace(xp):  # CuPy, array_api_strict, ...: the array-API loops
        from numlearn.ot._sinkhorn_array_api import solve_array_api

        return solve_array_api(a, b, M, reg, method=method, tol=tol, max_iter=max_iter,
                               init=init, return_history=return_history, verbose=verbose,
                               callback=callback, name=name, xp=xp, sns_options=sns_options)
    a, b, M, reg = _check_problem(a, b, M, reg)
    n, m = M.shape
    tol = check_scalar(tol, "tol", low=0.0)
    callback = check_callable(callback, "callback", allow_none=True)
    f, g = _check_init(init, n, m)
    # Work on the support of the weights: zero-weight rows/columns carry no mass.
    sa, sb = a > 0, b > 0
    full = bool(sa.all() and sb.all())
    Ms = M if full else np.ascontiguousarray(M[np.ix_(sa, sb)])
    fs, gs = (f, g) if full else (f[sa].copy(), g[sb].copy())
    a_s, b_s = a[sa], b[sb]
    mon = _Monitor(name, verbose, callback, return_history)
    extra = {}
    if method == "sinkhorn_log":
        status, err = _sinkhorn_log_loop(Ms, a_s, b_s, reg, fs, gs, tol, max_iter, mon)
    elif method == "sinkhorn":
        status, err = _sinkhorn_scaling_loop(Ms, a_s, b_s, reg, fs, gs, tol, max_iter, mon)
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # overflow shows in the status (DIVERGED, one warning), not once per iteration
            status, err, fs, gs, extra = _sns_stages(Ms, a_s, b_s, reg, fs, gs, tol, mon,
                                                     sns_options)
        if full:  # the Newton steps rebind the potentials
            f, g = fs, gs
    mon.progress.update(mon.n_iter, err, final=True)

    plan_s = np.empty(Ms.shape, dtype=M.dtype)
    K.fill_plan(Ms, fs, gs, 1.0 / reg, plan_s)
    if full:
        plan = plan_s
    else:
        plan = np.zeros(M.shape, dtype=M.dtype)
        plan[np.ix_(sa, sb)] = plan_s
        f = np.full(n, -np.inf)
        g = np.full(m, -np.inf)
        f[sa], g[sb] = fs, gs
    if method != "sns":
        extra = dict(n_sinkhorn_iter=mon.n_iter, n_newton_iter=0)
    return _finish(plan, f, g, a, b, M, np, status=status, mon=mon, reg=reg, tol=tol,
                   method=method, name=name, stacklevel=5, **extra)


def _finish(plan, f, g, a, b, M, xp, *, status, mon, reg, tol, method, name, stacklevel,
            **extra):
    """The result of any Sinkhorn method from the formed plan and potentials (any array
    namespace ``xp``): marginal error and cost measured on the plan, potentials in ``M``'s
    dtype, the ConvergenceWarning if due."""
    marginal_error = float(
        xp.sum(xp.abs(xp.sum(plan, axis=1, dtype=xp.float64) - a))
        + xp.sum(xp.abs(xp.sum(plan, axis=0, dtype=xp.float64) - b))
    )
    if status is Status.SUCCESS and not marginal_error <= max(tol, 1e-12) * 10:
        status = Status.STAGNATION  # rounding left the formed plan off the tolerance
    cost = float(xp.sum(plan * M, dtype=xp.float64))
    f, g = xp.astype(f, M.dtype), xp.astype(g, M.dtype)
    result = make_result(status=status, n_iter=mon.n_iter, plan=plan, cost=cost, f=f, g=g,
                         marginal_error=marginal_error, reg=reg, method=method, **extra)
    if status is Status.DIVERGED and method == "sinkhorn":
        result.message = (
            "Diverged: the kernel exp(-M/reg) underflowed (a row or column of it is zero); "
            "use method='sinkhorn_log' or 'sns' for small reg."
        )
    if mon.history is not None:
        result.history = np.asarray(mon.history)
    warn_if_not_converged(result, name, stacklevel=stacklevel)
    return result


def sinkhorn(
    a: Any,
    b: Any,
    M: Any,
    reg: float,
    *,
    method: str = "sinkhorn_log",
    tol: float = 1e-9,
    max_iter: int = 10000,
    init: tuple | None = None,
    return_history: bool = False,
    verbose: int = 0,
    callback: Callable | None = None,
    **options: Any,
) -> SolverResult:
    r"""Entropic optimal transport between histograms ``a`` and ``b`` with cost ``M``.

    Solves

    .. math:: \min_{P \ge 0} \langle M, P\rangle + \mathrm{reg} \sum_{ij} P_{ij}\log P_{ij}
              \quad\text{s.t.}\quad P\mathbf 1 = a,\; P^\top \mathbf 1 = b

    through its concave dual in the potentials ``f``, ``g``; the plan is
    ``P_ij = exp((f_i + g_j - M_ij) / reg)``.

    NumPy inputs run on fused Numba kernels. Arrays of another array-API library (CuPy on
    a GPU, ``array_api_strict``, ...) run every method in that library, on the inputs'
    device: the same iterates, stopping rule, history and warnings, with ``plan``, ``f``,
    ``g`` returned in the inputs' namespace (the potentials are float64 inside, as on the
    NumPy path). Generic namespaces use whole-matrix operations (a max-shifted
    log-sum-exp, matrix-vector products, float64 ``(n, m)`` temporaries); CuPy arrays
    run the log-sum-exp half-steps on fused Numba-CUDA kernels (one read of ``M`` each)
    and the SNS sparsifier on a CUDA top-k kernel with ``cupyx.scipy.sparse`` products.

    Parameters
    ----------
    a : array, shape (n,), or None
        Source weights (non-negative). ``None`` or an empty list means uniform ``1/n``.
    b : array, shape (m,), or None
        Target weights, with the same total mass as ``a`` (relative difference ≤ 1e-8).
    M : array, shape (n, m)
        Cost matrix (float32 or float64; the plan has the same dtype).
    reg : float
        Entropic regularization (> 0).
    method : {"sinkhorn_log", "sinkhorn", "sns"}, default "sinkhorn_log"
        ``"sinkhorn_log"``: Sinkhorn in the log domain (Numba row/column log-sum-exp, one
        ``exp`` per entry per half-step, stable for any ``reg``). ``"sinkhorn"``: the
        classic scaling iteration on ``exp(-M/reg)`` (fastest per iteration, but the
        kernel underflows for small ``reg``: the result then reports ``DIVERGED``).
        ``"sns"``: :func:`sinkhorn_newton_sparse` (its options ``n_sinkhorn``,
        ``threshold``, ``density``, ``max_newton_iter``, ``cg_rtol``, ``cg_maxiter``,
        ``reg_schedule`` may be passed as
        keyword arguments; ``max_iter`` caps the Newton iterations).
    tol : float, default 1e-9
        Stop when the marginal error ``‖P1 - a‖₁ + ‖Pᵀ1 - b‖₁ ≤ tol``.
    max_iter : int, default 10000
        Maximum number of Sinkhorn iterations (one row and one column update each).
    init : pair of arrays (f, g), optional
        Starting dual potentials (zeros by default).
    return_history : bool, default False
        Record the marginal error of every iteration in ``history``.
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every iteration.
    callback : callable, optional
        Called as ``callback(f, g)`` after every iteration with the current potentials
        (do not modify them). Raising ``StopIteration`` stops the solver.
    **options
        Options of ``method="sns"`` (see above).

    Returns
    -------
    SolverResult
        ``plan`` (n, m), ``cost`` (``⟨M, P⟩``), ``f``, ``g`` (dual potentials, ``-inf``
        where a weight is zero; ``plan``, ``f``, ``g`` in ``M``'s dtype and in the inputs'
        array namespace and device), ``marginal_error`` (of the returned plan),
        ``n_iter``, ``n_sinkhorn_iter``, ``n_newton_iter``, ``converged``, ``status``,
        ``message`` and, if requested, ``history``.

    Raises
    ------
    ValueError
        If weights are negative or not finite, the masses of ``a`` and ``b`` differ,
        ``M`` has the wrong shape or is not finite, or ``reg <= 0``.
    TypeError
        If an argument has the wrong type, or ``a``, ``b``, ``M`` come from different
        array libraries.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached (``converged`` is then False).

    See Also
    --------
    sinkhorn_newton_sparse : Newton acceleration for small ``reg``.
    SinkhornTransport : the estimator built on this function.

    References
    ----------
    .. [1] M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal transport",
       NeurIPS 2013.
    .. [2] G. Peyré and M. Cuturi, "Computational optimal transport", Foundations and
       Trends in Machine Learning 11 (2019), section 4.4 (log-domain Sinkhorn).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import sinkhorn
    >>> x = np.linspace(0, 1, 5)
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> res = sinkhorn(None, None, M, reg=0.05)
    >>> res.converged, res.marginal_error <= 1e-9
    (True, True)
    >>> bool(np.allclose(res.plan.sum(axis=1), 0.2))
    True

    Other array libraries stay in their namespace (CuPy arrays would stay on the GPU):

    >>> import array_api_strict as xps
    >>> res_x = sinkhorn(None, None, xps.asarray(M), reg=0.05)
    >>> type(res_x.plan).__module__.startswith("array_api_strict"), res_x.n_iter == res.n_iter
    (True, True)
    """
    check_option(method, "method", _METHODS)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    check_verbose(verbose)
    if method == "sns":  # straight to _solve, so that warnings point at the caller
        sns_names = set(inspect.signature(_check_sns_options).parameters)
        check_keywords({k: v for k, v in options.items() if k not in sns_names},
                       sorted(set(_SINKHORN_KEYWORDS) | sns_names), "sinkhorn(method='sns')")
        sns_options = _check_sns_options(**{"max_newton_iter": max_iter, **options})
        return _solve(a, b, M, reg, method="sns", tol=tol,
                      max_iter=sns_options["max_newton_iter"], init=init,
                      return_history=return_history, verbose=verbose, callback=callback,
                      sns_options=sns_options, name="sinkhorn_newton_sparse")
    check_keywords(options, _SINKHORN_KEYWORDS, f"sinkhorn(method={method!r})")
    return _solve(a, b, M, reg, method=method, tol=tol, max_iter=max_iter, init=init,
                  return_history=return_history, verbose=verbose, callback=callback,
                  sns_options=None, name=f"sinkhorn ({method})")


@suggest_keywords
def sinkhorn_newton_sparse(
    a: Any,
    b: Any,
    M: Any,
    reg: float,
    *,
    n_sinkhorn: int = 20,
    threshold: float = 1e-3,
    density: float | None = None,
    tol: float = 1e-10,
    max_newton_iter: int = 100,
    cg_rtol: float = 1e-2,
    cg_maxiter: int | None = None,
    reg_schedule: Any = "auto",
    init: tuple | None = None,
    return_history: bool = False,
    verbose: int = 0,
    callback: Callable | None = None,
) -> SolverResult:
    r"""Entropic optimal transport by Sinkhorn–Newton–Sparse (SNS).

    Runs ``n_sinkhorn`` Sinkhorn iterations, then Newton steps on the concave dual

    .. math:: D(f, g) = a^\top f + b^\top g - \mathrm{reg}\sum_{ij}
              \exp((f_i + g_j - M_{ij})/\mathrm{reg}),

    whose gradient is the marginal error ``(a - P1, b - Pᵀ1)`` and whose Hessian is
    ``-(1/reg) [[diag(P1), P], [Pᵀ, diag(Pᵀ1)]]``. Each Newton step sparsifies the
    off-diagonal blocks ``P``: in every row it keeps the entries at least
    ``threshold`` times the row's largest (at most ``⌈density·m⌉`` of them, the largest:
    a top-k selection), and it keeps the *exact* diagonal blocks, so the approximate
    Hessian stays diagonally dominant (PSD). The smaller Schur complement is solved by
    :func:`numlearn.linalg.cg` (Jacobi-preconditioned, with a 1e-10 relative ridge that
    fixes the gauge direction ``(1, -1)``). A backtracking line search accepts a step
    that satisfies Armijo's condition on ``D`` or decreases the marginal error by a
    sufficient fraction, and rejects non-finite trial points; when a step gains less
    than a factor 1000 in marginal error, one Sinkhorn iteration follows it (exact block
    ascent on ``D``, which restores the marginals far from the optimum). Each Newton
    iteration costs one pass over ``M`` per trial point (one ``exp`` per entry:
    marginals, dual value and sparsification are fused in one Numba kernel) plus a
    sparse solve; memory stays ``O(n m)``.

    Two safeguards go beyond the paper and make small ``reg`` work: epsilon scaling
    (``reg_schedule``, on by default), and a threshold divided by 100 whenever a full
    Newton step gains less than a factor 2 (at small ``reg`` the Schur complement is
    nearly singular and its slow modes live in the small entries). The warm-up
    iterations use the scaling (BLAS) form of Sinkhorn when ``exp(-M/reg)`` provably
    stays normal, the log-domain kernels otherwise.

    The paper keeps a fixed fraction λ = 2/n of the entries. A relative threshold
    adapts to how spread the plan is: on the random assignment problem it keeps about
    as few entries as λ = 2/n, while on smooth costs at moderate ``reg`` (where 2 entries
    per row leave Newton converging linearly at rate ~0.8) it keeps enough for
    superlinear-looking convergence.

    Parameters
    ----------
    a, b : arrays, shapes (n,) and (m,), or None
        Source and target weights (``None``/empty: uniform), equal total mass.
    M : array, shape (n, m)
        Cost matrix (float32 or float64). Arrays of another array-API library than NumPy
        (CuPy, ...) are solved in that library, on their device, by the same steps
        (:func:`sinkhorn` says how), and ``plan``, ``f``, ``g`` are returned there; that
        path forms the ``(n, m)`` plan at each trial point (``O(n m)`` memory).
    reg : float
        Entropic regularization (> 0).
    n_sinkhorn : int, default 20
        Number of Sinkhorn iterations before the Newton phase (in the first stage of
        ``reg_schedule``; later stages use 2).
    threshold : float, default 1e-3
        Relative threshold of the sparsification (entries ``≥ threshold·max(row)`` are
        kept); 0 keeps every entry (exact Newton), 1 only each row's maxima.
    density : float, optional
        Upper bound on the fraction of each row kept (``⌈density·m⌉`` entries). No bound
        by default.
    tol : float, default 1e-10
        Stop when ``‖P1 - a‖₁ + ‖Pᵀ1 - b‖₁ ≤ tol``.
    max_newton_iter : int, default 100
        Maximum number of Newton iterations.
    cg_rtol : float, default 1e-2
        Relative tolerance of the inner CG solve.
    cg_maxiter : int, optional
        Maximum CG iterations per Newton step (CG's default ``10 size`` if None).
    reg_schedule : "auto" or sequence of float, default "auto"
        Epsilon scaling: regularizations larger than ``reg`` to solve first (in the
        given order, each to marginal error ``max(tol, 1e-6)``, warm-starting the next
        stage; later stages start with 2 Sinkhorn iterations), so that the Newton phase
        starts near its region of fast convergence. ``"auto"`` uses ``s·1e-2, s·1e-3,
        ...`` down to ``3 reg`` (``s`` the range of ``M``; none when ``reg ≥ s/300``);
        ``()`` turns it off (the paper's algorithm). Iteration counts add up over the
        stages; ``max_newton_iter`` applies to each stage.
    init : pair of arrays (f, g), optional
        Starting dual potentials.
    return_history : bool, default False
        Record the marginal error of every iteration (Sinkhorn, then Newton) in
        ``history``.
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every iteration.
    callback : callable, optional
        ``callback(f, g)`` after every iteration; ``StopIteration`` stops the solver.

    Returns
    -------
    SolverResult
        As :func:`sinkhorn`, with ``n_sinkhorn_iter``, ``n_newton_iter`` (their sum is
        ``n_iter``) and ``n_cg_iter`` (total inner CG iterations).

    Raises
    ------
    ValueError
        On invalid weights, cost, ``reg`` or options (see :func:`sinkhorn`).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached within ``max_newton_iter`` Newton iterations.

    References
    ----------
    .. [1] X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil,
       T. Xiao and L. Ying, "Accelerating Sinkhorn algorithm with sparse Newton
       iterations", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import sinkhorn_newton_sparse
    >>> rng = np.random.default_rng(0)
    >>> M = rng.random((50, 40))
    >>> res = sinkhorn_newton_sparse(None, None, M, reg=0.01)
    >>> res.converged, res.marginal_error <= 1e-10, res.n_newton_iter < 30
    (True, True, True)

    The same steps in another array library (CuPy arrays would stay on the GPU):

    >>> import array_api_strict as xps
    >>> res_x = sinkhorn_newton_sparse(None, None, xps.asarray(M), reg=0.01)
    >>> res_x.n_newton_iter == res.n_newton_iter, res_x.f.dtype == xps.float64
    (True, True)
    """
    check_verbose(verbose)
    options = _check_sns_options(n_sinkhorn=n_sinkhorn, threshold=threshold, density=density,
                                 max_newton_iter=max_newton_iter, cg_rtol=cg_rtol,
                                 cg_maxiter=cg_maxiter, reg_schedule=reg_schedule)
    return _solve(a, b, M, reg, method="sns", tol=tol, max_iter=options["max_newton_iter"],
                  init=init, return_history=return_history, verbose=verbose,
                  callback=callback, sns_options=options, name="sinkhorn_newton_sparse")


def _check_sns_options(*, n_sinkhorn=20, threshold=1e-3, density=None, max_newton_iter=100,
                       cg_rtol=1e-2, cg_maxiter=None, reg_schedule="auto") -> dict:
    """Validated options of the SNS method (defaults as :func:`sinkhorn_newton_sparse`)."""
    n_sinkhorn = check_scalar(n_sinkhorn, "n_sinkhorn", kind=int, low=0)
    density = check_scalar(density, "density", low=0.0, high=1.0, include_low=False,
                           allow_none=True)
    max_newton_iter = check_scalar(max_newton_iter, "max_newton_iter", kind=int, low=0)
    cg_rtol = check_scalar(cg_rtol, "cg_rtol", low=0.0, include_low=False)
    cg_maxiter = check_scalar(cg_maxiter, "cg_maxiter", kind=int, low=1, allow_none=True)
    threshold = check_scalar(threshold, "threshold", low=0.0, high=1.0)
    if not (isinstance(reg_schedule, str) and reg_schedule == "auto"):
        if isinstance(reg_schedule, str):
            raise ValueError(f"reg_schedule must be 'auto' or a sequence, got {reg_schedule!r}.")
        try:
            reg_schedule = tuple(reg_schedule)
        except TypeError:
            raise TypeError("reg_schedule must be 'auto' or a sequence of floats.") from None
        reg_schedule = tuple(
            check_scalar(r, f"reg_schedule[{i}]", low=0.0, include_low=False)
            for i, r in enumerate(reg_schedule)
        )
    return dict(n_sinkhorn=n_sinkhorn, threshold=threshold, density=density,
                max_newton_iter=max_newton_iter, cg_rtol=cg_rtol, cg_maxiter=cg_maxiter,
                reg_schedule=reg_schedule)
