"""Implicit-feedback ALS against a dense NumPy implementation of Hu–Koren–Volinsky, the
``implicit`` library where installed, and the estimator's recommender API."""

import numpy as np
import pytest
import scipy.sparse as sp

from numlearn.completion import ImplicitALS, implicit_als, implicit_loss, make_ratings
from numlearn.metrics import map_at_k, ndcg_at_k, precision_at_k


def _interactions(m=25, n=30, density=0.3, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    rows, cols = np.nonzero(mask)
    return rows, cols, rng.integers(1, 6, rows.size).astype(float), (m, n)


def _dense_hkv(obs, X0, Y0, reg, alpha, n_iter):
    rows, cols, r, (m, n) = obs
    P = np.zeros((m, n))
    P[rows, cols] = 1.0
    C = np.ones((m, n))
    C[rows, cols] = 1.0 + alpha * r
    X, Y = X0.copy(), Y0.copy()
    k = X.shape[1]
    for _ in range(n_iter):
        for u in range(m):
            X[u] = np.linalg.solve(Y.T @ (C[u][:, None] * Y) + reg * np.eye(k), Y.T @ (C[u] * P[u]))
        for i in range(n):
            Y[i] = np.linalg.solve(X.T @ (C[:, i][:, None] * X) + reg * np.eye(k),
                                   X.T @ (C[:, i] * P[:, i]))
    loss = np.sum(C * (P - X @ Y.T) ** 2) + reg * (np.sum(X**2) + np.sum(Y**2))
    return X, Y, loss


def test_exact_solves_equal_a_dense_numpy_implementation():
    obs = _interactions()
    rng = np.random.default_rng(1)
    X0, Y0 = rng.standard_normal((25, 4)), rng.standard_normal((30, 4))
    res = implicit_als(obs, 4, reg=0.1, alpha=2.0, solver="cholesky", init=(X0, Y0),
                       max_iter=3, return_history=True)
    X, Y, loss = _dense_hkv(obs, X0, Y0, 0.1, 2.0, 3)
    np.testing.assert_allclose(res.U, X, atol=1e-8, rtol=0)
    np.testing.assert_allclose(res.V, Y, atol=1e-8, rtol=0)
    assert res.history[-1] == pytest.approx(loss, rel=1e-10)
    assert implicit_loss(obs, X, Y, reg=0.1, alpha=2.0) == pytest.approx(loss, rel=1e-12)
    assert res.converged and res.n_iter == 3


def test_cg_decreases_the_objective_monotonically_and_reaches_the_exact_iterates():
    obs = _interactions(40, 50, seed=2)
    res = implicit_als(obs, 6, reg=0.05, alpha=10.0, max_iter=20, random_state=0,
                       return_history=True)  # cg_steps=3
    assert np.all(np.diff(res.history) < 0)
    exact = implicit_als(obs, 6, reg=0.05, alpha=10.0, max_iter=20, random_state=0,
                         solver="cholesky", return_history=True)
    assert res.history[-1] < 1.01 * exact.history[-1]
    # enough CG steps: the exact iterates
    many = implicit_als(obs, 6, reg=0.05, alpha=10.0, max_iter=3, random_state=0,
                        cg_steps=40)
    few = implicit_als(obs, 6, reg=0.05, alpha=10.0, max_iter=3, random_state=0,
                       solver="cholesky")
    np.testing.assert_allclose(many.U, few.U, atol=1e-7)


def test_float32_follows_float64():
    obs = _interactions(40, 50, seed=2)
    r64 = implicit_als(obs, 6, max_iter=5, random_state=0, return_history=True)
    r32 = implicit_als(obs, 6, max_iter=5, random_state=0, return_history=True,
                       dtype=np.float32)
    assert r32.U.dtype == np.float32
    assert r32.history[-1] == pytest.approx(r64.history[-1], rel=1e-3)


def test_tol_stops_and_bad_input():
    obs = _interactions()
    res = implicit_als(obs, 3, tol=1e-2, max_iter=100, random_state=0)
    assert res.converged and res.n_iter < 100
    rows, cols, r, shape = obs
    with pytest.raises(ValueError, match="must be >= 0"):
        implicit_als((rows, cols, -r, shape), 3)
    with pytest.raises(ValueError, match="finite"):
        implicit_als((rows, cols, np.where(r > 4, np.nan, r), shape), 3)
    with pytest.raises(ValueError, match="rank must be <= min"):
        implicit_als(obs, 26)
    with pytest.raises(ValueError, match="alpha"):
        implicit_als(obs, 3, alpha=0.0)
    with pytest.raises(ValueError, match="solver"):
        implicit_als(obs, 3, solver="sketch")


def test_matches_the_implicit_library_with_the_same_confidence():
    als = pytest.importorskip("implicit.cpu._als")
    obs = _interactions(60, 80, seed=3)
    rows, cols, r, shape = obs
    alpha, reg = 40.0, 0.01
    rng = np.random.default_rng(0)
    X, Y = rng.random((60, 8)) * 0.1, rng.random((80, 8)) * 0.1
    ours = implicit_als(obs, 8, reg=reg, alpha=alpha, init=(X, Y), max_iter=1)
    # implicit uses confidence alpha * value: pass r + 1/alpha to get 1 + alpha r
    C = sp.csr_matrix((alpha * (r + 1.0 / alpha), (rows, cols)), shape=shape)
    Xi, Yi = X.copy(), Y.copy()
    als.least_squares_cg(C, Xi, Yi, reg, 1, 3)
    als.least_squares_cg(C.T.tocsr(), Yi, Xi, reg, 1, 3)
    np.testing.assert_allclose(ours.U, Xi, atol=1e-9)
    np.testing.assert_allclose(ours.V, Yi, atol=1e-9)


# ---------------------------------------------------------------- estimator


@pytest.fixture(scope="module")
def interactions():
    users, items, counts = make_ratings(300, 200, 8000, implicit=True, random_state=0)
    names = np.array([f"user-{u}" for u in users], dtype=object)
    return names, items * 10, counts  # string user ids, sparse integer item ids


def test_estimator_ids_round_trip_and_recommend_filters_seen(interactions):
    users, items, counts = interactions
    model = ImplicitALS(rank=8, random_state=0).fit((users, items, counts))
    assert set(model.user_ids_.tolist()) == set(users.tolist())
    assert set(model.item_ids_.tolist()) == set(items.tolist())
    assert model.user_factors_.shape == (len(model.user_ids_), 8)
    queried = model.user_ids_[:20]
    recommended, scores = model.recommend(queried, n=15)
    assert recommended.shape == (20, 15)
    assert np.all(np.diff(scores, axis=1) <= 0)
    for user, recs in zip(queried, recommended):
        seen = set(items[users == user].tolist())
        assert not seen & set(recs.tolist())
    unfiltered, _ = model.recommend(queried[0], n=15, filter_seen=False)
    assert set(unfiltered.tolist()) & set(items[users == queried[0]].tolist())
    one, one_scores = model.recommend(queried[3], n=15)
    np.testing.assert_array_equal(one, recommended[3])
    # scores are the factor products
    u = np.searchsorted(model.user_ids_, queried[3])
    i = np.searchsorted(model.item_ids_, one)
    np.testing.assert_allclose(one_scores, model.item_factors_[i] @ model.user_factors_[u])


def test_duplicates_are_summed_and_dataframes_work(interactions):
    pd = pytest.importorskip("pandas")
    users, items, counts = interactions
    split = counts / 2
    frame = pd.DataFrame({"user": np.r_[users, users], "item": np.r_[items, items],
                          "rating": np.r_[split, split]})
    a = ImplicitALS(rank=4, random_state=0, max_iter=3).fit(frame)
    b = ImplicitALS(rank=4, random_state=0, max_iter=3).fit((users, items, counts))
    np.testing.assert_allclose(a.user_factors_, b.user_factors_, atol=1e-12)


def test_similar_items_and_cold_start(interactions):
    users, items, counts = interactions
    model = ImplicitALS(rank=8, random_state=0).fit((users, items, counts))
    ids, sims = model.similar_items(items[0], n=5)
    assert items[0] not in ids.tolist() and np.all(sims <= 1 + 1e-12)
    F = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1)[:, None]
    q = np.searchsorted(model.item_ids_, items[0])
    expect = np.argsort(-(F @ F[q]))
    expect = expect[expect != q][:5]
    np.testing.assert_array_equal(ids, model.item_ids_[expect])
    assert model.similar_users(users[0], n=3)[0].shape == (3,)
    with pytest.raises(ValueError, match="unknown user id"):
        model.recommend("nobody")
    with pytest.raises(ValueError, match="unknown item id"):
        model.predict((np.array([users[0]]), np.array([-1])))
    model.set_params(cold_start="nan")
    pred = model.predict((np.array([users[0], "nobody"], dtype=object), items[:2]))
    assert np.isfinite(pred[0]) and np.isnan(pred[1])
    model.set_params(cold_start="drop")
    assert model.predict((np.array([users[0], "nobody"], dtype=object), items[:2])).shape == (1,)
    model.set_params(cold_start="mean")
    pred = model.predict((np.array(["nobody"], dtype=object), items[:1]))
    mean_user = model.user_factors_.mean(axis=0)
    i = np.searchsorted(model.item_ids_, items[0])
    assert pred[0] == pytest.approx(mean_user @ model.item_factors_[i])
    recs, _ = model.recommend("nobody", n=3)
    assert recs.shape == (3,)


