"""scikit-learn style estimator for entropic optimal transport (domain adaptation)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from numlearn._validation import check_array, check_option, check_scalar
from numlearn.ot._sinkhorn import _METHODS, sinkhorn

__all__ = ["SinkhornTransport"]

_NORMS = (None, "max", "median")


class SinkhornTransport(BaseEstimator):
    """Entropic optimal transport between two point clouds, with a barycentric mapping.

    ``fit(Xs, Xt)`` builds the cost matrix between source and target samples
    (:func:`scipy.spatial.distance.cdist` with ``metric``; squared Euclidean by default),
    solves the entropic problem with :func:`numlearn.ot.sinkhorn` and stores the plan;
    ``transform(Xs)`` maps source samples onto the target domain by the barycentric
    mapping ``x_i ↦ Σ_j P_ij x^t_j / Σ_j P_ij``. Samples that were not seen in ``fit`` are
    mapped by the continuous extension of that map through the target potential (POT's
    ``out_of_sample_map="continuous"``).

    Parameters
    ----------
    reg : float, default 1e-1
        Entropic regularization (relative to the normalized cost when ``norm`` is set).
    method : {"sns", "sinkhorn_log", "sinkhorn"}, default "sns"
        Solver (see :func:`numlearn.ot.sinkhorn`).
    metric : str, default "sqeuclidean"
        Ground cost, any metric of :func:`scipy.spatial.distance.cdist`.
    norm : {None, "max", "median"}, default None
        Divide the cost matrix by its maximum or median before solving.
    tol : float, default 1e-9
        Marginal-error tolerance.
    max_iter : int, default 10000
        Maximum iterations (Newton iterations for ``method="sns"``).
    verbose : int, default 0
        Verbosity of the solver.

    Attributes
    ----------
    coupling_ : ndarray of shape (n_source, n_target)
        The transport plan.
    cost_ : ndarray of shape (n_source, n_target)
        The (normalized) cost matrix used.
    mu_s_, mu_t_ : ndarray
        Source and target marginals of the plan (uniform unless weights are given).
    f_, g_ : ndarray
        Dual potentials (``coupling_ = exp((f_ ⊕ g_ - cost_) / reg)``).
    n_iter_ : int
        Iterations of the solver.
    converged_ : bool
        Whether the solver met its tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import SinkhornTransport
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.standard_normal((30, 2))
    >>> Xt = Xs + np.array([5.0, 0.0])
    >>> est = SinkhornTransport(reg=1e-2, norm="max").fit(Xs, Xt)
    >>> est.coupling_.shape
    (30, 30)
    >>> float(np.abs(est.transform(Xs) - Xt).max()) < 0.5
    True
    """

    def __init__(self, reg: float = 1e-1, *, method: str = "sns", metric: str = "sqeuclidean",
                 norm: str | None = None, tol: float = 1e-9, max_iter: int = 10000,
                 verbose: int = 0):
        self.reg = reg
        self.method = method
        self.metric = metric
        self.norm = norm
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def fit(self, Xs: Any, Xt: Any, *, a: Any = None, b: Any = None) -> SinkhornTransport:
        """Compute the entropic plan between source ``Xs`` and target ``Xt`` samples.

        Parameters
        ----------
        Xs : array, shape (n_source, n_features)
        Xt : array, shape (n_target, n_features)
        a, b : arrays, optional
            Sample weights of the source and target (uniform by default).

        Returns
        -------
        self
        """
        check_option(self.method, "method", _METHODS)
        check_option(self.norm, "norm", _NORMS)
        check_scalar(self.reg, "reg", low=0.0, include_low=False)
        Xs = np.asarray(check_array(Xs, "Xs", ndim=2), dtype=np.float64)
        Xt = np.asarray(check_array(Xt, "Xt", ndim=2), dtype=np.float64)
        if Xs.shape[1] != Xt.shape[1]:
            raise ValueError(
                f"Xs and Xt must have the same number of features, got {Xs.shape[1]} and "
                f"{Xt.shape[1]}."
            )
        M = cdist(Xs, Xt, metric=self.metric)
        scale = 1.0
        if self.norm == "max":
            scale = float(M.max())
        elif self.norm == "median":
            scale = float(np.median(M))
        scale = scale if scale > 0 else 1.0
        M = M / scale
        res = sinkhorn(a, b, M, self.reg, method=self.method, tol=self.tol,
                       max_iter=self.max_iter, verbose=self.verbose)
        self.Xs_, self.Xt_ = Xs, Xt
        self.cost_ = M
        self.cost_scale_ = scale
        self.f_, self.g_ = res.f.astype(np.float64), res.g.astype(np.float64)
        self.coupling_ = res.plan
        self.mu_s_ = res.plan.sum(axis=1)
        self.mu_t_ = res.plan.sum(axis=0)
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        self.result_ = res
        return self

    def transform(self, Xs: Any) -> np.ndarray:
        """Map samples to the target domain by the entropic (barycentric) map.

        ``T(x) = Σ_j w_j(x) x^t_j`` with ``w_j(x) ∝ exp((g_j - c(x, x^t_j)) / reg)``, ``g``
        the target potential: for a fitted source sample this is the barycentric map
        ``Σ_j P_ij x^t_j / Σ_j P_ij`` of the plan's row, and it extends continuously to new
        samples (POT's ``out_of_sample_map="continuous"``).

        Parameters
        ----------
        Xs : array, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_features)
        """
        check_is_fitted(self, "coupling_")
        Xs = np.asarray(check_array(Xs, "Xs", ndim=2), dtype=np.float64)
        if Xs.shape[1] != self.Xt_.shape[1]:
            raise ValueError(
                f"Xs must have {self.Xt_.shape[1]} features, got {Xs.shape[1]}."
            )
        M = cdist(Xs, self.Xt_, metric=self.metric) / self.cost_scale_
        L = (self.g_[None, :] - M) / self.reg
        L -= L.max(axis=1, keepdims=True)
        W = np.exp(L)
        return (W @ self.Xt_) / W.sum(axis=1, keepdims=True)

    def fit_transform(self, Xs: Any, Xt: Any, **fit_params: Any) -> np.ndarray:
        """``fit(Xs, Xt)`` then ``transform(Xs)``."""
        return self.fit(Xs, Xt, **fit_params).transform(Xs)
