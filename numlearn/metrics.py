"""Ranking metrics for recommenders: precision@k, MAP@k and NDCG@k (binary relevance).

Each takes, per user, the recommended items in rank order and the set of relevant
(held-out) items, and averages over the users that have at least one relevant item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from numlearn._validation import check_scalar, suggest_keywords

__all__ = ["precision_at_k", "map_at_k", "ndcg_at_k"]


def _pairs(recommended: Any, relevant: Any, k: Any):
    k = check_scalar(k, "k", kind=int, low=1)
    recommended = list(recommended)
    relevant = list(relevant)
    if len(recommended) != len(relevant):
        raise ValueError(f"recommended and relevant must have one entry per user, got "
                         f"{len(recommended)} and {len(relevant)}.")
    out = []
    for rec, rel in zip(recommended, relevant):
        rel = set(np.asarray(list(rel) if isinstance(rel, (set, frozenset)) else rel,
                             dtype=object).ravel().tolist())
        if not rel:
            continue
        rec = list(np.asarray(rec, dtype=object).ravel().tolist())[:k]
        out.append((np.array([item in rel for item in rec], dtype=bool), len(rel)))
    if not out:
        raise ValueError("relevant: no user has a relevant item; the metric is undefined.")
    return out, k


@suggest_keywords
def precision_at_k(recommended: Sequence[Iterable[Any]], relevant: Sequence[Iterable[Any]],
                   k: int = 10) -> float:
    """Mean over users of ``|top-k ∩ relevant| / k``.

    Examples
    --------
    >>> from numlearn.metrics import precision_at_k
    >>> precision_at_k([["a", "b", "c"], [3, 1]], [{"b"}, {1, 2}], k=2)
    0.5
    """
    pairs, k = _pairs(recommended, relevant, k)
    return float(np.mean([hits.sum() / k for hits, _ in pairs]))


@suggest_keywords
def map_at_k(recommended: Sequence[Iterable[Any]], relevant: Sequence[Iterable[Any]],
             k: int = 10) -> float:
    """Mean average precision: ``AP@k = Σ_{i ≤ k} P@i · rel_i / min(|relevant|, k)``.

    Examples
    --------
    >>> from numlearn.metrics import map_at_k
    >>> map_at_k([["x", "a", "b"]], [{"a", "b"}], k=3)  # (1/2 + 2/3) / 2
    0.5833333333333333
    """
    pairs, k = _pairs(recommended, relevant, k)
    scores = []
    for hits, n_rel in pairs:
        precision = np.cumsum(hits) / np.arange(1, hits.shape[0] + 1)
        scores.append(float(np.sum(precision * hits)) / min(n_rel, k))
    return float(np.mean(scores))


@suggest_keywords
def ndcg_at_k(recommended: Sequence[Iterable[Any]], relevant: Sequence[Iterable[Any]],
              k: int = 10) -> float:
    """Normalized discounted cumulative gain with binary gains and ``1/log2(rank + 1)``.

    Examples
    --------
    >>> from numlearn.metrics import ndcg_at_k
    >>> round(ndcg_at_k([["x", "a"]], [{"a"}], k=2), 6)  # (1/log2 3) / 1
    0.63093
    """
    pairs, k = _pairs(recommended, relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    scores = []
    for hits, n_rel in pairs:
        dcg = float(np.sum(discounts[:hits.shape[0]] * hits))
        ideal = float(np.sum(discounts[:min(n_rel, k)]))
        scores.append(dcg / ideal)
    return float(np.mean(scores))
