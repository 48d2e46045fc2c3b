"""The Hessian's spectrum beyond its top eigenvalue: density and gradient overlap."""

from __future__ import annotations

from typing import Any

import numpy as np

from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import check_scalar, suggest_keywords
from numlearn.dynamics import _namespace as nsp
from numlearn.dynamics._tools import _check_model, _check_point, _model_xp, sharpness
from numlearn.linalg.density import spectral_density

__all__ = ["hessian_density", "gradient_overlap"]


@suggest_keywords
def hessian_density(
    model: Any,
    w: Any,
    *,
    n_vectors: int = 10,
    n_steps: int = 80,
    sigma: float | None = None,
    n_grid: int = 1000,
    grid: Any = None,
    random_state: Any = None,
) -> SolverResult:
    """Eigenvalue density of the loss Hessian by stochastic Lanczos quadrature.

    ``n_vectors · n_steps`` Hessian-vector products; the Hessian is never formed. This is
    PyHessian's ``density`` (Ghorbani et al. 2019): outliers separate from the bulk as
    training goes on, and the bulk concentrates near zero.

    Parameters
    ----------
    model : Model
        Anything with ``n_params`` and ``hvp(w, v)``.
    w : array of shape (n_params,)
    n_vectors, n_steps, sigma, n_grid, grid, random_state
        As in :func:`numlearn.linalg.spectral_density`.

    Returns
    -------
    result : SolverResult
        ``grid``, ``density`` (NumPy arrays), ``nodes``, ``weights``, ``sigma`` and
        ``n_hvp``.

    References
    ----------
    .. [1] B. Ghorbani, S. Krishnan and Y. Xiao, "An investigation into neural net
       optimization via Hessian eigenvalue density", ICML 2019.
    .. [2] Z. Yao, A. Gholami, K. Keutzer and M. Mahoney, "PyHessian: neural networks
       through the lens of the Hessian", IEEE BigData 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, hessian_density
    >>> X = np.random.default_rng(0).standard_normal((200, 40))
    >>> res = hessian_density(LinearRegression(X, np.zeros(200)), np.zeros(40),
    ...                       n_vectors=5, random_state=0)
    >>> dx = res.grid[1] - res.grid[0]
    >>> round(float(res.density.sum() * dx), 4)   # a probability density
    1.0
    """
    _check_model(model, ("hvp",))
    w = _check_point(model, w)
    xp = _model_xp(model)
    if xp is np:
        def matvec(v):
            return model.hvp(w, v)
    else:
        def matvec(v):
            return np.asarray(nsp.host(model.hvp(w, model._to_model(v))))
    res = spectral_density(matvec, model.n_params, n_vectors=n_vectors, n_steps=n_steps,
                           sigma=sigma, n_grid=n_grid, grid=grid, random_state=random_state)
    return make_result(status=Status.SUCCESS, n_iter=res.n_iter, grid=res.grid,
                       density=res.density, nodes=res.nodes, weights=res.weights,
                       sigma=res.sigma, n_hvp=res.n_matvec)


@suggest_keywords
def gradient_overlap(
    model: Any,
    w: Any,
    k: int = 1,
    *,
    tol: float = 1e-10,
    random_state: Any = None,
) -> SolverResult:
    """Fraction of the gradient in the Hessian's top-``k`` eigenspace,
    ``‖V_kᵀ∇L‖² / ‖∇L‖²`` (Gur-Ari, Roberts and Dyer: gradient descent happens in a tiny
    subspace, the overlap approaching 1 for ``k`` the number of classes).

    Parameters
    ----------
    model : Model
        Anything with ``n_params``, ``grad`` and ``hvp``.
    w : array of shape (n_params,)
    k : int, default=1
        Dimension of the top eigenspace.
    tol : float, default=1e-10
        Lanczos tolerance (see :func:`~numlearn.dynamics.sharpness`).
    random_state : None, int or Generator

    Returns
    -------
    result : SolverResult
        ``overlap`` (float in [0, 1]), ``eigenvalues`` (ascending), ``eigenvectors``,
        ``n_hvp``.

    References
    ----------
    .. [1] G. Gur-Ari, D. A. Roberts and E. Dyer, "Gradient descent happens in a tiny
       subspace", arXiv:1812.04754, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, gradient_overlap
    >>> model = LinearRegression(np.diag([3.0, 1.0]), [3.0, 0.0])
    >>> float(gradient_overlap(model, np.zeros(2), k=1).overlap)  # ∇L ∥ top eigenvector
    1.0
    """
    _check_model(model, ("grad", "hvp"))
    w = _check_point(model, w)
    k = check_scalar(k, "k", kind=int, low=1, high=model.n_params)
    top = sharpness(model, w, k, tol=tol, random_state=random_state)
    xp = _model_xp(model)
    g = model.grad(w)
    gg = float(nsp.norm(xp, g)) ** 2
    if gg == 0.0:
        overlap = 0.0
    else:
        proj = top.eigenvectors.T @ g
        overlap = min(float(nsp.norm(xp, proj)) ** 2 / gg, 1.0)
    return make_result(status=top.status, n_iter=top.n_iter, overlap=overlap,
                       eigenvalues=top.eigenvalues, eigenvectors=top.eigenvectors,
                       n_hvp=top.n_hvp)
