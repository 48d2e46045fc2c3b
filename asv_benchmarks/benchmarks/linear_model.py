"""numlearn.linear_model against scikit-learn and skglm (Lasso, ElasticNet, lasso path).

Same problem, same accuracy: numlearn and scikit-learn stop on the same duality gap
(``gap ≤ tol ‖y - ȳ‖² / n``, scikit-learn's rule); skglm stops on a KKT violation, so
``track_*_gap`` reports the duality gap each library reached (computed by one formula).
Problems: dense i.i.d., sparse (density 1e-3) and a strongly correlated design
(ρ = 0.95 between all features), all with a sparse ground truth; ``alpha = alpha_max / 20``.
By default the sizes are scaled down (dense 10^4 × 500, sparse 2·10^4 × 5000) to keep a
run of the suite short; ``NUMLEARN_BENCH_FULL=1`` selects the issue's sizes (dense
10^5 × 10^3, sparse 10^5 × 10^4 at density 1e-3).
"""

import os

import numpy as np
import scipy.sparse as sp
from sklearn import linear_model as sklm

from numlearn.linear_model import (
    ElasticNet,
    ElasticNetPenalty,
    Quadratic,
    coordinate_descent,
    enet_path,
)

from .common import quiet

try:
    import skglm
except ImportError:  # pragma: no cover
    skglm = None


FULL = os.environ.get("NUMLEARN_BENCH_FULL", "0") == "1"


def make_problem(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "sparse":
        n, p = (100_000, 10_000) if FULL else (20000, 5000)
        # n·1e-3 entries per column at uniform rows (scipy.sparse.random takes minutes here)
        k = max(1, round(1e-3 * n))
        rows = rng.integers(0, n, size=p * k)
        cols = np.repeat(np.arange(p), k)
        X = sp.csc_matrix((rng.uniform(size=p * k), (rows, cols)), shape=(n, p))
    else:
        n, p = (100_000, 1000) if FULL else (10000, 500)
        X = rng.standard_normal((n, p))
        if kind == "correlated":
            X = np.sqrt(0.05) * X + np.sqrt(0.95) * rng.standard_normal((n, 1))
        X = np.asfortranarray(X)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = rng.standard_normal(20)
    y = np.asarray(X @ w).ravel() + 0.1 * rng.standard_normal(n)
    yc = y - y.mean()
    if sp.issparse(X):
        Xty = np.asarray(X.T @ yc).ravel()
    else:
        Xty = (X - X.mean(0)).T @ yc
    alpha = np.abs(Xty).max() / n / 20
    return X, y, alpha


def duality_gap(X, y, alpha, l1_ratio, coef):
    """Relative duality gap (units of ``tol``) of an elastic-net solution, by one formula."""
    res = quiet(coordinate_descent, X, y, Quadratic(), ElasticNetPenalty(alpha, l1_ratio),
                fit_intercept=True, max_iter=0, warm_start=coef, tol=0.0)
    return res.dual_gap / np.var(y)


class EnetFit:
    """Single Lasso (``l1_ratio=1``) and ElasticNet fits at ``tol=1e-6`` (relative gap)."""

    params = (["dense", "sparse", "correlated"], [1.0, 0.5])
    param_names = ["problem", "l1_ratio"]
    timeout = 900
    tol = 1e-6

    def setup(self, problem, l1_ratio):
        self.X, self.y, alpha = make_problem(problem)
        self.l1_ratio = l1_ratio
        self.alpha = alpha / l1_ratio
        quiet(ElasticNet(alpha=self.alpha, max_iter=2).fit, self.X, self.y)  # compile
        if skglm is not None:
            quiet(self._skglm_model(max_iter=1).fit, self.X, self.y)

    def _skglm_model(self, max_iter=50):
        return skglm.ElasticNet(alpha=self.alpha, l1_ratio=self.l1_ratio, tol=self.tol,
                                max_iter=max_iter)

    def _numlearn(self, selection="cyclic"):
        return quiet(ElasticNet(alpha=self.alpha, l1_ratio=self.l1_ratio, tol=self.tol,
                                max_iter=10000, selection=selection).fit, self.X, self.y)

    def _sklearn(self):
        return quiet(sklm.ElasticNet(alpha=self.alpha, l1_ratio=self.l1_ratio, tol=self.tol,
                                     max_iter=10000).fit, self.X, self.y)

    def _skglm(self):
        return quiet(self._skglm_model().fit, self.X, self.y)

    def time_numlearn_cyclic(self, problem, l1_ratio):
        self._numlearn()

    def time_numlearn_gsl(self, problem, l1_ratio):
        self._numlearn("gsl")

    def time_sklearn(self, problem, l1_ratio):
        self._sklearn()

    def time_skglm(self, problem, l1_ratio):
        if skglm is None:
            raise NotImplementedError
        self._skglm()

    def _gap(self, model):
        return duality_gap(self.X, self.y, self.alpha, self.l1_ratio, model.coef_)

    def track_numlearn_gap(self, problem, l1_ratio):
        return self._gap(self._numlearn())

    def track_sklearn_gap(self, problem, l1_ratio):
        return self._gap(self._sklearn())

    def track_skglm_gap(self, problem, l1_ratio):
        if skglm is None:
            raise NotImplementedError
        return self._gap(self._skglm())

    def track_numlearn_epochs(self, problem, l1_ratio):
        return self._numlearn().n_iter_

    def track_coef_difference_vs_sklearn(self, problem, l1_ratio):
        ours, theirs = self._numlearn().coef_, self._sklearn().coef_
        return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300))