def test_held_out_precision_beats_popularity():
    users, items, counts = make_ratings(400, 300, 15000, implicit=True, random_state=1)
    test = np.random.default_rng(0).random(users.shape[0]) < 0.2
    model = ImplicitALS(rank=8, reg=1.0, alpha=1.0, random_state=0).fit(
        (users[~test], items[~test], counts[~test]))
    precision = model.score((users[test], items[test]))
    # baseline: the most popular unseen items
    popular = np.argsort(-np.bincount(items[~test], minlength=300))
    recs, relevant = [], []
    for u in np.unique(users[test]):
        seen = set(items[~test][users[~test] == u].tolist())
        recs.append([i for i in popular if i not in seen][:10])
        relevant.append(set(items[test][users[test] == u].tolist()))
    assert precision > precision_at_k(recs, relevant, 10)


def test_bad_estimator_input():
    with pytest.raises(ValueError, match="negative confidence"):
        ImplicitALS(rank=2).fit((np.array([1, 2]), np.array([1, 2]), np.array([1.0, -1.0])))
    with pytest.raises(ValueError, match="finite"):
        ImplicitALS(rank=2).fit((np.array([1, 2]), np.array([1, 2]), np.array([1.0, np.nan])))
    with pytest.raises(ValueError, match="rank must be <= min"):
        ImplicitALS(rank=3).fit((np.array([1, 2]), np.array([1, 2])))
    with pytest.raises(TypeError, match="long-format"):
        ImplicitALS(rank=2).fit(np.ones((3, 3)))


