"""AltMin on a real Dask LocalCluster (two worker processes on loopback): the distributed
half-steps reproduce the local path."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

pytestmark = pytest.mark.dask

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from numlearn.completion import altmin  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up chatter
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _problem(m=200, n=150, k=3, n_obs=6000, seed=0):
    rng = np.random.default_rng(seed)
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    lin = rng.choice(m * n, size=n_obs, replace=False)
    rows, cols = np.divmod(lin, n)
    values = np.einsum("ij,ij->i", U[rows], V[cols]) + 1e-3 * rng.standard_normal(n_obs)
    return rows, cols, values, (m, n)


def test_dask_backend_reproduces_the_local_path(client):
    obs = _problem()
    options = dict(tol=1e-7, max_iter=300, random_state=3, return_history=True)
    local = altmin(obs, 3, **options)
    remote = altmin(obs, 3, backend="dask", client=client, n_blocks=5, **options)
    assert remote.converged and remote.n_iter == local.n_iter
    np.testing.assert_allclose(remote.U, local.U, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.V, local.V, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.history, local.history, rtol=1e-12)


@pytest.mark.parametrize("solver", ["cg", "sketch"])
def test_dask_backend_approximate_solvers_match(client, solver):
    rows, cols, values, shape = obs = _problem(seed=4)
    rng = np.random.default_rng(0)
    init = (rng.standard_normal((shape[0], 3)), rng.standard_normal((shape[1], 3)))
    options = dict(reg=0.1, solver=solver, cg_steps=2, sketch_size=6, tol=0.0, max_iter=4,
                   init=init, random_state=1)
    with pytest.warns(ConvergenceWarning):
        local = altmin(obs, 3, **options)
    with pytest.warns(ConvergenceWarning):
        remote = altmin(obs, 3, backend="dask", client=client, n_blocks=3, **options)
    np.testing.assert_allclose(remote.U, local.U, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.V, local.V, rtol=0, atol=1e-10)


def test_dask_dataframe_input_is_solved_where_it_lives(client):
    rows, cols, values, shape = _problem(seed=1)
    frame = pd.DataFrame({"row": rows, "col": cols, "value": values})
    ddf = dd.from_pandas(frame, npartitions=6)
    local = altmin((rows, cols, values, shape), 3, tol=1e-9, random_state=0)
    remote = altmin(ddf, 3, tol=1e-9, random_state=0, client=client, n_blocks=4, shape=shape)
    assert remote.n_iter == local.n_iter
    np.testing.assert_allclose(remote.U @ remote.V.T, local.U @ local.V.T, rtol=0,
                               atol=1e-10)
    # the shape can also be inferred from the data
    inferred = altmin(ddf, 3, tol=1e-9, random_state=0, client=client, n_blocks=4)
    np.testing.assert_allclose(inferred.U, remote.U, atol=1e-12)


def test_dask_dataframe_with_empty_rows_and_bad_data(client):
    rows, cols, values, shape = _problem(seed=2)
    keep = rows < 150  # rows 150..199 unobserved: whole blocks without data
    ddf = dd.from_pandas(pd.DataFrame({"row": rows[keep], "col": cols[keep],
                                       "value": values[keep]}), npartitions=3)
    with pytest.warns(UserWarning, match="50 rows"), pytest.warns(ConvergenceWarning):
        res = altmin(ddf, 3, reg=0.1, max_iter=3, random_state=0, client=client, n_blocks=8,
                     shape=shape)
    np.testing.assert_array_equal(res.U[150:], 0.0)
    duplicated = dd.from_pandas(pd.DataFrame({"row": np.r_[rows, rows[:1]],
                                              "col": np.r_[cols, cols[:1]],
                                              "value": np.r_[values, 0.0]}), npartitions=3)
    with pytest.raises(ValueError, match="duplicate"):
        altmin(duplicated, 3, client=client, shape=shape)
    with pytest.raises(ValueError, match="columns"):
        altmin(dd.from_pandas(pd.DataFrame({"r": [0], "c": [0], "v": [1.0]}),
                              npartitions=1), 1, client=client)


def test_dask_backend_needs_a_client():
    obs = _problem(m=30, n=20, n_obs=300)
    with pytest.raises(ValueError, match="backend"):
        altmin(obs, 2, backend="spark")


def test_dask_backend_reproduces_the_local_path_with_biases_and_als_wr(client):
    rows, cols, values, shape = _problem()
    kw = dict(reg=0.1, reg_scaling="count", biases=True, init="random", random_state=0,
              max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        local = altmin((rows, cols, values + 3.0, shape), 3, **kw)
    with pytest.warns(ConvergenceWarning):
        dist = altmin((rows, cols, values + 3.0, shape), 3, backend="dask", client=client,
                      n_blocks=3, **kw)
    np.testing.assert_allclose(dist.U, local.U, atol=1e-10)
    np.testing.assert_allclose(dist.row_bias, local.row_bias, atol=1e-10)
    np.testing.assert_allclose(dist.col_bias, local.col_bias, atol=1e-10)
    assert dist.rmse == pytest.approx(local.rmse, rel=1e-10)


def test_estimator_backend_dask_equals_local(client):
    from numlearn.completion import AltMinCompletion

    rows, cols, values, shape = _problem()
    frame = pd.DataFrame({"user": rows, "item": cols, "rating": values + 3.0})
    kw = dict(rank=3, reg=0.1, reg_scaling="count", biases=True, init="random",
              random_state=0, max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        local = AltMinCompletion(**kw).fit(frame)
    with pytest.warns(ConvergenceWarning):
        dist = AltMinCompletion(backend="dask", **kw).fit(frame)
    np.testing.assert_allclose(dist.U_, local.U_, atol=1e-10)
    np.testing.assert_allclose(dist.item_bias_, local.item_bias_, atol=1e-10)
    np.testing.assert_array_equal(dist.recommend(local.user_ids_[:5], n=4)[0],
                                  local.recommend(local.user_ids_[:5], n=4)[0])


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_implicit_als_dask_equals_local(client, solver):
    from numlearn.completion import implicit_als

    rng = np.random.default_rng(1)
    m, n = 120, 90
    rows, cols = np.nonzero(rng.random((m, n)) < 0.1)
    obs = (rows, cols, rng.integers(1, 8, rows.size).astype(float), (m, n))
    kw = dict(solver=solver, random_state=2, max_iter=5, return_history=True, reg=0.1,
              alpha=5.0)
    local = implicit_als(obs, 6, **kw)
    remote = implicit_als(obs, 6, backend="dask", client=client, n_blocks=4, **kw)
    assert remote.n_iter == local.n_iter == 5 and remote.status is local.status
    np.testing.assert_allclose(remote.U, local.U, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.V, local.V, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.history, local.history, rtol=1e-10)


def test_implicit_estimator_dask_backend(client):
    from numlearn.completion import ImplicitALS, make_ratings

    users, items, ratings = make_ratings(80, 60, 1500, implicit=True, random_state=0)
    local = ImplicitALS(rank=4, random_state=0, max_iter=4).fit((users, items, ratings))
    remote = ImplicitALS(rank=4, random_state=0, max_iter=4, backend="dask").fit(
        (users, items, ratings))
    np.testing.assert_allclose(remote.user_factors_, local.user_factors_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.item_factors_, local.item_factors_, rtol=0, atol=1e-10)
    assert remote.recommend(users[0], n=5)[0].tolist() == local.recommend(users[0], n=5)[0].tolist()
