"""ChebCB: a contextual bandit regressing each arm's cost on Chebyshev features."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev

from numlearn._validation import check_array, check_random_state, check_scalar

__all__ = ["ChebCB"]

# Ridge of the shared (arm × context) prior fit: only there to keep it solvable early on.
_PRIOR_RIDGE = 1e-3


def inverse_gap_probabilities(y: np.ndarray, gamma: float) -> np.ndarray:
    """SquareCB's inverse-gap weighting (Foster and Rakhlin): ``p_i = 1/(K + γ(ŷ_i − ŷ*))``
    for every arm but the predicted best, which gets the remaining mass."""
    K = y.shape[0]
    best = int(np.argmin(y))
    p = 1.0 / (K + gamma * (y - y[best]))
    p[best] = 0.0
    p[best] = max(1.0 - p.sum(), 0.0)
    p /= p.sum()
    return p


class ChebCB:
    """Contextual bandit over a scalar context: per-arm Chebyshev regression + SquareCB.

    The context ``c`` is mapped to ``z ∈ [−1, 1]`` by ``context_range`` (values outside are
    clipped), with features ``φ(z) = (T_0(z), …, T_degree(z))`` (Chebyshev polynomials).
    Each arm ``i`` regresses ``y = log(1 + cost)`` on ``φ``: its prediction is

    ``ŷ_i(z) = π_i(z) + φ(z)ᵀθ_i``,  ``θ_i = argmin Σ_{rounds of i} (y − π_i − φᵀθ)² + ridge ‖θ‖²``

    where the prior ``π_i(z) = φ(z)ᵀ B ψ(a_i)`` is one least-squares fit over *all* rounds,
    polynomial (degree ``arm_degree``) in the arm's position ``a_i`` (e.g. its ω) as well as
    in the context. The prior lets an arm that was rarely played borrow from its neighbours
    instead of looking average, which is what makes learning fast when costs vary smoothly
    across arms (``arm_degree=None`` turns it off: the prior is the mean of ``y``). Costs are
    modelled on a log scale because iteration counts vary by orders of magnitude across
    contexts and are roughly multiplicative (difficulty × arm factor); the gaps below are
    then relative costs, which needs no estimate of the cost scale.

    Arms are drawn by SquareCB's inverse gap weighting: ``p_i = 1/(K + γ_t (ŷ_i − ŷ*))`` for
    the arms that are not greedy and the rest of the mass for the greedy arm ``argmin ŷ``,
    with ``γ_t = exploration · t`` growing linearly as in the paper.

    Parameters
    ----------
    n_arms : int
        Number of arms ``K``.
    context_range : (float, float)
        Interval the contexts are expected in; mapped to ``[−1, 1]``.
    degree : int, default=5
        Highest Chebyshev degree in the context (features ``T_0 … T_degree``).
    arm_degree : int or None, default=4
        Degree of the shared prior in the arm position; None for no sharing.
    arm_positions : array-like of shape (n_arms,), optional
        Where the arms sit (e.g. the ω grid); default equally spaced.
    ridge : float, default=1.0
        Ridge penalty of each arm's own fit (shrinks it towards the prior).
    exploration : float, default=50.0
        Slope of ``γ_t``: larger means greedier sooner.
    random_state : int, numpy.random.Generator or None
        Seed of the arm draws.

    Attributes
    ----------
    n_rounds_ : int
        Rounds completed.
    counts_ : ndarray of shape (n_arms,)
        How often each arm was played.
    probabilities_ : ndarray of shape (n_arms,)
        The distribution of the last :meth:`select`.

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar, "Learning to Relax", ICLR 2024;
    D. Foster, A. Rakhlin, "Beyond UCB: Optimal and Efficient Contextual Bandits with
    Regression Oracles", ICML 2020 (SquareCB).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.tuning import ChebCB
    >>> rng = np.random.default_rng(0)
    >>> bandit = ChebCB(2, (0.0, 1.0), degree=2, random_state=0)
    >>> for _ in range(300):              # arm 0 is cheaper for c < 0.5, arm 1 above
    ...     c = rng.uniform()
    ...     arm = bandit.select(c)
    ...     bandit.update(10.0 * (1.0 + (c if arm == 0 else 1.0 - c)))
    >>> [int(np.argmin(bandit.predict(c))) for c in (0.1, 0.9)]
    [0, 1]
    """

    def __init__(
        self,
        n_arms: int,
        context_range: tuple[float, float],
        *,
        degree: int = 5,
        arm_degree: int | None = 4,
        arm_positions: Any = None,
        ridge: float = 1.0,
        exploration: float = 50.0,
        random_state: Any = None,
    ):
        self.n_arms = n_arms
        self.context_range = context_range
        self.degree = degree
        self.arm_degree = arm_degree
        self.arm_positions = arm_positions
        self.ridge = ridge
        self.exploration = exploration
        self.random_state = random_state
        self._check_and_reset()

    def _check_and_reset(self) -> None:
        K = check_scalar(self.n_arms, "n_arms", kind=int, low=1)
        d = check_scalar(self.degree, "degree", kind=int, low=0) + 1
        check_scalar(self.ridge, "ridge", low=0.0, include_low=False)
        check_scalar(self.exploration, "exploration", low=0.0, include_low=False)
        try:
            lo, hi = (float(v) for v in self.context_range)
        except (TypeError, ValueError):
            raise TypeError(
                f"context_range must be a pair (low, high), got {self.context_range!r}."
            ) from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"context_range must be finite with low < high, got {(lo, hi)}.")
        self._lo, self._hi = lo, hi
        # the prior's arm features ψ(a_i), one row per arm
        if self.arm_degree is None:
            arm_features = np.ones((K, 1))
        else:
            arm_degree = check_scalar(self.arm_degree, "arm_degree", kind=int, low=0,
                                      allow_none=True)
            if self.arm_positions is None:
                positions = np.linspace(-1.0, 1.0, K)
            else:
                positions = np.asarray(check_array(self.arm_positions, "arm_positions",
                                                   ndim=1, shape=(K,)), dtype=np.float64)
                span = positions.max() - positions.min()
                positions = (2.0 * (positions - positions.min()) / span - 1.0 if span > 0
                             else np.zeros(K))
            arm_features = chebyshev.chebvander(positions, min(arm_degree, max(K - 1, 0)))
        self._arm_features = arm_features
        dj = d * arm_features.shape[1]
        self._prior_gram = np.zeros((dj, dj))
        self._prior_moment = np.zeros(dj)
        self._gram = np.zeros((K, d, d))  # Σ φφᵀ per arm
        self._moment = np.zeros((K, d))  # Σ φ y per arm
        self.counts_ = np.zeros(K, dtype=np.int64)
        self.n_rounds_ = 0
        self.probabilities_ = np.full(K, 1.0 / K)
        self._rng = check_random_state(self.random_state)
        self._pending: tuple[int, np.ndarray] | None = None

    def reset(self) -> ChebCB:
        """Forget everything learned (the random stream restarts from ``random_state``)."""
        self._check_and_reset()
        return self

    def _features(self, context: float) -> np.ndarray:
        c = check_scalar(context, "context")
        z = 2.0 * (c - self._lo) / (self._hi - self._lo) - 1.0
        z = min(max(z, -1.0), 1.0)
        return chebyshev.chebvander(np.array([z]), self.degree)[0]

    def _predict_log(self, phi: np.ndarray) -> np.ndarray:
        d = phi.shape[0]
        dj = self._prior_moment.shape[0]
        beta = np.linalg.solve(self._prior_gram + _PRIOR_RIDGE * np.eye(dj), self._prior_moment)
        B = beta.reshape(d, -1)
        prior = self._arm_features @ (B.T @ phi)  # π_i(z) for every arm
        # each arm's own fit, on the residuals y − π_i: Σ φ(y − φᵀBψ_i) = M_i − G_i B ψ_i
        rhs = self._moment - np.einsum("aij,jk,ak->ai", self._gram, B, self._arm_features)
        theta = np.linalg.solve(self._gram + self.ridge * np.eye(d), rhs[..., None])[..., 0]
        return prior + theta @ phi

    def predict(self, context: float) -> np.ndarray:
        """Predicted cost of every arm at ``context``."""
        return np.expm1(self._predict_log(self._features(context)))

    def select(self, context: float) -> int:
        """Draw the arm to play for ``context``."""
        phi = self._features(context)
        K = self.n_arms
        y = self._predict_log(phi)
        p = inverse_gap_probabilities(y, self.exploration * (self.n_rounds_ + 1))
        self.probabilities_ = p
        arm = int(self._rng.choice(K, p=p))
        self._pending = (arm, phi)
        return arm

    def update(self, loss: float) -> None:
        """Feed back the cost (≥ 0) of the arm returned by the last :meth:`select`."""
        if self._pending is None:
            raise RuntimeError("update() must follow select(context).")
        loss = check_scalar(loss, "loss", low=0.0)
        arm, phi = self._pending
        self._pending = None
        y = math.log1p(loss)
        joint = np.kron(phi, self._arm_features[arm])
        self._prior_gram += np.outer(joint, joint)
        self._prior_moment += y * joint
        self._gram[arm] += np.outer(phi, phi)
        self._moment[arm] += y * phi
        self.counts_[arm] += 1
        self.n_rounds_ += 1