class EnetPath:
    """A 20-point Lasso / ElasticNet path (no intercept) at ``tol=1e-6``, warm-started."""

    params = (["dense", "sparse", "correlated"], [1.0, 0.5])
    param_names = ["problem", "l1_ratio"]
    timeout = 900

    def setup(self, problem, l1_ratio):
        self.X, self.y, _ = make_problem(problem)
        if not sp.issparse(self.X):
            self.X = np.asfortranarray(self.X - self.X.mean(0))
        self.y = self.y - self.y.mean()
        quiet(enet_path, self.X, self.y, l1_ratio=l1_ratio, n_alphas=2, max_iter=2)

    def time_numlearn(self, problem, l1_ratio):
        quiet(enet_path, self.X, self.y, l1_ratio=l1_ratio, n_alphas=20, eps=1e-2, tol=1e-6)

    def time_sklearn(self, problem, l1_ratio):
        quiet(sklm.enet_path, self.X, self.y, l1_ratio=l1_ratio, n_alphas=20, eps=1e-2,
              tol=1e-6)


class Screening:
    """Gap safe screening on and off: the 20-point sparse Lasso path and a single fit
    (``tol=1e-6``); ``track_screened`` is the share of features screened in the fit."""

    params = (["sparse", "dense"],)
    param_names = ["problem"]
    timeout = 900

    def setup(self, problem):
        self.X, self.y, self.alpha = make_problem(problem)
        self.yc = self.y - self.y.mean()
        quiet(enet_path, self.X, self.yc, l1_ratio=1.0, n_alphas=2, max_iter=2)

    def _path(self, screening):
        quiet(enet_path, self.X, self.yc, l1_ratio=1.0, n_alphas=20, eps=1e-2, tol=1e-6,
              selection="cyclic", precompute=False, screening=screening)

    def _fit(self, screening):
        return quiet(coordinate_descent, self.X, self.y, Quadratic(), ElasticNetPenalty(
            self.alpha, 1.0), tol=1e-6, max_iter=10000, selection="cyclic",
            fit_intercept=True, screening=screening)

    def time_path_screening(self, problem):
        self._path(True)

    def time_path_no_screening(self, problem):
        self._path(False)

    def time_fit_screening(self, problem):
        self._fit(True)

    def time_fit_no_screening(self, problem):
        self._fit(False)

    def track_screened(self, problem):
        return self._fit(True).screened.shape[0] / self.X.shape[1]


class GreedyHeap:
    """Greedy (GSL) coordinate updates on sparse ``X``: the indexed max-heap against a scan
    of the stored scores (the same choices), 2000 updates. Sizes: ``p = 10^4`` with 100
    entries per column and ``p = 10^5`` with 10 (``n = 10^5``)."""

    params = ([10_000, 100_000],)
    param_names = ["p"]
    timeout = 300

    def setup(self, p):
        from numlearn.linear_model import _cd_kernels as K

        self.K = K
        n, k = 100_000, 10**6 // p
        rng = np.random.default_rng(0)
        rows = rng.integers(0, n, size=p * k)
        X = sp.csc_matrix((rng.uniform(size=p * k), (rows, np.repeat(np.arange(p), k))),
                          shape=(n, p))
        X.sum_duplicates()
        w = np.zeros(p)
        w[rng.choice(p, 50, replace=False)] = rng.standard_normal(50)
        self.y = X @ w + 0.1 * rng.standard_normal(n)
        self.X, self.R = X, X.tocsr()
        self.lip = np.asarray(X.multiply(X).sum(0)).ravel() / n
        self.l1 = float(np.abs(X.T @ self.y).max()) / n / 20
        self.cols = np.arange(p, dtype=np.int64)
        self.g0 = -(X.T @ self.y) / n
        self._run(True, 10)  # compile

    def _run(self, heap, n_updates=2000):
        X, R, K = self.X, self.R, self.K
        return K.greedy_csc_neighbours(
            X.indptr, X.indices, X.data, R.indptr, R.indices, R.data, self.y, self.y.copy(),
            np.zeros(X.shape[1]), self.cols, self.cols, self.g0.copy(), self.lip, self.l1, 0.0,
            K.RULE_GSL, K.QUADRATIC, n_updates, heap, np.zeros(0, dtype=np.int64))

    def time_heap(self, p):
        self._run(True)

    def time_scan(self, p):
        self._run(False)

    def track_updates(self, p):
        return self._run(True)


