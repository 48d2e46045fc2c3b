"""Separable penalties for coordinate descent.

Every penalty here is an elastic net ``Σ_j l1 |w_j| + l2 w_j² / 2`` with its own
``(l1, l2)``; the classes give the readable names, the value, the prox, the distance to
the subdifferential and the conjugate used in the duality gap.
"""

from __future__ import annotations

import numpy as np

from numlearn._validation import check_scalar

__all__ = ["L1", "L2", "ElasticNet", "NoPenalty"]


class _ElasticNetBase:
    l1: float = 0.0
    l2: float = 0.0

    def value(self, w) -> float:
        """Penalty value at ``w``."""
        w = np.asarray(w, dtype=np.float64)
        return float(self.l1 * np.abs(w).sum() + 0.5 * self.l2 * (w @ w))

    def prox_1d(self, v: float, step: float) -> float:
        """``argmin_u (u - v)² / (2 step) + penalty(u)``."""
        a = abs(v) - step * self.l1
        if a <= 0:
            return 0.0
        return float(np.sign(v) * a / (1.0 + step * self.l2))

    def subdiff_distance(self, w, grad) -> np.ndarray:
        """Distance from ``-grad`` to ``∂penalty(w)``, per coordinate (a KKT violation)."""
        w = np.asarray(w, dtype=np.float64)
        gt = np.asarray(grad, dtype=np.float64) + self.l2 * w
        return np.where(
            w != 0, np.abs(gt + self.l1 * np.sign(w)), np.maximum(np.abs(gt) - self.l1, 0.0)
        )

    def conjugate(self, v) -> float:
        """``penalty*(v)``; ``inf`` when ``l2 = 0`` and ``‖v‖_∞ > l1`` (not rescaled here)."""
        v = np.asarray(v, dtype=np.float64)
        excess = np.maximum(np.abs(v) - self.l1, 0.0)
        if self.l2 > 0:
            return float((excess @ excess) / (2 * self.l2))
        return 0.0 if not np.any(excess > 1e-12 * max(self.l1, 1.0)) else float("inf")

    @property
    def has_gap(self) -> bool:
        return self.l1 > 0 or self.l2 > 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(l1={self.l1:g}, l2={self.l2:g})"


class L1(_ElasticNetBase):
    """``alpha ‖w‖₁``.

    Examples
    --------
    >>> from numlearn.linear_model.penalties import L1
    >>> L1(0.5).value([1.0, -2.0])
    1.5
    """

    def __init__(self, alpha: float):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.l1 = self.alpha


class L2(_ElasticNetBase):
    """``alpha ‖w‖² / 2``.

    Examples
    --------
    >>> from numlearn.linear_model.penalties import L2
    >>> L2(2.0).value([1.0, -2.0])
    5.0
    """

    def __init__(self, alpha: float):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.l2 = self.alpha


class ElasticNet(_ElasticNetBase):
    """``alpha (l1_ratio ‖w‖₁ + (1 - l1_ratio) ‖w‖² / 2)`` (scikit-learn's convention).

    Examples
    --------
    >>> from numlearn.linear_model.penalties import ElasticNet
    >>> ElasticNet(1.0, l1_ratio=0.5).value([1.0, -2.0])
    2.75
    """

    def __init__(self, alpha: float, l1_ratio: float = 0.5):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.l1_ratio = check_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)
        self.l1 = self.alpha * self.l1_ratio
        self.l2 = self.alpha * (1.0 - self.l1_ratio)


class NoPenalty(_ElasticNetBase):
    """No penalty: plain (least-squares or logistic) fit.

    Examples
    --------
    >>> from numlearn.linear_model.penalties import NoPenalty
    >>> NoPenalty().value([1.0, -2.0])
    0.0
    """
