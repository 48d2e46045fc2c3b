"""Epoch kernels of the working-set engine: one per access pattern.

Each kernel takes the compiled datafit and penalty (:mod:`._glm_jit`) as arguments and
knows nothing else about them (skglm's ``_cd_epoch`` shape): a coordinate ``j`` moves to
``penalty.prox_1d(w_j - g_j / L_j, 1 / L_j, j)`` with ``g_j = X_jᵀ F'(z) / n``; a group
to ``penalty.prox_block(w_g - g_g / L_g, 1 / L_g, g)``. ``z = X w + b`` (intercept
included) is kept up to date in place. Dense ``X`` is read column by column (pass it in
Fortran order); CSC as ``(data, indices, indptr)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "cd_epoch_dense",
    "cd_epoch_csc",
    "bcd_epoch_dense",
    "bcd_epoch_csc",
    "intercept_step",
    "loss_derivs",
    "datafit_value",
    "partial_grad_dense",
    "partial_grad_csc",
    "separable_value",
    "separable_distance",
]


@njit(nogil=True)
def loss_derivs(datafit, y, z):
    """``F'(z_i) / n`` for every sample."""
    n = y.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = datafit.deriv(i, y[i], z[i]) / n
    return out


@njit(nogil=True)
def datafit_value(datafit, y, z):
    """``Σ loss(y_i, z_i) / n``."""
    s = 0.0
    for i in range(y.shape[0]):
        s += datafit.loss(i, y[i], z[i])
    return s / y.shape[0]


@njit(nogil=True)
def separable_value(penalty, w):
    """``Σ_j penalty.value_1d(w_j, j)``."""
    s = 0.0
    for j in range(w.shape[0]):
        s += penalty.value_1d(w[j], j)
    return s


@njit(nogil=True)
def separable_distance(penalty, w, grad, ws):
    """Distance of ``-grad_j`` to the subdifferential at ``w_j``, for ``j`` in ``ws``."""
    out = np.empty(ws.shape[0])
    for k in range(ws.shape[0]):
        j = ws[k]
        out[k] = penalty.dist_1d(w[j], grad[j], j)
    return out


@njit(nogil=True)
def partial_grad_dense(X, r, coords, out):
    """``out[j] = X_jᵀ r`` for ``j`` in ``coords`` (other entries untouched)."""
    for k in range(coords.shape[0]):
        j = coords[k]
        s = 0.0
        for i in range(X.shape[0]):
            s += X[i, j] * r[i]
        out[j] = s


@njit(nogil=True)
def partial_grad_csc(data, indices, indptr, r, coords, out):
    """``out[j] = X_jᵀ r`` for ``j`` in ``coords``, ``X`` in CSC."""
    for k in range(coords.shape[0]):
        j = coords[k]
        s = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            s += data[p] * r[indices[p]]
        out[j] = s


@njit(nogil=True)
def intercept_step(datafit, y, z, b):
    """One gradient step on the intercept (step ``1 / curvature``: the weights have mean
    1); returns the new ``b``."""
    n = y.shape[0]
    g = 0.0
    for i in range(n):
        g += datafit.deriv(i, y[i], z[i])
    delta = -g / n / datafit.curvature
    if delta != 0.0:
        for i in range(n):
            z[i] += delta
    return b + delta


@njit(nogil=True)
def cd_epoch_dense(X, y, w, z, datafit, penalty, ws, lipschitz):
    n = X.shape[0]
    for k in range(ws.shape[0]):
        j = ws[k]
        L = lipschitz[j]
        if L == 0.0:
            continue
        g = 0.0
        for i in range(n):
            g += X[i, j] * datafit.deriv(i, y[i], z[i])
        old = w[j]
        step = 1.0 / L
        new = penalty.prox_1d(old - g / n * step, step, j)
        if new != old:
            w[j] = new
            d = new - old
            for i in range(n):
                z[i] += d * X[i, j]


@njit(nogil=True)
def cd_epoch_csc(data, indices, indptr, y, w, z, datafit, penalty, ws, lipschitz):
    n = y.shape[0]
    for k in range(ws.shape[0]):
        j = ws[k]
        L = lipschitz[j]
        if L == 0.0:
            continue
        g = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            g += data[p] * datafit.deriv(i, y[i], z[i])
        old = w[j]
        step = 1.0 / L
        new = penalty.prox_1d(old - g / n * step, step, j)
        if new != old:
            w[j] = new
            d = new - old
            for p in range(indptr[j], indptr[j + 1]):
                z[indices[p]] += d * data[p]


@njit(nogil=True)
def bcd_epoch_dense(X, y, w, z, datafit, penalty, ws, lipschitz):
    n = X.shape[0]
    ptr, idx = penalty.grp_ptr, penalty.grp_indices
    r = np.empty(n)
    for k in range(ws.shape[0]):
        g = ws[k]
        L = lipschitz[g]
        if L == 0.0:
            continue
        step = 1.0 / L
        for i in range(n):
            r[i] = datafit.deriv(i, y[i], z[i]) / n
        size = ptr[g + 1] - ptr[g]
        old = np.empty(size)
        v = np.empty(size)
        for q in range(size):
            j = idx[ptr[g] + q]
            gj = 0.0
            for i in range(n):
                gj += X[i, j] * r[i]
            old[q] = w[j]
            v[q] = w[j] - step * gj
        v = penalty.prox_block(v, step, g)
        for q in range(size):
            d = v[q] - old[q]
            if d != 0.0:
                j = idx[ptr[g] + q]
                w[j] = v[q]
                for i in range(n):
                    z[i] += d * X[i, j]


@njit(nogil=True)
def bcd_epoch_csc(data, indices, indptr, y, w, z, datafit, penalty, ws, lipschitz):
    n = y.shape[0]
    ptr, idx = penalty.grp_ptr, penalty.grp_indices
    for k in range(ws.shape[0]):
        g = ws[k]
        L = lipschitz[g]
        if L == 0.0:
            continue
        step = 1.0 / L
        size = ptr[g + 1] - ptr[g]
        old = np.empty(size)
        v = np.empty(size)
        for q in range(size):
            j = idx[ptr[g] + q]
            gj = 0.0
            for p in range(indptr[j], indptr[j + 1]):
                i = indices[p]
                gj += data[p] * datafit.deriv(i, y[i], z[i])
            old[q] = w[j]
            v[q] = w[j] - step * gj / n
        v = penalty.prox_block(v, step, g)
        for q in range(size):
            d = v[q] - old[q]
            if d != 0.0:
                j = idx[ptr[g] + q]
                w[j] = v[q]
                for p in range(indptr[j], indptr[j + 1]):
                    z[indices[p]] += d * data[p]
