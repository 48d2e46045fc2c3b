"""Exact augmented-Lagrangian Newton with randomized sketching of the KKT systems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from numlearn._backend import non_numpy_namespace
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, warn_if_not_converged
from numlearn._validation import check_vector
from numlearn._validation import suggest_keywords
from numlearn.optimize._minimize_eq_core import (
    MINIMIZE_EQ_DEFAULT_OPTIONS,
    MINIMIZE_EQ_SKETCHES,
    Backend,
    solve,
    validate,
)

__all__ = ["minimize_eq", "MINIMIZE_EQ_SKETCHES", "MINIMIZE_EQ_DEFAULT_OPTIONS"]


@suggest_keywords
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
    xp = non_numpy_namespace(x0, lambda0)  # TypeError when they mix array libraries
    if xp is not None and not hasattr(x0, "__array_namespace__"):
        raise TypeError("x0 must be an array of the namespace of lambda0, got "
                        f"{type(x0).__name__}.")
    if xp is None:
        backend = _NumpyBackend()
    else:  # CuPy, array_api_strict, ...: dense KKT systems in the namespace of x0
        from numlearn.optimize._minimize_eq_array_api import ArrayAPIBackend

        backend = ArrayAPIBackend(xp)
    p = validate(fun, x0, jac, hess, hessp, constraints, lambda0, sketch, block_size, tol,
                 maxiter, superlinear, random_state, callback, options, backend)
    monitor = Monitor("minimize_eq", verbose=verbose, callback=p["callback"],
                      return_history=True, measure="KKT norm")
    result = solve(p, monitor)
    warn_if_not_converged(result, "minimize_eq")
    return result


class _NumpyBackend(Backend):
    """The NumPy path: SciPy sparse Jacobians and Hessians stay sparse (CSR), the KKT
    matrix is sparse when either is, ``"direct"`` solves use sparse LU."""

    device = None

    def __init__(self):
        if hasattr(np, "concat"):  # NumPy >= 2 is an array-API namespace itself
            self.xp = np
        else:  # pragma: no cover - NumPy 1.x
            import array_api_compat.numpy as xp

            self.xp = xp

    def start(self, x0):
        x = np.asarray(x0, dtype=np.float64) if not hasattr(x0, "dtype") else x0
        return np.array(check_vector(x, "x0", np.size(x0), xp=np), dtype=np.float64)

    def lambda0(self, lambda0, m: int):
        return np.array(check_vector(np.asarray(lambda0, dtype=np.float64), "lambda0", m),
                        dtype=np.float64)

    def from_host(self, a):
        return a

    def flat(self, value):
        return np.asarray(value, dtype=np.float64).ravel()

    def vec(self, value, n: int, name: str):
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.ravel()
        if arr.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity.")
        return arr

    def mat(self, value, shape: tuple[int, int], name: str):
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

    def jacobian(self, value, m: int, n: int):
        if sp.issparse(value):
            return sp.csr_matrix(value, dtype=np.float64)
        return np.asarray(value, dtype=np.float64).reshape(m, n)

    def hessian(self, value, n: int, name: str):
        if sp.issparse(value):
            H = sp.csr_matrix(value, dtype=np.float64)
        else:
            H = np.asarray(value, dtype=np.float64)
        if H.shape != (n, n):
            raise ValueError(f"{name} must have shape ({n}, {n}), got {H.shape}.")
        return H

    def add(self, H, Hc):
        if sp.issparse(H) != sp.issparse(Hc):  # sparse + dense would be an np.matrix
            H = H.toarray() if sp.issparse(H) else H
            Hc = Hc.toarray() if sp.issparse(Hc) else Hc
        H = H + Hc
        return sp.csr_matrix(H) if sp.issparse(H) else H

    def dense(self, M):
        return M.toarray() if sp.issparse(M) else M

    def diagonal(self, H):
        return H.diagonal()

    def row_abs_sums(self, H):
        return np.asarray(abs(H).sum(axis=1)).ravel()

    def kkt_matrix(self, B, G, shift: float):
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

    def direct_solve(self, K, rhs, singular: bool):
        if sp.issparse(K):
            from scipy.sparse.linalg import splu

            try:
                return splu(sp.csc_matrix(K)).solve(rhs)
            except RuntimeError:  # exactly singular
                K = K.toarray()
        z, *_ = np.linalg.lstsq(K, rhs, rcond=None)
        return z

    def fro_norm(self, K) -> float:
        return float(np.linalg.norm(K.data if sp.issparse(K) else K))
