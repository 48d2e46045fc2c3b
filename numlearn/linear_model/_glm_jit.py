"""Compiled scalar pieces of datafits and penalties (Numba jitclasses).

The working-set engine (:mod:`numlearn.linear_model._glm_kernels`) never knows which loss
or penalty it solves: a datafit gives ``loss(i, y_i, z_i)`` and ``deriv(i, y_i, z_i)``
per sample (sample weights included) and its ``curvature`` (the bound on ``loss''``); a separable penalty gives
``value_1d(u, j)``, ``prox_1d(v, step, j)`` and ``dist_1d(w_j, g_j, j)`` (the distance
of ``-g_j`` to its subdifferential) per coordinate; a block penalty gives ``value(w)``,
``prox_block(v, step, g)``, ``subdiff_distance(w, grad, groups)`` and ``support(w)`` per
group, with its ``grp_ptr``/``grp_indices``. A new penalty is
a new jitclass here plus its public class in :mod:`~numlearn.linear_model.penalties`; the
epoch kernels stay as they are.

Non-convex proxes (MCP, SCAD) are computed by comparing the 1-D objective at the few
candidate points of each quadratic piece, so they stay exact whatever the step size
(skglm's closed forms assume ``gamma > step``).
"""

from __future__ import annotations

import numpy as np
from numba import boolean, float64, int64
from numba.experimental import jitclass

__all__ = [
    "QuadraticJit",
    "LogisticJit",
    "WeightedL1Jit",
    "MCPJit",
    "SCADJit",
    "GroupLassoJit",
]


# --------------------------------------------------------------------------- datafits
@jitclass([("curvature", float64), ("sw", float64[:])])
class QuadraticJit:
    """``loss_i(z) = sw_i (y_i - z)² / 2``; curvature 1 (``sw``: sample weights, mean 1)."""

    def __init__(self, sw):
        self.curvature = 1.0
        self.sw = sw

    def loss(self, i, y_i, z_i):
        r = y_i - z_i
        return 0.5 * self.sw[i] * r * r

    def deriv(self, i, y_i, z_i):
        return self.sw[i] * (z_i - y_i)


@jitclass([("curvature", float64), ("sw", float64[:])])
class LogisticJit:
    """``loss_i(z) = sw_i log(1 + exp(-y_i z))`` for ``y_i ∈ {-1, 1}``; curvature 1/4."""

    def __init__(self, sw):
        self.curvature = 0.25
        self.sw = sw

    def loss(self, i, y_i, z_i):
        t = -y_i * z_i
        if t > 0:
            return self.sw[i] * (t + np.log1p(np.exp(-t)))
        return self.sw[i] * np.log1p(np.exp(t))

    def deriv(self, i, y_i, z_i):
        t = y_i * z_i
        if t >= 0:
            e = np.exp(-t)
            return -self.sw[i] * y_i * e / (1.0 + e)
        return -self.sw[i] * y_i / (1.0 + np.exp(t))


# ------------------------------------------------------------------- separable penalties
_SEPARABLE = [("alpha", float64), ("weights", float64[:]), ("positive", boolean)]


@jitclass(_SEPARABLE)
class WeightedL1Jit:
    """``alpha Σ_j weights_j |w_j|`` (+ ``w >= 0`` when ``positive``)."""

    def __init__(self, alpha, weights, positive):
        self.alpha = alpha
        self.weights = weights
        self.positive = positive

    def value_1d(self, u, j):
        return self.alpha * self.weights[j] * abs(u)

    def prox_1d(self, v, step, j):
        thr = step * self.alpha * self.weights[j]
        if v > thr:
            return v - thr
        if self.positive:
            return 0.0
        if v < -thr:
            return v + thr
        return 0.0

    def dist_1d(self, w_j, g_j, j):
        a = self.alpha * self.weights[j]
        if w_j != 0.0:
            return abs(g_j + a * np.sign(w_j))
        if self.positive:
            return max(-g_j - a, 0.0)
        return max(abs(g_j) - a, 0.0)



@jitclass([("alpha", float64), ("gamma", float64), ("positive", boolean)])
class MCPJit:
    """Minimax concave penalty: ``alpha |w| - w² / (2 gamma)`` for ``|w| <= gamma alpha``,
    ``gamma alpha² / 2`` beyond."""

    def __init__(self, alpha, gamma, positive):
        self.alpha = alpha
        self.gamma = gamma
        self.positive = positive

    def value_1d(self, u, j):
        a = abs(u)
        if a <= self.gamma * self.alpha:
            return self.alpha * a - a * a / (2.0 * self.gamma)
        return 0.5 * self.gamma * self.alpha * self.alpha


    def prox_1d(self, v, step, j):
        if self.positive and v <= 0.0:
            return 0.0
        a, sg = abs(v), np.sign(v)
        knee = self.gamma * self.alpha
        # candidates (in |u|): 0, the knee, the outer piece, the inner stationary point
        best_u, best = 0.0, 0.5 * a * a / step
        outer = max(a, knee)
        for u in (knee, outer):
            f = 0.5 * (u - a) ** 2 / step + self.value_1d(u, j)
            if f < best:
                best_u, best = u, f
        c = 1.0 / step - 1.0 / self.gamma
        if c > 0.0:
            u = min(max((a / step - self.alpha) / c, 0.0), knee)
            f = 0.5 * (u - a) ** 2 / step + self.value_1d(u, j)
            if f < best:
                best_u, best = u, f
        return sg * best_u

    def dist_1d(self, w_j, g_j, j):
        if w_j == 0.0:
            if self.positive:
                return max(-g_j - self.alpha, 0.0)
            return max(abs(g_j) - self.alpha, 0.0)
        if abs(w_j) < self.gamma * self.alpha:
            return abs(g_j + self.alpha * np.sign(w_j) - w_j / self.gamma)
        return abs(g_j)



