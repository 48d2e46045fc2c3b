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

_METHODS = ("auto", "sinkhorn", "sinkhorn_log", "sns")


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


def _weight_eps(*weights) -> float:
    """Unit roundoff of the least precise floating weights given (float64's otherwise)."""
    eps = float(np.finfo(np.float64).eps)
    for w in weights:
        dtype = getattr(w, "dtype", None)
        if dtype is None or (isinstance(w, np.ndarray) and dtype == np.float64):
            continue
        try:
            if dtype is not None and np.dtype(str(dtype).split(".")[-1]).kind == "f":
                eps = max(eps, float(np.finfo(np.dtype(str(dtype).split(".")[-1])).eps))
        except TypeError:
            continue
    return eps


def _check_masses(a, b, eps, xp=np):
    """Equal total masses, to ``1e-8`` relative for float64 weights and to ``16 eps`` for
    less precise ones (float32 ``a = ot.unif(n).astype(float32)`` sums to 1 ± 6e-8). Less
    precise weights have ``b`` rescaled to ``a``'s mass (a change below their rounding),
    so that the marginals are feasible to any tolerance."""
    sa, sb = float(xp.sum(a)), float(xp.sum(b))
    rtol = max(1e-8, 16.0 * eps)
    if abs(sa - sb) > rtol * max(sa, sb):
        raise ValueError(
            f"a and b must have the same total mass (the marginals are infeasible otherwise); "
            f"got sum(a) = {sa!r} and sum(b) = {sb!r} (relative tolerance {rtol:.1e} for "
            f"these weights' dtype)."
        )
    if eps > float(np.finfo(np.float64).eps) and sa != sb:
        b = b * (sa / sb)
    return b


def _check_problem(a, b, M, reg):
    M = check_array(M, "M", ndim=2)
    if M.dtype not in (np.float32, np.float64):
        M = M.astype(np.float64)
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M must be non-empty, got shape {M.shape}.")
    eps = _weight_eps(a, b)
    a = _check_weights(a, "a", n)
    b = _check_weights(b, "b", m)
    b = _check_masses(a, b, eps)
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
# method="auto": scaling while safe, log domain otherwise, Newton once Sinkhorn stalls
# --------------------------------------------------------------------------------------
#: The Gibbs kernel exp(-(M - min M)/reg) has no subnormal entry below this span / reg.
_AUTO_KERNEL_SPAN = 650.0
#: Scalings u, v (and 1/u, 1/v) are kept inside [1e-250, 1e250]: far from under/overflow.
_AUTO_SCALING_LIMIT = 1e250
#: Iterations between two checks of the scaling loop (POT checks every 10 as well).
_AUTO_CHECK_EVERY = 10
#: Newton takes over when Sinkhorn's measured rate predicts more iterations than this. One
#: Newton iteration costs a few passes with an exp per entry of M (~30 BLAS mat-vec pairs)
#: and SNS needs about 10 of them from where Sinkhorn stalls.
_AUTO_NEWTON_AFTER = 1000


class _AutoKit(_NumbaSNS):
    """:class:`_NumbaSNS` that records the phases that ran and skips the warm-up passes
    when ``n_sinkhorn`` is 0 (the Sinkhorn phase of ``auto`` already ran)."""

    def __init__(self, phases):
        self.phases = phases

    def _note(self, phase):
        if phase not in self.phases:
            self.phases.append(phase)

    def scaling_loop(self, M, a, b, reg, f, g, tol, max_iter, mon):
        if max_iter == 0:
            return Status.MAX_ITER, math.inf, f, g
        self._note("scaling")
        return _NumbaSNS.scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon)

    def log_loop(self, M, a, b, reg, f, g, tol, max_iter, mon):
        if max_iter == 0:
            return Status.MAX_ITER, math.inf, f, g
        self._note("log")
        return _NumbaSNS.log_loop(M, a, b, reg, f, g, tol, max_iter, mon)

    def sweep(self, M, a, b, reg, f, g):
        return _NumbaSNS.sweep(M, a, b, reg, f, g)

    def plan_state(self, M, threshold, cap, like=None):
        self._note("newton")
        return _NumbaSNS.plan_state(M, threshold, cap, like)


