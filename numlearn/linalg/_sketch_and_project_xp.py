"""Sketch-and-project iterations on a dense matrix of another array library (CuPy: on the GPU).

The engine :func:`numlearn.linalg.sketch_and_project` uses when ``A`` is a dense array of a
non-NumPy namespace. Everything of size ``m`` or ``n`` (``A``, ``b``, ``x``, the residual,
the sketched rows ``SᵀA``) stays in that namespace, on ``A``'s device; the sketches are
drawn on the host from the same random stream as the NumPy engines, and the ``τ × τ``
pseudo-inverse of ``SᵀAAᵀS`` is taken on the host (a few hundred bytes each way), so the
iterates are those of the NumPy path up to rounding.

Row sketches (``"kaczmarz"``, ``"uniform"``) gather the sampled rows with ``xp.take``;
with ``block_size=1`` every step is a handful of tiny device operations, so on a GPU prefer
blocks (or a mixing sketch) to single-row Kaczmarz.
"""

from __future__ import annotations

import numpy as np

from numlearn._backend import device_of, to_numpy
from numlearn.linalg._sketch_kernels import psd_solve
from numlearn.linalg.sketch import SketchOperator

__all__ = ["ArrayAPIEngine"]


class ArrayAPIEngine:
    """Sketch-and-project steps on a dense ``A`` of namespace ``xp`` (in place on ``x``)."""

    def __init__(self, A, b, sketch, block_size, rng, xp, *, row_sketches, sampler_type,
                 rcond_factor):
        self.A, self.b, self.xp = A, b, xp
        self.kind, self.rng, self.rcond = sketch, rng, rcond_factor
        self.rows = sketch in row_sketches
        self.r = None
        if self.rows:
            self.row_norms2 = np.asarray(to_numpy(xp.sum(A * A, axis=1)), dtype=np.float64)
            weights = self.row_norms2 if sketch == "kaczmarz" else None
            if weights is not None:
                block_size = min(block_size, int(np.count_nonzero(weights)))
            self.sampler = sampler_type(A.shape[0], block_size, weights, rng)
        self.block_size = block_size

    def _indices(self, rows: np.ndarray):
        return self.xp.asarray(np.ascontiguousarray(rows, dtype=np.int64), device=device_of(self.A))

    def _project(self, x, SA, z):
        """``x ← x − (SA)ᵀ (SA SAᵀ)⁺ z`` with the small solve on the host."""
        xp = self.xp
        M = np.asarray(to_numpy(SA @ SA.T), dtype=np.float64)
        y = psd_solve(np.ascontiguousarray(M), np.asarray(to_numpy(z), dtype=np.float64),
                      self.rcond)
        return x - xp.asarray(y, device=device_of(self.A)) @ SA

    def run(self, x, n_steps: int):
        """``n_steps`` iterations from ``x``; returns the new iterate."""
        xp, A, b = self.xp, self.A, self.b
        if self.rows:
            if self.block_size == 1:
                for i in self.sampler.independent(n_steps):
                    i = int(i)
                    norm2 = float(self.row_norms2[i])
                    if norm2 > 0.0:
                        a = A[i, :]
                        x = x + ((b[i] - xp.vecdot(a, x)) / norm2) * a
            else:
                for rows in self.sampler.blocks(n_steps):
                    idx = self._indices(rows)
                    SA = xp.take(A, idx, axis=0)
                    x = self._project(x, SA, SA @ x - xp.take(b, idx))
            self.r = None
            return x
        m = A.shape[0]
        r = self.residual(x)
        for _ in range(n_steps):
            S = SketchOperator._trusted(self.kind, self.block_size, m, self.rng)
            SA = S._apply_dense_xp(A, xp)
            z = S._apply_dense_xp(xp.reshape(r, (m, 1)), xp)[:, 0]
            x = self._project(x, SA, z)
            r = A @ x - b
        self.r = r
        return x

    def residual(self, x):
        if self.r is None:
            self.r = self.A @ x - self.b
        return self.r