@jitclass([("alpha", float64), ("gamma", float64), ("positive", boolean)])
class SCADJit:
    """Smoothly clipped absolute deviation (Fan & Li): ``alpha |w|`` up to ``alpha``,
    a quadratic up to ``gamma alpha``, ``alpha² (gamma + 1) / 2`` beyond."""

    def __init__(self, alpha, gamma, positive):
        self.alpha = alpha
        self.gamma = gamma
        self.positive = positive

    def value_1d(self, u, j):
        a, lam, g = abs(u), self.alpha, self.gamma
        if a <= lam:
            return lam * a
        if a <= g * lam:
            return (2.0 * g * lam * a - a * a - lam * lam) / (2.0 * (g - 1.0))
        return 0.5 * lam * lam * (g + 1.0)


    def prox_1d(self, v, step, j):
        if self.positive and v <= 0.0:
            return 0.0
        a, sg = abs(v), np.sign(v)
        lam, g = self.alpha, self.gamma
        best_u, best = 0.0, 0.5 * a * a / step
        inner = min(max(a - step * lam, 0.0), lam)
        outer = max(a, g * lam)
        for u in (inner, lam, g * lam, outer):
            f = 0.5 * (u - a) ** 2 / step + self.value_1d(u, j)
            if f < best:
                best_u, best = u, f
        c = 1.0 / step - 1.0 / (g - 1.0)
        if c > 0.0:
            u = (a / step - g * lam / (g - 1.0)) / c
            u = min(max(u, lam), g * lam)
            f = 0.5 * (u - a) ** 2 / step + self.value_1d(u, j)
            if f < best:
                best_u, best = u, f
        return sg * best_u

    def dist_1d(self, w_j, g_j, j):
        lam, g = self.alpha, self.gamma
        a = abs(w_j)
        if w_j == 0.0:
            if self.positive:
                return max(-g_j - lam, 0.0)
            return max(abs(g_j) - lam, 0.0)
        if a <= lam:
            return abs(g_j + lam * np.sign(w_j))
        if a <= g * lam:
            return abs(g_j + np.sign(w_j) * (g * lam - a) / (g - 1.0))
        return abs(g_j)



# ----------------------------------------------------------------------- block penalties
@jitclass([("alpha", float64), ("weights", float64[:]), ("grp_ptr", int64[:]),
           ("grp_indices", int64[:])])
class GroupLassoJit:
    """``alpha Σ_g weights_g ‖w_g‖₂``; group ``g`` holds the features
    ``grp_indices[grp_ptr[g]:grp_ptr[g + 1]]``."""

    def __init__(self, alpha, weights, grp_ptr, grp_indices):
        self.alpha = alpha
        self.weights = weights
        self.grp_ptr = grp_ptr
        self.grp_indices = grp_indices

    def norm_g(self, w, g):
        s = 0.0
        for k in range(self.grp_ptr[g], self.grp_ptr[g + 1]):
            s += w[self.grp_indices[k]] ** 2
        return np.sqrt(s)

    def value(self, w):
        s = 0.0
        for g in range(self.weights.shape[0]):
            s += self.weights[g] * self.norm_g(w, g)
        return self.alpha * s

    def prox_block(self, v, step, g):
        """Block soft-thresholding of ``v`` (the group's coordinates), in place."""
        nrm = np.sqrt(np.sum(v * v))
        thr = step * self.alpha * self.weights[g]
        if nrm <= thr:
            v[:] = 0.0
        else:
            v *= 1.0 - thr / nrm
        return v

    def subdiff_distance(self, w, grad, ws):
        out = np.empty(ws.shape[0])
        for k in range(ws.shape[0]):
            g = ws[k]
            a = self.alpha * self.weights[g]
            nw = self.norm_g(w, g)
            s = 0.0
            if nw == 0.0:
                for i in range(self.grp_ptr[g], self.grp_ptr[g + 1]):
                    s += grad[self.grp_indices[i]] ** 2
                out[k] = max(np.sqrt(s) - a, 0.0)
            else:
                for i in range(self.grp_ptr[g], self.grp_ptr[g + 1]):
                    j = self.grp_indices[i]
                    s += (grad[j] + a * w[j] / nw) ** 2
                out[k] = np.sqrt(s)
        return out

    def support(self, w):
        n_groups = self.weights.shape[0]
        out = np.zeros(n_groups, dtype=np.bool_)
        for g in range(n_groups):
            out[g] = self.norm_g(w, g) != 0.0
        return out

