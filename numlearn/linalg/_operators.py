"""Turning the many ways users give a linear operator into one ``matvec`` callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from numlearn.linalg._csr_kernels import csr_matvec

__all__ = ["as_matvec", "csr_matvec_function"]


def csr_matvec_function(A: sp.csr_matrix | sp.csr_array) -> Callable[[np.ndarray], np.ndarray]:
    """A ``v -> A @ v`` for a CSR matrix through the Numba kernel.

    Falls back to SciPy's product for dtypes the kernel is not compiled for.
    """
    A = A.tocsr()
    if A.dtype != np.float64:
        return lambda v: A @ v
    if not A.has_sorted_indices:
        A = A.sorted_indices()
    indptr, indices, data = A.indptr, A.indices, A.data
    n_rows = A.shape[0]

    def matvec(v):
        v = np.asarray(v)
        if v.dtype != np.float64 or v.ndim != 1:
            return A @ v
        return csr_matvec(indptr, indices, data, v, np.empty(n_rows))

    return matvec


def as_matvec(A: Any, xp=None) -> Callable:
    """Return ``v -> A @ v`` for a dense array, SciPy sparse matrix, LinearOperator or callable.

    Dense arrays of any array-API namespace are multiplied in their namespace; SciPy
    CSR/CSC matrices go through :func:`csr_matvec_function`.
    """
    if isinstance(A, LinearOperator):
        return A.matvec
    if sp.issparse(A):
        return csr_matvec_function(A)
    if callable(A) and not hasattr(A, "shape"):
        return A
    if xp is None:
        from numlearn._backend import get_namespace

        xp = get_namespace(A)
    return lambda v: xp.matmul(A, v)
