"""scikit-learn estimator for matrix completion by alternating minimization."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from numlearn._backend import device_of, is_cupy_array, non_numpy_namespace, to_numpy
from numlearn._validation import check_sparse_structure
from numlearn.completion._als_kernels import solve_rows_ridge_serial
from numlearn.completion._altmin_kernels import solve_rows_cholesky
from numlearn.completion._array_api import (
    ArrayObservations,
    make_engine,
    observed_entries_array_api,
)
from numlearn.completion._observations import row_layout
from numlearn.completion._recommender import (
    IdIndex,
    RecommenderMixin,
    is_long_format,
    long_format,
    seen_layout,
)
from numlearn.completion.altmin import altmin, predict_entries

__all__ = ["AltMinCompletion"]


def _observed_entries(X: Any, min_samples: int = 1, min_features: int = 1
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """``(rows, cols, values, shape)`` from a sparse matrix (stored entries) or a dense
    array with NaN for missing entries (scikit-learn's input checks and messages)."""
    if sp.issparse(X):  # structure checked before SciPy reads it; duplicates summed (a copy)
        X = check_sparse_structure(X, "X", format="csr")
    X = check_array(X, accept_sparse=("csr", "csc", "coo"), dtype=np.float64,
                    ensure_all_finite="allow-nan", ensure_min_samples=min_samples,
                    ensure_min_features=min_features)
    if sp.issparse(X):
        coo = sp.coo_matrix(X)
        coo.sum_duplicates()
        if not np.all(np.isfinite(coo.data)):
            raise ValueError("X: stored (observed) entries must be finite.")
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, coo.shape
    if np.any(np.isinf(X)):
        raise ValueError("X must not contain inf (NaN marks a missing entry).")
    rows, cols = np.nonzero(~np.isnan(X))
    return rows, cols, X[rows, cols], X.shape


class AltMinCompletion(RecommenderMixin, OneToOneFeatureMixin, TransformerMixin,
                       BaseEstimator):
    """Low-rank matrix completion by alternating minimization, as a scikit-learn transformer.

    ``fit`` learns factors ``U_`` (one row per sample) and ``V_`` (one row per feature) with
    :func:`~numlearn.completion.altmin`. ``transform`` completes any matrix with the same
    features: each row's factor is refitted from its observed entries against ``V_`` (one
    ridge regression per row, "fold-in"), and the missing entries are filled with
    ``u_i · v_j``; observed entries are kept. So it works as an imputer inside a
    :class:`~sklearn.pipeline.Pipeline`, on new rows too.

    **As a recommender**, ``fit`` also takes ratings in long format: a DataFrame with
    columns ``user``, ``item``, ``rating``, or a tuple ``(users, items, ratings)``, with
    any hashable ids (kept in ``user_ids_`` / ``item_ids_``). Repeated ``(user, item)``
    pairs are an error (average or keep the latest first). Then ``predict(X)`` gives the
    predicted ratings of the pairs of a long-format ``X`` (unknown ids follow
    ``cold_start``), ``score`` is minus their RMSE (so ``GridSearchCV`` tunes ``rank`` or
    ``reg``), and ``recommend``, ``similar_items``, ``similar_users`` rank items and users.
    For ratings, ``biases=True, reg_scaling="count", reg=0.1`` (Spark's ALS-WR default
    penalty, plus biases) generalize well; ``reg_scaling="none"`` with a small ``reg``
    overfits noisy ratings.

    ``X`` may be an array of another array library (CuPy on a GPU, with NaN for missing
    entries, or a ``cupyx.scipy.sparse`` matrix): ``fit`` then runs
    :func:`~numlearn.completion.altmin` there, ``U_`` and ``V_`` are arrays of that library
    (in ``X``'s float dtype), and ``transform``/``predict`` return arrays of the library of
    their input.

    Parameters
    ----------
    rank : int, default=10
        Rank ``k`` of the factorization.
    reg : float, default=0.1
        Ridge penalty on both factors. It is Spark ALS's ``regParam`` only with
        ``reg_scaling="count"`` (Spark scales it by each row's number of ratings); with the
        default ``"none"`` it is the same for every row.
    solver : {"cholesky", "cg", "sketch"}, default="cholesky"
        Per-row least-squares solver of :func:`~numlearn.completion.altmin`.
    max_iter : int, default=100
        Maximum AltMin iterations per ``fit`` (and per ``partial_fit``).
    tol : float, default=1e-6
        Stopping tolerance (see :func:`~numlearn.completion.altmin`).
    init : {"svd", "random"}, default="svd"
        Initialization of a cold start.
    warm_start : bool, default=False
        Reuse the previous ``U_``, ``V_`` when ``fit`` is called on a matrix of the same shape.
    random_state : int, numpy.random.Generator or None
        Seed.
    cg_steps, sketch_size : int
        Options of the ``"cg"`` and ``"sketch"`` solvers.
    biases, reg_scaling, nonnegative, validation_fraction, n_iter_no_change
        The recommender options of :func:`~numlearn.completion.altmin` (global mean and
        user/item biases, ALS-WR penalty ``reg · n_i``, nonnegative factors, early
        stopping on a held-out fraction); NumPy/SciPy input only.
    cold_start : {None, "nan", "drop", "mean"}, default=None
        Unknown ids in long-format ``predict`` / ``score`` / ``recommend``: an error
        (None), NaN predictions, dropped pairs, or the mean factor and bias (Spark's
        ``coldStartStrategy``, plus ``"mean"``). ``score`` predicts unknown pairs with
        ``"mean"`` whatever this is (except ``"drop"``).
    backend : {"local", "dask"}, default="local"
        Where :func:`~numlearn.completion.altmin` runs the half-steps: ``"dask"`` uses the
        current ``dask.distributed`` client (create one first); NumPy/SciPy input only.

    Attributes
    ----------
    U_ : ndarray of shape (n_samples, rank)
    V_ : ndarray of shape (n_features, rank)
    n_iter_ : int
        Iterations of the last ``fit`` / ``partial_fit``.
    rmse_ : float
        Training RMSE on the observed entries.
    history_ : ndarray
        Training RMSE after each iteration of the last fit.
    n_features_in_ : int
    user_bias_, item_bias_ : ndarray
        With ``biases=True``: the user (row) and item (column) biases.
    global_mean_ : float
        With ``biases=True``: the mean of the training ratings (else 0).
    user_ids_, item_ids_ : ndarray
        After a long-format ``fit``: the ids (sorted); row ``t`` of ``U_`` / ``V_`` is id
        ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import AltMinCompletion
    >>> rng = np.random.default_rng(0)
    >>> M = rng.standard_normal((80, 2)) @ rng.standard_normal((2, 30))
    >>> X = M.copy()
    >>> X[rng.random(M.shape) < 0.3] = np.nan            # 30% missing
    >>> model = AltMinCompletion(rank=2, reg=0.0, tol=1e-12, random_state=0)
    >>> filled = model.fit_transform(X)
    >>> bool(np.abs(filled - M).max() < 1e-6), model.U_.shape, model.V_.shape
    (True, (80, 2), (30, 2))
    """

    def __init__(self, rank: int = 10, *, reg: float = 0.1, solver: str = "cholesky",
                 max_iter: int = 100, tol: float = 1e-6, init: str = "svd",
                 warm_start: bool = False, random_state: Any = None, cg_steps: int = 5,
                 sketch_size: int | None = None, biases: bool = False,
                 reg_scaling: str = "none", nonnegative: bool = False,
                 validation_fraction: float | None = None, n_iter_no_change: int = 5,
                 cold_start: str | None = None, backend: str = "local"):
        self.rank = rank
        self.reg = reg
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.warm_start = warm_start
        self.random_state = random_state
        self.cg_steps = cg_steps
        self.sketch_size = sketch_size
        self.biases = biases
        self.reg_scaling = reg_scaling
        self.nonnegative = nonnegative
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.cold_start = cold_start
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def _options(self) -> dict:
        return dict(biases=self.biases, reg_scaling=self.reg_scaling,
                    nonnegative=self.nonnegative, validation_fraction=self.validation_fraction,
                    n_iter_no_change=self.n_iter_no_change, backend=self.backend)

    def _store(self, result, n_features: int) -> None:
        self.U_, self.V_ = result.U, result.V
        self.n_iter_ = result.n_iter
        self.rmse_ = result.rmse
        self.history_ = result.history
        self.n_features_in_ = n_features
        if "row_bias" in result:
            self.user_bias_, self.item_bias_ = result.row_bias, result.col_bias
            self.global_mean_ = result.mean
        else:
            for name in ("user_bias_", "item_bias_"):
                if hasattr(self, name):
                    delattr(self, name)
            self.global_mean_ = 0.0

    def _fit(self, X: Any, init: Any) -> AltMinCompletion:
        xp = non_numpy_namespace(X)
        if xp is None:
            rows, cols, values, shape = _observed_entries(X, min_samples=2, min_features=2)
        else:
            rows, cols, values, shape = observed_entries_array_api(X, xp, 2, 2)
        result = altmin((rows, cols, values, shape), self.rank, reg=self.reg,
                        solver=self.solver, max_iter=self.max_iter, tol=self.tol, init=init,
                        random_state=self.random_state, return_history=True,
                        cg_steps=self.cg_steps, sketch_size=self.sketch_size,
                        **self._options())
        self._store(result, shape[1])
        columns = getattr(X, "columns", None)
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        for name in ("user_ids_", "item_ids_", "_seen"):
            if hasattr(self, name):
                delattr(self, name)
        return self

    def _fit_long(self, X: Any, warm: bool = False) -> AltMinCompletion:
        users_raw, items_raw, ratings = long_format(X)
        users, items = IdIndex(users_raw), IdIndex(items_raw)
        shape = (len(users.ids), len(items.ids))
        init = self.init
        if ((warm or self.warm_start) and hasattr(self, "user_ids_")
                and np.array_equal(self.user_ids_, users.ids)
                and np.array_equal(self.item_ids_, items.ids)):
            init = (self.U_, self.V_)
        result = altmin((users.codes, items.codes, ratings, shape), self.rank, reg=self.reg,
                        solver=self.solver, max_iter=self.max_iter, tol=self.tol, init=init,
                        random_state=self.random_state, return_history=True,
                        cg_steps=self.cg_steps, sketch_size=self.sketch_size,
                        **self._options())
        self._store(result, shape[1])
        self.user_ids_, self.item_ids_ = users.ids, items.ids
        self._seen = seen_layout(users.codes, items.codes, shape[0])
        return self

    # factors and offsets the recommender methods use
    def _user_factors(self) -> np.ndarray:
        return self.U_

    def _item_factors(self) -> np.ndarray:
        return self.V_

    def _user_offsets(self) -> np.ndarray:
        return self.user_bias_ if hasattr(self, "user_bias_") else np.zeros(len(self.U_))

    def _item_offsets(self) -> np.ndarray:
        return self.item_bias_ if hasattr(self, "item_bias_") else np.zeros(len(self.V_))

    def _global_offset(self) -> float:
        return float(getattr(self, "global_mean_", 0.0))

    def fit(self, X: Any, y: Any = None) -> AltMinCompletion:
        """Factorize the observed entries of ``X`` (sparse: stored entries; dense: non-NaN;
        long format: the ratings of ``(user, item)`` pairs)."""
        if is_long_format(X):
            return self._fit_long(X)
        init = self.init
        if self.warm_start and hasattr(self, "U_"):
            if self.U_.shape[0] == np.shape(X)[0] and self.V_.shape[0] == np.shape(X)[1]:
                init = (self.U_, self.V_)
        return self._fit(X, init)

    def partial_fit(self, X: Any, y: Any = None) -> AltMinCompletion:
        """Continue from the current factors (a cold ``fit`` the first time)."""
        if is_long_format(X):
            return self._fit_long(X, warm=True)
        if not hasattr(self, "U_"):
            return self._fit(X, self.init)
        if np.shape(X)[1] != self.n_features_in_:
            raise ValueError(f"X has {np.shape(X)[1]} features, but AltMinCompletion is "
                             f"expecting {self.n_features_in_} features as input.")
        if np.shape(X)[0] != self.U_.shape[0]:
            fitted = (self.U_.shape[0], self.V_.shape[0])
            raise ValueError(f"partial_fit needs X of the fitted shape {fitted}, got "
                             f"{np.shape(X)}.")
        return self._fit(X, (self.U_, self.V_))

    def _fold_in(self, rows, cols, values, n_rows) -> tuple[np.ndarray, np.ndarray | None]:
        """Row factors (and biases, if fitted) of new rows from their observed entries
        against ``V_``."""
        layout = row_layout(rows, cols, values, n_rows)
        U = np.zeros((n_rows, self.rank))
        V = np.ascontiguousarray(to_numpy(self.V_), dtype=np.float64)
        if any(v for v in (self.biases, self.nonnegative, self.reg_scaling == "count")):
            # the fit's regressions: [u, b] against [V, 1] and offsets μ + c_j
            biases = hasattr(self, "item_bias_")
            D = np.column_stack([V, np.ones(len(V))]) if biases else V
            offset = (self.global_mean_ + self.item_bias_) if biases else np.zeros(len(V))
            out = np.zeros((n_rows, D.shape[1]))
            solve_rows_ridge_serial(layout.indptr, layout.indices, layout.values, offset, D,
                                    float(self.reg), self.reg_scaling == "count",
                                    self.rank if self.nonnegative else 0, out, 500,
                                    np.empty(n_rows))
            return np.ascontiguousarray(out[:, :self.rank]), (out[:, self.rank] if biases
                                                              else None)
        reg = self.reg if self.reg > 0 else 1e-10 * float(np.mean(V**2)) * len(V)
        singular = solve_rows_cholesky(layout.indptr, layout.indices, layout.values, V, reg, U)
        if singular:
            warnings.warn(f"{singular} rows could not be completed (no observed entries "
                          "informative enough); they are filled with zeros.", UserWarning,
                          stacklevel=3)
        return U, None

    def _transform_array_api(self, X: Any, xp) -> Any:
        """:meth:`transform` in the namespace ``xp`` of ``X`` (on its device)."""
        rows, cols, values, shape = observed_entries_array_api(X, xp)
        if shape[1] != self.n_features_in_:
            raise ValueError(f"X has {shape[1]} features, but AltMinCompletion is expecting "
                             f"{self.n_features_in_} features as input.")
        # the entries of X are valid observations (no duplicates, in range): no checks
        device = device_of(values)
        obs = ArrayObservations(xp.astype(rows, xp.int64), xp.astype(cols, xp.int64), values,
                                shape, xp, device)
        V = self.V_
        if non_numpy_namespace(V) is not xp:  # fitted on another library: through the host
            V = xp.asarray(np.asarray(to_numpy(V), dtype=np.float64), device=device)
        V = xp.astype(V, values.dtype)
        reg = self.reg if self.reg > 0 else \
            1e-10 * float(xp.mean(xp.astype(V, xp.float64) ** 2)) * V.shape[0]
        engine = make_engine(obs, self.rank)
        current = xp.zeros((shape[0], self.rank), dtype=values.dtype, device=device)
        U, singular = engine.half_step("rows", V, current, "cholesky", reg, 1, 1)
        if singular:
            warnings.warn(f"{singular} rows could not be completed (no observed entries "
                          "informative enough); they are filled with zeros.", UserWarning,
                          stacklevel=3)
        out = U @ xp.matrix_transpose(V)
        if is_cupy_array(out) and not hasattr(X, "__array_namespace__"):  # cupyx sparse
            out[rows, cols] = values
            return out
        X = xp.astype(X, out.dtype) if X.dtype != out.dtype else X
        return xp.where(xp.isnan(X), out, X)

    def transform(self, X: Any) -> np.ndarray:
        """``X`` as a dense array with its missing entries filled by the low-rank model.

        ``X`` of another array library (CuPy, ...) is completed in that library, on its
        device (the row factors are refitted there by the engine of
        :func:`~numlearn.completion.altmin`)."""
        check_is_fitted(self, "V_")
        xp = non_numpy_namespace(X)
        if xp is not None:
            return self._transform_array_api(X, xp)
        rows, cols, values, shape = _observed_entries(X)
        if shape[1] != self.n_features_in_:
            raise ValueError(f"X has {shape[1]} features, but AltMinCompletion is expecting "
                             f"{self.n_features_in_} features as input.")
        U, bias = self._fold_in(rows, cols, values, shape[0])
        out = U @ to_numpy(self.V_).T
        if bias is not None:
            out += bias[:, None] + self.item_bias_[None, :] + self.global_mean_
        out[rows, cols] = values
        return out

    def predict(self, rows: Any, cols: Any = None) -> np.ndarray:
        """Predicted entries ``(U_ V_ᵀ)[rows, cols]`` of the fitted matrix.

        With ``cols`` omitted, ``rows`` is a matrix ``X`` (as for any scikit-learn
        estimator) and the completed matrix is returned, as :meth:`transform` does.
        """
        check_is_fitted(self, "V_")
        if cols is None:
            if is_long_format(rows):
                self._check_long_fitted("predict on long-format data")
                users, items, _ = long_format(rows, need_rating=False)
                return self._pair_scores(users, items)[0]
            return self.transform(rows)
        if hasattr(self, "user_bias_"):
            return predict_entries(self.U_, self.V_, rows, cols, row_bias=self.user_bias_,
                                   col_bias=self.item_bias_, mean=self.global_mean_)
        return predict_entries(self.U_, self.V_, rows, cols)

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the RMSE of the predictions of ``X``'s entries (higher is better, as
        scikit-learn's model selection expects).

        Long-format ``X``: the predicted ratings of its pairs; unknown ids are predicted
        with the mean factor and bias (``cold_start="drop"`` leaves them out). A matrix
        ``X``: each row's factor is refitted from its observed entries (as
        :meth:`transform` does) and those entries are predicted from it.
        """
        check_is_fitted(self, "V_")
        if not is_long_format(X):
            if non_numpy_namespace(X) is not None:
                X = to_numpy(X)
            rows, cols, values, shape = _observed_entries(X)
            if shape[1] != self.n_features_in_:
                raise ValueError(f"X has {shape[1]} features, but AltMinCompletion is "
                                 f"expecting {self.n_features_in_} features as input.")
            U, bias = self._fold_in(rows, cols, values, shape[0])
            V = np.asarray(to_numpy(self.V_), dtype=np.float64)
            pred = np.einsum("ij,ij->i", U[rows], V[cols])
            if bias is not None:
                pred += bias[rows] + self.item_bias_[cols] + self.global_mean_
            return -float(np.sqrt(np.mean((pred - values) ** 2)))
        self._check_long_fitted("score")
        users, items, ratings = long_format(X)
        pred, keep = self._pair_scores(users, items,
                                       "drop" if self.cold_start == "drop" else "mean")
        return -float(np.sqrt(np.mean((pred - ratings[keep]) ** 2)))
