"""Lasso / ElasticNet / paths / engine: sample weights and positive coefficients,
against scikit-learn and repeated rows."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sklm

from numlearn.linear_model import (
    ElasticNet,
    L1,
    Lasso,
    Logistic,
    Quadratic,
    coordinate_descent,
    enet_path,
    lasso_path,
)


def _problem(n=80, p=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1] = X[:, 0] + 0.5 * rng.standard_normal(n)
    y = X[:, :4] @ np.array([1.5, -2.0, 1.0, 0.5]) + 0.5 * rng.standard_normal(n) + 3.0
    return X, y


@pytest.mark.parametrize("est", [Lasso(alpha=0.05), ElasticNet(alpha=0.1, l1_ratio=0.6)])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_integer_weights_equal_repeated_rows(est, sparse, fit_intercept):
    X, y = _problem()
    sw = np.random.default_rng(1).integers(0, 4, size=y.shape[0])
    Xr, yr = np.repeat(X, sw, axis=0), np.repeat(y, sw)
    if sparse:
        X, Xr = sp.csc_matrix(X), sp.csc_matrix(Xr)
    est = est.set_params(tol=1e-14, max_iter=100000, fit_intercept=fit_intercept)
    weighted = est.__class__(**est.get_params()).fit(X, y, sample_weight=sw)
    repeated = est.__class__(**est.get_params()).fit(Xr, yr)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-8)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, abs=1e-8)
    assert 0 < np.count_nonzero(weighted.coef_) < X.shape[1]


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fractional_weights_match_sklearn(l1_ratio, sparse, fit_intercept):
    X, y = _problem()
    sw = np.random.default_rng(2).uniform(0.05, 3.0, size=y.shape[0])
    Xin = sp.csc_matrix(X) if sparse else X
    kw = dict(alpha=0.08, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000,
              fit_intercept=fit_intercept)
    ref = sklm.ElasticNet(**kw).fit(Xin, y, sample_weight=sw)
    ours = ElasticNet(**kw).fit(Xin, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-6)


@pytest.mark.parametrize("sparse", [False, True])
def test_positive_matches_sklearn(sparse):
    X, y = _problem()
    y = y - 2 * X[:, 5]  # a negative coefficient the constraint must zero
    Xin = sp.csc_matrix(X) if sparse else X
    for cls, kw in ((Lasso, dict(alpha=0.05)), (ElasticNet, dict(alpha=0.1, l1_ratio=0.3))):
        ref = getattr(sklm, cls.__name__)(positive=True, tol=1e-10, max_iter=100000,
                                          **kw).fit(Xin, y)
        ours = cls(positive=True, tol=1e-10, max_iter=100000, **kw).fit(Xin, y)
        assert np.all(ours.coef_ >= 0) and ours.coef_[5] == 0.0
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
        assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
        free = cls(tol=1e-10, max_iter=100000, **kw).fit(Xin, y)
        assert free.coef_[5] < -0.5  # the constraint is active
    sw = np.random.default_rng(3).uniform(0.2, 2.0, size=y.shape[0])
    ref = sklm.Lasso(alpha=0.05, positive=True, tol=1e-10).fit(Xin, y, sample_weight=sw)
    ours = Lasso(alpha=0.05, positive=True, tol=1e-10).fit(Xin, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)


def test_path_sample_weight_and_positive_match_sklearn():
    X, y = _problem()
    X = X - X.mean(axis=0)
    y = y - y.mean()
    sw = np.random.default_rng(4).uniform(0.2, 2.0, size=y.shape[0])
    # scikit-learn's weighted alpha grid and per-alpha fits (no intercept)
    alphas, coefs, gaps = enet_path(X, y, l1_ratio=0.7, n_alphas=8, sample_weight=sw,
                                    tol=1e-12)
    alpha_max = np.max(np.abs(X.T @ (sw * y))) / (sw.sum() * 0.7)
    assert alphas[0] == pytest.approx(alpha_max, rel=1e-12)
    assert np.all(coefs[:, 0] == 0) and np.any(coefs[:, 1] != 0)
    for k in (2, 5, 7):
        ref = sklm.ElasticNet(alpha=alphas[k], l1_ratio=0.7, fit_intercept=False, tol=1e-12,
                              max_iter=100000).fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(coefs[:, k], ref.coef_, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, ref_coefs, _ = sklm.lasso_path(X, y - 2 * X[:, 5], n_alphas=6, positive=True,
                                          tol=1e-12, max_iter=100000)
    _, pos_coefs, _ = lasso_path(X, y - 2 * X[:, 5], n_alphas=6, positive=True, tol=1e-12,
                                 max_iter=100000)
    assert np.all(pos_coefs >= 0)
    np.testing.assert_allclose(pos_coefs, ref_coefs, atol=1e-6)


def test_engine_sample_weight():
    X, y = _problem()
    sw = np.random.default_rng(5).uniform(0.1, 2.0, size=y.shape[0])
    res = coordinate_descent(X, y, Quadratic(), L1(0.05), sample_weight=sw, tol=1e-12,
                             fit_intercept=True)
    ref = sklm.Lasso(alpha=0.05, tol=1e-12, max_iter=100000).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-7)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-7)
    r = y - X @ res.coef - res.intercept
    assert res.objective == pytest.approx(sw @ r**2 / (2 * sw.sum()) + 0.05 * np.abs(
        res.coef).sum(), rel=1e-10)
    with pytest.raises(ValueError, match="sample_weight is supported for the Quadratic"):
        coordinate_descent(X, np.sign(y - 3), Logistic(), L1(0.01), sample_weight=sw)
    with pytest.raises(ValueError, match="sample_weight with fit_intercept=True"):
        coordinate_descent(sp.csc_matrix(X), y, Quadratic(), L1(0.05), sample_weight=sw,
                           fit_intercept=True)


@pytest.mark.parametrize("est", [Lasso(), ElasticNet()])
def test_bad_sample_weight(est):
    X, y = _problem(n=20)
    for sw, match in ((-np.ones(20), "non-negative"), (np.full(20, np.inf), "finite"),
                      (np.ones(7), "length 20"), (np.zeros(20), "every weight is zero")):
        fresh = est.__class__()
        with pytest.raises(ValueError, match="sample_weight") as info:
            fresh.fit(X, y, sample_weight=sw)
        assert match in str(info.value)
        assert not hasattr(fresh, "coef_")
    sw = np.ones(20)
    before = sw.copy()
    est.fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, before)


def test_array_api_inputs_reject_weights_and_positive():
    xps = pytest.importorskip("array_api_strict")
    from numlearn.linear_model import LogisticRegression

    X, y = _problem(n=30, p=4)
    Xa, ya = xps.asarray(X), xps.asarray(y)
    with pytest.raises(ValueError, match="sample_weight"):
        Lasso(alpha=0.1).fit(Xa, ya, sample_weight=np.ones(30))
    with pytest.raises(ValueError, match="positive"):
        Lasso(alpha=0.1, positive=True).fit(Xa, ya)
    labels = xps.asarray((y > 3).astype(np.int64))
    with pytest.raises(ValueError, match="sample_weight"):
        LogisticRegression().fit(Xa, labels, sample_weight=np.ones(30))
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        LogisticRegression(solver="lbfgs").fit(Xa, labels)
    with pytest.raises(ValueError, match="sample_weight"):
        enet_path(Xa, ya, sample_weight=np.ones(30), n_alphas=3)
