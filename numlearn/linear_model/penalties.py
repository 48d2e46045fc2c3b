"""Separable penalties for coordinate descent.

Every penalty here is an elastic net ``Σ_j l1 |w_j| + l2 w_j² / 2`` with its own
``(l1, l2)``; the classes give the readable names, the value, the prox, the distance to
the subdifferential and the conjugate used in the duality gap.
"""

from __future__ import annotations

import numpy as np

from numlearn._validation import check_scalar
from numlearn.linear_model._glm_jit import GroupLassoJit, MCPJit, SCADJit, WeightedL1Jit
from numlearn.linear_model._glm_kernels import separable_distance, separable_value

__all__ = ["L1", "L2", "ElasticNet", "NoPenalty", "WeightedL1", "MCP", "SCAD", "GroupLasso"]


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

    def compiled(self, n_features: int):
        """The compiled pieces for :func:`~numlearn.linear_model.solve_glm`."""
        return WeightedL1Jit(self.l1, np.ones(n_features), False)


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


# ----------------------------------------------------------------------------------------
# Penalties of the working-set engine (solve_glm, GeneralizedLinearEstimator): each class
# checks its parameters and hands over its compiled pieces (numlearn/linear_model/_glm_jit).
class _CompiledPenalty:
    block = False

    def value(self, w) -> float:
        """Penalty value at ``w``."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        pen = self.compiled(w.shape[0])
        return float(pen.value(w) if self.block else separable_value(pen, w))

    def subdiff_distance(self, w, grad) -> np.ndarray:
        """Distance from ``-grad`` to the subdifferential at ``w``, per coordinate (per
        group for block penalties): the first-order optimality violation."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        grad = np.ascontiguousarray(grad, dtype=np.float64)
        pen = self.compiled(w.shape[0])
        if self.block:
            groups = np.arange(pen.grp_ptr.shape[0] - 1, dtype=np.int64)
            return pen.subdiff_distance(w, grad, groups)
        return separable_distance(pen, w, grad, np.arange(w.shape[0], dtype=np.int64))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if not isinstance(v, np.ndarray))
        return f"{type(self).__name__}({args})"


def _check_weights(weights, name: str) -> np.ndarray:
    try:
        w = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of non-negative numbers: {exc}") from exc
    if w.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and non-negative, got {weights!r}.")
    return w


def _check_length(arr, n: int, name: str, what: str) -> None:
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one entry per {what} ({n}), got {arr.shape[0]}.")


class WeightedL1(_CompiledPenalty):
    """``alpha Σ_j weights_j |w_j|``; a zero weight leaves its coordinate unpenalized.

    Parameters
    ----------
    alpha : float
        Regularization strength, ``>= 0``.
    weights : array, shape (n_features,)
        Non-negative weights.
    positive : bool, default=False
        Constrain the coefficients to be ``>= 0`` (a box constraint).

    Examples
    --------
    >>> from numlearn.linear_model import WeightedL1
    >>> WeightedL1(0.5, [1.0, 2.0]).value([1.0, -2.0])
    2.5
    """

    def __init__(self, alpha: float, weights, *, positive: bool = False):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.weights = _check_weights(weights, "weights")
        self.positive = bool(positive)

    def compiled(self, n_features: int):
        """The compiled pieces for :func:`~numlearn.linear_model.solve_glm`."""
        _check_length(self.weights, n_features, "weights", "feature")
        return WeightedL1Jit(self.alpha, self.weights, self.positive)


class MCP(_CompiledPenalty):
    """Minimax concave penalty (Zhang 2010), per coordinate
    ``alpha |w| - w² / (2 gamma)`` if ``|w| <= gamma alpha``, else ``gamma alpha² / 2``.

    Non-convex: :func:`~numlearn.linear_model.solve_glm` returns a stationary point.

    Parameters
    ----------
    alpha : float
        Regularization strength, ``>= 0``.
    gamma : float, default=3.0
        Concavity, ``> 1`` (the L1 penalty as ``gamma → ∞``).
    positive : bool, default=False
        Constrain the coefficients to be ``>= 0``.

    Examples
    --------
    >>> from numlearn.linear_model import MCP
    >>> MCP(1.0, gamma=3.0).value([1.0, 5.0])
    2.3333333333333335
    """

    def __init__(self, alpha: float, gamma: float = 3.0, *, positive: bool = False):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.gamma = check_scalar(gamma, "gamma", low=1.0, include_low=False)
        self.positive = bool(positive)

    def compiled(self, n_features: int):
        """The compiled pieces for :func:`~numlearn.linear_model.solve_glm`."""
        return MCPJit(self.alpha, self.gamma, self.positive)


