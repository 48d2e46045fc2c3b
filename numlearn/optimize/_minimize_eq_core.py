"""The sketched augmented-Lagrangian Newton method, once, against an array namespace ``xp``.

:func:`numlearn.optimize.minimize_eq` runs the code of this module on both of its paths:
argument validation, the evaluations with their counters, the rank and reduced-Hessian
checks, the inner sketch solves, the descent test with the penalty adaptation, the Armijo
search on the exact augmented Lagrangian and the result. What differs between the paths
is behind a :class:`Backend`:

* :class:`numlearn.optimize._minimize_eq._NumpyBackend` (NumPy inputs; ``xp`` is NumPy
  itself, or ``array_api_compat.numpy`` under NumPy 1.x) keeps SciPy sparse Jacobians
  and Hessians sparse, assembles a sparse KKT matrix when either is sparse and solves
  ``"direct"`` systems by sparse LU;
* :class:`numlearn.optimize._minimize_eq_array_api.ArrayAPIBackend` (CuPy,
  ``array_api_strict``, ...) moves the callables' outputs to ``x0``'s namespace and
  device, makes sparse matrices dense and assembles the KKT matrix densely with ``xp``.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod

import numpy as np
from scipy.linalg.lapack import dsytrf as _dsytrf
from scipy.optimize import NonlinearConstraint, OptimizeWarning

from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import (
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
)
from numlearn.linalg import sketch_and_project

__all__ = ["MINIMIZE_EQ_SKETCHES", "MINIMIZE_EQ_DEFAULT_OPTIONS", "Backend", "InertiaChecks",
           "validate", "solve"]

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
_ROUNDING = 1e3 * float(np.finfo(np.float64).eps)

_SINGULAR_MESSAGE = (
    "Singular constraint Jacobian: the constraint gradients stayed linearly dependent "
    "over several iterations (options['max_singular']) before the KKT tolerance was met "
    "(are the constraints redundant or inconsistent?)."
)
_NO_DESCENT_MESSAGE = (
    "Stagnation: no descent direction for the augmented-Lagrangian merit function "
    "was found within the penalty limits (mu_max, nu_min), or the line search failed."
)


class Backend(ABC):
    """What differs between the NumPy and the array-API paths of :func:`minimize_eq`.

    ``xp`` is the array namespace of the iterates and ``device`` their device (``None``
    for NumPy). Subclasses convert the callables' outputs (``flat``, ``vec``, ``mat``,
    ``jacobian``, ``hessian``, ``add``), give the entries the checks need from a possibly
    sparse matrix (``dense``, ``diagonal``, ``row_abs_sums``) and assemble and solve the
    KKT systems (``kkt_matrix``, ``direct_solve``, ``fro_norm``).
    """

    xp = None
    device = None

    @abstractmethod
    def start(self, x0):
        """``x0`` validated, as a float64 copy of shape ``(n,)``."""

    @abstractmethod
    def lambda0(self, lambda0, m: int):
        """``lambda0`` validated, as a float64 copy of shape ``(m,)``."""

    @abstractmethod
    def from_host(self, a: np.ndarray):
        """A NumPy array as an array of ``xp`` on ``device``."""

    @abstractmethod
    def flat(self, value):
        """A callable's output as a float64 vector (unchecked)."""

    @abstractmethod
    def vec(self, value, n: int, name: str):
        """A callable's output as a float64 vector of shape ``(n,)``, checked finite."""

    @abstractmethod
    def mat(self, value, shape: tuple[int, int], name: str):
        """A callable's output as a float64 matrix of ``shape``, checked finite."""

    @abstractmethod
    def jacobian(self, value, m: int, n: int):
        """A constraint Jacobian ``(m, n)`` during the iterations (unchecked)."""

    @abstractmethod
    def hessian(self, value, n: int, name: str):
        """A Hessian ``(n, n)`` during the iterations (shape checked)."""

    @abstractmethod
    def add(self, H, Hc):
        """``H + Hc`` (objective and constraint Hessians)."""

    @abstractmethod
    def dense(self, M):
        """``M`` as a dense array of ``xp``."""

    @abstractmethod
    def diagonal(self, H):
        """The diagonal of ``H`` as a vector of ``xp``."""

    @abstractmethod
    def row_abs_sums(self, H):
        """``Σⱼ |Hᵢⱼ|`` for each row, as a vector of ``xp``."""

    @abstractmethod
    def kkt_matrix(self, B, G, shift: float):
        """``[[B + shift·I, Gᵀ], [G, 0]]``."""

    @abstractmethod
    def direct_solve(self, K, rhs, singular: bool):
        """An exact solution of ``K z = rhs`` (least squares when ``K`` is singular)."""

    @abstractmethod
    def fro_norm(self, K) -> float:
        """``‖K‖_F``."""


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def validate(fun, x0, jac, hess, hessp, constraints, lambda0, sketch, block_size, tol,
             maxiter, superlinear, random_state, callback, options, backend: Backend) -> dict:
    """Validate the arguments of :func:`minimize_eq`; evaluate once at ``x0``."""
    fun = check_callable(fun, "fun")
    jac = check_callable(jac, "jac")
    hess = check_callable(hess, "hess", allow_none=True)
    hessp = check_callable(hessp, "hessp", allow_none=True)
    if hess is None and hessp is None:
        raise TypeError("minimize_eq needs second derivatives: pass hess or hessp.")
    x = backend.start(x0)
    xp, device = backend.xp, backend.device
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
    f0 = _scalar(_host_scalar(fun(_copy(x, xp))), "fun(x0)")
    g0 = backend.vec(jac(_copy(x, xp)), n, "jac(x0)")
    c0_raw = backend.flat(cfun(_copy(x, xp)))
    m = c0_raw.shape[0]
    if m == 0:
        raise ValueError("constraints must define at least one equality (m >= 1).")
    lb = constraints.lb if isinstance(constraints, NonlinearConstraint) else 0.0
    lb = np.broadcast_to(np.asarray(_host_array(lb), dtype=np.float64), (m,))
    if not np.all(np.isfinite(lb)):
        raise ValueError("constraints.lb must be finite.")
    c_offset = backend.from_host(np.array(lb))
    c0 = backend.vec(c0_raw - c_offset, m, "constraints fun(x0)")
    G0 = backend.mat(cjac(_copy(x, xp)), (m, n), "constraints jac(x0)")
    if lambda0 is None:
        lam = xp.zeros((m,), dtype=xp.float64, device=device)
    else:
        lam = backend.lambda0(lambda0, m)
    if block_size is None:
        block_size = min(n + m, 8) if sketch in ("countsketch", "sparse_sign") else 1
    block_size = check_scalar(block_size, "block_size", kind=int, low=1, high=n + m)
    return dict(fun=fun, jac=jac, hess=hess, hessp=hessp, cfun=cfun, cjac=cjac, chess=chess,
                c_offset=c_offset, x=x, lam=lam, n=n, m=m, f0=f0, g0=g0, c0=c0, G0=G0,
                sketch=sketch, block_size=block_size, tol=tol, maxiter=maxiter, rate=rate,
                rng=check_random_state(random_state), callback=callback, opts=opts,
                backend=backend)


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


