"""Hessian tools and stability measures: sharpness, trace, NTK, SGD linear stability,
the softmax radius (Ghosts of Softmax), StableMax and softmax collapse."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import non_numpy_namespace
from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import (
    check_array,
    check_option,
    check_random_state,
    check_scalar,
    check_vector,
)
from numlearn.dynamics import _namespace as nsp
from numlearn.dynamics._models import Model, _SquaredLossModel
from numlearn.linalg import hutchinson_trace, lanczos_eigsh

__all__ = [
    "sharpness",
    "hessian_trace",
    "ntk_eigenvalue",
    "sgd_linear_stability",
    "softmax_radius",
    "stablemax",
    "softmax_collapse_fraction",
]


def _check_model(model: Any, required=("loss", "grad", "hvp")) -> None:
    missing = [name for name in required if not callable(getattr(model, name, None))]
    if missing or not hasattr(model, "n_params"):
        raise TypeError(
            f"model must follow the numlearn.dynamics model protocol (n_params and "
            f"{', '.join(required)}); {type(model).__name__} lacks "
            f"{', '.join(missing) or 'n_params'}."
        )


def _model_xp(model):
    """The array namespace of ``model``'s data (``np`` for NumPy models)."""
    return getattr(model, "_xp", np)


def _check_point(model, w, name="w"):
    """A finite float64 parameter vector of length ``model.n_params``, in the namespace
    (and on the device) of the model's data."""
    xp = _model_xp(model)
    if xp is np:
        return np.asarray(check_vector(w, name, model.n_params), dtype=np.float64)
    w = model._float(w)
    w = check_vector(w, name, model.n_params, xp=xp)
    return xp.astype(w, xp.float64)


def _top_eigenpairs(matvec, n, k, *, v0=None, tol=1e-10, ncv=None, maxiter=None,
                    random_state=None, warn=True, model=None):
    """Largest ``k`` eigenpairs (ascending) of a symmetric operator given by products.

    Uses :func:`~numlearn.linalg.lanczos_eigsh` (``which="LA"``); operators too small for
    Lanczos (``n <= k + 1``) are formed densely from ``n`` products.
    Returns ``(eigenvalues, eigenvectors (n, k), n_matvec, converged)``. For a model of
    another namespace than NumPy (``model``) the products and eigenvectors stay in that
    namespace (the eigenvalues, ``k`` numbers, come back as a NumPy array); the random
    start is drawn from ``random_state`` exactly as on the NumPy path.
    """
    xp = np if model is None else _model_xp(model)
    if n <= k + 1:
        if xp is np:
            eye = np.eye(n)
            A = np.stack([matvec(eye[:, j]) for j in range(n)], axis=1)
            vals, vecs = np.linalg.eigh(0.5 * (A + A.T))
            return vals[-k:], vecs[:, -k:], n, True
        eye = model._eye(n)
        A = xp.stack([matvec(eye[:, j]) for j in range(n)], axis=1)
        vals, vecs = xp.linalg.eigh(0.5 * (A + A.T))
        return np.asarray(nsp.host(vals[-k:])), vecs[:, -k:], n, True
    if ncv is not None:
        ncv = min(max(ncv, k + 1), n)
    if xp is not np and v0 is None:  # lanczos_eigsh draws v0 the same way, on the host
        random_state = check_random_state(random_state)
        v0 = model._to_model(random_state.standard_normal(n))
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore", ConvergenceWarning)
        res = lanczos_eigsh(matvec, n, k, which="LA", tol=tol, v0=v0, ncv=ncv,
                            maxiter=maxiter, random_state=random_state,
                            compute_residuals=False)
    if xp is not np:
        return (np.asarray(nsp.host(res.eigenvalues)), res.eigenvectors, res.n_matvec,
                bool(res.converged))
    return (np.asarray(res.eigenvalues), np.asarray(res.eigenvectors), res.n_matvec,
            bool(res.converged))