class MultinomialFit:
    """L1 softmax regression (K = 4 classes, 20 relevant of ``p`` features) at ``tol=1e-8``
    (relative gap): full cyclic epochs, working sets of rows (cyclic and GSQ), against
    scikit-learn's saga at the same ``tol`` (its own stopping rule)."""

    params = (["cyclic", "cyclic_ws", "gsq_ws"],)
    param_names = ["variant"]
    timeout = 600

    def setup(self, variant):
        from sklearn.linear_model import LogisticRegression

        from numlearn.linear_model import L1, Multinomial

        rng = np.random.default_rng(0)
        n, p, k = (5000, 1000, 4) if FULL else (2000, 400, 4)
        self.X = rng.standard_normal((n, p))
        W = np.zeros((p, k))
        W[:20] = rng.standard_normal((20, k))
        self.y = np.argmax(self.X @ W + rng.gumbel(size=(n, k)), axis=1).astype(float)
        self.lam = 0.02
        self.datafit, self.penalty = Multinomial(), L1(self.lam)
        self.sk = LogisticRegression(C=1 / (self.lam * n), l1_ratio=1.0, solver="saga",
                                     tol=1e-8, max_iter=10000)
        selection, ws = {"cyclic": ("cyclic", False), "cyclic_ws": ("cyclic", True),
                         "gsq_ws": ("gsq", True)}[variant]
        self.kw = dict(selection=selection, working_set=ws, tol=1e-8, max_iter=10000,
                       fit_intercept=True)
        quiet(coordinate_descent, self.X[:50], self.y[:50], self.datafit, self.penalty,
              max_iter=2, **{k: v for k, v in self.kw.items() if k != "max_iter"})

    def _fit(self):
        return quiet(coordinate_descent, self.X, self.y, self.datafit, self.penalty, **self.kw)

    def time_numlearn(self, variant):
        self._fit()

    def time_sklearn_saga(self, variant):
        quiet(self.sk.fit, self.X, self.y)

    def track_row_updates(self, variant):
        return self._fit().n_updates


