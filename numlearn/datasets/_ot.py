"""Optimal-transport test problems: weights ``a``, ``b`` and a cost matrix ``M``."""

from __future__ import annotations

from typing import Any

import numpy as np

from numlearn._validation import check_random_state, check_scalar

__all__ = ["ot_gaussian_clouds", "ot_random_assignment", "ot_grid_1d"]


def ot_gaussian_clouds(n: int, m: int | None = None, *, d: int = 2, shift: float = 2.0,
                       random_state: Any = 0):
    """Two Gaussian point clouds, uniform weights, squared Euclidean cost scaled to max 1.

    The source is ``N(0, I_d)``, the target ``N(shift, I_d)``.

    Returns
    -------
    a : ndarray, shape (n,)
    b : ndarray, shape (m,)
    M : ndarray, shape (n, m)
        ``‖x_i - y_j‖² / max_ij ‖x_i - y_j‖²``.

    Examples
    --------
    >>> from numlearn.datasets import ot_gaussian_clouds
    >>> a, b, M = ot_gaussian_clouds(5, 4)
    >>> M.shape, float(M.max()), float(a.sum())
    ((5, 4), 1.0, 1.0)
    """
    n = check_scalar(n, "n", kind=int, low=1)
    m = n if m is None else check_scalar(m, "m", kind=int, low=1)
    shift = check_scalar(shift, "shift")  # finite: NaN or inf would poison every cost
    rng = check_random_state(random_state)
    xs = rng.standard_normal((n, d))
    xt = rng.standard_normal((m, d)) + shift
    M = (xs * xs).sum(1)[:, None] + (xt * xt).sum(1)[None, :] - 2.0 * xs @ xt.T
    np.maximum(M, 0.0, out=M)
    M /= M.max()
    return np.full(n, 1.0 / n), np.full(m, 1.0 / m), M


def ot_random_assignment(n: int, *, random_state: Any = 0):
    """The random assignment problem: i.i.d. uniform costs in [0, 1], uniform weights.

    The "random" benchmark of Tang et al. (ICLR 2024) for Sinkhorn–Newton–Sparse.

    Examples
    --------
    >>> from numlearn.datasets import ot_random_assignment
    >>> a, b, M = ot_random_assignment(3)
    >>> M.shape
    (3, 3)
    """
    n = check_scalar(n, "n", kind=int, low=1)
    rng = check_random_state(random_state)
    return np.full(n, 1.0 / n), np.full(n, 1.0 / n), rng.random((n, n))


def ot_grid_1d(n: int = 100, *, normalize: bool = True):
    """POT's 1-D example: Gaussian histograms on a grid with the squared grid cost.

    ``M[i, j] = (i - j)²`` (POT's ``ot.utils.dist0(n)``), divided by its maximum when
    ``normalize``; ``a`` is a Gaussian bump at ``n/5`` (std ``n/20``), ``b`` one at
    ``3n/5`` (std ``n/10``), as in POT's ``ot.datasets.make_1D_gauss`` examples.

    Examples
    --------
    >>> from numlearn.datasets import ot_grid_1d
    >>> a, b, M = ot_grid_1d(100)
    >>> float(M[0, -1]), round(float(b.sum()), 12)
    (1.0, 1.0)
    """
    n = check_scalar(n, "n", kind=int, low=2)
    x = np.arange(n, dtype=np.float64)
    M = (x[:, None] - x[None, :]) ** 2
    if normalize:
        M /= M.max()

    def gauss(mean, std):
        h = np.exp(-((x - mean) ** 2) / (2 * std**2))
        return h / h.sum()

    return gauss(n / 5, n / 20), gauss(3 * n / 5, n / 10), M
