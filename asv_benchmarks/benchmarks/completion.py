"""Alternating minimization: one iteration of each row solver vs a plain NumPy per-row
least-squares loop (and Spark MLlib ALS when pyspark and Java are present)."""

import numpy as np

from numlearn.completion import altmin
from numlearn.completion._local_engine import LocalEngine
from numlearn.completion._observations import check_observations, row_layout

from .common import quiet


def _problem(n_obs, k, seed=0):
    side = int(np.sqrt(n_obs / 0.03))  # ~3% observed
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((side, k))
    V = rng.standard_normal((side, k))
    # distinct positions without an O(side²) permutation: oversample, deduplicate, shuffle
    lin = np.unique(rng.integers(0, side * side, size=n_obs + n_obs // 10 + 100))
    lin = rng.permutation(lin)[:n_obs]
    rows, cols = np.divmod(lin, side)
    values = np.einsum("ij,ij->i", U[rows], V[cols]) + 0.01 * rng.standard_normal(n_obs)
    return (rows, cols, values, (side, side))


class AltMinIteration:
    """One AltMin iteration (both half-steps, the per-row solves only) from the same
    factors; ``time_numlearn_setup`` is the one-off validation and row/column layouts."""

    params = [[5, 20, 50], [10**5, 10**6, 10**7], ["cholesky", "cg", "sketch"]]
    param_names = ["rank", "n_obs", "solver"]
    timeout = 900

    def setup(self, rank, n_obs, solver):
        self.obs = _problem(n_obs, rank)
        self.sketch_size = 4 * rank
        self.engine = LocalEngine(check_observations(self.obs), sketch_seed=0,
                                  sketch_size=self.sketch_size)
        m, n = self.obs[3]
        rng = np.random.default_rng(1)
        self.U = rng.standard_normal((m, rank))
        self.V = rng.standard_normal((n, rank))
        self.time_numlearn_iteration(rank, n_obs, solver)  # compile

    def time_numlearn_iteration(self, rank, n_obs, solver):
        V, _ = self.engine.half_step("cols", self.U, self.V, solver, 0.1, 5, self.sketch_size)
        self.engine.half_step("rows", V, self.U, solver, 0.1, 5, self.sketch_size)

    def time_numlearn_setup(self, rank, n_obs, solver):
        LocalEngine(check_observations(self.obs), sketch_seed=0,
                    sketch_size=self.sketch_size)

    def track_rmse_after_10_iterations(self, rank, n_obs, solver):
        res = quiet(altmin, self.obs, rank, solver=solver, max_iter=10, tol=0.0, reg=0.1,
                    random_state=0)
        return res.rmse


class NumPyRowLstsqIteration:
    """The baseline a user would write: ``numpy.linalg.lstsq`` per row, in a Python loop."""

    params = [[5, 20], [10**5]]
    param_names = ["rank", "n_obs"]

    def setup(self, rank, n_obs):
        rows, cols, values, shape = _problem(n_obs, rank)
        self.by_row = row_layout(rows, cols, values, shape[0])
        self.by_col = row_layout(cols, rows, values, shape[1])
        rng = np.random.default_rng(1)
        self.U = rng.standard_normal((shape[0], rank))
        self.V = rng.standard_normal((shape[1], rank))

    @staticmethod
    def _half_step(layout, other, out, reg):
        k = other.shape[1]
        for i in range(out.shape[0]):
            sl = slice(layout.indptr[i], layout.indptr[i + 1])
            A = np.vstack([other[layout.indices[sl]], np.sqrt(reg) * np.eye(k)])
            b = np.concatenate([layout.values[sl], np.zeros(k)])
            out[i] = np.linalg.lstsq(A, b, rcond=None)[0]

    def time_numpy_iteration(self, rank, n_obs):
        self._half_step(self.by_col, self.U, self.V, 0.1)
        self._half_step(self.by_row, self.V, self.U, 0.1)


class SparkALSIteration:
    """Spark MLlib ALS (``local[2]``, explicit feedback, same rank / reg / iterations).

    Measured once (2026-12-08, 2 shared and heavily loaded cores, |Ω| = 10^6, k = 20,
    regParam 0.1 beside ``altmin(reg=0.1, reg_scaling="count")``): Spark 11.3 s per
    iteration, numlearn 0.52 s (21.9× faster; a whole one-iteration fit 29.5×).
    """

    params = [[20], [10**5, 10**6]]  # the smoke run takes the smallest
    param_names = ["rank", "n_obs"]
    timeout = 600

    def setup(self, rank, n_obs):
        try:
            import pandas as pd
            from pyspark.ml.recommendation import ALS
            from pyspark.sql import SparkSession
        except ImportError:
            raise NotImplementedError("pyspark (and pandas) is not installed") from None
        try:
            self.spark = (SparkSession.builder.master("local[2]")
                          .config("spark.ui.enabled", "false").getOrCreate())
        except Exception as exc:  # no Java
            raise NotImplementedError(f"Spark cannot start: {exc}") from None
        rows, cols, values, _ = _problem(n_obs, rank)
        self.df = self.spark.createDataFrame(pd.DataFrame(
            {"user": rows.astype("int32"), "item": cols.astype("int32"), "rating": values}
        )).cache()
        self.df.count()
        self.ALS = ALS

    def time_spark_als_iteration(self, rank, n_obs):
        self.ALS(rank=rank, maxIter=1, regParam=0.1, userCol="user", itemCol="item",
                 ratingCol="rating").fit(self.df)


# ------------------------------------------------------------------ recommenders
# Explicit ratings: numlearn's ALS-WR with biases beside the plain NumPy ALS-WR script a
# user would write (global mean removed, ridge λ·n_i per row, 15 iterations); implicit
# feedback: numlearn's ImplicitALS beside the `implicit` library's CPU ALS (same factors,
# iterations, regularization and CG steps, and the same confidence 1 + α r: implicit is given
# r + 1/α, since it uses α·value). Data: numlearn.completion.make_ratings (power-law item
# popularity, log-normal user activity, biases, 1–5 integer ratings / taste-driven counts).

_RATING_SIZES = {10**5: (943, 1682), 10**6: (6040, 3706)}  # the MovieLens 100k / 1M shapes


def _split(n, seed=1):
    return np.random.default_rng(seed).random(n) < 0.2


def numpy_als_wr(users, items, ratings, shape, rank, reg, n_iter=15, seed=0):
    """The baseline script: per-row ``numpy.linalg.solve`` in Python loops."""
    m, n = shape
    mu = ratings.mean()
    centred = ratings - mu
    rng = np.random.default_rng(seed)
    U, V = 0.1 * rng.standard_normal((m, rank)), 0.1 * rng.standard_normal((n, rank))
    by_user = np.split(np.argsort(users, kind="stable"),
                       np.cumsum(np.bincount(users, minlength=m))[:-1])
    by_item = np.split(np.argsort(items, kind="stable"),
                       np.cumsum(np.bincount(items, minlength=n))[:-1])
    eye = np.eye(rank)
    for _ in range(n_iter):
        for u, idx in enumerate(by_user):
            if idx.size:
                Vi = V[items[idx]]
                U[u] = np.linalg.solve(Vi.T @ Vi + reg * idx.size * eye, Vi.T @ centred[idx])
        for i, idx in enumerate(by_item):
            if idx.size:
                Ui = U[users[idx]]
                V[i] = np.linalg.solve(Ui.T @ Ui + reg * idx.size * eye, Ui.T @ centred[idx])
    return U, V, mu


class ExplicitRatings:
    """Rank-10 fit on 80% of generated ratings (15 iterations), test RMSE on the rest.

    Measured once (2026-12-08, 2 shared, heavily loaded cores, 10^6 ratings): numlearn's
    ALS-WR with biases 6.1 s, test RMSE 0.873; the NumPy ALS-WR script 30.8 s, 0.897
    (ratio 0.20).
    """

    params = [[10**5, 10**6]]
    param_names = ["n_ratings"]
    timeout = 900

    def setup(self, n_ratings):
        from numlearn.completion import make_ratings

        shape = _RATING_SIZES[n_ratings]
        users, items, ratings = make_ratings(*shape, n_ratings, random_state=0)
        test = _split(n_ratings)
        self.train = (users[~test], items[~test], ratings[~test])
        self.test = (users[test], items[test], ratings[test])
        self.shape = shape
        self._numlearn()  # compile

    def _numlearn(self):
        from numlearn.completion import altmin

        return quiet(altmin, (*self.train, self.shape), 10, reg=0.1, reg_scaling="count",
                     biases=True, init="random", max_iter=15, tol=0.0, random_state=0)

    def time_numlearn_als_wr_biases(self, n_ratings):
        self._numlearn()

    def time_numpy_als_wr_script(self, n_ratings):
        numpy_als_wr(*self.train, self.shape, 10, 0.1)

    def track_test_rmse_numlearn(self, n_ratings):
        from numlearn.completion import predict_entries

        res = self._numlearn()
        users, items, ratings = self.test
        pred = predict_entries(res.U, res.V, users, items, row_bias=res.row_bias,
                               col_bias=res.col_bias, mean=res.mean)
        return float(np.sqrt(np.mean((pred - ratings) ** 2)))

    def track_test_rmse_numpy(self, n_ratings):
        U, V, mu = numpy_als_wr(*self.train, self.shape, 10, 0.1)
        users, items, ratings = self.test
        pred = mu + np.einsum("ij,ij->i", U[users], V[items])
        return float(np.sqrt(np.mean((pred - ratings) ** 2)))


_IMPLICIT_SIZES = {10**5: (4000, 2000), 10**6: (20000, 10000)}


class _ImplicitProblem:
    params = [[10**5, 10**6]]
    param_names = ["n_interactions"]
    timeout = 900
    rank, reg, alpha, n_iter, cg_steps = 64, 0.01, 40.0, 15, 3

    def setup(self, n_interactions):
        from numlearn.completion import make_ratings

        shape = _IMPLICIT_SIZES[n_interactions]
        users, items, counts = make_ratings(*shape, n_interactions, implicit=True,
                                            random_state=0)
        test = _split(n_interactions)
        self.train = (users[~test], items[~test], counts[~test])
        self.test = (users[test], items[test])
        self.shape = shape

    def _precision(self, user_factors, item_factors):
        """precision@10 over the held-out interactions, training items filtered."""
        from numlearn.metrics import precision_at_k

        users, items, _ = self.train
        seen = {}
        for u, i in zip(users.tolist(), items.tolist()):
            seen.setdefault(u, []).append(i)
        held = {}
        for u, i in zip(*self.test):
            held.setdefault(int(u), set()).add(int(i))
        queried = np.array(sorted(held))
        top = []
        for start in range(0, queried.shape[0], 2000):  # scores in slices of users
            chunk = queried[start:start + 2000]
            scores = user_factors[chunk] @ item_factors.T
            for row, u in enumerate(chunk.tolist()):
                scores[row, seen.get(u, [])] = -np.inf
            best = np.argpartition(-scores, 9, axis=1)[:, :10]
            order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1)
            top.extend(np.take_along_axis(best, order, axis=1))
        return precision_at_k(top, [held[u] for u in queried.tolist()], 10)


class ImplicitALSNumlearn(_ImplicitProblem):
    """numlearn.completion.implicit_als (CG, float64 and float32 factors)."""

    params = [[10**5, 10**6], ["float64", "float32"]]
    param_names = ["n_interactions", "dtype"]

    def setup(self, n_interactions, dtype):
        super().setup(n_interactions)
        self.fit(n_interactions, dtype)  # compile

    def fit(self, n_interactions, dtype):
        from numlearn.completion import implicit_als

        return implicit_als((*self.train, self.shape), self.rank, reg=self.reg,
                            alpha=self.alpha, max_iter=self.n_iter, cg_steps=self.cg_steps,
                            random_state=0, dtype=dtype)

    def time_fit(self, n_interactions, dtype):
        self.fit(n_interactions, dtype)

    def track_precision_at_10(self, n_interactions, dtype):
        res = self.fit(n_interactions, dtype)
        return self._precision(res.U.astype(np.float64), res.V.astype(np.float64))


class ImplicitALSLibrary(_ImplicitProblem):
    """The `implicit` library's CPU ALS (conjugate gradient), same settings.

    Measured once (2026-12-08, 2 shared, heavily loaded cores, float32, rank 64, 15
    iterations, 3 CG steps): numlearn / implicit = 32.2 s / 32.6 s = 0.99 at 10^6
    interactions (precision@10 0.0696 vs 0.0702), 151 s / 202 s = 0.75 at 10^7.
    """

    params = [[10**5, 10**6], ["float64", "float32"]]
    param_names = ["n_interactions", "dtype"]

    def setup(self, n_interactions, dtype):
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError:
            raise NotImplementedError("implicit is not installed") from None
        import scipy.sparse as sp

        super().setup(n_interactions)
        users, items, counts = self.train
        self.matrix = sp.csr_matrix((counts + 1.0 / self.alpha, (users, items)),
                                    shape=self.shape)
        self.model = AlternatingLeastSquares

    def fit(self, n_interactions, dtype):
        model = self.model(factors=self.rank, regularization=self.reg, alpha=self.alpha,
                           iterations=self.n_iter, use_cg=True, dtype=np.dtype(dtype),
                           random_state=0, calculate_training_loss=False)
        model.cg_steps = self.cg_steps
        quiet(model.fit, self.matrix, show_progress=False)
        return model

    def time_fit(self, n_interactions, dtype):
        self.fit(n_interactions, dtype)

    def track_precision_at_10(self, n_interactions, dtype):
        model = self.fit(n_interactions, dtype)
        return self._precision(np.asarray(model.user_factors, dtype=np.float64),
                               np.asarray(model.item_factors, dtype=np.float64))
