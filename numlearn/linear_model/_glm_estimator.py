"""``GeneralizedLinearEstimator``: any datafit × penalty pair as a scikit-learn estimator
(a thin wrapper around :func:`~numlearn.linear_model.solve_glm`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from numlearn.linear_model._glm import solve_glm
from numlearn.linear_model._sample_weight import check_sample_weight
from numlearn.linear_model.datafits import Logistic, Quadratic
from numlearn.linear_model.penalties import L1

__all__ = ["GeneralizedLinearEstimator"]


class GeneralizedLinearEstimator(BaseEstimator):
    """Linear model ``argmin_{w, b} F(X w + b) + P(w)`` for any datafit and penalty.

    A regressor with the :class:`Quadratic` datafit, a binary classifier with
    :class:`Logistic` (labels of any type, two classes). Solved by the working-set
    coordinate descent of :func:`solve_glm` (skglm's engine).

    Parameters
    ----------
    datafit : Quadratic or Logistic, default=None
        ``None`` means ``Quadratic()``.
    penalty : WeightedL1, MCP, SCAD, GroupLasso or L1, default=None
        ``None`` means ``L1(1.0)``.
    fit_intercept : bool, default=True
        Fit an unpenalized intercept.
    tol : float, default=1e-4
        Largest admissible optimality violation (see :func:`solve_glm`).
    max_iter : int, default=50
        Outer (working-set) iterations.
    max_epochs : int, default=50000
        Budget of coordinate epochs.
    p0 : int, default=10
        Smallest working set.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    verbose : bool or int, default=0

    Attributes
    ----------
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Outer iterations of the last fit.
    n_epochs_ : int
    stop_crit_ : float
        Optimality violation reached.
    classes_ : ndarray, shape (2,)
        Class labels (logistic datafit only).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import GeneralizedLinearEstimator, Quadratic, SCAD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 10))
    >>> y = 3 * X[:, 0] - 2 * X[:, 4] + 1
    >>> est = GeneralizedLinearEstimator(Quadratic(), SCAD(0.1), tol=1e-8).fit(X, y)
    >>> np.round(est.coef_[[0, 4]], 6).tolist(), round(est.intercept_, 6)
    ([3.0, -2.0], 1.0)
    """

    def __init__(self, datafit: Any = None, penalty: Any = None, *, fit_intercept: bool = True,
                 tol: float = 1e-4, max_iter: int = 50, max_epochs: int = 50_000,
                 p0: int = 10, warm_start: bool = False, verbose: Any = 0):
        self.datafit = datafit
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.max_epochs = max_epochs
        self.p0 = p0
        self.warm_start = warm_start
        self.verbose = verbose

    def _datafit(self):
        return Quadratic() if self.datafit is None else self.datafit

    def _is_classifier(self) -> bool:
        return isinstance(self._datafit(), Logistic)

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``sample_weight`` as in :func:`solve_glm`."""
        X, y = validate_data(self, X, y, accept_sparse="csc", dtype=np.float64,
                             y_numeric=not self._is_classifier())
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if self._is_classifier():
            check_classification_targets(y)
            y_type = type_of_target(y, input_name="y")
            if y_type != "binary":
                raise ValueError("Only binary classification is supported. The type of the "
                                 f"target is {y_type} (GeneralizedLinearEstimator with the "
                                 "Logistic datafit).")
            classes, y_enc = np.unique(y, return_inverse=True)
            if classes.size < 2 or (sample_weight is not None
                                    and np.unique(y_enc[sample_weight > 0]).size < 2):
                raise ValueError("y has one class (among the samples of positive "
                                 "sample_weight); the Logistic datafit needs two classes.")
            self.classes_ = classes
            target = 2.0 * y_enc - 1.0
        else:
            target = y
        warm = self.coef_ if (self.warm_start and hasattr(self, "coef_")
                              and self.coef_.shape[0] == X.shape[1]) else None
        penalty = L1(1.0) if self.penalty is None else self.penalty
        res = solve_glm(X, target, self._datafit(), penalty, fit_intercept=self.fit_intercept,
                        tol=self.tol, max_iter=self.max_iter, max_epochs=self.max_epochs,
                        p0=self.p0, warm_start=warm, sample_weight=sample_weight,
                        verbose=self.verbose)
        self.coef_ = res.coef
        self.intercept_ = float(res.intercept)
        self.n_iter_ = res.n_iter
        self.n_epochs_ = res.n_epochs
        self.stop_crit_ = res.stop_crit
        return self

    def _linear(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, dtype=np.float64, reset=False)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    @available_if(lambda self: self._is_classifier())
    def decision_function(self, X):
        """``X @ coef_ + intercept_`` (logistic datafit only)."""
        return self._linear(X)

    def predict(self, X):
        """Predicted targets (regression) or class labels (logistic)."""
        z = self._linear(X)
        if self._is_classifier():
            return self.classes_[(z > 0).astype(int)]
        return z

    @available_if(lambda self: self._is_classifier())
    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, 2) (logistic datafit only)."""
        z = self._linear(X)
        p1 = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p1, p1])

    def score(self, X, y, sample_weight=None):
        """Accuracy (logistic datafit) or R² (quadratic datafit)."""
        metric = accuracy_score if self._is_classifier() else r2_score
        return metric(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if self._is_classifier():
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags
