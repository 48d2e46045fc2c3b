"""sinkhorn_sample / sinkhorn_divergence: point clouds without a cost matrix."""

import tracemalloc

import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist
from sklearn.exceptions import ConvergenceWarning

from numlearn.ot import LazyPlan, sinkhorn, sinkhorn_divergence, sinkhorn_sample
from numlearn.ot import _sample_kernels as SK


def _clouds(n=120, m=90, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 1.0


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_kernel_matches_scipy_logsumexp(metric):
    from scipy.special import logsumexp

    X, Y = _clouds(37, 23, 4)
    g = np.random.default_rng(1).standard_normal(23)
    out = np.empty(37)
    SK.cost_logsumexp(X, np.ascontiguousarray(Y.T), g, 1 / 0.3, SK.METRICS[metric], out)
    np.testing.assert_allclose(out, logsumexp((g[None, :] - cdist(X, Y, metric)) / 0.3,
                                              axis=1), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_equals_sinkhorn_on_materialized_cost(metric):
    X_s, X_t = _clouds()
    rng = np.random.default_rng(2)
    a = rng.random(X_s.shape[0]) + 0.1
    a /= a.sum()
    res = sinkhorn_sample(X_s, X_t, 0.5, a=a, metric=metric, tol=1e-11)
    M = cdist(X_s, X_t, metric)
    ref = sinkhorn(a, None, M, 0.5, method="sinkhorn_log", tol=1e-11)
    assert res.converged and res.n_iter == ref.n_iter
    np.testing.assert_allclose(res.f, ref.f, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.g, ref.g, rtol=0, atol=1e-12)
    assert res.cost == pytest.approx(ref.cost, rel=1e-12)
    assert res.marginal_error == pytest.approx(ref.marginal_error, rel=1e-6, abs=1e-15)
    assert isinstance(res.plan, LazyPlan) and res.plan.shape == M.shape
    np.testing.assert_allclose(res.plan.toarray(), ref.plan, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(res.plan[5], ref.plan[5], rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(res.plan[3:9], ref.plan[3:9], rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(res.plan @ X_t, ref.plan @ X_t, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(res.plan @ np.ones(90), a, atol=1e-10)
    dense = sinkhorn_sample(X_s, X_t, 0.5, a=a, metric=metric, tol=1e-11, return_plan=True)
    np.testing.assert_array_equal(dense.plan, res.plan.toarray())


def test_matches_pot_empirical_sinkhorn_and_zero_weights():
    X_s, X_t = _clouds(60, 50, 2)
    a = np.full(60, 1 / 50)
    a[:10] = 0.0
    with np.errstate(divide="ignore"):  # POT divides by the zero weights
        P = ot.bregman.empirical_sinkhorn(X_s, X_t, 1.0, a=a, stopThr=1e-13,
                                          numIterMax=10**5)
    res = sinkhorn_sample(X_s, X_t, 1.0, a=a, tol=1e-12, return_plan=True)
    assert np.abs(res.plan - P).sum() < 1e-9
    assert np.all(res.plan[:10] == 0) and np.all(np.isneginf(res.f[:10]))


def test_memory_stays_linear():
    X_s, X_t = _clouds(3000, 3000, 2)
    sinkhorn_sample(X_s[:10], X_t[:10], 1.0)  # compile outside the measurement
    tracemalloc.start()
    res = sinkhorn_sample(X_s, X_t, 1.0, tol=1e-6)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.converged
    assert peak < 40 * 3000 * 8  # a few vectors of n; the cost alone would be 72 MB


def test_history_callback_and_max_iter():
    X_s, X_t = _clouds(40, 30, 2)
    seen = []
    res = sinkhorn_sample(X_s, X_t, 0.2, return_history=True, callback=lambda f, g: seen.append(1))
    assert len(res.history) == res.n_iter == len(seen) and res.history[-1] <= 1e-9
    with pytest.warns(ConvergenceWarning, match="sinkhorn_sample did not converge"):
        slow = sinkhorn_sample(X_s, X_t, 0.01, max_iter=3)
    assert not slow.converged and slow.n_iter == 3


def test_divergence_matches_pot_formula_and_is_debiased():
    X_s, X_t = _clouds(80, 70, 2)
    res = sinkhorn_divergence(X_s, X_t, 1.0, tol=1e-12)
    pot = ot.bregman.empirical_sinkhorn_divergence(X_s, X_t, 1.0, stopThr=1e-14,
                                                   numIterMax=10**5)
    assert res.converged
    assert res.divergence == pytest.approx(float(pot), rel=1e-8)
    assert res.cost_ss > 0 and res.cost_tt > 0  # the entropic bias the formula removes
    assert res.divergence == pytest.approx(res.cost_st - 0.5 * (res.cost_ss + res.cost_tt))
    assert sinkhorn_divergence(X_s, X_s, 1.0).divergence == 0.0
    # grows with the shift between the clouds
    d1 = sinkhorn_divergence(X_s, X_s + 0.5, 1.0).divergence
    d2 = sinkhorn_divergence(X_s, X_s + 1.0, 1.0).divergence
    assert 0 < d1 < d2


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((np.ones((3, 2)), np.ones((4, 3))), {}, ValueError, "same dimension, got 2 and 3"),
        ((np.ones((0, 2)), np.ones((4, 2))), {}, ValueError, "X_s must be a non-empty"),
        ((np.ones((3, 2)), np.full((4, 2), np.nan)), {}, ValueError, "X_t contains NaN"),
        ((np.ones((3, 2)), np.ones((4, 2))), dict(metric="cosine"), ValueError, "metric must"),
        ((np.ones(3), np.ones((4, 2))), {}, ValueError, "X_s must be 2-dimensional"),
        ((np.ones((3, 2)), np.ones((4, 2))), dict(reg=0.0), ValueError, "reg must be > 0"),
        ((np.ones((3, 2)), np.ones((4, 2))), dict(a=[1.0, 1.0, 1.0]), ValueError,
         "same total mass"),
        ((np.ones((3, 2)), np.ones((4, 2))), dict(numItermax=3), TypeError,
         "did you mean 'max_iter'"),
        ((np.ones((3, 2)), np.ones((4, 2))), dict(stopThr=3), TypeError, "did you mean 'tol'"),
    ],
)
@pytest.mark.parametrize("func", [sinkhorn_sample, sinkhorn_divergence])
def test_bad_input(func, args, kwargs, error, match):
    kwargs = {"reg": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        func(*args, kwargs.pop("reg"), **kwargs)


def test_dense_plan_refused_when_too_large(monkeypatch):
    from numlearn.ot import _sample

    monkeypatch.setattr(_sample, "MAX_DENSE_ENTRIES", 100)
    X_s, X_t = _clouds(20, 10, 2)
    with pytest.raises(ValueError, match="return_plan=True would form a dense 20 x 10"):
        sinkhorn_sample(X_s, X_t, 1.0, return_plan=True)
