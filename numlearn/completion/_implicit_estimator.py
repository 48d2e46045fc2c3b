"""scikit-learn estimator for implicit-feedback ALS, with the recommender API."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from numlearn._validation import check_scalar, suggest_keywords
from numlearn.completion._recommender import (
    IdIndex,
    RecommenderMixin,
    is_long_format,
    long_format,
)
from numlearn.completion.implicit_als import implicit_als
from numlearn.metrics import precision_at_k

__all__ = ["ImplicitALS"]


class ImplicitALS(RecommenderMixin, BaseEstimator):
    """Implicit-feedback matrix factorization (Hu, Koren, Volinsky 2008) as an estimator.

    ``fit`` takes interactions in long format: a DataFrame with columns ``user``, ``item``
    and optionally ``rating`` (the interaction strength ``r ≥ 0``, default 1), or a tuple
    ``(users, items[, ratings])``; ids may be any hashable values. A SciPy sparse
    user × item matrix works too (ids are then the row and column numbers). Repeated
    ``(user, item)`` pairs are **summed** (several plays of one song add up). The factors
    come from :func:`~numlearn.completion.implicit_als`; confidence is ``1 + alpha · r``.

    Parameters
    ----------
    rank : int, default=64
        Number of factors.
    reg : float, default=0.01
        Ridge penalty on both factors.
    alpha : float, default=40.0
        Confidence slope.
    max_iter : int, default=15
        ALS iterations.
    solver : {"cg", "cholesky"}, default="cg"
        Row solver: warm-started conjugate gradients or exact Cholesky.
    cg_steps : int, default=3
        CG steps per row and half-step.
    random_state : int, numpy.random.Generator or None
    cold_start : {None, "nan", "drop", "mean"}, default=None
        Unknown user/item ids in ``predict`` and ``recommend``: an error (None), a NaN
        prediction, dropped from the output, or the mean factor (Spark's
        ``coldStartStrategy``, plus ``"mean"``).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the factors.
    backend : {"local", "dask"}, default="local"
        Where :func:`~numlearn.completion.implicit_als` runs the half-steps: ``"dask"`` uses
        the current ``dask.distributed`` client (create one first); the factors equal the
        local ones to rounding.

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users, rank)
    item_factors_ : ndarray of shape (n_items, rank)
    user_ids_, item_ids_ : ndarray
        The ids seen in ``fit`` (sorted); row ``t`` of the factors belongs to id ``t``.
    n_iter_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import ImplicitALS
    >>> users = ["ann", "ann", "bob", "bob", "cy", "cy", "cy"]
    >>> items = ["jazz", "soul", "jazz", "funk", "soul", "funk", "jazz"]
    >>> model = ImplicitALS(rank=2, random_state=0).fit((users, items))
    >>> model.user_ids_.tolist(), model.recommend("ann", n=1)[0].tolist()
    (['ann', 'bob', 'cy'], ['funk'])
    """

    def __init__(self, rank: int = 64, *, reg: float = 0.01, alpha: float = 40.0,
                 max_iter: int = 15, solver: str = "cg", cg_steps: int = 3,
                 random_state: Any = None, cold_start: str | None = None,
                 dtype: Any = np.float64, backend: str = "local"):
        self.rank = rank
        self.reg = reg
        self.alpha = alpha
        self.max_iter = max_iter
        self.solver = solver
        self.cg_steps = cg_steps
        self.random_state = random_state
        self.cold_start = cold_start
        self.dtype = dtype
        self.backend = backend

    def _user_factors(self) -> np.ndarray:
        return self.user_factors_

    def _item_factors(self) -> np.ndarray:
        return self.item_factors_

    def fit(self, X: Any, y: Any = None) -> ImplicitALS:
        """Factorize the interactions ``X`` (long format or a sparse user × item matrix)."""
        if sp.issparse(X):
            coo = sp.coo_matrix(X)
            users_raw = coo.row.astype(np.int64)
            items_raw = coo.col.astype(np.int64)
            strengths = np.asarray(coo.data, dtype=np.float64)
            user_ids, items_ids = np.arange(coo.shape[0]), np.arange(coo.shape[1])
            u, i = users_raw, items_raw
        elif is_long_format(X):
            users_raw, items_raw, strengths = long_format(X, need_rating=False)
            if strengths is None:
                strengths = np.ones(users_raw.shape[0])
            users, items = IdIndex(users_raw), IdIndex(items_raw)
            user_ids, items_ids, u, i = users.ids, items.ids, users.codes, items.codes
        else:
            raise TypeError("X must be long-format interactions (a DataFrame with columns "
                            "user, item[, rating] or a tuple (users, items[, ratings])) or a "
                            f"SciPy sparse user x item matrix; got {type(X).__name__}.")
        if not np.all(np.isfinite(strengths)):
            raise ValueError("X: interaction strengths must be finite (found NaN or inf).")
        if strengths.min() < 0:
            raise ValueError("X: interaction strengths (ratings) must be >= 0: the confidence "
                             "1 + alpha * r would fall below 1 (negative confidence).")
        shape = (len(user_ids), len(items_ids))
        rank = check_scalar(self.rank, "rank", kind=int, low=1)
        if rank > min(shape):
            raise ValueError(f"rank must be <= min(n_users, n_items) = {min(shape)}, got "
                             f"{rank}.")
        # repeated pairs are summed (documented)
        summed = sp.csr_matrix((strengths, (u, i)), shape=shape)
        summed.sum_duplicates()
        coo = summed.tocoo()
        result = implicit_als((coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data,
                               shape), rank, reg=self.reg, alpha=self.alpha,
                              max_iter=self.max_iter, solver=self.solver,
                              cg_steps=self.cg_steps, random_state=self.random_state,
                              dtype=self.dtype, backend=self.backend)
        self.user_factors_, self.item_factors_ = result.U, result.V
        self.n_iter_ = result.n_iter
        self.user_ids_, self.item_ids_ = np.asarray(user_ids), np.asarray(items_ids)
        self._seen = (summed.indptr.astype(np.int64), summed.indices.astype(np.int64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Preference scores ``x_uᵀy_i`` of the ``(user, item)`` pairs of ``X`` (long
        format; unknown ids follow ``cold_start``)."""
        check_is_fitted(self, "item_factors_")
        users, items, _ = long_format(X, need_rating=False)
        return self._pair_scores(users, items)[0]

    @suggest_keywords
    def score(self, X: Any, y: Any = None, k: int = 10) -> float:
        """Precision@k of :meth:`recommend` (seen items filtered) against the held-out
        interactions ``X`` (long format), over the known users that have some."""
        check_is_fitted(self, "item_factors_")
        users, items, _ = long_format(X, need_rating=False)
        codes = IdIndex.positions(self.user_ids_, users)
        keep = codes >= 0
        if not keep.any():
            raise ValueError("X: none of its users was seen in fit.")
        relevant: dict = {}
        for user, item in zip(np.asarray(users)[keep].tolist(),
                              np.asarray(items)[keep].tolist()):
            relevant.setdefault(user, set()).add(item)
        queried = np.array(list(relevant), dtype=self.user_ids_.dtype)
        recommended, _ = self.recommend(queried, n=k, filter_seen=True)
        return precision_at_k(list(recommended), [relevant[q] for q in queried.tolist()], k)
