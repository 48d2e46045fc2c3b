"""Exact augmented-Lagrangian Newton with randomized sketching of the KKT systems."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import NonlinearConstraint, OptimizeWarning

from numlearn._backend import get_namespace, is_numpy_namespace
from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
    check_vector,
)
from numlearn.linalg import sketch_and_project

__all__ = ["minimize_eq", "MINIMIZE_EQ_SKETCHES", "MINIMIZE_EQ_DEFAULT_OPTIONS"]

#: Inner solvers of :func:`minimize_eq`: the sketches of
#: :func:`~numlearn.linalg.sketch_and_project`, and ``"direct"`` (exact solves, a baseline).
MINIMIZE_EQ_SKETCHES = ("gaussian", "kaczmarz", "uniform", "countsketch", "sparse_sign",
                        "direct")

#: Default ``options`` of :func:`minimize_eq` (see its docstring).
MINIMIZE_EQ_DEFAULT_OPTIONS = {
    "mu0": 1.0,
    "nu0": 0.1,
    "delta0": 0.1,
    "delta_min": 1e-6,
    "accuracy_constant": 1.0,
    "xi_B": 0.1,
    "armijo": 0.1,
    "rho": 1.5,
    "mu_max": 1e8,
    "nu_min": 1e-8,
    "reduced_hessian_tol": 1e-6,
    "jacobian_rcond": 1e-10,
    "max_singular": 5,
    "max_backtracks": 40,
    "inner_max_passes": 200,
    "max_block_size": 256,
    "dense_max": 1000,
}

# merit decreases below this multiple of |merit| are rounding noise
_ROUNDING = 1e3 * np.finfo(np.float64).eps

_SINGULAR_MESSAGE = (
    "Singular constraint Jacobian: the constraint gradients stayed linearly dependent "
    "over several iterations (options['max_singular']) before the KKT tolerance was met "
    "(are the constraints redundant or inconsistent?)."
)
_NO_DESCENT_MESSAGE = (
    "Stagnation: no descent direction for the augmented-Lagrangian merit function "
    "was found within the penalty limits (mu_max, nu_min), or the line search failed."
)


def minimize_eq(
    fun: Callable[[np.ndarray], float],
    x0: Any,
    *,
    jac: Callable[[np.ndarray], np.ndarray],
    hess: Callable[[np.ndarray], Any] | None = None,
    hessp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    constraints: Any,
    lambda0: Any = None,
    sketch: str = "gaussian",
    block_size: int | None = None,
    tol: float = 1e-8,
    maxiter: int = 1000,
    superlinear: bool | float = False,
    random_state: Any = None,
    callback: Callable[[SolverResult], Any] | None = None,
    options: dict | None = None,
    verbose: int = 0,
) -> SolverResult:
    r"""Minimize ``f(x)`` subject to ``c(x) = 0`` by sketched augmented-Lagrangian Newton.

    The method of Hong, Na, Mahoney and Kolar (2023). With ``L(x, λ) = f + λᵀc`` and
    ``G = ∇c`` (``m × n``), each iteration

    1. forms the Newton–KKT system ``K z = −(∇ₓL, c)``, ``K = [[B, Gᵀ], [G, 0]]``,
       ``z = (Δx, Δλ)``, where ``B = ∇²ₓL``, shifted to ``∇²ₓL + (ξ_B + ‖∇²ₓL‖) I`` when
       the reduced Hessian ``Zᵀ∇²ₓL Z`` has an eigenvalue below ``reduced_hessian_tol``;
    2. solves it **inexactly** with :func:`~numlearn.linalg.sketch_and_project`
       (randomized Kaczmarz, Gaussian or sparse sketches, one vector or a block), stopped
       as soon as ``C ‖K z − rhs‖ ≤ θ_k δ_k ‖rhs‖``;
    3. checks that ``z`` is a descent direction of the exact augmented Lagrangian
       ``L_{μ,ν} = f + λᵀc + (μ/2)‖c‖² + (ν/2)‖∇ₓL‖²``, whose gradient
       ``(∇ₓL + μGᵀc + ν∇²ₓL ∇ₓL, c + νG∇ₓL)`` uses Lagrangian Hessian-vector products:
       if ``∇L_{μ,ν}ᵀz > −(ν/2)‖(∇ₓL, c)‖²`` it sets ``μ ← ρ²μ``, ``ν ← ν/ρ``,
       ``δ ← max(δ/ρ, δ_min)`` and resumes the sketch solver from ``z``;
    4. moves ``x`` and ``λ`` together by Armijo backtracking (halving) on ``L_{μ,ν}``.

    It stops when the KKT residual ``‖(∇ₓL, c)‖₂ ≤ tol``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, the objective.
    x0 : array_like, shape (n,)
        Starting point (not modified). An array of another array-API library than NumPy
        (a CuPy array, ...) runs the whole method in that namespace (see Notes).
    jac : callable
        ``jac(x) -> ndarray (n,)``, the gradient of ``fun``.
    hess : callable, optional
        ``hess(x) -> (n, n)`` dense array or SciPy sparse matrix, the Hessian of ``fun``.
    hessp : callable, optional
        ``hessp(x, p) -> ndarray (n,)``, Hessian-vector products of ``fun``; used (``n``
        products per iteration, to assemble the matrix the sketches need) when ``hess`` is
        not given. One of ``hess`` and ``hessp`` is required.
    constraints : scipy.optimize.NonlinearConstraint or dict
        The equality constraints: a ``NonlinearConstraint`` with ``lb == ub`` and callable
        ``jac`` and ``hess`` (``(x, v) -> Σ vᵢ∇²cᵢ``), or a dict
        ``{"type": "eq", "fun": c, "jac": G, "hess": (x, v) -> Σ vᵢ∇²cᵢ}``. Jacobians and
        Hessians may be dense arrays or SciPy sparse matrices. A missing ``"hess"`` in the
        dict means zero (linear constraints).
    lambda0 : array_like, shape (m,), optional
        Initial multipliers (default zeros).
    sketch : {"gaussian", "kaczmarz", "uniform", "countsketch", "sparse_sign", "direct"}
        Inner solver of the KKT systems: a sketch of
        :func:`~numlearn.linalg.sketch_and_project`, or ``"direct"`` for exact (LU)
        solves, the "exact Newton" baseline.
    block_size : int, optional
        Columns of each sketch (default 1 for ``"gaussian"``, ``"kaczmarz"`` and
        ``"uniform"``; ``min(n + m, 8)`` for ``"countsketch"`` and ``"sparse_sign"``).
    tol : float, optional
        Stop when ``‖(∇ₓL, c)‖₂ ≤ tol`` (default 1e-8).
    maxiter : int, optional
        Maximum number of outer (Newton) iterations (default 1000).
    superlinear : bool or float, optional
        If False (default) ``θ_k = 1``: linear local convergence at rate about ``δ``. If
        True, or a positive exponent ``r`` (True means ``r = 1``),
        ``θ_k = min(1, ‖(∇ₓL, c)‖^r)``: the inner accuracy tightens as the iterates
        converge, giving superlinear local convergence.
    random_state : None, int or numpy.random.Generator, optional
        Seed of the sketches; results are reproducible given it.
    callback : callable, optional
        Called after every iteration as ``callback(intermediate_result)`` with a
        :class:`~numlearn.SolverResult` holding ``x``, ``v``, ``fun``, ``kkt_norm`` and
        ``nit``. Raising ``StopIteration`` stops the solver (``Status.CALLBACK_STOP``).
    options : dict, optional
        Algorithm constants (defaults in :data:`MINIMIZE_EQ_DEFAULT_OPTIONS`, those of the
        authors' code where they exist). Unknown keys are warned about.

        ``mu0``, ``nu0`` (1, 0.1)
            Initial penalty parameters of ``L_{μ,ν}``.
        ``delta0``, ``delta_min`` (0.1, 1e-6)
            Initial inner accuracy ``δ`` and its floor.
        ``accuracy_constant`` (1.0)
            The constant ``C`` of the inner test ``C‖r‖ ≤ θδ‖rhs‖``. The string
            ``"paper"`` uses the paper's ``C = ‖K‖_F Ψ``,
            ``Ψ = 20 max(‖B‖², 1)/(min(ξ_G, 1) min(ξ_B, 1))``, ``ξ_G = λ_min(GGᵀ)``,
            which makes the solves nearly exact (the floor binds).
        ``xi_B`` (0.1), ``reduced_hessian_tol`` (1e-6)
            Hessian shift constant and the reduced-Hessian eigenvalue threshold.
        ``armijo`` (0.1), ``rho`` (1.5), ``max_backtracks`` (40)
            Armijo constant, penalty growth factor, maximum halvings of the step.
        ``mu_max``, ``nu_min`` (1e8, 1e-8)
            Limits of the penalty adaptation.
        ``jacobian_rcond`` (1e-10), ``max_singular`` (5)
            Singular values of ``G`` below ``rcond·σ_max`` count as zero; the constraint
            residual is then projected on ``range(G)`` (so the KKT system is consistent)
            and after ``max_singular`` consecutive singular iterations the solver stops
            with a "singular constraint Jacobian" status.
        ``inner_max_passes`` (200), ``max_block_size`` (256)
            A sketch solve that has not met its target after ``inner_max_passes`` passes
            over the ``n + m`` rows of ``K`` resumes with twice the block size, up to
            ``max_block_size`` (None: ``n + m``); the grown block is kept. Near a
            degenerate minimum the KKT matrices are badly conditioned and one-vector
            sketches stall, while a block as large as the system is an exact projection.
        ``dense_max`` (1000)
            Up to this ``n`` the rank of ``G`` and the reduced Hessian are checked
            densely (SVD); above it ``G`` is assumed of full rank and the Hessian is
            shifted unless Gershgorin's theorem proves ``∇²ₓL`` positive definite.
    verbose : int, optional
        0 (default) silent; 1 a progress line every few seconds; 2 a line per iteration.

    Returns
    -------
    result : SolverResult
        ``x``; ``v`` (multipliers with the sign convention of SciPy's ``trust-constr``:
        ``∇f + Gᵀv = 0``); ``fun``; ``kkt_norm`` (``‖(∇ₓL, c)‖₂``); ``constr_violation``
        (``‖c‖₂``); ``nit`` (= ``n_iter``); ``nfev``, ``njev``, ``nhev`` (objective
        evaluations) and ``constr_nfev``, ``constr_njev``, ``constr_nhev``; ``n_inner``
        (total sketch iterations); ``n_sketch_rows`` (total sketch columns drawn,
        ``Σ iterations × block size``, a work measure comparable across block sizes);
        ``block_size`` (the final block size); ``success`` (= ``converged``), ``status``,
        ``message``; ``history`` (the KKT norm at ``x0`` and after every iteration);
        ``mu``, ``nu`` (final penalty parameters). Non-convergence emits a
        :class:`~sklearn.exceptions.ConvergenceWarning`. ``status`` is
        ``Status.BREAKDOWN`` with a "singular constraint Jacobian" message when the
        constraint gradients stay dependent and the constraints cannot be met, and
        ``Status.STAGNATION`` when no acceptable step is found.

    Raises
    ------
    ValueError
        If shapes do not match, a value is not finite, a constraint is not an equality
        (``lb != ub``), an option is out of range, or ``sketch`` is unknown.
    TypeError
        If a function argument is not callable, neither ``hess`` nor ``hessp`` is given,
        or the constraints have no callable Jacobian.

    Notes
    -----
    **Array API / GPU.** When ``x0`` (and ``lambda0``) are arrays of a namespace other than
    NumPy (CuPy on a GPU, ``array_api_strict``), the iterates, KKT matrices, merit
    function, line search and the rank / reduced-Hessian checks (``xp.linalg.svd``,
    ``qr``, ``eigvalsh``) are computed in that namespace, in float64. The callables are
    called with arrays of that namespace and should return arrays of it (NumPy arrays
    are moved to ``x0``'s device; SciPy or ``cupyx`` sparse matrices are made dense, so
    this path suits problems whose dense ``(n + m)²`` KKT matrix fits in memory).
    ``sketch="direct"`` solves with ``xp.linalg.solve`` (the pseudo-inverse when ``G`` is
    rank deficient); the sketches call :func:`~numlearn.linalg.sketch_and_project`,
    which currently computes on the host (the KKT matrix is copied there once per inner
    solve), so on a GPU ``"direct"`` is the fast choice. ``x`` and ``v`` are returned in
    ``x0``'s namespace and device, the other diagnostics as Python floats; with the same
    ``random_state`` the iterates equal those of the NumPy path up to rounding.

    References
    ----------
    .. [1] I. Hong, S. Na, M. W. Mahoney and M. Kolar, "Constrained optimization via
       exact augmented Lagrangian and randomized iterative sketching", ICML 2023.

    Examples
    --------
    Minimize ``x₁ + x₂`` on the unit circle; the minimum is ``−√2`` at ``x = −(1, 1)/√2``
    with multiplier ``v = 1/√2``:

    >>> import numpy as np
    >>> from numlearn.optimize import minimize_eq
    >>> cons = {"type": "eq", "fun": lambda x: np.array([x @ x - 1.0]),
    ...         "jac": lambda x: 2.0 * x[None, :],
    ...         "hess": lambda x, v: 2.0 * v[0] * np.eye(2)}
    >>> res = minimize_eq(lambda x: x[0] + x[1], np.array([-1.0, -0.5]),
    ...                   jac=lambda x: np.ones(2), hess=lambda x: np.zeros((2, 2)),
    ...                   constraints=cons, sketch="kaczmarz", random_state=0)
    >>> bool(res.success), bool(res.kkt_norm <= 1e-8)
    (True, True)
    >>> np.round(res.x, 6), np.round(res.v, 6)
    (array([-0.707107, -0.707107]), array([0.707107]))

    With ``x0`` from another array-API library (``array_api_strict`` here; CuPy arrays run
    on the GPU) the iteration runs in that library and ``x``, ``v`` are returned in it:

    >>> import array_api_strict as xps
    >>> cons = {"type": "eq", "fun": lambda x: xps.reshape(x @ x - 1.0, (1,)),
    ...         "jac": lambda x: 2.0 * x[None, :],
    ...         "hess": lambda x, v: 2.0 * v[0] * xps.eye(2, dtype=xps.float64)}
    >>> res = minimize_eq(lambda x: x[0] + x[1], xps.asarray([-1.0, -0.5]),
    ...                   jac=lambda x: xps.ones(2, dtype=xps.float64),
    ...                   hess=lambda x: xps.zeros((2, 2), dtype=xps.float64),
    ...                   constraints=cons, sketch="direct")
    >>> type(res.x).__module__.split(".")[0], round(res.fun, 6)
    ('array_api_strict', -1.414214)
    """
    xp = _namespace(x0, lambda0)
    progress = Progress("minimize_eq", verbose, measure="KKT norm")
    if xp is not None:  # CuPy, array_api_strict, ...: the generic array-API path
        from numlearn.optimize._minimize_eq_array_api import (
            solve_array_api,
            validate_array_api,
        )

        p = validate_array_api(fun, x0, jac, hess, hessp, constraints, lambda0, sketch,
                               block_size, tol, maxiter, superlinear, random_state,
                               callback, options, xp)
        result = solve_array_api(p, progress)
    else:
        p = _validate(fun, x0, jac, hess, hessp, constraints, lambda0, sketch, block_size,
                      tol, maxiter, superlinear, random_state, callback, options)
        result = _solve(p, progress)
    warn_if_not_converged(result, "minimize_eq")
    return result


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def _namespace(x0, lambda0):
    """The array namespace of ``x0`` (and ``lambda0``) if it is not NumPy, else None."""
    arrays = [a for a in (x0, lambda0) if hasattr(a, "__array_namespace__")]
    if not arrays or all(isinstance(a, np.ndarray) for a in arrays):
        return None
    xp = get_namespace(*arrays)  # TypeError when they mix array libraries
    if is_numpy_namespace(xp):
        return None
    if not hasattr(x0, "__array_namespace__"):
        raise TypeError("x0 must be an array of the namespace of lambda0, got "
                        f"{type(x0).__name__}.")
    return xp


def _validate(fun, x0, jac, hess, hessp, constraints, lambda0, sketch, block_size, tol,
              maxiter, superlinear, random_state, callback, options) -> dict:
    fun = check_callable(fun, "fun")
    jac = check_callable(jac, "jac")
    hess = check_callable(hess, "hess", allow_none=True)
    hessp = check_callable(hessp, "hessp", allow_none=True)
    if hess is None and hessp is None:
        raise TypeError("minimize_eq needs second derivatives: pass hess or hessp.")
    x = np.asarray(x0, dtype=np.float64) if not hasattr(x0, "dtype") else x0
    x = np.array(check_vector(x, "x0", np.size(x0), xp=np), dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        raise ValueError("x0 must have at least one entry.")
    cfun, cjac, chess = _parse_constraints(constraints)
    sketch = check_option(sketch, "sketch", MINIMIZE_EQ_SKETCHES)
    tol = check_scalar(tol, "tol", low=0.0, include_low=False)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0)
    if isinstance(superlinear, (bool, np.bool_)):
        rate = 1.0 if superlinear else 0.0
    else:
        rate = check_scalar(superlinear, "superlinear", low=0.0, include_low=False)
    callback = check_callable(callback, "callback", allow_none=True)
    opts = _parse_options(options)

    # evaluate once at x0 to learn m and check shapes
    f0 = _scalar(fun(x.copy()), "fun(x0)")
    g0 = _vec(jac(x.copy()), n, "jac(x0)")
    c_offset = 0.0
    if isinstance(constraints, NonlinearConstraint):
        c_offset = constraints.lb
    c0_raw = np.atleast_1d(np.asarray(cfun(x.copy()), dtype=np.float64)).ravel()
    m = c0_raw.shape[0]
    if m == 0:
        raise ValueError("constraints must define at least one equality (m >= 1).")
    c_offset = np.broadcast_to(np.asarray(c_offset, dtype=np.float64), (m,)).copy()
    if not np.all(np.isfinite(c_offset)):
        raise ValueError("constraints.lb must be finite.")
    c0 = _vec(c0_raw - c_offset, m, "constraints fun(x0)")
    G0 = _mat(cjac(x.copy()), (m, n), "constraints jac(x0)")
    if lambda0 is None:
        lam = np.zeros(m)
    else:
        lam = np.array(check_vector(np.asarray(lambda0, dtype=np.float64), "lambda0", m),
                       dtype=np.float64)
    if block_size is None:
        block_size = min(n + m, 8) if sketch in ("countsketch", "sparse_sign") else 1
    block_size = check_scalar(block_size, "block_size", kind=int, low=1, high=n + m)
    return dict(fun=fun, jac=jac, hess=hess, hessp=hessp, cfun=cfun, cjac=cjac, chess=chess,
                c_offset=c_offset, x=x, lam=lam, n=n, m=m, f0=f0, g0=g0, c0=c0, G0=G0,
                sketch=sketch, block_size=block_size, tol=tol, maxiter=maxiter, rate=rate,
                rng=check_random_state(random_state), callback=callback, opts=opts)


def _parse_constraints(constraints):
    if isinstance(constraints, NonlinearConstraint):
        lb = np.asarray(constraints.lb, dtype=np.float64)
        ub = np.asarray(constraints.ub, dtype=np.float64)
        if lb.shape != ub.shape or not np.array_equal(lb, ub):
            raise ValueError("constraints must be equalities: NonlinearConstraint needs "
                             "lb == ub.")
        cfun, cjac, chess = constraints.fun, constraints.jac, constraints.hess
        if not callable(cjac):
            raise TypeError("constraints.jac must be callable (finite differences are not "
                            f"supported), got {cjac!r}.")
        if not callable(chess):
            raise TypeError("constraints.hess must be callable (x, v) -> Σ vᵢ∇²cᵢ "
                            f"(quasi-Newton updates are not supported), got {chess!r}.")
        return check_callable(cfun, "constraints.fun"), cjac, chess
    if isinstance(constraints, dict):
        unknown = set(constraints) - {"type", "fun", "jac", "hess", "args"}
        if unknown:
            raise ValueError(f"constraints has unknown keys {sorted(unknown)}.")
        if constraints.get("type", "eq") != "eq":
            raise ValueError("constraints['type'] must be 'eq' (only equality constraints "
                             f"are supported), got {constraints.get('type')!r}.")
        if "fun" not in constraints or "jac" not in constraints:
            raise TypeError("constraints must have callable 'fun' and 'jac' entries.")
        cfun = check_callable(constraints["fun"], "constraints['fun']")
        cjac = check_callable(constraints["jac"], "constraints['jac']")
        chess = check_callable(constraints.get("hess"), "constraints['hess']",
                               allow_none=True)
        return cfun, cjac, chess
    raise TypeError("constraints must be a scipy.optimize.NonlinearConstraint or a dict, "
                    f"got {type(constraints).__name__}.")


def _parse_options(options) -> dict:
    opts = dict(MINIMIZE_EQ_DEFAULT_OPTIONS)
    if options is None:
        return opts
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}.")
    unknown = set(options) - set(opts)
    if unknown:
        warnings.warn(f"Unknown options of minimize_eq ignored: {sorted(unknown)}.",
                      OptimizeWarning, stacklevel=4)
    opts.update({k: v for k, v in options.items() if k in opts})
    positive = ("mu0", "nu0", "delta0", "delta_min", "xi_B", "mu_max", "nu_min")
    for key in positive:
        opts[key] = check_scalar(opts[key], f"options['{key}']", low=0.0, include_low=False)
    for key in ("reduced_hessian_tol", "jacobian_rcond"):
        opts[key] = check_scalar(opts[key], f"options['{key}']", low=0.0)
    opts["armijo"] = check_scalar(opts["armijo"], "options['armijo']", low=0.0, high=0.5,
                                  include_low=False, include_high=False)
    opts["rho"] = check_scalar(opts["rho"], "options['rho']", low=1.0, include_low=False)
    for key in ("max_singular", "max_backtracks", "dense_max"):
        opts[key] = check_scalar(opts[key], f"options['{key}']", kind=int, low=0)
    opts["inner_max_passes"] = check_scalar(opts["inner_max_passes"],
                                            "options['inner_max_passes']", kind=int, low=1)
    opts["max_block_size"] = check_scalar(opts["max_block_size"], "options['max_block_size']",
                                          kind=int, low=1, allow_none=True)
    if isinstance(opts["accuracy_constant"], str):
        check_option(opts["accuracy_constant"], "options['accuracy_constant']", ("paper",))
    else:
        opts["accuracy_constant"] = check_scalar(
            opts["accuracy_constant"], "options['accuracy_constant']", low=0.0,
            include_low=False)
    return opts


def _scalar(value, name: str) -> float:
    try:
        value = float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must return a real scalar.") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} is not finite.")
    return value


def _vec(value, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _mat(value, shape: tuple[int, int], name: str):
    if sp.issparse(value):
        M = sp.csr_matrix(value, dtype=np.float64)
        data = M.data
    else:
        M = np.asarray(value, dtype=np.float64)
        if M.ndim == 1 and shape[0] == 1:
            M = M[None, :]
        data = M
    if M.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {M.shape}.")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return M


# --------------------------------------------------------------------------------------
# the algorithm
# --------------------------------------------------------------------------------------
class _Problem:
    """Evaluations with counters, and the iterate's cached first-order quantities."""

    def __init__(self, p: dict):
        self.p = p
        self.n, self.m = p["n"], p["m"]
        self.nfev = self.njev = 1
        self.nhev = 0
        self.cnfev = self.cnjev = 1
        self.cnhev = 0

    def point(self, x, lam, f=None, g=None, c=None, G=None) -> dict:
        """Function values at ``(x, λ)`` (evaluated unless given) and ``∇ₓL``."""
        p = self.p
        if f is None:
            f = _scalar_or_nan(p["fun"](x.copy()))
            self.nfev += 1
        if c is None:
            c = np.asarray(p["cfun"](x.copy()), dtype=np.float64).ravel() - p["c_offset"]
            self.cnfev += 1
        if g is None:
            g = np.asarray(p["jac"](x.copy()), dtype=np.float64).ravel()
            self.njev += 1
        if G is None:
            G = p["cjac"](x.copy())
            G = sp.csr_matrix(G, dtype=np.float64) if sp.issparse(G) else \
                np.asarray(G, dtype=np.float64).reshape(self.m, self.n)
            self.cnjev += 1
        grad_l = g + G.T @ lam
        return dict(x=x, lam=lam, f=f, g=g, c=c, G=G, grad_l=grad_l)

    def lagrangian_hessian(self, x, lam):
        p = self.p
        if p["hess"] is not None:
            H = p["hess"](x.copy())
            self.nhev += 1
        else:
            H = np.empty((self.n, self.n))
            for i in range(self.n):
                e = np.zeros(self.n)
                e[i] = 1.0
                H[:, i] = np.asarray(p["hessp"](x.copy(), e), dtype=np.float64).ravel()
            self.nhev += self.n
            H = 0.5 * (H + H.T)
        H = _as_matrix(H, self.n, "hess(x)")
        if p["chess"] is not None:
            Hc = _as_matrix(p["chess"](x.copy(), lam.copy()), self.n,
                            "constraints hess(x, v)")
            self.cnhev += 1
            if sp.issparse(H) != sp.issparse(Hc):  # sparse + dense would be an np.matrix
                H = H.toarray() if sp.issparse(H) else H
                Hc = Hc.toarray() if sp.issparse(Hc) else Hc
            H = H + Hc
        if sp.issparse(H):
            H = sp.csr_matrix(H)
        return H


def _as_matrix(H, n: int, name: str):
    if sp.issparse(H):
        H = sp.csr_matrix(H, dtype=np.float64)
    else:
        H = np.asarray(H, dtype=np.float64)
    if H.shape != (n, n):
        raise ValueError(f"{name} must have shape ({n}, {n}), got {H.shape}.")
    return H


def _scalar_or_nan(value) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return math.nan


def _merit(pt: dict, mu: float, nu: float) -> float:
    c, gl = pt["c"], pt["grad_l"]
    return pt["f"] + pt["lam"] @ c + 0.5 * mu * (c @ c) + 0.5 * nu * (gl @ gl)


def _kkt_norm(pt: dict) -> float:
    return float(math.hypot(np.linalg.norm(pt["grad_l"]), np.linalg.norm(pt["c"])))


class _Checks:
    """Rank of ``G``, reduced-Hessian test and Hessian shift for one iterate.

    Gershgorin's theorem is tried first: when it proves ``∇²ₓL`` positive definite the
    reduced Hessian is too and no eigenvalue problem is solved.
    """

    def __init__(self, H, G, opts: dict, n: int, m: int):
        self.dense = n <= opts["dense_max"]
        self.xi_G = 1.0
        self.singular = False
        self.range_basis = None
        self._H = H
        self._h_norm = None
        tol = opts["reduced_hessian_tol"]
        lam_min = _gershgorin_min(H)
        if self.dense:
            Gd = G.toarray() if sp.issparse(G) else G
            U, s, Vt = np.linalg.svd(Gd, full_matrices=False)
            s_max = s[0] if s.size else 0.0
            rank = int(np.sum(s > opts["jacobian_rcond"] * s_max)) if s_max > 0 else 0
            self.singular = rank < m
            self.range_basis = U[:, :rank]
            self.xi_G = float(s[m - 1] ** 2) if (m <= n and rank == m) else 0.0
            if lam_min < tol and rank < n:
                Hd = H.toarray() if sp.issparse(H) else H
                if rank:  # orthonormal basis Z of null(G)
                    Q, _ = np.linalg.qr(Vt[:rank].T, mode="complete")
                    Z = Q[:, rank:]
                else:
                    Z = np.eye(n)
                lam_min = np.linalg.eigvalsh(Z.T @ Hd @ Z)[0]
            elif rank == n:
                lam_min = np.inf  # null(G) = {0}: nothing to check
        self.shift = 0.0
        if lam_min < tol:
            self.shift = opts["xi_B"] + self.h_norm

    @property
    def h_norm(self) -> float:
        """``‖∇²ₓL‖₂`` (dense problems) or an upper bound of it (large ones)."""
        if self._h_norm is None:
            H = self._H
            if self.dense:
                self._h_norm = float(np.linalg.norm(H.toarray() if sp.issparse(H) else H, 2))
            else:
                self._h_norm = _norm_bound(H)
        return self._h_norm


def _norm_bound(H) -> float:
    """An upper bound of ``‖H‖₂`` for a symmetric ``H`` (max absolute row sum)."""
    if sp.issparse(H):
        return float(abs(H).sum(axis=1).max()) if H.nnz else 0.0
    return float(np.abs(H).sum(axis=1).max())


def _gershgorin_min(H) -> float:
    """A lower bound of ``λ_min(H)`` by Gershgorin's theorem."""
    d = H.diagonal()
    off = np.asarray(abs(H).sum(axis=1)).ravel() - np.abs(d)
    return float(np.min(d - off))


def _kkt_matrix(B, G, shift: float):
    n = G.shape[1]
    if sp.issparse(B) or sp.issparse(G):
        Bs = sp.csr_matrix(B)
        if shift:
            Bs = Bs + shift * sp.identity(n, format="csr")
        Gs = sp.csr_matrix(G)
        return sp.bmat([[Bs, Gs.T], [Gs, None]], format="csr")
    Bd = B + shift * np.eye(n) if shift else B
    m = G.shape[0]
    return np.block([[Bd, G.T], [G, np.zeros((m, m))]])


def _direct_solve(K, rhs):
    if sp.issparse(K):
        from scipy.sparse.linalg import splu

        try:
            return splu(sp.csc_matrix(K)).solve(rhs), True
        except RuntimeError:  # exactly singular
            K = K.toarray()
    z, *_ = np.linalg.lstsq(K, rhs, rcond=None)
    return z, True


class _InnerSolver:
    """Warm-started sketch-and-project solves whose block grows when a solve stalls.

    A solve that reaches its iteration cap (``inner_max_passes`` passes over the
    ``n + m`` rows) before its target resumes from where it stopped with twice the
    block size, up to ``max_block_size``; the larger block is kept for later solves.
    Near a degenerate minimum (singular reduced Hessian) the KKT matrices become badly
    conditioned and one-vector sketches stall; a block as large as the system is an
    exact projection.
    """

    def __init__(self, sketch: str, block_size: int, opts: dict, size: int, rng):
        self.sketch, self.rng, self.size = sketch, rng, size
        self.block_size = block_size
        cap = opts["max_block_size"]
        self.max_block = size if cap is None else max(min(cap, size), block_size)
        self.passes = opts["inner_max_passes"]
        self.n_inner = 0
        self.n_sketch_rows = 0

    def solve(self, K, rhs, z, target: float) -> np.ndarray:
        while True:
            maxiter = self.passes * math.ceil(self.size / self.block_size)
            # a CountSketch or sparse sign sketch with as many columns as rows is not of
            # full rank in general; a Gaussian one is (an exact projection)
            kind = self.sketch
            if self.block_size >= self.size and kind in ("countsketch", "sparse_sign"):
                kind = "gaussian"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sketch_and_project(K, rhs, sketch=kind, block_size=self.block_size,
                                         x0=z, rtol=0.0, atol=max(target, 1e-300),
                                         maxiter=maxiter, random_state=self.rng)
            self.n_inner += res.n_iter
            self.n_sketch_rows += res.n_iter * self.block_size
            if np.all(np.isfinite(res.x)):
                z = np.asarray(res.x)
            if res.converged or self.block_size >= self.max_block:
                return z
            self.block_size = min(2 * self.block_size, self.max_block)


def _solve(p: dict, progress: Progress) -> SolverResult:
    opts = p["opts"]
    prob = _Problem(p)
    n, m, rng = p["n"], p["m"], p["rng"]
    pt = prob.point(p["x"], p["lam"], f=p["f0"], g=p["g0"], c=p["c0"], G=p["G0"])
    mu, nu, delta = opts["mu0"], opts["nu0"], opts["delta0"]
    kkt = _kkt_norm(pt)
    history = [kkt]
    n_iter, n_singular = 0, 0
    inner = _InnerSolver(p["sketch"], p["block_size"], opts, n + m, rng)
    status, message = Status.MAX_ITER, None

    while True:
        if kkt <= p["tol"]:
            status = Status.SUCCESS
            break
        if n_iter >= p["maxiter"]:
            status = Status.MAX_ITER
            break
        x, lam, c, G, gl = pt["x"], pt["lam"], pt["c"], pt["G"], pt["grad_l"]
        H = prob.lagrangian_hessian(x, lam)
        checks = _Checks(H, G, opts, n, m)
        c_rhs = c
        if checks.singular:
            n_singular += 1
            if n_singular > opts["max_singular"]:
                status, message = Status.BREAKDOWN, _SINGULAR_MESSAGE
                break
            Ur = checks.range_basis
            c_rhs = Ur @ (Ur.T @ c)  # consistent KKT system: c projected on range(G)
        else:
            n_singular = 0
        K = _kkt_matrix(H, G, checks.shift)
        rhs = -np.r_[gl, c_rhs]
        rhs_norm = float(np.linalg.norm(rhs))
        theta = min(1.0, kkt ** p["rate"]) if p["rate"] > 0 else 1.0
        if opts["accuracy_constant"] == "paper":
            b_norm = checks.h_norm + checks.shift
            psi = 20.0 * max(b_norm**2, 1.0) / (min(checks.xi_G, 1.0) * min(opts["xi_B"], 1.0)) \
                if checks.xi_G > 0 else math.inf
            k_fro = float(np.linalg.norm(K.data if sp.issparse(K) else K))
            const = k_fro * psi
        else:
            const = opts["accuracy_constant"]

        # inexact Newton step with the descent test and the penalty adaptation
        z = np.zeros(n + m)
        # pieces of ∇L_{μ,ν} = (∇ₓL + μGᵀc + ν∇²ₓL ∇ₓL, c + νG∇ₓL): Lagrangian Hessian
        Gtc, H_gl, G_gl = G.T @ c, H @ gl, G @ gl
        slope = math.nan
        found = found_direct = False
        while True:
            target = theta * delta * rhs_norm / const
            if p["sketch"] == "direct":
                if not found_direct:  # the exact step does not depend on μ, ν, δ
                    z, _ = _direct_solve(K, rhs)
                    found_direct = True
            else:
                z = inner.solve(K, rhs, z, target)
            dx, dlam = z[:n], z[n:]
            slope = float((gl + mu * Gtc + nu * H_gl) @ dx + (c + nu * G_gl) @ dlam)
            if np.isfinite(slope) and slope <= -0.5 * nu * kkt**2:
                found = True
                break
            if mu >= opts["mu_max"] and nu <= opts["nu_min"]:
                break
            mu = min(mu * opts["rho"] ** 2, opts["mu_max"])
            nu = max(nu / opts["rho"], opts["nu_min"])
            delta = max(delta / opts["rho"], opts["delta_min"])
        if not found and not (np.isfinite(slope) and slope < 0):
            status, message = Status.STAGNATION, _NO_DESCENT_MESSAGE
            if checks.singular:
                status, message = Status.BREAKDOWN, _SINGULAR_MESSAGE
            break

        # Armijo backtracking on the merit function, x and λ together
        phi0 = _merit(pt, mu, nu)
        alpha, accepted = 1.0, None
        for _ in range(opts["max_backtracks"] + 1):
            trial = prob.point(x + alpha * dx, lam + alpha * dlam)
            phi = _merit(trial, mu, nu)
            if np.isfinite(phi) and phi <= phi0 + opts["armijo"] * alpha * slope:
                accepted = trial
                break
            if alpha == 1.0 and -slope <= _ROUNDING * (abs(phi0) + 1.0) and \
                    _kkt_norm(trial) < kkt:
                # near a KKT point the predicted decrease of the merit function is below
                # its rounding error: Armijo cannot be checked, accept the unit step that
                # reduces the KKT residual
                accepted = trial
                break
            alpha *= 0.5
        n_iter += 1
        if accepted is None:
            status, message = Status.STAGNATION, _NO_DESCENT_MESSAGE
            if checks.singular:
                status, message = Status.BREAKDOWN, _SINGULAR_MESSAGE
            history.append(kkt)
            break
        pt = accepted
        kkt = _kkt_norm(pt)
        history.append(kkt)
        progress.update(n_iter, kkt)
        if not math.isfinite(kkt):
            status = Status.DIVERGED
            break
        if p["callback"] is not None and kkt > p["tol"]:
            info = SolverResult(x=pt["x"].copy(), v=pt["lam"].copy(), fun=pt["f"],
                                kkt_norm=kkt, nit=n_iter)
            try:
                p["callback"](info)
            except StopIteration:
                status = Status.CALLBACK_STOP
                break

    progress.update(n_iter, kkt, final=True)
    result = make_result(
        status=status, n_iter=n_iter, x=pt["x"].copy(), v=pt["lam"].copy(), fun=pt["f"],
        kkt_norm=kkt, constr_violation=float(np.linalg.norm(pt["c"])), nit=n_iter,
        nfev=prob.nfev, njev=prob.njev, nhev=prob.nhev, constr_nfev=prob.cnfev,
        constr_njev=prob.cnjev, constr_nhev=prob.cnhev, n_inner=inner.n_inner,
        n_sketch_rows=inner.n_sketch_rows,
        block_size=inner.block_size,
        history=np.asarray(history), mu=mu, nu=nu,
    )
    if message is not None:
        result["message"] = message
    result["success"] = result["converged"]
    return result
