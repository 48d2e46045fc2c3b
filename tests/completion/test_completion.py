"""Matrix completion by alternating minimization: kernels, exact recovery, noise, estimator."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from numlearn.completion import AltMinCompletion, altmin, predict_entries
from numlearn.completion._altmin_kernels import (
    observed_residuals,
    solve_rows_cg,
    solve_rows_cholesky,
    solve_rows_sketch,
)
from numlearn.completion._observations import row_layout


def low_rank_problem(m, n, k, n_obs=None, *, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((m, k))
    V = rng.standard_normal((n, k))
    if n_obs is None:
        n_obs = int(5 * k * (m + n) * np.log(n))
    lin = rng.choice(m * n, size=n_obs, replace=False)
    rows, cols = np.divmod(lin, n)
    values = np.einsum("ij,ij->i", U[rows], V[cols]) + noise * rng.standard_normal(n_obs)
    return (rows, cols, values, (m, n)), U, V


def relative_error(res, U, V):
    M = U @ V.T
    return np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)


# ---------------------------------------------------------------- kernels vs NumPy


def _reference_rows(layout, V, reg):
    out = np.zeros((layout.indptr.shape[0] - 1, V.shape[1]))
    for i in range(out.shape[0]):
        sl = slice(layout.indptr[i], layout.indptr[i + 1])
        Vi = V[layout.indices[sl]]
        out[i] = np.linalg.solve(Vi.T @ Vi + reg * np.eye(V.shape[1]), Vi.T @ layout.values[sl])
    return out


@pytest.fixture
def small_rows():
    rng = np.random.default_rng(1)
    m, n, k = 40, 300, 6
    mask = rng.random((m, n)) < 0.4
    rows, cols = np.nonzero(mask)
    values = rng.standard_normal(rows.shape[0])
    V = rng.standard_normal((n, k))
    return row_layout(rows, cols, values, m), V


def test_cholesky_kernel_matches_numpy(small_rows):
    layout, V = small_rows
    out = np.empty((40, 6))
    assert solve_rows_cholesky(layout.indptr, layout.indices, layout.values, V, 0.3, out) == 0
    np.testing.assert_allclose(out, _reference_rows(layout, V, 0.3), rtol=1e-10, atol=1e-12)


def test_cg_kernel_converges_to_the_exact_row_solution(small_rows):
    layout, V = small_rows
    exact = _reference_rows(layout, V, 0.3)
    out = np.zeros((40, 6))
    solve_rows_cg(layout.indptr, layout.indices, layout.values, V, 0.3, out, 6)  # k steps
    np.testing.assert_allclose(out, exact, rtol=1e-8, atol=1e-10)
    # fewer steps: approximate, and warm-started steps keep improving
    out = np.zeros((40, 6))
    solve_rows_cg(layout.indptr, layout.indices, layout.values, V, 0.3, out, 2)
    err2 = np.linalg.norm(out - exact)
    solve_rows_cg(layout.indptr, layout.indices, layout.values, V, 0.3, out, 2)
    assert np.linalg.norm(out - exact) < 0.1 * err2 < np.linalg.norm(exact)


def test_sketch_kernel_preconditions_ill_conditioned_rows(small_rows):
    layout, V = small_rows
    V = V * np.logspace(0, 3, 6)  # column scales 1 .. 1000: κ(V_iᵀV_i) ~ 1e6
    exact = _reference_rows(layout, V, 0.3)
    rng = np.random.default_rng(0)
    size = layout.values.shape[0]
    srows = rng.integers(0, 24, size=size)
    signs = rng.choice([-1.0, 1.0], size=size)
    sketched, plain = np.zeros((40, 6)), np.zeros((40, 6))
    solve_rows_sketch(layout.indptr, layout.indices, layout.values, V, 0.3, sketched, srows,
                      signs, 24, 5)
    solve_rows_cg(layout.indptr, layout.indices, layout.values, V, 0.3, plain, 5)
    # measured: 0.4% after 5 preconditioned steps, 89% after 5 plain CG steps
    assert np.linalg.norm(sketched - exact) < 1e-2 * np.linalg.norm(exact)
    assert np.linalg.norm(plain - exact) > 0.5 * np.linalg.norm(exact)
    solve_rows_sketch(layout.indptr, layout.indices, layout.values, V, 0.3, sketched, srows,
                      signs, 24, 6)  # warm start: k more steps are exact in exact arithmetic
    np.testing.assert_allclose(sketched, exact, rtol=1e-8, atol=1e-10)


def test_sketch_kernel_solves_short_rows_exactly(small_rows):
    layout, V = small_rows
    out = np.zeros((40, 6))
    size = layout.values.shape[0]
    solve_rows_sketch(layout.indptr, layout.indices, layout.values, V, 0.3, out,
                      np.zeros(size, dtype=np.int64), np.ones(size), 1000, 1)
    np.testing.assert_allclose(out, _reference_rows(layout, V, 0.3), rtol=1e-10, atol=1e-12)


def test_residual_kernel(small_rows):
    layout, V = small_rows
    U = np.random.default_rng(2).standard_normal((40, 6))
    out = np.empty_like(layout.values)
    observed_residuals(layout.indptr, layout.indices, layout.values, U, V, out)
    rows = np.repeat(np.arange(40), np.diff(layout.indptr))
    np.testing.assert_allclose(out, layout.values - np.sum(U[rows] * V[layout.indices], 1))


# ---------------------------------------------------------------- AltMin


def test_iterates_match_a_dense_numpy_als():
    obs, _, _ = low_rank_problem(30, 25, 3, n_obs=400, seed=3)
    rows, cols, values, shape = obs
    U0 = np.linalg.qr(np.random.default_rng(0).standard_normal((30, 3)))[0]
    with pytest.warns(ConvergenceWarning):  # tol=0: runs all 4 iterations
        res = altmin(obs, 3, reg=0.05, init=(U0, np.zeros((25, 3))), max_iter=4, tol=0.0,
                     return_history=True, solver="cholesky")
    M = np.full(shape, np.nan)
    M[rows, cols] = values
    U, V = U0.copy(), np.zeros((25, 3))
    for _ in range(4):
        for j in range(25):
            obs_j = ~np.isnan(M[:, j])
            A = U[obs_j]
            V[j] = np.linalg.solve(A.T @ A + 0.05 * np.eye(3), A.T @ M[obs_j, j])
        for i in range(30):
            obs_i = ~np.isnan(M[i])
            A = V[obs_i]
            U[i] = np.linalg.solve(A.T @ A + 0.05 * np.eye(3), A.T @ M[i, obs_i])
    np.testing.assert_allclose(res.U, U, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.V, V, rtol=1e-10, atol=1e-12)
    resid = values - np.sum(U[rows] * V[cols], axis=1)
    assert res.history[-1] == pytest.approx(np.sqrt(np.mean(resid**2)), rel=1e-12)


@pytest.mark.parametrize("solver", ["cholesky", "cg", "sketch"])
def test_exact_recovery_2000x1500_rank5(solver):
    obs, U, V = low_rank_problem(2000, 1500, 5)
    res = altmin(obs, 5, solver=solver, tol=1e-10, random_state=0)
    assert res.converged
    assert relative_error(res, U, V) <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("k", [10, 20])
@pytest.mark.parametrize("solver", ["cholesky", "cg", "sketch"])
def test_exact_recovery_2000x1500_larger_ranks(solver, k):
    obs, U, V = low_rank_problem(2000, 1500, k)
    res = altmin(obs, k, solver=solver, tol=1e-10, random_state=0)
    assert res.converged and relative_error(res, U, V) <= 1e-6


def test_svd_init_is_already_close():
    obs, U, V = low_rank_problem(600, 500, 4)
    with pytest.warns(ConvergenceWarning):
        res = altmin(obs, 4, max_iter=1, tol=0.0, random_state=0)
    assert relative_error(res, U, V) < 0.2  # one half-step from the SVD start


@pytest.mark.parametrize("noise", [1e-3, 1e-1])
def test_noisy_observations_error_at_noise_level(noise):
    m, n, k = 500, 400, 4
    obs, U, V = low_rank_problem(m, n, k, noise=noise, seed=5)
    res = altmin(obs, k, tol=1e-9, random_state=0)
    # entrywise RMS error of the completed matrix vs the noise standard deviation
    rms = np.linalg.norm(res.U @ res.V.T - U @ V.T) / np.sqrt(m * n)
    assert rms < 0.5 * noise
    assert res.rmse == pytest.approx(noise, rel=0.1)  # fits the signal, not the noise


def test_sparse_input_and_triplets_agree():
    obs, _, _ = low_rank_problem(80, 60, 3, n_obs=2000, seed=6)
    rows, cols, values, shape = obs
    S = sp.csr_matrix((values, (rows, cols)), shape=shape)
    a = altmin(obs, 3, random_state=0, tol=1e-9)
    b = altmin(S, 3, random_state=0, tol=1e-9)
    np.testing.assert_allclose(a.U @ a.V.T, b.U @ b.V.T, rtol=1e-9, atol=1e-9)


def test_random_init_and_reg_also_recover():
    obs, U, V = low_rank_problem(300, 200, 3, seed=7)
    res = altmin(obs, 3, init="random", tol=1e-12, max_iter=300, random_state=1)
    assert relative_error(res, U, V) < 1e-6
    res_reg = altmin(obs, 3, reg=1.0, tol=1e-10, random_state=1)
    assert 1e-6 < relative_error(res_reg, U, V) < 1e-2  # shrinkage bias, small


def test_history_callback_and_maxiter_warning():
    obs, _, _ = low_rank_problem(100, 80, 3, n_obs=3000, seed=8)
    seen = []
    with pytest.warns(ConvergenceWarning):
        res = altmin(obs, 3, max_iter=3, tol=0.0, return_history=True,
                     callback=lambda U, V: seen.append(U.shape))
    assert not res.converged and res.n_iter == 3 and len(res.history) == 3
    assert np.all(np.diff(res.history) < 0) and seen == [(100, 3)] * 3

    def stop(U, V):
        raise StopIteration

    res = altmin(obs, 3, callback=stop)  # the user asked to stop: no warning
    assert res.n_iter == 1 and not res.converged


def test_empty_rows_and_columns_are_handled():
    obs, _, _ = low_rank_problem(50, 40, 2, n_obs=800, seed=9)
    rows, cols, values, _ = obs
    keep = (rows != 7) & (cols != 3)
    with pytest.warns(UserWarning, match="1 rows and 1 columns"):
        res = altmin((rows[keep], cols[keep], values[keep], (50, 40)), 2, reg=0.1,
                     random_state=0)
    assert res.empty_rows == 1 and res.empty_cols == 1
    np.testing.assert_array_equal(res.U[7], 0.0)
    np.testing.assert_array_equal(res.V[3], 0.0)


def test_bad_input():
    obs, _, _ = low_rank_problem(20, 15, 2, n_obs=100)
    rows, cols, values, shape = obs
    with pytest.raises(ValueError, match="rank"):
        altmin(obs, 0)
    with pytest.raises(ValueError, match="rank"):
        altmin(obs, 15)
    with pytest.raises(ValueError, match="finite"):
        altmin((rows, cols, np.where(np.arange(100) == 3, np.nan, values), shape), 2)
    with pytest.raises(ValueError, match="outside"):
        altmin((rows, cols + 1, values, shape), 2)
    with pytest.raises(ValueError, match="duplicate"):
        altmin((np.r_[rows, rows[:1]], np.r_[cols, cols[:1]], np.r_[values, 1.0], shape), 2)
    with pytest.raises(ValueError, match="solver"):
        altmin(obs, 2, solver="qr")
    with pytest.raises(ValueError, match="reg"):
        altmin(obs, 2, reg=-1.0)
    with pytest.raises(TypeError, match="M_obs"):
        altmin(np.ones((5, 5)), 2)
    with pytest.raises(ValueError, match="U0"):
        altmin(obs, 2, init=(np.ones((3, 2)), np.ones((15, 2))))
    with pytest.raises(ValueError, match="no observed"):
        altmin((rows[:0], cols[:0], values[:0], shape), 2)


def test_predict_entries():
    rng = np.random.default_rng(0)
    U, V = rng.standard_normal((7, 2)), rng.standard_normal((5, 2))
    r, c = np.array([0, 6, 3]), np.array([4, 0, 2])
    np.testing.assert_allclose(predict_entries(U, V, r, c), (U @ V.T)[r, c])
    with pytest.raises(ValueError):
        predict_entries(U, V, [7], [0])


# ---------------------------------------------------------------- estimator


def _nan_matrix(m=120, n=40, k=3, missing=0.4, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    X = M.copy()
    X[rng.random(M.shape) < missing] = np.nan
    return M, X


def test_estimator_completes_and_keeps_observed_entries():
    M, X = _nan_matrix()
    model = AltMinCompletion(rank=3, reg=0.0, tol=1e-12, random_state=0)
    filled = model.fit_transform(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    np.testing.assert_allclose(filled, M, atol=1e-7)
    np.testing.assert_allclose(model.predict([0, 5], [1, 2]), M[[0, 5], [1, 2]], atol=1e-7)
    assert model.n_iter_ > 0 and model.n_features_in_ == 40 and model.rmse_ < 1e-9


def test_estimator_completes_new_rows_by_fold_in():
    M, X = _nan_matrix(seed=1)
    model = AltMinCompletion(rank=3, reg=0.0, tol=1e-12, random_state=0).fit(X[:100])
    filled = model.transform(X[100:])
    np.testing.assert_allclose(filled, M[100:], atol=1e-6)


def test_estimator_in_a_pipeline_with_sparse_input():
    M, X = _nan_matrix(seed=2)
    observed = ~np.isnan(X)
    rows, cols = np.nonzero(observed)
    S = sp.csr_matrix((X[rows, cols], (rows, cols)), shape=X.shape)
    pipe = make_pipeline(AltMinCompletion(rank=3, reg=0.0, tol=1e-12, random_state=0),
                         StandardScaler())
    out = pipe.fit_transform(S)
    np.testing.assert_allclose(out, StandardScaler().fit_transform(M), atol=1e-6)


def test_estimator_partial_fit_and_warm_start():
    M, X = _nan_matrix(seed=3)
    model = AltMinCompletion(rank=3, reg=0.0, tol=0.0, max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    first = model.rmse_
    with pytest.warns(ConvergenceWarning):
        model.partial_fit(X)
    assert model.rmse_ < first  # continued, not restarted
    warm = AltMinCompletion(rank=3, reg=0.0, tol=0.0, max_iter=2, warm_start=True,
                            random_state=0)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X)
        warm.fit(X)
    np.testing.assert_allclose(warm.rmse_, model.rmse_, rtol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        model.partial_fit(X[:10])


def test_estimator_bad_input():
    _, X = _nan_matrix()
    with pytest.raises(ValueError, match="inf"):
        AltMinCompletion(rank=2).fit(np.where(np.isnan(X), np.inf, X))
    with pytest.raises(ValueError, match="rank"):
        AltMinCompletion(rank=0).fit(X)
    model = AltMinCompletion(rank=2).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :5])


def test_estimator_passes_scikit_learn_checks():
    from sklearn.utils.estimator_checks import check_estimator

    # predict(X) returns the completed matrix (2-D); the sparse-input checks assume a 1-D
    # prediction per sample, so they are the only expected failures
    expected = {"check_estimator_sparse_array", "check_estimator_sparse_matrix"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(AltMinCompletion(rank=1, max_iter=20), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == expected
    assert len(results) > 40
