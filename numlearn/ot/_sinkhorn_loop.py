"""The Sinkhorn, auto and Sinkhorn–Newton–Sparse iterations, written once.

Every loop here runs on the support of the weights with float64 potentials, against the
array namespace ``ops.xp`` and the primitives of an :class:`numlearn.ot._ops.Ops` (Numba
kernels for NumPy, whole-array operations for other array-API libraries, CUDA kernels for
CuPy), and records its iterations on a :class:`numlearn._monitor.Monitor`. Potentials are
rebound, never mutated in place; each loop returns ``status, err, f, g`` (and counts).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status
from numlearn.linalg import cg

__all__ = ["log_loop", "scaling_loop", "sweep", "sns_stages", "auto_solve"]


def _note(phases, phase, n_iter=0):
    """Add ``n_iter`` iterations to ``phase`` in ``phases`` (a dict in the order of first
    use, or None: nothing kept)."""
    if phases is not None:
        phases[phase] = phases.get(phase, 0) + n_iter


# --------------------------------------------------------------------------------------
# Sinkhorn: log domain and scaling form
# --------------------------------------------------------------------------------------
def log_loop(M, a, b, reg, f, g, tol, max_iter, mon, ops):
    """Alternate exact row and column updates in the log domain.

    The row pass first measures ``‖P1 - a‖₁`` of the current plan (its columns are exact
    after the previous column update), then updates ``f``; the column pass updates ``g``.
    """
    xp = ops.xp
    inv_reg = 1.0 / reg
    log_a, log_b = xp.log(a), xp.log(b)
    err = math.inf
    status = Status.MAX_ITER
    for it in range(max_iter + 1):
        lr = ops.row_lse(M, f, g, inv_reg)
        if it > 0:  # the columns are exact only after a column update
            err = float(xp.sum(xp.abs(xp.exp(lr) - a)))
            verdict = mon.step(err, f, g, tol=tol)
            if verdict is not None:
                status = verdict
                break
        if it >= max_iter:
            break
        f = f + reg * (log_a - lr)
        lc = ops.col_lse(M, f, g, inv_reg)
        g = g + reg * (log_b - lc)
    return status, err, f, g


def sweep(M, a, b, reg, f, g, ops):
    """One log-domain Sinkhorn iteration (row then column update)."""
    xp = ops.xp
    f = f + reg * (xp.log(a) - ops.row_lse(M, f, g, 1.0 / reg))
    g = g + reg * (xp.log(b) - ops.col_lse(M, f, g, 1.0 / reg))
    return f, g


def scaling_is_safe(M, f, g, reg, xp, limit=300.0):
    """True if every ``|f_i + g_j - M_ij| / reg`` is below ``limit`` (exp stays normal)."""
    if M.dtype != xp.float64 or math.prod(M.shape) == 0:
        return False
    span = (float(xp.max(M)) + float(xp.max(xp.abs(f))) + float(xp.max(xp.abs(g)))) / reg
    return span < limit and float(xp.min(M)) >= 0.0


def scalings_in_range(err, u, v, limit, xp) -> bool:
    """A scaling iterate is usable: finite error and both scalings inside
    ``(1/limit, limit)`` (outside, the next product under- or overflows: the auto loops of
    ``sinkhorn`` and ``sinkhorn_unbalanced`` fall back to the log domain)."""
    return (math.isfinite(err) and limit > float(xp.max(u)) and float(xp.min(u)) > 1.0 / limit
            and limit > float(xp.max(v)) and float(xp.min(v)) > 1.0 / limit)


def scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon, ops):
    """Classic Sinkhorn–Knopp on the kernel ``exp(-M/reg)`` (two mat-vecs per iteration).

    Stops with ``DIVERGED`` (keeping the last finite potentials) when the kernel's
    products underflow to zero or the scalings overflow: the small-``reg`` failure that
    the log-domain methods avoid.
    """
    xp = ops.xp
    dtype = M.dtype
    Kmat = xp.exp(M * (-1.0 / reg))
    Kt = Kmat.T
    u = xp.astype(xp.exp(f / reg), dtype)
    v = xp.astype(xp.exp(g / reg), dtype)
    err = math.inf
    status = Status.MAX_ITER
    with np.errstate(all="ignore"):
        Kv = Kmat @ v
        for it in range(max_iter + 1):
            if it > 0:
                err = float(xp.sum(xp.abs(xp.astype(u, xp.float64) * Kv - a)))
                verdict = mon.step(err, f, g, tol=tol)
                if verdict is not None:
                    status = verdict
                    break
            if it >= max_iter:
                break
            u_new = xp.astype(a / Kv, dtype)
            KTu = Kt @ u_new
            v_new = xp.astype(b / KTu, dtype)
            Kv_new = Kmat @ v_new
            ok = (xp.all(xp.isfinite(u_new) & (u_new > 0))
                  & xp.all(xp.isfinite(v_new) & (v_new > 0)) & xp.all(xp.isfinite(Kv_new)))
            if not bool(ok):  # one device synchronization per iteration for all tests
                status = Status.DIVERGED
                break
            u, v, Kv = u_new, v_new, Kv_new
            f = reg * xp.log(xp.astype(u, xp.float64))
            g = reg * xp.log(xp.astype(v, xp.float64))
    return status, err, f, g


# --------------------------------------------------------------------------------------
# Sinkhorn–Newton–Sparse
# --------------------------------------------------------------------------------------
#: At most this many epsilon-scaling stages (costs near 1e±300 or a reg near underflow
#: would otherwise give ~300 stages, each with up to max_newton_iter Newton steps).
MAX_STAGES = 12


def auto_schedule(M, reg, xp):
    """Epsilon-scaling stages ``span·1e-2, span·1e-3, ...`` above ``3 reg`` (span = cost
    range); beyond ``MAX_STAGES`` of them, ``MAX_STAGES`` stages geometrically spaced over
    the same range."""
    hi, lo = float(xp.max(M)), float(xp.min(M))
    if not hi > lo:
        return []
    log_top = math.log10(hi / 2 - lo / 2) + math.log10(2.0) - 2.0  # no overflow of hi - lo
    log_stop = math.log10(3.0) + math.log10(reg)
    if log_top - log_stop > MAX_STAGES:
        return [float(r) for r in 10.0 ** np.linspace(log_top, log_stop, MAX_STAGES + 1)[:-1]]
    span = float(xp.max(M) - xp.min(M))
    stages = []
    r = 1e-2 * span
    while r > 3.0 * reg:
        stages.append(r)
        r *= 0.1
    return stages


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


def newton_direction(st, a, b, reg, cg_rtol, cg_maxiter, xp):
    """Solve ``[[diag(r), S], [Sᵀ, diag(c)]] d = reg ∇`` through the smaller Schur complement.

    ``S = st.sparse()`` is the sparsified plan (with ``mv``, ``rmv``, ``schur_g``,
    ``schur_f``); the diagonal blocks are the exact marginals of the full plan, so the
    matrix is diagonally dominant (PSD).
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


