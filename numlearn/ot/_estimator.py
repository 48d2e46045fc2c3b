"""scikit-learn style estimator for entropic optimal transport (domain adaptation)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from numlearn._backend import (get_namespace, is_numpy_namespace, non_numpy_namespace,
                               to_device, to_numpy)
from numlearn._validation import check_array, check_option, check_scalar, suggest_keywords
from numlearn.ot._sinkhorn import _METHODS, sinkhorn

__all__ = ["SinkhornTransport"]

_NORMS = (None, "max", "median")

# metrics computed in the inputs' namespace, feature by feature (as cdist sums them)
_XP_METRICS = ("sqeuclidean", "euclidean", "cityblock")


def _namespace(*arrays):
    """The namespace the estimator computes in: the inputs' library when
    :func:`~numlearn._backend.non_numpy_namespace` finds one, NumPy's (array-API wrapper)
    otherwise."""
    xp = non_numpy_namespace(*arrays)
    return get_namespace() if xp is None else xp


def _as_float64(X, name, xp):
    if is_numpy_namespace(xp):
        return np.asarray(check_array(X, name, ndim=2), dtype=np.float64)
    if not hasattr(X, "__array_namespace__"):
        raise TypeError(f"{name} must be an array of the same library as the other inputs.")
    return xp.astype(check_array(X, name, ndim=2, xp=xp), xp.float64)


def _cost_matrix(Xs, Xt, metric, xp):
    """``cdist(Xs, Xt, metric)`` in ``xp`` (on the inputs' device for the metrics of
    ``_XP_METRICS``; other metrics go through SciPy on the host and back)."""
    if is_numpy_namespace(xp):
        return cdist(Xs, Xt, metric=metric)
    if metric not in _XP_METRICS:
        return to_device(cdist(to_numpy(Xs), to_numpy(Xt), metric=metric), Xs)
    M = xp.zeros((Xs.shape[0], Xt.shape[0]), dtype=xp.float64)
    for k in range(Xs.shape[1]):
        d = Xs[:, k:k + 1] - xp.reshape(Xt[:, k], (1, -1))
        M = M + (xp.abs(d) if metric == "cityblock" else d * d)
    return xp.sqrt(M) if metric == "euclidean" else M


class SinkhornTransport(BaseEstimator):
    """Entropic optimal transport between two point clouds, with a barycentric mapping.

    ``fit(Xs, Xt)`` builds the cost matrix between source and target samples
    (:func:`scipy.spatial.distance.cdist` with ``metric``; squared Euclidean by default),
    solves the entropic problem with :func:`numlearn.ot.sinkhorn` and stores the plan;
    ``transform(Xs)`` maps source samples onto the target domain by the barycentric
    mapping ``x_i ↦ Σ_j P_ij x^t_j / Σ_j P_ij``. Samples that were not seen in ``fit`` are
    mapped by the continuous extension of that map through the target potential (POT's
    ``out_of_sample_map="continuous"``).

    Samples given as arrays of another array-API library (CuPy on a GPU,
    ``array_api_strict``) are fitted and transformed in that library, on their device,
    and the fitted arrays and the output of ``transform`` live there too (the
    ``"sqeuclidean"``, ``"euclidean"`` and ``"cityblock"`` costs are computed there;
    other metrics go through :func:`~scipy.spatial.distance.cdist` on the host).

    Parameters
    ----------
    reg : float, default 1e-1
        Entropic regularization (relative to the normalized cost when ``norm`` is set).
    method : {"auto", "sns", "sinkhorn_log", "sinkhorn"}, default "auto"
        Solver (see :func:`numlearn.ot.sinkhorn`): ``"auto"`` runs scaling iterations
        while they are safe, the log domain otherwise, and SNS's Newton phase once
        Sinkhorn stalls.
    metric : str, default "sqeuclidean"
        Ground cost, any metric of :func:`scipy.spatial.distance.cdist`.
    norm : {None, "max", "median"}, default None
        Divide the cost matrix by its maximum or median before solving.
    tol : float, default 1e-9
        Marginal-error tolerance.
    max_iter : int, default 10000
        Maximum iterations (Newton iterations for ``method="sns"``, Sinkhorn plus Newton
        iterations for ``"auto"``, Sinkhorn iterations otherwise).
    verbose : int, default 0
        Verbosity of the solver.

    Attributes
    ----------
    coupling_ : array of shape (n_source, n_target)
        The transport plan (in the namespace of the fitted samples).
    cost_ : array of shape (n_source, n_target)
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

    @suggest_keywords
    def __init__(self, reg: float = 1e-1, *, method: str = "auto", metric: str = "sqeuclidean",
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
        xp = _namespace(Xs, Xt)
        Xs, Xt = _as_float64(Xs, "Xs", xp), _as_float64(Xt, "Xt", xp)
        if Xs.shape[1] != Xt.shape[1]:
            raise ValueError(
                f"Xs and Xt must have the same number of features, got {Xs.shape[1]} and "
                f"{Xt.shape[1]}."
            )
        M = _cost_matrix(Xs, Xt, self.metric, xp)
        scale = 1.0
        if self.norm == "max":
            scale = float(xp.max(M))
        elif self.norm == "median":
            scale = float(np.median(to_numpy(M)))
        scale = scale if scale > 0 else 1.0
        M = M / scale
        res = sinkhorn(a, b, M, self.reg, method=self.method, tol=self.tol,
                       max_iter=self.max_iter, verbose=self.verbose)
        self.Xs_, self.Xt_ = Xs, Xt
        self.cost_ = M
        self.cost_scale_ = scale
        self.f_, self.g_ = xp.astype(res.f, xp.float64), xp.astype(res.g, xp.float64)
        self.coupling_ = res.plan
        self.mu_s_ = xp.sum(res.plan, axis=1)
        self.mu_t_ = xp.sum(res.plan, axis=0)
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        self.result_ = res
        return self

    def transform(self, Xs: Any) -> Any:
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
        array, shape (n_samples, n_features)
            In the namespace (and on the device) of the fitted samples.
        """
        check_is_fitted(self, "coupling_")
        xp = _namespace(self.Xt_)
        if _namespace(Xs) is not xp and hasattr(Xs, "__array_namespace__"):
            raise TypeError(
                "Xs must come from the array library the estimator was fitted with."
            )
        Xs = _as_float64(Xs, "Xs", xp)
        if Xs.shape[1] != self.Xt_.shape[1]:
            raise ValueError(
                f"Xs must have {self.Xt_.shape[1]} features, got {Xs.shape[1]}."
            )
        M = _cost_matrix(Xs, self.Xt_, self.metric, xp) / self.cost_scale_
        L = (self.g_[None, :] - M) / self.reg
        L = L - xp.max(L, axis=1, keepdims=True)
        W = xp.exp(L)
        return xp.matmul(W, self.Xt_) / xp.sum(W, axis=1, keepdims=True)

    def fit_transform(self, Xs: Any, Xt: Any, **fit_params: Any) -> Any:
        """``fit(Xs, Xt)`` then ``transform(Xs)``."""
        return self.fit(Xs, Xt, **fit_params).transform(Xs)