def sharpness(
    model: Model,
    w: Any,
    k: int = 1,
    *,
    tol: float = 1e-10,
    v0: Any = None,
    ncv: int | None = None,
    maxiter: int | None = None,
    random_state: Any = None,
) -> SolverResult:
    """Sharpness: the largest eigenvalue(s) of the loss Hessian, from Hessian-vector products.

    Runs :func:`numlearn.linalg.lanczos_eigsh` (largest algebraic) on
    ``v -> model.hvp(w, v)``; the Hessian is never formed.

    Parameters
    ----------
    model : Model
        A :mod:`numlearn.dynamics` model (anything with ``n_params`` and ``hvp``).
    w : array of shape (n_params,)
        Parameters at which the Hessian is taken.
    k : int, default=1
        Number of top eigenvalues.
    tol : float, default=1e-10
        Lanczos relative tolerance.
    v0 : array of shape (n_params,), optional
        Starting vector, e.g. the previous top eigenvector (warm start).
    ncv, maxiter : int, optional
        Passed to :func:`~numlearn.linalg.lanczos_eigsh`.
    random_state : None, int or Generator
        Source of the starting vector when ``v0`` is None.

    Returns
    -------
    result : SolverResult
        ``sharpness`` (float, the top eigenvalue), ``eigenvalues`` (ascending, shape
        ``(k,)``, a NumPy array), ``eigenvectors`` (``(n_params, k)``, in the namespace
        of the model's data: CuPy for a CuPy model), ``n_hvp``, and ``converged`` /
        ``status`` / ``message`` (a :class:`~sklearn.exceptions.ConvergenceWarning` is
        emitted by Lanczos when it does not converge).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, sharpness
    >>> X = np.diag([1.0, 2.0, 3.0]); model = LinearRegression(X, np.zeros(3))
    >>> float(np.round(sharpness(model, np.zeros(3)).sharpness, 10))  # 9 / 3
    3.0
    """
    _check_model(model)
    w = _check_point(model, w)
    k = check_scalar(k, "k", kind=int, low=1, high=model.n_params)
    tol = check_scalar(tol, "tol", low=0.0)
    check_random_state(random_state)  # checked even where a dense solve leaves it unused
    if v0 is not None:
        v0 = _check_point(model, v0, "v0")
    vals, vecs, n_hvp, converged = _top_eigenpairs(
        lambda v: model.hvp(w, v), model.n_params, k, v0=v0, tol=tol, ncv=ncv,
        maxiter=maxiter, random_state=random_state, model=model,
    )
    return make_result(
        status=Status.SUCCESS if converged else Status.MAX_ITER,
        n_iter=n_hvp,
        sharpness=float(vals[-1]),
        eigenvalues=vals,
        eigenvectors=vecs,
        n_hvp=n_hvp,
    )


def hessian_trace(
    model: Model,
    w: Any,
    *,
    n_samples: int = 60,
    method: str = "hutch++",
    exact: bool = False,
    random_state: Any = None,
) -> SolverResult:
    """Trace of the loss Hessian by :func:`numlearn.linalg.hutchinson_trace` on ``hvp``.

    Parameters
    ----------
    model : Model
    w : array of shape (n_params,)
    n_samples : int, default=60
        Hessian-vector products to spend.
    method : {"hutch++", "hutchinson"}, default="hutch++"
    exact : bool, default=False
        If True, sum ``e_jᵀ H e_j`` over all ``n_params`` coordinates instead (exact,
        ``n_params`` products).
    random_state : None, int or Generator

    Returns
    -------
    result : SolverResult
        ``trace``, ``std_error``, ``n_matvec`` (as :func:`~numlearn.linalg.hutchinson_trace`).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, hessian_trace
    >>> model = LinearRegression(np.diag([1.0, 2.0, 3.0]), np.zeros(3))
    >>> hessian_trace(model, np.zeros(3), exact=True).trace  # (1 + 4 + 9) / 3
    4.666666666666666
    """
    _check_model(model)
    w = _check_point(model, w)
    method = check_option(method, "method", ("hutch++", "hutchinson"))
    n_samples = check_scalar(n_samples, "n_samples", kind=int, low=1)
    check_random_state(random_state)  # checked even where exact=True leaves it unused
    p = model.n_params
    xp = _model_xp(model)
    if exact:
        if xp is np:
            eye = np.eye(p)
            total = float(sum(model.hvp(w, eye[j])[j] for j in range(p)))
        else:
            eye = model._eye(p)
            total = float(sum(float(model.hvp(w, eye[j, :])[j]) for j in range(p)))
        return make_result(status=Status.SUCCESS, n_iter=p, trace=total, std_error=0.0,
                           n_matvec=p, n_samples=p)
    return hutchinson_trace(lambda v: model.hvp(w, v), p, n_samples=n_samples,
                            method=method, random_state=random_state,
                            xp=None if xp is np else xp)


def _output_scale(model) -> float:
    if isinstance(model, _SquaredLossModel):
        return model._scale(None)
    return 1.0 / model.n_samples


