"""AltMin on observations held by another array library than NumPy (CuPy, array_api_strict).

:func:`numlearn.completion.altmin` takes this path when the observed entries come as a tuple
``(rows, cols, values, shape)`` of arrays of a non-NumPy array-API namespace (or a
``cupyx.scipy.sparse`` matrix). The iteration, stopping rule, history, warnings and
statuses are those of the NumPy path (the loop is shared); only the engine that runs the
half-steps differs:

* :class:`ArrayAPIEngine` (any namespace; CuPy with ``rank > 32``): the rows of a side are
  grouped in *buckets* by their number of observations (``0``, ``1``, ``2``, ``3–4``,
  ``5–8``, ...), each bucket's observations padded to a dense ``(rows, L)`` block (at most
  twice the observations in memory). A half-step gathers ``V`` into ``(rows, L, k)``, forms
  the normal equations by batched ``matmul`` and solves them by a batched Cholesky written
  with ``xp`` operations (vectorized over rows, a loop over the ``k`` columns) that flags
  singular rows as the Numba kernel does; ``solver="cg"`` runs the same warm-started CG steps
  with per-row step sizes.
* :class:`numlearn.completion._cuda_engine.CudaEngine` (CuPy with ``rank ≤ 32``): the
  Numba-CUDA kernels of :mod:`numlearn.completion._cuda_kernels`.

The SVD initialization runs ARPACK on the host with the products ``P_Ω(M) x`` computed by
the engine on the device, so the starting point (and hence the factors) are those of the
NumPy path. ``solver="sketch"`` is not implemented here: :func:`altmin` solves such inputs on
the host and returns the factors in the inputs' namespace.

Factors are computed in the dtype of ``values`` when it is float32 or float64 (other dtypes:
float64); the normal equations are accumulated in float64 in the CUDA kernels.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from numlearn._backend import (
    device_of,
    get_namespace,
    is_cupy_array,
    is_cupy_sparse,
    is_numpy_namespace,
    to_numpy,
)
from numlearn.completion._observations import check_entries, check_shape, check_unique

__all__ = [
    "ArrayObservations",
    "check_observations_array_api",
    "make_engine",
    "NamespaceEngine",
    "ArrayAPIEngine",
    "batched_cholesky_solve",
    "predict_entries_array_api",
]


class ArrayObservations(NamedTuple):
    """Validated observations in the namespace ``xp`` (on ``device``)."""

    rows: Any
    cols: Any
    values: Any
    shape: tuple[int, int]
    xp: Any
    device: Any


def check_observations_array_api(M_obs: Any, name: str = "M_obs") -> ArrayObservations | None:
    """The observations as arrays of their own (non-NumPy) namespace, validated as
    :func:`numlearn.completion._observations.check_observations` does (same messages);
    ``None`` when ``M_obs`` is not made of non-NumPy arrays (the NumPy path takes it)."""
    if is_cupy_sparse(M_obs):
        coo = M_obs.tocoo()
        triple, shape = (coo.row, coo.col, coo.data), coo.shape
    elif isinstance(M_obs, tuple) and len(M_obs) == 4:
        triple, shape = M_obs[:3], M_obs[3]
        if not any(hasattr(a, "__array_namespace__") for a in triple):
            return None
    else:
        return None
    xp = get_namespace(*triple)
    if is_numpy_namespace(xp):
        return None
    like = next(a for a in triple if hasattr(a, "__array_namespace__"))
    device = device_of(like)
    shape = check_shape(shape, name)
    rows, cols, values = (xp.asarray(a, device=device) for a in triple)
    rows, cols, values = check_entries(rows, cols, values, shape, name, xp)
    m, n = shape
    check_unique(xp.sort(rows * n + cols), name, xp)
    return ArrayObservations(rows, cols, values, (m, n), xp, device)


def sorted_csr(major, minor, values, n_major: int, n_minor: int, xp):
    """CSR arrays ``(indptr, indices, values)`` of the observations grouped by ``major``
    (``minor`` ascending within a group), all in ``xp``."""
    order = xp.argsort(major * n_minor + minor)
    major_sorted = xp.take(major, order)
    bounds = xp.arange(n_major + 1, dtype=xp.int64, device=device_of(major))
    indptr = xp.astype(xp.searchsorted(major_sorted, bounds), xp.int64)
    return indptr, xp.take(minor, order), xp.take(values, order)


def make_engine(obs: ArrayObservations, rank: int):
    """The engine for ``obs``: the Numba-CUDA kernels for CuPy arrays (``rank ≤ 32``, a usable
    GPU), the generic array-API engine otherwise."""
    if is_cupy_array(obs.values) and rank <= 32:
        from numlearn._backend import numba_cuda_available

        if numba_cuda_available():
            from numlearn.completion._cuda_engine import CudaEngine

            return CudaEngine(obs)
    return ArrayAPIEngine(obs)


class _Bucket(NamedTuple):
    """Rows of one side with ``L_b/2 < n_i ≤ L_b`` observations, padded to ``L_b``."""

    cols: Any  # (rows, L) int64 indices on the other side (0 on padding)
    vals: Any  # (rows, L) values (0 on padding)
    mask: Any  # (rows, L) 1.0 on observations, 0.0 on padding


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
        buckets.append(_Bucket(cols, xp.astype(vv, dtype), xp.astype(valid, dtype)))
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


def _normal_equations(Vg, bucket: _Bucket, reg: float, xp):
    k = Vg.shape[2]
    VgT = xp.matrix_transpose(Vg)
    G = VgT @ Vg + reg * xp.eye(k, dtype=Vg.dtype, device=device_of(Vg))
    r = (VgT @ bucket.vals[:, :, None])[:, :, 0]
    return G, r


def _cg_rows(Vg, bucket: _Bucket, reg: float, x, n_steps: int, xp):
    """``n_steps`` warm-started CG steps on every row's normal equations (matrix-free), with
    the stopping tests of the Numba kernel per row (``rr = 0`` or ``pᵀq ≤ 0`` freezes it)."""
    VgT = xp.matrix_transpose(Vg)

    def normal(p):
        return reg * p + (VgT @ (Vg @ p[:, :, None]))[:, :, 0]

    r = (VgT @ bucket.vals[:, :, None])[:, :, 0] - normal(x)
    p = r
    rr = xp.sum(r * r, axis=1)
    active = xp.ones(rr.shape, dtype=xp.bool, device=device_of(rr))
    zero, one = xp.zeros_like(rr), xp.ones_like(rr)
    for _ in range(n_steps):
        active = active & (rr != 0.0)
        q = normal(p)
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


class NamespaceEngine:
    """What the engines of non-NumPy observations share (:class:`ArrayAPIEngine`,
    :class:`numlearn.completion._cuda_engine.CudaEngine`): the observations' namespace
    ``xp``, ``device``, ``dtype`` and ``shape``, and host factors moved there."""

    def __init__(self, obs: ArrayObservations):
        self.xp, self.device = obs.xp, obs.device
        self.dtype = obs.values.dtype
        self.shape = obs.shape

    def factor(self, F: np.ndarray):
        """A host factor (init) in the engine's namespace, dtype and device."""
        return self.xp.asarray(np.asarray(F, dtype=np.float64), dtype=self.dtype,
                               device=self.device)