# ---------------------------------------------------------------- metrics


def test_ranking_metrics_closed_forms_and_sklearn():
    from sklearn.metrics import ndcg_score

    recommended = [[5, 1, 7, 3], [2, 9, 4, 8]]
    relevant = [{1, 3, 6}, {4}]
    assert precision_at_k(recommended, relevant, k=4) == pytest.approx((2 / 4 + 1 / 4) / 2)
    ap0 = (1 / 2 + 2 / 4) / 3
    ap1 = (1 / 3) / 1
    assert map_at_k(recommended, relevant, k=4) == pytest.approx((ap0 + ap1) / 2)
    # NDCG against scikit-learn, with scores that produce the same ranking
    items = np.arange(10)
    expected = []
    for rec, rel in zip(recommended, relevant):
        score = np.zeros(10)
        score[rec] = np.arange(len(rec), 0, -1)
        truth = np.isin(items, list(rel)).astype(float)
        expected.append(ndcg_score(truth[None], score[None], k=4))
    assert ndcg_at_k(recommended, relevant, k=4) == pytest.approx(np.mean(expected))
    with pytest.raises(ValueError, match="one entry per user"):
        precision_at_k([[1]], [{1}, {2}])
    with pytest.raises(ValueError, match="no user has a relevant item"):
        ndcg_at_k([[1]], [set()])
