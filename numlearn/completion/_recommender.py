"""What the completion estimators share as recommenders: long-format input with arbitrary
ids, cold-start strategies, top-n recommendations and similar users/items.

An estimator using :class:`RecommenderMixin` sets, when fitted on long-format data,
``user_ids_`` / ``item_ids_`` (the ids, sorted, position = factor row), ``_seen`` (CSR
``indptr, indices`` of each user's training items) and provides ``_user_factors()``,
``_item_factors()`` and ``_item_offsets()`` (added to every score of an item: its bias, or
zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numlearn._validation import check_option, check_scalar

__all__ = ["is_long_format", "long_format", "IdIndex", "RecommenderMixin", "COLD_START"]

COLD_START = (None, "nan", "drop", "mean")


def is_long_format(X: Any) -> bool:
    """A DataFrame with ``user`` and ``item`` columns, or a tuple of 2 or 3 1-D arrays."""
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        return "user" in columns and "item" in columns
    if isinstance(X, tuple) and len(X) in (2, 3):
        try:
            shapes = {np.shape(part) for part in X}
        except Exception:
            return False
        return len(shapes) == 1 and len(next(iter(shapes))) == 1
    return False


def long_format(X: Any, name: str = "X", need_rating: bool = True
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(users, items, ratings or None)`` from a DataFrame (columns ``user``, ``item``,
    ``rating``) or a tuple ``(users, items[, ratings])``; ratings checked to be finite."""
    if hasattr(X, "columns"):
        users, items = np.asarray(X["user"]), np.asarray(X["item"])
        ratings = np.asarray(X["rating"]) if "rating" in X.columns else None
    else:
        users, items = np.asarray(X[0]), np.asarray(X[1])
        ratings = np.asarray(X[2]) if len(X) == 3 else None
    if ratings is None and need_rating:
        raise ValueError(f"{name} needs a 'rating' column (or a third array of ratings).")
    if ratings is not None:
        try:
            ratings = ratings.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: ratings must be numbers, got dtype "
                            f"{ratings.dtype}.") from None
        if not np.all(np.isfinite(ratings)):
            raise ValueError(f"{name}: ratings must be finite (found NaN or inf).")
    if users.shape[0] == 0:
        raise ValueError(f"{name} has no (user, item) pairs.")
    return users, items, ratings


class IdIndex:
    """Positions of arbitrary hashable ids: sorted unique ids and binary search when they
    sort (numbers, strings), a dictionary otherwise."""

    def __init__(self, ids: np.ndarray):
        try:
            self.ids, codes = np.unique(ids, return_inverse=True)
            self.codes = codes.ravel().astype(np.int64)
            self._lookup = None
        except TypeError:  # mixed types that do not sort
            lookup: dict = {}
            codes = np.empty(len(ids), dtype=np.int64)
            for t, key in enumerate(ids.tolist()):
                codes[t] = lookup.setdefault(key, len(lookup))
            self.ids = np.empty(len(lookup), dtype=object)
            for key, code in lookup.items():
                self.ids[code] = key
            self.codes = codes
            self._lookup = lookup

    @staticmethod
    def positions(ids_sorted: np.ndarray, query: Any) -> np.ndarray:
        """Position of each queried id in ``ids_sorted``; -1 where unknown."""
        query = np.asarray(query)
        scalar = query.ndim == 0
        query = query.reshape(-1)
        try:
            pos = np.searchsorted(ids_sorted, query)
            pos = np.minimum(pos, ids_sorted.shape[0] - 1)
            found = ids_sorted[pos] == query
        except TypeError:
            lookup = {key: t for t, key in enumerate(ids_sorted.tolist())}
            pos = np.array([lookup.get(key, -1) for key in query.tolist()], dtype=np.int64)
            found = pos >= 0
        pos = np.where(np.asarray(found, dtype=bool), pos, -1).astype(np.int64)
        return pos[0:1] if scalar else pos


