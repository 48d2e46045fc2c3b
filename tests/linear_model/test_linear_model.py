"""Tests of numlearn.linear_model: coordinate descent and its estimators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn import linear_model as sklm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from numlearn.linear_model import (
    L1,
    L2,
    SELECTIONS,
    ElasticNet,
    ElasticNetPenalty,
    Lasso,
    Logistic,
    LogisticRegression,
    Multinomial,
    NoPenalty,
    Quadratic,
    coordinate_descent,
    enet_path,
    lasso_path,
)
from numlearn.linear_model import _cd_kernels as K


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _synthetic(n=80, p=40, rho=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if rho:
        X = np.sqrt(1 - rho) * X + np.sqrt(rho) * rng.standard_normal((n, 1))
    w = np.zeros(p)
    w[:5] = [3.0, -2.0, 1.5, 1.0, -1.0]
    y = X @ w + 0.1 * rng.standard_normal(n)
    return X, y


def _sk_enet(X, y, alpha, l1_ratio, fit_intercept=True):
    return sklm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=200000,
                           fit_intercept=fit_intercept).fit(X, y)


# ---------------------------------------------------------------------------------------
# The engine against scikit-learn and closed forms
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("selection", SELECTIONS)
@pytest.mark.parametrize("working_set", [False, True])
@pytest.mark.parametrize("alpha,l1_ratio", [(0.05, 1.0), (0.2, 0.5)])
def test_quadratic_matches_sklearn_diabetes(diabetes, selection, working_set, alpha, l1_ratio):
    X, y = diabetes
    ref = _sk_enet(X, y, alpha, l1_ratio)
    pen = L1(alpha) if l1_ratio == 1 else ElasticNetPenalty(alpha, l1_ratio)
    res = coordinate_descent(X, y, Quadratic(), pen, selection=selection, tol=1e-14,
                             fit_intercept=True, max_iter=100000, working_set=working_set,
                             random_state=0)
    assert res.converged
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8 * scale)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8 * abs(ref.intercept_))
    assert res.dual_gap <= 1e-14 * np.var(y)


@pytest.mark.parametrize("selection", ["cyclic", "random", "gsl", "gsq"])
@pytest.mark.parametrize("sparse", [False, True])
def test_precomputed_gram_matches_sklearn(diabetes, selection, sparse):
    X, y = diabetes
    ref = _sk_enet(X, y, 0.02, 0.8)
    Xin = sp.csc_matrix(X) if sparse else X
    res = coordinate_descent(Xin, y, Quadratic(), ElasticNetPenalty(0.02, 0.8), tol=1e-14,
                             fit_intercept=True, precompute=True, selection=selection,
                             max_iter=100000, random_state=0)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8 * np.abs(ref.coef_).max())
    assert res.intercept == pytest.approx(ref.intercept_, rel=1e-10)
    # the gap computed from the Gram matrix is the gap computed from the residual
    direct = coordinate_descent(X, y, Quadratic(), ElasticNetPenalty(0.02, 0.8), max_iter=0,
                                fit_intercept=True, warm_start=res.coef, tol=1.0)
    assert res.dual_gap == pytest.approx(direct.dual_gap, rel=1e-3, abs=1e-9 * np.var(y))
    ridge = coordinate_descent(X, y, Quadratic(), L2(0.01), tol=1e-12, fit_intercept=True,
                               precompute=True)
    ref_ridge = np.linalg.solve(np.cov(X.T, bias=True) + 0.01 * np.eye(10),
                                (X - X.mean(0)).T @ (y - y.mean()) / len(y))
    # strong convexity (modulus ≥ 0.01) turns the gap into a bound on the error
    assert np.linalg.norm(ridge.coef - ref_ridge) <= np.sqrt(2 * ridge.dual_gap / 0.01)
    np.testing.assert_allclose(ridge.coef, ref_ridge, rtol=1e-4)


@pytest.mark.parametrize("selection", ["cyclic", "lipschitz", "gsl", "gsq"])
@pytest.mark.parametrize("sparse", [False, True])
def test_blocks_match_sklearn(selection, sparse):
    X, y = _synthetic(n=100, p=30, rho=0.5, seed=4)
    X = X + 1.0  # offset columns: the intercept must be handled by the blocks too
    ref = _sk_enet(X, y, 0.02, 0.8)
    Xin = sp.csc_matrix(X) if sparse else X
    for block_size in (2, 4):
        res = coordinate_descent(Xin, y, Quadratic(), ElasticNetPenalty(0.02, 0.8),
                                 tol=1e-14, fit_intercept=True, selection=selection,
                                 block_size=block_size, max_iter=100000, random_state=0)
        assert res.converged
        np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8 * np.abs(ref.coef_).max())
        assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)


def test_logistic_blocks_and_greedy_block_restriction():
    X, y = _synthetic(n=100, p=12, seed=5)
    ypm = np.sign(y - 0.3)
    one = coordinate_descent(X, ypm, Logistic(), L1(0.01), tol=1e-12, fit_intercept=True,
                             max_iter=100000)
    for Xin in (X, sp.csc_matrix(X)):
        blk = coordinate_descent(Xin, ypm, Logistic(), L1(0.01), tol=1e-12, block_size=3,
                                 fit_intercept=True, max_iter=100000, selection="lipschitz",
                                 random_state=0)
        assert blk.converged
        np.testing.assert_allclose(blk.coef, one.coef, atol=1e-5)
    with pytest.raises(ValueError, match="needs the Quadratic datafit"):
        coordinate_descent(X, ypm, Logistic(), L1(0.01), block_size=2, selection="gs")


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_quadratic_matches_sklearn_synthetic_no_intercept(rho):
    X, y = _synthetic(rho=rho)
    ref = _sk_enet(X, y, 0.05, 0.7, fit_intercept=False)
    res = coordinate_descent(X, y, Quadratic(), ElasticNetPenalty(0.05, 0.7), tol=1e-14,
                             max_iter=100000)
    assert res.intercept == 0.0
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-9)


def test_sparse_and_dense_agree_and_match_sklearn():
    rng = np.random.default_rng(1)
    Xs = sp.random(200, 60, density=0.1, format="csc", random_state=2)
    y = Xs @ rng.standard_normal(60) + 0.5 + 0.01 * rng.standard_normal(200)
    ref = _sk_enet(Xs, y, 0.001, 1.0)
    for X in (Xs, Xs.toarray(), Xs.tocsr()):
        for selection in ("cyclic", "gsl"):
            res = coordinate_descent(X, y, Quadratic(), L1(0.001), tol=1e-14, max_iter=100000,
                                     fit_intercept=True, selection=selection)
            np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8)
            assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)


def test_c_and_f_order_and_float32(diabetes):
    X, y = diabetes
    ref = coordinate_descent(X, y, Quadratic(), L1(0.05), tol=1e-12, fit_intercept=True)
    f_order = coordinate_descent(np.asfortranarray(X), y, Quadratic(), L1(0.05), tol=1e-12,
                                 fit_intercept=True)
    np.testing.assert_array_equal(ref.coef, f_order.coef)
    r32 = coordinate_descent(X.astype(np.float32), y.astype(np.float32), Quadratic(), L1(0.05),
                             tol=1e-6, fit_intercept=True)
    assert r32.coef.dtype == np.float32
    np.testing.assert_allclose(r32.coef, ref.coef, atol=1e-3 * np.abs(ref.coef).max())


@pytest.mark.parametrize("selection", ["cyclic", "gsq"])
def test_no_penalty_is_least_squares(selection):
    X, y = _synthetic(n=60, p=8)
    ref, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = coordinate_descent(X, y, Quadratic(), NoPenalty(), tol=1e-12, selection=selection,
                             max_iter=100000)
    assert np.isnan(res.dual_gap)
    np.testing.assert_allclose(res.coef, ref, atol=1e-9)


def test_l2_is_ridge_closed_form():
    X, y = _synthetic(n=60, p=8)
    alpha = 0.3
    ref = np.linalg.solve(X.T @ X / 60 + alpha * np.eye(8), X.T @ y / 60)
    res = coordinate_descent(X, y, Quadratic(), L2(alpha), tol=1e-14, selection="gsl")
    # gap ≤ 1e-14·‖y‖²/n ≈ 2e-13 bounds ‖w - w*‖ by √(2 gap / alpha) ≈ 1e-6
    np.testing.assert_allclose(res.coef, ref, atol=1e-7)


def test_greedy_rules_beat_cyclic_and_random():
    """The paper's least-squares comparison: after the same number of coordinate updates,
    the greedy rules reach a lower objective than cyclic and random selection."""
    X, y = _synthetic(n=200, p=100, rho=0.5, seed=3)
    f_star = coordinate_descent(X, y, Quadratic(), L1(0.01), tol=1e-14, max_iter=100000)
    gaps = {}
    for sel in ("cyclic", "random", "lipschitz", "gs", "gsl", "gsq"):
        with pytest.warns(ConvergenceWarning):
            res = coordinate_descent(X, y, Quadratic(), L1(0.01), selection=sel, max_iter=5,
                                     tol=0.0, working_set=False, anderson=False, random_state=0,
                                     screening=False)  # p updates per epoch for every rule
        assert res.n_updates == 500
        gaps[sel] = res.objective - f_star.objective
    assert max(gaps["gs"], gaps["gsl"], gaps["gsq"]) < min(gaps["cyclic"], gaps["random"],
                                                           gaps["lipschitz"])


def test_kernels_match_numpy_reference():
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((30, 6)))
    y = rng.standard_normal(30)
    w = np.zeros(6)
    r = y.copy()
    lip = (X**2).sum(0) / 30
    coords = np.arange(6)
    K.epoch_dense(X, y, r, w, coords, lip, np.zeros(6), 0.1, 0.0, K.QUADRATIC)
    # one cyclic pass by hand
    w_ref = np.zeros(6)
    for j in range(6):
        rj = y - X @ w_ref
        v = w_ref[j] + X[:, j] @ rj / 30 / lip[j]
        w_ref[j] = np.sign(v) * max(abs(v) - 0.1 / lip[j], 0)
    np.testing.assert_allclose(w, w_ref, atol=1e-14)
    np.testing.assert_allclose(r, y - X @ w, atol=1e-13)
    # the CSC kernel does the same
    Xs = sp.csc_matrix(X)
    w2, r2 = np.zeros(6), y.copy()
    K.epoch_csc(Xs.indptr, Xs.indices, Xs.data, np.asarray(Xs.sum(0)).ravel(), y, r2, w2,
                coords, lip, np.zeros(6), 0.1, 0.0, K.QUADRATIC)
    np.testing.assert_allclose(w2, w, atol=1e-14)
    assert K.prox_enet(3.0, 0.5, 2.0, 1.0) == pytest.approx(2.0 / 1.5)


# ---------------------------------------------------------------------------------------
# Logistic
# ---------------------------------------------------------------------------------------
def _logreg_reference(X, ypm, alpha):
    n, p = X.shape

    def f(v):
        w, b = v[:-1], v[-1]
        z = X @ w + b
        s = -ypm / (1 + np.exp(ypm * z)) / n
        val = np.mean(np.logaddexp(0, -ypm * z)) + alpha / 2 * w @ w
        return val, np.append(X.T @ s + alpha * w, s.sum())

    return minimize(f, np.zeros(p + 1), jac=True, method="L-BFGS-B",
                    options=dict(gtol=1e-13, ftol=1e-16, maxiter=100000)).x


@pytest.mark.parametrize("solver, selection",
                         [("cd", "cyclic"), ("cd", "gsl"), ("lbfgs", "cyclic")])
def test_logistic_l2_matches_lbfgs(cancer, solver, selection):
    X, y = cancer
    C = 0.02
    ref = _logreg_reference(X, 2.0 * y - 1, 1 / (C * X.shape[0]))
    if solver == "cd" and selection == "gsl":  # documented fallback (greedy = trap here)
        with pytest.warns(UserWarning, match="using selection='cyclic'"):
            clf = LogisticRegression(penalty="l2", C=C, tol=1e-13, selection=selection,
                                     max_iter=100000, solver=solver).fit(X, y)
    else:
        clf = LogisticRegression(penalty="l2", C=C, tol=1e-13, selection=selection,
                                 max_iter=100000, solver=solver).fit(X, y)
    assert clf.solver_ == solver
    np.testing.assert_allclose(clf.coef_[0], ref[:-1], atol=1e-6)
    assert clf.intercept_[0] == pytest.approx(ref[-1], abs=1e-6)


def test_logistic_l1_matches_sklearn_saga_and_sparse(cancer):
    X, y = cancer
    X = X[:300]
    y = y[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sklm.LogisticRegression(l1_ratio=1.0, C=0.1, solver="saga", tol=1e-12,
                                      max_iter=200000).fit(X, y)
    for Xin, update in ((X, "newton"), (sp.csc_matrix(X), "newton"), (X, "gradient")):
        clf = LogisticRegression(penalty="l1", C=0.1, tol=1e-12, max_iter=100000,
                                 update=update).fit(Xin, y)
        np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
        assert clf.intercept_[0] == pytest.approx(ref.intercept_[0], abs=1e-6)
        assert clf.dual_gap_ <= 1e-12 * np.log(2)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_logistic_engine_gap_and_labels():
    X, y = _synthetic(n=60, p=10)
    ypm = np.sign(y)
    res = coordinate_descent(X, ypm, Logistic(), L1(0.01), tol=1e-10, selection="gsq")
    assert res.converged and res.dual_gap <= 1e-10 * np.log(2)
    newton = coordinate_descent(X, ypm, Logistic(), L1(0.01), tol=1e-10, update="newton",
                                selection="random", random_state=0)
    np.testing.assert_allclose(newton.coef, res.coef, atol=1e-5)
    with pytest.raises(ValueError, match="update='newton'"):
        coordinate_descent(X, ypm, Logistic(), L1(0.01), update="newton", selection="gs")
    with pytest.raises(ValueError, match="labels -1 and \\+1"):
        coordinate_descent(X, (ypm > 0).astype(float), Logistic(), L1(0.01))


@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_multinomial_matches_sklearn(penalty):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    C = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if penalty == "l1":
            ref = sklm.LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12,
                                          max_iter=100000).fit(X, y)
        else:
            ref = sklm.LogisticRegression(C=C, tol=1e-12, max_iter=100000).fit(X, y)
    for Xin, solver in ((X, "auto"), (sp.csc_matrix(X), "auto"), (X, "cd")):
        clf = LogisticRegression(penalty=penalty, C=C, tol=1e-13, max_iter=100000,
                                 solver=solver).fit(Xin, y)
        assert clf.coef_.shape == (3, 13) and clf.intercept_.shape == (3,)
        np.testing.assert_allclose(clf.coef_, ref.coef_, atol=2e-6)
        np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=2e-6)
        np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-6)
        assert clf.dual_gap_ <= 1e-13 * np.log(3)
    # the estimator with a greedy rule (multinomial greedy selection in the engine)
    greedy = LogisticRegression(penalty=penalty, C=C, tol=1e-13, max_iter=100000,
                                selection="gsl", solver="cd").fit(X, y)
    np.testing.assert_allclose(greedy.coef_, ref.coef_, atol=2e-6)
    if penalty == "l1":
        res = coordinate_descent(X, y.astype(float), Multinomial(), L1(1 / (C * len(y))),
                                 selection="lipschitz", tol=1e-12, random_state=0,
                                 fit_intercept=True, max_iter=100000)
        np.testing.assert_allclose(res.coef.T, clf.coef_, atol=1e-6)
    with pytest.raises(ValueError, match="class indices"):
        coordinate_descent(X, y + 0.5, Multinomial(), L1(0.1), selection="cyclic")
    with pytest.raises(ValueError, match="Multinomial datafit supports"):
        coordinate_descent(X, y.astype(float), Multinomial(), L1(0.1), update="newton")


@pytest.mark.parametrize("sparse", [False, True])
def test_multinomial_greedy_rules_and_working_sets(sparse):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(0)
    X = np.hstack([X, rng.standard_normal((X.shape[0], 40))])  # 40 irrelevant features
    C, n = 0.1, len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sklm.LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12,
                                      max_iter=100000).fit(X, y)
    Xin = sp.csc_matrix(X) if sparse else X
    kw = dict(tol=1e-12, fit_intercept=True, max_iter=100000, random_state=0)
    runs = {}
    for sel, ws in (("cyclic", False), ("cyclic", True), ("gs", True), ("gsl", True),
                    ("gsq", True), ("gsq", False)):
        res = coordinate_descent(Xin, y.astype(float), Multinomial(), L1(1 / (C * n)),
                                 selection=sel, working_set=ws, **kw)
        assert res.converged and res.dual_gap <= 1e-12 * np.log(3)
        np.testing.assert_allclose(res.coef.T, ref.coef_, atol=1e-6)
        np.testing.assert_allclose(res.intercept, ref.intercept_, atol=1e-6)
        runs[sel, ws] = res
    # working sets (rows) and greedy rules need far fewer row updates than full cyclic
    # epochs (measured: 63k full cyclic, 22k cyclic on working sets, 4.3k greedy)
    assert runs["cyclic", True].n_updates < 0.5 * runs["cyclic", False].n_updates
    for sel in ("gs", "gsl", "gsq"):
        assert runs[sel, True].n_updates < 0.3 * runs["cyclic", True].n_updates


def test_multinomial_greedy_beats_cyclic_per_update():
    # the paper's ordering, for the softmax loss: after the same number of row updates
    # the greedy rules are closer to the optimum than cyclic and random selection
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(1)
    X = np.hstack([X, rng.standard_normal((X.shape[0], 30))])
    yf = y.astype(float)
    pen = L2(0.01)
    best = coordinate_descent(X, yf, Multinomial(), pen, tol=1e-13, max_iter=100000,
                              selection="gsq")
    gaps = {}
    for sel in ("cyclic", "random", "gs", "gsl", "gsq"):
        with pytest.warns(ConvergenceWarning):
            res = coordinate_descent(X, yf, Multinomial(), pen, selection=sel, max_iter=3,
                                     tol=0.0, working_set=False, random_state=0)
        assert res.n_updates == 3 * X.shape[1]
        gaps[sel] = res.objective - best.objective
    ref = sklm.LogisticRegression(C=1 / (0.01 * len(y)), fit_intercept=False, tol=1e-12,
                                  max_iter=10000).fit(X, y)
    np.testing.assert_allclose(best.coef.T - best.coef.T.mean(0), ref.coef_ - ref.coef_.mean(0),
                               atol=1e-6)
    assert max(gaps["gs"], gaps["gsl"], gaps["gsq"]) < min(gaps["cyclic"], gaps["random"])


# ---------------------------------------------------------------------------------------
# Estimators and paths
# ---------------------------------------------------------------------------------------
def test_lasso_estimator_matches_sklearn(diabetes):
    X, y = diabetes
    ours = Lasso(alpha=0.1, tol=1e-12, max_iter=100000).fit(X, y)
    ref = sklm.Lasso(alpha=0.1, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-6)
    assert ours.dual_gap_ <= 1e-12 * np.var(y)
    assert ours.n_iter_ > 0
    ours.set_params(warm_start=True, alpha=0.09).fit(X, y)
    ref.set_params(alpha=0.09).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)


def test_pipeline_and_gridsearch(diabetes):
    X, y = diabetes
    search = GridSearchCV(make_pipeline(StandardScaler(), ElasticNet(tol=1e-8)),
                          {"elasticnet__alpha": [0.01, 0.1, 1.0]}, cv=3).fit(X, y)
    ref = GridSearchCV(make_pipeline(StandardScaler(), sklm.ElasticNet(tol=1e-8)),
                       {"elasticnet__alpha": [0.01, 0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_ == ref.best_params_
    assert search.best_score_ == pytest.approx(ref.best_score_, abs=1e-6)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_paths_match_sklearn(diabetes, l1_ratio):
    X, y = diabetes
    X = X - X.mean(0)
    y = y - y.mean()
    if l1_ratio == 1:
        alphas, coefs, gaps = lasso_path(X, y, n_alphas=15, tol=1e-13, max_iter=100000)
        _, ref, _ = sklm.lasso_path(X, y, alphas=alphas, tol=1e-13, max_iter=100000)
    else:
        alphas, coefs, gaps = enet_path(X, y, l1_ratio=l1_ratio, n_alphas=15, tol=1e-13,
                                        max_iter=100000)
        _, ref, _ = sklm.enet_path(X, y, l1_ratio=l1_ratio, alphas=alphas, tol=1e-13,
                                   max_iter=100000)
    assert alphas[0] == pytest.approx(np.abs(X.T @ y).max() / (len(y) * l1_ratio))
    assert np.all(coefs[:, 0] == 0)
    np.testing.assert_allclose(coefs, ref, atol=1e-6 * np.abs(ref).max())
    assert np.all(gaps <= 1e-13 * (y @ y) / len(y))


def test_sparse_path_matches_sklearn(diabetes):
    X, y = diabetes
    Xs = sp.csc_matrix(np.where(np.abs(X) > 0.03, X, 0.0))
    y = y - y.mean()
    alphas, coefs, _ = enet_path(Xs, y, l1_ratio=0.7, n_alphas=8, tol=1e-13, max_iter=100000)
    _, ref, _ = sklm.enet_path(Xs, y, l1_ratio=0.7, alphas=alphas, tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(coefs, ref, atol=1e-6 * np.abs(ref).max())
    _, gram_coefs, _ = enet_path(Xs, y, l1_ratio=0.7, alphas=alphas, tol=1e-13,
                                 max_iter=100000, precompute=True, selection="cyclic")
    np.testing.assert_allclose(gram_coefs, ref, atol=1e-6 * np.abs(ref).max())


# ---------------------------------------------------------------------------------------
# Bad input, non-convergence, callback, history
# ---------------------------------------------------------------------------------------
def test_bad_input():
    X, y = _synthetic(n=20, p=5)
    with pytest.raises(ValueError, match="alpha"):
        L1(-1.0)
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNetPenalty(1.0, 1.5)
    with pytest.raises(ValueError, match="alpha"):
        Lasso(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNet(l1_ratio=-0.1).fit(X, y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        coordinate_descent(Xn, y, Quadratic(), L1(0.1))
    yn = y.copy()
    yn[3] = np.inf
    with pytest.raises(ValueError, match="y contains NaN"):
        coordinate_descent(X, yn, Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="at least one"):
        coordinate_descent(np.empty((0, 3)), np.empty(0), Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="y must be a vector of length 20"):
        coordinate_descent(X, y[:5], Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="selection"):
        coordinate_descent(X, y, Quadratic(), L1(0.1), selection="best")
    with pytest.raises(TypeError, match="datafit"):
        coordinate_descent(X, y, "quadratic", L1(0.1))
    with pytest.raises(TypeError, match="penalty"):
        coordinate_descent(X, y, Quadratic(), 0.1)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="C must be > 0"):
        LogisticRegression(C=0.0).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="l1_ratio must be given"):
        LogisticRegression(penalty="elasticnet").fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="penalty"):
        LogisticRegression(penalty="l3").fit(X, np.arange(20) % 2)


def test_nonconvergence_warns_with_gaps(diabetes):
    X, y = diabetes
    with pytest.warns(ConvergenceWarning, match=r"duality gap .* relative\) .*tol=1e-12"):
        res = coordinate_descent(X, y, Quadratic(), L1(0.01), tol=1e-12, max_iter=2,
                                 fit_intercept=True, working_set=False)
    assert not res.converged and res.n_iter == 2
    with pytest.warns(ConvergenceWarning):
        Lasso(alpha=0.001, max_iter=2, tol=1e-12).fit(X, y)


def test_callback_history_and_inputs_untouched(diabetes):
    X, y = diabetes
    X0, y0 = X.copy(), y.copy()
    w0 = np.zeros(X.shape[1])
    seen = []

    def cb(w):
        seen.append(w.copy())
        if len(seen) == 3:
            raise StopIteration

    res = coordinate_descent(X, y, Quadratic(), L1(0.01), callback=cb, warm_start=w0,
                             return_history=True, working_set=False, fit_intercept=True)
    assert res.status.name == "CALLBACK_STOP" and res.n_iter == 3
    assert res.objective_history.shape == (4,) and res.updates_history[-1] == 30
    assert np.all(np.diff(res.objective_history) <= 1e-12)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert np.all(w0 == 0)


@parametrize_with_checks([Lasso(), ElasticNet(), LogisticRegression()])
def test_sklearn_conventions(estimator, check):
    check(estimator)


def test_tour_rows():
    from numlearn.linear_model._tour_rows import ROWS

    tolerances = {"Lasso": 1e-6, "LogisticRegression": 1e-5}
    for _, name, fn in ROWS:
        row = fn()
        assert row.error < tolerances[name], (name, row.error)


# ---------------------------------------------------------------------------------------
# Sparse-path fast kernels (state/gradient reuse along the path, fused gap + KKT)
# ---------------------------------------------------------------------------------------
def test_sparse_fast_kernels_match_references():
    rng = np.random.default_rng(3)
    Xs = sp.random(60, 25, density=0.2, format="csc", random_state=3)
    n, p = Xs.shape
    y = rng.standard_normal(n)
    cols = np.array([3, 0, 17, 9], dtype=np.int64)
    # X[:, cols]ᵀ v and X[:, cols] w against scipy
    out = K.csc_rmatvec_cols(Xs.indptr, Xs.indices, Xs.data, y, cols, np.empty(4))
    np.testing.assert_allclose(out, Xs[:, cols].T @ y, rtol=1e-13)
    wc = rng.standard_normal(4)
    out = K.csc_matvec_cols(Xs.indptr, Xs.indices, Xs.data, wc, cols, np.zeros(n))
    np.testing.assert_allclose(out, Xs[:, cols] @ wc, rtol=1e-13, atol=1e-15)
    # the least-squares CSC epoch equals the general one (with a centring shift)
    lip = np.asarray(Xs.multiply(Xs).sum(0)).ravel() / n
    mean = np.asarray(Xs.mean(0)).ravel()
    colsum = np.asarray(Xs.sum(0)).ravel()
    coords = np.arange(p, dtype=np.int64)
    w1, r1 = np.zeros(p), y - y.mean()
    w2, r2 = w1.copy(), r1.copy()
    for _ in range(3):
        K.epoch_csc(Xs.indptr, Xs.indices, Xs.data, colsum, y, r1, w1, coords, lip, mean,
                    0.02, 0.1, K.QUADRATIC)
        K.epoch_csc_quadratic(Xs.indptr, Xs.indices, Xs.data, colsum, r2, w2, coords, lip,
                              mean, 0.02, 0.1)
    assert np.count_nonzero(w1) > 3
    np.testing.assert_allclose(w2, w1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r2, r1, rtol=1e-12, atol=1e-14)
    # fused gap + KKT against the penalty's subdifferential distance and sklearn's gap
    pen = ElasticNetPenalty(0.05, 0.6)
    w = np.where(rng.random(p) < 0.3, rng.standard_normal(p), 0.0)
    r = y - Xs @ w
    grad = -(Xs.T @ r) / n
    kkt = np.empty(p)
    gap, kmax = K.enet_gap_kkt(r, y, w, grad, pen.l1, pen.l2, kkt)
    ref_kkt = pen.subdiff_distance(w, grad)
    np.testing.assert_allclose(kkt, ref_kkt, rtol=1e-13, atol=1e-15)
    assert kmax == pytest.approx(ref_kkt.max(), rel=1e-13)
    with pytest.warns(ConvergenceWarning):
        res = coordinate_descent(Xs, y, Quadratic(), pen, max_iter=0, warm_start=w, tol=0.0)
    assert gap == pytest.approx(res.dual_gap, rel=1e-10)
    # closed form of sklearn's enet gap (cd_fast), divided by n
    v = Xs.T @ r - n * pen.l2 * w
    const = min(1.0, n * pen.l1 / np.abs(v).max())
    ref_gap = (0.5 * (r @ r) * (1 + const**2) + n * pen.l1 * np.abs(w).sum() - const * (r @ y)
               + 0.5 * n * pen.l2 * (1 + const**2) * (w @ w)) / n
    assert gap == pytest.approx(ref_gap, rel=1e-10)


def test_sparse_path_state_reuse_matches_cold_solves():
    # along the path each alpha reuses the previous residual and gradient; the result
    # must equal independent warm-started solves and sklearn's path
    rng = np.random.default_rng(1)
    Xs = sp.random(300, 120, density=0.05, format="csc", random_state=1)
    y = Xs @ np.where(rng.random(120) < 0.1, rng.standard_normal(120), 0.0)
    y = y + 0.01 * rng.standard_normal(300)
    alphas, coefs, gaps = lasso_path(Xs, y, n_alphas=10, eps=1e-2, tol=1e-12)
    w = None
    for k, a in enumerate(alphas):
        res = coordinate_descent(Xs, y, Quadratic(), L1(a), selection="cyclic", tol=1e-12,
                                 warm_start=w)
        w = res.coef
        np.testing.assert_allclose(coefs[:, k], w, atol=1e-8 * max(np.abs(w).max(), 1e-300))
    _, ref, _ = sklm.lasso_path(Xs, y, alphas=alphas, tol=1e-12, max_iter=100000)
    np.testing.assert_allclose(coefs, ref, atol=1e-6 * np.abs(ref).max())
    assert np.all(gaps <= 1e-12 * (y @ y) / len(y))


def test_fused_sparse_inner_loop_matches_python_loop():
    # sparse least squares + cyclic runs its working-set epochs in one Numba kernel; a
    # callback forces the Python loop: both must reach the same solution (with an
    # intercept, i.e. implicit centring, and Anderson extrapolation on)
    rng = np.random.default_rng(2)
    Xs = sp.random(400, 150, density=0.05, format="csc", random_state=2)
    y = Xs @ np.where(rng.random(150) < 0.1, 3 * rng.standard_normal(150), 0.0) + 1.0
    y = y + 0.01 * rng.standard_normal(400)
    pen = ElasticNetPenalty(1e-4, 0.8)
    kw = dict(selection="cyclic", tol=1e-12, fit_intercept=True, max_iter=100000)
    fused = coordinate_descent(Xs, y, Quadratic(), pen, **kw)
    plain = coordinate_descent(Xs, y, Quadratic(), pen, callback=lambda w: None, **kw)
    assert fused.converged and plain.converged and fused.n_iter > 6  # Anderson has fired
    np.testing.assert_allclose(fused.coef, plain.coef, atol=1e-8 * np.abs(plain.coef).max())
    assert fused.intercept == pytest.approx(plain.intercept, rel=1e-8)
    ref = sklm.ElasticNet(alpha=1e-4, l1_ratio=0.8, tol=1e-14, max_iter=100000).fit(Xs, y)
    np.testing.assert_allclose(fused.coef, ref.coef_, atol=1e-6 * np.abs(ref.coef_).max())
    # max_iter is honoured inside the kernel
    with pytest.warns(ConvergenceWarning):
        short = coordinate_descent(Xs, y, Quadratic(), pen, **{**kw, "max_iter": 3})
    assert short.n_iter == 3 and not short.converged


# ---------------------------------------------------------------------------------------
# Block Newton (update="newton" with block_size > 1)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("selection", ["cyclic", "random", "lipschitz"])
@pytest.mark.parametrize("working_set", [False, True])
@pytest.mark.parametrize("alpha,l1_ratio", [(0.05, 1.0), (0.2, 0.5)])
def test_block_newton_quadratic_matches_sklearn(diabetes, selection, working_set, alpha,
                                                l1_ratio):
    # proximal Newton on blocks of 3 (the last block has 1 coordinate) and 4
    X, y = diabetes
    ref = _sk_enet(X, y, alpha, l1_ratio)
    pen = L1(alpha) if l1_ratio == 1 else ElasticNetPenalty(alpha, l1_ratio)
    for b in (3, 4):
        res = coordinate_descent(X, y, Quadratic(), pen, selection=selection, block_size=b,
                                 update="newton", tol=1e-14, fit_intercept=True,
                                 max_iter=100000, working_set=working_set, random_state=0)
        assert res.converged and res.dual_gap <= 1e-14 * np.var(y)
        np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8 * np.abs(ref.coef_).max())
        assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)


def test_block_newton_least_squares_no_penalty_and_ridge(diabetes):
    X, y = diabetes
    ref = sklm.LinearRegression().fit(X, y)
    kw = dict(selection="cyclic", update="newton", fit_intercept=True, max_iter=100000)
    newton = coordinate_descent(X, y, Quadratic(), NoPenalty(), block_size=4, tol=1e-12,
                                working_set=False, **kw)
    # block gradient (step 1/λ_max of the block) is far slower on this correlated design:
    # observed 6414 epochs vs 226 for block Newton
    with pytest.warns(ConvergenceWarning):
        grad = coordinate_descent(X, y, Quadratic(), NoPenalty(), block_size=4, tol=1e-12,
                                  working_set=False,
                                  **{**kw, "update": "gradient", "max_iter": 10 * newton.n_iter})
    assert newton.converged and newton.n_iter < 300
    np.testing.assert_allclose(newton.coef, ref.coef_, atol=1e-8 * np.abs(ref.coef_).max())
    assert newton.intercept == pytest.approx(ref.intercept_, abs=1e-8)
    assert grad.n_iter == 10 * newton.n_iter
    # ridge: the closed form
    n = X.shape[0]
    Xc, yc = X - X.mean(0), y - y.mean()
    w_ref = np.linalg.solve(Xc.T @ Xc / n + 0.01 * np.eye(X.shape[1]), Xc.T @ yc / n)
    ridge = coordinate_descent(X, y, Quadratic(), L2(0.01), block_size=3, tol=1e-14, **kw)
    np.testing.assert_allclose(ridge.coef, w_ref, atol=1e-8 * np.abs(w_ref).max())


@pytest.mark.parametrize("penalty", [NoPenalty(), L2(0.3)])
def test_block_newton_single_block_solves_least_squares_in_one_step(penalty):
    # blocks = all coordinates: the Newton step is the exact minimizer
    rng = np.random.default_rng(3)
    X, y = _synthetic(n=120, p=30, rho=0.95, seed=3)
    X = X * rng.uniform(0.1, 10.0, 30)  # badly scaled columns too
    n, p = X.shape
    Xc, yc = X - X.mean(0), y - y.mean()
    w_ref = np.linalg.solve(Xc.T @ Xc / n + penalty.l2 * np.eye(p), Xc.T @ yc / n)
    res = coordinate_descent(X, y, Quadratic(), penalty, block_size=p, update="newton",
                             selection="cyclic", working_set=False, fit_intercept=True,
                             tol=1e-10, max_iter=1)
    assert res.converged and res.n_iter == 1 and res.n_updates == p
    np.testing.assert_allclose(res.coef, w_ref, rtol=1e-8, atol=1e-10)
    with pytest.warns(ConvergenceWarning):  # one block-gradient step is far from it
        one = coordinate_descent(X, y, Quadratic(), penalty, block_size=p, selection="cyclic",
                                 working_set=False, fit_intercept=True, tol=1e-10,
                                 max_iter=1)
    assert np.abs(one.coef - w_ref).max() > 1e-2 * np.abs(w_ref).max()


def test_block_newton_logistic_matches_references_and_needs_fewer_epochs(cancer):
    X, y = cancer
    ypm = 2.0 * y - 1
    kw = dict(selection="cyclic", fit_intercept=True, max_iter=100000)
    # L1: against the single-coordinate Newton update (tested against sklearn's saga)
    one = coordinate_descent(X, ypm, Logistic(), L1(0.01), update="newton", tol=1e-13, **kw)
    for b in (10, 30):
        res = coordinate_descent(X, ypm, Logistic(), L1(0.01), update="newton",
                                 block_size=b, tol=1e-13, **kw)
        assert res.converged and res.dual_gap <= 1e-13 * np.log(2)
        np.testing.assert_allclose(res.coef, one.coef, atol=1e-8)
        assert res.intercept == pytest.approx(one.intercept, abs=1e-8)
    # block Newton vs block gradient on this correlated design (observed b = 10:
    # 136 vs 2119 epochs; b = 30: 34 vs 3709)
    newton = coordinate_descent(X, ypm, Logistic(), L1(0.01), update="newton", block_size=10,
                                tol=1e-10, **kw)
    grad = coordinate_descent(X, ypm, Logistic(), L1(0.01), update="gradient", block_size=10,
                              tol=1e-10, **kw)
    assert newton.converged and grad.converged
    assert 5 * newton.n_iter < grad.n_iter
    # L2 against L-BFGS-B (accuracy limited by conditioning, as in the tests above)
    C = 0.02
    ref = _logreg_reference(X, ypm, 1 / (C * X.shape[0]))
    res = coordinate_descent(X, ypm, Logistic(), L2(1 / (C * X.shape[0])), update="newton",
                             block_size=5, tol=1e-13, **kw)
    np.testing.assert_allclose(res.coef, ref[:-1], atol=1e-6)
    assert res.intercept == pytest.approx(ref[-1], abs=1e-6)


def test_block_newton_active_set_step_is_exact_and_converges_fast(cancer):
    # the active-set Newton direction solves the block model exactly where the signs
    # are right: equal to coordinate descent on the model run to convergence
    rng = np.random.default_rng(0)
    m = 6
    A = rng.standard_normal((40, m))
    H = A.T @ A / 40
    wb = np.array([0.5, -0.3, 0.0, 0.2, 0.0, -1.0])
    g = -0.01 * np.sign(wb) + 1e-3 * rng.standard_normal(m)
    g[wb == 0] = 1e-4  # zeros stay zero (|g_j| < l1)
    d_act = np.empty(m)
    d_cd = np.empty(m)
    dec = K.block_newton_direction(g, H, wb, 0.01, 0.0, 100000, True, d_act)
    K.block_newton_direction(g, H, wb, 0.01, 0.0, 100000, False, d_cd)
    np.testing.assert_allclose(d_act, d_cd, atol=1e-12)
    act = wb != 0
    np.testing.assert_allclose(H[np.ix_(act, act)] @ d_act[act],
                               -(g[act] + 0.01 * np.sign(wb[act])), atol=1e-14)
    assert np.all(d_act[~act] == 0.0)
    model = g @ d_act + 0.5 * d_act @ H @ d_act + 0.01 * (np.abs(wb + d_act) - np.abs(wb)).sum()
    assert dec < 0 and model < 0
    # one block of all coordinates (proximal Newton), no intercept: the gap falls
    # superlinearly once the support is identified
    X, y = cancer
    res = coordinate_descent(X, 2.0 * y - 1, Logistic(), L1(0.01), update="newton",
                             block_size=30, selection="cyclic", working_set=False,
                             anderson=False, tol=1e-13, return_history=True)
    h = res.history
    assert res.converged and res.n_iter <= 10  # observed 8
    assert h[-1] < 1e-3 * h[-2] and h[-2] < 1e-2 * h[-3]  # observed 2e-15, 8e-9, 2e-5


def test_block_newton_bad_input():
    X, y = _synthetic(n=40, p=8)
    ypm = np.sign(y)
    for sel in ("gs", "gsl", "gsq"):
        with pytest.raises(ValueError, match="block Newton"):
            coordinate_descent(X, y, Quadratic(), L1(0.01), block_size=2, update="newton",
                               selection=sel)
    with pytest.raises(ValueError, match="block Newton"):
        coordinate_descent(X, ypm, Logistic(), L1(0.01), block_size=2, update="newton",
                           selection="gsq")
    with pytest.raises(ValueError, match="needs precompute=False"):
        coordinate_descent(X, y, Quadratic(), L1(0.01), block_size=2, update="newton",
                           selection="cyclic", precompute=True)
    with pytest.raises(ValueError, match="Multinomial"):
        coordinate_descent(X, np.arange(40) % 3, Multinomial(), L1(0.01), block_size=2,
                           update="newton", selection="cyclic")
    with pytest.raises(ValueError, match="update"):
        coordinate_descent(X, y, Quadratic(), L1(0.01), block_size=2, update="hessian")


@pytest.mark.parametrize("datafit", ["quadratic", "logistic"])
def test_block_newton_sparse_matches_dense(datafit):
    rng = np.random.default_rng(4)
    Xs = sp.random(200, 24, density=0.2, format="csc", random_state=4)
    Xd = Xs.toarray()
    w0 = np.where(rng.random(24) < 0.4, rng.standard_normal(24), 0.0)
    y = Xd @ w0 + 0.5 + 0.05 * rng.standard_normal(200)
    if datafit == "quadratic":
        fit, pen, intercept = Quadratic(), ElasticNetPenalty(1e-3, 0.7), True
        ref = _sk_enet(Xs, y, 1e-3, 0.7)
        ref_coef, ref_b = ref.coef_, ref.intercept_
    else:
        # (the sparse logistic intercept is not centred; compare without intercept)
        fit, pen, intercept = Logistic(), L1(0.005), False
        y = np.sign(y - np.median(y))
        one = coordinate_descent(Xd, y, fit, pen, update="newton", selection="cyclic",
                                 tol=1e-13, max_iter=100000)
        ref_coef, ref_b = one.coef, 0.0
    for b in (4, 7):
        for Xin in (Xs, Xd):
            res = coordinate_descent(Xin, y, fit, pen, update="newton", block_size=b,
                                     selection="cyclic", tol=1e-13, fit_intercept=intercept,
                                     max_iter=100000)
            assert res.converged
            np.testing.assert_allclose(res.coef, ref_coef, atol=1e-8 * np.abs(ref_coef).max())
            assert res.intercept == pytest.approx(ref_b, abs=1e-8)
