"""Fused Numba kernels for conjugate gradients on CSR matrices (CPU and CUDA twins).

Each CG iteration is one sparse product fused with the dot product ``pᵀAp``, one fused
update ``x += αp, r -= αq`` that also returns ``‖r‖²``, and one direction update: three
passes over memory where an unfused implementation makes about eight.

The kernels are deliberately single-threaded: they are memory-bound, and on a 2-core
machine with any other load a ``parallel=True`` region waited a scheduler tick (~4-8 ms)
per call, against 3-50 µs serial (measured; see the foundation issue's note).
"""

from __future__ import annotations

import numba
import numpy as np

from numlearn.linalg._csr_kernels import csr_row_dot

__all__ = [
    "csr_matvec_dot",
    "cg_update",
    "cg_direction",
    "launch_cg_update_cuda",
]


# Reassociating sums lets LLVM vectorize the reductions (3x faster updates); NaN and
# infinity semantics are kept, and the caller checks the returned sums for finiteness.
_REDUCTION_MATH = {"reassoc", "contract"}


@numba.njit(cache=True)
def csr_matvec_dot(indptr, indices, data, p, q):
    """``q[:] = A @ p`` and return ``p @ q``, in one pass over ``A``."""
    total = 0.0
    for i in range(indptr.shape[0] - 1):
        acc = csr_row_dot(indptr, indices, data, p, i)
        q[np.uintp(i)] = acc
        total += p[np.uintp(i)] * acc
    return total


@numba.njit(cache=True, fastmath=_REDUCTION_MATH)
def cg_update(x, r, p, q, alpha):
    """``x += alpha p``, ``r -= alpha q``; return ``r @ r``."""
    total = 0.0
    for i in range(x.shape[0]):
        x[i] += alpha * p[i]
        ri = r[i] - alpha * q[i]
        r[i] = ri
        total += ri * ri
    return total


@numba.njit(cache=True)
def cg_direction(p, z, beta):
    """``p = z + beta p`` in place."""
    for i in range(p.shape[0]):
        p[i] = z[i] + beta * p[i]
    return p


def launch_cg_update_cuda(x, r, p, q, alpha, *, threads_per_block: int = 128) -> float:
    """Run the Numba-CUDA twin of :func:`cg_update` and return ``r @ r``."""
    from numlearn.linalg._cuda_kernels import cg_update_kernel

    rr = np.zeros(1)
    blocks = max(1, (x.shape[0] + threads_per_block - 1) // threads_per_block)
    cg_update_kernel[blocks, threads_per_block](x, r, p, q, alpha, rr)
    return float(rr[0])
