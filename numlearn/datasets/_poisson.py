"""Finite-difference Laplacians: the model problems of numerical linear algebra."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from numlearn._validation import check_scalar

__all__ = ["poisson_1d", "poisson_2d", "poisson_2d_eigenvalues"]


def poisson_1d(n: int, *, format: str = "csr") -> sp.csr_matrix:
    """The 1-D Laplacian ``tridiag(-1, 2, -1)`` of size ``n`` (Dirichlet boundary, unscaled).

    Examples
    --------
    >>> from numlearn.datasets import poisson_1d
    >>> poisson_1d(3).toarray()
    array([[ 2., -1.,  0.],
           [-1.,  2., -1.],
           [ 0., -1.,  2.]])
    """
    n = check_scalar(n, "n", kind=int, low=1)
    diagonals = [-np.ones(n - 1), 2.0 * np.ones(n), -np.ones(n - 1)]
    return sp.diags(diagonals, [-1, 0, 1], shape=(n, n), format=format, dtype=np.float64)


def poisson_2d(n_grid: int, *, format: str = "csr") -> sp.csr_matrix:
    """The 2-D 5-point Laplacian on an ``n_grid × n_grid`` interior grid (diagonal 4).

    Unknowns are ordered row by row (natural ordering), so the matrix has
    ``n_grid**2`` rows, is symmetric positive definite and consistently ordered; it is
    MATLAB's ``delsq(numgrid('S', n_grid + 2))``.

    Examples
    --------
    >>> from numlearn.datasets import poisson_2d
    >>> A = poisson_2d(3)
    >>> A.shape, A.diagonal()[0], A.nnz
    ((9, 9), np.float64(4.0), 33)
    """
    n_grid = check_scalar(n_grid, "n_grid", kind=int, low=1)
    T = poisson_1d(n_grid)
    eye = sp.identity(n_grid, format="csr", dtype=np.float64)
    return (sp.kron(T, eye) + sp.kron(eye, T)).asformat(format)


def poisson_2d_eigenvalues(n_grid: int) -> np.ndarray:
    """All eigenvalues of :func:`poisson_2d` in ascending order (closed form).

    ``λ_ij = 4 − 2 cos(iπh) − 2 cos(jπh)``, ``h = 1/(n_grid + 1)``, ``i, j = 1..n_grid``.
    """
    n_grid = check_scalar(n_grid, "n_grid", kind=int, low=1)
    theta = np.arange(1, n_grid + 1) * np.pi / (n_grid + 1)
    lam = 2.0 - 2.0 * np.cos(theta)
    return np.sort((lam[:, None] + lam[None, :]).ravel())
