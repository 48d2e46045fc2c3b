"""Entropic optimal transport.

:func:`sinkhorn` (Sinkhorn–Knopp scaling, log-domain Sinkhorn, or SNS through
``method=``), :func:`sinkhorn_newton_sparse` (Sinkhorn–Newton–Sparse, Tang et al.,
ICLR 2024) and the :class:`SinkhornTransport` estimator (domain adaptation by the
barycentric mapping of an entropic plan). Hot loops (row/column log-sum-exp, the fused
marginals + sparsification pass, the sparse Hessian products) are Numba kernels in
``numlearn.ot._kernels``; memory stays that of the cost matrix plus ``O(n + m + nnz)``.
CuPy (or any array-API) inputs run in their library, on their device: the log-sum-exp
half-steps and the SNS top-k sparsifier on Numba-CUDA kernels
(``numlearn.ot._cuda_kernels``) for CuPy, whole-matrix array-API operations otherwise.
"""

from numlearn.ot._estimator import SinkhornTransport
from numlearn.ot._sinkhorn import sinkhorn, sinkhorn_newton_sparse
from numlearn.ot._sample import LazyPlan, sinkhorn_divergence, sinkhorn_sample
from numlearn.ot._unbalanced import sinkhorn_unbalanced

__all__ = ["sinkhorn", "sinkhorn_newton_sparse", "sinkhorn_unbalanced", "sinkhorn_sample",
           "sinkhorn_divergence", "LazyPlan", "SinkhornTransport"]