def make_classification_problem(kind, seed=0):
    """The issue's logistic-regression problems (small ones unless FULL, for dense/sparse
    10^5 rows): standardized breast_cancer, make_classification(2000, 200), dense
    10^5 × 100, sparse 10^5 × 10^4 at density 1e-3."""
    from sklearn.datasets import load_breast_cancer, make_classification
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    if kind == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    if kind == "make_classification":
        return make_classification(2000, 200, random_state=seed)
    if kind == "dense":
        n = 100_000 if FULL else 10_000
        X = rng.standard_normal((n, 100))
        y = (X @ rng.standard_normal(100) + rng.standard_normal(n) > 0).astype(int)
        return X, y
    n, p = (100_000, 10_000) if FULL else (10_000, 2_000)
    k = max(1, round(1e-3 * n))
    rows = rng.integers(0, n, size=p * k)
    cols = np.repeat(np.arange(p), k)
    X = sp.csr_matrix((rng.standard_normal(p * k), (rows, cols)), shape=(n, p))
    y = (np.asarray(X @ rng.standard_normal(p)).ravel()
         + 0.1 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def _logistic_objective(est, X, y):
    """scikit-learn's objective ``C Σ log-loss + r(w)`` of a fitted binary model."""
    z = np.asarray(X @ est.coef_[0]).ravel() + est.intercept_[0]
    ypm = np.where(y == est.classes_[1], 1.0, -1.0)
    w = est.coef_[0]
    l1 = getattr(est, "l1_ratio", 0.0) or 0.0
    return est.C * np.logaddexp(0.0, -ypm * z).sum() + l1 * np.abs(w).sum() + (
        1 - l1) * 0.5 * (w @ w)


class LogisticL2Fit:
    """Default ``LogisticRegression().fit`` (L2, C=1, tol=1e-4): numlearn (L-BFGS with a
    fused loss/gradient, scikit-learn's stopping rule) beside scikit-learn's default
    (lbfgs); ``track_objective_difference`` is ours minus theirs (same objective)."""

    params = (["breast_cancer", "make_classification", "dense", "sparse"],)
    param_names = ["problem"]
    timeout = 600

    def setup(self, problem):
        from numlearn.linear_model import LogisticRegression

        self.X, self.y = make_classification_problem(problem)
        self.ours = LogisticRegression()
        self.theirs = sklm.LogisticRegression()
        quiet(LogisticRegression().fit, self.X[:50], self.y[:50])  # compile the kernels

    def time_numlearn(self, problem):
        quiet(self.ours.fit, self.X, self.y)

    def time_sklearn_lbfgs(self, problem):
        quiet(self.theirs.fit, self.X, self.y)

    def track_objective_difference(self, problem):
        ours = _logistic_objective(quiet(self.ours.fit, self.X, self.y), self.X, self.y)
        return ours - _logistic_objective(quiet(self.theirs.fit, self.X, self.y), self.X,
                                          self.y)


class LogisticL1Fit:
    """L1 logistic regression (``l1_ratio=1``, ``C=0.1``) on make_classification(2000,
    200): numlearn's default (coordinate descent with working sets) and its weighted-fit
    solver (L-BFGS-B on split variables) beside scikit-learn's liblinear and saga;
    objectives tracked relative to a tight coordinate-descent solve."""

    params = (["cd", "lbfgs"],)
    param_names = ["solver"]
    timeout = 600

    def setup(self, solver):
        from sklearn.datasets import make_classification

        from numlearn.linear_model import LogisticRegression

        self.X, self.y = make_classification(2000, 200, random_state=0)
        self.ours = LogisticRegression(l1_ratio=1.0, C=0.1, solver=solver)
        quiet(LogisticRegression(l1_ratio=1.0, C=0.1, solver=solver).fit, self.X[:50],
              self.y[:50])
        self.best = _logistic_objective(quiet(LogisticRegression(
            l1_ratio=1.0, C=0.1, tol=1e-12, max_iter=100000).fit, self.X, self.y),
            self.X, self.y)

    def time_numlearn(self, solver):
        quiet(self.ours.fit, self.X, self.y)

    def time_sklearn_liblinear(self, solver):
        quiet(sklm.LogisticRegression(l1_ratio=1.0, C=0.1, solver="liblinear").fit, self.X,
              self.y)

    def time_sklearn_saga(self, solver):
        quiet(sklm.LogisticRegression(l1_ratio=1.0, C=0.1, solver="saga").fit, self.X,
              self.y)

    def track_numlearn_objective_excess(self, solver):
        return _logistic_objective(quiet(self.ours.fit, self.X, self.y), self.X,
                                   self.y) - self.best


class WeightedLassoFit:
    """Lasso with fractional sample weights (``alpha_max / 20``, tol 1e-8): numlearn
    (scikit-learn's rescaling into the coordinate-descent engine) beside scikit-learn."""

    params = (["dense", "sparse"],)
    param_names = ["problem"]
    timeout = 600

    def setup(self, problem):
        from numlearn.linear_model import Lasso

        self.X, self.y, self.alpha = make_problem(problem)
        self.sw = np.random.default_rng(1).uniform(0.1, 2.0, size=self.y.shape[0])
        fit_intercept = problem == "dense"  # sparse X with an intercept: L-BFGS-B
        self.ours = Lasso(alpha=self.alpha, tol=1e-8, fit_intercept=fit_intercept)
        self.theirs = sklm.Lasso(alpha=self.alpha, tol=1e-8, fit_intercept=fit_intercept)
        quiet(Lasso(alpha=self.alpha).fit, self.X[:50], self.y[:50])

    def time_numlearn(self, problem):
        quiet(self.ours.fit, self.X, self.y, sample_weight=self.sw)

    def time_sklearn(self, problem):
        quiet(self.theirs.fit, self.X, self.y, sample_weight=self.sw)

    def track_coef_difference_vs_sklearn(self, problem):
        a = quiet(self.ours.fit, self.X, self.y, sample_weight=self.sw).coef_
        b = quiet(self.theirs.fit, self.X, self.y, sample_weight=self.sw).coef_
        return float(np.max(np.abs(a - b)))


def make_multitask_problem(seed=0):
    """Dense design with a row-sparse coefficient matrix shared by 5 tasks."""
    rng = np.random.default_rng(seed)
    (n, p), t = ((20_000, 1000) if FULL else (2000, 200)), 5
    X = rng.standard_normal((n, p))
    W = np.zeros((t, p))
    W[:, rng.choice(p, 20, replace=False)] = rng.standard_normal((t, 20))
    Y = X @ W.T + 0.1 * rng.standard_normal((n, t))
    Yc = Y - Y.mean(0)
    alpha = np.linalg.norm((X - X.mean(0)).T @ Yc, axis=1).max() / n / 20
    return X, Y, alpha


class MultiTaskLassoFit:
    """``MultiTaskLasso(alpha_max / 20, tol=1e-8).fit``: numlearn (block CD, one Numba
    epoch kernel) beside scikit-learn (same objective and duality-gap stop)."""

    timeout = 600

    def setup(self):
        from numlearn.linear_model import MultiTaskLasso

        self.X, self.Y, alpha = make_multitask_problem()
        self.ours = MultiTaskLasso(alpha=alpha, tol=1e-8)
        self.theirs = sklm.MultiTaskLasso(alpha=alpha, tol=1e-8)
        quiet(MultiTaskLasso(alpha=alpha).fit, self.X[:50], self.Y[:50])  # compile

    def time_numlearn(self):
        quiet(self.ours.fit, self.X, self.Y)

    def time_sklearn(self):
        quiet(self.theirs.fit, self.X, self.Y)

    def track_coef_difference_vs_sklearn(self):
        a = quiet(self.ours.fit, self.X, self.Y).coef_
        return float(np.max(np.abs(a - quiet(self.theirs.fit, self.X, self.Y).coef_)))


class LinearModelCVFit:
    """``LassoCV`` / ``ElasticNetCV(l1_ratio=[0.5, 0.9])`` with their defaults (100
    alphas, 5 folds, tol 1e-4): numlearn's warm-started paths beside scikit-learn's;
    ``track_same_alpha`` is 1 when both choose the same ``alpha_``."""

    params = (["lasso_dense", "enet_dense", "lasso_sparse"],)
    param_names = ["problem"]
    timeout = 900

    def setup(self, problem):
        from numlearn.linear_model import ElasticNetCV, LassoCV

        rng = np.random.default_rng(0)
        if problem == "lasso_sparse":
            n, p = (20_000, 5000) if FULL else (2000, 500)
            X = sp.random(n, p, density=0.01, format="csc", random_state=0)
        else:
            n, p = (10_000, 500) if FULL else (500, 100)
            X = rng.standard_normal((n, p))
        w = np.zeros(p)
        w[:10] = rng.standard_normal(10)
        self.X = X
        self.y = np.asarray(X @ w).ravel() + 0.5 * rng.standard_normal(n)
        if problem.startswith("enet"):
            self.ours = ElasticNetCV(l1_ratio=[0.5, 0.9])
            self.theirs = sklm.ElasticNetCV(l1_ratio=[0.5, 0.9])
        else:
            self.ours, self.theirs = LassoCV(), sklm.LassoCV()
        quiet(LassoCV(alphas=3, cv=2).fit, self.X[:50], self.y[:50])  # compile

    def time_numlearn(self, problem):
        quiet(self.ours.fit, self.X, self.y)

    def time_sklearn(self, problem):
        quiet(self.theirs.fit, self.X, self.y)

    def track_same_alpha(self, problem):
        a = quiet(self.ours.fit, self.X, self.y).alpha_
        return float(a == quiet(self.theirs.fit, self.X, self.y).alpha_)


class LogisticRegressionCVFit:
    """``LogisticRegressionCV()`` (10 Cs, 5 stratified folds, L2, accuracy): numlearn
    beside scikit-learn's lbfgs (``use_legacy_attributes=False``); ``track_same_C`` is 1
    when both choose the same ``C_``."""

    params = (["breast_cancer", "make_classification"],)
    param_names = ["problem"]
    timeout = 900

    def setup(self, problem):
        from numlearn.linear_model import LogisticRegressionCV

        self.X, self.y = make_classification_problem(problem)
        self.ours = LogisticRegressionCV()
        self.theirs = sklm.LogisticRegressionCV(l1_ratios=(0.0,), scoring=None,
                                                use_legacy_attributes=False)
        quiet(LogisticRegressionCV(Cs=2, cv=2).fit, self.X[:50], self.y[:50])

    def time_numlearn(self, problem):
        quiet(self.ours.fit, self.X, self.y)

    def time_sklearn_lbfgs(self, problem):
        quiet(self.theirs.fit, self.X, self.y)

    def track_same_C(self, problem):
        a = quiet(self.ours.fit, self.X, self.y).C_
        return float(a == quiet(self.theirs.fit, self.X, self.y).C_)
