"""The generic array-API engine: AltMin's and implicit ALS's half-steps with whole-array
operations of the observations' namespace (CuPy, array_api_strict, ...).

The rows of a side are grouped in *buckets* by their number of observations (``0``, ``1``,
``2``, ``3–4``, ``5–8``, ...), each bucket's observations padded to a dense ``(rows, L)``
block (at most twice the observations in memory). A half-step gathers the other factor into
``(rows, L, k)``, forms the normal equations by batched ``matmul`` and solves them by a
batched Cholesky written with ``xp`` operations (vectorized over rows, a loop over the ``k``
columns) that flags singular rows as the Numba kernels do; ``solver="cg"`` runs the same
warm-started CG steps with per-row step sizes. For implicit feedback the values are the
confidences ``c``, the normal equations ``(YᵀY + reg I + Y_uᵀ(C_u − I)Y_u) x = Y_uᵀ c_u``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from numlearn._backend import device_of, to_numpy
from numlearn.completion._engine import ImplicitEngine, NamespaceEngine
from numlearn.completion._observations import ArrayObservations, sorted_csr

__all__ = ["ArrayAPIEngine", "batched_cholesky_solve"]


class _Bucket(NamedTuple):
    """Rows of one side with ``L_b/2 < n_i ≤ L_b`` observations, padded to ``L_b``."""

    cols: Any  # (rows, L) int64 indices on the other side (0 on padding)
    vals: Any  # (rows, L) values (0 on padding)
    mask: Any  # (rows, L) 1.0 on observations, 0.0 on padding
    count: Any  # (rows,) number of observations of each row (values' dtype)


class _Side(NamedTuple):
    buckets: list
    perm: Any  # row ids of the buckets, concatenated
    inverse: Any  # the rows of the concatenated buckets, back in row order
    counts: np.ndarray  # observations per row (host)
    sum_sq: float


def _bucket_sizes(counts: np.ndarray) -> np.ndarray:
    """Padded length of every row: 1 for empty rows, the next power of two otherwise."""
    sizes = np.ones_like(counts)
    nz = counts > 1
    sizes[nz] = 2 ** np.ceil(np.log2(counts[nz])).astype(np.int64)
    return sizes


def _build_side(major, minor, values, n_major, n_minor, xp, device, dtype) -> _Side:
    indptr, indices, vals = sorted_csr(major, minor, values, n_major, n_minor, xp)
    counts = np.diff(to_numpy(indptr)).astype(np.int64)
    sizes = _bucket_sizes(counts)
    buckets, perm = [], []
    for size in np.unique(sizes):
        ids_h = np.flatnonzero(sizes == size)
        ids = xp.asarray(ids_h, device=device)
        lane = xp.arange(int(size), dtype=xp.int64, device=device)
        start = xp.take(indptr, ids)[:, None]
        cnt = xp.asarray(counts[ids_h], device=device)[:, None]
        valid = lane[None, :] < cnt
        pos = xp.where(valid, start + lane[None, :], xp.zeros_like(start))
        if indices.shape[0]:
            flat = xp.reshape(pos, (-1,))
            cols = xp.reshape(xp.take(indices, flat), pos.shape)
            cols = xp.where(valid, cols, xp.zeros_like(cols))
            vv = xp.reshape(xp.take(vals, flat), pos.shape)
            vv = xp.where(valid, vv, xp.zeros_like(vv))
        else:  # no observations at all (a transform of empty rows)
            cols, vv = xp.zeros_like(pos), xp.zeros(pos.shape, dtype=dtype, device=device)
        buckets.append(_Bucket(cols, xp.astype(vv, dtype), xp.astype(valid, dtype),
                               xp.asarray(counts[ids_h], dtype=dtype, device=device)))
        perm.append(ids_h)
    perm = np.concatenate(perm)
    inverse = xp.asarray(np.argsort(perm), device=device)
    sum_sq = float(xp.sum(xp.astype(values, xp.float64) ** 2))
    return _Side(buckets, xp.asarray(perm, device=device), inverse, counts, sum_sq)


def _gather(V, bucket: _Bucket, xp):
    """``V`` rows of the bucket's observations, ``(rows, L, k)``, zero on padding."""
    nb, L = bucket.cols.shape
    Vg = xp.reshape(xp.take(V, xp.reshape(bucket.cols, (-1,)), axis=0), (nb, L, V.shape[1]))
    return Vg * bucket.mask[:, :, None]


