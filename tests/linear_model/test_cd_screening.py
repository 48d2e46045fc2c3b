"""Gap safe screening in numlearn.linear_model.coordinate_descent.

Safety is checked against scikit-learn's solutions at tight tolerance: a screened feature
must be zero there, and the coefficients must still equal scikit-learn's.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sklm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from numlearn.linear_model import (
    L1,
    L2,
    ElasticNetPenalty,
    Logistic,
    Quadratic,
    coordinate_descent,
    lasso_path,
)
from numlearn.linear_model import _cd_kernels as K


def _problem(sparse, n=120, p=300, seed=0):
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, p, density=0.1, format="csc", random_state=seed)
    else:
        X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[rng.choice(p, 8, replace=False)] = 3 * rng.standard_normal(8)
    y = np.asarray(X @ w).ravel() + 0.1 * rng.standard_normal(n) + 2.0
    return X, y


def _alpha_max(X, y, fit_intercept):
    yc = y - y.mean() if fit_intercept else y
    if sp.issparse(X):
        v = X.T @ yc
    else:
        v = (X - X.mean(0) if fit_intercept else X).T @ yc
    return float(np.abs(v).max()) / X.shape[0]


def _sk_fit(model, X, y):
    """scikit-learn at its tightest (it may stop a hair above tol=1e-15: fine here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _check_safe_and_exact(res, ref_coef, rtol=1e-8):
    zero = ref_coef == 0
    assert res.converged
    assert res.screened.size > 0  # the test is about screening: it must have happened
    # never screens a feature that is nonzero at the optimum
    assert np.all(zero[res.screened]), np.flatnonzero(~zero[res.screened])
    assert np.all(res.coef[res.screened] == 0)
    np.testing.assert_allclose(res.coef, ref_coef, atol=rtol * np.abs(ref_coef).max())


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("selection", ["cyclic", "gsl"])
def test_screening_is_safe_and_matches_sklearn(sparse, fit_intercept, l1_ratio, selection):
    X, y = _problem(sparse)
    alpha = _alpha_max(X, y, fit_intercept) / l1_ratio / 8
    ref = _sk_fit(sklm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-15, max_iter=200000,
                                  fit_intercept=fit_intercept), X, y)
    res = coordinate_descent(X, y, Quadratic(), ElasticNetPenalty(alpha, l1_ratio),
                             tol=1e-14, fit_intercept=fit_intercept, selection=selection,
                             max_iter=100000)
    _check_safe_and_exact(res, ref.coef_)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8 * abs(ref.intercept_) + 1e-12)
    # most zeros are found: the screened set is a large part of the zero set
    assert res.screened.size >= 0.8 * np.count_nonzero(ref.coef_ == 0)


@pytest.mark.parametrize("mode", ["gram", "blocks", "newton_blocks", "no_working_set",
                                  "float32"])
def test_screening_with_other_modes(mode):
    X, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(1)
    X = np.hstack([X, rng.standard_normal((X.shape[0], 40)) * X.std()])  # noise features
    alpha = 0.05
    ref = _sk_fit(sklm.Lasso(alpha=alpha, tol=1e-15, max_iter=200000), X, y)
    kw = dict(tol=1e-14, fit_intercept=True, max_iter=100000, selection="cyclic")
    rtol = 1e-8
    if mode == "gram":
        kw.update(precompute=True, selection="gsl")
    elif mode == "blocks":
        kw.update(block_size=4)
    elif mode == "newton_blocks":
        kw.update(block_size=4, update="newton")
    elif mode == "no_working_set":
        kw.update(working_set=False, selection="random", random_state=0)
    else:
        X = X.astype(np.float32)
        y = y.astype(np.float32)
        ref = _sk_fit(sklm.Lasso(alpha=alpha, tol=1e-15, max_iter=200000), X.astype(float),
                      y.astype(float))
        kw.update(tol=1e-7)
        rtol = 1e-3
    res = coordinate_descent(X, y, Quadratic(), L1(alpha), **kw)
    _check_safe_and_exact(res, ref.coef_, rtol)
    off = coordinate_descent(X, y, Quadratic(), L1(alpha), screening=False, **kw)
    assert off.screened.size == 0
    np.testing.assert_allclose(res.coef, off.coef, atol=rtol * np.abs(off.coef).max())


