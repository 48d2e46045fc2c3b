"""Polynomial preconditioners: ``M⁻¹ = p(A)`` applied with matrix-vector products only."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from numlearn._validation import check_operator, check_scalar, suggest_keywords

__all__ = ["chebyshev_preconditioner"]


def _gershgorin_upper(A) -> float:
    """``max_i Σ_j |a_ij|``: an upper bound on the spectrum of symmetric ``A``."""
    if sp.issparse(A):
        return float(np.max(np.asarray(abs(A).sum(axis=1)).ravel()))
    return float(np.max(np.sum(np.abs(A), axis=1)))


@suggest_keywords
def chebyshev_preconditioner(
    A: Any,
    degree: int,
    *,
    upper: float | None = None,
    ratio: float = 30.0,
) -> LinearOperator:
    """The Chebyshev polynomial preconditioner ``M⁻¹ = p(A)`` of a given degree.

    ``p`` is the polynomial of degree ``degree`` whose residual polynomial
    ``1 − λ p(λ)`` is the scaled Chebyshev polynomial ``T_{d+1}`` of the interval
    ``[upper / ratio, upper]`` (the smallest on that interval of all residual polynomials
    of its degree); ``M⁻¹ r`` is ``degree + 1`` steps of the Chebyshev iteration for
    ``A z = r`` from ``z = 0`` [1]_: ``degree`` products with ``A`` and a few vector
    updates, no inner products, so it suits the GPU and distributed settings where
    incomplete factorizations do not. ``degree = 0`` is a scalar multiple of the
    identity (no preconditioning).

    For symmetric positive definite ``A`` with ``λ_max ≤ upper`` the preconditioner is
    symmetric positive definite whatever the smallest eigenvalue (below the interval
    ``0 < 1 − λ p(λ) < 1`` still holds), so it can be used with
    :func:`~numlearn.linalg.cg` (``M=``). The default ``upper`` is Gershgorin's bound
    ``max_i Σ_j |a_ij|``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, n)
        Symmetric positive definite matrix.
    degree : int
        Degree of ``p`` (``≥ 0``): each application costs ``degree`` products with ``A``.
    upper : float, optional
        Upper end of the interval: an upper bound on ``λ_max(A)``.
    ratio : float, default 30.0
        ``upper / lower`` of the interval (``> 1``): larger targets smaller eigenvalues
        at the price of a weaker reduction of the others.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``r ↦ p(A) r``, shape ``(n, n)``.

    Raises
    ------
    ValueError
        If ``A`` is not square or finite, ``degree < 0``, ``upper ≤ 0`` or ``ratio ≤ 1``.

    References
    ----------
    .. [1] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., SIAM, 2003,
       sections 12.3 (polynomial preconditioning) and Algorithm 12.1.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import poisson_2d
    >>> from numlearn.linalg import cg
    >>> from numlearn.linalg.polynomial import chebyshev_preconditioner
    >>> A = poisson_2d(30)
    >>> b = np.ones(A.shape[0])
    >>> plain = cg(A, b, rtol=1e-8).n_iter
    >>> res = cg(A, b, rtol=1e-8, M=chebyshev_preconditioner(A, 4))
    >>> res.converged, plain, res.n_iter
    (True, 55, 14)
    """
    A, (n, _) = check_operator(A, "A")
    degree = check_scalar(degree, "degree", kind=int, low=0)
    ratio = check_scalar(ratio, "ratio", low=1.0, include_low=False)
    if upper is None:
        upper = _gershgorin_upper(A)
    upper = check_scalar(upper, "upper", low=0.0, include_low=False)
    lower = upper / ratio
    theta = 0.5 * (upper + lower)  # centre and half-width of the interval
    delta = 0.5 * (upper - lower)
    sigma = theta / delta

    def apply(r):
        r = np.asarray(r, dtype=np.float64).reshape(-1)
        z = r / theta
        if degree == 0:
            return z
        res = r - A @ z
        d = z.copy()
        rho = 1.0 / sigma
        for _ in range(degree):
            rho_next = 1.0 / (2.0 * sigma - rho)
            d *= rho_next * rho
            d += (2.0 * rho_next / delta) * res
            z += d
            rho = rho_next
            if _ < degree - 1:
                res -= A @ d
        return z

    return LinearOperator((n, n), matvec=apply, dtype=np.float64)