def _scalar_or_nan(value) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return math.nan


def _host_scalar(value):
    """A 0-d array of any namespace (or a scalar) as something ``float`` accepts."""
    if hasattr(value, "__array_namespace__") and not isinstance(value, np.ndarray):
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    return value


def _host_array(value):
    """An array of any namespace as a NumPy array (other values unchanged)."""
    if hasattr(value, "__array_namespace__") and not isinstance(value, np.ndarray):
        from numlearn._backend import to_numpy

        return to_numpy(value)
    return value


def _copy(x, xp):
    return xp.asarray(x, copy=True)


def _all_finite(a, xp) -> bool:
    return bool(xp.all(xp.isfinite(a)))


# --------------------------------------------------------------------------------------
# the algorithm
# --------------------------------------------------------------------------------------
class _Problem:
    """Evaluations with counters, and the iterate's cached first-order quantities."""

    def __init__(self, p: dict):
        self.p = p
        self.backend = p["backend"]
        self.xp = self.backend.xp
        self.n, self.m = p["n"], p["m"]
        self.nfev = self.njev = 1
        self.nhev = 0
        self.cnfev = self.cnjev = 1
        self.cnhev = 0

    def point(self, x, lam, f=None, g=None, c=None, G=None) -> dict:
        """Function values at ``(x, λ)`` (evaluated unless given) and ``∇ₓL``."""
        p, xp, be = self.p, self.xp, self.backend
        if f is None:
            f = _scalar_or_nan(_host_scalar(p["fun"](_copy(x, xp))))
            self.nfev += 1
        if c is None:
            c = be.flat(p["cfun"](_copy(x, xp))) - p["c_offset"]
            self.cnfev += 1
        if g is None:
            g = be.flat(p["jac"](_copy(x, xp)))
            self.njev += 1
        if G is None:
            G = be.jacobian(p["cjac"](_copy(x, xp)), self.m, self.n)
            self.cnjev += 1
        grad_l = g + G.T @ lam
        return dict(x=x, lam=lam, f=f, g=g, c=c, G=G, grad_l=grad_l)

    def lagrangian_hessian(self, x, lam):
        p, xp, be, n = self.p, self.xp, self.backend, self.n
        if p["hess"] is not None:
            H = p["hess"](_copy(x, xp))
            self.nhev += 1
        else:
            eye = xp.eye(n, dtype=xp.float64, device=be.device)
            cols = [be.flat(p["hessp"](_copy(x, xp), _copy(eye[i, :], xp)))
                    for i in range(n)]
            H = xp.stack(cols, axis=1)
            self.nhev += n
            H = 0.5 * (H + H.T)
        H = be.hessian(H, n, "hess(x)")
        if p["chess"] is not None:
            Hc = be.hessian(p["chess"](_copy(x, xp), _copy(lam, xp)), n,
                            "constraints hess(x, v)")
            self.cnhev += 1
            H = be.add(H, Hc)
        return H


