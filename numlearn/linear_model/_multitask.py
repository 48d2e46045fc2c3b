"""Multi-task Lasso and elastic net: the L2,1 block penalty by block coordinate descent.

The objective is scikit-learn's::

    ‖Y - X Wᵀ - b‖²_F / (2 n) + alpha l1_ratio Σ_j ‖W[:, j]‖₂
        + alpha (1 - l1_ratio) ‖W‖²_F / 2

solved by cyclic (or random) block coordinate descent: one Numba epoch kernel
(:func:`_bcd_epoch`, a small pure function) updates a feature's row of coefficients for
all tasks at once by the block soft-threshold; the loop above it (stopping on
scikit-learn's duality gap, ``gap ≤ tol ‖Y - Ȳ‖²_F``) runs on :class:`numlearn._monitor.Monitor`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numba
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import check_option, check_random_state, check_scalar
from numlearn.linear_model._sample_weight import check_sample_weight

__all__ = ["MultiTaskElasticNet", "MultiTaskLasso"]


@numba.njit(cache=True)
def _bcd_epoch(X, R, W, norms, order, l1, l2):  # pragma: no cover - compiled
    """One epoch of block coordinate descent, in place on ``W`` (p, T) and the residual
    ``R = Y - X W`` (n, T). ``l1``/``l2`` are in the ``‖R‖²/2`` scale. Returns the
    largest change of a row and the largest row norm."""
    n, T = R.shape
    g = np.empty(T)
    d = np.empty(T)
    d_max = 0.0
    w_max = 0.0
    for jj in range(order.shape[0]):
        j = order[jj]
        nj = norms[j]
        if nj == 0.0:
            continue
        # g = X_jᵀ R + ‖X_j‖² w_j: the block's least-squares target, times ‖X_j‖²
        # (one pass over the column, R read row by row: R is C-ordered)
        for t in range(T):
            g[t] = nj * W[j, t]
        for i in range(n):
            xij = X[i, j]
            for t in range(T):
                g[t] += xij * R[i, t]
        gn = 0.0
        for t in range(T):
            gn += g[t] * g[t]
        gn = np.sqrt(gn)
        scale = 0.0 if gn <= l1 else (1.0 - l1 / gn) / (nj + l2)
        dn = 0.0
        wn = 0.0
        for t in range(T):
            new = g[t] * scale
            d[t] = new - W[j, t]
            W[j, t] = new
            dn += d[t] * d[t]
            wn += new * new
        if dn > 0.0:
            for i in range(n):
                xij = X[i, j]
                for t in range(T):
                    R[i, t] -= xij * d[t]
        if dn > d_max:
            d_max = dn
        if wn > w_max:
            w_max = wn
    return np.sqrt(d_max), np.sqrt(w_max)


def _gap(X, Y, R, W, l1, l2, screen=None, norms=None):
    """scikit-learn's duality gap of the multi-task elastic net (formulation A), in the
    ``‖R‖²/2`` scale: ``W`` is (p, T). With ``screen`` (the features still in play, a
    boolean mask) the gap-safe rule of Ndiaye et al. (2017) clears the features whose
    rows are provably zero at the optimum (the elastic net read as a Lasso on
    ``[X; √l2 I]``, whose correlations are ``Xᵀ R - l2 W``)."""
    XtA = X.T @ R - l2 * W
    row = np.sqrt(np.sum(XtA * XtA, axis=1))
    dual_norm = float(np.max(row)) if W.shape[0] else 0.0
    R_norm2 = float(np.sum(R * R))
    w_norm2 = float(np.sum(W * W))
    Ry = float(np.sum(R * Y))
    if l1 == 0.0:
        dn2 = float(np.sum(XtA * XtA))
        if l2 == 0.0:  # least squares: the first-order condition, as scikit-learn
            return dn2
        return R_norm2 + 0.5 * l2 * w_norm2 - Ry + dn2 / (2 * l2)
    if dual_norm > l1:
        const = l1 / dual_norm
        gap = 0.5 * (R_norm2 + R_norm2 * const * const)
    else:
        const = 1.0
        gap = R_norm2
    l21 = float(np.sum(np.sqrt(np.sum(W * W, axis=1))))
    gap += l1 * l21 - const * Ry + 0.5 * l2 * (1.0 + const * const) * w_norm2
    if screen is not None and gap > 0:
        radius = np.sqrt(2.0 * gap) / l1
        col = np.sqrt((np.einsum("ij,ij->j", X, X) if norms is None else norms) + l2)
        screen &= row * const / l1 + radius * col >= 1.0
    return gap


def multitask_enet(X, Y, *, l1: float, l2: float, tol: float = 1e-4, max_iter: int = 1000,
                   warm_start=None, selection: str = "cyclic", random_state: Any = None,
                   verbose: Any = 0, callback=None, return_history: bool = False
                   ) -> SolverResult:
    """Block coordinate descent for ``‖Y - X W‖²_F / 2 + l1 Σ_j ‖W[j]‖₂ + l2 ‖W‖²_F / 2``.

    ``X`` (n, p) dense, ``Y`` (n, T), both already centred / weighted as the caller
    wants; ``W`` is (p, T). Stops when the duality gap is at most ``tol ‖Y‖²_F``
    (scikit-learn's rule). Returns a :class:`~numlearn.SolverResult` with ``coef``
    (p, T), ``dual_gap`` (in the ``‖R‖²/2`` scale) and ``n_iter`` epochs; warns with a
    ConvergenceWarning when ``max_iter`` epochs did not reach the gap.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model._multitask import multitask_enet
    >>> X = np.eye(3); Y = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    >>> res = multitask_enet(X, Y, l1=1.0, l2=0.0, tol=1e-12)
    >>> np.round(res.coef, 6).tolist()   # block soft-threshold of each row by 1
    [[2.4, 3.2], [0.0, 0.0], [0.0, 0.0]]
    """
    X = np.asfortranarray(X, dtype=np.float64)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    p = X.shape[1]
    W = np.zeros((p, Y.shape[1])) if warm_start is None else np.array(warm_start,
                                                                         dtype=np.float64)
    R = Y.copy() if warm_start is None else np.ascontiguousarray(Y - X @ W)
    norms = np.einsum("ij,ij->j", X, X)
    rng = check_random_state(random_state)
    random = selection == "random"
    target = tol * float(np.sum(Y * Y))
    mon = Monitor("multitask_enet", verbose=verbose, callback=callback,
                  return_history=return_history, measure="duality gap", max_iter=max_iter)
    # as scikit-learn: the gap (a full Xᵀ R) is computed when the largest row change is
    # small next to the largest row, or at the last epoch; it also screens features
    active = np.ones(p, dtype=bool)
    status = Status.MAX_ITER
    gap = np.inf
    for k in range(max_iter):
        order = np.flatnonzero(active)
        if random:
            order = rng.permutation(order)
        d_max, w_max = _bcd_epoch(X, R, W, norms, order, l1, l2)
        stop = False
        if w_max == 0.0 or d_max / w_max < tol or k == max_iter - 1:
            gap = _gap(X, Y, R, W, l1, l2, screen=active, norms=norms)
            dropped = np.flatnonzero(~active & np.any(W != 0.0, axis=1))
            if dropped.size:  # screened rows are zero at the optimum
                R += X[:, dropped] @ W[dropped]
                W[dropped] = 0.0
            mon.record(gap, n_iter=k + 1)
            stop = mon.notify(W)
            if gap <= target:
                status = Status.SUCCESS
                break
        else:
            mon.n_iter = k + 1
            stop = mon.notify(W)
        if stop:
            status = Status.CALLBACK_STOP
            break
    mon.finish(gap)
    return mon.result(status, warn=False, coef=W, dual_gap=gap)


def _center_weighted(X, Y, sw, fit_intercept):
    """scikit-learn's reduction of the (weighted) multi-task problem to an unweighted one
    without intercept: centre by the weighted means, scale rows by ``√s``
    (``s = n sw / Σ sw``). Returns ``(Xs, Ys, x_offset, y_offset)``."""
    n, p = X.shape
    s = None if sw is None else sw * (n / float(sw.sum()))
    # one Fortran-ordered float64 copy of X, centred and scaled in place
    Xs = np.array(X, dtype=np.float64, order="F", copy=True)
    Ys = np.array(Y, dtype=np.float64, copy=True)
    if fit_intercept:
        x_off = Xs.mean(axis=0) if s is None else (s @ Xs) / n
        y_off = Ys.mean(axis=0) if s is None else (s @ Ys) / n
        Xs -= x_off
        Ys -= y_off
    else:
        x_off, y_off = np.zeros(p), np.zeros(Y.shape[1])
    if s is not None:
        root = np.sqrt(s)[:, None]
        Xs *= root
        Ys *= root
    return Xs, Ys, x_off, y_off


class MultiTaskElasticNet(RegressorMixin, BaseEstimator):
    """Multi-task elastic net: a shared sparsity pattern across tasks (L2,1 penalty).

    Minimizes scikit-learn's objective
    ``‖Y - X Wᵀ - b‖²_F / (2 n) + alpha l1_ratio ‖W‖₂,₁ + alpha (1 - l1_ratio) ‖W‖²_F / 2``
    (``‖W‖₂,₁ = Σ_j ‖W[:, j]‖₂``) by block coordinate descent (a Numba epoch kernel),
    stopped on scikit-learn's duality gap ``gap ≤ tol ‖Y - Ȳ‖²_F / n``.

    Parameters
    ----------
    alpha : float, default 1.0
        Regularization strength (≥ 0).
    l1_ratio : float, default 0.5
        Mix of the L2,1 and squared Frobenius penalties (in [0, 1]).
    fit_intercept : bool, default True
    copy_X : bool, default True
        Accepted for scikit-learn compatibility; ``X`` is never modified.
    max_iter : int, default 1000
        Maximum number of epochs.
    tol : float, default 1e-4
    warm_start : bool, default False
        Start from the previous ``coef_``.
    random_state : None, int or Generator
        Used when ``selection="random"``.
    selection : {"cyclic", "random"}, default "cyclic"
    verbose : int, default 0
        Progress of the epochs (0 silent).

    Attributes
    ----------
    coef_ : ndarray, shape (n_tasks, n_features)
    intercept_ : ndarray, shape (n_tasks,)
    n_iter_ : int
        Epochs run.
    dual_gap_ : float
        Duality gap at exit (in the objective's units).
    eps_ : float
        The gap tolerance used, ``tol ‖Y - Ȳ‖²_F / n``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import MultiTaskElasticNet
    >>> X = [[0, 0], [1, 1], [2, 2]]
    >>> Y = [[0, 0], [1, 1], [2, 2]]
    >>> model = MultiTaskElasticNet(alpha=0.1).fit(X, Y)
    >>> np.round(model.coef_, 4).tolist()
    [[0.4566, 0.4561], [0.4566, 0.4561]]
    >>> np.round(model.intercept_, 4).tolist()
    [0.0872, 0.0872]
    """

    def __init__(self, alpha: float = 1.0, *, l1_ratio: float = 0.5, fit_intercept: bool = True,
                 copy_X: bool = True, max_iter: int = 1000, tol: float = 1e-4,
                 warm_start: bool = False, random_state: Any = None,
                 selection: str = "cyclic", verbose: int = 0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.selection = selection
        self.verbose = verbose

    def _l1_ratio(self):
        return check_scalar(self.l1_ratio, "l1_ratio", low=0.0, high=1.0)

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array, shape (n_samples, n_features)
            Dense data.
        y : array, shape (n_samples, n_tasks)
            Targets (2-D: a 1-D ``y`` raises a ``ValueError`` pointing at
            :class:`~numlearn.linear_model.ElasticNet` / ``Lasso``).
        sample_weight : array, shape (n_samples,), optional
            Non-negative weights, as scikit-learn's (rescaled to sum to ``n_samples``).

        Returns
        -------
        self
        """
        alpha = check_scalar(self.alpha, "alpha", low=0.0)
        l1_ratio = self._l1_ratio()
        selection = check_option(self.selection, "selection", ("cyclic", "random"))
        tol = check_scalar(self.tol, "tol", low=0.0)
        max_iter = check_scalar(self.max_iter, "max_iter", kind=int, low=1)
        X, y = validate_data(
            self, X, y, validate_separately=(
                dict(dtype=[np.float64, np.float32]),
                dict(dtype=[np.float64, np.float32], ensure_2d=False)))
        if y.ndim != 2:
            name = "ElasticNet" if type(self) is MultiTaskElasticNet else "Lasso"
            raise ValueError(f"y must be 2-D (n_samples, n_tasks) for {type(self).__name__}, "
                             f"got shape {y.shape}; for mono-task outputs, use {name}.")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} samples, but X has {X.shape[0]}.")
        sw = None if np.isscalar(sample_weight) and sample_weight is not None \
            else check_sample_weight(sample_weight, X.shape[0])
        n = X.shape[0]
        Xs, Ys, x_off, y_off = _center_weighted(X, y, sw, self.fit_intercept)
        warm = None
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and self.coef_.shape == (y.shape[1], X.shape[1]):
            warm = self.coef_.T
        res = multitask_enet(Xs, Ys, l1=alpha * l1_ratio * n, l2=alpha * (1 - l1_ratio) * n,
                             tol=tol, max_iter=max_iter, warm_start=warm, selection=selection,
                             random_state=self.random_state, verbose=self.verbose)
        if not res.converged:
            warnings.warn(f"{type(self).__name__} did not converge after {res.n_iter} epochs "
                          f"(duality gap {res.dual_gap / n:.3e}, tolerance "
                          f"{tol * float(np.sum(Ys * Ys)) / n:.3e}); increase max_iter or "
                          "tol.", ConvergenceWarning, stacklevel=2)
        self.coef_ = np.ascontiguousarray(res.coef.T, dtype=X.dtype)
        self.intercept_ = (y_off - x_off @ res.coef).astype(X.dtype)
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.dual_gap / n
        self.eps_ = tol * float(np.sum(Ys * Ys)) / n
        return self

    def predict(self, X):
        """Predict ``X Wᵀ + b``, shape (n_samples, n_tasks)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags


class MultiTaskLasso(MultiTaskElasticNet):
    """Multi-task Lasso: ``‖Y - X Wᵀ - b‖²_F / (2 n) + alpha ‖W‖₂,₁`` (scikit-learn's
    objective and stopping rule); see :class:`MultiTaskElasticNet` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import MultiTaskLasso
    >>> model = MultiTaskLasso(alpha=0.1).fit([[0, 1], [1, 2], [2, 4]],
    ...                                      [[0, 0], [1, 1], [2, 3]])
    >>> np.round(model.coef_, 4).tolist()
    [[0.0, 0.6081], [0.0, 0.9459]]
    """

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, copy_X: bool = True,
                 max_iter: int = 1000, tol: float = 1e-4, warm_start: bool = False,
                 random_state: Any = None, selection: str = "cyclic", verbose: int = 0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.selection = selection
        self.verbose = verbose

    def _l1_ratio(self):
        return 1.0
