"""Turning the many ways users give a linear operator into one ``matvec`` callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from numlearn._validation import check_operator
from numlearn.linalg._csr_kernels import csr_matvec

__all__ = ["as_matvec", "csr_matvec_function", "square_operator"]


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
    CSR/CSC matrices go through :func:`csr_matvec_function`; ``cupyx.scipy.sparse`` matrices
    multiply on the GPU.
    """
    if isinstance(A, LinearOperator):
        return A.matvec
    if sp.issparse(A):
        return csr_matvec_function(A)
    from numlearn._backend import is_cupy_sparse

    if is_cupy_sparse(A):  # cupyx.scipy.sparse: cuSPARSE's SpMV, on the GPU
        return lambda v: A @ v
    if callable(A) and not hasattr(A, "shape"):
        return A
    if xp is None:
        from numlearn._backend import get_namespace

        xp = get_namespace(A)
    return lambda v: xp.matmul(A, v)


def square_operator(matvec: Any, n: int, name: str = "matvec"):
    """Validate an operator of shape ``(n, n)`` given as a callable, a dense array (or
    nested list), a SciPy sparse matrix or a LinearOperator.

    Returns ``(operator, dense)``: the operator to hand to
    :func:`~numlearn.linalg._operators.as_matvec`, and the validated dense array (for
    namespace inference) or None.
    """
    if (
        isinstance(matvec, (LinearOperator, list, tuple))
        or sp.issparse(matvec)
        or hasattr(matvec, "shape")
    ):
        A, shape = check_operator(matvec, name)
        if shape != (n, n):
            raise ValueError(f"{name} must have shape ({n}, {n}) to match n, got {shape}.")
        from numlearn._backend import is_cupy_sparse

        dense = A if hasattr(A, "__array_namespace__") or is_cupy_sparse(A) else None
        return A, dense
    if not callable(matvec):
        raise TypeError(
            f"{name} must be a callable v -> A @ v, an array, a sparse matrix or a "
            f"LinearOperator; got {type(matvec).__name__}."
        )
    return matvec, None
