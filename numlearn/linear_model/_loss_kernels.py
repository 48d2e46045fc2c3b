"""Numba kernels of the smooth (L-BFGS) solvers: fused per-sample loss and derivative.

Each kernel takes the linear predictor, the targets and the (normalized) sample weights
and, in one pass, returns the weighted loss and fills the derivative of that loss with
respect to the predictor. No Python objects inside.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def logistic_loss_grad(z, y, sw, out):
    """``Σ sw_i log(1 + exp(-y_i z_i))``; ``out_i = -sw_i y_i σ(-y_i z_i)`` (y in ±1)."""
    total = 0.0
    for i in range(z.shape[0]):
        t = -y[i] * z[i]
        if t > 0:
            e = math.exp(-t)
            total += sw[i] * (t + math.log1p(e))
            s = 1.0 / (1.0 + e)  # σ(t)
        else:
            e = math.exp(t)
            total += sw[i] * math.log1p(e)
            s = e / (1.0 + e)
        out[i] = -sw[i] * y[i] * s
    return total


@njit(cache=True)
def multinomial_loss_grad(Z, labels, sw, out):
    """``Σ sw_i [logsumexp(Z_i) - Z_{i, y_i}]``; ``out = sw (softmax(Z) - onehot(y))``."""
    n, k = Z.shape
    total = 0.0
    for i in range(n):
        zmax = Z[i, 0]
        for c in range(1, k):
            if Z[i, c] > zmax:
                zmax = Z[i, c]
        s = 0.0
        for c in range(k):
            e = math.exp(Z[i, c] - zmax)
            out[i, c] = e
            s += e
        li = labels[i]
        total += sw[i] * (math.log(s) + zmax - Z[i, li])
        for c in range(k):
            out[i, c] = sw[i] * out[i, c] / s
        out[i, li] -= sw[i]
    return total


@njit(cache=True)
def quadratic_loss_grad(z, y, sw, out):
    """``Σ sw_i (y_i - z_i)² / 2``; ``out_i = sw_i (z_i - y_i)``."""
    total = 0.0
    for i in range(z.shape[0]):
        r = z[i] - y[i]
        total += 0.5 * sw[i] * r * r
        out[i] = sw[i] * r
    return total


@njit(cache=True)
def dense_matmat(X, W, out):
    """``out = X @ W`` for Fortran-ordered ``X`` (n, p) and ``W`` (p, k), column by column
    (single-threaded: no BLAS thread pool woken for the small products of L-BFGS)."""
    n, p = X.shape
    k = W.shape[1]
    out[:, :] = 0.0
    for j in range(p):
        for c in range(k):
            wjc = W[j, c]
            if wjc != 0.0:
                for i in range(n):
                    out[i, c] += X[i, j] * wjc


@njit(cache=True)
def dense_rmatmat(X, V, out):
    """``out = X.T @ V`` for Fortran-ordered ``X`` (n, p) and ``V`` (n, k)."""
    n, p = X.shape
    k = V.shape[1]
    for j in range(p):
        for c in range(k):
            s = 0.0
            for i in range(n):
                s += X[i, j] * V[i, c]
            out[j, c] = s
