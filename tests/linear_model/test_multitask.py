"""MultiTaskLasso / MultiTaskElasticNet against scikit-learn's."""

import numpy as np
import pytest
from sklearn import linear_model as sk
from sklearn.exceptions import ConvergenceWarning

from numlearn.linear_model import MultiTaskElasticNet, MultiTaskLasso
from numlearn.linear_model._multitask import _bcd_epoch, multitask_enet


def _data(n=120, p=30, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = np.zeros((T, p))
    W[:, :5] = rng.standard_normal((T, 5))
    Y = X @ W.T + 0.1 * rng.standard_normal((n, T)) + 3.0
    return X, Y, rng.uniform(0.2, 2.0, n)


@pytest.mark.parametrize("cls, kw", [(MultiTaskLasso, {}),
                                     (MultiTaskElasticNet, {"l1_ratio": 0.3})])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_sklearn(cls, kw, fit_intercept, weighted):
    X, Y, sw = _data()
    sw = sw if weighted else None
    params = dict(alpha=0.1, tol=1e-12, max_iter=100_000, fit_intercept=fit_intercept, **kw)
    ref = getattr(sk, cls.__name__)(**params).fit(X, Y, sample_weight=sw)
    X0, Y0 = X.copy(), Y.copy()
    est = cls(**params).fit(X, Y, sample_weight=sw)
    assert est.coef_.shape == (3, 30) and est.intercept_.shape == (3,)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-6)
    assert np.count_nonzero(np.linalg.norm(est.coef_, axis=0)) == \
        np.count_nonzero(np.linalg.norm(ref.coef_, axis=0))
    assert est.dual_gap_ <= est.eps_
    np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-5)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_integer_weights_equal_repeated_rows():
    X, Y, _ = _data(n=40, p=10)
    w = np.random.default_rng(1).integers(0, 4, X.shape[0])
    w[0] = 1
    rep = np.repeat(np.arange(X.shape[0]), w)
    a = MultiTaskElasticNet(alpha=0.05, tol=1e-14, max_iter=100_000).fit(X, Y, sample_weight=w)
    b = MultiTaskElasticNet(alpha=0.05, tol=1e-14, max_iter=100_000).fit(X[rep], Y[rep])
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-8)


def test_random_selection_and_warm_start():
    X, Y, _ = _data()
    ref = sk.MultiTaskLasso(alpha=0.1, tol=1e-12, max_iter=100_000).fit(X, Y)
    est = MultiTaskLasso(alpha=0.1, tol=1e-12, max_iter=100_000, selection="random",
                         random_state=0).fit(X, Y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    est.set_params(warm_start=True, selection="cyclic")
    n_cold = MultiTaskLasso(alpha=0.1, tol=1e-12, max_iter=100_000).fit(X, Y).n_iter_
    assert est.fit(X, Y).n_iter_ < n_cold  # started at the solution


def test_block_kernel_is_the_block_soft_threshold():
    # orthonormal columns: one epoch is the exact block soft-threshold of Xᵀ Y
    X = np.linalg.qr(np.random.default_rng(2).standard_normal((8, 4)))[0]
    Y = np.random.default_rng(3).standard_normal((8, 2))
    W = np.zeros((4, 2))
    R = np.ascontiguousarray(Y.copy())
    _bcd_epoch(np.asfortranarray(X), R, W, np.ones(4), np.arange(4), 0.5, 0.0)
    G = X.T @ Y
    norms = np.linalg.norm(G, axis=1, keepdims=True)
    np.testing.assert_allclose(W, G * np.maximum(1 - 0.5 / norms, 0), atol=1e-12)
    np.testing.assert_allclose(R, Y - X @ W, atol=1e-12)


def test_one_dimensional_y_is_refused():
    X, Y, _ = _data()
    with pytest.raises(ValueError, match="2-D.*use Lasso"):
        MultiTaskLasso().fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="use ElasticNet"):
        MultiTaskElasticNet().fit(X, Y[:, 0])


@pytest.mark.parametrize("kw, match", [({"alpha": -1.0}, "alpha"),
                                       ({"l1_ratio": 2.0}, "l1_ratio"),
                                       ({"selection": "greedy"}, "selection"),
                                       ({"max_iter": 0}, "max_iter")])
def test_bad_parameters(kw, match):
    X, Y, _ = _data()
    with pytest.raises(ValueError, match=match):
        MultiTaskElasticNet(**kw).fit(X, Y)


def test_bad_sample_weight():
    X, Y, _ = _data()
    with pytest.raises(ValueError, match="sample_weight"):
        MultiTaskLasso().fit(X, Y, sample_weight=-np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="sample_weight"):
        MultiTaskLasso().fit(X, Y, sample_weight=np.ones(3))


def test_non_convergence_warns():
    X, Y, _ = _data()
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = MultiTaskLasso(alpha=0.01, tol=1e-14, max_iter=2).fit(X, Y)
    assert est.n_iter_ == 2 and est.dual_gap_ > est.eps_


def test_solver_function_history_and_callback():
    X, Y, _ = _data()
    seen = []

    def stop(W):
        seen.append(W.shape)
        raise StopIteration

    res = multitask_enet(X, Y, l1=5.0, l2=0.0, tol=1e-10, return_history=True,
                         callback=stop)
    assert res.n_iter == 1 and not res.converged and seen == [(30, 3)]
    assert res.status.name == "CALLBACK_STOP"
    res = multitask_enet(X, Y, l1=5.0, l2=0.0, tol=1e-10, return_history=True)
    assert res.converged and res.history[-1] == res.dual_gap <= 1e-10 * np.sum(Y * Y)


def test_screening_keeps_the_solution():
    # a large alpha: most rows are screened; the answer is still scikit-learn's
    X, Y, _ = _data(p=60)
    ref = sk.MultiTaskElasticNet(alpha=0.5, l1_ratio=0.7, tol=1e-12, max_iter=100_000)
    ours = MultiTaskElasticNet(alpha=0.5, l1_ratio=0.7, tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(ours.fit(X, Y).coef_, ref.fit(X, Y).coef_, atol=1e-8)
