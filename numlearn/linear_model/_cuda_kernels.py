"""Numba-CUDA kernels of the parallel coordinate descent (:mod:`._cd_parallel`).

This module imports ``numba.cuda`` at the top, so it is imported only by the launch
helper :func:`numlearn.linear_model._cd_parallel.launch_prox_step_cuda`, on first use:
importing numlearn never touches CUDA. Kernels are defined at module level (the CUDA
simulator swaps the ``cuda`` global of a kernel's module).
"""

from numba import cuda, float64

__all__ = ["prox_step_kernel"]

_TPB = 128  # size of the shared reduction buffer: launches use <= 128 threads per block


@cuda.jit
def prox_step_kernel(v, g, lip, beta, l1, l2, keep, w_out, d_out, acc):
    """Fused parallel coordinate step, one thread per coordinate ``j``:
    ``w_j = prox_{step g}(v_j - step g_j)`` with ``step = 1 / (β lip_j)`` for the penalty
    ``l1 |.| + l2 (.)² / 2`` (soft-thresholding, then shrinkage), ``d_j = w_j - v_j``, and
    ``acc[0] += Σ_j lip_j d_j²`` (a shared-memory tree reduction per block, then one
    atomic add per block; ``blockDim.x`` a power of two ≤ 128). Coordinates with
    ``lip_j = 0`` go to 0, or keep ``v_j`` when ``keep``. CPU twin:
    :func:`numlearn.linear_model._cd_parallel.prox_step_cpu`.
    """
    buf = cuda.shared.array(_TPB, float64)
    tid = cuda.threadIdx.x
    j = cuda.grid(1)
    contrib = 0.0
    if j < v.shape[0]:
        L = lip[j]
        vj = v[j]
        if L > 0:
            s = 1.0 / (beta * L)
            u = vj - s * g[j]
            a = abs(u) - s * l1
            if a > 0:
                wj = (a if u > 0 else -a) / (1.0 + s * l2)
            else:
                wj = 0.0
        elif keep:
            wj = vj
        else:
            wj = 0.0
        dj = wj - vj
        w_out[j] = wj
        d_out[j] = dj
        contrib = L * dj * dj
    buf[tid] = contrib
    cuda.syncthreads()
    half = cuda.blockDim.x // 2
    while half > 0:
        if tid < half:
            buf[tid] += buf[tid + half]
        cuda.syncthreads()
        half //= 2
    if tid == 0:
        cuda.atomic.add(acc, 0, buf[0])
