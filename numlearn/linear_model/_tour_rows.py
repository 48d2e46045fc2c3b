"""Tour rows for numlearn.linear_model (wired into ``numlearn._tour`` by the lead)."""

from __future__ import annotations

import time
import warnings

import numpy as np

from numlearn._tour_row import TourRow


def _row_lasso() -> TourRow:
    from sklearn.linear_model import Lasso as SkLasso

    from numlearn.linear_model import Lasso

    rng = np.random.default_rng(0)
    n, p = 2000, 300
    X = np.sqrt(0.3) * rng.standard_normal((n, p)) + np.sqrt(0.7) * rng.standard_normal((n, 1))
    w = np.zeros(p)
    w[:10] = rng.standard_normal(10)
    y = X @ w + 0.1 * rng.standard_normal(n)
    alpha = 0.05 * np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / n
    with warnings.catch_warnings():  # compile the kernels outside the timing
        warnings.simplefilter("ignore")
        Lasso(alpha=alpha, max_iter=2).fit(X, y)
    start = time.perf_counter()
    model = Lasso(alpha=alpha, tol=1e-10, selection="gsl").fit(X, y)
    seconds = time.perf_counter() - start
    ref = SkLasso(alpha=alpha, tol=1e-10, max_iter=100000).fit(X, y)
    err = float(np.abs(model.coef_ - ref.coef_).max() / np.abs(ref.coef_).max())
    return TourRow("linear_model", "Lasso (gsl)", "correlated least squares",
                   f"{n}x{p}", f"{model.n_iter_} epochs", seconds, err, "sklearn Lasso")


def _row_logistic() -> TourRow:
    from scipy.optimize import minimize
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from numlearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n, p = X.shape
    C = 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LogisticRegression(C=C, max_iter=2).fit(X, y)
    start = time.perf_counter()
    clf = LogisticRegression(penalty="l2", C=C, tol=1e-12).fit(X, y)
    seconds = time.perf_counter() - start
    ypm = 2.0 * y - 1
    a = 1.0 / (C * n)

    def f(v):
        z = X @ v[:-1] + v[-1]
        s = -ypm / (1 + np.exp(ypm * z)) / n
        val = np.mean(np.logaddexp(0, -ypm * z)) + a / 2 * v[:-1] @ v[:-1]
        return val, np.append(X.T @ s + a * v[:-1], s.sum())

    ref = minimize(f, np.zeros(p + 1), jac=True, method="L-BFGS-B",
                   options=dict(gtol=1e-13, ftol=1e-16, maxiter=100000)).x
    err = float(np.abs(clf.coef_[0] - ref[:-1]).max() / np.abs(ref[:-1]).max())
    return TourRow("linear_model", "LogisticRegression (l2)", "breast cancer",
                   f"{n}x{p}", f"{clf.n_iter_[0]} {clf.solver_} iter", seconds, err,
                   "scipy L-BFGS-B")


ROWS = [
    ("linear_model", "Lasso", _row_lasso),
    ("linear_model", "LogisticRegression", _row_logistic),
]
