"""Gram mode on dense data computes the Gram columns on demand (only for coordinates that
enter a working set): same answers as scikit-learn, a fraction of the columns."""

import numpy as np
import pytest
from sklearn import linear_model as sklm

from numlearn.linear_model import L1, ElasticNetPenalty, Quadratic, coordinate_descent, enet_path
from numlearn.linear_model._coordinate_descent import _Problem


def _problem(n=600, p=1000, seed=0, fortran=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))  # correlated
    w = np.zeros(p)
    w[rng.choice(p, 8, replace=False)] = rng.standard_normal(8)
    y = X @ w + 0.1 * rng.standard_normal(n)
    return (np.asfortranarray(X) if fortran else X), y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("selection", ["gsl", "cyclic"])
def test_gram_on_demand_matches_sklearn_and_computes_few_columns(fit_intercept, selection):
    X, y = _problem()
    alpha = 0.05
    prob = _Problem(X, y, Quadratic(), L1(alpha), fit_intercept, True)
    res = coordinate_descent(X, y, Quadratic(), L1(alpha), precompute=True, tol=1e-12,
                             selection=selection, fit_intercept=fit_intercept,
                             _prepared=prob)
    ref = sklm.Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-14,
                     max_iter=100000).fit(X, y)
    np.testing.assert_allclose(res.coef, ref.coef_, rtol=0, atol=1e-8)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)
    # the lazily filled Gram matrix: only a part of the columns was computed, and those
    # are the exact columns of X_cᵀX_c / n
    assert prob._gram_done is not None and 0 < prob._gram_done.sum() < X.shape[1] // 4
    Xc = X - X.mean(0) if fit_intercept else X
    cols = np.flatnonzero(prob._gram_done)
    np.testing.assert_allclose(prob.gram[:, cols], Xc.T @ Xc[:, cols] / X.shape[0],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(prob.gram[cols, :], prob.gram[:, cols].T, rtol=0, atol=0)


def test_gram_on_demand_path_equals_sklearn_path_and_switches_to_full():
    X, y = _problem(p=120, fortran=False)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas, coefs, gaps = enet_path(Xc, yc, l1_ratio=0.7, n_alphas=15, eps=1e-3, tol=1e-12)
    _, ref, _ = sklm.enet_path(Xc, yc, l1_ratio=0.7, alphas=alphas, tol=1e-14,
                               max_iter=100000)
    np.testing.assert_allclose(coefs, ref, rtol=0, atol=1e-8)
    # down to eps = 1e-3 most features are active: the whole matrix gets computed once
    prob = _Problem(Xc, yc, Quadratic(), ElasticNetPenalty(alphas[-1], 0.7), False, True)
    coordinate_descent(Xc, yc, Quadratic(), ElasticNetPenalty(alphas[-1], 0.7),
                       precompute=True, tol=1e-12, fit_intercept=False, _prepared=prob)
    assert prob._gram_done is None
    np.testing.assert_allclose(prob.gram, Xc.T @ Xc / X.shape[0], rtol=1e-12, atol=1e-12)
