"""Entropic optimal transport: ``sinkhorn`` (auto, scaling, log-domain, SNS) and
``sinkhorn_newton_sparse``: validation once, the ops for the inputs' array library, the
loops of :mod:`numlearn.ot._sinkhorn_loop`, one result builder."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._backend import device_of, non_numpy_namespace, pick_ops
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status, warn_if_not_converged
from numlearn._validation import (
    suggest_keywords,
    check_callable,
    check_keywords,
    check_option,
    check_scalar,
    check_verbose,
)
from numlearn.ot import _sinkhorn_loop as L
from numlearn.ot._checks import check_init, check_problem
from numlearn.ot._ops import CudaOps, GenericOps, NumbaOps

__all__ = ["sinkhorn", "sinkhorn_newton_sparse"]

#: The keywords every ``sinkhorn`` method accepts (for "did you mean" answers).
_SINKHORN_KEYWORDS = ("a", "b", "M", "reg", "method", "tol", "max_iter", "init",
                      "return_history", "verbose", "callback")

_METHODS = ("auto", "sinkhorn", "sinkhorn_log", "sns")


def _expand(vs, mask, xp):
    """Scatter ``vs`` (values on ``mask``) into a full vector that is ``-inf`` off ``mask``
    (take / where: no fancy assignment in the array API)."""
    pos = xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1
    pos = xp.clip(pos, 0, None) if vs.shape[0] > 0 else pos
    full = xp.take(vs, pos, axis=0)
    return xp.where(mask, full, xp.full_like(full, -np.inf))


def _embed(P, sa, sb, xp):
    """The ``(n, m)`` matrix that is ``P`` on the rows ``sa`` and columns ``sb``, 0 off them."""
    pa = xp.clip(xp.cumulative_sum(xp.astype(sa, xp.int64)) - 1, 0, None)
    pb = xp.clip(xp.cumulative_sum(xp.astype(sb, xp.int64)) - 1, 0, None)
    full = xp.take(xp.take(P, pa, axis=0), pb, axis=1)
    return xp.where(sa[:, None] & sb[None, :], full, xp.zeros_like(full))


def _solve(a, b, M, reg, *, method, tol, max_iter, init, return_history, verbose, callback,
           sns_options, name, stacklevel=5, ops=None):
    """Validate, pick the ops, run ``method``'s loop on the weights' support, build the
    result. ``stacklevel`` makes the ConvergenceWarning point at the user's call (5 from
    the public function; ``@suggest_keywords`` frames are counted by the warning);
    ``ops`` overrides the ops :func:`numlearn._backend.pick_ops` would choose (the CUDA
    simulator tests run :class:`~numlearn.ot._ops.CudaOps` on NumPy arrays)."""
    if ops is None:
        xp = non_numpy_namespace(a, b, M)
        ops = pick_ops(xp, numpy=NumbaOps, array_api=GenericOps, cuda=CudaOps)(xp)
    else:
        xp = ops.xp
    xq = ops.xp
    a, b, M, reg = check_problem(a, b, M, reg, xp)
    n, m = M.shape
    tol = check_scalar(tol, "tol", low=0.0)
    callback = check_callable(callback, "callback", allow_none=True)
    device = None if xp is None else device_of(M)
    f, g = check_init(init, n, m, xp, device)
    # Work on the support of the weights: zero-weight rows/columns carry no mass.
    sa, sb = a > 0, b > 0
    full = bool(xq.all(sa)) and bool(xq.all(sb))
    if full:
        Ms, a_s, b_s, fs, gs = M, a, b, f, g
    else:
        ia, ib = xq.nonzero(sa)[0], xq.nonzero(sb)[0]
        Ms = xq.take(xq.take(M, ia, axis=0), ib, axis=1)
        a_s, b_s = xq.take(a, ia, axis=0), xq.take(b, ib, axis=0)
        fs, gs = xq.take(f, ia, axis=0), xq.take(g, ib, axis=0)
    mon = Monitor(name, verbose=verbose, callback=callback, return_history=return_history,
                  measure="marginal error")
    extra, formed = {}, None
    # overflow in a diverging iterate shows in the status (DIVERGED, one warning), not as
    # a RuntimeWarning per iteration (NumPy-backed namespaces; no effect on CuPy)
    with np.errstate(all="ignore"):
        if method == "sinkhorn_log":
            status, err, fs, gs = L.log_loop(Ms, a_s, b_s, reg, fs, gs, tol, max_iter, mon,
                                             ops)
        elif method == "sinkhorn":
            status, err, fs, gs = L.scaling_loop(Ms, a_s, b_s, reg, fs, gs, tol, max_iter,
                                                 mon, ops)
        elif method == "auto":
            status, err, fs, gs, extra, formed = L.auto_solve(Ms, a_s, b_s, reg, fs, gs, tol,
                                                              max_iter, mon, sns_options, ops)
        else:
            status, err, fs, gs, extra = L.sns_stages(Ms, a_s, b_s, reg, fs, gs, tol, mon,
                                                      sns_options, ops)
        mon.finish(err)
        stats = None
        if formed is not None:  # the scaling phase formed the plan and its sums in one pass
            plan_s, *stats = formed
            if not full or M.dtype != xq.float64:
                stats = None  # measured on the plan as returned
            plan_s = xq.astype(plan_s, M.dtype, copy=False)
        else:
            plan_s = ops.fill_plan(Ms, fs, gs, 1.0 / reg, M.dtype, fast=method == "auto")
    if full:
        plan, f, g = plan_s, fs, gs
    else:
        plan = _embed(plan_s, sa, sb, xq)
        f, g = _expand(fs, sa, xq), _expand(gs, sb, xq)
    if method not in ("sns", "auto"):
        extra = dict(n_sinkhorn_iter=mon.n_iter, n_newton_iter=0)
    return _finish(plan, f, g, a, b, M, xq, status=status, mon=mon, reg=reg, tol=tol,
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
    result = mon.result(status, warn=False, plan=plan, cost=cost, f=f, g=g,
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
        below apply to its Newton phase. ``max_iter`` bounds its total work: Sinkhorn
        plus Newton iterations over all phases (and epsilon-scaling stages) add up to at
        most ``max_iter`` (``max_newton_iter``, default 100, also caps each Newton
        stage); ``res.phase_iters`` gives the iterations of each phase. Its plan is that
        of ``"sinkhorn_log"`` to rounding.
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
        Maximum number of Sinkhorn iterations (one row and one column update each); for
        ``"auto"``, of Sinkhorn and Newton iterations together (``n_iter``, the sum of
        ``res.phase_iters``, is at most ``max_iter``).
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
        ``message`` and, if requested, ``history``; for ``"auto"`` also ``phases`` (the
        phases that ran, in the order of first use) and ``phase_iters`` (a dict: the
        iterations of each phase).

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

    >>> res = sinkhorn(None, None, M, reg=1e-4)
    >>> res.phases, sum(res.phase_iters.values()) == res.n_iter
    (('scaling', 'newton', 'log'), True)

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
