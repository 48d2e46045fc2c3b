"""Greedy coordinate selection with an indexed max-heap on sparse X.

The heap must pick exactly the coordinates a scan picks (same trajectory), keep the
gradient exact through the rows of the updated column, and the engine must still reach
scikit-learn's solution.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sklm

import numlearn.linear_model._coordinate_descent as CD
from numlearn.linear_model import L1, Logistic, Quadratic, coordinate_descent
from numlearn.linear_model import _cd_kernels as K


def _sparse(n=300, p=600, density=0.02, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed)
    w = np.zeros(p)
    w[rng.choice(p, 10, replace=False)] = 3 * rng.standard_normal(10)
    y = np.asarray(X @ w).ravel() + 0.01 * rng.standard_normal(n)
    return X, y


def _check_heap(heap, where, key):
    m = key.shape[0]
    np.testing.assert_array_equal(where[heap], np.arange(m))
    for h in range(1, m):
        parent = (h - 1) // 2
        a, b = heap[parent], heap[h]
        assert key[a] > key[b] or (key[a] == key[b] and a < b)


def test_indexed_heap_increase_and_decrease_key():
    rng = np.random.default_rng(0)
    m = 200
    key = np.round(rng.standard_normal(m), 1)  # many ties
    heap = np.empty(m, dtype=np.int64)
    where = np.empty(m, dtype=np.int64)
    K.heap_build(heap, where, key)
    _check_heap(heap, where, key)
    for _ in range(500):
        item = int(rng.integers(m))
        K.heap_update(heap, where, key, item, float(np.round(rng.standard_normal(), 1)))
        _check_heap(heap, where, key)
        # the top is the first maximum (a left-to-right scan's choice)
        assert heap[0] == int(np.argmax(key))


def _naive_greedy(X, y, lip, l1, rule, n_steps, logistic=False):
    """Greedy CD recomputing the full gradient and every score at each step (NumPy)."""
    n, p = X.shape
    w = np.zeros(p)
    trace = []
    for _ in range(n_steps):
        z = X @ w
        if logistic:
            u = -y / (1 + np.exp(y * z)) / n
            g = X.T @ u
        else:
            g = -(X.T @ (y - z)) / n
        s = np.array([K.greedy_score(g[j], w[j], lip[j], l1, 0.0, rule) for j in range(p)])
        j = int(np.argmax(s))
        if s[j] <= 0:
            break
        w[j] = K.prox_enet(w[j] - g[j] / lip[j], 1 / lip[j], l1, 0.0)
        trace.append(j)
    return np.array(trace), w


@pytest.mark.parametrize("rule", [K.RULE_GS, K.RULE_GSL, K.RULE_GSQ])
@pytest.mark.parametrize("datafit", [K.QUADRATIC, K.LOGISTIC])
def test_heap_and_scan_pick_the_same_coordinates(rule, datafit):
    X, y = _sparse()
    n, p = X.shape
    if datafit == K.LOGISTIC:
        y = np.where(y > np.median(y), 1.0, -1.0)
        lip = np.asarray(X.multiply(X).sum(0)).ravel() / (4 * n)
        l1 = 0.002
    else:
        lip = np.asarray(X.multiply(X).sum(0)).ravel() / n
        l1 = float(np.abs(X.T @ y).max()) / n / 10
    R = X.tocsr()
    cols = np.arange(p, dtype=np.int64)
    n_steps = 150
    out = {}
    for heap in (True, False):
        w = np.zeros(p)
        state = y.copy() if datafit == K.QUADRATIC else np.zeros(n)
        if datafit == K.QUADRATIC:
            grad = -(X.T @ state) / n
        else:
            grad = X.T @ (-y / (1 + np.exp(y * state)) / n)
        trace = np.full(n_steps, -1, dtype=np.int64)
        changed = K.greedy_csc_neighbours(X.indptr, X.indices, X.data, R.indptr, R.indices,
                                          R.data, y, state, w, cols, cols.copy(), grad, lip,
                                          l1, 0.0, rule, datafit, n_steps, heap, trace)
        assert changed == n_steps
        out[heap] = (trace, w, state, grad)
    np.testing.assert_array_equal(out[True][0], out[False][0])
    np.testing.assert_array_equal(out[True][1], out[False][1])
    trace, w, state, grad = out[True]
    # the state and the incrementally kept gradient are exact at the end
    z = X @ w
    if datafit == K.QUADRATIC:
        np.testing.assert_allclose(state, y - z, atol=1e-12)
        np.testing.assert_allclose(grad, -(X.T @ (y - z)) / n, atol=1e-12)
    else:
        np.testing.assert_allclose(state, z, atol=1e-12)
        np.testing.assert_allclose(grad, X.T @ (-y / (1 + np.exp(y * z)) / n), atol=1e-12)
    # and the choices are those of the naive full-gradient greedy method
    ref_trace, ref_w = _naive_greedy(X, y, lip, l1, rule, 40, datafit == K.LOGISTIC)
    np.testing.assert_array_equal(trace[:40], ref_trace)


@pytest.mark.parametrize("selection", ["gs", "gsl", "gsq"])
def test_engine_heap_matches_scan_and_sklearn(monkeypatch, selection):
    X, y = _sparse(seed=1)
    n = X.shape[0]
    alpha = float(np.abs(X.T @ y).max()) / n / 10
    monkeypatch.setattr(CD, "_NEIGHBOUR_MIN", 0)  # the neighbour kernel for any |ws|
    runs = {}
    for heap in (True, False):
        monkeypatch.setattr(CD, "_USE_HEAP", heap)
        runs[heap] = coordinate_descent(X, y, Quadratic(), L1(alpha), selection=selection,
                                        working_set=False, tol=1e-14, max_iter=10000,
                                        return_history=True)
    np.testing.assert_array_equal(runs[True].objective_history, runs[False].objective_history)
    np.testing.assert_array_equal(runs[True].coef, runs[False].coef)
    ref = sklm.Lasso(alpha=alpha, fit_intercept=False, tol=1e-15, max_iter=200000).fit(X, y)
    assert runs[True].converged
    np.testing.assert_allclose(runs[True].coef, ref.coef_, atol=1e-8 * np.abs(ref.coef_).max())
    # the Gram-matrix greedy epoch (used below _NEIGHBOUR_MIN) follows the same trajectory
    monkeypatch.setattr(CD, "_NEIGHBOUR_MIN", 10**9)
    gram = coordinate_descent(X, y, Quadratic(), L1(alpha), selection=selection,
                              working_set=False, tol=1e-14, max_iter=10000,
                              return_history=True)
    k = min(4, len(gram.objective_history))
    np.testing.assert_allclose(runs[True].objective_history[:k], gram.objective_history[:k],
                               rtol=1e-12)


def test_engine_heap_logistic_with_intercept(monkeypatch):
    X, y = _sparse(seed=2)
    ypm = np.where(y > np.median(y), 1.0, -1.0)
    kw = dict(selection="gsl", working_set=False, tol=1e-12, max_iter=100000,
              fit_intercept=True)
    monkeypatch.setattr(CD, "_NEIGHBOUR_MIN", 0)
    heap = coordinate_descent(X, ypm, Logistic(), L1(0.001), **kw)
    monkeypatch.setattr(CD, "_NEIGHBOURS", False)  # gradient recomputed on ws per update
    scan = coordinate_descent(X, ypm, Logistic(), L1(0.001), **kw)
    assert heap.converged and scan.converged
    np.testing.assert_allclose(heap.coef, scan.coef, atol=1e-6)
    assert heap.intercept == pytest.approx(scan.intercept, abs=1e-6)
