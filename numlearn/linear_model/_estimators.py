"""scikit-learn estimators on top of :func:`coordinate_descent` (no numerics of their own)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from numlearn._backend import (
    device_of,
    is_cupy_sparse,
    non_numpy_namespace,
    to_device,
    to_numpy,
)
from numlearn._result import Status
from numlearn._validation import (
    check_array,
    check_option,
    check_random_state,
    check_scalar,
    check_sparse_structure,
)
from numlearn.linear_model._cd_parallel import _check_data as _check_data_xp
from numlearn.linear_model._cd_parallel import _Design, solve_parallel
from numlearn.linear_model._coordinate_descent import (
    SELECTIONS,
    _check_data,
    _Problem,
    coordinate_descent,
    weighted_rescale,
)
from numlearn.linear_model._lbfgs import lbfgs_glm
from numlearn.linear_model._sample_weight import check_sample_weight
from numlearn.linear_model.datafits import Logistic, Multinomial, Quadratic
from numlearn.linear_model.penalties import L1, L2, NoPenalty
from numlearn.linear_model.penalties import ElasticNet as _EnetPenalty

__all__ = ["ElasticNet", "Lasso", "LogisticRegression", "enet_path", "lasso_path"]


def _solver_kwargs(est) -> dict:
    return dict(
        selection=check_option(est.selection, "selection", SELECTIONS),
        max_iter=check_scalar(est.max_iter, "max_iter", kind=int, low=1),
        tol=check_scalar(est.tol, "tol", low=0.0),
        working_set=est.working_set,
        anderson=est.anderson,
        random_state=est.random_state,
        verbose=est.verbose,
    )


def _fit_lbfgs(X, y, kind, n_classes, sw, l1, l2, fit_intercept, tol, max_iter, warm,
               verbose, positive=False):
    res = lbfgs_glm(X, y, kind, n_classes=n_classes, sample_weight=sw, l1=l1, l2=l2,
                    positive=positive, fit_intercept=fit_intercept, tol=tol,
                    max_iter=max_iter, warm_start=warm, verbose=verbose)
    if not res.converged:
        warnings.warn(f"lbfgs did not converge after {res.n_iter} iterations "
                      f"({res.solver_message}); increase max_iter or scale the data.",
                      ConvergenceWarning, stacklevel=4)
    return res


def _fit_quadratic_lbfgs(X, y, sw, l1, l2, positive, fit_intercept, tol, max_iter, warm,
                         verbose):
    """Weighted / box-constrained least squares by L-BFGS-B, stopped like the
    coordinate-descent engine: duality gap ≤ ``tol`` times scikit-learn's unit (the
    weighted variance of ``y``, or its weighted second moment without intercept); the
    gradient tolerance is tightened (warm-started) until the gap is reached."""
    X = X.astype(np.float64) if X.dtype != np.float64 else X
    y = np.asarray(y, dtype=np.float64)
    a = np.full(y.shape[0], 1.0 / y.shape[0]) if sw is None else sw / sw.sum()
    yc = y - float(a @ y) if fit_intercept else y
    target = tol * float(a @ (yc * yc))
    gtol = max(tol * float(np.sqrt(a @ (yc * yc))), 1e-300)
    start = None if warm is None else (warm, None)
    n_iter = 0
    for _ in range(6):
        res = lbfgs_glm(X, y, "quadratic", sample_weight=sw, l1=l1, l2=l2,
                        positive=positive, fit_intercept=fit_intercept, tol=gtol,
                        max_iter=max_iter, warm_start=start, verbose=verbose,
                        ftol=64 * np.finfo(float).eps if start is None or n_iter == 0
                        else 0.0)
        n_iter += res.n_iter
        if not res.dual_gap > target:  # reached (or no penalty: NaN, gradient rule)
            break
        if res.status not in (Status.SUCCESS, Status.STAGNATION) and n_iter >= max_iter:
            break
        start = (res.coef, res.intercept if fit_intercept else None)
        gtol *= 1e-2
    res.n_iter = n_iter
    if res.dual_gap > target:
        warnings.warn(f"L-BFGS-B did not reach the duality gap {target:.3e} (got "
                      f"{res.dual_gap:.3e}) after {n_iter} iterations; increase max_iter "
                      "or tol.", ConvergenceWarning, stacklevel=4)
    return res


def _checked_sparse(X, fmt, check_input=True):
    """A SciPy sparse ``X`` with its structure checked before SciPy converts or
    multiplies it (duplicates summed, on a copy); anything else unchanged."""
    return check_sparse_structure(X, "X", format=fmt, check_input=check_input) \
        if sp.issparse(X) else X


def _fit_cd(X, y, datafit, penalty, warm, kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = coordinate_descent(X, y, datafit, penalty, warm_start=warm, **kwargs)
    for w in caught:  # re-emit at the estimator's caller
        warnings.warn(str(w.message), w.category, stacklevel=4)
    return res


class ElasticNet(RegressorMixin, BaseEstimator):
    """Linear regression with combined L1 and L2 penalties, by coordinate descent.

    Minimizes ``‖y - X w - b‖² / (2 n) + alpha l1_ratio ‖w‖₁
    + alpha (1 - l1_ratio) ‖w‖² / 2``, scikit-learn's objective, with
    :func:`~numlearn.linear_model.coordinate_descent` and the same duality-gap stop
    (``gap ≤ tol ‖y - ȳ‖² / n``).

    Parameters
    ----------
    alpha : float, default 1.0
        Regularization strength (≥ 0).
    l1_ratio : float, default 0.5
        Mix of L1 and L2 (in [0, 1]; 1 is the lasso).
    fit_intercept : bool, default True
    max_iter : int, default 1000
        Maximum number of epochs.
    tol : float, default 1e-4
    warm_start : bool, default False
        Start from the previous ``coef_``.
    selection : str, default "cyclic"
        Coordinate selection rule (see :func:`~numlearn.linear_model.coordinate_descent`).
    working_set, anderson : bool, default True
    random_state : None, int or Generator
    verbose : int, default 0
    positive : bool, default False
        Constrain the coefficients to be ``≥ 0`` (as scikit-learn's ``positive``). The
        coordinate-descent kernels have no box constraints: these fits use L-BFGS-B on
        the same objective, stopped on the same duality gap.

    Attributes
    ----------
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Epochs run.
    dual_gap_ : float
        Duality gap at exit (in the objective's units).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import ElasticNet
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> model = ElasticNet(alpha=0.1, l1_ratio=0.5).fit(X, [0.0, 1.0, 2.0])
    >>> np.round(model.coef_, 4).tolist()
    [0.4458, 0.4458]
    """

    def __init__(self, alpha: float = 1.0, *, l1_ratio: float = 0.5, fit_intercept: bool = True,
                 max_iter: int = 1000, tol: float = 1e-4, warm_start: bool = False,
                 selection: str = "cyclic", working_set: bool = True, anderson: bool = True,
                 random_state: Any = None, verbose: int = 0, positive: bool = False):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.positive = positive
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.selection = selection
        self.working_set = working_set
        self.anderson = anderson
        self.random_state = random_state
        self.verbose = verbose

    def _penalty(self):
        alpha = check_scalar(self.alpha, "alpha", low=0.0)
        l1_ratio = check_scalar(self.l1_ratio, "l1_ratio", low=0.0, high=1.0)
        return _EnetPenalty(alpha, l1_ratio)

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit the model.

        ``sample_weight`` (non-negative, not all zero) weighs each sample's squared error
        as in scikit-learn (objective ``Σ s_i r_i² / (2 Σ s_i) + penalty``; integer
        weights equal repeated rows): dense ``X``, or sparse ``X`` without intercept, by
        scikit-learn's rescaling into the coordinate-descent engine; sparse ``X`` with an
        intercept and ``positive=True`` by L-BFGS-B, stopped on the same duality gap.

        CuPy (dense or ``cupyx.scipy.sparse``) and other array-API inputs are fitted by
        the parallel coordinate descent of :mod:`numlearn.linear_model._cd_parallel`
        (no sample weights, no ``positive``); ``coef_`` and ``intercept_`` (0-d) are
        then arrays of that namespace and device.
        ``check_input=False`` skips the structural check of a SciPy sparse ``X`` (as
        scikit-learn's), for callers that checked it already; never the default.
        """
        penalty = self._penalty()
        xp = non_numpy_namespace(X, y)
        if xp is not None:
            if sample_weight is not None or self.positive:
                raise ValueError("sample_weight and positive=True are not supported for "
                                 "array-API / CuPy inputs (parallel coordinate descent).")
            return self._fit_array_api(X, y, xp, penalty)
        X = _checked_sparse(X, "csc", check_input)
        X, y = validate_data(self, X, y, accept_sparse="csc", dtype=[np.float64, np.float32],
                             y_numeric=True, order="F")
        y = np.asarray(y, dtype=X.dtype)
        sw = check_sample_weight(sample_weight, X.shape[0])
        warm = self.coef_ if self.warm_start and hasattr(self, "coef_") else None
        if warm is not None and warm.shape != (X.shape[1],):
            warm = None
        if self.positive or (sw is not None and sp.issparse(X) and self.fit_intercept):
            res = _fit_quadratic_lbfgs(
                X, y, sw, penalty.l1, penalty.l2, bool(self.positive), self.fit_intercept,
                check_scalar(self.tol, "tol", low=0.0),
                check_scalar(self.max_iter, "max_iter", kind=int, low=1), warm,
                self.verbose)
        else:
            res = _fit_cd(X, y, Quadratic(), penalty, warm,
                          dict(_solver_kwargs(self), fit_intercept=self.fit_intercept,
                               sample_weight=sw))
        self.coef_ = res.coef
        self.intercept_ = float(res.intercept) if self.fit_intercept else 0.0
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.dual_gap
        return self

    def _fit_array_api(self, X, y, xp, penalty):
        X, y = _check_data_xp(X, y, xp)
        warm = self.coef_ if self.warm_start and hasattr(self, "coef_") else None
        if warm is not None and tuple(warm.shape) != (X.shape[1],):
            warm = None
        res = _fit_cd(X, y, Quadratic(), penalty, warm,
                      dict(_solver_kwargs(self), fit_intercept=self.fit_intercept))
        self.coef_ = res.coef
        self.intercept_ = xp.asarray(float(res.intercept) if self.fit_intercept else 0.0,
                                     dtype=res.coef.dtype, device=_device(X))
        self.n_features_in_ = int(X.shape[1])
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.dual_gap
        return self

    def predict(self, X):
        """Predict ``X w + b`` (in ``X``'s namespace for array-API inputs)."""
        check_is_fitted(self)
        xp = non_numpy_namespace(X)
        if xp is not None:
            X = _check_predict_xp(self, X, xp)
            coef = to_device(self.coef_, X)
            intercept = to_device(self.intercept_, X)
            return xp.reshape(X @ coef, (-1,)) + intercept
        X = validate_data(self, _checked_sparse(X, None), accept_sparse=True, reset=False)
        if not isinstance(self.coef_, np.ndarray):  # fitted on array-API inputs
            return np.asarray(X @ to_numpy(self.coef_)).ravel() + float(self.intercept_)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class Lasso(ElasticNet):
    """Linear regression with an L1 penalty, by coordinate descent.

    Minimizes ``‖y - X w - b‖² / (2 n) + alpha ‖w‖₁`` (scikit-learn's objective and
    stopping rule); see :class:`ElasticNet` for the parameters other than ``l1_ratio``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import Lasso
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> model = Lasso(alpha=0.1).fit(X, [0.0, 1.0, 2.0])
    >>> np.round(model.coef_, 4).tolist(), round(model.intercept_, 4)
    ([0.85, 0.0], 0.15)
    """

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, max_iter: int = 1000,
                 tol: float = 1e-4, warm_start: bool = False, selection: str = "cyclic",
                 working_set: bool = True, anderson: bool = True, random_state: Any = None,
                 verbose: int = 0, positive: bool = False):
        super().__init__(alpha=alpha, l1_ratio=1.0, fit_intercept=fit_intercept,
                         max_iter=max_iter, tol=tol, warm_start=warm_start, selection=selection,
                         working_set=working_set, anderson=anderson, random_state=random_state,
                         verbose=verbose, positive=positive)

    def _penalty(self):
        return L1(check_scalar(self.alpha, "alpha", low=0.0))


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with L1, L2 or elastic-net penalty.

    Two classes: minimizes scikit-learn's objective
    ``C Σ s_i log(1 + exp(-y_i (x_iᵀ w + b))) + r(w)``
    (``s`` the sample weights times the class weights, 1 by default)
    with ``r`` = ``‖w‖₁`` (L1), ``‖w‖²/2`` (L2),
    ``l1_ratio ‖w‖₁ + (1 - l1_ratio) ‖w‖²/2`` (elastic net) or 0 (none); the
    intercept is not penalized. More classes: the multinomial (softmax) loss with one
    coefficient row per class (scikit-learn's multinomial parametrization).
    Internally the objective is divided by ``C Σ s_i``.

    The penalty follows scikit-learn ≥ 1.8: with ``penalty`` left at ``"auto"``,
    ``l1_ratio`` decides it (``0`` or None → L2, ``1`` → L1, in between → elastic net)
    and ``C=np.inf`` means no penalty. An explicit ``penalty`` is still accepted (as in
    scikit-learn 1.8–1.9, without the deprecation warning); combinations that
    contradict ``l1_ratio`` warn as scikit-learn's do.

    Parameters
    ----------
    penalty : {"auto", "l1", "l2", "elasticnet", None}, default "auto"
        ``"auto"``: decided by ``l1_ratio`` and ``C`` (see above).
    C : float, default 1.0
        Inverse regularization strength (> 0; ``np.inf``: no penalty).
    l1_ratio : float, optional
        Elastic-net mixing parameter in [0, 1] (None is 0 with ``penalty="auto"``);
        required for ``penalty="elasticnet"``.
    fit_intercept : bool, default True
    max_iter : int, default 1000
    tol : float, default 1e-4
        ``solver="cd"``: duality-gap tolerance relative to ``log 2`` (the objective per
        sample at ``w = 0``). ``solver="lbfgs"``: scikit-learn's ``gtol``, the largest
        projected partial derivative of the objective divided by ``C Σ s_i``.
    warm_start : bool, default False
    selection : str, default "cyclic"
        Coordinate selection rule of ``solver="cd"``. The greedy rules (``"gs"``,
        ``"gsl"``, ``"gsq"``) pay off on sparse solutions only: for the binary logistic
        loss they refresh a full gradient per update, which without an L1 part (every
        coordinate in play) is 6–60× slower than cyclic; there the fit falls back to
        ``"cyclic"`` with a ``UserWarning``.
    update : {"auto", "newton", "gradient"}, default "auto"
        Coordinate update of ``solver="cd"``; ``"auto"`` is Newton for the cyclic,
        random and lipschitz rules and the gradient step for the greedy ones (Newton
        needs a non-greedy rule).
    working_set, anderson, random_state, verbose
        As in :func:`~numlearn.linear_model.coordinate_descent` (``solver="cd"``).
    solver : {"auto", "lbfgs", "cd"}, default "auto"
        ``"lbfgs"``: L-BFGS-B on the smooth objective (scikit-learn's default algorithm
        and stopping rule, a fused Numba loss and gradient; an L1 part is handled by
        splitting ``w = w⁺ - w⁻`` into bound-constrained halves). ``"cd"``: coordinate
        descent with working sets (:func:`~numlearn.linear_model.coordinate_descent`;
        no sample weights). ``"auto"`` picks ``"lbfgs"`` for the L2 penalty, no
        penalty, and for weighted fits (``sample_weight`` or ``class_weight``), and
        ``"cd"`` for unweighted L1 / elastic-net fits (sparse solutions, where working
        sets win); array-API / CuPy inputs always use the parallel coordinate descent.
    class_weight : dict, "balanced" or None, default None
        Weights of the classes, multiplied into the sample weights as in scikit-learn.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    coef_ : ndarray, shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray, shape (1,) or (n_classes,)
    n_iter_ : ndarray, shape (1,)
    dual_gap_ : float
        Duality gap at exit (NaN without penalty).
    solver_ : str
        The solver used (``"lbfgs"`` or ``"cd"``).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> clf = LogisticRegression(C=1.0).fit(X, [0, 0, 1, 1])
    >>> clf.predict([[-3.0], [3.0]]).tolist()
    [0, 1]
    """

    def __init__(self, penalty: str | None = "auto", *, C: float = 1.0,
                 l1_ratio: float | None = None, fit_intercept: bool = True,
                 max_iter: int = 1000, tol: float = 1e-4, warm_start: bool = False,
                 selection: str = "cyclic", update: str = "auto", working_set: bool = True,
                 anderson: bool = True, random_state: Any = None, verbose: int = 0,
                 solver: str = "auto", class_weight: Any = None):
        self.penalty = penalty
        self.update = update
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.selection = selection
        self.working_set = working_set
        self.anderson = anderson
        self.random_state = random_state
        self.verbose = verbose
        self.solver = solver
        self.class_weight = class_weight

    def _resolve_penalty(self):
        """``(penalty, l1_ratio, C)`` by scikit-learn ≥ 1.8's rules (same warnings)."""
        check_option(self.penalty, "penalty", ("auto", "l1", "l2", "elasticnet", None))
        C = self.C
        if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)):
            raise TypeError(f"C must be a real number, got {type(C).__name__} ({C!r}).")
        C = float(C)
        if not C > 0:
            raise ValueError(f"C must be > 0 (np.inf for no penalty), got {C}.")
        l1_ratio = self.l1_ratio
        if l1_ratio is not None:
            l1_ratio = check_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)
        if self.penalty == "auto":
            if l1_ratio is None or l1_ratio == 0:
                penalty = "l2"
            elif l1_ratio == 1:
                penalty = "l1"
            else:
                penalty = "elasticnet"
            if C == np.inf:
                penalty = None
        else:
            penalty = self.penalty
        if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
            warnings.warn("l1_ratio parameter is only used when penalty is 'elasticnet'. "
                          f"Got (penalty={penalty})", UserWarning, stacklevel=3)
        if (self.penalty == "l2" and l1_ratio not in (None, 0.0)) or (
                self.penalty == "l1" and l1_ratio not in (None, 1.0)):
            warnings.warn(f"Inconsistent values: penalty={self.penalty} with "
                          f"l1_ratio={self.l1_ratio}; the penalty is {self.penalty}. Leave "
                          "penalty='auto' and use l1_ratio only.", UserWarning, stacklevel=3)
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError("l1_ratio must be given when penalty='elasticnet'.")
        if self.penalty is None and C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                          UserWarning, stacklevel=3)
        if C == np.inf:
            penalty = None
        return penalty, l1_ratio, C

    def _make_penalty(self, n):
        penalty, l1_ratio, C = self._resolve_penalty()
        alpha = 1.0 / (C * n)
        if penalty == "l1":
            return L1(alpha)
        if penalty == "l2":
            return L2(alpha)
        if penalty == "elasticnet":
            return _EnetPenalty(alpha, l1_ratio)
        return NoPenalty()

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        ``sample_weight`` (non-negative, not all zero) multiplies each sample's loss, as
        in scikit-learn (integer weights equal repeated rows); with ``class_weight`` the
        two are multiplied. Weighted fits use ``solver="lbfgs"``.

        CuPy (dense or ``cupyx.scipy.sparse``) and other array-API inputs (binary or
        multinomial) are fitted by the parallel coordinate descent of
        :mod:`numlearn.linear_model._cd_parallel` (``update`` must be ``"auto"`` or
        ``"gradient"``; no sample or class weights); ``classes_``, ``coef_`` and
        ``intercept_`` are arrays of the input's namespace.
        """
        solver = check_option(self.solver, "solver", ("auto", "lbfgs", "cd"))
        xp = non_numpy_namespace(X, y)
        if xp is not None:
            if sample_weight is not None or self.class_weight is not None:
                raise ValueError("sample_weight and class_weight are not supported for "
                                 "array-API / CuPy inputs (parallel coordinate descent).")
            if solver == "lbfgs":
                raise ValueError("solver='lbfgs' needs NumPy / SciPy inputs; array-API and "
                                 "CuPy inputs use solver='cd' (parallel).")
            self.solver_ = "cd"
            return self._fit_array_api(X, y, xp)
        # no order / format: L-BFGS's products take either (CSR best); the CD engine
        # converts to Fortran / CSC itself
        X = _checked_sparse(X, None)
        X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"),
                             dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}."
            )
        sw = check_sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y,
                                      sample_weight=sw)
            cw = cw[np.searchsorted(self.classes_, y)]
            sw = cw if sw is None else sw * cw
            if not np.any(sw > 0):
                raise ValueError("class_weight times sample_weight is zero for every sample.")
        penalty_name, l1_ratio, C = self._resolve_penalty()
        weighted = sw is not None
        if solver == "auto":
            solver = "lbfgs" if weighted or penalty_name in ("l2", None) else "cd"
        elif solver == "cd" and weighted:
            raise ValueError("sample_weight / class_weight need solver='lbfgs' or 'auto' "
                             "(the coordinate-descent kernels are unweighted).")
        self.solver_ = solver
        n_classes = self.classes_.shape[0]
        if solver == "lbfgs":
            return self._fit_lbfgs(X, y, sw, penalty_name, l1_ratio, C, n_classes)
        penalty = self._make_penalty(X.shape[0])
        kwargs = dict(_solver_kwargs(self), fit_intercept=self.fit_intercept)
        warm = None
        if n_classes > 2:  # multinomial (softmax) loss, one coefficient row per class
            if self.warm_start and getattr(self, "coef_", np.empty(0)).shape == (
                    n_classes, X.shape[1]):
                warm = self.coef_.T
            labels = np.searchsorted(self.classes_, y).astype(X.dtype)
            res = _fit_cd(X, labels, Multinomial(), penalty, warm, kwargs)
            self.coef_ = np.ascontiguousarray(res.coef.T)
            self.intercept_ = (np.asarray(res.intercept) if self.fit_intercept
                               else np.zeros(n_classes))
        else:
            if self.warm_start and getattr(self, "coef_", np.empty(0)).shape == (
                    1, X.shape[1]):
                warm = self.coef_[0]
            y_pm = np.where(y == self.classes_[1], 1.0, -1.0).astype(X.dtype)
            update = self._update()
            if kwargs["selection"] in ("gs", "gsl", "gsq") and penalty.l1 == 0:
                warnings.warn(
                    f"selection={kwargs['selection']!r} on the logistic loss without an L1 "
                    "part updates a full gradient per coordinate step (every coordinate is "
                    "in play); using selection='cyclic' instead (or use solver='lbfgs').",
                    UserWarning, stacklevel=2)
                kwargs["selection"] = "cyclic"
                if self.update == "auto":
                    update = "newton"
            res = _fit_cd(X, y_pm, Logistic(), penalty, warm, dict(kwargs, update=update))
            self.coef_ = res.coef[None, :]
            self.intercept_ = np.array([res.intercept if self.fit_intercept else 0.0])
        self.n_iter_ = np.array([res.n_iter])
        self.dual_gap_ = res.dual_gap
        return self

    def _fit_lbfgs(self, X, y, sw, penalty_name, l1_ratio, C, n_classes):
        max_iter = check_scalar(self.max_iter, "max_iter", kind=int, low=1)
        tol = check_scalar(self.tol, "tol", low=0.0)
        n, p = X.shape
        s_sum = float(n if sw is None else sw.sum())
        strength = 0.0 if penalty_name is None else 1.0 / (C * s_sum)
        ratio = {"l1": 1.0, "l2": 0.0, None: 0.0}.get(penalty_name, l1_ratio)
        l1, l2 = strength * ratio, strength * (1.0 - ratio)
        if X.dtype != np.float64:
            X = X.astype(np.float64)
        warm = None
        coef = getattr(self, "coef_", None) if self.warm_start else None
        if n_classes > 2:
            if coef is not None and coef.shape == (n_classes, p):
                warm = (coef.T, self.intercept_)
            labels = np.searchsorted(self.classes_, y)
            res = _fit_lbfgs(X, labels, "multinomial", n_classes, sw, l1, l2,
                             self.fit_intercept, tol, max_iter, warm, self.verbose)
            self.coef_ = np.ascontiguousarray(res.coef.T)
            self.intercept_ = np.asarray(res.intercept, dtype=np.float64)
        else:
            if coef is not None and coef.shape == (1, p):
                warm = (coef[0], self.intercept_[0])
            y_pm = np.where(y == self.classes_[1], 1.0, -1.0)
            res = _fit_lbfgs(X, y_pm, "logistic", 2, sw, l1, l2, self.fit_intercept, tol,
                             max_iter, warm, self.verbose)
            self.coef_ = res.coef[None, :]
            self.intercept_ = np.array([res.intercept])
        self.n_iter_ = np.array([res.n_iter])
        self.dual_gap_ = res.dual_gap
        return self

    def _fit_array_api(self, X, y, xp):
        X, y_any = _check_data_xp(X, y, xp, y_float=False)
        classes = xp.sort(xp.unique_values(y_any))
        if classes.shape[0] < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {float(classes[0])!r}."
            )
        self.classes_ = classes
        n, p = (int(s) for s in X.shape)
        penalty = self._make_penalty(n)
        n_classes = int(classes.shape[0])
        kwargs = dict(_solver_kwargs(self), fit_intercept=self.fit_intercept)
        device = _device(X)
        coef = getattr(self, "coef_", None)
        warm = None
        if n_classes > 2:  # multinomial (softmax), one coefficient row per class
            if self.warm_start and coef is not None and tuple(coef.shape) == (n_classes, p):
                warm = xp.permute_dims(to_device(coef, X), (1, 0))
            labels = xp.astype(xp.searchsorted(classes, y_any), xp.float64)
            res = _fit_cd(X, labels, Multinomial(), penalty, warm, kwargs)
            self.coef_ = xp.permute_dims(res.coef, (1, 0))
            self.intercept_ = (xp.asarray(res.intercept, dtype=res.coef.dtype, device=device)
                               if self.fit_intercept
                               else xp.zeros((n_classes,), dtype=res.coef.dtype,
                                             device=device))
        else:
            if self.warm_start and coef is not None and tuple(coef.shape) == (1, p):
                warm = coef[0, :]
            one = xp.ones(y_any.shape, dtype=xp.float64, device=device)
            y_pm = xp.where(y_any == classes[1], one, -one)
            update = check_option(self.update, "update", ("auto", "newton", "gradient"))
            res = _fit_cd(X, y_pm, Logistic(), penalty, warm,
                          dict(kwargs, update="gradient" if update == "auto" else update))
            self.coef_ = xp.reshape(res.coef, (1, p))
            self.intercept_ = xp.asarray([res.intercept if self.fit_intercept else 0.0],
                                         dtype=res.coef.dtype, device=device)
        self.n_features_in_ = p
        self.n_iter_ = np.array([res.n_iter])
        self.dual_gap_ = res.dual_gap
        return self

    def _update(self):
        update = check_option(self.update, "update", ("auto", "newton", "gradient"))
        if update == "auto":
            return "gradient" if self.selection in ("gs", "gsl", "gsq") else "newton"
        return update

    def decision_function(self, X):
        """``X w + b``: shape (n_samples,) for two classes (positive means
        ``classes_[1]``), (n_samples, n_classes) otherwise (in ``X``'s namespace for
        array-API inputs)."""
        check_is_fitted(self)
        xp = non_numpy_namespace(X)
        if xp is not None:
            X = _check_predict_xp(self, X, xp)
            coef = to_device(self.coef_, X)
            scores = X @ xp.permute_dims(coef, (1, 0)) + to_device(self.intercept_, X)
            return scores[:, 0] if scores.shape[1] == 1 else scores
        X = validate_data(self, _checked_sparse(X, None), accept_sparse=True, reset=False)
        if not isinstance(self.coef_, np.ndarray):  # fitted on array-API inputs
            scores = np.asarray(X @ to_numpy(self.coef_).T) + to_numpy(self.intercept_)
            return scores[:, 0] if scores.shape[1] == 1 else scores
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels."""
        d = self.decision_function(X)
        xp = non_numpy_namespace(d)
        if xp is not None:
            classes = to_device(self.classes_, d)
            idx = (xp.astype(d > 0, xp.int64) if d.ndim == 1 else xp.argmax(d, axis=1))
            return xp.take(classes, idx)
        classes = self.classes_ if isinstance(self.classes_, np.ndarray) else to_numpy(
            self.classes_)
        if d.ndim == 1:
            return classes[(d > 0).astype(int)]
        return classes[np.argmax(d, axis=1)]

    def predict_log_proba(self, X):
        """Log class probabilities, shape (n_samples, n_classes)."""
        d = self.decision_function(X)
        xp = non_numpy_namespace(d)
        if xp is not None:
            if d.ndim == 1:
                zero = xp.zeros_like(d)
                return xp.stack([-xp.logaddexp(zero, d), -xp.logaddexp(zero, -d)], axis=1)
            dmax = xp.max(d, axis=1, keepdims=True)
            return d - dmax - xp.log(xp.sum(xp.exp(d - dmax), axis=1, keepdims=True))
        if d.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, d), -np.logaddexp(0.0, -d)])
        dmax = d.max(axis=1, keepdims=True)
        return d - dmax - np.log(np.exp(d - dmax).sum(axis=1, keepdims=True))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        logp = self.predict_log_proba(X)
        xp = non_numpy_namespace(logp)
        return np.exp(logp) if xp is None else xp.exp(logp)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def enet_path(X, y, *, l1_ratio: float = 0.5, eps: float = 1e-3, n_alphas: int = 100,
              alphas=None, **params):
    """Elastic-net coefficients along a decreasing grid of ``alpha``, warm-started.

    Same objective, grid and return values as :func:`sklearn.linear_model.enet_path`
    (no intercept: centre ``X`` and ``y`` first if one is wanted).

    Parameters
    ----------
    X : array or sparse matrix, shape (n_samples, n_features)
    y : array, shape (n_samples,)
    l1_ratio : float, default 0.5
    eps : float, default 1e-3
        ``alpha_min / alpha_max`` of the grid.
    n_alphas : int, default 100
    alphas : array, optional
        The grid (sorted decreasingly); if None, ``n_alphas`` log-spaced values from
        ``alpha_max = ‖Xᵀy‖_∞ / (n l1_ratio)``.
    **params
        ``sample_weight`` (scikit-learn's rescaling, done once: the grid's ``alpha_max``
        and the gaps are the weighted problem's, as scikit-learn computes them) and
        ``positive`` (coefficients ≥ 0, solved by L-BFGS-B along the grid, stopped on
        the same duality gap). The rest is passed to
        :func:`~numlearn.linear_model.coordinate_descent` (``tol``,
        ``max_iter``, ``selection``, ...); ``precompute`` defaults to ``"auto"``: the Gram
        matrix is computed once for the whole path when ``X`` is dense and
        ``n_samples > n_features``; ``selection`` defaults to ``"gsl"`` on the Gram matrix
        (an update costs O(p) there) and to ``"cyclic"`` otherwise.

    Returns
    -------
    alphas : ndarray, shape (n_alphas,)
    coefs : ndarray, shape (n_features, n_alphas)
    dual_gaps : ndarray, shape (n_alphas,)

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import enet_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 5)); y = X @ np.arange(5.0)
    >>> alphas, coefs, gaps = enet_path(X, y, n_alphas=5)
    >>> coefs.shape, bool(np.all(coefs[:, 0] == 0))
    ((5, 5), True)
    """
    l1_ratio = check_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    xp = non_numpy_namespace(X, y)
    if xp is not None:  # CuPy / array-API inputs: parallel coordinate descent per alpha
        return _enet_path_array_api(X, y, xp, l1_ratio, eps, n_alphas, alphas, params)
    X, y, _, _ = _check_data(X, y)  # once, not once per alpha
    sw = check_sample_weight(params.pop("sample_weight", None), X.shape[0])
    positive = bool(params.pop("positive", False))
    if sw is not None:  # scikit-learn's rescaling, once for the whole path
        X, y, _, _ = weighted_rescale(X, y, sw, bool(params.get("fit_intercept", False)))
        params["fit_intercept"] = False
    if sp.issparse(X):
        Xtyv = np.asarray(X.T @ np.asarray(y, dtype=np.float64)).ravel()
    else:
        Xtyv = np.asarray(X, dtype=np.float64).T @ np.asarray(y, dtype=np.float64)
    n, p = X.shape
    if alphas is None:
        eps = check_scalar(eps, "eps", low=0.0, include_low=False)
        n_alphas = check_scalar(n_alphas, "n_alphas", kind=int, low=1)
        if l1_ratio == 0:
            raise ValueError("l1_ratio=0 needs an explicit alphas grid (alpha_max is infinite).")
        # as scikit-learn: with positive=True only positive correlations can enter
        alpha_max = float(np.max(Xtyv) if positive else np.max(np.abs(Xtyv))) / (
            n * l1_ratio)
        if alpha_max <= np.finfo(float).resolution:
            alphas = np.full(n_alphas, np.finfo(float).resolution)
        else:
            alphas = np.geomspace(alpha_max, alpha_max * eps, n_alphas)
    else:
        alphas = np.sort(np.asarray(alphas, dtype=np.float64))[::-1]
    params.setdefault("fit_intercept", False)
    precompute = params.pop("precompute", "auto")
    if positive:  # box constraints: L-BFGS-B along the grid, warm-started
        return _positive_path(X, y, l1_ratio, alphas, params)
    if precompute == "auto":  # as scikit-learn: the Gram matrix when dense and n > p
        precompute = n > p and not sp.issparse(X)
    # greedy updates cost O(p) on the Gram matrix, cheap next to an O(nnz) pass otherwise
    params.setdefault("selection", "gsl" if precompute else "cyclic")
    # one generator for the whole path (seeding one from OS entropy per alpha costs ~0.1 ms)
    params["random_state"] = check_random_state(params.get("random_state"))

    coefs = np.empty((p, alphas.shape[0]))
    gaps = np.empty(alphas.shape[0])
    w = None
    # the problem's data (Lipschitz constants, means, centred y) is built once
    prepared = None
    for k, alpha in enumerate(alphas):
        pen = L1(alpha) if l1_ratio == 1.0 else _EnetPenalty(alpha, l1_ratio)
        if prepared is None:
            prepared = _Problem(X, y, Quadratic(), pen, bool(params["fit_intercept"]),
                                bool(precompute))
        res = coordinate_descent(X, y, Quadratic(), pen, warm_start=w, _prepared=prepared,
                                 **params)
        w = res.coef
        coefs[:, k] = w
        gaps[k] = res.dual_gap
    return alphas, coefs, gaps


