"""Entropic OT between point clouds without forming the cost matrix."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    check_array,
    check_callable,
    check_option,
    check_scalar,
    check_verbose,
    suggest_keywords,
)
from numlearn.ot import _sample_kernels as SK
from numlearn.ot._checks import check_init as _check_init
from numlearn.ot._checks import check_masses as _check_masses
from numlearn.ot._checks import check_weights as _check_weights

__all__ = ["sinkhorn_sample", "sinkhorn_divergence", "LazyPlan"]

#: Largest dense plan ``return_plan=True`` forms (entries; 8 bytes each).
MAX_DENSE_ENTRIES = 10**8


class LazyPlan:
    """The entropic plan ``P_ij = exp((f_i + g_j - c(x_i, y_j)) / reg)``, never stored.

    Rows are formed on demand (``plan[i]``, ``plan[i:j]``), products ``plan @ V`` stream
    over the rows (``O((n + m) k)`` memory), ``toarray()`` forms the dense matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import sinkhorn_sample
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 2))
    >>> res = sinkhorn_sample(X, X + 1.0, reg=0.5)
    >>> res.plan.shape, bool(np.allclose(res.plan @ np.ones(40), 1 / 40))
    ((40, 40), True)
    """

    def __init__(self, X_s, X_t, f, g, reg, metric):
        self._Xs = X_s
        self._Xt_T = np.ascontiguousarray(X_t.T)
        self.f, self.g, self.reg = f, g, reg
        self.metric = metric
        self.shape = (X_s.shape[0], X_t.shape[0])
        self.dtype = np.dtype(np.float64)

    def _rows(self, idx):
        X = np.ascontiguousarray(self._Xs[idx])
        out = np.empty((X.shape[0], self.shape[1]))
        return SK.plan_rows(X, self._Xt_T, np.ascontiguousarray(self.f[idx]), self.g,
                            1.0 / self.reg, SK.METRICS[self.metric], out)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self._rows(np.array([key]))[0]
        if isinstance(key, slice):
            return self._rows(np.arange(self.shape[0])[key])
        raise TypeError("a LazyPlan is indexed by a row number or a slice of rows.")

    def __matmul__(self, V):
        V = np.asarray(V, dtype=np.float64)
        vec = V.ndim == 1
        V2 = np.ascontiguousarray(V.reshape(V.shape[0], -1))
        if V2.shape[0] != self.shape[1]:
            raise ValueError(f"V must have {self.shape[1]} rows, got {V2.shape[0]}.")
        out = np.empty((self.shape[0], V2.shape[1]))
        SK.plan_matmul(self._Xs, self._Xt_T, self.f, self.g, 1.0 / self.reg,
                       SK.METRICS[self.metric], V2, out)
        return out[:, 0] if vec else out

    def toarray(self) -> np.ndarray:
        """The dense ``(n, m)`` plan."""
        return self._rows(np.arange(self.shape[0]))

    def __repr__(self) -> str:
        return f"LazyPlan(shape={self.shape}, metric={self.metric!r}, reg={self.reg!r})"


def _check_cloud(X, name):
    X = check_array(X, name, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty cloud of points, got shape {X.shape}.")
    return np.ascontiguousarray(X, dtype=np.float64)


def _check_clouds(X_s, X_t):
    X_s, X_t = _check_cloud(X_s, "X_s"), _check_cloud(X_t, "X_t")
    if X_s.shape[1] != X_t.shape[1]:
        raise ValueError(
            f"X_s and X_t must have the same dimension, got {X_s.shape[1]} and {X_t.shape[1]}."
        )
    return X_s, X_t


def _log_sinkhorn_sample(X_s, X_t, a, b, reg, metric, f, g, tol, max_iter, mon):
    """Log-domain Sinkhorn with the cost on the fly: the iterates and the stopping rule of
    :func:`numlearn.ot.sinkhorn`'s ``"sinkhorn_log"`` (row pass measures ``‖P1 - a‖₁``,
    then updates ``f``; column pass updates ``g``)."""
    code = SK.METRICS[metric]
    Xs_T, Xt_T = np.ascontiguousarray(X_s.T), np.ascontiguousarray(X_t.T)
    inv_reg = 1.0 / reg
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    lr, lc = np.empty(X_s.shape[0]), np.empty(X_t.shape[0])
    status, err = Status.MAX_ITER, math.inf
    with np.errstate(invalid="ignore"):
        for it in range(max_iter + 1):
            SK.cost_logsumexp(X_s, Xt_T, g, inv_reg, code, lr)
            if it > 0:
                err = float(np.abs(np.exp(f * inv_reg + lr) - a).sum())
                verdict = mon.step(err, f, g, tol=tol)
                if verdict is not None:
                    status = verdict
                    break
            if it >= max_iter:
                break
            f = reg * (log_a - lr)
            SK.cost_logsumexp(X_t, Xs_T, f, inv_reg, code, lc)
            g = reg * (log_b - lc)
    return status, err, f, g


@suggest_keywords
def sinkhorn_sample(
    X_s: Any,
    X_t: Any,
    reg: float,
    *,
    a: Any = None,
    b: Any = None,
    metric: str = "sqeuclidean",
    tol: float = 1e-9,
    max_iter: int = 10000,
    init: tuple | None = None,
    return_plan: bool = False,
    return_history: bool = False,
    verbose: int = 0,
    callback: Callable | None = None,
) -> SolverResult:
    r"""Entropic optimal transport between two point clouds, the cost never formed.

    The problem of :func:`numlearn.ot.sinkhorn` with ``M_ij = c(x_i, y_j)``, solved by
    log-domain Sinkhorn whose row and column log-sum-exps compute each row of the cost
    on the fly (KeOps-style; parallel Numba kernels over blocks of rows): memory is
    ``O((n + m) d)``, never ``n × m``, and the iterates, stopping rule and potentials are
    those of ``sinkhorn(a, b, M, reg, method="sinkhorn_log")`` on the materialized cost.
    Each iteration costs ``2 n m (d + 1)`` flops and ``2 n m`` exps.

    Parameters
    ----------
    X_s : array, shape (n, d)
        Source points.
    X_t : array, shape (m, d)
        Target points (same dimension ``d``).
    reg : float
        Entropic regularization (> 0), in the units of the cost.
    a, b : arrays, shapes (n,) and (m,), optional
        Weights of the points (uniform by default), with the same total mass.
    metric : {"sqeuclidean", "euclidean", "cityblock"}, default "sqeuclidean"
        Ground cost ``c`` (as :func:`scipy.spatial.distance.cdist` computes it; not
        normalized).
    tol : float, default 1e-9
        Stop when ``‖P1 - a‖₁ ≤ tol`` (the columns are exact after each iteration).
    max_iter : int, default 10000
        Maximum number of Sinkhorn iterations.
    init : pair of arrays (f, g), optional
        Starting potentials.
    return_plan : bool, default False
        ``True``: ``plan`` is the dense ``(n, m)`` array (refused beyond 1e8 entries).
        ``False``: ``plan`` is a :class:`LazyPlan` (rows, products ``plan @ V`` and
        ``toarray()`` formed on demand).
    return_history : bool, default False
        Record the marginal error of every iteration in ``history``.
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every iteration.
    callback : callable, optional
        ``callback(f, g)`` after every iteration; ``StopIteration`` stops the solver.

    Returns
    -------
    SolverResult
        ``f``, ``g`` (potentials, always), ``plan`` (dense or :class:`LazyPlan`),
        ``cost`` (``⟨C, P⟩``), ``marginal_error`` (``‖P1 - a‖₁ + ‖Pᵀ1 - b‖₁``, measured
        on the plan), ``n_iter``, ``converged``, ``status``, ``message``, ``history``.

    Raises
    ------
    ValueError
        Clouds of different dimensions, empty clouds, NaN or infinite coordinates, an
        unknown ``metric``, bad weights, ``reg <= 0``, or a dense plan too large.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached within ``max_iter`` iterations.

    See Also
    --------
    sinkhorn_divergence : the debiased Sinkhorn divergence between two clouds.

    References
    ----------
    .. [1] J. Feydy, T. Séjourné, F.-X. Vialard, S. Amari, A. Trouvé and G. Peyré,
       "Interpolating between optimal transport and MMD using Sinkhorn divergences",
       AISTATS 2019 (geomloss, KeOps).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import sinkhorn_sample
    >>> rng = np.random.default_rng(0)
    >>> X_s = rng.standard_normal((200, 2))
    >>> X_t = rng.standard_normal((300, 2)) + 2.0
    >>> res = sinkhorn_sample(X_s, X_t, reg=1.0)
    >>> res.converged, res.f.shape, res.g.shape, type(res.plan).__name__
    (True, (200,), (300,), 'LazyPlan')
    """
    reg = check_scalar(reg, "reg", low=0.0, include_low=False)
    metric = check_option(metric, "metric", tuple(SK.METRICS))
    X_s, X_t = _check_clouds(X_s, X_t)
    n, m = X_s.shape[0], X_t.shape[0]
    a = _check_weights(a, "a", n)
    b = _check_masses(a, _check_weights(b, "b", m), float(np.finfo(np.float64).eps))
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    callback = check_callable(callback, "callback", allow_none=True)
    check_verbose(verbose)
    if return_plan and n * m > MAX_DENSE_ENTRIES:
        raise ValueError(
            f"return_plan=True would form a dense {n} x {m} plan ({8 * n * m / 2**30:.1f} "
            f"GiB; the limit is {MAX_DENSE_ENTRIES:.0e} entries): use the LazyPlan "
            f"(return_plan=False)."
        )
    f, g = _check_init(init, n, m)
    mon = Monitor("sinkhorn_sample", verbose=verbose, callback=callback,
                  return_history=return_history, measure="marginal error")
    status, err, f, g = _log_sinkhorn_sample(X_s, X_t, a, b, reg, metric, f, g, tol,
                                             max_iter, mon)
    mon.finish(err)
    code, inv_reg = SK.METRICS[metric], 1.0 / reg
    mass_r, cost_r = np.empty(n), np.empty(n)
    SK.plan_row_stats(X_s, np.ascontiguousarray(X_t.T), f, g, inv_reg, code, mass_r, cost_r)
    mass_c, cost_c = np.empty(m), np.empty(m)
    SK.plan_row_stats(X_t, np.ascontiguousarray(X_s.T), g, f, inv_reg, code, mass_c, cost_c)
    marginal_error = float(np.abs(mass_r - a).sum() + np.abs(mass_c - b).sum())
    if status is Status.SUCCESS and not marginal_error <= max(tol, 1e-12) * 10:
        status = Status.STAGNATION
    plan = LazyPlan(X_s, X_t, f, g, reg, metric)
    if return_plan:
        plan = plan.toarray()
    result = make_result(status=status, n_iter=mon.n_iter, plan=plan, f=f, g=g,
                         cost=float(cost_r.sum()), marginal_error=marginal_error, reg=reg,
                         metric=metric)
    if mon.history is not None:
        result.history = np.asarray(mon.history)
    warn_if_not_converged(result, "sinkhorn_sample", stacklevel=4)
    return result


@suggest_keywords
def sinkhorn_divergence(
    X_s: Any,
    X_t: Any,
    reg: float,
    *,
    a: Any = None,
    b: Any = None,
    metric: str = "sqeuclidean",
    tol: float = 1e-9,
    max_iter: int = 10000,
    verbose: int = 0,
) -> SolverResult:
    r"""Debiased Sinkhorn divergence between two point clouds (cost never formed).

    .. math:: S(a, b) = \max\bigl(0,\; L(a, b) - \tfrac12 L(a, a) - \tfrac12 L(b, b)\bigr)

    where ``L(a, b) = ⟨C, P⟩`` is the transport cost of the entropic plan between the
    clouds, exactly the formula of POT's ``ot.bregman.empirical_sinkhorn_divergence``
    (three :func:`sinkhorn_sample` solves). It is zero for identical clouds, and the
    debiasing removes the entropic bias of ``L`` (``L(a, a) > 0``), as geomloss's
    ``SamplesLoss("sinkhorn")`` does.

    Parameters
    ----------
    X_s, X_t : arrays, shapes (n, d) and (m, d)
        The two clouds.
    reg : float
        Entropic regularization (> 0).
    a, b : arrays, optional
        Weights (uniform by default), with equal total masses.
    metric : {"sqeuclidean", "euclidean", "cityblock"}, default "sqeuclidean"
        Ground cost.
    tol, max_iter, verbose
        As :func:`sinkhorn_sample`, for each of the three solves.

    Returns
    -------
    SolverResult
        ``divergence``, the three terms ``cost_st``, ``cost_ss``, ``cost_tt``,
        ``n_iter`` (total), ``converged`` (all three), ``status``, ``message``.

    Raises
    ------
    ValueError
        As :func:`sinkhorn_sample`.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If one of the solves does not reach the tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.ot import sinkhorn_divergence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 2))
    >>> sinkhorn_divergence(X, X, reg=0.5).divergence
    0.0
    >>> bool(sinkhorn_divergence(X, X + 1.0, reg=0.5).divergence > 0.5)
    True
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    opts = dict(metric=metric, tol=tol, max_iter=max_iter, verbose=verbose)
    X_s, X_t = _check_clouds(X_s, X_t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one warning below
        st = sinkhorn_sample(X_s, X_t, reg, a=a, b=b, **opts)
        ss = sinkhorn_sample(X_s, X_s, reg, a=a, b=a, **opts)
        tt = sinkhorn_sample(X_t, X_t, reg, a=b, b=b, **opts)
    parts = (st, ss, tt)
    worst = next((r for r in parts if not r.converged), st)
    div = max(0.0, st.cost - 0.5 * (ss.cost + tt.cost))
    result = make_result(status=worst.status, n_iter=sum(r.n_iter for r in parts),
                         divergence=div, cost_st=st.cost, cost_ss=ss.cost, cost_tt=tt.cost,
                         reg=reg, metric=st.metric)
    warn_if_not_converged(result, "sinkhorn_divergence", stacklevel=4)
    return result
