"""Generated ratings with the structure of public movie-ratings data (nothing downloaded)."""

from __future__ import annotations

from typing import Any

import numpy as np

from numlearn._validation import check_random_state, check_scalar, suggest_keywords

__all__ = ["make_ratings"]


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if x.shape[0] else x


def _member(x: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each entry of ``x`` is in the sorted array ``sorted_set``."""
    if sorted_set.shape[0] == 0:
        return np.zeros(x.shape[0], dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, x), sorted_set.shape[0] - 1)
    return sorted_set[pos] == x


@suggest_keywords
def make_ratings(n_users: int = 943, n_items: int = 1682, n_ratings: int = 100_000, *,
                 rank: int = 10, noise: float = 0.85, implicit: bool = False,
                 random_state: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long-format ratings ``(users, items, ratings)`` shaped like a movie-ratings data set.

    Item popularity follows a power law (Zipf, exponent 1), user activity a log-normal law
    (about 5 ratings at least each, where the size allows); a rating is
    ``clip(round(μ + b_u + c_i + x_uᵀy_i + ε), 1, 5)`` with ``μ = 3.53``, user biases of
    standard deviation 0.45, item biases of 0.5 that grow with popularity, a rank-``rank``
    taste term of variance 0.35 and Gaussian noise ``ε`` of standard deviation ``noise``.
    The defaults have the size of the 100k MovieLens set (943 users, 1682 items).

    Parameters
    ----------
    n_users, n_items, n_ratings : int
        Sizes; ``n_ratings`` distinct ``(user, item)`` pairs are drawn.
    rank : int, default=10
        Rank of the taste term.
    noise : float, default=0.85
        Standard deviation of the rating noise before rounding.
    implicit : bool, default=False
        Return interaction counts instead of ratings, for implicit-feedback models: pairs
        drawn by activity × popularity are kept with a probability that grows with a
        rank-``rank`` user–item affinity (what a user picks depends on taste), and the
        count of a kept pair is ``1 + Poisson(exp(affinity / 2 + b_u))``.
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    users, items : ndarray of int64
    ratings : ndarray of float64
        Integer ratings 1..5 (counts ≥ 1 with ``implicit=True``).

    Examples
    --------
    >>> from numlearn.completion import make_ratings
    >>> users, items, ratings = make_ratings(100, 80, 2000, random_state=0)
    >>> len(ratings), sorted(set(ratings.tolist())) == [1.0, 2.0, 3.0, 4.0, 5.0]
    (2000, True)
    """
    n_users = check_scalar(n_users, "n_users", kind=int, low=1)
    n_items = check_scalar(n_items, "n_items", kind=int, low=1)
    n_ratings = check_scalar(n_ratings, "n_ratings", kind=int, low=1,
                             high=n_users * n_items)
    rank = check_scalar(rank, "rank", kind=int, low=1)
    noise = check_scalar(noise, "noise", low=0.0)
    rng = check_random_state(random_state)
    popularity = 1.0 / np.arange(1, n_items + 1)
    popularity = rng.permutation(popularity)
    activity = rng.lognormal(0.0, 1.0, n_users)
    floor = min(5, n_items) if 5 * n_users <= n_ratings else 0
    # distinct pairs: a floor of ratings per user, then draws by activity × popularity
    pairs = np.empty(0, dtype=np.int64)
    if floor:
        first = np.repeat(np.arange(n_users), floor)
        items = rng.choice(n_items, n_users * floor, p=popularity / popularity.sum())
        pairs = _sorted_unique(first * n_items + items)  # repeats dropped: about `floor` each
    p_user = activity / activity.sum()
    p_item = popularity / popularity.sum()
    if implicit:  # tastes that decide what a user picks (variance-1 affinities)
        taste_u = rng.standard_normal((n_users, rank)) / rank**0.25
        taste_i = rng.standard_normal((n_items, rank)) / rank**0.25
    while pairs.shape[0] < n_ratings:
        need = n_ratings - pairs.shape[0]
        size = int(need * (4.0 if implicit else 1.3)) + 100
        u = rng.choice(n_users, size, p=p_user)
        i = rng.choice(n_items, size, p=p_item)
        new = _sorted_unique(u * n_items + i)
        new = new[~_member(new, pairs)]
        if implicit:  # keep a candidate with probability min(1, exp(2 (affinity − 1)))
            cu, ci = np.divmod(new, n_items)
            affinity = np.einsum("ij,ij->i", taste_u[cu], taste_i[ci])
            new = new[rng.random(new.shape[0]) < np.exp(np.minimum(2.0 * (affinity - 1.0),
                                                                    0.0))]
        new = rng.permutation(new)[:need]
        if new.shape[0] == 0:  # saturated by the popularity law: fill uniformly
            rest = np.arange(n_users * n_items)
            rest = rest[~_member(rest, pairs)]
            new = rng.choice(rest, need, replace=False)
        pairs = np.sort(np.concatenate([pairs, new]))
    pairs = rng.permutation(pairs)
    users, items = np.divmod(pairs, n_items)
    user_bias = 0.45 * rng.standard_normal(n_users)
    rank_of_item = np.argsort(np.argsort(-popularity))
    item_bias = 0.5 * rng.standard_normal(n_items) + 0.3 - 0.6 * rank_of_item / n_items
    X = rng.standard_normal((n_users, rank)) * np.sqrt(np.sqrt(0.35 / rank))
    Y = rng.standard_normal((n_items, rank)) * np.sqrt(np.sqrt(0.35 / rank))
    score = user_bias[users] + item_bias[items] + np.einsum("ij,ij->i", X[users], Y[items])
    if implicit:
        affinity = np.einsum("ij,ij->i", taste_u[users], taste_i[items])
        counts = 1.0 + rng.poisson(np.exp(np.clip(0.5 * affinity + user_bias[users], -5, 3)))
        return users.astype(np.int64), items.astype(np.int64), counts.astype(np.float64)
    ratings = np.clip(np.round(3.53 + score + noise * rng.standard_normal(score.shape)), 1, 5)
    return users.astype(np.int64), items.astype(np.int64), ratings.astype(np.float64)