def batched_cholesky_solve(G, r, xp):
    """Solve ``G[i] x[i] = r[i]`` for a stack of SPD ``k × k`` matrices by Cholesky,
    vectorized over the stack (a Python loop over the ``k`` columns).

    Returns ``(x, ok)``: rows whose matrix has a non-positive pivot (not numerically
    positive definite, the test of the Numba kernel) get ``x = 0`` and ``ok = False``.
    Only the lower triangle of ``G`` is read.
    """
    nb, k = r.shape
    L = xp.zeros_like(G)
    ok = xp.ones((nb,), dtype=xp.bool, device=device_of(G))
    one = xp.ones((nb,), dtype=G.dtype, device=device_of(G))
    for j in range(k):
        s = G[:, j, j] - xp.sum(L[:, j, :j] ** 2, axis=1)
        good = s > 0.0
        ok = ok & good
        d = xp.sqrt(xp.where(good, s, one))
        L[:, j, j] = d
        if j + 1 < k:
            t = G[:, j + 1:, j] - xp.sum(L[:, j + 1:, :j] * L[:, j:j + 1, :j], axis=2)
            L[:, j + 1:, j] = t / d[:, None]
    x = xp.zeros_like(r)
    for a in range(k):  # forward: L y = r
        x[:, a] = (r[:, a] - xp.sum(L[:, a, :a] * x[:, :a], axis=1)) / L[:, a, a]
    for a in range(k - 1, -1, -1):  # backward: Lᵀ x = y
        x[:, a] = (x[:, a] - xp.sum(L[:, a + 1:, a] * x[:, a + 1:], axis=1)) / L[:, a, a]
    return xp.where(ok[:, None], x, xp.zeros_like(x)), ok


def _normal_equations(Vg, vals, reg, xp):
    """``(V_gᵀV_g + λ I, V_gᵀ vals)`` per row; ``reg`` a float or one ``λ`` per row."""
    k = Vg.shape[2]
    VgT = xp.matrix_transpose(Vg)
    eye = xp.eye(k, dtype=Vg.dtype, device=device_of(Vg))
    G = VgT @ Vg + (reg * eye if isinstance(reg, float) else reg[:, None, None] * eye)
    r = (VgT @ vals[:, :, None])[:, :, 0]
    return G, r


def _batched_cg(apply, b, x, n_steps: int, xp, tiny: float = 0.0):
    """``n_steps`` warm-started CG steps on every row's system ``A_i x_i = b_i`` (``apply(p)``
    gives the rows ``A_i p_i``), with the stopping tests of the Numba kernels per row
    (``rᵀr ≤ tiny`` or ``pᵀq ≤ 0`` freezes it)."""
    r = b - apply(x)
    p = r
    rr = xp.sum(r * r, axis=1)
    active = xp.ones(rr.shape, dtype=xp.bool, device=device_of(rr))
    zero, one = xp.zeros_like(rr), xp.ones_like(rr)
    for _ in range(n_steps):
        active = active & ((rr != 0.0) if tiny == 0.0 else (rr >= tiny))
        q = apply(p)
        pq = xp.sum(p * q, axis=1)
        active = active & (pq > 0.0)
        alpha = xp.where(active, rr / xp.where(active, pq, one), zero)[:, None]
        x = x + alpha * p
        r = r - alpha * q
        rr_new = xp.sum(r * r, axis=1)
        beta = xp.where(active, rr_new / xp.where(active, rr, one), zero)
        rr = xp.where(active, rr_new, rr)
        p = xp.where(active[:, None], r + beta[:, None] * p, p)
    return x


def _cg_rows(Vg, vals, reg, x, n_steps: int, xp):
    """``n_steps`` warm-started CG steps on every row's ridge normal equations
    (matrix-free); ``reg`` a float or one ``λ`` per row."""
    VgT = xp.matrix_transpose(Vg)
    lam = reg if isinstance(reg, float) else reg[:, None]

    def normal(p):
        return lam * p + (VgT @ (Vg @ p[:, :, None]))[:, :, 0]

    return _batched_cg(normal, (VgT @ vals[:, :, None])[:, :, 0], x, n_steps, xp)


def _implicit_system(Yg, bucket: _Bucket, xp):
    """``(Y_gᵀ, weights c − 1 (0 on padding), right-hand side Σ c y)`` of a bucket whose
    values are the confidences ``c``."""
    YgT = xp.matrix_transpose(Yg)
    w = bucket.vals - bucket.mask
    b = (YgT @ bucket.vals[:, :, None])[:, :, 0]
    return YgT, w, b