class _StallMeter:
    """Sinkhorn's linear rate, measured over windows of at least 10 iterations, and the
    verdict "stalled" when it predicts more than ``_AUTO_NEWTON_AFTER`` iterations to go."""

    def __init__(self, tol):
        self.log_tol = math.log(max(tol, 1e-16))
        self.ref = None

    def stalled(self, it, err) -> bool:
        if self.ref is None:
            self.ref = (it, err)
            return False
        it0, err0 = self.ref
        if it - it0 < _AUTO_CHECK_EVERY:
            return False
        self.ref = (it, err)
        if not (err > 0 and err0 > 0):
            return False
        rate = math.log(err / err0) / (it - it0)  # log of the per-iteration factor
        if rate >= 0.0:
            return True
        return (self.log_tol - math.log(err)) / rate > _AUTO_NEWTON_AFTER


def _auto_scaling_phase(M, a, b, reg, f, g, tol, max_iter, mon):
    """Sinkhorn–Knopp on the Gibbs kernel with BLAS mat-vecs, checked every few iterations.

    Returns ``(verdict, status, err, f, g, formed)``: verdict ``"done"`` (``status``
    final, ``formed = (plan, row sums, column sums, cost)``, the plan in place of the
    kernel), ``"log"`` (a scaling left
    ``[1e-250, 1e250]`` or the error was not finite: ``f``, ``g`` are the last checked
    safe potentials) or ``"newton"`` (the rate stalled).
    """
    lo = float(M.min())
    inv_reg = 1.0 / reg
    Kmat = K.gibbs_kernel(M, lo, inv_reg, np.empty(M.shape))
    # P = diag(u) Kmat diag(v) with u = exp((f - lo)/reg), v = exp(g/reg)
    v = np.exp(g * inv_reg)
    u = np.exp((f - lo) * inv_reg)
    if not (np.all(v > 1.0 / _AUTO_SCALING_LIMIT) and np.all(v < _AUTO_SCALING_LIMIT)):
        return "log", Status.MAX_ITER, math.inf, f, g, None
    every = 1 if (mon.callback is not None or mon.history is not None) else _AUTO_CHECK_EVERY
    meter = _StallMeter(tol)
    KT = Kmat.T
    it, err = 0, math.inf
    verdict, status = "done", Status.MAX_ITER
    with np.errstate(all="ignore"):
        Kv = Kmat @ v
        while True:  # the first check after one iteration (a warm start may be done)
            k = min(every if it else 1, max_iter - it)
            if k <= 0:
                break
            u0, v0, Kv0 = u, v, Kv
            for _ in range(k):
                u = a / Kv
                v = b / (KT @ u)
                Kv = Kmat @ v
            err = float(np.abs(u * Kv - a).sum())
            if not (math.isfinite(err) and _AUTO_SCALING_LIMIT > u.max()
                    and u.min() > 1.0 / _AUTO_SCALING_LIMIT and _AUTO_SCALING_LIMIT > v.max()
                    and v.min() > 1.0 / _AUTO_SCALING_LIMIT):
                u, v, Kv = u0, v0, Kv0  # back to the last safe iterate: the log domain
                verdict = "log"
                break
            it += k
            f = reg * np.log(u) + lo
            g = reg * np.log(v)
            mon.n_iter += k - 1
            stop = mon.check(err, f, g, tol)
            if stop is not None:
                status = stop
                break
            if meter.stalled(it, err):
                verdict = "newton"
                break
    f = reg * np.log(u) + lo
    g = reg * np.log(v)
    if verdict != "done":
        return verdict, status, err, f, g, None
    r, c = np.empty(M.shape[0]), np.empty(M.shape[1])
    cost = K.scale_plan_stats(Kmat, u, v, M, r, c)  # the kernel becomes the plan
    return verdict, status, err, f, g, (Kmat, r, c, cost)


