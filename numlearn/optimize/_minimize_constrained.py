"""SciPy-compatible constrained minimization: equalities, inequalities and bounds."""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult

from numlearn._monitor import Monitor
from numlearn._progress import Progress
from numlearn._threads import single_threaded_blas
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    check_callable,
    check_keywords,
    check_random_state,
    check_scalar,
    check_vector,
    float_dtype,
    suggest_keywords,
)
from numlearn.optimize._minimize_eq import _NumpyBackend
from numlearn.optimize._minimize_eq_core import (
    MINIMIZE_EQ_DEFAULT_OPTIONS,
    InertiaChecks,
    solve,
    validate,
)
from numlearn.optimize._scipy_problem import (
    FD_RELATIVE_ERROR,
    Objective,
    StackedConstraints,
)
from numlearn.optimize._squared_slack import SquaredSlackProblem

__all__ = ["minimize_constrained", "ConstrainedResult", "MINIMIZE_CONSTRAINED_DEFAULT_OPTIONS"]

#: Default ``options`` of :func:`minimize_constrained`: those of
#: :data:`~numlearn.optimize.MINIMIZE_EQ_DEFAULT_OPTIONS` plus the infeasibility test.
MINIMIZE_CONSTRAINED_DEFAULT_OPTIONS = {
    **MINIMIZE_EQ_DEFAULT_OPTIONS,
    "infeasible_tol": 1e-7,
    "slack_multiplier0": 0.1,
    "auto_direct_max": 5000,
    "fd_tol_factor": 10.0,
}

# dense reformulations up to this order run with one BLAS thread
_SINGLE_THREAD_MAX = 1000

_INFEASIBLE_MESSAGE = (
    "Infeasible: the iterates reached a local minimizer of the constraint violation "
    "(‖Jᵀviol‖ ≤ infeasible_tol·‖viol‖ with viol ≠ 0 over 3 iterations); x is the "
    "least-infeasible point found."
)


class _Backend(_NumpyBackend):
    """:func:`minimize_eq`'s NumPy backend with cheaper dense KKT work for the small
    systems of :func:`minimize_constrained`: the KKT matrix is filled in place and a
    nonsingular dense system is solved by LU (``lstsq`` only when ``G`` is rank
    deficient or LU fails)."""

    def kkt_matrix(self, B, G, shift: float):
        if sp.issparse(B) or sp.issparse(G):
            return super().kkt_matrix(B, G, shift)
        m, n = G.shape
        K = np.zeros((n + m, n + m))
        K[:n, :n] = B
        if shift:
            K[np.arange(n), np.arange(n)] += shift
        K[:n, n:] = G.T
        K[n:, :n] = G
        return K

    def direct_solve(self, K, rhs, singular: bool):
        if singular or sp.issparse(K):
            return super().direct_solve(K, rhs, singular)
        try:
            z = np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            return super().direct_solve(K, rhs, singular)
        if not np.all(np.isfinite(z)):
            return super().direct_solve(K, rhs, singular)
        return z


class ConstrainedResult(SolverResult, OptimizeResult):
    """Result of :func:`minimize_constrained`: a :class:`scipy.optimize.OptimizeResult`
    that is also a :class:`~numlearn.SolverResult` (``n_iter``, ``converged``,
    ``status``, ``message``)."""