def _merit(pt: dict, mu: float, nu: float) -> float:
    c, gl = pt["c"], pt["grad_l"]
    return pt["f"] + float(pt["lam"] @ c) + 0.5 * mu * float(c @ c) + 0.5 * nu * float(gl @ gl)


def _norm(v) -> float:
    """``‖v‖₂`` of a vector (as ``numpy.linalg.norm``: the square root of ``v·v``)."""
    return math.sqrt(float(v @ v))


def _kkt_norm(pt: dict) -> float:
    return float(math.hypot(_norm(pt["grad_l"]), _norm(pt["c"])))


class _Checks:
    """Rank of ``G``, reduced-Hessian test and Hessian shift for one iterate.

    Gershgorin's theorem is tried first: when it proves ``∇²ₓL`` positive definite the
    reduced Hessian is too and no eigenvalue problem is solved.
    """

    def __init__(self, H, G, opts: dict, n: int, m: int, backend: Backend, *,
                 known_pd: bool = False):
        xp = backend.xp
        self.backend = backend
        self.dense = n <= opts["dense_max"]
        self.xi_G = 1.0
        self.singular = False
        self.range_basis = None
        self._H = H
        self._h_norm = None
        tol = opts["reduced_hessian_tol"]
        if known_pd:  # the caller proved Zᵀ∇²ₓL Z positive definite
            lam_min = math.inf
        else:
            d = backend.diagonal(H)  # Gershgorin: a lower bound of λ_min(H)
            lam_min = float(xp.min(d - (backend.row_abs_sums(H) - xp.abs(d))))
        if self.dense:
            U, s, Vt = xp.linalg.svd(backend.dense(G), full_matrices=False)
            s_max = float(s[0]) if s.shape[0] else 0.0
            rank = int(xp.count_nonzero(s > opts["jacobian_rcond"] * s_max)) \
                if s_max > 0 else 0
            self.singular = rank < m
            self.range_basis = U[:, :rank]
            self.xi_G = float(s[m - 1] ** 2) if (m <= n and rank == m) else 0.0
            if lam_min < tol and rank < n:
                if rank:  # orthonormal basis Z of null(G)
                    Q, _ = xp.linalg.qr(Vt[:rank, :].T, mode="complete")
                    Z = Q[:, rank:]
                else:
                    Z = xp.eye(n, dtype=xp.float64, device=backend.device)
                lam_min = float(xp.linalg.eigvalsh(Z.T @ backend.dense(H) @ Z)[0])
            elif rank == n:
                lam_min = math.inf  # null(G) = {0}: nothing to check
        self.shift = 0.0
        if lam_min < tol:
            self.shift = opts["xi_B"] + self.h_norm

    @property
    def h_norm(self) -> float:
        """``‖∇²ₓL‖₂`` (dense problems) or an upper bound of it, the max absolute row sum."""
        if self._h_norm is None:
            be, H = self.backend, self._H
            if self.dense:
                self._h_norm = float(be.xp.linalg.matrix_norm(be.dense(H), ord=2))
            else:
                self._h_norm = float(be.xp.max(be.row_abs_sums(H)))
        return self._h_norm


