"""Spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ).

For a random unit vector ``v``, ``m`` Lanczos steps on ``A`` from ``v`` give a tridiagonal
``T`` whose eigenpairs ``(θ_j, y_j)`` are the nodes and weights ``τ_j = (e₁ᵀ y_j)²`` of
the Gauss quadrature of the measure ``μ_v = Σ_i (vᵀu_i)² δ(λ_i)``; over random ``v``,
``E[μ_v]`` is the empirical spectral measure ``(1/n) Σ_i δ(λ_i)``. Averaging over
``n_vectors`` starts and smoothing the nodes with a Gaussian kernel gives the density
(Lin, Saad and Yang 2016; Ghorbani, Krishnan and Xiao 2019; PyHessian's ``density``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._backend import to_numpy
from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import (
    check_random_state,
    check_scalar,
    suggest_keywords,
)
from numlearn.linalg._operators import as_matvec, square_operator
from numlearn.linalg.lanczos import _cgs2

__all__ = ["spectral_density", "lanczos_quadrature"]


def lanczos_quadrature(matvec: Callable, v0: np.ndarray, n_steps: int):
    """Gauss quadrature nodes and weights of ``v0``'s spectral measure from ``n_steps``
    Lanczos steps with full reorthogonalization (the basis is ``n_steps × n``).

    Stops early at an invariant subspace (the quadrature is then exact). Returns
    ``(nodes, weights, n_matvec)`` with ``weights`` summing to 1.
    """
    n = v0.shape[0]
    v = v0 / np.linalg.norm(v0)
    V = np.empty((n_steps, n), dtype=np.float64)
    alpha, beta = [], []
    scale = 0.0
    for j in range(n_steps):
        V[j] = v
        w = np.asarray(matvec(v), dtype=np.float64).reshape(n)
        scale = max(scale, float(np.linalg.norm(w)))
        w, h = _cgs2(V[: j + 1], w)
        alpha.append(float(h[j]))
        b = float(np.linalg.norm(w))
        if j == n_steps - 1 or b <= 1e3 * np.finfo(float).eps * max(scale, 1e-300):
            break
        beta.append(b)
        v = w / b
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    theta, Y = np.linalg.eigh(T)
    return theta, Y[0] ** 2, len(alpha)


@suggest_keywords
def spectral_density(
    A: Any,
    n: int | None = None,
    *,
    n_vectors: int = 10,
    n_steps: int = 80,
    sigma: float | None = None,
    n_grid: int = 1000,
    grid: Any = None,
    random_state: Any = None,
) -> SolverResult:
    """Eigenvalue density of a symmetric matrix or operator by stochastic Lanczos quadrature.

    Parameters
    ----------
    A : array, sparse matrix, LinearOperator or callable
        The symmetric operator (a callable ``v -> A v`` needs ``n``).
    n : int, optional
        Size of a callable operator.
    n_vectors : int, default=10
        Random (Rademacher) starts averaged over.
    n_steps : int, default=80
        Lanczos steps per start (capped at ``n``); ``2·n_steps − 1`` spectral moments are
        exact per start.
    sigma : float, optional
        Width of the Gaussian kernel; by default 1% of the spread of the nodes.
    n_grid : int, default=1000
        Points of the default grid, which spans the nodes ± 5 ``sigma``.
    grid : array, optional
        Where to evaluate the density instead.
    random_state : None, int or Generator

    Returns
    -------
    result : SolverResult
        ``grid``, ``density`` (integrates to 1 over the default grid), ``nodes`` and
        ``weights`` (``(n_vectors, n_steps)``, NaN-padded after an early stop; each row of
        weights sums to 1), ``sigma``, ``n_matvec``; ``n_iter`` is the Lanczos steps taken.

    References
    ----------
    .. [1] L. Lin, Y. Saad and C. Yang, "Approximating spectral densities of large
       matrices", SIAM Review 58(1), 2016.
    .. [2] B. Ghorbani, S. Krishnan and Y. Xiao, "An investigation into neural net
       optimization via Hessian eigenvalue density", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linalg import spectral_density
    >>> A = np.diag(np.r_[np.zeros(50), np.ones(50)])
    >>> res = spectral_density(A, n_vectors=20, n_steps=10, sigma=0.05, random_state=0)
    >>> dx = res.grid[1] - res.grid[0]
    >>> round(float(res.density.sum() * dx), 6)
    1.0
    >>> mass_near_1 = res.density[res.grid > 0.5].sum() * dx   # half the eigenvalues are 1
    >>> bool(abs(mass_near_1 - 0.5) < 0.1)
    True
    """
    if callable(A) and not hasattr(A, "shape"):
        if n is None:
            raise TypeError("n must be given when A is a callable v -> A v.")
        n = check_scalar(n, "n", kind=int, low=1)
        matvec = A
    else:
        if n is None:
            n = getattr(A, "shape", (len(A),))[0]
        op, _ = square_operator(A, n, "A")
        matvec = as_matvec(op)
    n_vectors = check_scalar(n_vectors, "n_vectors", kind=int, low=1)
    n_steps = min(check_scalar(n_steps, "n_steps", kind=int, low=1), n)
    sigma = check_scalar(sigma, "sigma", low=0.0, include_low=False, allow_none=True)
    n_grid = check_scalar(n_grid, "n_grid", kind=int, low=2)
    rng = check_random_state(random_state)
    nodes = np.full((n_vectors, n_steps), np.nan)
    weights = np.full((n_vectors, n_steps), np.nan)
    steps = 0
    for i in range(n_vectors):
        v0 = rng.choice((-1.0, 1.0), size=n)
        theta, tau, m = lanczos_quadrature(matvec, v0, n_steps)
        nodes[i, :m], weights[i, :m] = theta, tau
        steps += m
    finite = np.isfinite(nodes)
    lo, hi = float(nodes[finite].min()), float(nodes[finite].max())
    if sigma is None:
        sigma = 0.01 * (hi - lo) if hi > lo else 0.01 * max(abs(hi), 1.0)
    if grid is None:
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, n_grid)
    else:
        grid = np.asarray(to_numpy(grid), dtype=np.float64).ravel()
    th, tw = nodes[finite], weights[finite] / n_vectors
    density = np.zeros_like(grid)
    norm = 1.0 / (sigma * np.sqrt(2 * np.pi))
    for start in range(0, th.size, 256):  # (grid × nodes) in chunks
        d = (grid[:, None] - th[None, start:start + 256]) / sigma
        density += (np.exp(-0.5 * d * d) * norm) @ tw[start:start + 256]
    return make_result(status=Status.SUCCESS, n_iter=steps, grid=grid, density=density,
                       nodes=nodes, weights=weights, sigma=float(sigma), n_matvec=steps)
