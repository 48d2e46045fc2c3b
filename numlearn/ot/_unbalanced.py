"""Unbalanced entropic optimal transport (KL-relaxed marginals), POT's semantics."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    check_callable,
    check_scalar,
    check_verbose,
    suggest_keywords,
)
from numlearn.ot import _kernels as K
from numlearn.ot._sinkhorn_loop import AUTO_CHECK_EVERY as _AUTO_CHECK_EVERY
from numlearn.ot._sinkhorn_loop import AUTO_KERNEL_SPAN as _AUTO_KERNEL_SPAN
from numlearn.ot._sinkhorn_loop import AUTO_SCALING_LIMIT as _AUTO_SCALING_LIMIT
from numlearn.ot._sinkhorn_loop import scalings_in_range
from numlearn.ot._checks import check_cost
from numlearn.ot._checks import check_init as _check_init
from numlearn.ot._checks import check_masses as _check_masses
from numlearn.ot._checks import check_weights as _check_weights

__all__ = ["sinkhorn_unbalanced"]


def _check_reg_m(reg_m) -> tuple[float, float]:
    """``reg_m`` as the pair ``(reg_m1, reg_m2)``: a positive float (``inf`` allowed: that
    marginal is then exact) or a sequence of one or two of them, as POT accepts."""
    if isinstance(reg_m, (list, tuple, np.ndarray)):
        values = list(np.ravel(reg_m))
        if len(values) not in (1, 2):
            raise ValueError(f"reg_m must be a float or a pair of floats, got {len(values)} "
                             f"values.")
    else:
        values = [reg_m]
    pair = [math.inf if (isinstance(v, (float, np.floating)) and v == math.inf)
            else check_scalar(v, "reg_m", low=0.0, include_low=False) for v in values]
    return (pair[0], pair[-1])


def _kl(p, q) -> float:
    """POT's ``kl_div``: ``Σ p log(p/q) - p + q`` (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0) - p + q
    return float(terms.sum())


def _scaling_loop(M, a, b, reg, fi, F, G, tol, max_iter, mon):
    """Generalized Sinkhorn–Knopp on the Gibbs kernel ``exp(-(M - lo)/reg)`` (BLAS
    mat-vecs), the residual checked after the first iteration, then every 10.

    ``P = diag(u) K' diag(v)`` with ``u = exp((F - lo)/reg)``, ``v = exp(G/reg)``;
    the updates ``u = a (K'v)^-fi1 exp((fi1 - 1) lo/reg)``, ``v = b (K'ᵀu)^-fi2`` are
    POT's in these variables. Returns ``(verdict, status, err, F, G, plan)``: verdict
    ``"log"`` when a scaling left ``[1e-250, 1e250]`` (``F``, ``G`` are then the last
    checked iterate).
    """
    fi1, fi2 = fi
    lo = float(M.min())
    inv_reg = 1.0 / reg
    Kmat = K.gibbs_kernel(M, lo, inv_reg, np.empty(M.shape))
    KT = Kmat.T
    c1 = math.exp((fi1 - 1.0) * lo * inv_reg)
    u = np.exp((F - lo) * inv_reg)
    v = np.exp(G * inv_reg)
    limit = _AUTO_SCALING_LIMIT
    if not (np.all(v > 1.0 / limit) and np.all(v < limit)):
        return "log", Status.MAX_ITER, math.inf, F, G, None
    every = 1 if (mon.callback is not None or mon.history is not None) else _AUTO_CHECK_EVERY
    it, err = 0, math.inf
    verdict, status = "done", Status.MAX_ITER
    with np.errstate(all="ignore"):
        while True:
            k = min(every if it else 1, max_iter - it)
            if k <= 0:
                break
            u0, v0 = u, v
            for _ in range(k):
                up, vp = u, v
                u = a * (Kmat @ v) ** -fi1 * c1
                v = b * (KT @ u) ** -fi2
            err = 0.5 * float(np.abs(np.log(u / up)).max() + np.abs(np.log(v / vp)).max())
            if not scalings_in_range(err, u, v, limit, np):
                u, v = u0, v0
                verdict = "log"
                break
            it += k
            F = reg * np.log(u) + lo
            G = reg * np.log(v)
            mon.n_iter += k - 1
            stop = mon.step(err, F, G, tol=tol)
            if stop is not None:
                status = stop
                break
    F = reg * np.log(u) + lo
    G = reg * np.log(v)
    if verdict != "done":
        return verdict, status, err, F, G, None
    Kmat *= u[:, None]
    Kmat *= v[None, :]
    return verdict, status, err, F, G, Kmat