class SCAD(_CompiledPenalty):
    """Smoothly clipped absolute deviation (Fan & Li 2001), per coordinate
    ``alpha |w|`` if ``|w| <= alpha``, ``(2 gamma alpha |w| - w² - alpha²) / (2 (gamma - 1))``
    if ``|w| <= gamma alpha``, else ``alpha² (gamma + 1) / 2``.

    Non-convex: :func:`~numlearn.linear_model.solve_glm` returns a stationary point.

    Parameters
    ----------
    alpha : float
        Regularization strength, ``>= 0``.
    gamma : float, default=3.7
        Shape, ``> 2`` (Fan and Li's 3.7 by default).
    positive : bool, default=False
        Constrain the coefficients to be ``>= 0``.

    Examples
    --------
    >>> from numlearn.linear_model import SCAD
    >>> SCAD(1.0, gamma=3.0).value([0.5, 10.0])
    2.5
    """

    def __init__(self, alpha: float, gamma: float = 3.7, *, positive: bool = False):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.gamma = check_scalar(gamma, "gamma", low=2.0, include_low=False)
        self.positive = bool(positive)

    def compiled(self, n_features: int):
        """The compiled pieces for :func:`~numlearn.linear_model.solve_glm`."""
        return SCADJit(self.alpha, self.gamma, self.positive)


class GroupLasso(_CompiledPenalty):
    """Group Lasso ``alpha Σ_g weights_g ‖w_g‖₂``, solved by block coordinate descent.

    Parameters
    ----------
    alpha : float
        Regularization strength, ``>= 0``.
    groups : int or sequence of sequences of int
        An int ``s``: consecutive groups of ``s`` features (``n_features`` must be a
        multiple of ``s``). A sequence: the feature indices of each group; the groups must
        partition ``0, ..., n_features - 1``.
    weights : array, shape (n_groups,), optional
        Non-negative group weights (1 by default; a zero leaves the group unpenalized).

    Examples
    --------
    >>> from numlearn.linear_model import GroupLasso
    >>> GroupLasso(1.0, groups=[[0, 1], [2]]).value([3.0, 4.0, -1.0])
    6.0
    """

    block = True

    def __init__(self, alpha: float, groups, *, weights=None):
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        if isinstance(groups, (int, np.integer)) and not isinstance(groups, bool):
            self.groups = check_scalar(groups, "groups", kind=int, low=1)
        else:
            try:
                self.groups = [np.asarray(g, dtype=np.int64).ravel().tolist() for g in groups]
            except (TypeError, ValueError) as exc:
                raise TypeError("groups must be an int or a sequence of sequences of "
                                f"feature indices: {exc}") from exc
            if not self.groups or any(len(g) == 0 for g in self.groups):
                raise ValueError("groups must be non-empty sequences of feature indices.")
        self.weights = None if weights is None else _check_weights(weights, "weights")

    def _layout(self, n_features: int):
        if isinstance(self.groups, int):
            if n_features % self.groups:
                raise ValueError(f"groups={self.groups} does not partition the "
                                 f"{n_features} features into equal groups.")
            sizes = np.full(n_features // self.groups, self.groups)
            indices = np.arange(n_features, dtype=np.int64)
        else:
            sizes = np.array([len(g) for g in self.groups])
            indices = np.concatenate([np.asarray(g, dtype=np.int64) for g in self.groups])
            if (indices.shape[0] != n_features
                    or not np.array_equal(np.sort(indices), np.arange(n_features))):
                raise ValueError("groups must partition the features 0, ..., "
                                 f"{n_features - 1}: every feature in exactly one group.")
        ptr = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        return ptr, indices

    def compiled(self, n_features: int):
        """The compiled pieces for :func:`~numlearn.linear_model.solve_glm`."""
        ptr, indices = self._layout(n_features)
        n_groups = ptr.shape[0] - 1
        weights = np.ones(n_groups) if self.weights is None else self.weights
        _check_length(weights, n_groups, "weights", "group")
        return GroupLassoJit(self.alpha, weights, ptr, indices)