@pytest.mark.parametrize("sparse", [False, True])
def test_screening_l1_logistic_is_safe(sparse):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(0)
    X = np.hstack([X, rng.standard_normal((X.shape[0], 30))])
    ypm = 2.0 * y - 1.0
    n = X.shape[0]
    alpha = 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sklm.LogisticRegression(C=1.0 / (n * alpha), l1_ratio=1.0, solver="liblinear",
                                      penalty="l1", fit_intercept=False, tol=1e-12,
                                      max_iter=100000).fit(X, y)
    Xin = sp.csc_matrix(X) if sparse else X
    res = coordinate_descent(Xin, ypm, Logistic(), L1(alpha), tol=1e-13, max_iter=100000,
                             selection="cyclic")
    assert res.converged and res.screened.size > 0
    zero = res.coef == 0
    assert np.all(zero[res.screened])
    np.testing.assert_allclose(res.coef, ref.coef_.ravel(), atol=1e-5)
    # liblinear's zero set, where its coefficients are clearly nonzero, is respected
    assert np.all(np.abs(ref.coef_.ravel()[res.screened]) < 1e-6)
    off = coordinate_descent(Xin, ypm, Logistic(), L1(alpha), tol=1e-13, max_iter=100000,
                             selection="cyclic", screening=False)
    np.testing.assert_allclose(res.coef, off.coef, atol=1e-9)


def test_screening_only_where_the_gap_is_valid():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:200]
    ypm = 2.0 * y[:200] - 1.0
    # logistic with intercept (dual constraint Σθ = 0 not in the gap) or an L2 part: off
    res = coordinate_descent(X, ypm, Logistic(), L1(0.05), tol=1e-10, fit_intercept=True)
    assert res.converged and res.screened.size == 0
    res = coordinate_descent(X, ypm, Logistic(), ElasticNetPenalty(0.05, 0.5), tol=1e-10)
    assert res.converged and res.screened.size == 0
    # no L1 part: nothing to screen
    res = coordinate_descent(X, ypm * 2, Quadratic(), L2(0.1), tol=1e-10)
    assert res.converged and res.screened.size == 0


def test_screening_from_far_away_is_safe():
    # starting from random coefficients (huge gap) the safe ball is large; whatever is
    # screened along the way must be zero at the optimum (many seeds, both designs)
    for seed in range(6):
        X, y = _problem(seed % 2 == 1, n=60, p=150, seed=seed)
        alpha = _alpha_max(X, y, True) / 5
        ref = _sk_fit(sklm.Lasso(alpha=alpha, tol=1e-15, max_iter=200000), X, y)
        w0 = np.random.default_rng(seed).standard_normal(150)
        res = coordinate_descent(X, y, Quadratic(), L1(alpha), tol=1e-13, fit_intercept=True,
                                 warm_start=w0, selection="cyclic", max_iter=100000)
        _check_safe_and_exact(res, ref.coef_)


def test_gap_safe_kernel_matches_sklearn_rule():
    # scikit-learn's rule (cd_fast.pyx, Eq. 11 of Fercoq et al.) in its unscaled units:
    # keep j iff (1 - |x_jᵀθ|) / √(‖x_j‖² + β) ≤ √(2 gap) / α, θ = A / max(α, ‖XᵀA - βw‖_∞)
    rng = np.random.default_rng(4)
    n, p = 50, 200
    X = rng.standard_normal((n, p))
    y = X[:, :3] @ np.array([2.0, -1.0, 1.0]) + 0.1 * rng.standard_normal(n)
    l1, l2 = 0.1, 0.05
    # an approximate solution (scikit-learn at a loose tolerance): a moderate gap
    w = sklm.ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), fit_intercept=False,
                        tol=1e-3).fit(X, y).coef_
    w[np.abs(w) < 1e-3] = 0.0
    r = y - X @ w
    grad = -(X.T @ r) / n
    kkt = np.empty(p)
    gap, _ = K.enet_gap_kkt(r, y, w, grad, l1, l2, kkt)
    screened = np.zeros(p, dtype=bool)
    count = K.gap_safe_screen(w, grad, (X**2).sum(0) / n, l1, l2, gap, screened)
    alpha, beta = n * l1, n * l2
    XtA = X.T @ r - beta * w
    theta_x = XtA / max(alpha, np.abs(XtA).max())
    d = (1 - np.abs(theta_x)) / np.sqrt((X**2).sum(0) + beta)
    expected = d > np.sqrt(2 * gap * n) / alpha
    assert 0 < count == expected.sum() < p
    np.testing.assert_array_equal(screened, expected)
    # already screened coordinates are skipped and not counted again
    assert K.gap_safe_screen(w, grad, (X**2).sum(0) / n, l1, l2, gap, screened) == 0