def ntk_eigenvalue(
    model: Model,
    w: Any,
    *,
    tol: float = 1e-10,
    v0: Any = None,
    ncv: int | None = None,
    random_state: Any = None,
) -> SolverResult:
    """Top eigenvalue of the (scaled) neural tangent kernel ``JJᵀ / n``.

    Equal to the top eigenvalue of the Gauss-Newton matrix ``JᵀJ / n`` (the Hessian of a
    squared-loss model at an interpolating minimum), computed by Lanczos on
    ``v -> Jᵀ(J v) / n`` (one ``jvp`` and one ``vjp`` per product). For the one-example
    uv model it is ``λ = (‖u‖² + ‖v‖²)/m``. (Full-observation
    :class:`~numlearn.dynamics.MatrixSensing` uses its sum-reduced scale, 1.)

    Returns
    -------
    result : SolverResult
        ``eigenvalue``, ``eigenvector`` (in parameter space) and ``n_matvec``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import UVModel, ntk_eigenvalue
    >>> model = UVModel([[1.0]], [0.0], width=2)
    >>> w = np.array([1.0, 2.0, 3.0, 4.0])  # u = (1, 2), v = (3, 4)
    >>> float(np.round(ntk_eigenvalue(model, w).eigenvalue, 10))  # (5 + 25) / 2
    15.0
    """
    _check_model(model, ("jvp", "vjp"))
    check_random_state(random_state)
    w = _check_point(model, w)
    if v0 is not None:
        v0 = _check_point(model, v0, "v0")
    scale = _output_scale(model)
    vals, vecs, n_mv, converged = _top_eigenpairs(
        lambda v: scale * model._vjp(w, model._jvp(w, v, None), None), model.n_params, 1,
        v0=v0, tol=tol, ncv=ncv, random_state=random_state, model=model,
    )
    return make_result(status=Status.SUCCESS if converged else Status.MAX_ITER,
                       n_iter=n_mv, eigenvalue=float(vals[-1]), eigenvector=vecs[:, -1],
                       n_matvec=n_mv)


