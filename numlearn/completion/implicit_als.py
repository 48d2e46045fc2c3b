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

from numlearn._backend import device_of, is_numpy_namespace, to_numpy
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import (
    check_array,
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
    suggest_keywords,
    user_stacklevel,
)
from numlearn.completion._array_api import make_engine
from numlearn.completion._dask_engine import DaskEngine, dask_client
from numlearn.completion._engine import ImplicitEngine
from numlearn.completion._local_engine import LocalEngine
from numlearn.completion._observations import check_observations, check_observations_array_api

__all__ = ["implicit_als", "implicit_loss"]


def _gram(F, reg: float, xp):
    """``Fᵀ F + reg I`` in ``F``'s dtype."""
    if is_numpy_namespace(xp):
        G = F.T @ F
        G[np.diag_indices(G.shape[0])] += G.dtype.type(reg)
        return G
    k = F.shape[1]
    return xp.matrix_transpose(F) @ F + reg * xp.eye(k, dtype=F.dtype, device=device_of(F))


def _loss(engine: ImplicitEngine, X, Y, reg: float, xp) -> float:
    """The Hu–Koren–Volinsky objective (float64): ``Σ_{u,i} s²`` as ``tr(XᵀX YᵀY)`` plus
    the observed entries' correction plus the penalty."""
    X64, Y64 = xp.astype(X, xp.float64), xp.astype(Y, xp.float64)
    full = float(xp.sum((xp.matrix_transpose(X64) @ X64) * (xp.matrix_transpose(Y64) @ Y64)))
    return (full + engine.implicit_loss_terms(X, Y)
            + reg * float(xp.sum(X64 * X64) + xp.sum(Y64 * Y64)))


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
    X = np.ascontiguousarray(check_array(X, "X", ndim=2), dtype=np.float64)
    Y = np.ascontiguousarray(check_array(Y, "Y", ndim=2), dtype=np.float64)
    (m, n), r = obs.shape, X.shape[1]
    if X.shape != (m, r) or Y.shape != (n, r):  # the kernel trusts the shapes
        raise ValueError(f"X and Y must have shapes ({m}, rank) and ({n}, rank), got "
                         f"{X.shape} and {Y.shape}.")
    engine = LocalEngine(obs._replace(values=1.0 + alpha * obs.values))
    return _loss(engine, X, Y, reg, np)


def _check_interactions(R_obs: Any):
    obs = check_observations(R_obs, name="R_obs")
    _check_nonnegative(obs.values, np)
    return obs