def _auto_log_phase(M, a, b, reg, f, g, tol, max_iter, mon):
    """Log-domain Sinkhorn in windows of 10 iterations until it converges, reaches
    ``max_iter`` or stalls (verdict ``"newton"``). Returns ``(verdict, status, err)``,
    ``f``, ``g`` updated in place."""
    meter = _StallMeter(tol)
    it, err = 0, math.inf
    while it < max_iter:
        k = min(_AUTO_CHECK_EVERY, max_iter - it)
        status, err = _sinkhorn_log_loop(M, a, b, reg, f, g, tol, k, mon)
        it += k
        if status is not Status.MAX_ITER:
            return "done", status, err
        if meter.stalled(it, err):
            return "newton", Status.MAX_ITER, err
    return "done", Status.MAX_ITER, err


def _auto_solve(M, a, b, reg, f, g, tol, max_iter, mon, options):
    """``method="auto"`` on the support of the weights.

    1. If the Gibbs kernel ``exp(-(M - min M)/reg)`` has no subnormal entry (span of
       ``M`` below 650 ``reg``), Sinkhorn–Knopp scaling with BLAS mat-vecs; its scalings
       are checked every 10 iterations and, on leaving ``[1e-250, 1e250]``, the solver
       returns to the last checked iterate and continues in the log domain.
    2. Otherwise (the kernel underflows) SNS from the start: its epsilon scaling and
       log-domain warm-up are what converges at small ``reg``.
    3. Whenever Sinkhorn's measured linear rate predicts more than 1000 further
       iterations, the Newton phase of SNS takes over from the current potentials.

    Returns ``status, err, f, g, extra, formed`` (``formed = (plan, row sums, column
    sums, cost)`` when the scaling phase finished, else None); ``extra["phases"]`` lists
    the phases that ran, in the order of their first use.
    """
    phases = []
    kit = _AutoKit(phases)
    lo, hi = float(M.min()), float(M.max())
    plan = None
    sinkhorn_iters = 0

    def newton(f, g, status, err):
        start = mon.n_iter
        status, err, f, g, extra = _sns_stages(
            M, a, b, reg, f, g, tol, mon, {**options, "n_sinkhorn": 0, "reg_schedule": ()}, kit)
        extra["n_sinkhorn_iter"] += sinkhorn_iters
        extra["n_iter_newton_phase"] = mon.n_iter - start
        return status, err, f, g, extra

    if (hi - lo) <= _AUTO_KERNEL_SPAN * reg:
        kit._note("scaling")
        start = mon.n_iter
        verdict, status, err, f, g, plan = _auto_scaling_phase(M, a, b, reg, f, g, tol,
                                                               max_iter, mon)
        sinkhorn_iters = mon.n_iter - start
        if verdict == "log":
            kit._note("log")
            start = mon.n_iter
            verdict, status, err = _auto_log_phase(M, a, b, reg, f, g, tol,
                                                   max_iter - sinkhorn_iters, mon)
            sinkhorn_iters += mon.n_iter - start
        if verdict == "newton":
            status, err, f, g, extra = newton(f, g, status, err)
        else:
            extra = dict(n_sinkhorn_iter=sinkhorn_iters, n_newton_iter=0, n_cg_iter=0)
    else:  # the kernel underflows: SNS with epsilon scaling and log-domain warm-up
        status, err, f, g, extra = _sns_stages(M, a, b, reg, f, g, tol, mon, options, kit)
    extra.pop("n_iter_newton_phase", None)
    extra["phases"] = tuple(phases)
    return status, err, f, g, extra, plan


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def _solve(a, b, M, reg, *, method, tol, max_iter, init, return_history, verbose, callback,
           sns_options, name, stacklevel=5):
    """Validate and solve; ``stacklevel`` makes the ConvergenceWarning point at the user's
    call (5 from an undecorated public function, one more through ``@suggest_keywords``)."""
    xp = get_namespace(a, b, M)
    if not is_numpy_namespace(xp):  # CuPy, array_api_strict, ...: the array-API loops
        from numlearn.ot._sinkhorn_array_api import solve_array_api

        return solve_array_api(a, b, M, reg, method=method, tol=tol, max_iter=max_iter,
                               init=init, return_history=return_history, verbose=verbose,
                               callback=callback, name=name, xp=xp, sns_options=sns_options,
                               stacklevel=stacklevel)
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
    elif method == "auto":
        status, err, fs, gs, extra, plan_s = _auto_solve(Ms, a_s, b_s, reg, fs, gs, tol,
                                                         max_iter, mon, sns_options)
        if full:  # the phases rebind the potentials
            f, g = fs, gs
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # overflow shows in the status (DIVERGED, one warning), not once per iteration
            status, err, fs, gs, extra = _sns_stages(Ms, a_s, b_s, reg, fs, gs, tol, mon,
                                                     sns_options)
        if full:  # the Newton steps rebind the potentials
            f, g = fs, gs
    mon.progress.update(mon.n_iter, err, final=True)

    stats = None
    if method != "auto":
        plan_s = np.empty(Ms.shape, dtype=M.dtype)
        K.fill_plan(Ms, fs, gs, 1.0 / reg, plan_s)
    else:
        if plan_s is None:
            plan_s = K.fill_plan_fast(Ms, fs, gs, 1.0 / reg, np.empty(Ms.shape))
        else:  # the scaling phase formed the plan and its sums in one pass
            plan_s, *stats = plan_s
            if not full or M.dtype != np.float64:
                stats = None  # measured on the plan as returned
        plan_s = plan_s.astype(M.dtype, copy=False)
    if full:
        plan = plan_s
    else:
        plan = np.zeros(M.shape, dtype=M.dtype)
        plan[np.ix_(sa, sb)] = plan_s
        f = np.full(n, -np.inf)
        g = np.full(m, -np.inf)
        f[sa], g[sb] = fs, gs
    if method not in ("sns", "auto"):
        extra = dict(n_sinkhorn_iter=mon.n_iter, n_newton_iter=0)
    return _finish(plan, f, g, a, b, M, np, status=status, mon=mon, reg=reg, tol=tol,
                   method=method, name=name, stacklevel=stacklevel, stats=stats, **extra)


