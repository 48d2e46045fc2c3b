"""scikit-learn estimator for matrix completion by alternating minimization."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from numlearn._backend import device_of, is_cupy_array, non_numpy_namespace, to_numpy
from numlearn._validation import check_sparse_structure
from numlearn.completion._altmin_kernels import solve_rows_cholesky
from numlearn.completion._array_api import (
    ArrayObservations,
    make_engine,
    observed_entries_array_api,
)
from numlearn.completion._observations import row_layout
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


class AltMinCompletion(TransformerMixin, BaseEstimator):
    """Low-rank matrix completion by alternating minimization, as a scikit-learn transformer.

    ``fit`` learns factors ``U_`` (one row per sample) and ``V_`` (one row per feature) with
    :func:`~numlearn.completion.altmin`. ``transform`` completes any matrix with the same
    features: each row's factor is refitted from its observed entries against ``V_`` (one
    ridge regression per row, "fold-in"), and the missing entries are filled with
    ``u_i · v_j``; observed entries are kept. So it works as an imputer inside a
    :class:`~sklearn.pipeline.Pipeline`, on new rows too.

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
        Ridge penalty on both factors (Spark ALS's default ``regParam``).
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
                 sketch_size: int | None = None):
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def _fit(self, X: Any, init: Any) -> AltMinCompletion:
        xp = non_numpy_namespace(X)
        if xp is None:
            rows, cols, values, shape = _observed_entries(X, min_samples=2, min_features=2)
        else:
            rows, cols, values, shape = observed_entries_array_api(X, xp, 2, 2)
        result = altmin((rows, cols, values, shape), self.rank, reg=self.reg,
                        solver=self.solver, max_iter=self.max_iter, tol=self.tol, init=init,
                        random_state=self.random_state, return_history=True,
                        cg_steps=self.cg_steps, sketch_size=self.sketch_size)
        self.U_, self.V_ = result.U, result.V
        self.n_iter_ = result.n_iter
        self.rmse_ = result.rmse
        self.history_ = result.history
        self.n_features_in_ = shape[1]
        return self

    def fit(self, X: Any, y: Any = None) -> AltMinCompletion:
        """Factorize the observed entries of ``X`` (sparse: stored entries; dense: non-NaN)."""
        init = self.init
        if self.warm_start and hasattr(self, "U_"):
            if self.U_.shape[0] == np.shape(X)[0] and self.V_.shape[0] == np.shape(X)[1]:
                init = (self.U_, self.V_)
        return self._fit(X, init)

    def partial_fit(self, X: Any, y: Any = None) -> AltMinCompletion:
        """Continue from the current factors (a cold ``fit`` the first time)."""
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

    def _fold_in(self, rows, cols, values, n_rows) -> np.ndarray:
        """Row factors of new rows from their observed entries against ``V_``."""
        layout = row_layout(rows, cols, values, n_rows)
        U = np.zeros((n_rows, self.rank))
        V = np.ascontiguousarray(to_numpy(self.V_), dtype=np.float64)
        reg = self.reg if self.reg > 0 else 1e-10 * float(np.mean(V**2)) * len(V)
        singular = solve_rows_cholesky(layout.indptr, layout.indices, layout.values, V, reg, U)
        if singular:
            warnings.warn(f"{singular} rows could not be completed (no observed entries "
                          "informative enough); they are filled with zeros.", UserWarning,
                          stacklevel=3)
        return U

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
        U = self._fold_in(rows, cols, values, shape[0])
        out = U @ to_numpy(self.V_).T
        out[rows, cols] = values
        return out

    def predict(self, rows: Any, cols: Any = None) -> np.ndarray:
        """Predicted entries ``(U_ V_ᵀ)[rows, cols]`` of the fitted matrix.

        With ``cols`` omitted, ``rows`` is a matrix ``X`` (as for any scikit-learn
        estimator) and the completed matrix is returned, as :meth:`transform` does.
        """
        check_is_fitted(self, "V_")
        if cols is None:
            return self.transform(rows)
        return predict_entries(self.U_, self.V_, rows, cols)