class ArrayAPIEngine(NamespaceEngine):
    """AltMin's half-steps with whole-array operations of the observations' namespace (the
    engine interface of :class:`numlearn.completion._engine.LocalEngine`)."""

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

    def half_step(self, side, other, current, solver, reg, cg_steps, sketch_size):
        xp = self.xp
        s = self.sides[side]
        parts, singular = [], 0
        with np.errstate(all="ignore"):  # singular rows of a NumPy-backed namespace
            start = 0
            for bucket in s.buckets:
                nb = bucket.cols.shape[0]
                Vg = _gather(other, bucket, xp)
                if solver == "cholesky":
                    G, r = _normal_equations(Vg, bucket, reg, xp)
                    x, ok = batched_cholesky_solve(G, r, xp)
                    singular += nb - int(xp.sum(xp.astype(ok, xp.int64)))
                else:
                    x0 = xp.take(current, s.perm[start:start + nb], axis=0)
                    x = _cg_rows(Vg, bucket, reg, x0, cg_steps, xp)
                parts.append(x)
                start += nb
        out = xp.take(xp.concat(parts, axis=0), s.inverse, axis=0)
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

    def close(self) -> None:
        pass


def predict_entries_array_api(U, V, rows, cols, xp):
    """``(U Vᵀ)[rows, cols]`` in the namespace ``xp`` (validated as the NumPy version)."""
    device = device_of(U)
    rows = xp.asarray(rows, device=device)
    cols = xp.asarray(cols, device=device)
    if tuple(rows.shape) != tuple(cols.shape):
        raise ValueError(f"rows and cols must have the same shape, got {tuple(rows.shape)}, "
                         f"{tuple(cols.shape)}.")
    for label, idx in (("rows", rows), ("cols", cols)):
        if not xp.isdtype(idx.dtype, "integral"):
            raise TypeError(f"{label} must be integers, got dtype {idx.dtype}.")
    shape = tuple(rows.shape)
    r = xp.reshape(xp.astype(rows, xp.int64), (-1,))
    c = xp.reshape(xp.astype(cols, xp.int64), (-1,))
    if r.shape[0] and bool(xp.any(r < 0) | xp.any(r >= U.shape[0]) | xp.any(c < 0)
                           | xp.any(c >= V.shape[0])):
        raise ValueError(f"an index lies outside the {U.shape[0]} x {V.shape[0]} matrix.")
    out = xp.sum(xp.take(U, r, axis=0) * xp.take(V, c, axis=0), axis=1)
    return xp.reshape(out, shape)



def observed_entries_array_api(X: Any, xp, min_samples: int = 1, min_features: int = 1):
    """``(rows, cols, values, shape)`` of a dense array with NaN for missing entries (or a
    ``cupyx.scipy.sparse`` matrix: its stored entries), in ``xp``; the estimator's checks."""
    if is_cupy_sparse(X):
        coo = X.tocoo(copy=True)
        coo.sum_duplicates()
        rows, cols, values, shape = coo.row, coo.col, coo.data, tuple(coo.shape)
        if values.dtype.kind != "f":
            values = xp.astype(values, xp.float64)
        if not bool(xp.all(xp.isfinite(values))):
            raise ValueError("X: stored (observed) entries must be finite.")
    else:
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array, got an array of shape {tuple(X.shape)}.")
        if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}.")
        if X.dtype not in (xp.float32, xp.float64):
            X = xp.astype(X, xp.float64)
        shape = tuple(X.shape)
        if bool(xp.any(xp.isinf(X))):
            raise ValueError("X must not contain inf (NaN marks a missing entry).")
        flat = xp.nonzero(xp.reshape(~xp.isnan(X), (-1,)))[0]
        rows, cols = flat // shape[1], flat % shape[1]
        values = xp.take(xp.reshape(X, (-1,)), flat)
    if shape[0] < min_samples or shape[1] < min_features:
        raise ValueError(f"X of shape {shape} is too small: at least {min_samples} samples and "
                         f"{min_features} features are required.")
    return rows, cols, values, shape
