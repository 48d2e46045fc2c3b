"""numlearn.completion on non-NumPy array-API inputs (array_api_strict on CPU, CuPy on GPU).

The generic path must reproduce the Numba (NumPy) path: the same factors to 1e-10 with the
same ``random_state``, the same iteration counts, histories, statuses, warnings and
validation errors, with the factors returned in the inputs' namespace and dtype.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import to_numpy
from numlearn._result import Status
from numlearn.completion import AltMinCompletion, altmin, predict_entries
from numlearn.completion._array_api_engine import ArrayAPIEngine, batched_cholesky_solve
from numlearn.completion._observations import check_observations_array_api

xps = pytest.importorskip("array_api_strict")


def low_rank_problem(m, n, k, n_obs, *, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((m, k))
    V = rng.standard_normal((n, k))
    lin = rng.choice(m * n, size=n_obs, replace=False)
    rows, cols = np.divmod(lin, n)
    values = np.einsum("ij,ij->i", U[rows], V[cols]) + noise * rng.standard_normal(n_obs)
    return (rows, cols, values, (m, n)), U, V


def _strict(obs, dtype=None):
    rows, cols, values, shape = obs
    values = values if dtype is None else values.astype(dtype)
    return xps.asarray(rows), xps.asarray(cols), xps.asarray(values), shape


def _assert_same(res, ref, atol=1e-10):
    assert res.n_iter == ref.n_iter
    assert res.status is ref.status and res.converged == ref.converged
    assert type(res.U) is type(xps.asarray(0.0)) and type(res.V) is type(res.U)
    assert res.U.dtype == res.V.dtype == xps.float64
    np.testing.assert_allclose(to_numpy(res.U), ref.U, rtol=0, atol=atol)
    np.testing.assert_allclose(to_numpy(res.V), ref.V, rtol=0, atol=atol)
    assert type(res.rmse) is float and res.rmse == pytest.approx(ref.rmse, rel=1e-8, abs=1e-14)
    assert res.empty_rows == ref.empty_rows and res.empty_cols == ref.empty_cols


@pytest.mark.parametrize("solver", ["cholesky", "cg", "sketch"])
@pytest.mark.parametrize("reg", [0.0, 0.3])
@pytest.mark.parametrize("init", ["svd", "random"])
def test_matches_numpy_path(solver, reg, init):
    obs, _, _ = low_rank_problem(45, 35, 3, 700, noise=0.01, seed=1)
    kw = dict(reg=reg, solver=solver, init=init, random_state=4, return_history=True,
              max_iter=40, tol=1e-3, cg_steps=2, sketch_size=12)
    ref = altmin(obs, 3, **kw)
    res = altmin(_strict(obs), 3, **kw)
    assert ref.n_iter >= 3  # a real run, not a first-step stop
    _assert_same(res, ref)
    assert isinstance(res.history, np.ndarray)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-10)


def test_exact_recovery_and_uneven_rows():
    # rows with 1, 2, 3-4, 5-8, ... observations land in different padded buckets
    rng = np.random.default_rng(2)
    m, n, k = 40, 60, 2
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    counts = np.clip((2.0 ** rng.uniform(1, 5.9, m)).astype(int), 2, n)
    rows = np.repeat(np.arange(m), counts)
    cols = np.concatenate([rng.choice(n, c, replace=False) for c in counts])
    extra = rng.choice(n, n, replace=False)  # every column observed at least twice
    rows = np.concatenate([rows, np.zeros(n, int), np.ones(n, int)])
    cols = np.concatenate([cols, extra, extra])
    keep = np.unique(rows * n + cols, return_index=True)[1]
    rows, cols = rows[keep], cols[keep]
    values = np.einsum("ij,ij->i", U[rows], V[cols])
    obs = (rows, cols, values, (m, n))
    ref = altmin(obs, k, tol=1e-12, random_state=0, max_iter=300)
    res = altmin(_strict(obs), k, tol=1e-12, random_state=0, max_iter=300)
    assert len(np.unique(np.bincount(rows, minlength=m))) > 10
    _assert_same(res, ref, atol=1e-9)
    M_hat = to_numpy(res.U) @ to_numpy(res.V).T
    assert np.linalg.norm(M_hat - U @ V.T) < 1e-7 * np.linalg.norm(U @ V.T)


def test_warm_start_float32_and_namespaces():
    obs, U0, V0 = low_rank_problem(30, 25, 2, 400, seed=3)
    init = (U0 + 0.1, V0 - 0.1)
    ref = altmin(obs, 2, init=init, tol=1e-8, random_state=0)
    res = altmin(_strict(obs), 2, init=(xps.asarray(init[0]), xps.asarray(init[1])),
                 tol=1e-8, random_state=0)
    _assert_same(res, ref)
    # float32 values: float32 factors, a float32 accuracy
    res32 = altmin(_strict(obs, np.float32), 2, init=init, tol=1e-5, max_iter=30,
                   random_state=0)
    assert res32.U.dtype == res32.V.dtype == xps.float32
    M = U0 @ V0.T
    M32 = to_numpy(res32.U).astype(np.float64) @ to_numpy(res32.V).T
    assert np.abs(M32 - M).max() < 1e-3 * np.abs(M).max()
    # integer values are taken as float64
    obs_int = (obs[0], obs[1], np.round(obs[2] * 10).astype(np.int64), obs[3])
    ref_i = altmin(obs_int, 2, random_state=0, max_iter=50, tol=1e-3)
    res_i = altmin(_strict(obs_int), 2, random_state=0, max_iter=50, tol=1e-3)
    _assert_same(res_i, ref_i)


def test_singular_rows_empty_lines_and_warnings():
    obs, _, _ = low_rank_problem(30, 25, 3, 300, seed=5)
    rows, cols, values, shape = obs
    # row 4 keeps one observation (singular with reg=0), row 7 and column 2 none
    first4 = np.flatnonzero(rows == 4)[0]
    keep = ((rows != 4) | (np.arange(rows.size) == first4)) & (rows != 7) & (cols != 2)
    sub = (rows[keep], cols[keep], values[keep], shape)
    with pytest.warns(UserWarning) as rec_ref:
        ref = altmin(sub, 3, max_iter=4, tol=1e-3, random_state=0)
    with pytest.warns(UserWarning) as rec:
        res = altmin(_strict(sub), 3, max_iter=4, tol=1e-3, random_state=0)
    messages = [str(w.message) for w in rec if w.category is UserWarning]
    assert messages == [str(w.message) for w in rec_ref if w.category is UserWarning]
    assert any("1 rows and 1 columns" in s for s in messages)
    assert any("were singular" in s for s in messages)
    _assert_same(res, ref)
    np.testing.assert_array_equal(to_numpy(res.U)[[4, 7]], 0.0)
    np.testing.assert_array_equal(to_numpy(res.V)[2], 0.0)


def test_max_iter_warning_callback_and_stop():
    obs, _, _ = low_rank_problem(40, 30, 3, 600, seed=6)
    seen = []
    with pytest.warns(ConvergenceWarning) as rec:
        res = altmin(_strict(obs), 3, max_iter=3, tol=0.0, return_history=True,
                     callback=lambda U, V: seen.append((type(U), tuple(U.shape))))
    assert rec[0].filename == __file__  # points at the caller
    assert res.status is Status.MAX_ITER and res.n_iter == 3 and not res.converged
    assert seen == [(type(xps.asarray(0.0)), (40, 3))] * 3
    assert np.all(np.diff(res.history) < 0)

    def stop(U, V):
        raise StopIteration

    res = altmin(_strict(obs), 3, callback=stop)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 1
    with pytest.warns(ConvergenceWarning):
        res0 = altmin(_strict(obs), 3, max_iter=0, init="random", random_state=1)
    with pytest.warns(ConvergenceWarning):
        ref0 = altmin(obs, 3, max_iter=0, init="random", random_state=1)
    assert res0.n_iter == 0 and res0.rmse == pytest.approx(ref0.rmse, rel=1e-12)


def test_engine_products_and_sse():
    obs, _, _ = low_rank_problem(20, 17, 2, 150, seed=7)
    rows, cols, values, shape = obs
    A = sp.csr_matrix((values, (rows, cols)), shape=shape)
    engine = ArrayAPIEngine(check_observations_array_api(_strict(obs)))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(17), rng.standard_normal(20)
    np.testing.assert_allclose(engine.matvec("rows", x), A @ x, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(engine.matvec("cols", y), A.T @ y, rtol=1e-13, atol=1e-13)
    U, V = rng.standard_normal((20, 2)), rng.standard_normal((17, 2))
    sse = np.sum((values - np.einsum("ij,ij->i", U[rows], V[cols])) ** 2)
    assert engine.sse(xps.asarray(U), xps.asarray(V)) == pytest.approx(sse, rel=1e-13)
    assert engine.stats("rows") == (20, 150, pytest.approx(values @ values))


@pytest.mark.parametrize("k", [1, 3, 8])
def test_batched_cholesky_solve(k):
    rng = np.random.default_rng(k)
    B = rng.standard_normal((6, k + 2, k))
    G = np.einsum("bij,bik->bjk", B, B) + 0.1 * np.eye(k)
    r = rng.standard_normal((6, k))
    G[2] = 0.0  # singular: flagged and zero
    x, ok = batched_cholesky_solve(xps.asarray(G), xps.asarray(r), xps)
    x, ok = to_numpy(x), to_numpy(ok)
    np.testing.assert_array_equal(ok, np.arange(6) != 2)
    expected = np.linalg.solve(G[ok], r[ok][:, :, None])[:, :, 0]
    np.testing.assert_allclose(x[ok], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(x[2], 0.0)


def test_predict_entries_namespace():
    rng = np.random.default_rng(8)
    U, V = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    out = predict_entries(xps.asarray(U), xps.asarray(V), xps.asarray([[0, 4], [2, 1]]),
                          xps.asarray([[3, 0], [1, 2]]))
    assert type(out) is type(xps.asarray(0.0)) and out.shape == (2, 2)
    np.testing.assert_allclose(to_numpy(out), predict_entries(U, V, [[0, 4], [2, 1]],
                                                              [[3, 0], [1, 2]]), rtol=1e-15)
    with pytest.raises(ValueError, match="same shape"):
        predict_entries(xps.asarray(U), xps.asarray(V), xps.asarray([0, 1]), xps.asarray([0]))
    with pytest.raises(ValueError, match="outside"):
        predict_entries(xps.asarray(U), xps.asarray(V), xps.asarray([5]), xps.asarray([0]))
    with pytest.raises(TypeError, match="integers"):
        predict_entries(xps.asarray(U), xps.asarray(V), xps.asarray([0.5]), xps.asarray([0]))


def test_estimator_namespace():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 20))
    X = M.copy()
    X[rng.random(M.shape) < 0.3] = np.nan
    ref = AltMinCompletion(rank=2, reg=0.0, tol=1e-10, random_state=0).fit(X)
    model = AltMinCompletion(rank=2, reg=0.0, tol=1e-10, random_state=0).fit(xps.asarray(X))
    assert model.n_iter_ == ref.n_iter_ and type(model.U_) is type(xps.asarray(0.0))
    np.testing.assert_allclose(to_numpy(model.U_), ref.U_, atol=1e-10)
    np.testing.assert_allclose(model.history_, ref.history_, rtol=1e-10, atol=1e-14)
    Xn = X[:12]
    filled = model.transform(xps.asarray(Xn))
    assert type(filled) is type(xps.asarray(0.0)) and filled.dtype == xps.float64
    np.testing.assert_allclose(to_numpy(filled), ref.transform(Xn), atol=1e-10)
    np.testing.assert_allclose(to_numpy(filled), M[:12], atol=1e-6)
    # NumPy data on a model fitted on strict arrays, and the other way round
    np.testing.assert_allclose(model.transform(Xn), ref.transform(Xn), atol=1e-10)
    np.testing.assert_allclose(to_numpy(ref.transform(xps.asarray(Xn))), ref.transform(Xn),
                               atol=1e-10)
    got = model.predict(xps.asarray([0, 3]), xps.asarray([1, 2]))
    np.testing.assert_allclose(to_numpy(got), ref.predict([0, 3], [1, 2]), atol=1e-10)
    # warm start and partial_fit keep the namespace
    model.set_params(warm_start=True, max_iter=2).fit(xps.asarray(X))
    assert model.n_iter_ == 1 and type(model.V_) is type(xps.asarray(0.0))
    model.partial_fit(xps.asarray(X))
    assert type(model.U_) is type(xps.asarray(0.0))
    # float32 in, float32 out
    f32 = AltMinCompletion(rank=2, reg=0.0, random_state=0, tol=1e-5)
    out32 = f32.fit(xps.asarray(X.astype(np.float32))).transform(xps.asarray(Xn.astype(
        np.float32)))
    assert out32.dtype == xps.float32
    assert np.abs(to_numpy(out32) - M[:12]).max() < 1e-2 * np.abs(M).max()


def test_estimator_bad_input():
    X = xps.asarray(np.array([[1.0, np.nan, 2.0], [0.5, 1.0, np.nan], [1.0, 2.0, 3.0]]))
    model = AltMinCompletion(rank=1, reg=0.1, random_state=0)
    with pytest.raises(ValueError, match="inf"):
        model.fit(xps.asarray(np.array([[1.0, np.inf], [1.0, 2.0]])))
    with pytest.raises(ValueError, match="2D"):
        model.fit(xps.asarray(np.ones(3)))
    with pytest.raises(TypeError, match="real numbers"):
        model.fit(xps.asarray(np.ones((3, 3), dtype=complex)))
    with pytest.raises(ValueError, match="too small"):
        model.fit(xps.asarray(np.ones((1, 3))))
    model.fit(X)
    with pytest.raises(ValueError, match="features"):
        model.transform(xps.asarray(np.ones((2, 4))))
    # a row without observations is completed with zeros (as on the NumPy path)
    empty = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 2.0]])
    out = model.transform(xps.asarray(empty))
    np.testing.assert_array_equal(to_numpy(out)[0], 0.0)
    np.testing.assert_allclose(to_numpy(out), model.transform(empty), atol=1e-12)
    np.testing.assert_array_equal(to_numpy(model.transform(xps.asarray(empty[:1]))), 0.0)


def test_bad_input():
    obs, _, _ = low_rank_problem(20, 15, 2, 100)
    rows, cols, values, shape = obs
    r, c, v = xps.asarray(rows), xps.asarray(cols), xps.asarray(values)
    with pytest.raises(ValueError, match="rank"):
        altmin((r, c, v, shape), 15)
    with pytest.raises(ValueError, match="finite"):
        altmin((r, c, xps.asarray(np.where(np.arange(100) == 3, np.nan, values)), shape), 2)
    with pytest.raises(ValueError, match="outside"):
        altmin((r, c + 1, v, shape), 2)
    with pytest.raises(ValueError, match="outside"):
        altmin((r - 1, c, v, shape), 2)
    with pytest.raises(ValueError, match="duplicate"):
        altmin((xps.concat([r, r[:1]]), xps.concat([c, c[:1]]), xps.concat([v, v[:1]]),
                shape), 2)
    with pytest.raises(TypeError, match="rows must be integers"):
        altmin((xps.astype(r, xps.float64), c, v, shape), 2)
    with pytest.raises(TypeError, match="values must be real"):
        altmin((r, c, xps.asarray(np.ones(100, dtype=complex)), shape), 2)
    with pytest.raises(ValueError, match="equal length"):
        altmin((r[:5], c, v, shape), 2)
    with pytest.raises(ValueError, match="no observed"):
        altmin((r[:0], c[:0], v[:0], shape), 2)
    with pytest.raises(ValueError, match="shape"):
        altmin((r, c, v, (20, 0)), 2)
    with pytest.raises(TypeError, match="shape"):
        altmin((r, c, v, "big"), 2)
    with pytest.raises(ValueError, match="dask"):
        altmin((r, c, v, shape), 2, backend="dask")
    with pytest.raises(ValueError, match="solver"):
        altmin((r, c, v, shape), 2, solver="qr")
    with pytest.raises(ValueError, match="init U0"):
        altmin((r, c, v, shape), 2, init=(xps.ones((3, 2)), xps.ones((15, 2))))
    with pytest.raises(TypeError, match="single array library"):
        altmin((r, np.asarray(cols), v, shape), 2)
    # NumPy inputs do not take this path
    assert check_observations_array_api(obs) is None
    assert check_observations_array_api(sp.coo_matrix((values, (rows, cols)))) is None


# -- implicit-feedback ALS on the array-API engine ------------------------------------------
def _interactions(m=50, n=40, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(rng.random((m, n)) < density)
    values = rng.integers(1, 6, rows.size).astype(float)
    values[::7] = 0.0  # zero strengths are observed pairs of confidence 1
    return rows, cols, values, (m, n)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_implicit_als_array_api_matches_numpy_path(solver):
    from numlearn.completion import implicit_als

    obs = _interactions()
    kw = dict(solver=solver, random_state=3, return_history=True, max_iter=6, reg=0.05,
              alpha=10.0, cg_steps=2)
    ref = implicit_als(obs, 5, **kw)
    res = implicit_als(_strict(obs), 5, **kw)
    assert type(res.U) is type(xps.asarray(0.0)) and res.U.dtype == xps.float64
    assert res.n_iter == ref.n_iter == 6 and res.status is ref.status
    np.testing.assert_allclose(to_numpy(res.U), ref.U, rtol=0, atol=1e-10)
    np.testing.assert_allclose(to_numpy(res.V), ref.V, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-12)
    assert res.loss == pytest.approx(ref.loss, rel=1e-12)
    if solver == "cholesky":  # exact solves: the objective decreases every iteration
        assert np.all(np.diff(res.history) < 0)


def test_implicit_als_array_api_float32_and_stopping():
    from numlearn.completion import implicit_als

    obs = _interactions(seed=1)
    res = implicit_als(_strict(obs, np.float32), 4, random_state=0, max_iter=4)
    ref = implicit_als(obs, 4, random_state=0, max_iter=4, dtype=np.float32)
    assert res.U.dtype == xps.float32 and res.V.dtype == xps.float32
    # float32 row solves of both paths, summed in different orders
    np.testing.assert_allclose(to_numpy(res.U), ref.U, rtol=0, atol=1e-3 * np.abs(ref.U).max())
    seen = []

    def stop(X, Y):
        seen.append(type(X))
        if len(seen) == 2:
            raise StopIteration

    res = implicit_als(_strict(obs), 4, random_state=0, callback=stop)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 2
    assert seen[0] is type(xps.asarray(0.0))


def test_implicit_als_array_api_bad_input():
    from numlearn.completion import implicit_als

    rows, cols, values, shape = _interactions()
    values = values.copy()
    values[3] = -1.0
    with pytest.raises(ValueError, match="R_obs: interaction strengths must be >= 0"):
        implicit_als(_strict((rows, cols, values, shape)), 3)
    with pytest.raises(ValueError, match="backend='dask' needs NumPy"):
        implicit_als(_strict(_interactions()), 3, backend="dask")
    with pytest.raises(ValueError, match="R_obs has duplicate"):
        implicit_als(_strict((np.r_[rows, rows[:1]], np.r_[cols, cols[:1]],
                              np.r_[values, 1.0], shape)), 3)


def test_predict_entries_with_biases_on_array_api():
    rng = np.random.default_rng(0)
    U, V = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    bu, bi = rng.standard_normal(5), rng.standard_normal(4)
    r, c = np.array([[0, 4], [2, 3]]), np.array([[1, 0], [3, 2]])
    ref = predict_entries(U, V, r, c, row_bias=bu, col_bias=bi, mean=3.5)
    got = predict_entries(xps.asarray(U), xps.asarray(V), xps.asarray(r), xps.asarray(c),
                          row_bias=xps.asarray(bu), col_bias=xps.asarray(bi), mean=3.5)
    assert tuple(got.shape) == (2, 2)
    np.testing.assert_allclose(to_numpy(got), ref, rtol=1e-14)
    np.testing.assert_allclose(ref, np.sum(U[r] * V[c], axis=-1) + bu[r] + bi[c] + 3.5,
                               rtol=1e-14)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
@pytest.mark.parametrize("init", ["svd", "random"])
def test_count_scaled_reg_matches_numpy_path(solver, init):
    """ALS-WR (``reg_scaling="count"``) runs on the array-API engine and equals the NumPy
    path's recommender kernels (rows without observations get zero on both)."""
    from numlearn.completion import make_ratings

    users, items, ratings = make_ratings(50, 40, 700, rank=3, random_state=2)
    shape = (52, 40)  # two users without ratings
    obs = (users, items, ratings.astype(float), shape)
    kw = dict(reg=0.1, reg_scaling="count", solver=solver, init=init, random_state=1,
              return_history=True, max_iter=12, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty rows; max_iter
        ref = altmin(obs, 3, **kw)
        res = altmin(_strict(obs), 3, **kw)
    assert res.n_iter == ref.n_iter and res.status is ref.status
    np.testing.assert_allclose(to_numpy(res.U), ref.U, rtol=0, atol=1e-9)
    np.testing.assert_allclose(to_numpy(res.V), ref.V, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-10)
    assert np.all(to_numpy(res.U)[50:] == 0.0)


def test_recommender_options_other_than_count_scaling_need_numpy():
    obs, _, _ = low_rank_problem(20, 15, 2, 150)
    for option in (dict(biases=True), dict(nonnegative=True),
                   dict(validation_fraction=0.2)):
        with pytest.raises(ValueError, match="need NumPy/SciPy observations"):
            altmin(_strict(obs), 2, reg=0.1, **option)
