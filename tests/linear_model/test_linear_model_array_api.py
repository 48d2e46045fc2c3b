"""numlearn.linear_model on non-NumPy array-API inputs: the parallel coordinate descent.

``array_api_strict`` runs the generic path on the CPU; it must reach the optimum of the
NumPy (sequential) engine and of scikit-learn/closed forms, stop on the same duality gap,
and return its arrays in the inputs' namespace. The fused step kernel is checked under the
CUDA simulator against its CPU twin, and the ``gpu`` tests run the same checks on CuPy.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn import linear_model as sklm
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import non_numpy_namespace, to_numpy
from numlearn._result import Status
from numlearn.linear_model import (
    L1,
    L2,
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
from numlearn.linear_model._cd_parallel import (
    launch_prox_step_cuda,
    prox_step_cpu,
    solve_parallel,
)

xps = pytest.importorskip("array_api_strict")
ARRAY = type(xps.asarray(0.0))


def _data(n=80, p=25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1] += 0.5 * X[:, 0]  # some correlation
    y = X[:, :4] @ np.array([1.5, -2.0, 1.0, 0.5]) + 0.3 * rng.standard_normal(n) + 1.0
    labels = np.where(X[:, :3] @ np.array([1.0, -1.0, 0.5]) + 0.7 * rng.standard_normal(n)
                      > 0.2, 1.0, -1.0)
    return X, y, labels


def _np(a):
    return np.asarray(to_numpy(a))


def _logreg_l2(X, ypm, alpha):
    """Reference: L-BFGS on the L2-logistic objective with intercept (mean loss)."""
    n, p = X.shape

    def f(v):
        w, b = v[:-1], v[-1]
        z = X @ w + b
        s = -ypm / (1 + np.exp(ypm * z)) / n
        val = np.mean(np.logaddexp(0, -ypm * z)) + alpha / 2 * w @ w
        return val, np.append(X.T @ s + alpha * w, s.sum())

    return minimize(f, np.zeros(p + 1), jac=True, method="L-BFGS-B",
                    options=dict(gtol=1e-14, ftol=1e-16, maxiter=100000)).x


# --------------------------------------------------------------------------------------
# the solver function
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("penalty", [L1(0.05), ElasticNetPenalty(0.1, 0.4)])
def test_quadratic_matches_numpy_engine_and_sklearn(penalty, fit_intercept):
    X, y, _ = _data()
    ref = coordinate_descent(X, y, Quadratic(), penalty, tol=1e-12, fit_intercept=fit_intercept)
    res = coordinate_descent(xps.asarray(X), xps.asarray(y), Quadratic(), penalty, tol=1e-12,
                             fit_intercept=fit_intercept)
    assert res.converged and res.status is Status.SUCCESS
    assert type(res.coef) is ARRAY and res.coef.dtype == xps.float64
    assert res.coef.shape == (X.shape[1],)
    np.testing.assert_allclose(_np(res.coef), ref.coef, atol=1e-8)
    assert res.intercept == pytest.approx(ref.intercept, abs=1e-8)
    # same stopping rule and units: gap <= tol ||y_c||^2 / n, as the NumPy engine
    assert res.tol_abs == pytest.approx(ref.tol_abs, rel=1e-12)
    assert 0 <= res.dual_gap <= res.tol_abs
    assert res.objective == pytest.approx(ref.objective, rel=1e-10)
    assert type(res.intercept) is float and type(res.dual_gap) is float
    l1_ratio = penalty.l1 / penalty.alpha
    sk = sklm.ElasticNet(alpha=penalty.alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000,
                         fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(_np(res.coef), sk.coef_, atol=1e-6)


def test_gap_is_the_numpy_engines_formula():
    """The reported gap at the returned coef equals the NumPy engine's gap there."""
    from numlearn.linear_model._coordinate_descent import _Problem

    X, y, labels = _data(seed=1)
    for datafit, target, pen in ((Quadratic(), y, L1(0.1)), (Logistic(), labels, L1(0.02)),
                                 (Logistic(), labels, ElasticNetPenalty(0.05, 0.5))):
        res = coordinate_descent(xps.asarray(X), xps.asarray(target), datafit, pen, tol=1e-3)
        w = _np(res.coef)
        prob = _Problem(np.asfortranarray(X), target, datafit, pen, False)
        prob.init_state(w)
        assert res.dual_gap == pytest.approx(prob.gap(w), rel=1e-9, abs=1e-15)
        assert res.dual_gap <= res.tol_abs


