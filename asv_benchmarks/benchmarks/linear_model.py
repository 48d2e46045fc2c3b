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