def _finish(plan, f, g, a, b, M, xp, *, status, mon, reg, tol, method, name, stacklevel,
            stats=None, **extra):
    """The result of any Sinkhorn method from the formed plan and potentials (any array
    namespace ``xp``): marginal error and cost measured on the plan (or taken from
    ``stats = (row sums, column sums, cost)`` measured while it was formed), potentials
    in ``M``'s dtype, the ConvergenceWarning if due."""
    if stats is not None:
        rows, cols, cost = stats
    else:
        rows = xp.sum(plan, axis=1, dtype=xp.float64)
        cols = xp.sum(plan, axis=0, dtype=xp.float64)
    marginal_error = float(xp.sum(xp.abs(rows - a)) + xp.sum(xp.abs(cols - b)))
    rounded = status is Status.SUCCESS and not marginal_error <= max(tol, 1e-12) * 10
    if rounded:
        status = Status.STAGNATION  # rounding left the formed plan off the tolerance
    if stats is None:
        cost = float(xp.sum(plan * M, dtype=xp.float64))
    f, g = xp.astype(f, M.dtype), xp.astype(g, M.dtype)
    result = make_result(status=status, n_iter=mon.n_iter, plan=plan, cost=cost, f=f, g=g,
                         marginal_error=marginal_error, reg=reg, method=method, **extra)
    if status is Status.DIVERGED and method == "sinkhorn":
        result.message = (
            "Diverged: the kernel exp(-M/reg) underflowed (a row or column of it is zero); "
            "use method='sinkhorn_log' or 'sns' for small reg."
        )
    if rounded and M.dtype == xp.float32:
        result.message = (
            f"Stagnation at float32's floor: the float64 iterates met tol = {tol:g}, but the "
            f"plan rounded to float32 has marginal error {marginal_error:.1e} (float32 plans "
            f"reach about 1e-8 to 1e-6, their unit roundoff 6e-8 times the spread of their "
            f"mass); ask for tol >= {marginal_error:.0e} or pass M as float64."
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
    method: str = "auto",
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
        Target weights, with the same total mass as ``a`` (relative difference ≤ 1e-8
        for float64 weights, ≤ 16 times the unit roundoff for less precise ones, e.g.
        2e-6 for float32 ``ot.unif(n).astype(np.float32)``; such ``b`` is rescaled to
        ``a``'s mass). Weights are float64 inside.
    M : array, shape (n, m)
        Cost matrix (float32 or float64; the plan has the same dtype). The potentials
        are float64 inside for either; a float32 plan is rounded at the end, which leaves
        a marginal error of about 1e-8 to 1e-6 (float32's unit roundoff 6e-8 times the
        spread of the plan's mass): a ``tol`` below that floor ends with status
        ``STAGNATION`` and a ConvergenceWarning that says so and names the error reached.
    reg : float
        Entropic regularization (> 0).
    method : {"auto", "sinkhorn_log", "sinkhorn", "sns"}, default "auto"
        ``"auto"``: Sinkhorn–Knopp scaling on the Gibbs kernel ``exp(-(M - min M)/reg)``
        (computed by a vectorized Numba exp, iterated with BLAS mat-vecs, the error
        checked after the first iteration and then every 10, as POT does) while it is
        safe: when the kernel would underflow (``span(M) > 650 reg``) it runs SNS (below)
        from the start, and when a scaling leaves ``[1e-250, 1e250]`` (checked at run time)
        it returns to the last checked iterate and continues in the log domain. Whenever
        Sinkhorn's measured linear rate predicts more than 1000 further iterations, SNS's
        Newton phase takes over. ``res.phases`` lists the phases that ran (``"scaling"``,
        ``"log"``, ``"newton"``, in the order of their first use); the SNS options
        below apply to its Newton phase and ``max_iter`` caps the Sinkhorn iterations
        (``max_newton_iter``, default 100, the Newton ones). Its plan is that of ``"sinkhorn_log"`` to rounding.
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
    >>> res.converged, res.marginal_error <= 1e-9, res.phases
    (True, True, ('scaling',))
    >>> bool(np.allclose(res.plan.sum(axis=1), 0.2))
    True

    At small ``reg`` the kernel underflows and ``auto`` runs SNS (epsilon scaling through
    larger ``reg``, whose first stages still scale safely, Newton steps and log-domain
    Sinkhorn sweeps):

    >>> sinkhorn(None, None, M, reg=1e-4).phases
    ('scaling', 'newton', 'log')

    Other array libraries stay in their namespace (CuPy arrays would stay on the GPU):

    >>> import array_api_strict as xps
    >>> res_x = sinkhorn(None, None, xps.asarray(M), reg=0.05)
    >>> type(res_x.plan).__module__.startswith("array_api_strict"), res_x.converged
    (True, True)
    """
    check_option(method, "method", _METHODS)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    check_verbose(verbose)
    if method in ("sns", "auto"):  # straight to _solve: warnings point at the caller
        sns_names = _SNS_NAMES
        check_keywords({k: v for k, v in options.items() if k not in sns_names},
                       sorted(set(_SINKHORN_KEYWORDS) | sns_names),
                       f"sinkhorn(method={method!r})")
        if method == "auto":
            sns_options = _check_sns_options(**options) if options else _SNS_DEFAULTS
            return _solve(a, b, M, reg, method="auto", tol=tol, max_iter=max_iter, init=init,
                          return_history=return_history, verbose=verbose,
                          callback=callback, sns_options=sns_options, name="sinkhorn (auto)")
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
                  callback=callback, sns_options=options, name="sinkhorn_newton_sparse",
                  stacklevel=5)


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


#: The options of the SNS method (accepted by ``sinkhorn(method="sns" | "auto")``).
_SNS_NAMES = frozenset(inspect.signature(_check_sns_options).parameters)
#: ``_check_sns_options()`` computed once (the default ``auto`` call skips the checks).
_SNS_DEFAULTS = _check_sns_options()
