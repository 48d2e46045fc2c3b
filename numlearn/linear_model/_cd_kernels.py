"""Numba kernels of coordinate descent: one epoch of coordinate updates.

The datafit is a code (``QUADRATIC`` or ``LOGISTIC``) and the penalty an elastic net
``l1 |w_j| + l2 / 2 w_j²`` (L1, L2, ElasticNet and NoPenalty are special cases), so the
kernels take only arrays and scalars.

State vectors
-------------
Quadratic
    ``r`` is the residual ``y_c - X_c w`` of the (implicitly) centred problem, where
    ``X_c = X - 1 mᵀ`` (``m`` the column means when an intercept is fitted, else 0). A
    column update ``w_j += d`` changes it by ``-d (X_j - m_j 1)``; the kernels apply the
    ``X_j`` part to ``r`` (O(nnz) for CSC columns) and carry the constant part in a scalar
    shift folded back at the end of the epoch. Since ``Σ r = 0`` when centring,
    the datafit gradient is ``-X_jᵀ r / n``.
Logistic
    ``z`` is the margin ``X_c w + b'`` and the gradient ``X_cᵀ u / n`` with
    ``u_i = -y_i σ(-y_i z_i)``; for dense ``X`` with an intercept the columns are centred
    (``b = b' - mᵀ w``), which decouples the intercept from the coefficients.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

QUADRATIC = 0
LOGISTIC = 1
MULTINOMIAL = 2

RULE_GS = 0
RULE_GSL = 1
RULE_GSQ = 2


@njit(cache=True)
def prox_enet(v, step, l1, l2):
    """argmin_u (u - v)² / (2 step) + l1 |u| + l2 u² / 2."""
    a = abs(v) - step * l1
    if a <= 0.0:
        return 0.0
    out = a / (1.0 + step * l2)
    return out if v > 0.0 else -out


@njit(cache=True)
def _sigmoid(t):
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@njit(cache=True)
def greedy_score(g, w, lip, l1, l2, rule):
    """Score of a coordinate for the greedy rules (larger is better).

    ``g`` is the datafit partial derivative. GS uses the distance from ``-g - l2 w`` to
    ``l1 ∂|w|`` (the minimum-norm subgradient), GSL divides it by ``√L``, GSQ is minus the
    decrease predicted by the prox-linear model with step ``1/L``.
    """
    if rule == RULE_GSQ:
        if lip <= 0.0:
            return 0.0
        wn = prox_enet(w - g / lip, 1.0 / lip, l1, l2)
        d = wn - w
        if wn != 0.0:
            # stable form of the decrease, using the optimality of wn:
            # L d + g + l1 sign(wn) + l2 wn = 0
            sgn = 1.0 if wn > 0.0 else -1.0
            return 0.5 * (lip + l2) * d * d + l1 * (abs(w) - sgn * w)
        return g * w - 0.5 * lip * w * w + l1 * abs(w) + 0.5 * l2 * w * w
    gt = g + l2 * w
    if w != 0.0:
        s = abs(gt + l1) if w > 0.0 else abs(gt - l1)
    else:
        s = abs(gt) - l1
        if s < 0.0:
            s = 0.0
    if rule == RULE_GSL:
        if lip <= 0.0:
            return 0.0
        return s / math.sqrt(lip)
    return s


# ---------------------------------------------------------------------------------------
# Epochs over a given sequence of coordinates (cyclic, random, Lipschitz sampling)
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def epoch_dense(X, y, state, w, coords, lip, mean, l1, l2, datafit):
    """Update ``w[j]`` for ``j`` in ``coords`` in order; ``X`` is F-ordered (n, p).

    Returns the largest absolute coordinate change.
    """
    n = X.shape[0]
    shift = 0.0
    dmax = 0.0
    for t in range(coords.shape[0]):
        j = coords[t]
        L = lip[j]
        if L <= 0.0:
            continue
        acc = 0.0
        if datafit == QUADRATIC:
            colsum = 0.0
            for i in range(n):
                acc += X[i, j] * state[i]
                colsum += X[i, j]
            g = -(acc + shift * colsum) / n
        else:
            usum = 0.0
            for i in range(n):
                u = y[i] * _sigmoid(-y[i] * state[i])
                acc -= X[i, j] * u
                usum -= u
            g = (acc - mean[j] * usum) / n
        old = w[j]
        new = prox_enet(old - g / L, 1.0 / L, l1, l2)
        d = new - old
        if d != 0.0:
            w[j] = new
            if datafit == QUADRATIC:
                for i in range(n):
                    state[i] -= d * X[i, j]
                shift += d * mean[j]
            else:
                mj = mean[j]
                for i in range(n):
                    state[i] += d * (X[i, j] - mj)
            if abs(d) > dmax:
                dmax = abs(d)
    if shift != 0.0:
        for i in range(n):
            state[i] += shift
    return dmax


@njit(cache=True)
def epoch_csc(indptr, indices, data, colsum, y, state, w, coords, lip, mean, l1, l2, datafit):
    """:func:`epoch_dense` for a CSC matrix given by its three arrays."""
    n = state.shape[0]
    shift = 0.0
    dmax = 0.0
    for t in range(coords.shape[0]):
        j = coords[t]
        L = lip[j]
        if L <= 0.0:
            continue
        start = np.uintp(indptr[j])
        stop = np.uintp(indptr[j + 1])
        acc = 0.0
        if datafit == QUADRATIC:
            for k in range(start, stop):
                acc += data[k] * state[np.uintp(indices[k])]
            g = -(acc + shift * colsum[j]) / n
        else:
            for k in range(start, stop):
                i = np.uintp(indices[k])
                acc -= data[k] * y[i] * _sigmoid(-y[i] * state[i])
            g = acc / n
        old = w[j]
        new = prox_enet(old - g / L, 1.0 / L, l1, l2)
        d = new - old
        if d != 0.0:
            w[j] = new
            if datafit == QUADRATIC:
                for k in range(start, stop):
                    state[np.uintp(indices[k])] -= d * data[k]
                shift += d * mean[j]
            else:
                for k in range(start, stop):
                    state[np.uintp(indices[k])] += d * data[k]
            if abs(d) > dmax:
                dmax = abs(d)
    if shift != 0.0:
        for i in range(n):
            state[i] += shift
    return dmax


# ---------------------------------------------------------------------------------------
# Greedy epochs
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def greedy_gram(gram, grad, w, lip, l1, l2, rule, n_updates):
    """``n_updates`` greedy updates of the quadratic ``½ wᵀ G w + ...`` on a Gram matrix.

    ``grad`` (the datafit gradient ``G w - c``) is kept up to date in O(p) per update: a
    change ``d`` of ``w_j`` adds ``d G[:, j]``. Picking the best coordinate costs O(p) too,
    the cost of reading the gradient, which every score depends on.
    Returns the number of updates that changed ``w``.
    """
    p = w.shape[0]
    changed = 0
    for _ in range(n_updates):
        best = -1.0
        jbest = -1
        for j in range(p):
            s = greedy_score(grad[j], w[j], lip[j], l1, l2, rule)
            if s > best:
                best = s
                jbest = j
        if jbest < 0 or best <= 0.0:
            break
        L = lip[jbest]
        old = w[jbest]
        new = prox_enet(old - grad[jbest] / L, 1.0 / L, l1, l2)
        d = new - old
        if d == 0.0:
            break
        w[jbest] = new
        changed += 1
        for k in range(p):
            grad[k] += d * gram[k, jbest]
    return changed


@njit(cache=True)
def _logistic_u(y, z, u, n):
    for i in range(n):
        u[i] = -y[i] * _sigmoid(-y[i] * z[i]) / n


@njit(cache=True)
def greedy_logistic_dense(X, y, z, w, cols, lip, mean, l1, l2, rule, n_updates):
    """Greedy updates of the logistic datafit over the columns ``cols`` of dense ``X``.

    ``w`` is indexed like ``cols``. After an update of column ``j`` only ``z`` changes by
    ``d X_j`` (O(n)), but every partial derivative depends on all of ``z``, so the gradient
    over ``cols`` is recomputed: O(n |cols|) per update (a full gradient, as the paper
    notes for dense non-quadratic problems).
    """
    n = X.shape[0]
    m = cols.shape[0]
    u = np.empty(n)
    grad = np.empty(m)
    changed = 0
    for _ in range(n_updates):
        _logistic_u(y, z, u, n)
        usum = 0.0
        for i in range(n):
            usum += u[i]
        best = -1.0
        jbest = -1
        for t in range(m):
            j = cols[t]
            acc = 0.0
            for i in range(n):
                acc += X[i, j] * u[i]
            acc -= mean[j] * usum
            grad[t] = acc
            s = greedy_score(acc, w[t], lip[t], l1, l2, rule)
            if s > best:
                best = s
                jbest = t
        if jbest < 0 or best <= 0.0:
            break
        L = lip[jbest]
        old = w[jbest]
        new = prox_enet(old - grad[jbest] / L, 1.0 / L, l1, l2)
        d = new - old
        if d == 0.0:
            break
        w[jbest] = new
        changed += 1
        j = cols[jbest]
        mj = mean[j]
        for i in range(n):
            z[i] += d * (X[i, j] - mj)
    return changed


@njit(cache=True)
def greedy_logistic_csc(indptr, indices, data, y, z, w, cols, lip, l1, l2, rule, n_updates):
    """:func:`greedy_logistic_dense` for CSC ``X``: O(nnz(X[:, cols])) per update."""
    n = z.shape[0]
    m = cols.shape[0]
    u = np.empty(n)
    grad = np.empty(m)
    changed = 0
    for _ in range(n_updates):
        _logistic_u(y, z, u, n)
        best = -1.0
        jbest = -1
        for t in range(m):
            j = cols[t]
            acc = 0.0
            for k in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                acc += data[k] * u[np.uintp(indices[k])]
            grad[t] = acc
            s = greedy_score(acc, w[t], lip[t], l1, l2, rule)
            if s > best:
                best = s
                jbest = t
        if jbest < 0 or best <= 0.0:
            break
        L = lip[jbest]
        old = w[jbest]
        new = prox_enet(old - grad[jbest] / L, 1.0 / L, l1, l2)
        d = new - old
        if d == 0.0:
            break
        w[jbest] = new
        changed += 1
        j = cols[jbest]
        for k in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
            z[np.uintp(indices[k])] += d * data[k]
    return changed


# ---------------------------------------------------------------------------------------
# Least squares on a precomputed Gram matrix (state = the gradient G w - Xᵀy / n)
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def epoch_gram(gram, grad, w, coords, lip, l1, l2):
    """Update ``w[j]`` for ``j`` in ``coords``; ``grad`` (all p entries) kept up to date in
    O(p) per change. Returns the largest absolute coordinate change."""
    p = w.shape[0]
    dmax = 0.0
    for t in range(coords.shape[0]):
        j = coords[t]
        L = lip[j]
        if L <= 0.0:
            continue
        old = w[j]
        new = prox_enet(old - grad[j] / L, 1.0 / L, l1, l2)
        d = new - old
        if d != 0.0:
            w[j] = new
            for k in range(p):
                grad[k] += d * gram[k, j]
            if abs(d) > dmax:
                dmax = abs(d)
    return dmax


@njit(cache=True)
def greedy_gram_cols(gram, grad, w, cols, lip, l1, l2, rule, n_updates):
    """:func:`greedy_gram` choosing among ``cols`` but keeping all of ``grad`` exact."""
    p = w.shape[0]
    m = cols.shape[0]
    changed = 0
    for _ in range(n_updates):
        best = -1.0
        jbest = -1
        for t in range(m):
            j = cols[t]
            s = greedy_score(grad[j], w[j], lip[j], l1, l2, rule)
            if s > best:
                best = s
                jbest = j
        if jbest < 0 or best <= 0.0:
            break
        L = lip[jbest]
        old = w[jbest]
        new = prox_enet(old - grad[jbest] / L, 1.0 / L, l1, l2)
        d = new - old
        if d == 0.0:
            break
        w[jbest] = new
        changed += 1
        for k in range(p):
            grad[k] += d * gram[k, jbest]
    return changed


# ---------------------------------------------------------------------------------------
# Blocks of coordinates
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _block_step(gb, wold, L, l1, l2, wnew):
    """Proximal gradient step of a block with step ``1/L``; returns whether w changed."""
    changed = False
    for a in range(gb.shape[0]):
        wnew[a] = prox_enet(wold[a] - gb[a] / L, 1.0 / L, l1, l2)
        if wnew[a] != wold[a]:
            changed = True
    return changed


@njit(cache=True)
def epoch_blocks_dense(X, y, state, w, bptr, bcols, order, lipb, mean, l1, l2, datafit):
    """Block proximal-gradient updates of the blocks ``order`` (block ids) in turn."""
    n = X.shape[0]
    bmax = 0
    for k in range(bptr.shape[0] - 1):
        bmax = max(bmax, bptr[k + 1] - bptr[k])
    gb = np.empty(bmax)
    wold = np.empty(bmax)
    wnew = np.empty(bmax)
    u = np.empty(n)
    for t in range(order.shape[0]):
        k = order[t]
        L = lipb[k]
        if L <= 0.0:
            continue
        cols = bcols[bptr[k]:bptr[k + 1]]
        m = cols.shape[0]
        usum = 0.0
        for i in range(n):
            if datafit == QUADRATIC:
                u[i] = -state[i] / n
            else:
                u[i] = -y[i] * _sigmoid(-y[i] * state[i]) / n
            usum += u[i]
        for a in range(m):
            j = cols[a]
            acc = 0.0
            for i in range(n):
                acc += X[i, j] * u[i]
            gb[a] = acc - mean[j] * usum
            wold[a] = w[j]
        if not _block_step(gb[:m], wold[:m], L, l1, l2, wnew[:m]):
            continue
        sign = -1.0 if datafit == QUADRATIC else 1.0
        for a in range(m):
            d = wnew[a] - wold[a]
            if d != 0.0:
                j = cols[a]
                w[j] = wnew[a]
                mj = mean[j]
                for i in range(n):
                    state[i] += sign * d * (X[i, j] - mj)


@njit(cache=True)
def epoch_blocks_csc(indptr, indices, data, colsum, y, state, w, bptr, bcols, order, lipb,
                     mean, l1, l2, datafit):
    """:func:`epoch_blocks_dense` for CSC ``X`` (least squares centred through a scalar
    shift, as in :func:`epoch_csc`; the logistic loss is not centred)."""
    n = state.shape[0]
    shift = 0.0
    bmax = 0
    for k in range(bptr.shape[0] - 1):
        bmax = max(bmax, bptr[k + 1] - bptr[k])
    gb = np.empty(bmax)
    wold = np.empty(bmax)
    wnew = np.empty(bmax)
    for t in range(order.shape[0]):
        k = order[t]
        L = lipb[k]
        if L <= 0.0:
            continue
        cols = bcols[bptr[k]:bptr[k + 1]]
        m = cols.shape[0]
        for a in range(m):
            j = cols[a]
            acc = 0.0
            for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                i = np.uintp(indices[q])
                if datafit == QUADRATIC:
                    acc -= data[q] * state[i]
                else:
                    acc -= data[q] * y[i] * _sigmoid(-y[i] * state[i])
            if datafit == QUADRATIC:
                acc -= shift * colsum[j]
            gb[a] = acc / n
            wold[a] = w[j]
        if not _block_step(gb[:m], wold[:m], L, l1, l2, wnew[:m]):
            continue
        sign = -1.0 if datafit == QUADRATIC else 1.0
        for a in range(m):
            d = wnew[a] - wold[a]
            if d != 0.0:
                j = cols[a]
                w[j] = wnew[a]
                for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                    state[np.uintp(indices[q])] += sign * d * data[q]
                if datafit == QUADRATIC:
                    shift += d * mean[j]
    if shift != 0.0:
        for i in range(n):
            state[i] += shift


@njit(cache=True)
def greedy_gram_blocks(gram, grad, w, cols, lip, l1, l2, rule, n_updates, bsize):
    """Greedy *variable* blocks on a Gram matrix: each step updates the ``bsize``
    coordinates of ``cols`` with the best scores jointly, with step ``1/λ_max(G_bb)``.
    Returns the number of block updates that changed ``w``."""
    p = w.shape[0]
    m = cols.shape[0]
    b = min(bsize, m)
    scores = np.empty(m)
    gb = np.empty(b)
    wold = np.empty(b)
    wnew = np.empty(b)
    changed = 0
    for _ in range(n_updates):
        for t in range(m):
            j = cols[t]
            scores[t] = greedy_score(grad[j], w[j], lip[j], l1, l2, rule)
        idx = np.argsort(-scores)[:b]
        if scores[idx[0]] <= 0.0:
            break
        blk = cols[idx]
        G = np.empty((b, b))
        for a in range(b):
            for c in range(b):
                G[a, c] = gram[blk[a], blk[c]]
            gb[a] = grad[blk[a]]
            wold[a] = w[blk[a]]
        L = np.linalg.eigvalsh(G)[-1]
        if L <= 0.0:
            break
        if not _block_step(gb, wold, L, l1, l2, wnew):
            break
        changed += 1
        for a in range(b):
            d = wnew[a] - wold[a]
            if d != 0.0:
                j = blk[a]
                w[j] = wnew[a]
                for k in range(p):
                    grad[k] += d * gram[k, j]
    return changed


@njit(cache=True)
def epoch_blocks_gram(gram, grad, w, bptr, bcols, order, lipb, l1, l2):
    """:func:`epoch_blocks_dense` on a Gram matrix (``grad`` kept exact, O(p) per change)."""
    p = w.shape[0]
    bmax = 0
    for k in range(bptr.shape[0] - 1):
        bmax = max(bmax, bptr[k + 1] - bptr[k])
    gb = np.empty(bmax)
    wold = np.empty(bmax)
    wnew = np.empty(bmax)
    for t in range(order.shape[0]):
        k = order[t]
        L = lipb[k]
        if L <= 0.0:
            continue
        cols = bcols[bptr[k]:bptr[k + 1]]
        m = cols.shape[0]
        for a in range(m):
            gb[a] = grad[cols[a]]
            wold[a] = w[cols[a]]
        if not _block_step(gb[:m], wold[:m], L, l1, l2, wnew[:m]):
            continue
        for a in range(m):
            d = wnew[a] - wold[a]
            if d != 0.0:
                j = cols[a]
                w[j] = wnew[a]
                for q in range(p):
                    grad[q] += d * gram[q, j]


# ---------------------------------------------------------------------------------------
# Newton coordinate updates of the logistic loss
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _log1pexp(t):
    if t > 0.0:
        return t + math.log1p(math.exp(-t))
    return math.log1p(math.exp(t))


@njit(cache=True)
def _armijo_ok(f_trial, f0, g, d_t, w_old, l1, l2):
    """Armijo test of the composite objective for the change ``d_t`` of one coordinate."""
    wt = w_old + d_t
    pen0 = l1 * abs(w_old) + 0.5 * l2 * w_old * w_old
    pen = l1 * abs(wt) + 0.5 * l2 * wt * wt
    return f_trial + pen <= f0 + pen0 + 1e-4 * (g * d_t + pen - pen0)


@njit(cache=True)
def epoch_newton_logistic_dense(X, y, z, w, coords, mean, l1, l2):
    """Newton updates (exact second derivative, Armijo backtracking) of ``w[coords]``."""
    n = X.shape[0]
    for t in range(coords.shape[0]):
        j = coords[t]
        mj = mean[j]
        g = 0.0
        h = 0.0
        for i in range(n):
            x = X[i, j] - mj
            s = _sigmoid(-y[i] * z[i])
            g -= x * y[i] * s
            h += x * x * s * (1.0 - s)
        g /= n
        h = max(h / n, 1e-12)
        d = prox_enet(w[j] - g / h, 1.0 / h, l1, l2) - w[j]
        if d == 0.0:
            continue
        step = 0.0
        for _ in range(30):
            # the change of the datafit, summed termwise (differences of the full sums
            # drown in rounding near the optimum)
            diff = 0.0
            for i in range(n):
                diff += _log1pexp(-y[i] * (z[i] + d * (X[i, j] - mj))) - _log1pexp(-y[i] * z[i])
            if _armijo_ok(diff / n, 0.0, g, d, w[j], l1, l2):
                step = d
                break
            d *= 0.5
        if step != 0.0:
            w[j] += step
            for i in range(n):
                z[i] += step * (X[i, j] - mj)


@njit(cache=True)
def epoch_newton_logistic_csc(indptr, indices, data, y, z, w, coords, l1, l2):
    """:func:`epoch_newton_logistic_dense` for CSC ``X`` (O(nnz) per coordinate)."""
    n = z.shape[0]
    for t in range(coords.shape[0]):
        j = coords[t]
        start = np.uintp(indptr[j])
        stop = np.uintp(indptr[j + 1])
        g = 0.0
        h = 0.0
        for q in range(start, stop):
            i = np.uintp(indices[q])
            x = data[q]
            s = _sigmoid(-y[i] * z[i])
            g -= x * y[i] * s
            h += x * x * s * (1.0 - s)
        g /= n
        h = max(h / n, 1e-12)
        d = prox_enet(w[j] - g / h, 1.0 / h, l1, l2) - w[j]
        if d == 0.0:
            continue
        step = 0.0
        for _ in range(30):
            diff = 0.0  # change of the datafit (only the rows of column j move)
            for q in range(start, stop):
                i = np.uintp(indices[q])
                diff += _log1pexp(-y[i] * (z[i] + d * data[q])) - _log1pexp(-y[i] * z[i])
            if _armijo_ok(diff / n, 0.0, g, d, w[j], l1, l2):
                step = d
                break
            d *= 0.5
        if step != 0.0:
            w[j] += step
            for q in range(start, stop):
                z[np.uintp(indices[q])] += step * data[q]


# ---------------------------------------------------------------------------------------
# Multinomial (softmax) loss: blocks are the rows W[j, :] of the (p, K) coefficients
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _softmax_row(Z, P, i):
    K = Z.shape[1]
    zmax = Z[i, 0]
    for k in range(1, K):
        if Z[i, k] > zmax:
            zmax = Z[i, k]
    tot = 0.0
    for k in range(K):
        e = math.exp(Z[i, k] - zmax)
        P[i, k] = e
        tot += e
    for k in range(K):
        P[i, k] /= tot


@njit(cache=True)
def softmax_rows(Z, P):
    """``P = softmax(Z)`` row by row (stable)."""
    for i in range(Z.shape[0]):
        _softmax_row(Z, P, i)


@njit(cache=True)
def _multinomial_row_step(g, W, j, L, l1, l2, d):
    changed = False
    for k in range(W.shape[1]):
        new = prox_enet(W[j, k] - g[k] / L, 1.0 / L, l1, l2)
        d[k] = new - W[j, k]
        if d[k] != 0.0:
            changed = True
            W[j, k] = new
    return changed


@njit(cache=True)
def epoch_multinomial_dense(X, labels, Z, P, W, coords, lip, mean, l1, l2):
    """Block proximal-gradient updates of the rows ``W[j, :]``, ``j`` in ``coords``, with
    the bound ``L_j = ‖X_j - m_j‖² / (2n)`` (Böhning); ``Z``, ``P`` kept up to date."""
    n = X.shape[0]
    K = W.shape[1]
    g = np.empty(K)
    d = np.empty(K)
    for t in range(coords.shape[0]):
        j = coords[t]
        L = lip[j]
        if L <= 0.0:
            continue
        mj = mean[j]
        for k in range(K):
            g[k] = 0.0
        for i in range(n):
            x = X[i, j] - mj
            for k in range(K):
                g[k] += x * P[i, k]
            g[labels[i]] -= x
        for k in range(K):
            g[k] /= n
        if not _multinomial_row_step(g, W, j, L, l1, l2, d):
            continue
        for i in range(n):
            x = X[i, j] - mj
            for k in range(K):
                Z[i, k] += x * d[k]
            _softmax_row(Z, P, i)


@njit(cache=True)
def epoch_multinomial_csc(indptr, indices, data, labels, Z, P, W, coords, lip, l1, l2):
    """:func:`epoch_multinomial_dense` for CSC ``X`` (not centred): O(nnz_j K) per row."""
    n = Z.shape[0]
    K = W.shape[1]
    g = np.empty(K)
    d = np.empty(K)
    for t in range(coords.shape[0]):
        j = coords[t]
        L = lip[j]
        if L <= 0.0:
            continue
        start = np.uintp(indptr[j])
        stop = np.uintp(indptr[j + 1])
        for k in range(K):
            g[k] = 0.0
        for q in range(start, stop):
            i = np.uintp(indices[q])
            x = data[q]
            for k in range(K):
                g[k] += x * P[i, k]
            g[labels[i]] -= x
        for k in range(K):
            g[k] /= n
        if not _multinomial_row_step(g, W, j, L, l1, l2, d):
            continue
        for q in range(start, stop):
            i = np.uintp(indices[q])
            for k in range(K):
                Z[i, k] += data[q] * d[k]
            _softmax_row(Z, P, i)


# ---------------------------------------------------------------------------------------
# Products with column subsets of a CSC matrix (no scipy slicing on the path's hot loop)
# ---------------------------------------------------------------------------------------
@njit(cache=True, fastmath={"reassoc", "contract"})
def csc_rmatvec_cols(indptr, indices, data, v, cols, out):
    """``out[k] = X[:, cols[k]]ᵀ v`` for a CSC matrix given by its three arrays."""
    for k in range(cols.shape[0]):
        j = np.uintp(cols[k])
        acc = 0.0
        for idx in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
            acc += data[idx] * v[np.uintp(indices[idx])]
        out[k] = acc
    return out


@njit(cache=True)
def csc_matvec_cols(indptr, indices, data, w, cols, out):
    """``out += X[:, cols] w`` for a CSC matrix given by its three arrays."""
    for k in range(cols.shape[0]):
        wk = w[k]
        if wk == 0.0:
            continue
        j = np.uintp(cols[k])
        for idx in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
            out[np.uintp(indices[idx])] += data[idx] * wk
    return out


@njit(cache=True)
def enet_kkt(w, grad, l1, l2, out):
    """Distance from ``-grad`` to the elastic-net subdifferential at ``w``, per coordinate;
    returns its maximum."""
    vmax = 0.0
    for j in range(w.shape[0]):
        wj = w[j]
        gt = grad[j] + l2 * wj
        if wj > 0.0:
            v = abs(gt + l1)
        elif wj < 0.0:
            v = abs(gt - l1)
        else:
            v = abs(gt) - l1
            if v < 0.0:
                v = 0.0
        out[j] = v
        if v > vmax:
            vmax = v
    return vmax


@njit(cache=True, fastmath={"reassoc", "contract"})
def enet_gap_kkt(r, y, w, grad, l1, l2, kkt):
    """Least-squares elastic net with ``l1 > 0``: scikit-learn's duality gap (divided by
    ``n``) and the per-coordinate KKT violations (written to ``kkt``) in one pass.

    ``r`` is the residual ``y_c - X_c w``, ``y`` the (centred) target and ``grad`` the
    datafit gradient ``-X_cᵀ r / n``. Returns ``(gap, max KKT violation)``.
    """
    n = r.shape[0]
    r2 = 0.0
    ry = 0.0
    for i in range(n):
        ri = np.float64(r[i])
        r2 += ri * ri
        ry += ri * np.float64(y[i])
    r2 /= n
    ry /= n
    dual_norm = 0.0
    l1norm = 0.0
    w2 = 0.0
    kmax = 0.0
    for j in range(w.shape[0]):
        wj = np.float64(w[j])
        gj = grad[j]
        gt = gj + l2 * wj
        v = abs(gt)
        if v > dual_norm:
            dual_norm = v
        l1norm += abs(wj)
        w2 += wj * wj
        if wj > 0.0:
            k = abs(gt + l1)
        elif wj < 0.0:
            k = abs(gt - l1)
        else:
            k = v - l1
            if k < 0.0:
                k = 0.0
        kkt[j] = k
        if k > kmax:
            kmax = k
    if dual_norm > l1:
        const = l1 / dual_norm
        gap = 0.5 * (r2 + r2 * const * const)
    else:
        const = 1.0
        gap = r2
    gap += l1 * l1norm - const * ry + 0.5 * l2 * (1.0 + const * const) * w2
    if gap < 0.0:
        gap = 0.0
    return gap, kmax


@njit(cache=True)
def gap_safe_screen(w, grad, lip, l1, l2, gap, screened):
    """Gap safe screening (Fercoq, Gramfort & Salmon 2015; Ndiaye et al. 2017).

    For ``F(X w) + l1 ‖w‖₁ + l2 ‖w‖² / 2`` with a datafit whose coordinate Lipschitz
    constants are ``lip`` (``F`` is ``(1/γ)``-smooth, ``lip_j = ‖x_j‖² / γ``), the dual
    optimum lies in the ball of radius ``√(2 gap γ)`` around the rescaled dual point
    ``θ = -∇F · l1 / max(l1, ‖v‖_∞)``, ``v = -grad - l2 w`` (the elastic net by the
    usual augmentation of ``X`` with ``√(n l2) I``). Coordinate ``j`` is zero at every
    optimum when ``|v_j| l1 / max(l1, ‖v‖_∞) + √(2 gap (lip_j + l2)) < l1``.

    ``grad`` is the datafit gradient (zero on already screened coordinates) and ``gap``
    the duality gap of the problem restricted to the unscreened coordinates. Marks the
    new screened coordinates in ``screened``; returns how many there are.
    """
    p = w.shape[0]
    dual_norm = 0.0
    for j in range(p):
        if not screened[j]:
            v = abs(grad[j] + l2 * w[j])
            if v > dual_norm:
                dual_norm = v
    scale = l1 / max(l1, dual_norm)
    two_gap = 2.0 * max(gap, 0.0)
    count = 0
    for j in range(p):
        if screened[j]:
            continue
        v = abs(grad[j] + l2 * w[j]) * scale
        if v + math.sqrt(two_gap * (lip[j] + l2)) < l1:
            screened[j] = True
            count += 1
    return count


@njit(cache=True, fastmath={"reassoc", "contract"})
def dense_rmatvec_cols(X, v, cols, out):
    """``out[k] = X[:, cols[k]]ᵀ v`` for F-ordered dense ``X`` (no copy of the columns)."""
    n = X.shape[0]
    for k in range(cols.shape[0]):
        j = cols[k]
        acc = 0.0
        for i in range(n):
            acc += X[i, j] * v[i]
        out[k] = acc
    return out


@njit(cache=True, fastmath={"reassoc", "contract"})
def epoch_csc_quadratic(indptr, indices, data, colsum, state, w, coords, lip, mean, l1, l2):
    """:func:`epoch_csc` for least squares, with the zero-stays-zero test done before any
    division (most coordinates of a lasso path are zero and stay zero).

    Returns the largest step in gradient units, ``max_j L_j |Δw_j|``: the exact 1-D update
    makes it the largest KKT violation met (before its update) during the epoch.
    """
    n = state.shape[0]
    shift = 0.0
    dmax = 0.0
    for t in range(coords.shape[0]):
        j = coords[t]
        L = lip[j]
        if L <= 0.0:
            continue
        start = np.uintp(indptr[j])
        stop = np.uintp(indptr[j + 1])
        acc = 0.0
        for k in range(start, stop):
            acc += data[k] * state[np.uintp(indices[k])]
        g = -(acc + shift * colsum[j]) / n
        old = w[j]
        if old == 0.0 and abs(g) <= l1:
            continue
        new = prox_enet(old - g / L, 1.0 / L, l1, l2)
        d = new - old
        if d != 0.0:
            w[j] = new
            for k in range(start, stop):
                state[np.uintp(indices[k])] -= d * data[k]
            shift += d * mean[j]
            if L * abs(d) > dmax:
                dmax = L * abs(d)
    if shift != 0.0:
        for i in range(n):
            state[i] += shift
    return dmax


@njit(cache=True)
def ws_epochs_csc_quadratic(indptr, indices, data, colsum, state, w, coords, lip, mean, l1, l2,
                            max_epochs, inner_tol, hist, grad, skip=np.inf):
    """Up to ``max_epochs`` cyclic least-squares epochs on the working set ``coords``,
    each followed by its KKT check (the gradient ``-X_cᵀ r / n`` on ``coords`` goes to
    ``grad``); stops once the largest violation is ``≤ inner_tol``.

    ``w[coords]`` after epoch ``e`` is written to ``hist[e]`` (for Anderson extrapolation).
    The check (a pass over the working set's columns) is skipped after an epoch whose
    largest step ``L_j |Δw_j|`` exceeds ``skip · inner_tol`` (a violation that large was met
    during the epoch, so the check would almost surely fail), except after the last epoch.
    The whole inner loop of a working-set solve runs without returning to Python.
    Returns ``(epochs done, largest KKT violation after the last one)``.
    """
    n = state.shape[0]
    m = coords.shape[0]
    centred = False
    for t in range(m):
        if mean[coords[t]] != 0.0:
            centred = True
            break
    kmax = np.inf
    for e in range(max_epochs):
        step = epoch_csc_quadratic(indptr, indices, data, colsum, state, w, coords, lip, mean,
                                   l1, l2)
        if step > skip * inner_tol and e + 1 < max_epochs:
            for t in range(m):
                hist[e, t] = w[coords[t]]
            continue
        rsum = 0.0
        if centred:
            for i in range(n):
                rsum += state[i]
        kmax = 0.0
        for t in range(m):
            j = np.uintp(coords[t])
            hist[e, t] = w[j]
            acc = 0.0
            for k in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                acc += data[k] * state[np.uintp(indices[k])]
            g = -(acc - mean[j] * rsum) / n
            grad[t] = g
            wj = w[j]
            gt = g + l2 * wj
            if wj > 0.0:
                v = abs(gt + l1)
            elif wj < 0.0:
                v = abs(gt - l1)
            else:
                v = abs(gt) - l1
                if v < 0.0:
                    v = 0.0
            if v > kmax:
                kmax = v
        if kmax <= inner_tol:
            return e + 1, kmax
    return max_epochs, kmax


# ---------------------------------------------------------------------------------------
# Block Newton (proximal Newton) updates
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _dpen_enet(v, s, l1, l2):
    """``pen(v + s) - pen(v)`` without cancellation (near the optimum ``s`` is tiny)."""
    u = v + s
    if (v > 0.0 and u > 0.0) or (v < 0.0 and u < 0.0):
        da = s if v > 0.0 else -s
    else:
        da = abs(u) - abs(v)
    return l1 * da + l2 * s * (v + 0.5 * s)


@njit(cache=True)
def block_newton_direction(g, H, wb, l1, l2, n_inner, active, d):
    """Proximal-Newton direction ``d`` of a block: minimizes the model
    ``gᵀd + ½ dᵀHd + Σ_a (l1 |w_a + d_a| + l2/2 (w_a + d_a)²)``.

    Without L1 part, the Newton system ``(H + l2 I) d = -(g + l2 w)`` is solved (with a
    ridge of ``1e-14 max H_aa`` against singular blocks). With ``l1 > 0``, up to ``n_inner``
    coordinate-descent passes on the model from ``d = 0``, or, if ``active``, from the
    Newton step restricted to the nonzero coordinates of ``w`` (their signs fixed; kept
    only if it lowers the model). Returns the predicted decrease
    ``Δ = gᵀd + pen(w + d) - pen(w)`` (negative when ``d`` is a descent direction).
    """
    m = g.shape[0]
    hmax = 0.0
    for a in range(m):
        hmax = max(hmax, H[a, a])
    for a in range(m):
        d[a] = 0.0
    if hmax <= 0.0 and l2 <= 0.0:
        return 0.0
    ridge = 1e-14 * hmax + 1e-300
    if l1 <= 0.0:
        A = np.empty((m, m))
        rhs = np.empty(m)
        for a in range(m):
            for b in range(m):
                A[a, b] = H[a, b]
            A[a, a] += l2 + ridge
            rhs[a] = -(g[a] + l2 * wb[a])
        sol = np.linalg.solve(A, rhs)
        for a in range(m):
            d[a] = sol[a]
    else:
        Hd = np.zeros(m)
        if active:
            na = 0
            for a in range(m):
                if wb[a] != 0.0:
                    na += 1
            if na > 0:
                idx = np.empty(na, dtype=np.int64)
                k = 0
                for a in range(m):
                    if wb[a] != 0.0:
                        idx[k] = a
                        k += 1
                A = np.empty((na, na))
                rhs = np.empty(na)
                for s in range(na):
                    a = idx[s]
                    for t in range(na):
                        A[s, t] = H[a, idx[t]]
                    A[s, s] += l2 + ridge
                    sgn = 1.0 if wb[a] > 0.0 else -1.0
                    rhs[s] = -(g[a] + l1 * sgn + l2 * wb[a])
                sol = np.linalg.solve(A, rhs)
                for s in range(na):
                    d[idx[s]] = sol[s]
                for a in range(m):
                    acc = 0.0
                    for s in range(na):
                        acc += H[a, idx[s]] * sol[s]
                    Hd[a] = acc
                model = 0.0
                for a in range(m):
                    model += (g[a] + 0.5 * Hd[a]) * d[a]
                    model += _dpen_enet(wb[a], d[a], l1, l2)
                if not model < 0.0:
                    for a in range(m):
                        d[a] = 0.0
                        Hd[a] = 0.0
        vb = np.empty(m)  # w + d (exact zeros kept exact)
        for a in range(m):
            vb[a] = wb[a] + d[a]
        for _ in range(n_inner):
            dmax = 0.0
            vmax = 0.0
            for a in range(m):
                haa = H[a, a]
                if haa <= 0.0:
                    continue
                v = vb[a]
                vnew = prox_enet(v - (g[a] + Hd[a]) / haa, 1.0 / haa, l1, l2)
                delta = vnew - v
                if delta != 0.0:
                    vb[a] = vnew
                    for b in range(m):
                        Hd[b] += H[b, a] * delta
                    dmax = max(dmax, abs(delta))
                vmax = max(vmax, abs(vnew))
            if dmax <= 1e-12 * vmax:
                break
        for a in range(m):
            d[a] = vb[a] - wb[a]
    dec = 0.0
    for a in range(m):
        dec += g[a] * d[a] + _dpen_enet(wb[a], d[a], l1, l2)
    return dec


@njit(cache=True)
def _newton_line_search_logistic(y, z, xd, dec, dpen_fun_w, dvec, l1, l2, n):
    """Step length by Armijo backtracking on the composite objective (0 if none found);
    ``y, z, xd`` may be restricted to the rows that move, ``n`` is the sample count."""
    m = dvec.shape[0]
    base = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        base[i] = _log1pexp(-y[i] * z[i])
    t = 1.0
    for _ in range(12):
        diff = 0.0
        for i in range(z.shape[0]):
            diff += _log1pexp(-y[i] * (z[i] + t * xd[i])) - base[i]
        dpen = 0.0
        for a in range(m):
            dpen += _dpen_enet(dpen_fun_w[a], t * dvec[a], l1, l2)
        # Armijo, with a strict decrease: near the optimum the Newton direction of an
        # ill-conditioned block is dominated by rounding (the caller then falls back to
        # the block gradient step)
        change = diff / n + dpen
        if change < 0.0 and change <= 1e-4 * t * dec:
            return t
        t *= 0.5
    return 0.0


@njit(cache=True)
def epoch_newton_blocks_dense(X, y, state, w, bptr, bcols, order, hpack, hptr, lipb, mean, l1,
                              l2, datafit, n_inner, active):
    """Block proximal-Newton updates of the blocks ``order`` in turn (dense ``X``).

    Least squares: ``hpack[hptr[k]:hptr[k+1]]`` holds block ``k``'s Hessian
    ``X_bᵀX_b / n`` (centred, row-major); the quadratic model is the objective, so the unit
    step is taken (the exact block minimizer without L1 part).
    Logistic: the Hessian ``X_bᵀ diag(σ(1-σ)) X_b / n`` is formed per block and the step
    length found by Armijo backtracking on the objective (strict decrease); where it fails
    (rounding near the optimum), the block takes the proximal gradient step ``1/L_b``
    (``lipb``) instead. Returns the number of such fallbacks.
    """
    n = X.shape[0]
    bmax = 0
    for k in range(bptr.shape[0] - 1):
        bmax = max(bmax, bptr[k + 1] - bptr[k])
    XbT = np.empty((bmax, n))  # centred block columns, contiguous
    u = np.empty(n)
    hw = np.empty(n)
    xd = np.empty(n)
    fails = 0
    for t in range(order.shape[0]):
        k = order[t]
        cols = bcols[bptr[k]:bptr[k + 1]]
        m = cols.shape[0]
        for a in range(m):
            j = cols[a]
            mj = mean[j]
            for i in range(n):
                XbT[a, i] = X[i, j] - mj
        for i in range(n):
            if datafit == QUADRATIC:
                u[i] = -state[i] / n
            else:
                s = _sigmoid(-y[i] * state[i])
                u[i] = -y[i] * s / n
                hw[i] = s * (1.0 - s) / n
        g = np.zeros(m)
        wb = np.empty(m)
        for a in range(m):
            acc = 0.0
            for i in range(n):
                acc += XbT[a, i] * u[i]
            g[a] = acc
            wb[a] = w[cols[a]]
        H = np.empty((m, m))
        if datafit == QUADRATIC:
            off = hptr[k]
            for a in range(m):
                for b in range(m):
                    H[a, b] = hpack[off + a * m + b]
        else:
            for a in range(m):
                for b in range(a + 1):
                    acc = 0.0
                    for i in range(n):
                        acc += hw[i] * XbT[a, i] * XbT[b, i]
                    H[a, b] = acc
                    H[b, a] = acc
        d = np.empty(m)
        dec = block_newton_direction(g, H, wb, l1, l2, n_inner, active, d)
        moved = False
        for a in range(m):
            if d[a] != 0.0:
                moved = True
        if not moved or not math.isfinite(dec):
            continue
        for i in range(n):
            acc = 0.0
            for a in range(m):
                acc += XbT[a, i] * d[a]
            xd[i] = acc
        if datafit == QUADRATIC:
            # the model is the objective: the inner solve decreased it, so the unit step
            # is the (exact, for l1 = 0) block minimizer
            step = 1.0
        else:
            step = _newton_line_search_logistic(y, state, xd, dec, wb, d, l1, l2, n)
        if step == 0.0:
            fails += 1
            L = lipb[k]
            if L <= 0.0:
                continue
            for a in range(m):
                d[a] = prox_enet(wb[a] - g[a] / L, 1.0 / L, l1, l2) - wb[a]
            for i in range(n):
                acc = 0.0
                for a in range(m):
                    acc += XbT[a, i] * d[a]
                xd[i] = acc
            step = 1.0
        for a in range(m):
            w[cols[a]] = wb[a] + d[a] if step == 1.0 else wb[a] + step * d[a]
            if step == 1.0 and l1 > 0.0 and abs(wb[a] + d[a]) <= 4e-16 * abs(wb[a]):
                w[cols[a]] = 0.0  # a coordinate the prox set to zero
        sign = -1.0 if datafit == QUADRATIC else 1.0
        for i in range(n):
            state[i] += sign * step * xd[i]
    return fails


@njit(cache=True)
def epoch_newton_blocks_csc(indptr, indices, data, colsum, y, state, w, bptr, bcols, order,
                            hpack, hptr, lipb, mean, l1, l2, datafit, n_inner, active):
    """:func:`epoch_newton_blocks_dense` for CSC ``X``: each block works on the rows its
    columns touch (compacted to a dense ``rows × m`` matrix), so a block costs
    O(nnz(X_b) m) for the Hessian instead of O(n m²). Least squares is centred through a
    scalar shift as in :func:`epoch_csc`; the logistic loss is not centred."""
    n = state.shape[0]
    bmax = 0
    for k in range(bptr.shape[0] - 1):
        bmax = max(bmax, bptr[k + 1] - bptr[k])
    XbT = np.zeros((bmax, n))  # compacted block rows, transposed
    marker = np.full(n, -1, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    rows = np.empty(n, dtype=np.int64)
    shift = 0.0
    fails = 0
    for t in range(order.shape[0]):
        k = order[t]
        cols = bcols[bptr[k]:bptr[k + 1]]
        m = cols.shape[0]
        g = np.zeros(m)
        wb = np.empty(m)
        for a in range(m):
            wb[a] = w[cols[a]]
        H = np.empty((m, m))
        d = np.empty(m)
        if datafit == QUADRATIC:
            for a in range(m):
                j = cols[a]
                acc = 0.0
                for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                    acc += data[q] * state[np.uintp(indices[q])]
                g[a] = -(acc + shift * colsum[j]) / n
            off = hptr[k]
            for a in range(m):
                for b in range(m):
                    H[a, b] = hpack[off + a * m + b]
            block_newton_direction(g, H, wb, l1, l2, n_inner, active, d)
            # the model is the objective: unit step
            for a in range(m):
                if d[a] == 0.0:
                    continue
                j = cols[a]
                w[j] = wb[a] + d[a]
                for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                    state[np.uintp(indices[q])] -= d[a] * data[q]
                shift += d[a] * mean[j]
            continue
        # logistic: the rows touched by the block, compacted
        r = 0
        for a in range(m):
            j = cols[a]
            for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                i = indices[q]
                if marker[i] != t:
                    marker[i] = t
                    pos[i] = r
                    rows[r] = i
                    for b in range(m):
                        XbT[b, r] = 0.0
                    r += 1
                XbT[a, pos[i]] = data[q]
        ys = np.empty(r)
        zs = np.empty(r)
        u = np.empty(r)
        hw = np.empty(r)
        for s_ in range(r):
            i = rows[s_]
            ys[s_] = y[i]
            zs[s_] = state[i]
            sg = _sigmoid(-y[i] * state[i])
            u[s_] = -y[i] * sg / n
            hw[s_] = sg * (1.0 - sg) / n
        for a in range(m):
            acc = 0.0
            for s_ in range(r):
                acc += XbT[a, s_] * u[s_]
            g[a] = acc
        for a in range(m):
            for b in range(a + 1):
                acc = 0.0
                for s_ in range(r):
                    acc += hw[s_] * XbT[a, s_] * XbT[b, s_]
                H[a, b] = acc
                H[b, a] = acc
        dec = block_newton_direction(g, H, wb, l1, l2, n_inner, active, d)
        moved = False
        for a in range(m):
            if d[a] != 0.0:
                moved = True
        if not moved or not math.isfinite(dec):
            continue
        xd = np.empty(r)
        for s_ in range(r):
            acc = 0.0
            for a in range(m):
                acc += XbT[a, s_] * d[a]
            xd[s_] = acc
        step = _newton_line_search_logistic(ys, zs, xd, dec, wb, d, l1, l2, n)
        if step == 0.0:
            fails += 1
            L = lipb[k]
            if L <= 0.0:
                continue
            for a in range(m):
                d[a] = prox_enet(wb[a] - g[a] / L, 1.0 / L, l1, l2) - wb[a]
            for s_ in range(r):
                acc = 0.0
                for a in range(m):
                    acc += XbT[a, s_] * d[a]
                xd[s_] = acc
            step = 1.0
        for a in range(m):
            w[cols[a]] = wb[a] + d[a] if step == 1.0 else wb[a] + step * d[a]
        for s_ in range(r):
            state[rows[s_]] += step * xd[s_]
    if shift != 0.0:
        for i in range(n):
            state[i] += shift
    return fails


# ---------------------------------------------------------------------------------------
# Greedy selection with an indexed max-heap (sparse X, no centring)
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _heap_above(key, a, b):
    """Whether item ``a`` goes above item ``b``: larger key, ties to the smaller index
    (the order of a left-to-right scan with a strict comparison)."""
    return key[a] > key[b] or (key[a] == key[b] and a < b)


@njit(cache=True)
def _heap_sift_up(heap, where, key, h):
    item = heap[h]
    while h > 0:
        parent = (h - 1) >> 1
        other = heap[parent]
        if not _heap_above(key, item, other):
            break
        heap[h] = other
        where[other] = h
        h = parent
    heap[h] = item
    where[item] = h


@njit(cache=True)
def _heap_sift_down(heap, where, key, h):
    m = heap.shape[0]
    item = heap[h]
    while True:
        child = 2 * h + 1
        if child >= m:
            break
        if child + 1 < m and _heap_above(key, heap[child + 1], heap[child]):
            child += 1
        other = heap[child]
        if not _heap_above(key, other, item):
            break
        heap[h] = other
        where[other] = h
        h = child
    heap[h] = item
    where[item] = h


@njit(cache=True)
def heap_build(heap, where, key):
    """Indexed binary max-heap of the items ``0..m-1`` keyed by ``key`` (O(m))."""
    m = key.shape[0]
    for t in range(m):
        heap[t] = t
        where[t] = t
    for h in range((m >> 1) - 1, -1, -1):
        _heap_sift_down(heap, where, key, h)


@njit(cache=True)
def heap_update(heap, where, key, item, value):
    """Set ``key[item] = value`` and restore the heap (increase- or decrease-key)."""
    old = key[item]
    key[item] = value
    if value > old:
        _heap_sift_up(heap, where, key, where[item])
    elif value < old:
        _heap_sift_down(heap, where, key, where[item])


@njit(cache=True)
def greedy_csc_neighbours(indptr, indices, data, rptr, rcols, rdata, y, state, w, cols, pos,
                          grad, lip, l1, l2, rule, datafit, n_updates, use_heap, trace):
    """Greedy coordinate updates on sparse ``X`` (not centred) with the gradient kept exact
    by updating only the coordinates that share a row with the updated one.

    ``X`` is given twice, as CSC (``indptr, indices, data``) and CSR (``rptr, rcols,
    rdata``). The candidates are the columns ``cols`` (``pos[j]`` is the position of column
    ``j`` in ``cols``, -1 if absent); ``grad`` (indexed like ``cols``) holds their datafit
    gradient on entry. After ``w_j += d`` the state (residual ``r`` for least squares,
    margin ``z`` for the logistic loss) changes on the rows of column ``j`` only, so only
    the partial derivatives of the columns meeting those rows change: an update costs
    O(Σ_{i ∈ col j} nnz(row i)) plus, for picking the next coordinate, O(log m) per
    changed score with the indexed max-heap (``use_heap``) or O(m) with a scan of the
    stored scores. Both pick the same coordinates (ties to the smaller position). A score
    that drops is only marked (its heap key stays an upper bound) and fixed when it
    reaches the top, which halves the heap work of an update.
    ``trace`` (length ``n_updates`` or 0) receives the chosen columns.
    Returns the number of updates that changed ``w``.
    """
    n = state.shape[0]
    m = cols.shape[0]
    key = np.empty(m)
    for t in range(m):
        j = cols[t]
        key[t] = greedy_score(grad[t], w[j], lip[j], l1, l2, rule)
    heap = np.empty(m, dtype=np.int64)
    where = np.empty(m, dtype=np.int64)
    score = key.copy()  # the true scores (key: the heap's, possibly stale, upper bounds)
    if use_heap:
        heap_build(heap, where, key)
    stamp = np.full(m, -1, dtype=np.int64)
    touched = np.empty(m, dtype=np.int64)
    u = np.empty(0)
    if datafit != QUADRATIC:  # u_i = -y_i σ(-y_i z_i) / n, the logistic raw gradient
        u = np.empty(n)
        _logistic_u(y, state, u, n)
    changed = 0
    for step in range(n_updates):
        if use_heap:
            # decreases of a score are applied lazily: a stale top is sifted down first
            # (keys are never below the scores, so the validated top is the true best)
            tbest = heap[0]
            while key[tbest] != score[tbest]:
                heap_update(heap, where, key, tbest, score[tbest])
                tbest = heap[0]
        else:
            tbest = 0
            for t in range(1, m):
                if key[t] > key[tbest]:
                    tbest = t
        if score[tbest] <= 0.0:
            break
        j = cols[tbest]
        L = lip[j]
        old = w[j]
        new = prox_enet(old - grad[tbest] / L, 1.0 / L, l1, l2)
        d = new - old
        if d == 0.0:
            break
        w[j] = new
        changed += 1
        if trace.shape[0] > 0:
            trace[step] = j
        n_touched = 0
        for kk in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
            i = np.uintp(indices[kk])
            if datafit == QUADRATIC:
                state[i] -= d * data[kk]
                coef = d * data[kk] / n  # Δg_k = d x_kᵀx_j / n
            else:
                state[i] += d * data[kk]
                unew = -y[i] * _sigmoid(-y[i] * state[i]) / n
                coef = unew - u[i]  # Δg_k = x_kᵀ Δu
                u[i] = unew
            for q in range(np.uintp(rptr[i]), np.uintp(rptr[i + 1])):
                t = pos[np.uintp(rcols[q])]
                if t < 0:
                    continue
                grad[t] += coef * rdata[q]
                if stamp[t] != step:
                    stamp[t] = step
                    touched[n_touched] = t
                    n_touched += 1
        for a in range(n_touched):
            t = touched[a]
            k = cols[t]
            s = greedy_score(grad[t], w[k], lip[k], l1, l2, rule)
            score[t] = s
            if not use_heap:
                key[t] = s
            elif s > key[t]:
                heap_update(heap, where, key, t, s)
    return changed


@njit(cache=True)
def csc_gram_update(indptr, indices, data, rptr, rcols, rdata, cols, dw, v, out):
    """``out += Xᵀ (X[:, cols] dw)`` touching only the rows of the columns ``cols``.

    ``X`` is given as CSC and CSR arrays; ``v`` is a zero work vector of length
    ``n_samples`` (left zero on return). Costs O(Σ_{j ∈ cols} Σ_{i ∈ col j} nnz(row i))
    instead of the O(nnz(X)) of a full ``Xᵀ r``: the change of the least-squares gradient
    after the coordinates ``cols`` moved by ``dw``.
    """
    n_rows = 0
    total = 0
    for t in range(cols.shape[0]):
        j = cols[t]
        total += indptr[j + 1] - indptr[j]
    rows = np.empty(total, dtype=np.int64)
    for t in range(cols.shape[0]):
        j = np.uintp(cols[t])
        d = dw[t]
        for k in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
            i = indices[k]
            if v[i] == 0.0:
                rows[n_rows] = i
                n_rows += 1
            v[i] += d * data[k]  # (a row met again after an exact cancellation is
            # listed twice: harmless, the first visit below takes and clears v[i])
    for a in range(n_rows):
        i = np.uintp(rows[a])
        vi = v[i]
        v[i] = 0.0
        for q in range(np.uintp(rptr[i]), np.uintp(rptr[i + 1])):
            out[np.uintp(rcols[q])] += rdata[q] * vi
    return n_rows


# ---------------------------------------------------------------------------------------
# Greedy rules for the multinomial loss (blocks = coefficient rows W[j, :])
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _row_score(g, W, j, L, l1, l2, rule):
    """Greedy score of the row ``W[j, :]`` with gradient ``g``: the norm of its minimum-norm
    subgradient (GS), divided by ``√L`` (GSL), or the decrease of its prox-linear model
    with step ``1/L`` (GSQ, separable over the row)."""
    if L <= 0.0:
        return 0.0
    s = 0.0
    if rule == RULE_GSQ:
        for k in range(W.shape[1]):
            s += greedy_score(g[k], W[j, k], L, l1, l2, RULE_GSQ)
        return s
    for k in range(W.shape[1]):
        v = greedy_score(g[k], W[j, k], L, l1, l2, RULE_GS)
        s += v * v
    s = math.sqrt(s)
    if rule == RULE_GSL:
        s /= math.sqrt(L)
    return s


@njit(cache=True)
def greedy_multinomial_dense(X, labels, Z, P, W, cols, lip, mean, l1, l2, rule, n_updates):
    """``n_updates`` greedy row updates of the multinomial loss over the rows ``cols``
    (dense F-ordered ``X``, columns centred by ``mean``). Every partial derivative depends
    on all of ``P``, so the gradient of the candidate rows is recomputed after each update
    (O(n |cols| K), as for the logistic loss). Returns the number of updates made."""
    n = X.shape[0]
    K = W.shape[1]
    m = cols.shape[0]
    G = np.empty((m, K))
    d = np.empty(K)
    changed = 0
    for _ in range(n_updates):
        best = -1.0
        tbest = -1
        for t in range(m):
            j = cols[t]
            mj = mean[j]
            for k in range(K):
                G[t, k] = 0.0
            for i in range(n):
                x = X[i, j] - mj
                for k in range(K):
                    G[t, k] += x * P[i, k]
                G[t, labels[i]] -= x
            for k in range(K):
                G[t, k] /= n
            s = _row_score(G[t], W, j, lip[j], l1, l2, rule)
            if s > best:
                best = s
                tbest = t
        if tbest < 0 or best <= 0.0:
            break
        j = cols[tbest]
        if not _multinomial_row_step(G[tbest], W, j, lip[j], l1, l2, d):
            break
        changed += 1
        mj = mean[j]
        for i in range(n):
            x = X[i, j] - mj
            for k in range(K):
                Z[i, k] += x * d[k]
            _softmax_row(Z, P, i)
    return changed


@njit(cache=True)
def greedy_multinomial_csc(indptr, indices, data, labels, Z, P, W, cols, lip, l1, l2, rule,
                           n_updates):
    """:func:`greedy_multinomial_dense` for CSC ``X`` (not centred): O(nnz(X_cols) K) per
    update."""
    n = Z.shape[0]
    K = W.shape[1]
    m = cols.shape[0]
    G = np.empty((m, K))
    d = np.empty(K)
    changed = 0
    for _ in range(n_updates):
        best = -1.0
        tbest = -1
        for t in range(m):
            j = cols[t]
            for k in range(K):
                G[t, k] = 0.0
            for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
                i = np.uintp(indices[q])
                x = data[q]
                for k in range(K):
                    G[t, k] += x * P[i, k]
                G[t, labels[i]] -= x
            for k in range(K):
                G[t, k] /= n
            s = _row_score(G[t], W, j, lip[j], l1, l2, rule)
            if s > best:
                best = s
                tbest = t
        if tbest < 0 or best <= 0.0:
            break
        j = cols[tbest]
        if not _multinomial_row_step(G[tbest], W, j, lip[j], l1, l2, d):
            break
        changed += 1
        for q in range(np.uintp(indptr[j]), np.uintp(indptr[j + 1])):
            i = np.uintp(indices[q])
            for k in range(K):
                Z[i, k] += data[q] * d[k]
            _softmax_row(Z, P, i)
    return changed