@pytest.mark.parametrize("pen", ["l1", "l2"])
def test_logistic_matches_numpy_engine_and_references(pen):
    X, _, labels = _data(seed=2)
    n = X.shape[0]
    if pen == "l1":
        penalty, fit_intercept = L1(0.03), False
    else:
        penalty, fit_intercept = L2(0.1), True
    ref = coordinate_descent(X, labels, Logistic(), penalty, tol=1e-13,
                             fit_intercept=fit_intercept)
    res = coordinate_descent(xps.asarray(X), xps.asarray(labels), Logistic(), penalty,
                             tol=1e-13, fit_intercept=fit_intercept, max_iter=5000)
    assert res.converged and res.dual_gap <= 1e-13 * np.log(2)
    assert res.tol_abs == pytest.approx(1e-13 * np.log(2))
    np.testing.assert_allclose(_np(res.coef), ref.coef, atol=1e-6)
    assert res.intercept == pytest.approx(ref.intercept, abs=1e-6)
    if pen == "l1":  # liblinear, no intercept: C Σ loss + ‖w‖₁ with C = 1 / (alpha n)
        sk = sklm.LogisticRegression(l1_ratio=1.0, C=1 / (0.03 * n), solver="liblinear",
                                     fit_intercept=False, tol=1e-12, max_iter=100000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk.fit(X, labels)
        np.testing.assert_allclose(_np(res.coef), sk.coef_[0], atol=1e-5)
        assert np.count_nonzero(_np(res.coef)) == np.count_nonzero(ref.coef)
    else:
        v = _logreg_l2(X, labels, 0.1)
        np.testing.assert_allclose(_np(res.coef), v[:-1], atol=1e-6)
        assert res.intercept == pytest.approx(v[-1], abs=1e-6)


def test_ridge_and_least_squares_closed_forms():
    X, y, _ = _data(n=60, p=10, seed=3)
    Xc, yc = X - X.mean(0), y - y.mean()
    n = X.shape[0]
    alpha = 0.3
    ridge = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(10), Xc.T @ yc / n)
    res = coordinate_descent(xps.asarray(X), xps.asarray(y), Quadratic(), L2(alpha),
                             tol=1e-14, fit_intercept=True)
    np.testing.assert_allclose(_np(res.coef), ridge, atol=1e-7)
    assert res.intercept == pytest.approx(y.mean() - X.mean(0) @ ridge, abs=1e-7)
    ols = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    res = coordinate_descent(xps.asarray(X), xps.asarray(y), Quadratic(), NoPenalty(),
                             tol=1e-10, fit_intercept=True, max_iter=5000)
    assert res.converged and np.isnan(res.dual_gap)
    np.testing.assert_allclose(_np(res.coef), ols, atol=1e-8)


def test_float32_in_float32_out_and_inputs_untouched():
    X, y, _ = _data(seed=4)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    Xs, ys = xps.asarray(X32), xps.asarray(y32)
    before = (_np(Xs).copy(), _np(ys).copy())
    warm = xps.asarray(np.full(X.shape[1], 0.1))
    res = coordinate_descent(Xs, ys, Quadratic(), L1(0.05), tol=1e-6, fit_intercept=True,
                             warm_start=warm)
    assert res.coef.dtype == xps.float32 and res.converged
    ref = coordinate_descent(X32, y32, Quadratic(), L1(0.05), tol=1e-6, fit_intercept=True)
    np.testing.assert_allclose(_np(res.coef), ref.coef, atol=2e-4)
    np.testing.assert_array_equal(_np(Xs), before[0])
    np.testing.assert_array_equal(_np(ys), before[1])
    np.testing.assert_array_equal(_np(warm), 0.1)