def sns_loop(M, a, b, reg, f, g, tol, n_sinkhorn, threshold, cap, max_newton_iter, cg_rtol,
             cg_maxiter, mon, ops, phases=None, budget=None):
    """N₁ Sinkhorn steps, then sparse Newton steps with a backtracking line search.

    ``phases`` (a dict, optional) counts the iterations of each phase that ran;
    ``budget`` (optional) bounds the Sinkhorn plus Newton iterations of this call.
    Returns ``status, err, f, g, [n_sinkhorn, n_newton, n_cg]``.
    """
    xp = ops.xp
    start = mon.n_iter
    status, err = Status.MAX_ITER, math.inf
    if budget is not None:
        n_sinkhorn = min(n_sinkhorn, budget)
    if n_sinkhorn > 0:
        if scaling_is_safe(M, f, g, reg, xp):
            # exp(-M/reg) and the scalings stay far from under/overflow: the scaling form
            # of the same iteration (two mat-vecs instead of two exp passes) is exact
            _note(phases, "scaling")
            status, err, f, g = scaling_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon, ops)
            _note(phases, "scaling", mon.n_iter - start)
            if status is Status.DIVERGED:  # not expected; the log domain is always safe
                _note(phases, "log")
                k0 = mon.n_iter
                status, err, f, g = log_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon, ops)
                _note(phases, "log", mon.n_iter - k0)
        else:
            _note(phases, "log")
            status, err, f, g = log_loop(M, a, b, reg, f, g, tol, n_sinkhorn, mon, ops)
            _note(phases, "log", mon.n_iter - start)
    counts = [mon.n_iter - start, 0, 0]
    if status is not Status.MAX_ITER:
        return status, err, f, g, counts
    if budget is not None:
        max_newton_iter = min(max_newton_iter, budget - counts[0])
        if max_newton_iter <= 0:  # the work budget is spent: no Newton phase
            return status, err, f, g, counts
    _note(phases, "newton")
    st = ops.plan_state(M, threshold, cap).evaluate(M, a, b, f, g, reg)
    trial = ops.plan_state(M, threshold, cap, like=st)
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
        df, dg, its = newton_direction(st, a, b, reg, cg_rtol, cg_maxiter, xp)
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
                f, g = sweep(M, a, b, reg, f, g, ops)
                trial.evaluate(M, a, b, f, g, reg)
            st, trial = trial, st
        else:  # no progress along the Newton direction: one Sinkhorn iteration instead
            f, g = sweep(M, a, b, reg, f, g, ops)
            st.evaluate(M, a, b, f, g, reg)
        err = st.err
        verdict = mon.step(err, f, g)
        if verdict is not None:
            status = verdict
            break
    _note(phases, "newton", counts[1])
    return status, err, f, g, counts