class InertiaChecks(_Checks):
    """:class:`_Checks` from one symmetric eigenvalue call for small dense NumPy systems.

    By the inertia theorem of saddle-point matrices (Gould 1985; Nocedal & Wright,
    Thm. 16.3), ``K_τ = [[H − τI, Gᵀ], [G, 0]]`` has exactly ``n`` positive and ``m``
    negative eigenvalues iff ``G`` has full row rank and ``λ_min(ZᵀHZ) > τ`` (``Z`` an
    orthonormal basis of ``null(G)``, so ``Zᵀ(H − τI)Z = ZᵀHZ − τI``). With
    ``τ = reduced_hessian_tol`` that is the outcome in which :class:`_Checks` finds no
    rank deficiency and no shift, decided here by the symmetric indefinite factorization
    ``K_τ = LDLᵀ`` (LAPACK ``dsytrf``, Bunch–Kaufman pivoting; the inertia of ``K_τ`` is
    that of ``D``) instead of an SVD of ``G``, a QR factorization and an ``eigvalsh`` of
    the reduced Hessian. Any other inertia (or a ``1 × 1`` pivot within a relative
    ``1e-10`` of zero) falls back to :class:`_Checks`, which then decides rank, shift
    and the basis.
    Used by :func:`~numlearn.optimize.minimize_constrained` (``p["checks"]``);
    :func:`~numlearn.optimize.minimize_eq` keeps :class:`_Checks`.
    """

    #: largest ``n + m`` decided by the inertia test (an eigenvalue solve of that order)
    max_order = 400

    def __init__(self, H, G, opts: dict, n: int, m: int, backend: Backend, *,
                 known_pd: bool = False):
        if (n + m > self.max_order or opts["accuracy_constant"] == "paper"
                or not isinstance(H, np.ndarray) or not isinstance(G, np.ndarray)):
            super().__init__(H, G, opts, n, m, backend, known_pd=known_pd)
            return
        K = np.zeros((n + m, n + m))
        K[:n, :n] = H
        K[:n, n:] = G.T
        K[n:, :n] = G
        idx = np.arange(n)
        K[idx, idx] -= opts["reduced_hessian_tol"]
        cut = 1e-10 * max(float(np.max(np.abs(K))), 1e-300)
        # Bunch–Kaufman LDLᵀ: the inertia of K_τ is that of D (Sylvester); each 2×2
        # pivot block has one positive and one negative eigenvalue
        ldl, ipiv, info = _dsytrf(K, lower=1, overwrite_a=1)
        two = ipiv < 0
        n2 = int(np.count_nonzero(two)) // 2
        d = np.diagonal(ldl)[~two]
        if info < 0 or not (np.count_nonzero(d > cut) + n2 == n
                            and np.count_nonzero(d < -cut) + n2 == m):
            super().__init__(H, G, opts, n, m, backend, known_pd=known_pd)
            return
        self.backend = backend
        self.dense = n <= opts["dense_max"]
        self.xi_G = 1.0  # only the "paper" accuracy constant reads it (not here)
        self.singular = False
        self.range_basis = None
        self._H = H
        self._h_norm = None
        self.shift = 0.0


