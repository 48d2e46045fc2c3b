"""Explicit-feedback ALS as recommenders fit it: ALS-WR penalties, biases, nonnegativity and
early stopping on a validation fraction, against dense NumPy references."""

import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.exceptions import ConvergenceWarning

from numlearn.completion import altmin, make_ratings, predict_entries


def _ratings(m=30, n=40, k=3, density=0.5, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    rows, cols = np.nonzero(mask)
    M = (rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
         + rng.standard_normal((m, 1)) + rng.standard_normal((1, n)) + 3.0)
    values = M[rows, cols] + noise * rng.standard_normal(rows.size)
    return rows, cols, values, (m, n)


def _dense_als(rows, cols, values, shape, U0, V0, reg, n_iter, biases, count):
    """ALS-WR written out densely: every regression with numpy.linalg.solve."""
    m, n = shape
    k = U0.shape[1]
    R = np.full(shape, np.nan)
    R[rows, cols] = values
    U, V = U0.copy(), V0.copy()
    bu, bi = np.zeros(m), np.zeros(n)
    mu = values.mean() if biases else 0.0

    def solve(design, target):
        lam = reg * (len(target) if count else 1.0)
        return np.linalg.solve(design.T @ design + lam * np.eye(design.shape[1]),
                               design.T @ target)

    for _ in range(n_iter):
        for j in range(n):
            ii = np.nonzero(~np.isnan(R[:, j]))[0]
            D = np.column_stack([U[ii], np.ones(ii.size)]) if biases else U[ii]
            x = solve(D, R[ii, j] - mu - (bu[ii] if biases else 0.0))
            V[j] = x[:k]
            bi[j] = x[k] if biases else 0.0
        for i in range(m):
            jj = np.nonzero(~np.isnan(R[i]))[0]
            D = np.column_stack([V[jj], np.ones(jj.size)]) if biases else V[jj]
            x = solve(D, R[i, jj] - mu - (bi[jj] if biases else 0.0))
            U[i] = x[:k]
            bu[i] = x[k] if biases else 0.0
    return U, V, bu, bi, mu


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("reg_scaling", ["count", "none"])
def test_als_wr_iterates_equal_a_dense_numpy_reference(biases, reg_scaling):
    rows, cols, values, shape = _ratings()
    rng = np.random.default_rng(1)
    U0, V0 = rng.standard_normal((shape[0], 3)), rng.standard_normal((shape[1], 3))
    with pytest.warns(ConvergenceWarning):
        res = altmin((rows, cols, values, shape), 3, reg=0.1, reg_scaling=reg_scaling,
                     biases=biases, init=(U0, V0), max_iter=4, tol=0.0)
    U, V, bu, bi, mu = _dense_als(rows, cols, values, shape, U0, V0, 0.1, 4, biases,
                                  reg_scaling == "count")
    np.testing.assert_allclose(res.U, U, atol=1e-10, rtol=0)
    np.testing.assert_allclose(res.V, V, atol=1e-10, rtol=0)
    pred = mu + bu[rows] + bi[cols] + np.einsum("ij,ij->i", U[rows], V[cols])
    assert res.rmse == pytest.approx(np.sqrt(np.mean((values - pred) ** 2)), rel=1e-10)
    if biases:
        np.testing.assert_allclose(res.row_bias, bu, atol=1e-10, rtol=0)
        np.testing.assert_allclose(res.col_bias, bi, atol=1e-10, rtol=0)
        assert res.mean == pytest.approx(values.mean(), rel=1e-14)
        np.testing.assert_allclose(
            predict_entries(res.U, res.V, rows, cols, row_bias=res.row_bias,
                            col_bias=res.col_bias, mean=res.mean), pred, atol=1e-9)
    else:
        assert "row_bias" not in res


def test_cg_with_enough_steps_equals_the_exact_solves():
    obs = _ratings()
    rng = np.random.default_rng(1)
    init = rng.standard_normal((30, 3)), rng.standard_normal((40, 3))
    kw = dict(reg=0.1, reg_scaling="count", biases=True, init=init, max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        exact = altmin(obs, 3, **kw)
    with pytest.warns(ConvergenceWarning):
        cg = altmin(obs, 3, solver="cg", cg_steps=4, **kw)  # k + 1 = 4 unknowns per row
    np.testing.assert_allclose(cg.U, exact.U, atol=1e-8)
    np.testing.assert_allclose(cg.row_bias, exact.row_bias, atol=1e-8)


def test_biases_recover_planted_biases():
    rng = np.random.default_rng(3)
    m, n = 300, 200
    b = rng.standard_normal(m)
    c = rng.standard_normal(n)
    b -= b.mean()
    c -= c.mean()
    mask = rng.random((m, n)) < 0.3
    rows, cols = np.nonzero(mask)
    values = 3.0 + b[rows] + c[cols] + 0.05 * rng.standard_normal(rows.size)
    res = altmin((rows, cols, values, (m, n)), 1, reg=1e-3, reg_scaling="count", biases=True,
                 init="random", random_state=0, max_iter=100, tol=1e-4)
    # the split of the constant between mean, row and column biases is not identifiable
    shift = (res.mean - 3.0) + res.row_bias.mean() + res.col_bias.mean()
    np.testing.assert_allclose(res.row_bias - res.row_bias.mean(), b, atol=0.03)
    np.testing.assert_allclose(res.col_bias - res.col_bias.mean(), c, atol=0.03)
    assert abs(shift) < 0.03
    # the factors do not absorb the biases (they fit a little of the noise)
    assert np.sqrt(np.mean((res.U @ res.V.T) ** 2)) < 0.05
    assert res.rmse < 0.06


def test_nonnegative_factors_solve_each_row_by_nnls():
    rows, cols, values, shape = _ratings(noise=0.0)
    values = np.abs(values)
    rng = np.random.default_rng(2)
    U0 = np.abs(rng.standard_normal((shape[0], 3)))
    with pytest.warns(ConvergenceWarning):
        res = altmin((rows, cols, values, shape), 3, reg=0.5, nonnegative=True,
                     init=(U0, np.zeros((shape[1], 3))), max_iter=1, tol=0.0)
    assert (res.U >= 0).all() and (res.V >= 0).all()
    # the V half-step: min ‖U_j v − m_j‖² + 0.5 ‖v‖², v ≥ 0, by scipy's NNLS
    for j in range(shape[1]):
        sel = cols == j
        A = np.vstack([U0[rows[sel]], np.sqrt(0.5) * np.eye(3)])
        y = np.concatenate([values[sel], np.zeros(3)])
        np.testing.assert_allclose(res.V[j], nnls(A, y)[0], atol=1e-9)
    assert (res.V == 0).any()  # the constraint is active somewhere


def test_early_stopping_keeps_the_best_validation_iterate():
    users, items, ratings = make_ratings(200, 150, 6000, random_state=0)
    obs = (users, items, ratings, (200, 150))
    res = altmin(obs, 10, reg=0.01, reg_scaling="count", biases=True, init="svd",
                 validation_fraction=0.2, n_iter_no_change=3, max_iter=200, tol=1e-12,
                 random_state=0)  # little penalty: overfits, validation error turns up
    hist = res.validation_history
    assert res.converged and res.n_iter < 200
    assert res.n_iter == res.best_iter + 3 and res.best_iter >= 2
    assert hist[res.best_iter - 1] == hist.min()
    # the returned model is the best iterate: its held-out error is the recorded minimum
    rng = np.random.default_rng(0)
    rng.integers(2**62)  # the draws altmin makes before the split
    held = rng.random(ratings.shape[0]) < 0.2
    pred = predict_entries(res.U, res.V, users[held], items[held], row_bias=res.row_bias,
                           col_bias=res.col_bias, mean=res.mean)
    assert np.sqrt(np.mean((pred - ratings[held]) ** 2)) == pytest.approx(hist.min(),
                                                                          rel=1e-12)


def test_count_scaled_reg_generalizes_on_realistic_ratings():
    users, items, ratings = make_ratings(300, 400, 20000, random_state=1)
    test = np.random.default_rng(0).random(ratings.shape[0]) < 0.2
    train = ~test

    def test_rmse(**kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # reg=0: singular rows
            res = altmin((users[train], items[train], ratings[train], (300, 400)), 10,
                         init="random", random_state=0, max_iter=15, **kw)
        pred = predict_entries(res.U, res.V, users[test], items[test],
                               row_bias=res.get("row_bias"), col_bias=res.get("col_bias"),
                               mean=res.get("mean", 0.0))
        return np.sqrt(np.mean((pred - ratings[test]) ** 2))

    plain = test_rmse(reg=0.0)
    wr = test_rmse(reg=0.1, reg_scaling="count")
    wr_biases = test_rmse(reg=0.1, reg_scaling="count", biases=True)
    assert plain > 1.5  # reg=0 overfits the noisy ratings
    assert wr_biases < wr < 1.1
    assert wr_biases < 1.0


def test_bad_recommender_options():
    obs = _ratings()
    with pytest.raises(ValueError, match="reg_scaling"):
        altmin(obs, 2, reg_scaling="counts")
    with pytest.raises(TypeError, match="biases"):
        altmin(obs, 2, biases="yes")
    with pytest.raises(ValueError, match="nonnegative=True needs solver='cholesky'"):
        altmin(obs, 2, nonnegative=True, solver="cg")
    with pytest.raises(ValueError, match="sketch"):
        altmin(obs, 2, biases=True, solver="sketch")
    with pytest.raises(ValueError, match="validation_fraction"):
        altmin(obs, 2, validation_fraction=1.0)
    with pytest.raises(ValueError, match="n_iter_no_change"):
        altmin(obs, 2, validation_fraction=0.1, n_iter_no_change=0)


# ---------------------------------------------------------------- estimator as recommender


@pytest.fixture(scope="module")
def ratings_frame():
    pd = pytest.importorskip("pandas")
    users, items, ratings = make_ratings(150, 120, 4000, random_state=0)
    return pd.DataFrame({"user": [f"u{u}" for u in users], "item": items * 7 + 1,
                         "rating": ratings})


def _model(**kw):
    from numlearn.completion import AltMinCompletion

    params = dict(rank=4, reg=0.1, reg_scaling="count", biases=True, init="random",
                  random_state=0, max_iter=100, tol=1e-3)
    params.update(kw)
    return AltMinCompletion(**params)


def test_long_format_fit_equals_altmin_on_the_codes(ratings_frame):
    model = _model().fit(ratings_frame)
    users = np.searchsorted(model.user_ids_, ratings_frame["user"].to_numpy())
    items = np.searchsorted(model.item_ids_, ratings_frame["item"].to_numpy())
    np.testing.assert_array_equal(model.user_ids_[users], ratings_frame["user"].to_numpy())
    res = altmin((users, items, ratings_frame["rating"].to_numpy(),
                  (len(model.user_ids_), len(model.item_ids_))), 4, reg=0.1,
                 reg_scaling="count", biases=True, init="random", random_state=0,
                 max_iter=100, tol=1e-3)
    np.testing.assert_allclose(model.U_, res.U, atol=1e-12)
    np.testing.assert_allclose(model.item_bias_, res.col_bias, atol=1e-12)
    pred = model.predict(ratings_frame[["user", "item"]])
    np.testing.assert_allclose(pred, predict_entries(res.U, res.V, users, items,
                                                     row_bias=res.row_bias,
                                                     col_bias=res.col_bias, mean=res.mean))
    assert model.score(ratings_frame) == pytest.approx(-res.rmse, rel=1e-10)


def test_recommend_never_returns_seen_items_and_ranks_by_predicted_rating(ratings_frame):
    model = _model().fit(ratings_frame)
    some = model.user_ids_[:10]
    recs, scores = model.recommend(some, n=8)
    for user, row, row_scores in zip(some, recs, scores):
        seen = set(ratings_frame.loc[ratings_frame["user"] == user, "item"].tolist())
        assert not seen & set(row.tolist())
        frame = {"user": np.repeat(user, 8), "item": row}
        np.testing.assert_allclose(model.predict((frame["user"], frame["item"])), row_scores)
        # nothing unseen scores higher than the last recommendation
        unseen = np.setdiff1d(model.item_ids_, list(seen))
        all_scores = model.predict((np.repeat(user, unseen.size), unseen))
        assert all_scores.max() == pytest.approx(row_scores[0])
        assert np.sum(all_scores > row_scores[-1] + 1e-12) <= 7


def test_cold_start_strategies(ratings_frame):
    model = _model().fit(ratings_frame)
    known_user, known_item = model.user_ids_[0], model.item_ids_[0]
    pairs = (np.array([known_user, "new"], dtype=object), np.array([known_item, known_item]))
    with pytest.raises(ValueError, match="unknown user id"):
        model.predict(pairs)
    nan = model.set_params(cold_start="nan").predict(pairs)
    assert np.isfinite(nan[0]) and np.isnan(nan[1])
    assert model.set_params(cold_start="drop").predict(pairs).shape == (1,)
    mean = model.set_params(cold_start="mean").predict(pairs)
    expected = (model.global_mean_ + model.user_bias_.mean() + model.item_bias_[0]
                + model.U_.mean(axis=0) @ model.V_[0])
    assert mean[1] == pytest.approx(expected)
    assert mean[0] == pytest.approx(nan[0])


def test_grid_search_over_rank_and_sklearn_output(ratings_frame):
    from sklearn.model_selection import GridSearchCV, KFold

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(_model(max_iter=10), {"rank": [1, 3]},
                              cv=KFold(3, shuffle=True, random_state=0)).fit(ratings_frame)
    assert search.best_params_["rank"] in (1, 3)
    assert np.all(search.cv_results_["mean_test_score"] < 0)
    # matrix input: an imputer with one output column per input feature, pandas output
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 12)) + 3.0
    X[rng.random(X.shape) < 0.3] = np.nan
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(12)])
    model = _model(rank=2, max_iter=50).set_output(transform="pandas")
    out = model.fit_transform(frame)
    assert list(out.columns) == list(frame.columns)
    assert list(model.get_feature_names_out()) == list(frame.columns)
    # fold-in with biases: observed entries kept, missing ones from μ + b + c + u·v
    observed = ~np.isnan(X)
    np.testing.assert_allclose(out.to_numpy()[observed], X[observed])
    assert np.all(np.isfinite(out.to_numpy()))


def test_recommender_bad_input(ratings_frame):
    dup = ratings_frame.iloc[[0, 0, 1]]
    with pytest.raises(ValueError, match="duplicate"):
        _model().fit(dup)
    bad = ratings_frame.copy()
    bad.loc[3, "rating"] = np.nan
    with pytest.raises(ValueError, match="finite"):
        _model().fit(bad)
    with pytest.raises(ValueError, match="rank"):
        _model(rank=500).fit(ratings_frame)
    with pytest.raises(ValueError, match="rating"):
        _model().fit(ratings_frame[["user", "item"]])
    model = _model().fit(ratings_frame)
    with pytest.raises(ValueError, match="unknown item id"):
        model.similar_items("no such item")
    with pytest.raises(ValueError, match="cold_start"):
        model.set_params(cold_start="zero").predict(ratings_frame.iloc[:2])