def sns_stages(M, a, b, reg, f, g, tol, mon, options, ops, phases=None, budget=None):
    """SNS with epsilon scaling: warm-start through the larger regs of the schedule, each
    solved to a loose tolerance, then solve at ``reg`` (see :func:`sns_loop`); ``budget``
    (optional) bounds the Sinkhorn plus Newton iterations of all stages together.

    Returns ``status, err, f, g, extra`` with the iteration counts in ``extra``.
    """
    m = M.shape[1]
    density = options["density"]
    cap = m if density is None else int(min(m, max(1, math.ceil(density * m))))
    schedule = options["reg_schedule"]
    if schedule == "auto":
        schedule = auto_schedule(M, reg, ops.xp)
    stages = [(r, max(tol, 1e-6)) for r in schedule if r > reg] + [(reg, tol)]
    counts = np.zeros(3, dtype=int)
    status, err = Status.MAX_ITER, math.inf
    start = mon.n_iter
    for i, (reg_k, tol_k) in enumerate(stages):
        left = None if budget is None else budget - (mon.n_iter - start)
        if left is not None and left <= 0:
            status = Status.MAX_ITER  # the budget ran out before the last stage
            break
        status, err, f, g, c = sns_loop(
            M, a, b, reg_k, f, g, tol_k, options["n_sinkhorn"] if i == 0 else 2,
            options["threshold"], cap, options["max_newton_iter"], options["cg_rtol"],
            options["cg_maxiter"], mon, ops, phases, left,
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
AUTO_KERNEL_SPAN = 650.0
#: Scalings u, v (and 1/u, 1/v) are kept inside [1e-250, 1e250]: far from under/overflow.
AUTO_SCALING_LIMIT = 1e250
#: Iterations between two checks of the scaling loop (POT checks every 10 as well).
AUTO_CHECK_EVERY = 10
#: Newton takes over when Sinkhorn's measured rate predicts more iterations than this. One
#: Newton iteration costs a few passes with an exp per entry of M (~30 BLAS mat-vec pairs)
#: and SNS needs about 10 of them from where Sinkhorn stalls.
AUTO_NEWTON_AFTER = 1000


class _StallMeter:
    """Sinkhorn's linear rate, measured over windows of at least 10 iterations, and the
    verdict "stalled" when it predicts more than ``AUTO_NEWTON_AFTER`` iterations to go."""

    def __init__(self, tol):
        self.log_tol = math.log(max(tol, 1e-16))
        self.ref = None

    def stalled(self, it, err) -> bool:
        if self.ref is None:
            self.ref = (it, err)
            return False
        it0, err0 = self.ref
        if it - it0 < AUTO_CHECK_EVERY:
            return False
        self.ref = (it, err)
        if not (err > 0 and err0 > 0):
            return False
        rate = math.log(err / err0) / (it - it0)  # log of the per-iteration factor
        if rate >= 0.0:
            return True
        return (self.log_tol - math.log(err)) / rate > AUTO_NEWTON_AFTER


def _auto_scaling_phase(M, a, b, reg, f, g, tol, max_iter, mon, ops):
    """Sinkhorn–Knopp on the Gibbs kernel with mat-vecs, checked every few iterations.

    Returns ``(verdict, status, err, f, g, formed)``: verdict ``"done"`` (``status``
    final, ``formed = (plan, row sums, column sums, cost)``, the plan in place of the
    kernel), ``"log"`` (a scaling left ``[1e-250, 1e250]`` or the error was not finite:
    ``f``, ``g`` are the last checked safe potentials) or ``"newton"`` (the rate stalled).
    """
    xp = ops.xp
    lim = AUTO_SCALING_LIMIT
    lo = float(xp.min(M))
    inv_reg = 1.0 / reg
    Kmat = ops.gibbs_kernel(M, lo, inv_reg)
    # P = diag(u) Kmat diag(v) with u = exp((f - lo)/reg), v = exp(g/reg)
    v = xp.exp(g * inv_reg)
    u = xp.exp((f - lo) * inv_reg)
    if not (bool(xp.all(v > 1.0 / lim)) and bool(xp.all(v < lim))):
        return "log", Status.MAX_ITER, math.inf, f, g, None
    every = 1 if (mon.callback is not None or mon.history is not None) else AUTO_CHECK_EVERY
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
            err = float(xp.sum(xp.abs(u * Kv - a)))
            if not scalings_in_range(err, u, v, lim, xp):
                u, v, Kv = u0, v0, Kv0  # back to the last safe iterate: the log domain
                verdict = "log"
                break
            it += k
            f = reg * xp.log(u) + lo
            g = reg * xp.log(v)
            mon.n_iter += k - 1
            stop = mon.step(err, f, g, tol=tol)
            if stop is not None:
                status = stop
                break
            if meter.stalled(it, err):
                verdict = "newton"
                break
    f = reg * xp.log(u) + lo
    g = reg * xp.log(v)
    if verdict != "done":
        return verdict, status, err, f, g, None
    return verdict, status, err, f, g, ops.scale_plan_stats(Kmat, u, v, M)


def _auto_log_phase(M, a, b, reg, f, g, tol, max_iter, mon, ops):
    """Log-domain Sinkhorn in windows of 10 iterations until it converges, reaches
    ``max_iter`` or stalls (verdict ``"newton"``). Returns ``(verdict, status, err, f,
    g)``."""
    meter = _StallMeter(tol)
    it, err = 0, math.inf
    while it < max_iter:
        k = min(AUTO_CHECK_EVERY, max_iter - it)
        status, err, f, g = log_loop(M, a, b, reg, f, g, tol, k, mon, ops)
        it += k
        if status is not Status.MAX_ITER:
            return "done", status, err, f, g
        if meter.stalled(it, err):
            return "newton", Status.MAX_ITER, err, f, g
    return "done", Status.MAX_ITER, err, f, g


def auto_solve(M, a, b, reg, f, g, tol, max_iter, mon, options, ops):
    """``method="auto"`` on the support of the weights.

    1. If the Gibbs kernel ``exp(-(M - min M)/reg)`` has no subnormal entry (span of
       ``M`` below 650 ``reg``), Sinkhorn–Knopp scaling with mat-vecs; its scalings
       are checked every 10 iterations and, on leaving ``[1e-250, 1e250]``, the solver
       returns to the last checked iterate and continues in the log domain.
    2. Otherwise (the kernel underflows) SNS from the start: its epsilon scaling and
       log-domain warm-up are what converges at small ``reg``.
    3. Whenever Sinkhorn's measured linear rate predicts more than 1000 further
       iterations, the Newton phase of SNS takes over from the current potentials.

    ``max_iter`` bounds the total work: Sinkhorn plus Newton iterations, over all phases
    and epsilon-scaling stages (``options["max_newton_iter"]`` also caps each Newton
    stage).

    Returns ``status, err, f, g, extra, formed`` (``formed = (plan, row sums, column
    sums, cost)`` when the scaling phase finished, else None); ``extra["phases"]`` lists
    the phases that ran, in the order of their first use, and ``extra["phase_iters"]``
    the iterations of each.
    """
    xp = ops.xp
    phases = {}
    lo, hi = float(xp.min(M)), float(xp.max(M))
    plan = None
    if (hi - lo) <= AUTO_KERNEL_SPAN * reg:
        _note(phases, "scaling")
        start = mon.n_iter
        verdict, status, err, f, g, plan = _auto_scaling_phase(M, a, b, reg, f, g, tol,
                                                               max_iter, mon, ops)
        sinkhorn_iters = mon.n_iter - start
        _note(phases, "scaling", sinkhorn_iters)
        if verdict == "log":
            _note(phases, "log")
            start = mon.n_iter
            verdict, status, err, f, g = _auto_log_phase(M, a, b, reg, f, g, tol,
                                                         max_iter - sinkhorn_iters, mon, ops)
            _note(phases, "log", mon.n_iter - start)
            sinkhorn_iters += mon.n_iter - start
        if verdict == "newton":
            status, err, f, g, extra = sns_stages(
                M, a, b, reg, f, g, tol, mon,
                {**options, "n_sinkhorn": 0, "reg_schedule": ()}, ops, phases,
                budget=max_iter - sinkhorn_iters)
            extra["n_sinkhorn_iter"] += sinkhorn_iters
        else:
            extra = dict(n_sinkhorn_iter=sinkhorn_iters, n_newton_iter=0, n_cg_iter=0)
    else:  # the kernel underflows: SNS with epsilon scaling and log-domain warm-up
        status, err, f, g, extra = sns_stages(M, a, b, reg, f, g, tol, mon, options, ops,
                                              phases, budget=max_iter)
    extra["phases"] = tuple(phases)
    extra["phase_iters"] = dict(phases)
    return status, err, f, g, extra, plan
