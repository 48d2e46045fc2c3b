"""The ½-Tsallis-INF bandit with online loss normalization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from numlearn._validation import check_option, check_random_state, check_scalar

__all__ = ["TsallisINF", "tsallis_weights"]


def _smoothing_kernel(n_arms: int, width: float) -> np.ndarray | None:
    """Triangular kernel ``W_ji = max(0, 1 − |j − i|/(width + 1))`` over arm indices, or
    None for ``width == 0`` (no sharing: the identity)."""
    if width == 0:
        return None
    idx = np.arange(n_arms)
    return np.maximum(0.0, 1.0 - np.abs(idx[:, None] - idx[None, :]) / (width + 1.0))


def tsallis_weights(scaled_losses: np.ndarray, eta: float, *, tol: float = 1e-12) -> np.ndarray:
    """The ½-Tsallis-INF distribution ``p_i = 4 / (η (L_i − x))²`` with ``Σ p_i = 1``.

    The normalizer ``x`` is the root of ``g(x) = Σ 4/(η(L_i − x))² − 1``, which is
    increasing and convex on ``x < min L``. The root lies in
    ``[min L − 2√K/η, min L − 2/η]`` (at the left end every term is at most ``1/K``, at
    the right end the smallest-loss term alone is 1). Started at the right end, where
    ``g ≥ 0``, Newton's method on the convex ``g`` descends to the root monotonically
    without overshooting, so no iterate leaves the valid region (a cold-started,
    unsafeguarded Newton iteration does); iterates are also clipped to the bracket.

    Parameters
    ----------
    scaled_losses : ndarray of shape (n_arms,)
        Cumulative (estimated) losses, already divided by the loss scale.
    eta : float
        Learning rate ``η > 0``.

    Returns
    -------
    ndarray of shape (n_arms,)
        Probabilities: positive, summing to one, largest for the smallest loss.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.tuning import tsallis_weights
    >>> p = tsallis_weights(np.array([0.0, 1.0, 5.0]), eta=1.0)
    >>> round(float(p.sum()), 12), int(p.argmax())
    (1.0, 0)
    """
    L = np.asarray(scaled_losses, dtype=np.float64)
    K = L.shape[0]
    gap = L - L.min()  # shift invariance: work with L − min L ≥ 0
    lo, hi = -2.0 * math.sqrt(K) / eta, -2.0 / eta  # bracket for x − min L
    x = hi
    for _ in range(100):
        d = gap - x  # > 0
        inv = 1.0 / (eta * d)
        g = 4.0 * np.sum(inv * inv) - 1.0
        if abs(g) <= tol:
            break
        dg = 8.0 * eta * np.sum(inv * inv * inv)  # g'(x)
        x_new = min(max(x - g / dg, lo), hi)
        if x_new == x:
            break
        x = x_new
    inv = 1.0 / (eta * (gap - x))
    p = 4.0 * inv * inv
    return p / p.sum()


class TsallisINF:
    """½-Tsallis-INF: an adversarial multi-armed bandit that is also optimal when stochastic.

    In round ``t`` the learner plays arm ``i`` with probability
    ``p_i = 4 / (η_t (L̂_i / s − x))²`` (``η_t = 2/√t``, ``x`` normalizing, see
    :func:`tsallis_weights`), observes only the loss ``ℓ`` of that arm and updates the loss
    estimates ``L̂``. Losses are costs of unknown scale (iteration counts): the learner
    divides by ``s``, the running mean of the observed losses minus ``loss_floor`` (the
    smallest possible loss), so no bound on the losses is needed in advance.

    Two unbiased estimators are available. ``"importance-weighted"`` adds ``(ℓ − ℓ_min)/p_i``
    to the played arm (the authors' code). ``"reduced-variance"`` (default) is Zimmert and
    Seldin's: every arm's estimate grows by a baseline ``B`` and the played arm's by
    ``(ℓ − B)/p_i`` on top, with ``B`` the running mean loss when ``p_i ≥ η_t²`` and 0
    otherwise. Centering the losses cuts the variance of the estimates; on the paper's
    shifted-Laplacian sequences (2000 systems, 20 arms) it lowers the excess over the best
    fixed ω from 29% to 22% (high variance) and from 24% to 18% (low), means of 6 seeds.

    ``smoothing_width > 0`` shares information between neighbouring arms, for arms that are
    ordered so that neighbours cost about the same (a sorted ω grid). A play of arm ``a``
    then updates every arm ``j`` with the kernel weight ``W_ja = max(0, 1 − |j − a|/(w + 1))``:
    ``L̂_j += B_j + W_ja (ℓ − B_j) / q_j`` with ``q_j = Σ_i W_ji p_i``, an unbiased estimate of
    the ``p``-weighted local mean loss ``Σ_i W_ji p_i ℓ_i / q_j`` rather than of ``ℓ_j``
    (kernel smoothing as in bandits over a metric space of arms). Each play informs about
    ``2w + 1`` arms, so far-off arms are ruled out with fewer plays, at the price of a bias
    that blurs arms closer than ``w`` to each other. It pays to raise ``learning_rate`` with
    it. On the paper's sequences (20 arms, 3 sequence seeds × 4 learner seeds),
    ``smoothing_width=2, learning_rate=6`` took the excess over the best fixed ω at 2000
    systems from 22–27% to 14–15% (high variance) and from 17–20% to 12–15% (low), and at
    5000 systems from 12–15% to 8.5–9.4% and from 9–11% to 6.7–8.5%; it also helped on
    sequences whose best ω changes midway. The defaults are the paper's algorithm.

    Parameters
    ----------
    n_arms : int
        Number of arms (≥ 1).
    random_state : int, numpy.random.Generator or None
        Seed of the arm draws.
    loss_floor : float, default=0.0
        A lower bound on every loss; subtracted before normalizing.
    estimator : {"reduced-variance", "importance-weighted"}, default="reduced-variance"
        The loss estimator (see above).
    learning_rate : float, default=2.0
        ``η_t = learning_rate / √t`` (2 is Zimmert and Seldin's and the paper's choice).
    smoothing_width : float, default=0.0
        Half-width ``w`` (in arms) of the kernel that shares plays between neighbouring arms;
        0 estimates every arm from its own plays only.

    Attributes
    ----------
    n_rounds_ : int
        Rounds completed (updates received).
    cumulative_losses_ : ndarray of shape (n_arms,)
        The loss estimates ``L̂`` (unscaled, floor subtracted).
    probabilities_ : ndarray of shape (n_arms,)
        The distribution of the last :meth:`select`.

    References
    ----------
    J. Zimmert, Y. Seldin, "Tsallis-INF: An Optimal Algorithm for Stochastic and
    Adversarial Bandits", JMLR 2021. M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar,
    "Learning to Relax", ICLR 2024 (its use for SOR's ω).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.tuning import TsallisINF
    >>> rng = np.random.default_rng(0)
    >>> means = np.array([5.0, 3.0, 8.0])          # arm 1 is best
    >>> bandit = TsallisINF(3, random_state=0)
    >>> for _ in range(500):
    ...     arm = bandit.select()
    ...     bandit.update(means[arm] * rng.exponential())   # costs >= 0
    >>> int(np.argmax(bandit.probabilities_))
    1
    """

    def __init__(self, n_arms: int, *, random_state: Any = None, loss_floor: float = 0.0,
                 estimator: str = "reduced-variance", learning_rate: float = 2.0,
                 smoothing_width: float = 0.0):
        self.n_arms = n_arms
        self.random_state = random_state
        self.loss_floor = loss_floor
        self.estimator = estimator
        self.learning_rate = learning_rate
        self.smoothing_width = smoothing_width
        self._check_and_reset()

    def _check_and_reset(self) -> None:
        check_scalar(self.n_arms, "n_arms", kind=int, low=1)
        check_scalar(self.loss_floor, "loss_floor")
        check_option(self.estimator, "estimator", ("reduced-variance", "importance-weighted"))
        check_scalar(self.learning_rate, "learning_rate", low=0.0, include_low=False)
        check_scalar(self.smoothing_width, "smoothing_width", low=0.0)
        self._kernel = _smoothing_kernel(self.n_arms, self.smoothing_width)
        self._rng = check_random_state(self.random_state)
        self.n_rounds_ = 0
        self.cumulative_losses_ = np.zeros(self.n_arms)
        self.probabilities_ = np.full(self.n_arms, 1.0 / self.n_arms)
        self._loss_sum = 0.0
        self._arm: int | None = None
        self._eta = float(self.learning_rate)

    def reset(self) -> TsallisINF:
        """Forget everything learned (the random stream restarts from ``random_state``)."""
        self._check_and_reset()
        return self

    @property
    def scale_(self) -> float:
        """The current loss scale ``s`` (running mean loss minus the floor; 1 before data)."""
        if self.n_rounds_ == 0:
            return 1.0
        s = self._loss_sum / self.n_rounds_ - self.loss_floor
        return s if s > 0.0 else 1.0

    def select(self) -> int:
        """Draw the arm to play this round."""
        self._eta = self.learning_rate / math.sqrt(self.n_rounds_ + 1)
        self.probabilities_ = tsallis_weights(self.cumulative_losses_ / self.scale_, self._eta)
        self._arm = int(self._rng.choice(self.n_arms, p=self.probabilities_))
        return self._arm

    def update(self, loss: float) -> None:
        """Feed back the loss of the arm returned by the last :meth:`select`."""
        if self._arm is None:
            raise RuntimeError("update() must follow select().")
        loss = check_scalar(loss, "loss", low=self.loss_floor)
        arm, self._arm = self._arm, None
        shifted = loss - self.loss_floor
        p = self.probabilities_
        if self.estimator == "reduced-variance" and self.n_rounds_ > 0:
            mean = self._loss_sum / self.n_rounds_ - self.loss_floor
            baseline = np.where(p >= self._eta**2, mean, 0.0)
        else:
            baseline = np.zeros(self.n_arms)
        if self._kernel is None:
            self.cumulative_losses_ += baseline
            self.cumulative_losses_[arm] += (shifted - baseline[arm]) / p[arm]
        else:
            weights = self._kernel[:, arm]
            self.cumulative_losses_ += baseline + weights * (shifted - baseline) / (
                self._kernel @ p
            )
        self._loss_sum += loss
        self.n_rounds_ += 1