def test_history_callback_verbose_monotone_and_max_iter(capsys):
    X, y, _ = _data(seed=5)
    Xs, ys = xps.asarray(X), xps.asarray(y)
    res = coordinate_descent(Xs, ys, Quadratic(), L1(0.02), tol=1e-10, return_history=True)
    obj = res.objective_history
    assert len(obj) == res.n_iter + 1 and res.updates_history[-1] == res.n_iter * X.shape[1]
    # monotone: the restart never lets the objective increase
    assert np.all(np.diff(obj) <= 1e-12 * abs(obj[0]))
    assert res.history[-1] == res.dual_gap
    # checks after iterations 0, 1, 2, 4, 8, 10, 20, ...
    assert len(res.history) == 4 + res.n_iter // 10 + (res.n_iter >= 8)
    seen = []

    def callback(coef):
        seen.append(type(coef))
        if len(seen) == 3:
            raise StopIteration

    res = coordinate_descent(Xs, ys, Quadratic(), L1(0.02), callback=callback)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 3 and seen[0] is ARRAY
    assert res.dual_gap > 0
    res = coordinate_descent(Xs, ys, Quadratic(), L1(0.02), tol=1e-6, verbose=2)
    out = capsys.readouterr().out
    assert out.count("coordinate_descent: iter") == len(
        coordinate_descent(Xs, ys, Quadratic(), L1(0.02), tol=1e-6,
                           return_history=True).history)  # the last line is not repeated
    with pytest.warns(ConvergenceWarning, match="did not converge after 5 epochs"):
        res = coordinate_descent(Xs, ys, Quadratic(), L1(0.001), tol=1e-14, max_iter=5)
    assert not res.converged and res.status is Status.MAX_ITER and res.n_iter == 5


def test_bad_input():
    X, y, labels = _data(n=20, p=5)
    Xs, ys = xps.asarray(X), xps.asarray(y)
    Xnan = X.copy()
    Xnan[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        coordinate_descent(xps.asarray(Xnan), ys, Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="y must be a vector of length 20"):
        coordinate_descent(Xs, ys[:10], Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="2-dimensional"):
        coordinate_descent(ys, ys, Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="labels -1 and \\+1"):
        coordinate_descent(Xs, ys, Logistic(), L1(0.1))
    with pytest.raises(TypeError, match="datafit must be"):
        coordinate_descent(Xs, ys, "quadratic", L1(0.1))
    with pytest.raises(TypeError, match="penalty must be"):
        coordinate_descent(Xs, ys, Quadratic(), 0.1)
    with pytest.raises(ValueError, match="selection='random' is a sequential rule"):
        coordinate_descent(Xs, ys, Quadratic(), L1(0.1), selection="random")
    with pytest.raises(ValueError, match="selection must be one of"):
        coordinate_descent(Xs, ys, Quadratic(), L1(0.1), selection="bogus")
    with pytest.raises(ValueError, match="block_size > 1"):
        coordinate_descent(Xs, ys, Quadratic(), L1(0.1), block_size=4)
    with pytest.raises(ValueError, match="update='newton'"):
        coordinate_descent(Xs, xps.asarray(labels), Logistic(), L1(0.1), update="newton")
    with pytest.raises(ValueError, match="precompute=True"):
        coordinate_descent(Xs, ys, Quadratic(), L1(0.1), precompute=True)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        coordinate_descent(Xs, ys, Quadratic(), L1(0.1), tol=-1.0)
    with pytest.raises(ValueError, match="warm_start must be a vector of length 5"):
        coordinate_descent(Xs, ys, Quadratic(), L1(0.1), warm_start=np.zeros(3))
    with pytest.raises(ValueError, match="at least one sample"):
        coordinate_descent(xps.zeros((0, 3)), xps.zeros((0,)), Quadratic(), L1(0.1))
    with pytest.raises(TypeError, match="X must be an array of the namespace"):
        coordinate_descent([[1.0, 2.0]], xps.asarray([1.0]), Quadratic(), L1(0.1))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_design_code_on_the_cpu(fmt):
    """The sparse branch (cupyx on a GPU) run with SciPy matrices and NumPy's namespace:
    implicit centring keeps X sparse and reaches the NumPy engine's optimum."""
    import array_api_compat.numpy as cnp

    X, y, labels = _data(n=60, p=15, seed=14)
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    for datafit, target, pen in ((Quadratic(), y, L1(0.05)), (Logistic(), labels, L1(0.01))):
        ref = coordinate_descent(X, target, datafit, pen, tol=1e-12, fit_intercept=True)
        res = solve_parallel(Xs, target, datafit, pen, xp=cnp, tol=1e-12, fit_intercept=True,
                             max_iter=5000)
        assert res.converged and sp.issparse(Xs)
        np.testing.assert_allclose(res.coef, ref.coef, atol=1e-7)
        assert res.intercept == pytest.approx(ref.intercept, abs=1e-7)
        assert res.n_products >= 2 * res.n_iter


def test_dispatch_keeps_numpy_inputs_on_the_numpy_engine():
    X, y, _ = _data(n=20, p=5)
    assert non_numpy_namespace(X, y) is None
    assert non_numpy_namespace(sp.csc_matrix(X), list(y)) is None
    assert non_numpy_namespace(xps.asarray(X), xps.asarray(y)) is not None
    with pytest.raises(TypeError, match="single array library"):
        non_numpy_namespace(X, xps.asarray(y))
    res = coordinate_descent(X, y, Quadratic(), L1(0.1))
    assert isinstance(res.coef, np.ndarray) and "beta" not in res


# --------------------------------------------------------------------------------------
# estimators and paths
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("Est,kw", [(Lasso, dict(alpha=0.05)),
                                    (ElasticNet, dict(alpha=0.1, l1_ratio=0.3))])
def test_regressors_in_namespace(Est, kw):
    X, y, _ = _data(seed=6)
    ref = Est(tol=1e-11, **kw).fit(X, y)
    est = Est(tol=1e-11, **kw).fit(xps.asarray(X), xps.asarray(y))
    assert type(est.coef_) is ARRAY and type(est.intercept_) is ARRAY
    assert est.intercept_.shape == () and est.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(_np(est.coef_), ref.coef_, atol=1e-7)
    assert float(est.intercept_) == pytest.approx(ref.intercept_, abs=1e-7)
    assert est.dual_gap_ <= 1e-11 * np.var(y)
    pred = est.predict(xps.asarray(X))
    assert type(pred) is ARRAY
    np.testing.assert_allclose(_np(pred), ref.predict(X), atol=1e-6)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-6)  # NumPy in
    sk = getattr(sklm, Est.__name__)(tol=1e-12, max_iter=100000, **kw).fit(X, y)
    np.testing.assert_allclose(_np(est.coef_), sk.coef_, atol=1e-6)
    # warm start from the fitted coef: converged at once
    est.set_params(warm_start=True)
    est.fit(xps.asarray(X), xps.asarray(y))
    assert est.n_iter_ == 0
    with pytest.raises(ValueError, match="X has 3 features"):
        est.predict(xps.asarray(X[:, :3]))
    with pytest.raises(ValueError, match="selection='gsq' is a sequential rule"):
        Est(selection="gsq", **kw).fit(xps.asarray(X), xps.asarray(y))