class RecommenderMixin:
    """Recommendations, similar items/users and cold-start handling over fitted factors."""

    def _check_long_fitted(self, what: str) -> None:
        if not hasattr(self, "user_ids_"):
            raise AttributeError(f"{what} needs a model fitted on long-format data (user, "
                                 "item, rating); this one was fitted on a matrix or not "
                                 "at all.")

    def _codes(self, ids: Any, side: str, name: str, allow_unknown: bool) -> np.ndarray:
        known = self.user_ids_ if side == "user" else self.item_ids_
        codes = IdIndex.positions(known, ids)
        if not allow_unknown and np.any(codes < 0):
            unknown = np.asarray(ids, dtype=object).reshape(-1)[codes < 0][:3].tolist()
            raise ValueError(f"{name}: unknown {side} id(s) {unknown} (not seen in fit); set "
                             "cold_start='nan', 'drop' or 'mean' to predict for them.")
        return codes

    def _pair_scores(self, users, items, strategy: Any = "default"
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Predictions for id pairs with the cold-start strategy (default: the estimator's
        ``cold_start``); and the mask of the pairs kept."""
        if strategy == "default":
            strategy = self.cold_start
        strategy = check_option(strategy, "cold_start", COLD_START)
        u = self._codes(users, "user", "X", strategy is not None)
        i = self._codes(items, "item", "X", strategy is not None)
        U, V = self._user_factors(), self._item_factors()
        user_off, item_off = self._user_offsets(), self._item_offsets()
        known = (u >= 0) & (i >= 0)
        Uq = np.where((u >= 0)[:, None], U[np.maximum(u, 0)], U.mean(axis=0))
        Vq = np.where((i >= 0)[:, None], V[np.maximum(i, 0)], V.mean(axis=0))
        uo = np.where(u >= 0, user_off[np.maximum(u, 0)], user_off.mean())
        io = np.where(i >= 0, item_off[np.maximum(i, 0)], item_off.mean())
        pred = np.einsum("ij,ij->i", Uq, Vq) + uo + io + self._global_offset()
        if strategy == "nan":
            pred = np.where(known, pred, np.nan)
        keep = known if strategy == "drop" else np.ones(pred.shape[0], dtype=bool)
        return pred[keep], keep

    def _user_offsets(self) -> np.ndarray:
        return np.zeros(self._user_factors().shape[0])

    def _item_offsets(self) -> np.ndarray:
        return np.zeros(self._item_factors().shape[0])

    def _global_offset(self) -> float:
        return 0.0

    def recommend(self, user: Any, n: int = 10, filter_seen: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best-scored items for ``user`` (one id, or an array of ids: batched).

        Scores are the model's predictions (for explicit ratings, the predicted rating).
        ``filter_seen`` leaves out the items the user interacted with in ``fit``. An id
        unknown at ``fit`` is an error, unless ``cold_start="mean"``: it then gets the
        recommendations of the mean user factor (not filtered: it has seen nothing).

        Returns
        -------
        items : ndarray of item ids, shape (n,) or (n_users, n)
        scores : ndarray of float, same shape
            Rows with fewer than ``n`` candidates are padded with ``None`` ids and ``-inf``
            scores (a user who has seen almost everything).
        """
        self._check_long_fitted("recommend")
        n = check_scalar(n, "n", kind=int, low=1)
        scalar = np.ndim(user) == 0
        strategy = check_option(self.cold_start, "cold_start", COLD_START)
        codes = self._codes(user, "user", "user", strategy == "mean")
        U, V = self._user_factors(), self._item_factors()
        queries = np.where((codes >= 0)[:, None], U[np.maximum(codes, 0)], U.mean(axis=0))
        scores = queries @ V.T + self._item_offsets()[None, :]
        if filter_seen:
            indptr, indices = self._seen
            for row, code in enumerate(codes):
                if code >= 0:
                    scores[row, indices[indptr[code]:indptr[code + 1]]] = -np.inf
        items, top = _top_n(scores, n, self.item_ids_)
        top = top + self._global_offset() + np.where(codes >= 0, self._user_offsets()[
            np.maximum(codes, 0)], self._user_offsets().mean())[:, None]
        return (items[0], top[0]) if scalar else (items, top)

    def _similar(self, F: np.ndarray, ids_sorted, query, n: int, side: str):
        n = check_scalar(n, "n", kind=int, low=1)
        scalar = np.ndim(query) == 0
        codes = self._codes(query, side, side, False)
        norms = np.linalg.norm(F, axis=1)
        unit = F / np.where(norms > 0, norms, 1.0)[:, None]
        scores = unit[codes] @ unit.T
        scores[np.arange(codes.shape[0]), codes] = -np.inf  # not itself
        ids, top = _top_n(scores, n, ids_sorted)
        return (ids[0], top[0]) if scalar else (ids, top)

    def similar_items(self, item: Any, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items whose factors have the largest cosine similarity with ``item``'s
        (one id or an array of ids), itself excluded: ``(item ids, similarities)``."""
        self._check_long_fitted("similar_items")
        return self._similar(self._item_factors(), self.item_ids_, item, n, "item")

    def similar_users(self, user: Any, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` users most similar to ``user`` (cosine of factors), itself excluded."""
        self._check_long_fitted("similar_users")
        return self._similar(self._user_factors(), self.user_ids_, user, n, "user")


def _top_n(scores: np.ndarray, n: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids and scores of the ``n`` largest finite scores per row, best first."""
    n_rows, n_cols = scores.shape
    n_take = min(n, n_cols)
    part = np.argpartition(-scores, n_take - 1, axis=1)[:, :n_take]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    top = np.take_along_axis(part_scores, order, axis=1)
    out_ids = np.empty((n_rows, n), dtype=object if ids.dtype == object else ids.dtype)
    out_scores = np.full((n_rows, n), -np.inf)
    out_ids[:, :n_take] = ids[best]
    out_scores[:, :n_take] = top
    invalid = ~np.isfinite(out_scores)
    if invalid.any():
        out_ids = out_ids.astype(object)
        out_ids[invalid] = None
    return out_ids, out_scores


def seen_layout(user_codes: np.ndarray, item_codes: np.ndarray, n_users: int):
    """CSR ``(indptr, indices)`` of every user's items."""
    order = np.argsort(user_codes, kind="stable")
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_codes, minlength=n_users), out=indptr[1:])
    return indptr, item_codes[order]