def _positive_path(X, y, l1_ratio, alphas, params):
    fit_intercept = bool(params.get("fit_intercept", False))
    tol = check_scalar(params.get("tol", 1e-4), "tol", low=0.0)
    max_iter = check_scalar(params.get("max_iter", 1000), "max_iter", kind=int, low=1)
    coefs = np.empty((X.shape[1], alphas.shape[0]))
    gaps = np.empty(alphas.shape[0])
    w = None
    for k, alpha in enumerate(alphas):
        res = _fit_quadratic_lbfgs(X, y, None, alpha * l1_ratio, alpha * (1.0 - l1_ratio),
                                   True, fit_intercept, tol, max_iter, w,
                                   params.get("verbose", 0))
        w = res.coef
        coefs[:, k] = w
        gaps[k] = res.dual_gap
    return alphas, coefs, gaps


def lasso_path(X, y, *, eps: float = 1e-3, n_alphas: int = 100, alphas=None, **params):
    """Lasso coefficients along a decreasing grid of ``alpha`` (:func:`enet_path` with
    ``l1_ratio=1``).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import lasso_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 5)); y = X @ np.arange(5.0)
    >>> alphas, coefs, gaps = lasso_path(X, y, n_alphas=3)
    >>> (coefs[:, -1] != 0).sum()
    np.int64(4)
    """
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, **params)