@pytest.mark.parametrize("penalty,C", [("l1", 0.5), ("l2", 0.2), ("elasticnet", 0.5)])
def test_logistic_regression_in_namespace(penalty, C):
    X, _, labels = _data(seed=7)
    y = np.where(labels > 0, 7, 3)
    kw = dict(penalty=penalty, C=C, tol=1e-12, max_iter=5000,
              l1_ratio=0.5 if penalty == "elasticnet" else None)
    ref = LogisticRegression(**kw).fit(X, y)
    est = LogisticRegression(**kw).fit(xps.asarray(X), xps.asarray(y))
    assert type(est.coef_) is ARRAY and est.coef_.shape == (1, X.shape[1])
    assert type(est.intercept_) is ARRAY and est.intercept_.shape == (1,)
    np.testing.assert_array_equal(_np(est.classes_), [3, 7])
    np.testing.assert_allclose(_np(est.coef_), ref.coef_, atol=1e-5)
    np.testing.assert_allclose(_np(est.intercept_), ref.intercept_, atol=1e-5)
    Xs = xps.asarray(X)
    pred = est.predict(Xs)
    assert type(pred) is ARRAY and pred.dtype == xps.int64
    np.testing.assert_array_equal(_np(pred), ref.predict(X))
    proba = est.predict_proba(Xs)
    assert type(proba) is ARRAY
    np.testing.assert_allclose(_np(proba), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(_np(est.decision_function(Xs)), ref.decision_function(X),
                               atol=1e-5)


def test_logistic_regression_errors_and_multinomial():
    X, _, labels = _data(n=60, p=6, seed=8)
    Xs = xps.asarray(X)
    with pytest.raises(ValueError, match="update='newton'"):
        LogisticRegression(update="newton").fit(Xs, xps.asarray(labels))
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(Xs, xps.ones((60,)))
    y3 = np.random.default_rng(0).integers(0, 3, 60)
    kw = dict(penalty="l1", C=2.0, tol=1e-12, max_iter=10000)
    ref = LogisticRegression(**kw).fit(X, y3)
    est = LogisticRegression(**kw).fit(Xs, xps.asarray(y3))
    assert type(est.coef_) is ARRAY and est.coef_.shape == (3, 6)
    assert type(est.intercept_) is ARRAY and est.intercept_.shape == (3,)
    np.testing.assert_allclose(_np(est.coef_), ref.coef_, atol=1e-7)
    np.testing.assert_allclose(_np(est.intercept_), ref.intercept_, atol=1e-7)
    assert est.dual_gap_ <= 1e-12 * np.log(3)
    np.testing.assert_array_equal(_np(est.predict(Xs)), ref.predict(X))
    np.testing.assert_allclose(_np(est.predict_proba(Xs)), ref.predict_proba(X), atol=1e-7)


def test_multinomial_engine_matches_numpy_engine():
    X, _, _ = _data(n=60, p=6, seed=15)
    y3 = np.random.default_rng(1).integers(0, 3, 60).astype(float)
    Xs, ys = xps.asarray(X), xps.asarray(y3)
    for pen, fi, tol, atol in ((L1(0.03), False, 1e-12, 1e-8), (L2(0.2), True, 1e-14, 1e-6)):
        ref = coordinate_descent(X, y3, Multinomial(), pen, tol=tol, fit_intercept=fi,
                                 selection="cyclic", max_iter=20000)
        res = coordinate_descent(Xs, ys, Multinomial(), pen, tol=tol, fit_intercept=fi,
                                 max_iter=20000)
        assert res.converged and type(res.coef) is ARRAY and res.coef.shape == (6, 3)
        assert res.tol_abs == pytest.approx(tol * np.log(3))
        np.testing.assert_allclose(_np(res.coef), ref.coef, atol=atol)
        np.testing.assert_allclose(_np(res.intercept), ref.intercept, atol=atol)
    with pytest.raises(ValueError, match="class indices"):
        coordinate_descent(Xs, ys - 1.0, Multinomial(), L1(0.1))
    with pytest.raises(ValueError, match="warm_start must have shape \\(6, 3\\)"):
        coordinate_descent(Xs, ys, Multinomial(), L1(0.1), warm_start=np.zeros(6))


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_paths_in_namespace(l1_ratio):
    X, y, _ = _data(n=50, p=12, seed=9)
    X, y = X - X.mean(0), y - y.mean()
    ref = enet_path(X, y, l1_ratio=l1_ratio, n_alphas=6, tol=1e-10)
    if l1_ratio == 1.0:
        out = lasso_path(xps.asarray(X), xps.asarray(y), n_alphas=6, tol=1e-10)
    else:
        out = enet_path(xps.asarray(X), xps.asarray(y), l1_ratio=l1_ratio, n_alphas=6,
                        tol=1e-10)
    for a in out:
        assert type(a) is ARRAY
    np.testing.assert_allclose(_np(out[0]), ref[0], rtol=1e-12)
    np.testing.assert_allclose(_np(out[1]), ref[1], atol=1e-6)
    assert np.all(_np(out[2]) <= 1e-10 * np.mean(y**2))
    sk = sklm.enet_path(X, y, l1_ratio=l1_ratio, alphas=ref[0], tol=1e-12, max_iter=100000)
    np.testing.assert_allclose(_np(out[1]), sk[1], atol=1e-6)


# --------------------------------------------------------------------------------------
# the CUDA step kernel (simulator) and the solver on it
# --------------------------------------------------------------------------------------
@pytest.mark.cudasim
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keep,l1,l2", [(False, 0.3, 0.1), (False, 0.0, 0.5), (True, 0.0, 0.0)])
def test_prox_step_kernel_matches_cpu_twin(dtype, keep, l1, l2):
    rng = np.random.default_rng(10)
    p = 70  # 3 blocks of 32 threads
    v, g = rng.standard_normal((2, p)).astype(dtype)
    lip = rng.random(p).astype(dtype)
    lip[[3, 40]] = 0.0
    w_cpu, d_cpu = np.empty_like(v), np.empty_like(v)
    acc_cpu = prox_step_cpu(v, g, lip, 1.7, l1, l2, keep, w_cpu, d_cpu)
    w, d, acc = np.empty_like(v), np.empty_like(v), np.zeros(1)
    launch_prox_step_cuda(v, g, lip, 1.7, l1, l2, keep, w, d, acc, threads_per_block=32)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(w, w_cpu, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(d, d_cpu, rtol=rtol, atol=rtol)
    assert acc[0] == pytest.approx(acc_cpu, rel=rtol)
    # the closed form: soft-thresholding then shrinkage at step 1 / (β L)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1.0 / (1.7 * lip.astype(np.float64))
        u = v - s * g
        ref = np.sign(u) * np.maximum(np.abs(u) - s * l1, 0) / (1 + s * l2)
    ref[lip == 0] = v[lip == 0] if keep else 0.0
    np.testing.assert_allclose(w, ref, rtol=10 * rtol, atol=10 * rtol)
    with pytest.raises(ValueError, match="power of two"):
        launch_prox_step_cuda(v, g, lip, 1.7, l1, l2, keep, w, d, acc, threads_per_block=48)


@pytest.mark.cudasim
def test_solver_on_the_cuda_kernel_matches_xp_step():
    import array_api_compat.numpy as cnp

    X, y, labels = _data(n=30, p=8, seed=11)
    y3 = np.random.default_rng(2).integers(0, 3, 30).astype(float)
    for datafit, target, pen in ((Quadratic(), y, L1(0.05)), (Logistic(), labels, L1(0.05)),
                                 (Multinomial(), y3, L1(0.1))):
        kw = dict(xp=cnp, tol=1e-4, fit_intercept=True, max_iter=40, check_every=4)
        a = solve_parallel(X, target, datafit, pen, _step="cuda", **kw)
        b = solve_parallel(X, target, datafit, pen, _step="xp", **kw)
        assert a.converged and a.n_iter == b.n_iter
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-12)
        ref = coordinate_descent(X, target, datafit, pen, tol=1e-12, fit_intercept=True,
                                 selection="cyclic")
        np.testing.assert_allclose(a.coef, ref.coef, atol=1e-3)


# --------------------------------------------------------------------------------------
# real GPU (skipped without one)
# --------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cupy_lasso_and_logistic(fmt, dtype):
    cupy = pytest.importorskip("cupy")
    import cupyx.scipy.sparse as csp

    rng = np.random.default_rng(12)
    X = rng.standard_normal((400, 120))
    X[rng.random(X.shape) < 0.7] = 0.0
    X = X.astype(dtype)
    y = (X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(400)).astype(dtype)
    labels = np.where(y > 0, 1.0, -1.0).astype(dtype)
    Xg = cupy.asarray(X)
    if fmt != "dense":
        Xg = getattr(csp, f"{fmt}_matrix")(Xg)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    atol = 1e-6 if dtype == np.float64 else 1e-3
    for datafit, target, pen in ((Quadratic(), y, L1(0.05)), (Logistic(), labels, L1(0.01))):
        ref = coordinate_descent(X.astype(np.float64), target.astype(np.float64), datafit, pen,
                                 tol=1e-12, fit_intercept=True)
        res = coordinate_descent(Xg, cupy.asarray(target), datafit, pen, tol=tol,
                                 fit_intercept=True, max_iter=20000)
        assert isinstance(res.coef, cupy.ndarray) and res.coef.dtype == dtype
        assert res.converged
        np.testing.assert_allclose(res.coef.get(), ref.coef, atol=atol)
        assert res.intercept == pytest.approx(ref.intercept, abs=atol)


@pytest.mark.gpu
def test_cupy_estimators_and_path():
    cupy = pytest.importorskip("cupy")

    X, y, labels = _data(n=300, p=40, seed=13)
    Xg = cupy.asarray(X)
    ref = Lasso(alpha=0.05, tol=1e-10).fit(X, y)
    est = Lasso(alpha=0.05, tol=1e-10).fit(Xg, cupy.asarray(y))
    assert isinstance(est.coef_, cupy.ndarray) and isinstance(est.predict(Xg), cupy.ndarray)
    np.testing.assert_allclose(est.coef_.get(), ref.coef_, atol=1e-7)
    y3 = np.random.default_rng(0).integers(0, 3, X.shape[0])
    multi = LogisticRegression(penalty="l1", C=0.5, tol=1e-10).fit(Xg, cupy.asarray(y3))
    multi_ref = LogisticRegression(penalty="l1", C=0.5, tol=1e-10).fit(X, y3)
    np.testing.assert_allclose(multi.coef_.get(), multi_ref.coef_, atol=1e-5)
    clf = LogisticRegression(penalty="l1", C=0.5, tol=1e-10).fit(Xg, cupy.asarray(labels))
    clf_ref = LogisticRegression(penalty="l1", C=0.5, tol=1e-10).fit(X, labels)
    np.testing.assert_allclose(clf.coef_.get(), clf_ref.coef_, atol=1e-5)
    assert isinstance(clf.predict_proba(Xg), cupy.ndarray)
    alphas, coefs, gaps = lasso_path(Xg, cupy.asarray(y), n_alphas=5, tol=1e-8)
    assert isinstance(coefs, cupy.ndarray)
    np.testing.assert_allclose(coefs.get(), lasso_path(X, y, n_alphas=5, tol=1e-8)[1],
                               atol=1e-5)