def _check_nonnegative(values, xp) -> None:
    if bool(xp.min(values) < 0):
        raise ValueError("R_obs: interaction strengths must be >= 0 (the confidence "
                         "1 + alpha * r must be at least 1); found a negative value.")


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
    backend: str = "local",
    client: Any = None,
    n_blocks: int | None = None,
) -> SolverResult:
    """Factorize implicit feedback by alternating least squares (Hu, Koren, Volinsky).

    Parameters
    ----------
    R_obs : scipy.sparse matrix or tuple ``(rows, cols, values, shape)``
        Interaction strengths ``r_ui ≥ 0`` of users (rows) with items (columns); stored
        entries are the observed pairs. Duplicate pairs, NaN and negative values are errors.
        ``rows``, ``cols``, ``values`` may be arrays of another array library (CuPy on a
        GPU, array_api_strict; or a ``cupyx.scipy.sparse`` matrix): the iteration then runs
        in that library with whole-array operations (rows bucketed by their number of
        interactions, batched ``matmul``, a vectorized Cholesky or CG), and ``U``, ``V``
        come back there in ``values``' dtype (float32 or float64; ``dtype`` is then not
        used). The random start is drawn on the host, so the factors equal the NumPy
        path's to rounding.
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
    backend : {"local", "dask"}, default="local"
        ``"dask"`` runs every half-step as row-block tasks on a Dask cluster (the blocks of
        interactions live on the workers, the factors and their Gram matrix are broadcast);
        the factors equal the local path's to rounding. NumPy/SciPy input only.
    client : dask.distributed.Client, optional
        The cluster for ``backend="dask"`` (default: the current client).
    n_blocks : int, optional
        Row blocks per side for the Dask backend (default: twice the number of workers).

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
    backend = check_option(backend, "backend", ("local", "dask"))
    xobs = check_observations_array_api(R_obs, name="R_obs")
    if xobs is None:
        obs = _check_interactions(R_obs)
        m, n = obs.shape
    else:
        if backend == "dask":
            raise ValueError("backend='dask' needs NumPy/SciPy interactions; got arrays of "
                             "another array library.")
        _check_nonnegative(xobs.values, xobs.xp)
        m, n = xobs.shape
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
    mon = Monitor("implicit_als", verbose=verbose, callback=callback,
                  return_history=return_history, measure="loss")
    if isinstance(init, str):
        check_option(init, "init", ("random",))
        X = rng.random((m, rank)) * 0.01
        Y = rng.random((n, rank)) * 0.01
    else:
        try:
            X0, Y0 = init
        except (TypeError, ValueError):
            raise TypeError("init must be 'random' or a pair (X0, Y0).") from None
        X = np.array(to_numpy(X0) if hasattr(X0, "__array_namespace__") else X0,
                     dtype=np.float64, order="C", copy=True)
        Y = np.array(to_numpy(Y0) if hasattr(Y0, "__array_namespace__") else Y0,
                     dtype=np.float64, order="C", copy=True)
        if X.shape != (m, rank) or Y.shape != (n, rank):
            raise ValueError(f"init: X0 and Y0 must have shapes {(m, rank)} and {(n, rank)}, "
                             f"got {X.shape} and {Y.shape}.")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
            raise ValueError("init: X0 and Y0 must be finite.")
    # the engine's observations are the confidences 1 + alpha r
    if xobs is not None:
        xp = xobs.xp
        engine = make_engine(xobs._replace(values=1.0 + alpha * xobs.values), rank,
                             implicit=True)
        X, Y = engine.factor(X), engine.factor(Y)
    else:
        xp = np
        with np.errstate(over="ignore"):  # an overflow is refused just below
            conf = obs._replace(values=(1.0 + alpha * obs.values).astype(dtype))
        if not np.all(np.isfinite(conf.values)):
            raise ValueError(f"R_obs, alpha: the confidences 1 + alpha * r overflow {dtype} "
                             "(values too large); rescale R_obs or lower alpha.")
        X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
        if backend == "local":
            engine = LocalEngine(conf)
        else:
            client = dask_client(client)
            if n_blocks is None:
                n_blocks = 2 * max(len(client.scheduler_info()["workers"]), 1)
            n_blocks = check_scalar(n_blocks, "n_blocks", kind=int, low=1)
            engine = DaskEngine.from_observations(client, conf, n_blocks)
    try:
        result = _run(engine, X, Y, xp, reg=reg, solver=solver, cg_steps=cg_steps,
                      max_iter=max_iter, tol=tol, want_loss=tol is not None or return_history,
                      mon=mon)
    finally:
        engine.close()
    return result


def _run(engine, X, Y, xp, *, reg, solver, cg_steps, max_iter, tol, want_loss, mon):
    """The ALS iteration: users' rows, then items' rows, until ``max_iter`` (or the
    relative decrease of the objective falls below ``tol``)."""
    loss = _loss(engine, X, Y, reg, xp) if want_loss else math.nan
    status = Status.SUCCESS if tol is None else Status.MAX_ITER
    singular = 0
    k = 0
    while k < max_iter:
        X, s_users = engine.implicit_half_step("rows", Y, X, _gram(Y, reg, xp), solver,
                                               cg_steps)
        Y, s_items = engine.implicit_half_step("cols", X, Y, _gram(X, reg, xp), solver,
                                               cg_steps)
        singular += s_users + s_items
        k += 1
        previous = loss
        if want_loss:
            loss = _loss(engine, X, Y, reg, xp)
        mon.record(loss, n_iter=k)
        if want_loss and not math.isfinite(loss):
            status = Status.DIVERGED
            break
        if tol is not None and previous - loss <= tol * abs(previous):
            status = Status.SUCCESS
            break
        if mon.notify(X, Y):
            status = Status.CALLBACK_STOP
            break
    mon.finish(loss, n_iter=k)
    if not (bool(xp.all(xp.isfinite(X))) and bool(xp.all(xp.isfinite(Y)))):
        status = Status.DIVERGED  # overflow in the normal equations: never "converged"
    if singular:
        warnings.warn(f"{singular} row regressions were singular (reg=0); those factor rows "
                      "were set to zero. Use reg > 0.", UserWarning,
                      stacklevel=user_stacklevel(3))
    fields = dict(loss=loss) if want_loss else {}
    return mon.result(status, n_iter=k, U=X, V=Y, stacklevel=4, **fields)
