"""Cross-validated logistic regression on warm-started paths over ``C``.

:class:`LogisticRegressionCV` follows scikit-learn 1.9's ``LogisticRegressionCV`` with its
new (``use_legacy_attributes=False``, the default from scikit-learn 1.10) fitted
attributes: per fold and ``l1_ratio``, :class:`~numlearn.linear_model.LogisticRegression`
is fitted along the grid ``Cs_`` (increasing, each fit warm-started at the previous one),
each model is scored on the held-out part, and the best point (summed over folds) is
refitted on all the data (``refit=True``) or the folds' best models are averaged.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from numlearn._validation import check_scalar
from numlearn.linear_model._estimators import LogisticRegression, _checked_sparse
from numlearn.linear_model._sample_weight import check_sample_weight

__all__ = ["LogisticRegressionCV"]


def _fold_path(X, y, sw, classes, train, test, Cs, l1_ratio, params, scorer):
    """Coefficients (with the intercept last), iterations and held-out scores along
    ``Cs`` for one fold and one ``l1_ratio``."""
    # an explicit "l1" / "l2" penalty takes no l1_ratio (LogisticRegression would warn)
    fit_ratio = None if params["penalty"] in ("l1", "l2") else l1_ratio
    model = LogisticRegression(C=Cs[0], l1_ratio=fit_ratio, warm_start=True, **params)
    X_train, y_train = X[train], y[train]
    sw_train = None if sw is None else sw[train]
    X_test, y_test = X[test], y[test]
    score_kw = {} if sw is None else {"sample_weight": sw[test]}
    coefs, n_iter, scores = [], [], []
    for C in Cs:
        model.set_params(C=C).fit(X_train, y_train, sample_weight=sw_train)
        if model.classes_.shape != classes.shape:
            raise ValueError("every training fold must contain every class; use a "
                             "stratified cv or fewer folds.")
        coefs.append(np.hstack([model.coef_, model.intercept_[:, None]])
                     if params["fit_intercept"] else model.coef_.copy())
        # a warm start that is already optimal still costs one gradient check: count 1
        n_iter.append(max(int(model.n_iter_[0]), 1))
        scores.append(scorer(model, X_test, y_test, **score_kw))
    return np.asarray(coefs), np.asarray(n_iter), np.asarray(scores, dtype=np.float64)


class LogisticRegressionCV(ClassifierMixin, BaseEstimator):
    """Logistic regression with ``C`` (and ``l1_ratio``) chosen by cross-validation.

    scikit-learn 1.9's ``LogisticRegressionCV`` with ``use_legacy_attributes=False``
    (the layout scikit-learn 1.10 makes the default): the same grid of ``C``, folds
    (stratified by default), scoring, selection and refit rules; each fit is a
    :class:`~numlearn.linear_model.LogisticRegression` (its objective, penalty rules and
    solvers), warm-started along ``Cs_``.

    Parameters
    ----------
    Cs : int or list of float, default 10
        The grid of ``C`` (an int: that many values log-spaced in ``[1e-4, 1e4]``).
    l1_ratios : list of float, default (0.0,)
        Elastic-net mixes tried (0: L2, 1: L1), each in [0, 1].
    fit_intercept : bool, default True
    cv : int, cross-validation generator or iterable, default None
        As scikit-learn's (None: 5-fold ``StratifiedKFold``).
    penalty : {"auto", "l1", "l2", "elasticnet"}, default "auto"
        ``"auto"``: decided by each ``l1_ratio`` (scikit-learn ≥ 1.8's rule). An explicit
        penalty is passed to every fit; with ``"l1"`` / ``"l2"`` the ``l1_ratios`` are
        not used (``l1_ratios_`` is ``[1.0]`` / ``[0.0]``).
    scoring : str, callable or None, default None
        A scikit-learn scorer name or callable ``scorer(estimator, X, y)``; None is
        accuracy (scikit-learn 1.9's default).
    tol : float, default 1e-4
    max_iter : int, default 100
    class_weight : dict, "balanced" or None, default None
        As :class:`~numlearn.linear_model.LogisticRegression`'s; ``"balanced"`` is
        computed once on all the data, as scikit-learn does.
    n_jobs : int, default None
        Folds and ``l1_ratios`` fitted in parallel (joblib threads).
    verbose : int, default 0
        Progress of the final fit.
    refit : bool, default True
        Refit at the best point on all the data; otherwise average the folds' best
        models (and their ``C`` and ``l1_ratio``).
    solver : {"auto", "lbfgs", "cd"}, default "auto"
        :class:`~numlearn.linear_model.LogisticRegression`'s solver.
    random_state : None, int or Generator
        Passed to the fits (coordinate-descent selection rules).

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    Cs_ : ndarray, shape (n_cs,)
    l1_ratios_ : ndarray, shape (n_l1_ratios,)
    C_ : float
        The chosen ``C`` (the mean of the folds' best ones when ``refit=False``).
    l1_ratio_ : float
    scores_ : ndarray, shape (n_folds, n_l1_ratios, n_cs)
        Held-out scores.
    coefs_paths_ : ndarray, shape (n_folds, n_l1_ratios, n_cs, n_classes_or_1, n_dof)
        Coefficients of every fit, the intercept last (``n_dof = n_features + 1``) when
        fitted; the class axis has length 1 for two classes.
    n_iter_ : ndarray, shape (n_folds, n_l1_ratios, n_cs)
        Iterations of every fit (at least 1: a warm start that is already optimal
        counts its gradient check).
    coef_ : ndarray, shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray, shape (1,) or (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import LogisticRegressionCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 3))
    >>> y = (X[:, 0] + 0.5 * rng.standard_normal(80) > 0).astype(int)
    >>> clf = LogisticRegressionCV(Cs=5, cv=4).fit(X, y)
    >>> clf.scores_.shape, clf.coefs_paths_.shape
    ((4, 1, 5), (4, 1, 5, 1, 4))
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    def __init__(self, *, Cs: Any = 10, l1_ratios: Any = (0.0,), fit_intercept: bool = True,
                 cv: Any = None, penalty: str = "auto", scoring: Any = None,
                 tol: float = 1e-4, max_iter: int = 100, class_weight: Any = None,
                 n_jobs: int | None = None, verbose: int = 0, refit: bool = True,
                 solver: str = "auto", random_state: Any = None):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.penalty = penalty
        self.scoring = scoring
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.solver = solver
        self.random_state = random_state

    def _grid(self):
        if isinstance(self.Cs, numbers.Integral) and not isinstance(self.Cs, bool):
            n = check_scalar(self.Cs, "Cs", kind=int, low=1)
            return np.logspace(-4, 4, n)
        Cs = np.asarray(self.Cs, dtype=np.float64) if not isinstance(self.Cs, str) else None
        if Cs is None or Cs.ndim != 1 or Cs.size == 0 or not np.all(Cs > 0):
            raise ValueError(f"Cs must be an int or a non-empty list of positive floats, "
                             f"got {self.Cs!r}.")
        return Cs

    def _ratios(self):
        try:
            ratios = [float(r) for r in np.atleast_1d(self.l1_ratios)]
        except (TypeError, ValueError):
            ratios = []
        if not ratios or any(not 0.0 <= r <= 1.0 for r in ratios):
            raise ValueError("l1_ratios must be a non-empty list of numbers in [0, 1], got "
                             f"{self.l1_ratios!r}.")
        return np.asarray(ratios)

    def fit(self, X, y, sample_weight=None, **params):
        """Fit the model: score the grid on the folds, then refit (or average).

        Parameters
        ----------
        X : array or sparse matrix, shape (n_samples, n_features)
        y : array, shape (n_samples,)
        sample_weight : array, shape (n_samples,), optional
            Weights of the fits and of the held-out scores, as scikit-learn's.
        **params
            Passed to the splitter's ``split`` (e.g. ``groups``).

        Returns
        -------
        self
        """
        Cs = self._grid()
        ratios = self._ratios()
        if self.penalty in ("l1", "l2"):
            ratios = np.array([1.0 if self.penalty == "l1" else 0.0])
        tol = check_scalar(self.tol, "tol", low=0.0)
        max_iter = check_scalar(self.max_iter, "max_iter", kind=int, low=1)
        X = _checked_sparse(X, None)
        X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"),
                             dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {self.classes_[0]!r}.")
        sw = check_sample_weight(sample_weight, X.shape[0])
        class_weight = self.class_weight
        if isinstance(class_weight, str) and class_weight == "balanced":
            class_weight = dict(zip(self.classes_, compute_class_weight(
                "balanced", classes=self.classes_, y=y, sample_weight=sw)))
        fit_params = dict(penalty=self.penalty, fit_intercept=self.fit_intercept, tol=tol,
                          max_iter=max_iter, class_weight=class_weight, solver=self.solver,
                          random_state=self.random_state)
        scorer = check_scoring(LogisticRegression(), scoring=self.scoring)
        cv = check_cv(self.cv, y, classifier=True)
        folds = list(cv.split(X, y, **params))
        out = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_fold_path)(X, y, sw, self.classes_, train, test, Cs, r, fit_params,
                                scorer)
            for train, test in folds for r in ratios)
        n_folds, n_l1, n_cs = len(folds), ratios.shape[0], Cs.shape[0]
        coefs = np.asarray([o[0] for o in out])  # (folds * l1, n_cs, K, n_dof)
        self.coefs_paths_ = coefs.reshape(n_folds, n_l1, n_cs, *coefs.shape[2:])
        self.n_iter_ = np.asarray([o[1] for o in out]).reshape(n_folds, n_l1, n_cs)
        self.scores_ = np.asarray([o[2] for o in out]).reshape(n_folds, n_l1, n_cs)
        self.Cs_ = Cs
        self.l1_ratios_ = ratios
        p = X.shape[1]
        if self.refit:
            total = self.scores_.sum(axis=0)  # (n_l1, n_cs), first best as scikit-learn
            i_l1, i_c = np.unravel_index(np.argmax(total.T), total.T.shape)[::-1]
            self.C_ = float(Cs[i_c])
            self.l1_ratio_ = float(ratios[i_l1])
            model = LogisticRegression(C=self.C_, l1_ratio=None if self.penalty in (
                                           "l1", "l2") else self.l1_ratio_,
                                       verbose=self.verbose, **fit_params)
            model.fit(X, y, sample_weight=sw)
            self.coef_, self.intercept_ = model.coef_, model.intercept_
        else:
            flat = self.scores_.transpose(0, 2, 1).reshape(n_folds, -1)  # C-major
            best = np.argmax(flat, axis=1)
            i_c, i_l1 = np.unravel_index(best, (n_cs, n_l1))
            w = np.mean([self.coefs_paths_[f, i_l1[f], i_c[f]] for f in range(n_folds)],
                        axis=0)
            self.C_ = float(np.mean(Cs[i_c]))
            self.l1_ratio_ = float(np.mean(ratios[i_l1]))
            self.coef_ = np.ascontiguousarray(w[:, :p])
            self.intercept_ = w[:, p].copy() if self.fit_intercept else np.zeros(w.shape[0])
        return self

    def decision_function(self, X):
        """Scores ``X wᵀ + b``: shape (n_samples,) for two classes, else
        (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, _checked_sparse(X, None), accept_sparse=True, reset=False)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        d = self.decision_function(X)
        if d.ndim == 1:
            p1 = 0.5 * (1.0 + np.tanh(0.5 * d))  # the logistic sigmoid, overflow-free
            return np.column_stack([1.0 - p1, p1])
        d = d - d.max(axis=1, keepdims=True)
        e = np.exp(d)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample."""
        d = self.decision_function(X)
        idx = (d > 0).astype(int) if d.ndim == 1 else np.argmax(d, axis=1)
        return self.classes_[idx]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