def _log_loop(M, a, b, reg, fi, F, G, tol, max_iter, mon):
    """The same updates in the log domain (Numba row/column log-sum-exp), in place on
    ``F``, ``G`` (``P = exp((F ⊕ G - M)/reg)``): stable for any ``reg``."""
    fi1, fi2 = fi
    n, m = M.shape
    inv_reg = 1.0 / reg
    ra, rb = reg * np.log(a), reg * np.log(b)
    lr, lc, work = np.empty(n), np.empty(m), np.empty(m)
    status, err = Status.MAX_ITER, math.inf
    for _ in range(max_iter):
        K.row_logsumexp(M, F, G, inv_reg, lr)
        F_new = ra - fi1 * (reg * lr - F)
        K.col_logsumexp(M, F_new, G, inv_reg, work, lc)
        G_new = rb - fi2 * (reg * lc - G)
        err = 0.5 * float(np.abs(F_new - F).max() + np.abs(G_new - G).max()) * inv_reg
        F[:], G[:] = F_new, G_new
        verdict = mon.step(err, F, G, tol=tol)
        if verdict is not None:
            status = verdict
            break
    return status, err


@suggest_keywords
def sinkhorn_unbalanced(
    a: Any,
    b: Any,
    M: Any,
    reg: float,
    *,
    reg_m: Any,
    tol: float = 1e-9,
    max_iter: int = 10000,
    init: tuple | None = None,
    return_history: bool = False,
    verbose: int = 0,
    callback: Callable | None = None,
) -> SolverResult:
    r"""Unbalanced entropic optimal transport: marginals relaxed by KL penalties.

    Solves, as POT's ``ot.unbalanced.sinkhorn_unbalanced`` (its default
    ``reg_type="kl"``),

    .. math:: \min_{P \ge 0} \langle M, P\rangle + \mathrm{reg}\,\mathrm{KL}(P, a b^\top)
              + \mathrm{reg_{m1}}\,\mathrm{KL}(P\mathbf 1, a)
              + \mathrm{reg_{m2}}\,\mathrm{KL}(P^\top \mathbf 1, b),

    with ``KL(p, q) = Σ p log(p/q) - p + q``, by the generalized Sinkhorn iteration
    (Chizat et al. 2018): ``u ← (a / K v)^{reg_m1/(reg_m1 + reg)}``,
    ``v ← (b / Kᵀu)^{reg_m2/(reg_m2 + reg)}``. It runs with BLAS mat-vecs on the Gibbs
    kernel (a vectorized Numba exp) while that is safe, exactly as ``sinkhorn``'s
    ``method="auto"`` does, and in the log domain (Numba log-sum-exp; stable for any
    ``reg``) when the kernel would underflow or a scaling leaves ``[1e-250, 1e250]``.
    The plan is ``P_ij = a_i b_j exp((f_i + g_j - M_ij)/reg)``.

    Parameters
    ----------
    a, b : arrays, shapes (n,) and (m,), or None
        Non-negative weights (any total masses; ``None``/empty: uniform, mass 1).
    M : array, shape (n, m)
        Cost matrix (float32 or float64; the plan has its dtype).
    reg : float
        Entropic regularization (> 0).
    reg_m : float or pair of floats
        Marginal relaxation (> 0; ``inf`` makes that marginal exact), one for both
        marginals or ``(reg_m1, reg_m2)``.
    tol : float, default 1e-9
        Stop when the change of the potentials over one iteration,
        ``(‖Δf‖∞ + ‖Δg‖∞) / (2 reg)`` (the relative change of POT's scalings ``u``, ``v``),
        is at most ``tol``. Checked after the first iteration, then every 10 while the
        iteration runs on the kernel (every iteration with ``callback`` or
        ``return_history``).
    max_iter : int, default 10000
        Maximum number of iterations.
    init : pair of arrays (f, g), optional
        Starting potentials (zeros by default, POT's ``u = v = 1``).
    return_history : bool, default False
        Record the residual of every iteration in ``history``.
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every iteration.
    callback : callable, optional
        ``callback(F, G)`` with the log scalings ``F = f + reg log a``, ``G = g + reg log
        b`` after every iteration; ``StopIteration`` stops the solver.

    Returns
    -------
    SolverResult
        ``plan`` (n, m), ``f``, ``g`` (potentials; ``-inf`` where a weight is zero),
        ``cost`` (``⟨M, P⟩``), ``objective`` (the minimized value above, POT's
        ``total_cost``), ``mass`` (``P.sum()``), ``n_iter``, ``converged``, ``status``,
        ``message``, ``phases`` (``("scaling",)``, ``("scaling", "log")`` or
        ``("log",)``) and, if requested, ``history``.

    Raises
    ------
    ValueError
        On negative or non-finite weights, a bad ``M``, ``reg <= 0`` or ``reg_m <= 0``.
    TypeError
        On arguments of the wrong type, or an unknown keyword (POT's names such as
        ``numItermax`` and ``stopThr`` get a "did you mean" answer).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached within ``max_iter`` iterations.

    References
    ----------
    .. [1] L. Chizat, G. Peyré, B. Schmitzer and F.-X. Vialard, "Scaling algorithms for
       unbalanced optimal transport problems", Mathematics of Computation 87 (2018).
    .. [2] C. Frogner, C. Zhang, H. Mobahi, M. Araya and T. Poggio, "Learning with a
       Wasserstein loss", NeurIPS 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import sinkhorn_unbalanced
    >>> x = np.linspace(0, 1, 5)
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> a, b = np.full(5, 0.2), np.full(5, 0.4)  # masses 1 and 2
    >>> res = sinkhorn_unbalanced(a, b, M, 0.05, reg_m=1.0)
    >>> res.converged, 1.0 < res.mass < 2.0
    (True, True)
    """
    check_verbose(verbose)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    tol = check_scalar(tol, "tol", low=0.0)
    callback = check_callable(callback, "callback", allow_none=True)
    reg = check_scalar(reg, "reg", low=0.0, include_low=False)
    reg_m1, reg_m2 = _check_reg_m(reg_m)
    M = check_cost(M)
    n, m = M.shape
    a = _check_weights(a, "a", n)
    b = _check_weights(b, "b", m)
    if reg_m1 == math.inf and reg_m2 == math.inf:
        b = _check_masses(a, b, float(np.finfo(np.float64).eps))
    f, g = _check_init(init, n, m)
    fi = tuple(1.0 if r == math.inf else r / (r + reg) for r in (reg_m1, reg_m2))

    sa, sb = a > 0, b > 0
    full = bool(sa.all() and sb.all())
    Ms = M if full else np.ascontiguousarray(M[np.ix_(sa, sb)])
    a_s, b_s = a[sa], b[sb]
    F = f[sa] + reg * np.log(a_s)
    G = g[sb] + reg * np.log(b_s)
    mon = Monitor("sinkhorn_unbalanced", verbose=verbose, callback=callback,
                  return_history=return_history, measure="marginal error")
    phases = []
    plan_s = None
    verdict = "log"
    if float(Ms.max() - Ms.min()) <= _AUTO_KERNEL_SPAN * reg:
        phases.append("scaling")
        verdict, status, err, F, G, plan_s = _scaling_loop(Ms, a_s, b_s, reg, fi, F, G, tol,
                                                           max_iter, mon)
    if verdict == "log":
        phases.append("log")
        F, G = np.array(F, dtype=np.float64), np.array(G, dtype=np.float64)
        status, err = _log_loop(Ms, a_s, b_s, reg, fi, F, G, tol, max_iter - mon.n_iter, mon)
    mon.finish(err)
    if plan_s is None:
        plan_s = K.fill_plan_fast(Ms, F, G, 1.0 / reg, np.empty(Ms.shape))
    plan = np.zeros(M.shape) if not full else plan_s
    if not full:
        plan[np.ix_(sa, sb)] = plan_s
    f = np.full(n, -np.inf)
    g = np.full(m, -np.inf)
    f[sa] = F - reg * np.log(a_s)
    g[sb] = G - reg * np.log(b_s)
    cost = float((plan_s * Ms).sum())  # (np.vdot: slow threaded BLAS dot on a loaded machine)
    r_s, c_s = plan_s.sum(1), plan_s.sum(0)
    total = float(r_s.sum())
    # KL(P | a ⊗ b) without a log per entry: log P_ij = (F_i + G_j - M_ij) / reg, so
    # Σ P log P = (r·F + c·G - ⟨M, P⟩) / reg (elementwise sums: no threaded BLAS dot)
    plogp = (float((r_s * F).sum()) + float((c_s * G).sum()) - cost) / reg
    kl_plan = (plogp - float((r_s * np.log(a_s)).sum()) - float((c_s * np.log(b_s)).sum())
               - total + float(a_s.sum()) * float(b_s.sum()))
    objective = cost + reg * kl_plan
    if reg_m1 != math.inf:
        objective += reg_m1 * _kl(r_s, a_s)
    if reg_m2 != math.inf:
        objective += reg_m2 * _kl(c_s, b_s)
    result = make_result(status=status, n_iter=mon.n_iter, plan=plan.astype(M.dtype, copy=False),
                         f=f.astype(M.dtype), g=g.astype(M.dtype), cost=cost,
                         objective=float(objective), mass=total, reg=reg,
                         reg_m=(reg_m1, reg_m2), phases=tuple(phases))
    if mon.history is not None:
        result.history = np.asarray(mon.history)
    warn_if_not_converged(result, "sinkhorn_unbalanced", stacklevel=4)
    return result