class _InnerSolver:
    """Warm-started sketch-and-project solves whose block grows when a solve stalls.

    A solve that reaches its iteration cap (``inner_max_passes`` passes over the
    ``n + m`` rows) before its target resumes from where it stopped with twice the
    block size, up to ``max_block_size``; the larger block is kept for later solves.
    Near a degenerate minimum (singular reduced Hessian) the KKT matrices become badly
    conditioned and one-vector sketches stall; a block as large as the system is an
    exact projection.
    """

    def __init__(self, sketch: str, block_size: int, opts: dict, size: int, rng, xp):
        self.sketch, self.rng, self.size, self.xp = sketch, rng, size, xp
        self.block_size = block_size
        cap = opts["max_block_size"]
        self.max_block = size if cap is None else max(min(cap, size), block_size)
        self.passes = opts["inner_max_passes"]
        self.n_inner = 0
        self.n_sketch_rows = 0

    def solve(self, K, rhs, z, target: float):
        xp = self.xp
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
            zx = xp.asarray(res.x)
            if _all_finite(zx, xp):
                z = zx
            if res.converged or self.block_size >= self.max_block:
                return z
            self.block_size = min(2 * self.block_size, self.max_block)


def solve(p: dict, monitor: Monitor) -> SolverResult:
    """Run :func:`minimize_eq` on the problem ``p`` returned by :func:`validate`.

    ``monitor`` (a :class:`~numlearn._monitor.Monitor` with ``return_history=True`` and
    the validated ``p["callback"]``) keeps the KKT history, reports progress, calls the
    callback and builds the result; the caller emits the convergence warning.
    """
    be = p["backend"]
    xp = be.xp
    opts = p["opts"]
    prob = _Problem(p)
    n, m, rng = p["n"], p["m"], p["rng"]
    pt = prob.point(p["x"], p["lam"], f=p["f0"], g=p["g0"], c=p["c0"], G=p["G0"])
    mu, nu, delta = opts["mu0"], opts["nu0"], opts["delta0"]
    kkt = _kkt_norm(pt)
    mon = monitor
    mon.history.append(kkt)  # the KKT norm at x0: recorded, not an iteration to report
    n_iter, n_singular = 0, 0
    inner = _InnerSolver(p["sketch"], p["block_size"], opts, n + m, rng, xp)
    status, message = Status.MAX_ITER, None

    stop_test = p.get("stop_test")
    checks_class = p.get("checks", _Checks)  # a front door's choice (InertiaChecks)
    while True:
        if stop_test is not None:  # a front door's own stopping test (minimize_constrained)
            verdict = stop_test(pt, kkt, n_iter, mu)
            if verdict is not None:
                status, message = verdict
                break
        elif kkt <= p["tol"]:
            status = Status.SUCCESS
            break
        if n_iter >= p["maxiter"]:
            status = Status.MAX_ITER
            break
        x, lam, c, G, gl = pt["x"], pt["lam"], pt["c"], pt["G"], pt["grad_l"]
        H = prob.lagrangian_hessian(x, lam)
        known_pd = p.get("reduced_hessian_pd")  # a front door's structural test
        checks = checks_class(H, G, opts, n, m, be,
                         known_pd=known_pd is not None and known_pd(x, lam, H))
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
        K = be.kkt_matrix(H, G, checks.shift)
        rhs = -xp.concat([gl, c_rhs])
        rhs_norm = _norm(rhs)
        theta = min(1.0, kkt ** p["rate"]) if p["rate"] > 0 else 1.0
        if opts["accuracy_constant"] == "paper":
            b_norm = checks.h_norm + checks.shift
            psi = 20.0 * max(b_norm**2, 1.0) / (min(checks.xi_G, 1.0) * min(opts["xi_B"], 1.0)) \
                if checks.xi_G > 0 else math.inf
            const = be.fro_norm(K) * psi
        else:
            const = opts["accuracy_constant"]

        # inexact Newton step with the descent test and the penalty adaptation
        z = xp.zeros((n + m,), dtype=xp.float64, device=be.device)
        # pieces of ∇L_{μ,ν} = (∇ₓL + μGᵀc + ν∇²ₓL ∇ₓL, c + νG∇ₓL): Lagrangian Hessian
        Gtc, H_gl, G_gl = G.T @ c, H @ gl, G @ gl
        slope = math.nan
        found = found_direct = False
        while True:
            target = theta * delta * rhs_norm / const
            if p["sketch"] == "direct":
                if not found_direct:  # the exact step does not depend on μ, ν, δ
                    z = be.direct_solve(K, rhs, checks.singular)
                    found_direct = True
            else:
                z = inner.solve(K, rhs, z, target)
            dx, dlam = z[:n], z[n:]
            slope = float((gl + mu * Gtc + nu * H_gl) @ dx + (c + nu * G_gl) @ dlam)
            if math.isfinite(slope) and slope <= -0.5 * nu * kkt**2:
                found = True
                break
            if mu >= opts["mu_max"] and nu <= opts["nu_min"]:
                break
            mu = min(mu * opts["rho"] ** 2, opts["mu_max"])
            nu = max(nu / opts["rho"], opts["nu_min"])
            delta = max(delta / opts["rho"], opts["delta_min"])
        if not found and not (math.isfinite(slope) and slope < 0):
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
            if math.isfinite(phi) and phi <= phi0 + opts["armijo"] * alpha * slope:
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
            mon.history.append(kkt)
            break
        pt = accepted
        kkt = _kkt_norm(pt)
        mon.record(kkt, n_iter=n_iter)
        if not math.isfinite(kkt):
            status = Status.DIVERGED
            break
        if mon.callback is not None and (stop_test is not None or kkt > p["tol"]):
            info = SolverResult(x=_copy(pt["x"], xp), v=_copy(pt["lam"], xp), fun=pt["f"],
                                kkt_norm=kkt, nit=n_iter)
            if mon.notify(info):
                status = Status.CALLBACK_STOP
                break

    mon.finish(kkt, n_iter=n_iter)
    result = mon.result(
        status, n_iter=n_iter, warn=False, x=_copy(pt["x"], xp), v=_copy(pt["lam"], xp),
        fun=float(pt["f"]), kkt_norm=kkt, constr_violation=_norm(pt["c"]), nit=n_iter,
        nfev=prob.nfev, njev=prob.njev, nhev=prob.nhev, constr_nfev=prob.cnfev,
        constr_njev=prob.cnjev, constr_nhev=prob.cnhev, n_inner=inner.n_inner,
        n_sketch_rows=inner.n_sketch_rows, block_size=inner.block_size, mu=mu, nu=nu,
    )
    if message is not None:
        result["message"] = message
    result["success"] = result["converged"]
    return result
