"""Alternating minimization: one iteration of each row solver vs a plain NumPy per-row
least-squares loop (and Spark MLlib ALS when pyspark and Java are present)."""

import numpy as np

from numlearn.completion import altmin
from numlearn.completion._engine import LocalEngine
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
    """Spark MLlib ALS (local mode, explicit feedback, same rank / reg / iterations)."""

    params = [[20], [10**6]]
    param_names = ["rank", "n_obs"]
    timeout = 600

    def setup(self, rank, n_obs):
        try:
            from pyspark.ml.recommendation import ALS
            from pyspark.sql import SparkSession
        except ImportError:
            raise NotImplementedError("pyspark is not installed") from None
        try:
            self.spark = SparkSession.builder.master("local[*]").getOrCreate()
        except Exception as exc:  # no Java
            raise NotImplementedError(f"Spark cannot start: {exc}") from None
        rows, cols, values, _ = _problem(n_obs, rank)
        self.df = self.spark.createDataFrame(
            list(zip(rows.tolist(), cols.tolist(), values.tolist())), ["user", "item", "rating"])
        self.ALS = ALS

    def time_spark_als_iteration(self, rank, n_obs):
        self.ALS(rank=rank, maxIter=1, regParam=0.1, userCol="user", itemCol="item",
                 ratingCol="rating").fit(self.df)
