"""Cross-validated Lasso and elastic net on warm-started regularization paths.

:class:`LassoCV` and :class:`ElasticNetCV` follow scikit-learn's ``LinearModelCV``: one
grid of ``alpha`` per ``l1_ratio`` computed on the whole data, one warm-started
:func:`~numlearn.linear_model.enet_path` per (``l1_ratio``, fold) on the training part
(centred by its own, weighted, means), the mean squared error of each grid point on the
held-out part, and a final :class:`~numlearn.linear_model.ElasticNet` /
:class:`~numlearn.linear_model.Lasso` fit at the best point on all the data. The paths of
the folds run in parallel through joblib (``n_jobs``, threads as scikit-learn's).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from numlearn._validation import check_option, check_scalar
from numlearn.linear_model._estimators import ElasticNet, Lasso, _checked_sparse, enet_path
from numlearn.linear_model._sample_weight import check_sample_weight

__all__ = ["ElasticNetCV", "LassoCV"]


def _alpha_grid(X, y, l1_ratio, fit_intercept, positive, eps, n_alphas, sw):
    """scikit-learn's ``alpha`` grid: ``alpha_max = ‖X̃ᵀ s ỹ‖_∞ / (Σ s · l1_ratio)``
    (``X̃``, ``ỹ`` centred by the ``s``-weighted means when fitting an intercept), then
    ``n_alphas`` log-spaced values down to ``eps alpha_max``."""
    if l1_ratio == 0:
        raise ValueError("l1_ratio=0 needs an explicit grid: pass alphas as an array "
                         "(alpha_max is infinite for a pure L2 penalty).")
    s = np.ones(X.shape[0]) if sw is None else sw
    yw = (y - np.average(y, weights=s) if fit_intercept else y) * s
    Xyw = np.asarray(X.T @ yw).ravel()
    if fit_intercept:
        x_mean = np.asarray(s @ X).ravel() / s.sum()
        Xyw = Xyw - x_mean * yw.sum()
    top = max(0.0, float(np.max(Xyw))) if positive else float(np.max(np.abs(Xyw)))
    alpha_max = top / (float(s.sum()) * l1_ratio)
    if alpha_max <= np.finfo(np.float64).resolution:
        return np.full(n_alphas, np.finfo(np.float64).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


_DENSIFY_MAX = 10_000_000  # entries: a weighted, centred sparse fold is densified up to this


def _fold_mse(X, y, sw, train, test, l1_ratio, alphas, fit_intercept, path_params):
    """Mean squared test error along the path fitted on ``train`` (weighted by the test
    weights when given), one value per ``alpha``."""
    X_train, y_train = X[train], y[train]
    if not sp.issparse(X):
        X_train = np.asfortranarray(X_train)  # the coordinate-descent kernels' order
    sw_train = None if sw is None else sw[train]
    if sp.issparse(X) and sw is not None and fit_intercept \
            and X_train.shape[0] * X_train.shape[1] <= _DENSIFY_MAX:
        X_train = X_train.toarray()  # weighted centring needs dense X; it is small
    if sp.issparse(X_train) and sw is not None and fit_intercept:
        # weighted centring would densify a large X: the estimator's L-BFGS-B fit,
        # warm-started along the grid, on the same objective and duality-gap stop
        model = ElasticNet(l1_ratio=l1_ratio, fit_intercept=True, warm_start=True,
                           tol=path_params["tol"], max_iter=path_params["max_iter"],
                           positive=path_params["positive"])
        coefs = np.empty((X.shape[1], len(alphas)))
        intercepts = np.empty(len(alphas))
        for k, alpha in enumerate(alphas):
            model.set_params(alpha=alpha).fit(X_train, y_train, sample_weight=sw_train)
            coefs[:, k], intercepts[k] = model.coef_, model.intercept_
    else:
        _, coefs, _ = enet_path(X_train, y_train, l1_ratio=l1_ratio, alphas=alphas,
                                fit_intercept=fit_intercept, sample_weight=sw_train,
                                **path_params)
        if fit_intercept:  # each point's intercept: weighted means of the training part
            s = np.ones(len(train)) if sw_train is None else sw_train
            x_off = np.asarray(s @ X_train).ravel() / s.sum()
            intercepts = float(s @ y_train) / s.sum() - x_off @ coefs
        else:
            intercepts = np.zeros(coefs.shape[1])
    residues = np.asarray(X[test] @ coefs) + intercepts - y[test][:, None]
    if sw is None:
        return (residues ** 2).mean(axis=0)
    return np.average(residues ** 2, weights=sw[test], axis=0)


class _LinearModelCV(RegressorMixin, BaseEstimator):
    """The cross-validation shared by :class:`LassoCV` and :class:`ElasticNetCV`."""

    def _l1_ratios(self):
        return [1.0]

    def _final_estimator(self, alpha, l1_ratio):
        return ElasticNet(alpha=alpha, l1_ratio=l1_ratio)

    def fit(self, X, y, sample_weight=None, **params):
        """Fit the model: cross-validate the grid, then refit at the best point.

        Parameters
        ----------
        X : array or sparse matrix, shape (n_samples, n_features)
        y : array, shape (n_samples,)
        sample_weight : array, shape (n_samples,), optional
            Non-negative weights, as scikit-learn's: the paths are weighted least squares
            and the held-out errors weighted averages.
        **params
            Passed to the splitter's ``split`` (e.g. ``groups`` for a group K-fold).

        Returns
        -------
        self
        """
        eps = check_scalar(self.eps, "eps", low=0.0, include_low=False)
        tol = check_scalar(self.tol, "tol", low=0.0)
        max_iter = check_scalar(self.max_iter, "max_iter", kind=int, low=1)
        selection = check_option(self.selection, "selection", ("cyclic", "random"))
        if self.precompute not in ("auto", True, False):
            raise ValueError(f"precompute must be 'auto', True or False, got "
                             f"{self.precompute!r}.")
        l1_ratios = [check_scalar(r, "l1_ratio", low=0.0, high=1.0)
                     for r in self._l1_ratios()]
        X = _checked_sparse(X, "csc")
        X, y = validate_data(
            self, X, y, validate_separately=(
                dict(accept_sparse="csc", dtype=[np.float64, np.float32]),
                dict(dtype=[np.float64, np.float32], ensure_2d=False)))
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(f"y must be 1-D for {type(self).__name__}, got shape {y.shape};"
                             f" for multi-task outputs, use MultiTask"
                             f"{type(self).__name__[:-2]}.")
        y = column_or_1d(y, warn=True).astype(np.float64)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} samples, but X has {X.shape[0]}.")
        sw = None if isinstance(sample_weight, numbers.Number) \
            else check_sample_weight(sample_weight, X.shape[0])

        if isinstance(self.alphas, numbers.Integral) and not isinstance(self.alphas, bool):
            n_alphas = check_scalar(self.alphas, "alphas", kind=int, low=1)
            grids = [_alpha_grid(X, y, r, self.fit_intercept, self.positive, eps, n_alphas,
                                 sw) for r in l1_ratios]
        else:
            arr = np.asarray(self.alphas, dtype=np.float64)
            if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) \
                    or np.any(arr < 0):
                raise ValueError("alphas must be an int (the grid's size) or a non-empty "
                                 "1-D array of finite non-negative values, got "
                                 f"{self.alphas!r}.")
            grids = [np.sort(arr)[::-1] for _ in l1_ratios]

        # scikit-learn's "cyclic" default: our path picks its own deterministic rule
        # (greedy on a Gram matrix), same minimizer to tol
        path_params = dict(tol=tol, max_iter=max_iter, positive=bool(self.positive),
                           precompute=self.precompute)
        if not sp.issparse(X) and self.precompute == "auto":
            # measured on dense folds (1000 x 200, 200 x 1000, tol 1e-4): plain cyclic
            # epochs over a Fortran-ordered fold beat the on-demand Gram matrix and the
            # working sets by 1.2-1.5x along a warm-started path
            path_params.update(precompute=False, working_set=False)
        if selection == "random":
            path_params.update(selection="random", random_state=self.random_state)
        cv = check_cv(self.cv)
        folds = list(cv.split(X, y, **params))
        jobs = (delayed(_fold_mse)(X, y, sw, train, test, r, grid, self.fit_intercept,
                                   path_params)
                for r, grid in zip(l1_ratios, grids) for train, test in folds)
        mse = Parallel(n_jobs=self.n_jobs, prefer="threads")(jobs)
        mse = np.reshape(mse, (len(l1_ratios), len(folds), -1))
        mean_mse = mse.mean(axis=1)
        best = (np.inf, None, None)
        for r, grid, m in zip(l1_ratios, grids, mean_mse):
            i = int(np.argmin(m))
            if m[i] < best[0]:
                best = (m[i], grid[i], r)
        _, self.alpha_, self.l1_ratio_ = best
        self.mse_path_ = np.squeeze(np.moveaxis(mse, 2, 1))
        self.alphas_ = np.asarray(grids) if len(l1_ratios) > 1 else grids[0]

        model = self._final_estimator(self.alpha_, self.l1_ratio_)
        model.set_params(fit_intercept=self.fit_intercept, max_iter=max_iter, tol=tol,
                         positive=bool(self.positive), selection=selection,
                         random_state=self.random_state, verbose=self.verbose)
        model.fit(X, y, sample_weight=sw)
        self.coef_ = model.coef_
        self.intercept_ = model.intercept_
        self.dual_gap_ = model.dual_gap_
        self.n_iter_ = model.n_iter_
        return self

    def predict(self, X):
        """Predict ``X w + b``."""
        check_is_fitted(self)
        X = validate_data(self, _checked_sparse(X, None), accept_sparse=True, reset=False)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class LassoCV(_LinearModelCV):
    """Lasso with ``alpha`` chosen by cross-validation along a warm-started path.

    scikit-learn's ``LassoCV`` (1.9): same grid, folds, selection rule and fitted
    attributes; each fold's path is :func:`~numlearn.linear_model.lasso_path`, the final
    model a :class:`~numlearn.linear_model.Lasso`.

    Parameters
    ----------
    eps : float, default 1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    alphas : int or array, default 100
        The grid's size (log-spaced from scikit-learn's ``alpha_max``) or the grid itself.
    fit_intercept : bool, default True
    precompute : "auto", bool, default "auto"
        Gram matrix in the paths. ``"auto"``: none on dense folds (plain cyclic epochs
        without working sets measured fastest along a warm-started path), the path's own
        choice on sparse ones; True / False are passed to the paths.
    max_iter : int, default 1000
    tol : float, default 1e-4
        Duality-gap tolerance of every fit (scikit-learn's scale).
    copy_X : bool, default True
        Accepted for scikit-learn compatibility; ``X`` is never modified.
    cv : int, cross-validation generator or iterable, default None
        As scikit-learn's (None: 5-fold ``KFold`` without shuffling).
    verbose : bool or int, default False
        Progress of the final fit.
    n_jobs : int, default None
        Folds (and ``l1_ratio`` values) fitted in parallel by joblib threads.
    positive : bool, default False
        Coefficients constrained to be ``≥ 0``.
    random_state : None, int or Generator
        Used when ``selection="random"``.
    selection : {"cyclic", "random"}, default "cyclic"
        ``"cyclic"`` lets each path use its default deterministic rule (cyclic, or greedy
        on a Gram matrix with ``precompute=True``); the minimizers are the same to
        ``tol``.

    Attributes
    ----------
    alpha_ : float
        The chosen ``alpha``.
    alphas_ : ndarray, shape (n_alphas,)
        The grid, decreasing.
    mse_path_ : ndarray, shape (n_alphas, n_folds)
        Held-out mean squared error of every grid point and fold.
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    dual_gap_ : float
    n_iter_ : int
        Of the final fit.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import LassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 8))
    >>> y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(60)
    >>> model = LassoCV(cv=3).fit(X, y)
    >>> model.mse_path_.shape, bool(model.alpha_ < 0.1)
    ((100, 3), True)
    >>> np.flatnonzero(np.abs(model.coef_) > 0.1).tolist()
    [0, 1]
    """

    def __init__(self, *, eps: float = 1e-3, alphas: Any = 100, fit_intercept: bool = True,
                 precompute: Any = "auto", max_iter: int = 1000, tol: float = 1e-4,
                 copy_X: bool = True, cv: Any = None, verbose: Any = False,
                 n_jobs: int | None = None, positive: bool = False, random_state: Any = None,
                 selection: str = "cyclic"):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _final_estimator(self, alpha, l1_ratio):
        return Lasso(alpha=alpha)

    def fit(self, X, y, sample_weight=None, **params):
        super().fit(X, y, sample_weight=sample_weight, **params)
        del self.l1_ratio_  # as scikit-learn's: LassoCV has no l1_ratio_
        return self

    fit.__doc__ = _LinearModelCV.fit.__doc__


class ElasticNetCV(_LinearModelCV):
    """Elastic net with ``alpha`` (and ``l1_ratio``) chosen by cross-validation.

    scikit-learn's ``ElasticNetCV`` (1.9): one grid per ``l1_ratio``, the same folds and
    selection rule and fitted attributes; each fold's path is
    :func:`~numlearn.linear_model.enet_path`, the final model an
    :class:`~numlearn.linear_model.ElasticNet`. The parameters are :class:`LassoCV`'s and:

    Parameters
    ----------
    l1_ratio : float or list of float, default 0.5
        The mixes tried (each in [0, 1]; an automatic grid needs them > 0).

    Attributes
    ----------
    alpha_, l1_ratio_ : float
        The chosen point.
    alphas_ : ndarray, shape (n_alphas,) or (n_l1_ratio, n_alphas)
    mse_path_ : ndarray, shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
    coef_, intercept_, dual_gap_, n_iter_, n_features_in_
        As :class:`LassoCV`'s.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import ElasticNetCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 8))
    >>> y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(60)
    >>> model = ElasticNetCV(l1_ratio=[0.5, 0.9], alphas=20, cv=3).fit(X, y)
    >>> model.mse_path_.shape, model.alphas_.shape
    ((2, 20, 3), (2, 20))
    """

    def __init__(self, *, l1_ratio: Any = 0.5, eps: float = 1e-3, alphas: Any = 100,
                 fit_intercept: bool = True, precompute: Any = "auto", max_iter: int = 1000,
                 tol: float = 1e-4, cv: Any = None, copy_X: bool = True, verbose: Any = 0,
                 n_jobs: int | None = None, positive: bool = False, random_state: Any = None,
                 selection: str = "cyclic"):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _l1_ratios(self):
        return list(np.atleast_1d(self.l1_ratio))