def _enet_path_array_api(X, y, xp, l1_ratio, eps, n_alphas, alphas, params):
    """:func:`enet_path` for CuPy / array-API inputs: the parallel coordinate descent,
    warm-started along the grid; ``alphas``, ``coefs`` (float64) and ``dual_gaps`` are
    returned in the inputs' namespace and device."""
    if params.get("sample_weight") is not None or params.get("positive"):
        raise ValueError("sample_weight and positive=True are not supported for array-API "
                         "/ CuPy inputs (parallel coordinate descent).")
    params = {k: v for k, v in params.items() if k not in ("sample_weight", "positive")}
    X, y = _check_data_xp(X, y, xp)
    n = int(X.shape[0])
    device = _device(X)
    if alphas is None:
        eps = check_scalar(eps, "eps", low=0.0, include_low=False)
        n_alphas = check_scalar(n_alphas, "n_alphas", kind=int, low=1)
        if l1_ratio == 0:
            raise ValueError("l1_ratio=0 needs an explicit alphas grid (alpha_max is infinite).")
        Xty = _Design(X, xp, center=False).rmatvec(y)
        alpha_max = float(xp.max(xp.abs(Xty))) / (n * l1_ratio)
        if alpha_max <= np.finfo(float).resolution:
            alphas = np.full(n_alphas, np.finfo(float).resolution)
        else:
            alphas = np.geomspace(alpha_max, alpha_max * eps, n_alphas)
    else:
        alphas = np.sort(np.asarray(to_numpy(alphas), dtype=np.float64))[::-1]
    params = dict(params)
    params.setdefault("fit_intercept", False)
    if params.pop("precompute", "auto") is True:
        raise ValueError("precompute=True (Gram-matrix mode) is not available for "
                         "array-API/GPU inputs.")
    coefs, gaps = [], []
    w = None
    for alpha in alphas:
        pen = L1(alpha) if l1_ratio == 1.0 else _EnetPenalty(alpha, l1_ratio)
        res = solve_parallel(X, y, Quadratic(), pen, xp=xp, warm_start=w, **params)
        w = res.coef
        coefs.append(xp.astype(w, xp.float64))
        gaps.append(res.dual_gap)
    return (xp.asarray(np.ascontiguousarray(alphas), device=device), xp.stack(coefs, axis=1),
            xp.asarray(np.asarray(gaps), device=device))


def _device(X):
    return device_of(X)  # device_of reads a cupyx sparse matrix's data


def _check_predict_xp(est, X, xp):
    if is_cupy_sparse(X):
        if len(X.shape) != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}.")
    else:
        X = check_array(X, "X", ndim=2, xp=xp)
    if int(X.shape[1]) != est.n_features_in_:
        raise ValueError(f"X has {int(X.shape[1])} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input.")
    return X