@suggest_keywords
def minimize_constrained(
    fun: Callable[..., Any],
    x0: Any,
    args: tuple = (),
    *,
    jac: Callable[..., Any] | bool | str | None = None,
    hess: Any = None,
    hessp: Callable[..., Any] | None = None,
    constraints: Any = (),
    bounds: Any = None,
    sketch: str = "auto",
    block_size: int | None = None,
    tol: float = 1e-8,
    maxiter: int = 1000,
    superlinear: bool | float = False,
    lambda0: Any = None,
    random_state: Any = None,
    callback: Callable[..., Any] | None = None,
    options: dict | None = None,
    verbose: int = 0,
    **more_options: Any,
) -> ConstrainedResult:
    r"""Minimize ``f(x)`` subject to equalities, inequalities and bounds (SciPy's interface).

    A drop-in for :func:`scipy.optimize.minimize`'s constrained methods: the arguments
    are SciPy's, and the function is a custom ``method`` of
    ``scipy.optimize.minimize(fun, x0, method=minimize_constrained, ...)`` (SciPy passes
    ``args``, ``jac``, ``hess``, ``hessp``, ``bounds``, ``constraints``, ``callback``
    and the entries of ``options`` (with ``tol``) as keywords), giving the same
    iterates as the direct call.

    **Method.** Every inequality side ``gᵢ(x) ≥ 0`` (of a constraint
    ``lb ≤ c(x) ≤ ub`` or a bound) becomes the equality ``gᵢ(x) − sᵢ² = 0`` with a
    squared slack ``sᵢ`` (Bertsekas 1982, §3.3.2), and the equality-constrained problem in
    ``(x, s)`` is solved by the exact augmented-Lagrangian Newton method with sketched
    KKT solves of :func:`~numlearn.optimize.minimize_eq` (Hong, Na, Mahoney and Kolar
    2023): Newton–KKT steps, inexact sketch-and-project solves, a descent test with
    penalty adaptation and an Armijo search on ``L_{μ,ν}``. The Lagrangian Hessian in
    ``s`` is ``diag(−2w)``; the engine's reduced-Hessian shift treats a stationary point
    with a multiplier of the wrong sign (``s = 0``, ``w > 0``) as the saddle point it
    is. The iteration stops when the KKT residual of the *original* problem,

    ``‖(∇f + Jᵀy, violation, max(0, −y_sign), y∘gap)‖₂ ≤ tol``

    (stationarity, primal feasibility, dual feasibility and complementarity), and stops
    with ``Status.INFEASIBLE`` at a local minimizer of the violation that is not
    feasible (``‖Gᵀc‖ ≤ infeasible_tol·‖c‖``), returning that least-infeasible point.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` (or ``(float, ndarray)`` with ``jac=True``).
    x0 : array_like, shape (n,)
        Starting point (not modified; need not be feasible).
    args : tuple, optional
        Extra arguments of ``fun``, ``jac``, ``hess`` and ``hessp``.
    jac : callable, True, {"2-point", "3-point", "cs"} or None, optional
        ``jac(x, *args) -> ndarray (n,)``; True if ``fun`` returns the gradient too;
        a finite-difference scheme; None (default) means ``"2-point"``.
    hess : callable, {"2-point", "3-point", "cs"}, HessianUpdateStrategy or None
        ``hess(x, *args)`` (dense or sparse), finite differences of ``jac``, or a
        quasi-Newton strategy (``BFGS()``, ``SR1()``), which then approximates the
        Hessian of the Lagrangian of ``f`` and of the constraints without a callable
        ``hess`` (as SLSQP does). None with no ``hessp`` means
        ``BFGS(exception_strategy="damp_update")`` (Powell's damped update: the
        Lagrangian's Hessian is often indefinite, where plain ``BFGS()``, which skips
        such updates, can stall, e.g. on HS71).
    hessp : callable, optional
        ``hessp(x, p, *args)``, Hessian-vector products (used when ``hess`` is None;
        ``n`` products per iteration assemble the Hessian).
    constraints : dict, NonlinearConstraint, LinearConstraint or a list of them
        Dicts ``{"type": "eq" | "ineq", "fun", "jac", "args", "hess"}`` (``"ineq"``
        means ``fun(x) ≥ 0``; SciPy's SLSQP form, plus an optional ``"hess"``
        ``(x, v) -> Σ vᵢ∇²cᵢ``). A missing Jacobian is taken by finite differences;
        a missing constraint Hessian by finite differences of ``Jᵀv`` (or in the
        quasi-Newton matrix when ``hess`` is a strategy).
    bounds : Bounds or sequence of (min, max), optional
        Bounds on the variables (None entries or ``±inf`` for no bound).
    sketch : str, default="auto"
        One of ``"auto"``, ``"gaussian"``, ``"kaczmarz"``, ``"uniform"``,
        ``"countsketch"``, ``"sparse_sign"``, ``"direct"``.
        Inner solver of the KKT systems (see :func:`~numlearn.optimize.minimize_eq`).
        ``"auto"`` (default) resolves to ``"direct"`` when the KKT system of the
        reformulation is sparse (a constraint Jacobian is a SciPy sparse matrix: sparse
        LU) or has at most ``options["auto_direct_max"]`` (5000) rows, where an exact
        solve costs less than a sketch solve, and to ``"gaussian"`` for larger dense
        systems; the choice is ``result.sketch``.
    block_size : int, optional
        Columns of each sketch (see :func:`~numlearn.optimize.minimize_eq`). The
        default for ``"gaussian"``, ``"uniform"`` and ``"kaczmarz"`` is
        ``max(1, min(8, K // 2))`` for a KKT system of order ``K`` (``minimize_eq``'s is
        1): block projections, at most half the system, so a sketch stays a sketch.
    tol : float, optional
        Stop when the KKT residual of the original problem (with complementarity) is
        ``≤ tol`` (default 1e-8). With finite-difference gradients (``jac`` a scheme or
        None, or a constraint without a Jacobian) the residual cannot go below the
        differences' error, so the test is ``≤ max(tol, fd_tol_factor·√n·e)`` with
        ``e = ε_fd·(max(1, |f|)/s + s)``, ``s = max(1, ‖x‖_∞)`` (rounding plus
        truncation error of a difference with SciPy's step ``ε_fd^{1/2}·max(1, |x|)``
        at unit curvature; ``ε_fd`` is ``√ε`` for ``"2-point"``, ``ε^{2/3}`` for
        ``"3-point"``, ``ε`` for ``"cs"``), plus the same term with ``|C|`` and
        ``Σ|yᵢ|`` for finite-difference constraint Jacobians; ``result.kkt_tol`` is
        the tolerance used.
    maxiter : int, optional
        Maximum number of Newton iterations (default 1000).
    superlinear : bool or float, optional
        Tightening of the inner accuracy (see :func:`~numlearn.optimize.minimize_eq`).
    lambda0 : array_like, optional
        Initial multipliers of the reformulated equalities (default zeros).
    random_state : None, int or numpy.random.Generator, optional
        Seed of the sketches.
    callback : callable, optional
        ``callback(intermediate_result)`` (an :class:`~scipy.optimize.OptimizeResult`
        with ``x``, ``fun``, ``nit``, ``kkt_norm``), or ``callback(x)``, SciPy's two
        forms, after each iteration; raising ``StopIteration`` stops the solver.
    options : dict, optional
        Algorithm constants: those of :data:`MINIMIZE_CONSTRAINED_DEFAULT_OPTIONS`
        (:func:`~numlearn.optimize.minimize_eq`'s, and ``infeasible_tol`` (1e-7),
        ``slack_multiplier0`` (0.1: the slack multipliers start at ``−0.1``, so the
        slacks have positive curvature from the first iteration) and
        ``auto_direct_max`` (5000), ``fd_tol_factor`` (10, see ``tol``)), and
        ``maxiter``, ``tol``, ``sketch``, ... as in SciPy's ``options``.
        Unknown keys raise a ``TypeError`` with the closest valid names.
    verbose : int, optional
        0 (default) silent; 1 a progress line every few seconds; 2 every iteration.
    \*\*more_options
        The same constants as keywords (how ``scipy.optimize.minimize`` passes
        ``options`` to a custom method); ``disp=True`` means ``verbose=2``.

    Returns
    -------
    result : ConstrainedResult
        An :class:`~scipy.optimize.OptimizeResult` with ``x``, ``fun``, ``jac``
        (``∇f(x)``), ``v`` (multipliers, one array per constraint and the bounds'
        ``(n,)`` array last, with SciPy's ``trust-constr`` sign ``∇f + Σ Jᵀv = 0``),
        ``multipliers`` (all of them in one array), ``constr`` (constraint values, the
        bounded ``x`` last), ``lagrangian_grad``, ``optimality`` (``‖∇f + Jᵀv‖_∞``),
        ``constr_violation`` (largest violation), ``complementarity`` (largest
        ``|vᵢ gapᵢ|``), ``kkt_norm``, ``kkt_tol`` (the KKT tolerance applied:
        ``tol``, or larger with finite-difference gradients), ``success``, ``status``, ``message``, ``nit``
        (= ``n_iter``), ``nfev``, ``njev``, ``nhev``, ``constr_nfev``, ``constr_njev``,
        ``constr_nhev``, ``n_inner``, ``n_sketch_rows``, ``history`` (the
        reformulation's KKT norm per iteration), ``mu``, ``nu``. ``status`` is
        ``Status.INFEASIBLE`` (``x`` the least-infeasible point) when the constraints
        cannot be met. Non-convergence emits a
        :class:`~sklearn.exceptions.ConvergenceWarning`.

    Raises
    ------
    ValueError
        Bounds with ``lb > ub``, constraint functions returning wrong shapes or NaN,
        a non-finite ``fun(x0)``, an option out of range.
    TypeError
        ``args`` that do not fit ``fun``, an argument of the wrong type, unknown options.

    Notes
    -----
    The squared-slack reformulation is smooth and keeps the engine unchanged, but it has
    stationary points that are not minimizers (a slack at zero with a multiplier of
    the wrong sign); they are saddle points of the reformulation, and the slack
    multipliers start at ``−slack_multiplier0`` so that the slacks have positive
    curvature from the first step. Near a degenerate vertex (more active constraints
    than variables, weakly active constraints) the convergence slows from quadratic to
    linear, as for any Newton method on the squared-slack form. Inputs are NumPy arrays
    (the array-API / GPU path is :func:`~numlearn.optimize.minimize_eq`'s).

    References
    ----------
    .. [1] I. Hong, S. Na, M. W. Mahoney and M. Kolar, "Constrained optimization via
       exact augmented Lagrangian and randomized iterative sketching", ICML 2023.
    .. [2] D. P. Bertsekas, "Constrained Optimization and Lagrange Multiplier Methods",
       Academic Press, 1982, §3.3.2 (squared slack variables).
    .. [3] E. H. Fukuda and M. Fukushima, "A note on the squared slack variables
       technique for nonlinear optimization", J. Oper. Res. Soc. Japan 60, 2017.

    Examples
    --------
    Hock–Schittkowski problem 21 through :func:`scipy.optimize.minimize`:

    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> from numlearn.optimize import minimize_constrained
    >>> res = minimize(lambda x: 0.01 * x[0]**2 + x[1]**2 - 100, [-1.0, -1.0],
    ...                method=minimize_constrained,
    ...                jac=lambda x: np.array([0.02 * x[0], 2 * x[1]]),
    ...                hess=lambda x: np.diag([0.02, 2.0]),
    ...                constraints={"type": "ineq", "fun": lambda x: 10 * x[0] - x[1] - 10,
    ...                             "jac": lambda x: np.array([[10.0, -1.0]])},
    ...                bounds=[(2, 50), (-50, 50)], options={"sketch": "direct"})
    >>> bool(res.success), round(res.fun, 6), bool(np.allclose(res.x, [2.0, 0.0]))
    (True, -99.96, True)
    """
    opts = _options(options, more_options)
    if "disp" in opts:
        verbose = 2 if opts.pop("disp") else verbose
    for key in ("sketch", "block_size", "tol", "maxiter", "superlinear", "random_state",
                "lambda0", "verbose"):
        if key in opts:  # SciPy-style options={"maxiter": ...}
            value = opts.pop(key)
            if key == "sketch":
                sketch = value
            elif key == "block_size":
                block_size = value
            elif key == "tol":
                tol = value
            elif key == "maxiter":
                maxiter = value
            elif key == "superlinear":
                superlinear = value
            elif key == "random_state":
                random_state = value
            elif key == "lambda0":
                lambda0 = value
            else:
                verbose = value
    infeasible_tol = check_scalar(opts.pop("infeasible_tol"), "options['infeasible_tol']",
                                  low=0.0)
    fd_factor = check_scalar(opts.pop("fd_tol_factor"), "options['fd_tol_factor']", low=0.0)
    tol = check_scalar(tol, "tol", low=0.0, include_low=False)
    float_dtype(np.asarray(x0).dtype, "x0")  # complex or object x0: refused, not cast
    x = np.array(check_vector(np.asarray(x0, dtype=np.float64), "x0", np.size(x0)),
                 dtype=np.float64).ravel()
    if x.shape[0] == 0:
        raise ValueError("x0 must have at least one entry.")
    obj = Objective(fun, x, args, jac, hess, hessp)
    cons = StackedConstraints(constraints, bounds, x)
    if cons.m == 0:
        raise ValueError("minimize_constrained needs constraints or bounds (got none); "
                         "use scipy.optimize.minimize for unconstrained problems.")
    problem = SquaredSlackProblem(obj, cons)
    z0 = problem.start(x)
    if lambda0 is None:
        # slack multipliers start at −slack_multiplier0 (< 0: positive curvature 2|w| in
        # the slacks from the first iteration, no Hessian shift needed for them)
        lambda0 = np.concatenate([np.zeros(problem.nE),
                                  np.full(problem.p, -opts.pop("slack_multiplier0"))])
    else:
        opts.pop("slack_multiplier0")
    auto_max = check_scalar(opts.pop("auto_direct_max"), "options['auto_direct_max']",
                            kind=int, low=0)
    if isinstance(sketch, str) and sketch == "auto":
        sketch = "direct" if problem.sparse or problem.N + problem.mz <= auto_max \
            else "gaussian"
    if block_size is None and sketch in ("gaussian", "uniform", "kaczmarz"):
        # block sketches: a one-vector sketch of a small dense KKT system needs
        # thousands of Python-level projections per Newton step (HS79: 3625, 0.2 s)
        block_size = max(1, min(8, (problem.N + problem.mz) // 2))
    user_callback = _wrap_callback(callback, problem)
    engine_constraints = {"type": "eq", "fun": problem.cfun, "jac": problem.cjac,
                          "hess": problem.chess}
    rng = check_random_state(random_state)
    stop = _StopTest(problem, tol, infeasible_tol, fd_factor)
    progress = Progress("minimize_constrained", verbose, measure="KKT norm")

    def run(z, lam, maxiter):
        p = validate(problem.fun, z, problem.jac, problem.hess, None, engine_constraints,
                     lam, sketch, block_size, tol, maxiter, superlinear, rng,
                     user_callback, opts, _Backend())
        p["stop_test"] = stop
        p["checks"] = InertiaChecks
        tol_h = p["opts"]["reduced_hessian_tol"]
        p["reduced_hessian_pd"] = lambda z, w, H: problem.reduced_hessian_pd(z, w, H, tol_h)
        monitor = Monitor("minimize_constrained", verbose=verbose, callback=p["callback"],
                          return_history=True, measure="KKT norm")
        monitor.progress = progress  # one progress report over a restart
        return solve(p, monitor)

    # small dense systems: one BLAS thread (threads only add synchronization there)
    small = not problem.sparse and problem.N + problem.mz <= _SINGLE_THREAD_MAX
    with single_threaded_blas() if small else contextlib.nullcontext():
        engine_result = run(z0, lambda0, maxiter)
        if engine_result["status"] in (Status.STAGNATION, Status.BREAKDOWN) and \
                stop.violation > math.sqrt(tol):
            # stuck away from the feasible set: least-squares feasibility restoration on
            # ‖c(x, s)‖², then either a restart from the feasible point or "infeasible"
            z = _restore(problem, np.asarray(engine_result["x"]))
            x_r = z[:problem.n]
            if stop.original_violation(x_r) > math.sqrt(tol):
                engine_result = _infeasible_result(engine_result, problem, z)
            else:
                nit0 = engine_result["nit"]
                engine_result = run(z, None, max(int(maxiter) - nit0, 0))
                engine_result["nit"] += nit0
                engine_result["n_iter"] += nit0
        result = _result(engine_result, problem, stop)
    result["sketch"] = sketch
    warn_if_not_converged(result, "minimize_constrained")
    return result


def _options(options, more_options) -> dict:
    opts = dict(MINIMIZE_CONSTRAINED_DEFAULT_OPTIONS)
    given = {}
    if options is not None:
        if not isinstance(options, dict):
            raise TypeError(f"options must be a dict, got {type(options).__name__}.")
        given.update(options)
    given.update(more_options)
    valid = list(opts) + ["sketch", "block_size", "tol", "maxiter", "superlinear",
                          "random_state", "lambda0", "verbose", "disp"]
    check_keywords(given, valid, "minimize_constrained()")
    opts.update(given)
    return opts


def _wrap_callback(callback, problem):
    """The engine's callback (a SolverResult in ``z``) calling the user's in SciPy's
    form: ``callback(intermediate_result)`` or ``callback(x)``."""
    callback = check_callable(callback, "callback", allow_none=True)
    if callback is None:
        return None
    try:
        params = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):  # builtins without a signature
        params = set()
    new_style = params == {"intermediate_result"}
    n = problem.n

    def engine_callback(info):
        x = np.array(info["x"][:n])
        if new_style:
            callback(intermediate_result=OptimizeResult(
                x=x, fun=info["fun"], nit=info["nit"], kkt_norm=info["kkt_norm"]))
        else:
            callback(x)

    return engine_callback


class _StopTest:
    """The KKT test of the original problem, and the infeasibility test."""

    def __init__(self, problem, tol, infeasible_tol, fd_factor=0.0):
        self.problem, self.tol, self.infeasible_tol = problem, tol, infeasible_tol
        self.violation = math.inf
        self.last = None
        self.n_stationary = 0
        # relative errors of finite-difference gradients (0 where derivatives are exact)
        self.fd_obj = FD_RELATIVE_ERROR.get(problem.obj.jac_kind, 0.0)
        self.fd_con = max((FD_RELATIVE_ERROR[m] for m in problem.cons.fd_methods),
                          default=0.0)
        self.fd_factor = fd_factor
        self.kkt_tol = tol

    def tol_at(self, x, f, y) -> float:
        """The KKT tolerance at ``x``: ``tol``, raised to the error of the
        finite-difference gradients when there are any (see ``fd_tol_factor``)."""
        if not (self.fd_obj or self.fd_con) or not self.fd_factor:
            return self.tol
        # a forward difference of step h = √ε·max(1, |x|) errs by ~ ε|f|/h (rounding)
        # + h|f''|/2 (truncation): √ε·(|f|/max(1, |x|) + max(1, |x|)) with unit
        # curvature; a constraint row's error enters the stationarity times |yᵢ|
        xs = max(1.0, float(np.max(np.abs(x))))
        f_scale = abs(f) if math.isfinite(f) else 0.0
        err = self.fd_obj * (max(1.0, f_scale) / xs + xs)
        if self.fd_con and y.size:
            c_scale = float(np.max(np.abs(self.problem.cons.values(x))))
            err += self.fd_con * float(np.sum(np.abs(y))) * (max(1.0, c_scale) / xs + xs)
        return max(self.tol, self.fd_factor * math.sqrt(x.shape[0]) * err)

    def measures(self, pt) -> dict:
        prob = self.problem
        x = pt["x"][:prob.n]
        y = prob.row_multipliers(pt["lam"])
        return kkt_parts(prob, x, y, pt["grad_l"][:prob.n])

    def original_violation(self, x) -> float:
        cons = self.problem.cons
        C = cons.values(x)
        viol = np.maximum(np.maximum(cons.lb - C, C - cons.ub), 0.0)
        return float(np.max(viol)) if viol.size else 0.0

    def __call__(self, pt, kkt_z, n_iter, mu):
        meas = self.measures(pt)
        self.last = meas
        self.violation = float(np.max(meas["viol"])) if meas["viol"].size else 0.0
        prob = self.problem
        self.kkt_tol = self.tol_at(pt["x"][:prob.n], pt["f"],
                                   prob.row_multipliers(pt["lam"]))
        if meas["kkt"] <= self.kkt_tol:
            return Status.SUCCESS, None
        # infeasibility: the original constraints' violation is stationary (a local
        # minimizer of ½‖viol‖² when it persists) while not small
        viol = meas["signed_viol"]
        v_norm = math.sqrt(float(viol @ viol))
        if n_iter > 0 and v_norm > math.sqrt(self.tol):
            J = self.problem.cons.jacobian(pt["x"][:self.problem.n])
            grad = np.asarray(J.T @ viol).ravel()
            if math.sqrt(float(grad @ grad)) <= self.infeasible_tol * v_norm:
                self.n_stationary += 1
                if self.n_stationary >= 3:
                    return Status.INFEASIBLE, _INFEASIBLE_MESSAGE
                return None
        self.n_stationary = 0
        return None


def kkt_parts(problem, x, y, stat) -> dict:
    """The KKT residual of ``lb ≤ C(x) ≤ ub`` at ``x`` with row multipliers ``y``
    (``∇f + Jᵀy = 0``; ``y < 0`` acts on a lower side, ``y > 0`` on an upper side):
    stationarity ``stat``, violation, dual infeasibility (a multiplier on a side that
    does not exist) and complementarity ``|yᵢ|·gapᵢ`` on the side ``yᵢ`` acts on."""
    cons = problem.cons
    C, lb, ub = cons.values(x), cons.lb, cons.ub
    if problem.all_eq:
        viol = np.abs(C - lb)
        kkt = math.sqrt(float(stat @ stat + viol @ viol))
        zero = np.zeros(0)
        return dict(stat=stat, viol=viol, signed_viol=C - lb, compl=zero, dual=zero,
                    kkt=kkt)
    lo_gap, up_gap = C - lb, ub - C  # ±inf where a side does not exist
    signed = np.minimum(lo_gap, 0.0) - np.minimum(up_gap, 0.0)
    viol = np.abs(signed)
    yi = y * problem.ineq_rows  # equality rows have no sign or complementarity
    neg, pos = np.minimum(yi, 0.0), np.maximum(yi, 0.0)
    # |yᵢ|·gap on the side yᵢ acts on; a multiplier on a missing side (gap = inf) is
    # dual infeasible and counts with its size
    lo = -neg * np.maximum(np.where(problem.lb_finite, lo_gap, 0.0), 0.0)
    up = pos * np.maximum(np.where(problem.ub_finite, up_gap, 0.0), 0.0)
    compl = lo + up
    dual = np.where(problem.lb_finite, 0.0, -neg) + np.where(problem.ub_finite, 0.0, pos)
    kkt = math.sqrt(float(stat @ stat + viol @ viol + dual @ dual + compl @ compl))
    return dict(stat=stat, viol=viol, signed_viol=signed, compl=compl, dual=dual, kkt=kkt)


def _restore(problem, z):
    """A local minimizer of ``½‖c(x, s)‖²`` from ``z`` (Gauss–Newton, SciPy's
    ``least_squares``): a point of the original problem with locally least violation."""
    from scipy.optimize import least_squares

    res = least_squares(problem.cfun, z, jac=problem.cjac, xtol=1e-15, ftol=1e-15,
                        gtol=1e-14, max_nfev=200 * (z.shape[0] + 1))
    return np.asarray(res.x, dtype=np.float64)


def _infeasible_result(res: SolverResult, problem, z) -> SolverResult:
    out = SolverResult(res)
    out["x"] = z
    out["fun"] = float(problem.obj.fun(z[:problem.n]))
    out["status"] = Status.INFEASIBLE
    out["message"] = _INFEASIBLE_MESSAGE
    out["converged"] = out["success"] = False
    return out


def _result(res: SolverResult, problem, stop: _StopTest) -> ConstrainedResult:
    n, cons, obj = problem.n, problem.cons, problem.obj
    z, w = np.asarray(res["x"]), np.asarray(res["v"])
    x = z[:n].copy()
    y = problem.row_multipliers(w)
    J = cons.jacobian(x)
    g = np.asarray(obj.jac(x), dtype=np.float64).ravel()
    grad_l = g + np.asarray(J.T @ y).ravel()
    C = cons.values(x)
    parts = kkt_parts(problem, x, y, grad_l)
    viol, compl, kkt = parts["viol"], parts["compl"], parts["kkt"]
    status, message = res["status"], res["message"]
    if status is not Status.SUCCESS and status is not Status.INFEASIBLE and \
            status is not Status.CALLBACK_STOP and \
            kkt <= stop.tol_at(x, float(res["fun"]), y):
        status, message = Status.SUCCESS, Status.SUCCESS.message
    out = ConstrainedResult(make_result(status=status, n_iter=res["n_iter"]))
    if message is not None:
        out["message"] = message
    constr = cons.split(C)
    if cons.has_bounds:
        constr[-1] = x.copy()
    out.update(
        x=x, fun=float(res["fun"]), jac=g, v=cons.split(y), multipliers=y.copy(),
        constr=constr, lagrangian_grad=grad_l,
        optimality=float(np.max(np.abs(grad_l))) if n else 0.0,
        constr_violation=float(np.max(viol)) if viol.size else 0.0,
        complementarity=float(np.max(compl)) if compl.size else 0.0,
        kkt_norm=kkt, kkt_tol=stop.tol_at(x, float(res["fun"]), y), nit=res["nit"],
        nfev=obj.nfev, njev=obj.njev, nhev=obj.nhev,
        constr_nfev=cons.nfev, constr_njev=cons.njev, constr_nhev=cons.nhev,
        n_inner=res["n_inner"], n_sketch_rows=res["n_sketch_rows"],
        block_size=res["block_size"], history=res["history"], mu=res["mu"], nu=res["nu"],
        slack=z[n:].copy(),
    )
    out["success"] = out["converged"]
    return out