def sgd_linear_stability(
    model: Any,
    w: Any,
    lr: float | None,
    batch_size: int,
    *,
    hessians: Any = "auto",
    tol: float = 1e-10,
    random_state: Any = 0,
) -> SolverResult:
    """Exact mean-square linear stability of SGD at a minimum (Mulayoff and Michaeli).

    SGD with step ``η`` and batches of ``B`` of the ``n`` samples drawn without
    replacement, linearized at a minimum with per-sample Hessians ``H_i`` (mean ``H``),
    is stable in mean square iff ``η <= 2 / λ_max(C†D)`` with ``C = ½(H ⊕ H)``,
    ``D = (1-p) H⊗H + (p/n) Σ_i H_i⊗H_i`` and ``p = (n-B)/(B(n-1))``. The threshold is
    non-decreasing in ``B``; ``B = n`` gives GD's ``2/λ_max(H)``. For ``B = 1`` with rank-one
    ``H_i = g_i g_iᵀ`` the threshold is at most ``2/tr(H)`` (so ``tr(H) <= 2/η`` is
    necessary), with equality when the ``g_i`` are orthogonal with equal norms (the
    threshold is then ``2/‖g_i‖² = 2/tr(H)``); in general it is smaller.

    ``λ_max(C†D)`` is computed matrix-free: in the eigenbasis of ``H``, ``C`` is the
    diagonal ``(λ_a + λ_b)/2``, and Lanczos runs on ``C^{-1/2} D C^{-1/2}`` restricted
    to symmetric matrices (the second moments), ``O(n p²)`` per product for rank-one
    ``H_i`` and ``O(n p³)`` otherwise.

    Parameters
    ----------
    model : Model or None
        Supplies the per-sample Hessians when ``hessians="auto"``: Gauss-Newton
        ``H_i = ∇f_i ∇f_iᵀ`` (exact at an interpolating minimum) for squared-loss models,
        the exact per-sample Hessians (``n_params`` products each) otherwise.
    w : array of shape (n_params,)
        The minimum.
    lr : float or None
        Step size to test (``stable`` is None when not given).
    batch_size : int
        ``1 <= B <= n``.
    hessians : "auto", array of shape (n, p, p) or array of shape (n, p)
        Per-sample Hessians, or per-sample vectors ``g_i`` of rank-one ``H_i = g_i g_iᵀ``
        (then ``model`` and ``w`` may be None).
    tol : float, default=1e-10
        Lanczos tolerance.
    random_state : None, int or Generator, default=0
        Lanczos start.

    Returns
    -------
    result : SolverResult
        ``threshold`` (the largest stable ``η``), ``stable`` (``lr <= threshold``),
        ``lambda_max`` (``λ_max(C†D)``), ``p``, and ``hessian_eigenvalues``.

    Notes
    -----
    This analysis runs on the host: it eigendecomposes the ``p × p`` mean Hessian and runs
    Lanczos on a ``p²``-dimensional operator, so for a model of another array library
    (CuPy) the per-sample Jacobian or Hessians are copied to NumPy first (``hessians``
    given as CuPy arrays are copied too).

    References
    ----------
    .. [1] R. Mulayoff and T. Michaeli, "Exact mean square linear stability analysis for
       SGD", COLT 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import sgd_linear_stability
    >>> g = 2.0 * np.eye(3)  # rank-one H_i = g_i g_iᵀ, orthogonal, equal norms
    >>> res = sgd_linear_stability(None, None, 0.4, 1, hessians=g)
    >>> float(np.round(res.threshold, 10)), float(np.trace(g.T @ g / 3)), res.stable
    (0.5, 4.0, True)
    >>> res = sgd_linear_stability(None, None, 0.4, 3, hessians=g)  # full batch: 2/λ_max(H)
    >>> float(np.round(res.threshold, 10))
    1.5
    """
    rank_one = False
    if isinstance(hessians, str):
        check_option(hessians, "hessians", ("auto",))
        _check_model(model, ("hvp",))
        w = _check_point(model, w)
        if isinstance(model, _SquaredLossModel) and model._mean:
            Jac = model.jacobian(w)
            if Jac.shape[0] != model.n_samples:
                raise ValueError("hessians='auto' needs one scalar output per sample.")
            G, rank_one = np.asarray(nsp.host(Jac), dtype=np.float64), True
        else:
            G = np.stack([nsp.host(model.hessian(w, batch=np.array([i])))
                          for i in range(model.n_samples)])
    else:
        G = np.asarray(check_array(nsp.host(hessians), "hessians"), dtype=np.float64)
        if G.ndim == 2:
            rank_one = True
        elif G.ndim != 3 or G.shape[1] != G.shape[2]:
            raise ValueError(f"hessians must have shape (n, p, p) or (n, p), got {G.shape}.")
    n, p = G.shape[0], G.shape[1]
    batch_size = check_scalar(batch_size, "batch_size", kind=int, low=1, high=n)
    lr = check_scalar(lr, "lr", low=0.0, include_low=False, allow_none=True)
    q = 0.0 if n == 1 else (n - batch_size) / (batch_size * (n - 1))

    H = (G.T @ G) / n if rank_one else G.mean(axis=0)
    lam, U = np.linalg.eigh(0.5 * (H + H.T))
    lam = np.maximum(lam, 0.0)
    c = 0.5 * (lam[:, None] + lam[None, :])
    keep = c > 1e-12 * max(float(lam[-1]), np.finfo(float).tiny)
    cinv = np.where(keep, 1.0 / np.sqrt(np.where(keep, c, 1.0)), 0.0)
    Gh = G @ U if rank_one else np.einsum("pa,ipq,qb->iab", U, G, U)

    def apply(x):
        V = cinv * x.reshape(p, p)
        V = 0.5 * (V + V.T)
        out = (1.0 - q) * (lam[:, None] * V * lam[None, :])
        if q:
            if rank_one:
                s = np.einsum("ia,ab,ib->i", Gh, V, Gh)
                out = out + (q / n) * (Gh.T * s) @ Gh
            else:
                out = out + (q / n) * np.einsum("iab,bc,icd->ad", Gh, V, Gh)
        out = cinv * out
        return (0.5 * (out + out.T)).ravel()

    vals, _, _, _ = _top_eigenpairs(apply, p * p, 1, tol=tol, random_state=random_state)
    lam_cd = float(vals[-1])
    threshold = math.inf if lam_cd <= 0 else 2.0 / lam_cd
    return make_result(status=Status.SUCCESS, n_iter=1, threshold=threshold,
                       stable=None if lr is None else bool(lr <= threshold),
                       lambda_max=lam_cd, p=q, hessian_eigenvalues=lam)


