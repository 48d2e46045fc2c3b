"""Entropic optimal transport.

:func:`sinkhorn` (``method="auto"`` by default: Sinkhorn–Knopp scaling on the Gibbs
kernel while it is safe, the log domain when it underflows, Sinkhorn–Newton–Sparse's
Newton phase once Sinkhorn stalls; or one of them through ``method=``),
:func:`sinkhorn_newton_sparse` (Tang et al., ICLR 2024), :func:`sinkhorn_unbalanced`
(KL-relaxed marginals, POT's semantics), :func:`sinkhorn_sample` and
:func:`sinkhorn_divergence` (point clouds, the cost computed on the fly: memory
``O((n + m) d)``, plans as a :class:`LazyPlan`) and the :class:`SinkhornTransport`
estimator (domain adaptation by the barycentric mapping of an entropic plan). Hot loops
(row/column log-sum-exp, the Gibbs kernel, the fused marginals + sparsification pass,
the sparse Hessian products, the on-the-fly cost reductions) are Numba kernels in
``numlearn.ot._kernels`` and ``numlearn.ot._sample_kernels``.
CuPy (or any array-API) inputs run in their library, on their device: the log-sum-exp
half-steps and the SNS top-k sparsifier on Numba-CUDA kernels
(``numlearn.ot._cuda_kernels``) for CuPy, whole-matrix array-API operations otherwise.
Each loop (scaling, log domain, auto, SNS Newton) is written once
(``numlearn.ot._sinkhorn_loop``) against the array namespace and the primitives of an
``Ops`` (``numlearn.ot._ops``: Numba, generic array-API or CUDA), picked at entry.
"""

from numlearn.ot._estimator import SinkhornTransport
from numlearn.ot._sinkhorn import sinkhorn, sinkhorn_newton_sparse
from numlearn.ot._sample import LazyPlan, sinkhorn_divergence, sinkhorn_sample
from numlearn.ot._unbalanced import sinkhorn_unbalanced

__all__ = ["sinkhorn", "sinkhorn_newton_sparse", "sinkhorn_unbalanced", "sinkhorn_sample",
           "sinkhorn_divergence", "LazyPlan", "SinkhornTransport"]