class ArrayAPIEngine(NamespaceEngine, ImplicitEngine):
    """AltMin's and implicit ALS's half-steps with whole-array operations of the
    observations' namespace."""

    def __init__(self, obs: ArrayObservations):
        super().__init__(obs)
        xp, device = obs.xp, obs.device
        m, n = obs.shape
        self.sides = {
            "rows": _build_side(obs.rows, obs.cols, obs.values, m, n, xp, device, self.dtype),
            "cols": _build_side(obs.cols, obs.rows, obs.values, n, m, xp, device, self.dtype),
        }
        self._obs = obs

    def stats(self, side: str) -> tuple[int, int, float]:
        s = self.sides[side]
        return int(np.sum(s.counts > 0)), int(np.sum(s.counts)), s.sum_sq

    def half_step(self, side, other, current, solver, reg, cg_steps, sketch_size,
                  **options):
        """As :meth:`Engine.half_step`; the recommender ``options`` supported here are
        ``offset`` (one value per row of ``other``, subtracted from the observations),
        ``count_scaling`` (ALS-WR ``reg · n_i``) and ``want_sse``, with the conventions of
        :mod:`numlearn.completion._als_kernels` (rows without observations get zero)."""
        xp = self.xp
        s = self.sides[side]
        recommender = "offset" in options
        offset = options.get("offset")
        if offset is not None:
            offset = xp.asarray(np.asarray(offset, dtype=np.float64), dtype=self.dtype,
                                device=self.device)
        count_scaling = bool(options.get("count_scaling", False))
        want_sse = bool(options.get("want_sse", False))
        parts, singular, sse = [], 0, 0.0
        reg = float(reg)
        with np.errstate(all="ignore"):  # singular rows of a NumPy-backed namespace
            start = 0
            for bucket in s.buckets:
                nb = bucket.cols.shape[0]
                Vg = _gather(other, bucket, xp)
                vals = bucket.vals
                if offset is not None:
                    vals = vals - xp.reshape(xp.take(offset, xp.reshape(bucket.cols, (-1,))),
                                             bucket.cols.shape) * bucket.mask
                lam = reg * bucket.count if count_scaling else reg
                if solver == "cholesky":
                    G, r = _normal_equations(Vg, vals, lam, xp)
                    x, ok = batched_cholesky_solve(G, r, xp)
                    if recommender:  # rows without observations: zero, not singular
                        ok = ok | (bucket.count == 0)
                    singular += nb - int(xp.sum(xp.astype(ok, xp.int64)))
                else:
                    x0 = xp.take(current, s.perm[start:start + nb], axis=0)
                    x = _cg_rows(Vg, vals, lam, x0, cg_steps, xp)
                if recommender:
                    x = xp.where((bucket.count > 0)[:, None], x, xp.zeros_like(x))
                if want_sse:
                    res = (xp.astype(vals, xp.float64)
                           - xp.astype((Vg @ x[:, :, None])[:, :, 0], xp.float64)) * \
                        xp.astype(bucket.mask, xp.float64)
                    sse += float(xp.sum(res * res))
                parts.append(x)
                start += nb
        out = xp.take(xp.concat(parts, axis=0), s.inverse, axis=0)
        if recommender:
            return out, singular, sse if want_sse else float("nan")
        return out, singular

    def sse(self, U, V) -> float:
        xp, o = self.xp, self._obs
        pred = xp.sum(xp.take(U, o.rows, axis=0) * xp.take(V, o.cols, axis=0), axis=1)
        res = xp.astype(o.values, xp.float64) - xp.astype(pred, xp.float64)
        return float(xp.sum(res * res))

    def matvec(self, side, x: np.ndarray) -> np.ndarray:
        xp = self.xp
        s = self.sides[side]
        xd = xp.asarray(np.asarray(x, dtype=np.float64), device=self.device)
        parts = []
        for bucket in s.buckets:
            nb, L = bucket.cols.shape
            xg = xp.reshape(xp.take(xd, xp.reshape(bucket.cols, (-1,))), (nb, L))
            parts.append(xp.sum(xp.astype(bucket.vals, xp.float64) * xg, axis=1))
        return np.asarray(to_numpy(xp.take(xp.concat(parts), s.inverse)), dtype=np.float64)

    def implicit_half_step(self, side, other, current, gram, solver, cg_steps):
        xp = self.xp
        s = self.sides[side]
        parts, singular = [], 0
        with np.errstate(all="ignore"):
            start = 0
            for bucket in s.buckets:
                nb = bucket.cols.shape[0]
                Yg = _gather(other, bucket, xp)
                YgT, w, b = _implicit_system(Yg, bucket, xp)
                if solver == "cholesky":
                    A = gram[None, :, :] + YgT @ (Yg * w[:, :, None])
                    x, ok = batched_cholesky_solve(A, b, xp)
                    singular += nb - int(xp.sum(xp.astype(ok, xp.int64)))
                else:
                    def apply(p, Yg=Yg, YgT=YgT, w=w):
                        return p @ gram + (YgT @ (w[:, :, None] * (Yg @ p[:, :, None])))[:, :, 0]

                    x0 = xp.take(current, s.perm[start:start + nb], axis=0)
                    x = _batched_cg(apply, b, x0, cg_steps, xp, tiny=1e-300)
                parts.append(x)
                start += nb
        return xp.take(xp.concat(parts, axis=0), s.inverse, axis=0), singular

    def implicit_loss_terms(self, X, Y) -> float:
        xp, o = self.xp, self._obs
        s = xp.sum(xp.astype(xp.take(X, o.rows, axis=0), xp.float64)
                   * xp.astype(xp.take(Y, o.cols, axis=0), xp.float64), axis=1)
        c = xp.astype(o.values, xp.float64)
        return float(xp.sum(c * (1.0 - s) ** 2 - s * s))