def softmax_radius(logit_jvp: Any, logits: Any = None) -> float:
    """Radius of the safe step along a direction (Ghosts of Softmax).

    Along a direction ``v``, the cross-entropy's Taylor series in the step length has a
    finite radius of convergence set by the complex singularities of the log-sum-exp.
    With ``a_k = ∇z_k·v`` the directional logit derivatives (one JVP), the multiclass
    lower bound is ``ρ_a = π / Δ_a`` with ``Δ_a = max_k a_k - min_k a_k``; for two
    classes the exact radius is ``√(δ² + π²) / Δ_a`` (``δ`` the logit gap). Over a batch
    the minimum over samples is taken. Steps ``τ`` with ``τ / ρ_a < 1`` (in units of
    ``‖v‖``) were safe in every tested model.

    Parameters
    ----------
    logit_jvp : array of shape (n_samples, n_classes) or (n_classes,)
        Directional derivatives of the logits.
    logits : array of the same shape, optional
        The logits; used for the exact radius when ``n_classes == 2``.

    Returns
    -------
    radius : float
        ``inf`` if no logit difference moves along the direction.

    References
    ----------
    .. [1] P. Sao, "Ghosts of Softmax: complex singularities that limit safe step sizes
       in cross-entropy", arXiv:2603.13552, 2026.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import softmax_radius
    >>> bool(np.isclose(softmax_radius([0.0, 2.0, 1.0]), np.pi / 2))
    True
    >>> bool(np.isclose(softmax_radius([0.0, 2.0], logits=[0.0, 3.0]), np.hypot(3, np.pi) / 2))
    True
    """
    # a few numbers per sample: computed on the host (CuPy inputs are copied there)
    a = np.asarray(check_array(nsp.host(logit_jvp), "logit_jvp"), dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(
            f"logit_jvp must have shape (n_samples, n_classes) with n_classes >= 2, "
            f"got {np.shape(logit_jvp)}."
        )
    if logits is not None:  # checked whenever given (only the binary case uses it)
        z = np.asarray(check_array(nsp.host(logits), "logits"), dtype=np.float64)
        z = z[None, :] if z.ndim == 1 else z
        if z.shape != a.shape:
            raise ValueError(f"logits must have shape {a.shape}, got {np.shape(logits)}.")
    spread = a.max(axis=1) - a.min(axis=1)
    moving = spread > 0
    if not np.any(moving):
        return math.inf
    if logits is not None and a.shape[1] == 2:
        delta = z[:, 0] - z[:, 1]
        radii = np.sqrt(delta[moving] ** 2 + np.pi**2) / spread[moving]
    else:
        radii = np.pi / spread[moving]
    return float(np.min(radii))


def stablemax(x: Any, axis: int = -1) -> np.ndarray:
    """StableMax: ``s(x) / Σ s(x)`` with ``s(x) = x + 1`` for ``x >= 0``, ``1/(1 - x)``
    otherwise (Prieto et al.): grows linearly, not exponentially, so it does not
    collapse to an exact one-hot in floating point.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import stablemax
    >>> stablemax(np.array([0.0, 1.0, -1.0]))
    array([0.28571429, 0.57142857, 0.14285714])
    """
    x = check_array(x, "x")
    xp = non_numpy_namespace(x) or np
    if xp is np:
        s = np.where(x >= 0, x + 1.0, 1.0 / (1.0 - np.minimum(x, 0.0)))
        return s / np.sum(s, axis=axis, keepdims=True)
    s = xp.where(x >= 0, x + 1.0, 1.0 / (1.0 - xp.minimum(x, xp.zeros_like(x))))
    return s / xp.sum(s, axis=axis, keepdims=True)


def softmax_collapse_fraction(logits: Any, axis: int = -1) -> float:
    """Fraction of samples whose softmax has collapsed in the working precision.

    Softmax Collapse (Prieto, Barsbey, Mediano and Birdal): ``Σ_k exp(z_k - max z)``
    rounds to exactly 1 in the dtype of ``logits`` (float32 collapses far earlier than
    float64), so the loss gradient of the sample vanishes.

    Parameters
    ----------
    logits : array of shape (n_samples, n_classes)
        Computed in its own dtype (float16, float32 or float64).
    axis : int, default=-1
        The class axis.

    References
    ----------
    .. [1] L. Prieto, M. Barsbey, P. A. M. Mediano and T. Birdal, "Grokking at the edge
       of numerical stability", ICLR 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import softmax_collapse_fraction
    >>> z = np.array([[0.0, 20.0], [0.0, 1.0]], dtype=np.float32)
    >>> softmax_collapse_fraction(z)
    0.5
    >>> softmax_collapse_fraction(z.astype(np.float64))
    0.0
    """
    z = check_array(logits, "logits")
    if z.ndim < 1 or z.shape[axis] < 2:
        raise ValueError("logits must have at least two classes along axis.")
    xp = non_numpy_namespace(z) or np
    if xp is np:
        e = np.exp(z - np.max(z, axis=axis, keepdims=True))
        total = np.sum(e, axis=axis, dtype=z.dtype)
        return float(np.mean(total == np.asarray(1, dtype=z.dtype)))
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    total = xp.sum(e, axis=axis, dtype=z.dtype)
    return float(xp.mean(xp.astype(total == 1.0, xp.float64)))
