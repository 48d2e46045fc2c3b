"""Working-set coordinate descent for any compiled datafit × penalty pair.

:func:`solve_glm` is the public door; the loop is written once above the epoch kernels of
:mod:`._glm_kernels`, which take the compiled pieces of :mod:`._glm_jit` as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import (
    check_array,
    check_callable,
    check_scalar,
    check_sparse_structure,
    check_vector,
    suggest_keywords,
)
from numlearn.linear_model._glm_kernels import (
    bcd_epoch_csc,
    bcd_epoch_dense,
    cd_epoch_csc,
    cd_epoch_dense,
    datafit_value,
    intercept_step,
    loss_derivs,
    partial_grad_csc,
    partial_grad_dense,
    separable_distance,
    separable_value,
)

__all__ = ["solve_glm"]

_ANDERSON_K = 5
_CHECK_EVERY = 10


def _check_design(X):
    if sp.issparse(X):
        X = check_sparse_structure(X, "X", format="csc")
        X = X.astype(np.float64) if X.dtype != np.float64 else X
        if not np.all(np.isfinite(X.data)):
            raise ValueError("X contains NaN or infinity; all entries must be finite.")
        return X
    X = check_array(X, "X", ndim=2)
    return np.asfortranarray(X, dtype=np.float64)


class _Design:
    """The design, its epoch kernels and the pieces of the gradient they need."""

    def __init__(self, X, block: bool):
        self.X = X
        self.sparse = sp.issparse(X)
        if self.sparse:
            self._args = (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64))
            self._epoch = bcd_epoch_csc if block else cd_epoch_csc
            self._partial = partial_grad_csc
        else:
            self._args = (X,)
            self._epoch = bcd_epoch_dense if block else cd_epoch_dense
            self._partial = partial_grad_dense

    def epoch(self, y, w, z, datafit, penalty, ws, lipschitz):
        self._epoch(*self._args, y, w, z, datafit, penalty, ws, lipschitz)

    def grad(self, r, coords=None):
        """``Xᵀ r`` on ``coords`` (all features when None), as a full-length vector."""
        if coords is None:
            return np.asarray(self.X.T @ r).ravel()
        out = np.zeros(self.X.shape[1])
        self._partial(*self._args, r, coords, out)
        return out

    def col_sq_norms(self, sw):
        """``Σ_i sw_i X_ij²`` for every column."""
        if self.sparse:
            return np.asarray(self.X.multiply(self.X).T @ sw).ravel()
        return np.einsum("ij,i,ij->j", self.X, sw, self.X)

    def group_sq_norms(self, ptr, idx, sw):
        """``‖diag(sw)^½ X_g‖₂²`` (squared spectral norm) of every group."""
        out = np.empty(ptr.shape[0] - 1)
        for g in range(out.shape[0]):
            cols = self.X[:, idx[ptr[g]:ptr[g + 1]]]
            gram = cols.T @ (cols.multiply(sw[:, None]) if self.sparse else sw[:, None] * cols)
            gram = gram.toarray() if self.sparse else gram
            out[g] = np.linalg.eigvalsh(gram)[-1] if gram.shape[0] > 1 else gram[0, 0]
        return out


def _anderson(ws_hist, z_hist):
    """Anderson extrapolation of the last ``K + 1`` iterates (None if ill-posed)."""
    W = np.asarray(ws_hist)
    U = np.diff(W, axis=0)
    try:
        c = np.linalg.solve(U @ U.T, np.ones(U.shape[0]))
    except np.linalg.LinAlgError:
        return None
    s = c.sum()
    if not np.isfinite(s) or s == 0.0:
        return None
    c /= s
    return c @ W[1:], c @ np.asarray(z_hist)[1:]


@suggest_keywords
def solve_glm(
    X: Any,
    y: Any,
    datafit: Any,
    penalty: Any,
    *,
    fit_intercept: bool = False,
    tol: float = 1e-4,
    max_iter: int = 50,
    max_epochs: int = 50_000,
    p0: int = 10,
    anderson: bool = True,
    warm_start: Any = None,
    sample_weight: Any = None,
    callback: Callable | None = None,
    return_history: bool = False,
    verbose: int = 0,
) -> SolverResult:
    """Minimize ``F(X w + b) + P(w)`` for any datafit ``F`` and penalty ``P``.

    The engine of :class:`GeneralizedLinearEstimator` (skglm's working-set coordinate
    descent): an outer loop computes the full gradient and the distance of ``-∇F`` to
    the subdifferential of ``P`` at every coordinate (or group), stops when its largest
    entry (and the intercept's derivative) is at most ``tol``, else picks a working set —
    the support plus the worst violators, twice the support's size, at least ``p0`` —
    and runs proximal coordinate epochs on it (``w_j ← prox_{P/L_j}(w_j - ∂_j F / L_j)``,
    or the block version for :class:`GroupLasso`) with Anderson extrapolation every 5
    epochs (kept when it lowers the objective), until the working set's violation is below
    ``max(0.3 × outer violation, tol)``. For the non-convex penalties (:class:`MCP`,
    :class:`SCAD`) the result is a stationary point.

    Parameters
    ----------
    X : array or scipy.sparse matrix, shape (n_samples, n_features)
        Design (dense: copied to float64 Fortran order if needed; sparse: CSC).
    y : array, shape (n_samples,)
        Targets (:class:`Quadratic`) or labels in {-1, +1} (:class:`Logistic`).
    datafit : Quadratic or Logistic
        ``F(z) = Σ_i loss(y_i, z_i) / n``.
    penalty : WeightedL1, MCP, SCAD, GroupLasso, L1, L2, ElasticNetPenalty or NoPenalty
    fit_intercept : bool, default=False
        Fit an unpenalized intercept ``b``.
    tol : float, default=1e-4
        Largest admissible distance to the subdifferential (absolute, as skglm's).
    max_iter : int, default=50
        Outer (working-set) iterations.
    max_epochs : int, default=50000
        Total budget of coordinate epochs.
    p0 : int, default=10
        Smallest working set.
    anderson : bool, default=True
        Anderson extrapolation of the inner epochs.
    warm_start : array, shape (n_features,), optional
        Starting coefficients (the intercept starts at 0).
    sample_weight : array, shape (n_samples,), optional
        Non-negative weights, not all zero: ``F(z) = Σ_i s_i loss(y_i, z_i) / Σ_i s_i``
        (scikit-learn's convention; integer weights equal repeated rows).
    callback : callable, optional
        ``callback(w)`` after every outer check; raising StopIteration stops the run.
    return_history : bool, default=False
        Keep the optimality violation of every outer check (``result.history``).
    verbose : bool or int, default=0
        Progress lines (0 silent, 1 every few seconds, 2 every outer iteration).

    Returns
    -------
    SolverResult
        ``coef``, ``intercept``, ``objective``, ``stop_crit`` (the last violation),
        ``n_epochs``, ``n_iter`` (outer iterations), ``converged``, ``status``.

    Raises
    ------
    TypeError
        If ``datafit`` or ``penalty`` is not one this engine compiles.
    ValueError
        If the shapes disagree, the data is not finite, labels are not ±1 for the logistic
        loss, ``sample_weight`` is negative, not finite, all zero or of the wrong length,
        or the penalty's parameters do not fit ``X`` (``weights``, ``groups``).

    References
    ----------
    .. [1] Bertrand, Klopfenstein, Massias, Blondel, Vaiter, Gramfort, Salmon, "Beyond
       L1: Faster and better sparse models with skglm", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import MCP, Quadratic, solve_glm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20))
    >>> y = X[:, :3] @ np.array([2.0, -1.0, 3.0])
    >>> res = solve_glm(X, y, Quadratic(), MCP(alpha=0.1, gamma=3.0), tol=1e-8)
    >>> res.converged, np.flatnonzero(res.coef).tolist()
    (True, [0, 1, 2])
    """
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=1)
    max_epochs = check_scalar(max_epochs, "max_epochs", kind=int, low=1)
    p0 = check_scalar(p0, "p0", kind=int, low=1)
    check_callable(callback, "callback", allow_none=True)
    if not hasattr(datafit, "compiled") or not hasattr(datafit, "curvature"):
        raise TypeError(f"datafit must be Quadratic or Logistic, got {type(datafit).__name__}.")
    if not hasattr(penalty, "compiled"):
        raise TypeError(f"penalty must be one of the linear_model penalties, got "
                        f"{type(penalty).__name__}.")
    X = _check_design(X)
    n, p = X.shape
    y = check_vector(y, "y", n)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if datafit.curvature != 1.0 and not np.all(np.abs(y) == 1.0):
        raise ValueError("y must hold labels in {-1, +1} for the logistic datafit.")
    df = datafit.compiled(sample_weight, n)
    pen = penalty.compiled(p)
    block = bool(getattr(penalty, "block", False))
    design = _Design(X, block)

    if block:
        ptr, idx = pen.grp_ptr, pen.grp_indices
        n_units = ptr.shape[0] - 1
        lipschitz = datafit.curvature * design.group_sq_norms(ptr, idx, df.sw) / n

        def coords_of(units):
            return np.concatenate([idx[ptr[g]:ptr[g + 1]] for g in units]) if len(units) \
                else np.zeros(0, np.int64)
    else:
        n_units = p
        lipschitz = datafit.curvature * design.col_sq_norms(df.sw) / n

        def coords_of(units):
            return units

    if block:
        pen_value, pen_distance, pen_support = pen.value, pen.subdiff_distance, pen.support
    else:
        def pen_value(w):
            return separable_value(pen, w)

        def pen_distance(w, grad, ws):
            return separable_distance(pen, w, grad, ws)

        def pen_support(w):
            return w != 0.0

    w = np.zeros(p)
    if warm_start is not None:
        w = check_vector(warm_start, "warm_start", p, copy=True).astype(np.float64)
    b = 0.0
    z = np.asarray(X @ w).ravel() if warm_start is not None else np.zeros(n)
    all_units = np.arange(n_units, dtype=np.int64)

    def objective():
        return datafit_value(df, y, z) + pen_value(w)

    mon = Monitor("solve_glm", verbose=verbose, callback=callback,
                  return_history=return_history, measure="optimality violation",
                  max_iter=max_iter)
    n_epochs = 0
    status = Status.MAX_ITER
    crit = np.inf
    while True:
        r = loss_derivs(df, y, z)
        grad = design.grad(r)
        viol = pen_distance(w, grad, all_units)
        crit = float(viol.max()) if n_units else 0.0
        if fit_intercept:
            crit = max(crit, abs(float(r.sum())))
        verdict = mon.step(crit, w.copy(), tol=tol)
        if verdict is not None:
            status = verdict
            break
        if mon.n_iter >= max_iter or n_epochs >= max_epochs:
            break
        support = pen_support(w)
        size = min(max(p0, 2 * int(support.sum())), n_units)
        score = viol.copy()
        score[support] = np.inf
        ws = np.sort(np.argpartition(-score, size - 1)[:size]).astype(np.int64)
        coords = coords_of(ws)
        eps_in = max(0.3 * crit, tol)
        w_hist, z_hist = [], []
        while n_epochs < max_epochs:
            design.epoch(y, w, z, df, pen, ws, lipschitz)
            if fit_intercept:
                b = intercept_step(df, y, z, b)
            n_epochs += 1
            if anderson:
                w_hist.append(np.append(w[coords], b))
                z_hist.append(z.copy())
                if len(w_hist) == _ANDERSON_K + 1:
                    acc = _anderson(w_hist, z_hist)
                    w_hist, z_hist = [], []
                    if acc is not None:
                        old = (w[coords].copy(), b, z.copy())
                        before = objective()
                        w[coords], b, z[:] = acc[0][:-1], float(acc[0][-1]), acc[1]
                        if not objective() < before:
                            w[coords], b, z[:] = old
            if n_epochs % _CHECK_EVERY == 0:
                r = loss_derivs(df, y, z)
                g_ws = design.grad(r, coords)
                inner = pen_distance(w, g_ws, ws)
                crit_in = float(inner.max()) if ws.size else 0.0
                if fit_intercept:
                    crit_in = max(crit_in, abs(float(r.sum())))
                if crit_in <= eps_in:
                    break
    mon.finish(crit)
    return mon.result(status, coef=w, intercept=b,
                      objective=float(objective()), stop_crit=crit, n_epochs=n_epochs)
