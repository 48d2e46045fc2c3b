"""LassoCV / ElasticNetCV against scikit-learn's on the same folds."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.model_selection import GroupKFold, KFold

from numlearn.linear_model import ElasticNetCV, LassoCV


def _data(n=120, p=25, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, p, density=0.3, format="csc", random_state=seed)
    else:
        X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:6] = rng.standard_normal(6)
    y = np.asarray(X @ w).ravel() + 0.5 * rng.standard_normal(n) + 1.0
    return X, y, rng.uniform(0.2, 2.0, n)


def _compare(ours, ref, coef_atol=1e-6):
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    assert ours.mse_path_.shape == ref.mse_path_.shape
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=coef_atol)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=coef_atol)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_lasso_cv_matches_sklearn(fit_intercept, weighted):
    X, y, sw = _data()
    sw = sw if weighted else None
    params = dict(tol=1e-10, max_iter=100_000, fit_intercept=fit_intercept, alphas=30)
    ref = sk.LassoCV(**params).fit(X, y, sample_weight=sw)
    X0, y0 = X.copy(), y.copy()
    ours = LassoCV(**params).fit(X, y, sample_weight=sw)
    _compare(ours, ref)
    assert not hasattr(ours, "l1_ratio_")
    assert ours.dual_gap_ >= 0 and ours.n_iter_ >= 1
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("weighted", [False, True])
def test_enet_cv_l1_ratio_list_matches_sklearn(weighted):
    X, y, sw = _data(seed=1)
    sw = sw if weighted else None
    params = dict(l1_ratio=[0.2, 0.7, 1.0], tol=1e-10, max_iter=100_000, alphas=20, cv=4)
    ref = sk.ElasticNetCV(**params).fit(X, y, sample_weight=sw)
    ours = ElasticNetCV(**params).fit(X, y, sample_weight=sw)
    _compare(ours, ref)
    assert ours.l1_ratio_ == ref.l1_ratio_
    assert ours.mse_path_.shape == (3, 20, 4) and ours.alphas_.shape == (3, 20)


def test_explicit_grid_positive_and_splitter():
    X, y, _ = _data(seed=2)
    grid = [0.5, 0.001, 0.1, 0.01, 0.05]
    cv = KFold(3, shuffle=True, random_state=0)
    params = dict(alphas=grid, tol=1e-8, max_iter=100_000, cv=cv, positive=True)
    ref = sk.LassoCV(**params).fit(X, y)
    ours = LassoCV(**params).fit(X, y)
    np.testing.assert_array_equal(ours.alphas_, np.sort(grid)[::-1])
    _compare(ours, ref, coef_atol=1e-5)
    assert np.all(ours.coef_ >= 0)


def test_groups_reach_the_splitter():
    X, y, _ = _data(seed=3)
    groups = np.arange(X.shape[0]) % 4
    # scikit-learn needs metadata routing for groups: give it the same folds as a list
    folds = list(GroupKFold(4).split(X, y, groups))
    ref = sk.LassoCV(cv=folds, alphas=10, tol=1e-10).fit(X, y)
    ours = LassoCV(cv=GroupKFold(4), alphas=10, tol=1e-10).fit(X, y, groups=groups)
    _compare(ours, ref)


def test_sparse_X_matches_sklearn():
    X, y, _ = _data(seed=4, sparse=True)
    params = dict(tol=1e-10, max_iter=100_000, alphas=15, cv=3)
    ref = sk.ElasticNetCV(**params).fit(X, y)
    ours = ElasticNetCV(**params).fit(X, y)
    _compare(ours, ref)


def test_n_jobs_gives_the_same_answer():
    X, y, _ = _data(seed=5)
    a = LassoCV(alphas=15, cv=3, n_jobs=1).fit(X, y)
    b = LassoCV(alphas=15, cv=3, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.mse_path_, b.mse_path_)
    assert a.alpha_ == b.alpha_


def test_bad_input():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="MultiTaskLasso"):
        LassoCV().fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="alphas"):
        LassoCV(alphas=[-1.0, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match="alphas"):
        LassoCV(alphas=0).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNetCV(l1_ratio=[0.5, 1.5]).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        ElasticNetCV(l1_ratio=0.0).fit(X, y)
    with pytest.raises(ValueError, match="eps"):
        LassoCV(eps=0.0).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        LassoCV().fit(X, y, sample_weight=-np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="selection"):
        LassoCV(selection="gs").fit(X, y)


def test_sparse_X_weighted_with_intercept_matches_sklearn():
    X, y, sw = _data(n=90, p=12, seed=6, sparse=True)
    params = dict(tol=1e-10, max_iter=100_000, alphas=10, cv=3)
    ref = sk.LassoCV(**params).fit(X, y, sample_weight=sw)
    ours = LassoCV(**params).fit(X, y, sample_weight=sw)
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
