"""LogisticRegression: scikit-learn ≥ 1.8 penalty semantics, the L-BFGS solver,
sample and class weights (against scikit-learn and repeated rows)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sklm
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from numlearn.linear_model import LogisticRegression
from numlearn.linear_model._lbfgs import check_sample_weight, lbfgs_glm


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X[:250]), y[:250]


def _sk(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sklm.LogisticRegression(**kw)


def _saga(X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sklm.LogisticRegression(solver="saga", tol=1e-13, max_iter=200000,
                                       **kw).fit(X, y)


def test_l1_ratio_one_is_l1_not_l2(cancer):
    # the silent wrong model of issue 15: l1_ratio=1 with penalty left alone is L1
    X, y = cancer
    ref = _saga(X, y, l1_ratio=1.0, C=0.1)
    clf = LogisticRegression(l1_ratio=1.0, C=0.1, tol=1e-12, max_iter=100000).fit(X, y)
    assert clf.solver_ == "cd"
    assert np.count_nonzero(clf.coef_) == np.count_nonzero(ref.coef_) < X.shape[1] // 2
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-6)


def test_l1_ratio_between_is_elastic_net(cancer):
    X, y = cancer
    ref = _saga(X, y, l1_ratio=0.4, C=0.2)
    for solver in ("cd", "lbfgs"):
        clf = LogisticRegression(l1_ratio=0.4, C=0.2, tol=1e-12, max_iter=100000,
                                 solver=solver).fit(X, y)
        np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
        np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-6)


@pytest.mark.parametrize("l1_ratio", [None, 0.0])
def test_l1_ratio_zero_is_l2_and_matches_sklearn_lbfgs(cancer, l1_ratio):
    X, y = cancer
    ref = _sk(C=0.5, tol=1e-12, max_iter=10000).fit(X, y)
    clf = LogisticRegression(l1_ratio=l1_ratio, C=0.5, tol=1e-12, max_iter=10000).fit(X, y)
    assert clf.solver_ == "lbfgs"
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-7)
    assert clf.dual_gap_ < 1e-10


def test_default_fit_is_sklearn_default_fit(cancer):
    # same algorithm and stopping rule as scikit-learn's default (lbfgs, tol=1e-4)
    X, y = cancer
    ref = sklm.LogisticRegression().fit(X, y)
    clf = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-9)
    assert clf.n_iter_[0] == ref.n_iter_[0]


def test_c_inf_is_no_penalty(cancer):
    X, y = cancer
    X = X[:, :4]  # separable otherwise
    ref = _sk(C=np.inf, tol=1e-12, max_iter=10000).fit(X, y)
    for l1_ratio in (None, 1.0):
        clf = LogisticRegression(C=np.inf, l1_ratio=l1_ratio, tol=1e-12,
                                 max_iter=10000).fit(X, y)
        np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-6, atol=1e-6)
        assert np.isnan(clf.dual_gap_)


def test_conflicting_penalty_and_l1_ratio_warn_like_sklearn(cancer):
    X, y = cancer
    with pytest.warns(UserWarning, match="only used when penalty is 'elasticnet'"):
        clf = LogisticRegression(penalty="l2", l1_ratio=0.5).fit(X, y)
    assert np.count_nonzero(clf.coef_) == X.shape[1]  # explicit penalty wins, as sklearn
    with pytest.warns(UserWarning, match="Inconsistent values: penalty=l1"):
        LogisticRegression(penalty="l1", l1_ratio=0.0).fit(X, y)
    with pytest.warns(UserWarning, match="penalty=None will ignore the C"):
        LogisticRegression(penalty=None, C=2.0).fit(X[:, :3], y)
    with pytest.raises(ValueError, match="l1_ratio must be given"):
        LogisticRegression(penalty="elasticnet").fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio must be <= 1"):
        LogisticRegression(l1_ratio=1.5).fit(X, y)
    with pytest.raises(ValueError, match="solver must be one of"):
        LogisticRegression(solver="newton").fit(X, y)


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_integer_weights_equal_repeated_rows(l1_ratio, sparse):
    X, y = _gaussian_problem()
    rng = np.random.default_rng(0)
    sw = rng.integers(0, 4, size=y.shape[0])
    Xr, yr = np.repeat(X, sw, axis=0), np.repeat(y, sw)
    if sparse:
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    kw = dict(l1_ratio=l1_ratio, C=0.3, tol=1e-13, max_iter=100000, solver="lbfgs")
    weighted = LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    repeated = LogisticRegression(**kw).fit(Xr, yr)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-8)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-8)


def test_fractional_weights_match_sklearn(cancer):
    X, y = cancer
    sw = np.random.default_rng(1).uniform(0.1, 3.0, size=y.shape[0])
    ref = _sk(C=0.7, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=sw)
    clf = LogisticRegression(C=0.7, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-6)
    # L1 on a well-conditioned design (breast_cancer's features are nearly collinear,
    # which limits how close any solver's coefficients get at a given tolerance)
    X, y = _gaussian_problem()
    sw = np.random.default_rng(1).uniform(0.1, 3.0, size=y.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref1 = sklm.LogisticRegression(solver="saga", l1_ratio=1.0, C=0.2, tol=1e-13,
                                       max_iter=200000).fit(X, y, sample_weight=sw)
    clf1 = LogisticRegression(l1_ratio=1.0, C=0.2, tol=1e-12, max_iter=100000).fit(
        X, y, sample_weight=sw)
    assert clf1.solver_ == "lbfgs"  # weighted: the coordinate-descent kernels are unweighted
    np.testing.assert_allclose(clf1.coef_, ref1.coef_, atol=1e-6)
    assert np.count_nonzero(clf1.coef_) == np.count_nonzero(ref1.coef_)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 1: 0.5}])
def test_class_weight_matches_sklearn(cancer, class_weight):
    X, y = cancer
    sw = np.linspace(0.5, 2.0, y.shape[0])
    ref = _sk(C=0.7, tol=1e-12, max_iter=10000, class_weight=class_weight).fit(
        X, y, sample_weight=sw)
    clf = LogisticRegression(C=0.7, tol=1e-12, max_iter=10000,
                             class_weight=class_weight).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-6)


def test_multinomial_weights_match_sklearn():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sw = np.random.default_rng(2).uniform(0.2, 2.0, size=y.shape[0])
    ref = _sk(C=0.1, tol=1e-12, max_iter=10000, class_weight="balanced").fit(
        X, y, sample_weight=sw)
    for Xin in (X, sp.csr_matrix(X)):
        clf = LogisticRegression(C=0.1, tol=1e-12, max_iter=10000,
                                 class_weight="balanced").fit(Xin, y, sample_weight=sw)
        np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
        np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-6)
        np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-7)


def _gaussian_problem(n=200, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:5] = [2.0, -1.5, 1.0, 0.5, -0.8]
    y = (X @ w + 0.3 + rng.logistic(size=n) > 0).astype(int)
    return X, y


def test_lbfgs_l1_split_reaches_cd_optimum():
    # the split-variable L-BFGS-B and coordinate descent solve the same L1 problem
    X, y = _gaussian_problem()
    cd = LogisticRegression(l1_ratio=1.0, C=0.1, tol=1e-13, solver="cd",
                            max_iter=100000).fit(X, y)
    lb = LogisticRegression(l1_ratio=1.0, C=0.1, tol=1e-11, solver="lbfgs",
                            max_iter=100000).fit(X, y)
    np.testing.assert_allclose(lb.coef_, cd.coef_, atol=1e-6)
    np.testing.assert_array_equal(lb.coef_ != 0, cd.coef_ != 0)
    assert 0 < np.count_nonzero(cd.coef_) < X.shape[1]
    assert lb.dual_gap_ < 1e-9


def test_lbfgs_glm_quadratic_positive_matches_nnls():
    # least squares with positive=True and no penalty is NNLS
    from scipy.optimize import nnls

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 6))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, -1.0, 3.0]) + 0.1 * rng.standard_normal(40)
    res = lbfgs_glm(X, y, "quadratic", positive=True, fit_intercept=False, tol=1e-12,
                    max_iter=10000)
    np.testing.assert_allclose(res.coef, nnls(X, y)[0], atol=1e-7)
    assert res.converged and np.isnan(res.dual_gap)


def test_bad_sample_weight(cancer):
    X, y = cancer
    n = y.shape[0]
    for sw, match in ((-np.ones(n), "non-negative"), (np.full(n, np.nan), "finite"),
                      (np.ones(n - 1), "length"), (np.zeros(n), "every weight is zero")):
        with pytest.raises(ValueError, match="sample_weight") as info:
            LogisticRegression().fit(X, y, sample_weight=sw)
        assert match in str(info.value)
        assert not hasattr(LogisticRegression(), "coef_")
    with pytest.raises(ValueError, match="sample_weight"):
        LogisticRegression(solver="cd").fit(X, y, sample_weight=np.ones(n))
    assert check_sample_weight(None, 3) is None
    sw = np.array([1.0, 2.0])
    out = check_sample_weight(sw, 2)
    out[0] = 5.0
    assert sw[0] == 1.0  # the input is not modified through the result


def test_lbfgs_verbose_and_non_convergence(cancer, capsys):
    X, y = cancer
    LogisticRegression(verbose=2).fit(X, y)
    out = capsys.readouterr().out
    assert "lbfgs (logistic): iter 1 " in out and "objective" in out
    with pytest.warns(ConvergenceWarning, match="lbfgs did not converge after 2"):
        clf = LogisticRegression(max_iter=2, tol=1e-12).fit(X, y)
    assert clf.n_iter_[0] == 2
