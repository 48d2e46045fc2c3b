"""Implicit-feedback alternating least squares (Hu, Koren, Volinsky 2008).

Interactions ``r_ui ≥ 0`` (play counts, clicks) of users with items become preferences
``p_ui = 1`` with confidence ``c_ui = 1 + α r_ui`` on the observed pairs, and ``p_ui = 0``
with confidence 1 on every other pair; the factors minimize

    Σ_{u,i} c_ui (p_ui − x_uᵀy_i)² + reg (‖X‖_F² + ‖Y‖_F²)

over *all* ``m × n`` pairs, at the cost of the observed ones only, by alternating exact or
conjugate-gradient row solves (:mod:`numlearn.completion._implicit_kernels`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    check_array,
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
    suggest_keywords,
)
from numlearn.completion._engine import SERIAL_WORK
from numlearn.completion._implicit_kernels import (
    implicit_loss_terms,
    implicit_rows_cg,
    implicit_rows_cg_serial,
    implicit_rows_cholesky,
    implicit_rows_cholesky_serial,
)
from numlearn.completion._observations import check_observations, row_layout

__all__ = ["implicit_als", "implicit_loss"]


def _layouts(obs, alpha, dtype=np.float64):
    """Users' and items' CSR layouts with the confidences ``1 + α r`` in each order."""
    m, n = obs.shape
    by_user = row_layout(obs.rows, obs.cols, obs.values, m, obs.row_order)
    by_item = row_layout(obs.cols, obs.rows, obs.values, n)
    return ((by_user.indptr, by_user.indices, (1.0 + alpha * by_user.values).astype(dtype)),
            (by_item.indptr, by_item.indices, (1.0 + alpha * by_item.values).astype(dtype)))


def _half_step(layout, other, current, reg, solver, cg_steps) -> int:
    """Update ``current`` (in place) from ``other``; returns the number of singular rows."""
    indptr, indices, conf = layout
    k = other.shape[1]
    G = other.T @ other
    G[np.diag_indices(k)] += G.dtype.type(reg)
    serial = conf.shape[0] * k * (cg_steps + 1) + current.shape[0] * k * k < SERIAL_WORK
    if solver == "cholesky":
        kernel = implicit_rows_cholesky_serial if serial else implicit_rows_cholesky
        return int(kernel(indptr, indices, conf, other, G, current))
    kernel = implicit_rows_cg_serial if serial else implicit_rows_cg
    kernel(indptr, indices, conf, other, G, current, cg_steps)
    return 0


def _loss(by_user, X, Y, reg) -> float:
    indptr, indices, conf = by_user
    X, Y = X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False)
    conf = conf.astype(np.float64, copy=False)
    full = float(np.sum((X.T @ X) * (Y.T @ Y)))
    return (full + float(implicit_loss_terms(indptr, indices, conf, X, Y))
            + reg * float(np.sum(X * X) + np.sum(Y * Y)))


@suggest_keywords
def implicit_loss(R_obs: Any, X: Any, Y: Any, *, reg: float = 0.01, alpha: float = 40.0
                  ) -> float:
    """The Hu–Koren–Volinsky objective of factors ``X`` (users) and ``Y`` (items).

    ``Σ_{u,i} c_ui (p_ui − x_uᵀy_i)² + reg (‖X‖² + ‖Y‖²)`` over all pairs, computed in
    ``O(|Ω| k + (m + n) k²)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import implicit_loss
    >>> obs = (np.array([0]), np.array([1]), np.array([2.0]), (2, 2))
    >>> X, Y = np.ones((2, 1)), np.full((2, 1), 0.5)
    >>> implicit_loss(obs, X, Y, reg=0.0, alpha=1.0)  # 3·(1 − .5)² + 3·.5²
    1.5
    """
    obs = _check_interactions(R_obs)
    alpha = check_scalar(alpha, "alpha", low=0.0, include_low=False)
    reg = check_scalar(reg, "reg", low=0.0)
    by_user, _ = _layouts(obs, alpha)
    X = np.ascontiguousarray(check_array(X, "X", ndim=2), dtype=np.float64)
    Y = np.ascontiguousarray(check_array(Y, "Y", ndim=2), dtype=np.float64)
    (m, n), r = obs.shape, X.shape[1]
    if X.shape != (m, r) or Y.shape != (n, r):  # the kernel trusts the shapes
        raise ValueError(f"X and Y must have shapes ({m}, rank) and ({n}, rank), got "
                         f"{X.shape} and {Y.shape}.")
    return _loss(by_user, X, Y, reg)


def _check_interactions(R_obs: Any):
    obs = check_observations(R_obs, name="R_obs")
    if obs.values.min() < 0:
        raise ValueError("R_obs: interaction strengths must be >= 0 (the confidence "
                         "1 + alpha * r must be at least 1); found a negative value.")
    return obs


@suggest_keywords
def implicit_als(
    R_obs: Any,
    rank: int,
    *,
    reg: float = 0.01,
    alpha: float = 40.0,
    max_iter: int = 15,
    solver: str = "cg",
    cg_steps: int = 3,
    tol: float | None = None,
    init: Any = "random",
    random_state: Any = None,
    return_history: bool = False,
    callback: Callable | None = None,
    verbose: int = 0,
    dtype: Any = np.float64,
) -> SolverResult:
    """Factorize implicit feedback by alternating least squares (Hu, Koren, Volinsky).

    Parameters
    ----------
    R_obs : scipy.sparse matrix or tuple ``(rows, cols, values, shape)``
        Interaction strengths ``r_ui ≥ 0`` of users (rows) with items (columns); stored
        entries are the observed pairs. Duplicate pairs, NaN and negative values are errors.
    rank : int
        Number of factors ``k``, ``1 ≤ k ≤ min(m, n)``.
    reg : float, default=0.01
        Ridge penalty ``reg (‖X‖² + ‖Y‖²)`` (not scaled by counts, as in the paper).
    alpha : float, default=40.0
        Confidence slope: ``c_ui = 1 + α r_ui``.
    max_iter : int, default=15
        Iterations (each updates the users' factors, then the items').
    solver : {"cg", "cholesky"}, default="cg"
        ``"cg"``: ``cg_steps`` conjugate-gradient steps per row, warm-started from the current
        factor, matrix-free over the row's observations (Takács et al.); ``"cholesky"``:
        exact solves of the ``k × k`` normal equations.
    cg_steps : int, default=3
        CG steps per row and half-step.
    tol : float, optional
        Stop when the objective decreases by less than ``tol`` relative to the previous
        iteration (computing it costs about one half-step). By default exactly
        ``max_iter`` iterations run, as the ``implicit`` library does, and the result counts
        as converged.
    init : "random" or (X0, Y0), default="random"
        ``"random"``: uniform entries in ``[0, 0.01)`` (as ``implicit``); or starting factors.
    random_state : int, numpy.random.Generator or None
    return_history : bool, default=False
        Record the objective after every iteration in ``history``.
    callback : callable, optional
        ``callback(X, Y)`` after every iteration; raise ``StopIteration`` to stop.
    verbose : int, default=0
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the factors and of the row solves (``float32`` halves memory traffic,
        as the ``implicit`` library's default does).

    Returns
    -------
    SolverResult
        ``U`` (m × k user factors), ``V`` (n × k item factors), ``n_iter``, ``converged``,
        ``status``, ``message``, ``loss`` (the objective, when ``tol`` or
        ``return_history`` asked for it) and ``history``.

    Raises
    ------
    ValueError
        Bad rank, observations (negative strengths, NaN, duplicates) or options.

    References
    ----------
    Y. Hu, Y. Koren, C. Volinsky, "Collaborative Filtering for Implicit Feedback Datasets",
    ICDM 2008. G. Takács, I. Pilászy, D. Tikk, "Applications of the Conjugate Gradient Method
    for Implicit Feedback Collaborative Filtering", RecSys 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import implicit_als, implicit_loss
    >>> rng = np.random.default_rng(0)
    >>> rows, cols = np.nonzero(rng.random((50, 40)) < 0.2)
    >>> obs = (rows, cols, rng.integers(1, 5, rows.size).astype(float), (50, 40))
    >>> res = implicit_als(obs, 8, solver="cholesky", random_state=0, return_history=True)
    >>> res.U.shape, res.V.shape, bool(np.all(np.diff(res.history) <= 0))
    ((50, 8), (40, 8), True)
    """
    obs = _check_interactions(R_obs)
    m, n = obs.shape
    rank = check_scalar(rank, "rank", kind=int, low=1)
    if rank > min(m, n):
        raise ValueError(f"rank must be <= min(n_users, n_items) = {min(m, n)}, got {rank}.")
    reg = check_scalar(reg, "reg", low=0.0)
    alpha = check_scalar(alpha, "alpha", low=0.0, include_low=False)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    solver = check_option(solver, "solver", ("cg", "cholesky"))
    cg_steps = check_scalar(cg_steps, "cg_steps", kind=int, low=1)
    if tol is not None:
        tol = check_scalar(tol, "tol", low=0.0)
    check_callable(callback, "callback", allow_none=True)
    rng = check_random_state(random_state)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}.")
    dtype = np.dtype(dtype)
    progress = Progress("implicit_als", verbose, measure="loss")
    if isinstance(init, str):
        check_option(init, "init", ("random",))
        X = rng.random((m, rank)) * 0.01
        Y = rng.random((n, rank)) * 0.01
    else:
        try:
            X0, Y0 = init
        except (TypeError, ValueError):
            raise TypeError("init must be 'random' or a pair (X0, Y0).") from None
        X = np.array(X0, dtype=np.float64, order="C", copy=True)
        Y = np.array(Y0, dtype=np.float64, order="C", copy=True)
        if X.shape != (m, rank) or Y.shape != (n, rank):
            raise ValueError(f"init: X0 and Y0 must have shapes {(m, rank)} and {(n, rank)}, "
                             f"got {X.shape} and {Y.shape}.")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
            raise ValueError("init: X0 and Y0 must be finite.")
    X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
    with np.errstate(over="ignore"):  # an overflow is refused just below
        by_user, by_item = _layouts(obs, alpha, dtype)
    if not np.all(np.isfinite(by_user[2])):
        raise ValueError(f"R_obs, alpha: the confidences 1 + alpha * r overflow {dtype} "
                         "(values too large); rescale R_obs or lower alpha.")
    want_loss = tol is not None or return_history
    history = [] if return_history else None
    loss = _loss(by_user, X, Y, reg) if want_loss else math.nan
    status = Status.SUCCESS if tol is None else Status.MAX_ITER
    singular = 0
    k = 0
    while k < max_iter:
        singular += _half_step(by_user, Y, X, reg, solver, cg_steps)
        singular += _half_step(by_item, X, Y, reg, solver, cg_steps)
        k += 1
        previous = loss
        if want_loss:
            loss = _loss(by_user, X, Y, reg)
            if history is not None:
                history.append(loss)
            if not math.isfinite(loss):
                status = Status.DIVERGED
                break
        progress.update(k, loss)
        if tol is not None and previous - loss <= tol * abs(previous):
            status = Status.SUCCESS
            break
        if callback is not None:
            try:
                callback(X, Y)
            except StopIteration:
                status = Status.CALLBACK_STOP
                break
    progress.update(k, loss, final=True)
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        status = Status.DIVERGED  # overflow in the normal equations: never "converged"
    if singular:
        warnings.warn(f"{singular} row regressions were singular (reg=0); those factor rows "
                      "were set to zero. Use reg > 0.", UserWarning, stacklevel=3)
    result = make_result(status=status, n_iter=k, U=X, V=Y)
    if want_loss:
        result.loss = loss
    if history is not None:
        result.history = np.asarray(history)
    warn_if_not_converged(result, "implicit_als", stacklevel=4)
    return result