def test_dense_column_products():
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((30, 12)))
    v = rng.standard_normal(30)
    cols = np.array([5, 0, 11], dtype=np.int64)
    out = K.dense_rmatvec_cols(X, v, cols, np.empty(3))
    np.testing.assert_allclose(out, X[:, cols].T @ v, rtol=1e-13)
    out32 = K.dense_rmatvec_cols(X.astype(np.float32), v, cols, np.empty(3))
    np.testing.assert_allclose(out32, X[:, cols].T @ v, rtol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_path_with_screening_matches_sklearn(sparse):
    X, y = _problem(sparse, n=100, p=250, seed=3)
    y = y - y.mean()
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=8, eps=1e-2, tol=1e-13,
                                     selection="cyclic", precompute=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, ref, _ = sklm.lasso_path(X, y, alphas=alphas, tol=1e-15, max_iter=200000)
    np.testing.assert_allclose(coefs, ref, atol=1e-8 * np.abs(ref).max())
    _, off, _ = lasso_path(X, y, alphas=alphas, tol=1e-13, selection="cyclic",
                           precompute=False, screening=False)
    np.testing.assert_allclose(coefs, off, atol=1e-9 * np.abs(off).max())


def test_nonconvergence_with_screening_still_warns():
    X, y = _problem(True)
    with pytest.warns(ConvergenceWarning, match="duality gap"):
        res = coordinate_descent(X, y, Quadratic(), L1(1e-3), tol=1e-14, max_iter=2,
                                 fit_intercept=True)
    assert not res.converged
    with pytest.raises(TypeError):
        coordinate_descent(X, y, Quadratic(), L1(0.1), screening=True, bogus=1)


# ---------------------------------------------------------------------------------------
# Gradients only where they can matter (bounds) and moved incrementally (sparse paths)
# ---------------------------------------------------------------------------------------
def test_csc_gram_update_matches_numpy():
    rng = np.random.default_rng(5)
    X = sp.random(40, 30, density=0.2, format="csc", random_state=5)
    X.data[:] = np.round(X.data * 4)  # small integers: exact cancellations happen
    R = X.tocsr()
    cols = np.array([2, 7, 11, 20], dtype=np.int64)
    dw = np.array([1.0, -1.0, 0.5, 2.0])
    # make one row cancel exactly: column 7 copies column 2 (then dw sums to 0 there)
    X = X.tolil()
    X[:, 7] = X[:, 2]
    X = X.tocsc()
    X.sort_indices()
    R = X.tocsr()
    R.sort_indices()
    v = np.zeros(40)
    out = rng.standard_normal(30)
    expected = out + X.T @ (X[:, cols] @ dw)
    K.csc_gram_update(X.indptr, X.indices, X.data, R.indptr, R.indices, R.data, cols, dw,
                      v, out)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    assert not v.any()  # the work vector is left zero


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_bounded_gradients_give_the_full_gap(monkeypatch, sparse, fit_intercept):
    # without screening, the gaps reported along a path (computed from gradients skipped
    # where bounds allow, or moved incrementally) equal gaps recomputed from scratch
    X, y = _problem(sparse, n=150, p=400, seed=6)
    alphas = _alpha_max(X, y, fit_intercept) * np.geomspace(1, 0.02, 10)
    kw = dict(tol=1e-7, selection="cyclic", precompute=False, screening=False,
              fit_intercept=fit_intercept)
    yc = y - y.mean() if fit_intercept else y
    scale = float(yc @ yc) / len(y)
    _, coefs, gaps = lasso_path(X, y, alphas=alphas, **kw)
    for k, a in enumerate(alphas):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = coordinate_descent(X, y, Quadratic(), L1(a), max_iter=0, tol=0.0,
                                     warm_start=coefs[:, k], fit_intercept=fit_intercept)
        # (equal up to rounding in the gap formula, ~1e-15 of its unit)
        assert gaps[k] == pytest.approx(ref.dual_gap, rel=1e-6, abs=1e-12 * scale)
    # and the coefficients are those computed with every gradient in full
    import numlearn.linear_model._coordinate_descent as CD

    monkeypatch.setattr(CD, "_BOUNDS", False)
    _, plain, _ = lasso_path(X, y, alphas=alphas, **kw)
    np.testing.assert_allclose(coefs, plain, atol=1e-7 * np.abs(plain).max())


def test_sparse_path_uses_far_fewer_gradient_passes(monkeypatch):
    import numlearn.linear_model._coordinate_descent as CD

    rng = np.random.default_rng(7)
    X = sp.random(3000, 2000, density=0.004, format="csc", random_state=7)
    w = np.where(rng.random(2000) < 0.01, rng.standard_normal(2000), 0.0)
    y = X @ w + 0.01 * rng.standard_normal(3000)
    passes = {}
    for bounds in (True, False):
        monkeypatch.setattr(CD, "_BOUNDS", bounds)
        count = [0]
        grad, grad_subset = CD._Problem.grad, CD._Problem.grad_subset

        def counted(self, cols=None, _g=grad, _c=count):
            _c[0] += self.p if cols is None else len(cols)
            return _g(self, cols)

        def counted_subset(self, cols, _g=grad_subset, _c=count):
            _c[0] += len(cols)
            return _g(self, cols)

        monkeypatch.setattr(CD._Problem, "grad", counted)
        monkeypatch.setattr(CD._Problem, "grad_subset", counted_subset)
        _, coefs, _ = lasso_path(X, y, n_alphas=15, eps=1e-2, tol=1e-8, selection="cyclic")
        passes[bounds] = count[0] / X.shape[1]
        monkeypatch.setattr(CD._Problem, "grad", grad)
        monkeypatch.setattr(CD._Problem, "grad_subset", grad_subset)
    assert passes[True] < 0.2 * passes[False], passes  # 1 against 38 full passes
