"""AltMin half-steps on the GPU with the Numba-CUDA kernels of
:mod:`numlearn.completion._cuda_kernels` (the engine :func:`altmin` uses for CuPy arrays).

The launch helpers take host (NumPy) or device (CuPy, Numba) arrays; under the Numba CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``) they run the kernels on NumPy arrays, which is how
the tests check them against their CPU twins. The CUDA module is imported on first use, so
importing numlearn never touches CUDA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numlearn._backend import to_numpy
from numlearn.completion._engine import NamespaceEngine
from numlearn.completion._observations import ArrayObservations, sorted_csr

__all__ = [
    "launch_normal_equations_cuda",
    "launch_cholesky_solve_cuda",
    "launch_cg_rows_cuda",
    "launch_residuals_cuda",
    "CudaEngine",
]


def _blocks(n: int, threads: int, max_blocks: int | None = None) -> int:
    blocks = max(1, (n + threads - 1) // threads)
    return blocks if max_blocks is None else max(1, min(blocks, max_blocks))


def launch_normal_equations_cuda(indptr, indices, values, V, reg, G, r, *,
                                 threads_per_block: int | None = None,
                                 max_blocks: int = 65535):
    """``G[i] = V_iᵀV_i + reg I``, ``r[i] = V_iᵀm_i`` (one block per row, grid-stride over at
    most ``max_blocks`` blocks; by default the block has the ``k² + k`` entries rounded up to
    a warp, at most 1024 threads)."""
    from numlearn.completion._cuda_kernels import normal_equations_kernel

    k = V.shape[1]
    if threads_per_block is None:
        threads_per_block = min(1024, 32 * ((k * k + k + 31) // 32))
    n_rows = indptr.shape[0] - 1
    blocks = max(1, min(n_rows, max_blocks))
    normal_equations_kernel[blocks, threads_per_block](indptr, indices, values, V, float(reg),
                                                       G, r)
    return G, r


def launch_cholesky_solve_cuda(G, r, out, failed, *, threads_per_block: int = 128):
    """``out[i] = G[i]⁻¹ r[i]`` (one thread per row, ``k ≤ 32``); ``failed[i] = 1`` on a
    non-positive pivot (and ``out[i] = 0``)."""
    from numlearn.completion._cuda_kernels import MAX_RANK, cholesky_solve_kernel

    if G.shape[1] > MAX_RANK:
        raise ValueError(f"the CUDA Cholesky kernel handles k <= {MAX_RANK}, got {G.shape[1]}.")
    n = G.shape[0]
    cholesky_solve_kernel[_blocks(n, threads_per_block), threads_per_block](G, r, out, failed)
    return out, failed


def launch_cg_rows_cuda(indptr, indices, values, V, reg, out, n_steps, *,
                        threads_per_block: int = 128):
    """``n_steps`` warm-started CG steps on every row (in place in ``out``; ``k ≤ 32``)."""
    from numlearn.completion._cuda_kernels import MAX_RANK, cg_rows_kernel

    if V.shape[1] > MAX_RANK:
        raise ValueError(f"the CUDA CG kernel handles k <= {MAX_RANK}, got {V.shape[1]}.")
    n = out.shape[0]
    cg_rows_kernel[_blocks(n, threads_per_block), threads_per_block](
        indptr, indices, values, V, float(reg), out, int(n_steps))
    return out


def launch_residuals_cuda(indptr, indices, values, U, V, out, *, threads_per_block: int = 128):
    """``out[jj] = m_ij − u_iᵀv_j`` (one thread per row)."""
    from numlearn.completion._cuda_kernels import residuals_kernel

    n = indptr.shape[0] - 1
    residuals_kernel[_blocks(n, threads_per_block), threads_per_block](
        indptr, indices, values, U, V, out)
    return out


class CudaEngine(NamespaceEngine):
    """Both sides as CSR arrays on the device; the half-steps, residuals and products with
    ``P_Ω(M)`` are Numba-CUDA kernel launches on arrays of the observations' namespace
    (CuPy; NumPy under the CUDA simulator in the tests). ``rank ≤ 32``."""

    def __init__(self, obs: ArrayObservations):
        super().__init__(obs)
        xp = obs.xp
        m, n = obs.shape
        self.sides = {
            "rows": sorted_csr(obs.rows, obs.cols, obs.values, m, n, xp),
            "cols": sorted_csr(obs.cols, obs.rows, obs.values, n, m, xp),
        }
        self._counts = {side: np.diff(to_numpy(csr[0])) for side, csr in self.sides.items()}
        values = obs.values
        self._sum_sq = float(xp.sum(xp.astype(values, xp.float64) ** 2))

    def stats(self, side: str) -> tuple[int, int, float]:
        counts = self._counts[side]
        return int(np.sum(counts > 0)), int(np.sum(counts)), self._sum_sq

    def half_step(self, side, other, current, solver, reg, cg_steps, sketch_size):
        xp = self.xp
        indptr, indices, values = self.sides[side]
        n_rows, k = current.shape
        if solver == "cg":
            out = xp.asarray(current, copy=True)
            launch_cg_rows_cuda(indptr, indices, values, other, reg, out, cg_steps)
            return out, 0
        G = xp.empty((n_rows, k, k), dtype=xp.float64, device=self.device)
        r = xp.empty((n_rows, k), dtype=xp.float64, device=self.device)
        launch_normal_equations_cuda(indptr, indices, values, other, reg, G, r)
        out = xp.empty((n_rows, k), dtype=current.dtype, device=self.device)
        failed = xp.zeros((n_rows,), dtype=xp.int32, device=self.device)
        launch_cholesky_solve_cuda(G, r, out, failed)
        return out, int(xp.sum(failed))

    def sse(self, U, V) -> float:
        xp = self.xp
        indptr, indices, values = self.sides["rows"]
        res = xp.empty(values.shape, dtype=xp.float64, device=self.device)
        launch_residuals_cuda(indptr, indices, values, U, V, res)
        return float(xp.sum(res * res))

    def matvec(self, side: str, x: Any) -> np.ndarray:
        from numlearn.linalg._csr_kernels import launch_csr_matvec_cuda

        xp = self.xp
        indptr, indices, values = self.sides[side]
        xd = xp.asarray(np.asarray(x, dtype=np.float64), device=self.device)
        out = xp.empty((indptr.shape[0] - 1,), dtype=xp.float64, device=self.device)
        launch_csr_matvec_cuda(indptr, indices, values, xd, out)
        return np.asarray(to_numpy(out), dtype=np.float64)
