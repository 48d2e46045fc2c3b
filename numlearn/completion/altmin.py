"""Low-rank matrix completion by alternating minimization (AltMin).

Given observed entries ``M_ij, (i, j) ∈ Ω`` of an ``m × n`` matrix, find ``U`` (m × k) and
``V`` (n × k) minimizing

    Σ_{(i,j) ∈ Ω} (M_ij − u_iᵀ v_j)² + reg (‖U‖_F² + ‖V‖_F²)

by alternating exact (or approximate) ridge regressions: with ``U`` fixed the problem
separates into one k-dimensional regression per column of ``M`` (for ``v_j``), and vice
versa. Every half-step is one Numba kernel, parallel over rows
(:mod:`numlearn.completion._altmin_kernels`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.sparse.linalg import ArpackError, LinearOperator, svds

from numlearn._backend import get_namespace, is_numpy_namespace, to_numpy
from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    suggest_keywords,
    check_array,
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
)
from numlearn.completion._array_api import (
    check_observations_array_api,
    make_engine,
    predict_entries_array_api,
)
from numlearn.completion._engine import DaskEngine, LocalEngine
from numlearn.completion._observations import check_observations

__all__ = ["altmin", "predict_entries"]

_SOLVERS = ("cholesky", "cg", "sketch")


def _check_factor(F: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    if hasattr(F, "__array_namespace__"):
        F = to_numpy(F)
    F = np.array(F, dtype=np.float64, order="C", copy=True)
    if F.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {F.shape}.")
    if not np.all(np.isfinite(F)):
        raise ValueError(f"{name} must be finite.")
    return F


def _init_svd(engine, shape, n_obs: int, rank: int, rng: np.random.Generator, clip: float
              ) -> np.ndarray:
    """Top-``rank`` left singular vectors of the rescaled sampled matrix ``(mn/|Ω|) P_Ω(M)``
    (ARPACK on its products, never dense), rows with norm above ``clip·√(k/m)`` shrunk to
    that norm (incoherence), re-orthonormalized by QR."""
    m, n = shape
    factor = (m * n) / n_obs
    P = LinearOperator((m, n), dtype=np.float64,
                       matvec=lambda x: factor * engine.matvec("rows", np.ravel(x)),
                       rmatvec=lambda y: factor * engine.matvec("cols", np.ravel(y)))
    v0 = rng.standard_normal(min(m, n))
    try:
        U, _, _ = svds(P, k=rank, v0=v0, solver="arpack")
    except ArpackError as exc:  # ARPACK's error, as ours naming the argument
        raise ValueError(
            f"M_obs: the SVD start failed ({exc}); are the observed values all zero, or so "
            "large that their products overflow? Rescale them, or pass init='random'."
        ) from None
    norms = np.linalg.norm(U, axis=1)
    threshold = clip * math.sqrt(rank / m)
    big = norms > threshold
    U[big] *= (threshold / norms[big])[:, None]
    Q, _ = np.linalg.qr(U)
    return np.ascontiguousarray(Q)


@suggest_keywords
def altmin(
    M_obs: Any,
    rank: int,
    *,
    reg: float = 0.0,
    solver: str = "cholesky",
    max_iter: int = 100,
    tol: float = 1e-6,
    init: Any = "svd",
    random_state: Any = None,
    return_history: bool = False,
    cg_steps: int = 5,
    sketch_size: int | None = None,
    clip: float = 2.0,
    callback: Callable | None = None,
    verbose: int = 0,
    backend: str = "local",
    client: Any = None,
    n_blocks: int | None = None,
    shape: tuple[int, int] | None = None,
) -> SolverResult:
    """Complete a low-rank matrix from observed entries by alternating minimization.

    Parameters
    ----------
    M_obs : scipy.sparse matrix, tuple ``(rows, cols, values, shape)`` or Dask DataFrame
        The observed entries (every stored entry of a sparse matrix counts as observed,
        explicit zeros included). Duplicate ``(row, col)`` pairs, NaN and indices out of
        range are errors. A Dask DataFrame with columns ``row``, ``col``, ``value`` runs on
        the Dask cluster (``backend="dask"`` implied; pass ``shape`` or it is computed).
        ``rows``, ``cols``, ``values`` may be arrays of another array library (CuPy on a
        GPU, or a ``cupyx.scipy.sparse`` matrix): see Notes.
    rank : int
        Target rank ``k``, ``1 ≤ k < min(m, n)``.
    reg : float, default=0.0
        Ridge penalty ``reg (‖U‖² + ‖V‖²)``; 0 gives the plain AltMin of Jain et al.
    solver : {"cholesky", "cg", "sketch"}, default="cholesky"
        Per-row least squares: exact Cholesky of the k × k normal equations
        (``O(|Ω|k² + (m+n)k³)`` per iteration); ``cg_steps`` warm-started CG steps
        (``O(|Ω| k · cg_steps)``); or sketch-and-precondition (CountSketch of each row's
        design to ``sketch_size`` rows, its QR as a right preconditioner, ``cg_steps``
        preconditioned CG steps: ``Õ(|Ω|k)`` when rows have many more than ``sketch_size``
        observations; rows with fewer are solved exactly).
    max_iter : int, default=100
        Maximum number of iterations (each updates ``V`` then ``U``).
    tol : float, default=1e-6
        Stop when the training RMSE falls below ``tol × RMS(observed values)`` or decreases
        by less than ``tol`` relative to the previous iteration.
    init : {"svd", "random"} or (U0, V0), default="svd"
        ``"svd"``: top-k SVD of ``(mn/|Ω|) P_Ω(M)`` with clipping of high-leverage rows and
        QR (Jain, Netrapalli, Sanghavi); ``"random"``: orthonormalized Gaussian ``U``; a pair
        of arrays warm-starts from given factors (``V0`` seeds the iterative solvers).
    random_state : int, numpy.random.Generator or None
        Seed for the SVD start vector, random init and the sketches.
    return_history : bool, default=False
        Record the training RMSE after every iteration in ``history``.
    cg_steps : int, default=5
        CG steps per row and half-step for ``"cg"`` and ``"sketch"``.
    sketch_size : int, optional
        CountSketch rows per regression for ``"sketch"`` (default ``4k``).
    clip : float, default=2.0
        Rows of the SVD init with norm above ``clip·√(k/m)`` are shrunk to it.
    callback : callable, optional
        ``callback(U, V)`` after every iteration; raise ``StopIteration`` to stop.
    verbose : int, default=0
        0 silent, 1 progress every few seconds, 2 every iteration.
    backend : {"local", "dask"}, default="local"
        ``"dask"`` runs every half-step as row-block tasks on a Dask cluster: the blocks of
        observations live on the workers, the factors are broadcast to them, and each
        worker solves the blocks it holds. Results equal the local path's to rounding.
    client : dask.distributed.Client, optional
        The cluster to use with ``backend="dask"`` (default: the current client). To run
        on a real cluster, connect a client to its scheduler first,
        ``Client("tcp://scheduler:8786")``; the workers need numlearn installed.
    n_blocks : int, optional
        Row blocks per side for the Dask backend (default: twice the number of workers).
    shape : (int, int), optional
        Matrix shape when ``M_obs`` is a Dask DataFrame.

    Returns
    -------
    SolverResult
        ``U`` (m × k), ``V`` (n × k) with ``M ≈ U Vᵀ``, ``rmse`` (training RMSE),
        ``n_iter``, ``converged``, ``status``, ``message``, ``empty_rows``,
        ``empty_cols`` and ``history`` when asked.

    Raises
    ------
    ValueError
        Bad rank, observations (see ``M_obs``) or options.

    Warns
    -----
    UserWarning
        When rows or columns have no observation (their factors stay at the regularized
        solution, zero) or a regression is singular (``reg=0`` with fewer than ``k``
        observations in a row: its factor row is set to zero).
    ConvergenceWarning
        When ``max_iter`` is reached first.

    Notes
    -----
    **Other array libraries.** With ``rows``, ``cols``, ``values`` from a non-NumPy array
    library the iteration runs in that library, on its device, and ``U``, ``V`` come back
    there, in ``values``' dtype (float32 or float64; others become float64). The random
    draws, the SVD start (ARPACK on the host, with the products by ``P_Ω(M)`` on the device),
    the stopping rule, ``history``, statuses and warnings are those of the NumPy path, so
    the factors agree with it to rounding. On CuPy with ``rank ≤ 32`` every half-step is two
    Numba-CUDA kernels (batched normal equations, one block per row, and a batched k × k
    Cholesky, one thread per row; ``"cg"``: one CG kernel), otherwise whole-array operations
    (rows bucketed by their number of observations, batched ``matmul`` and a vectorized
    Cholesky). ``solver="sketch"`` copies the observations to the host, solves there and
    returns the factors on the device (the callback then sees NumPy factors);
    ``backend="dask"`` needs NumPy inputs.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, "Low-rank Matrix Completion using Alternating
    Minimization", STOC 2013. Y. Gu, Z. Song, J. Yin, L. Zhang, "Low Rank Matrix Completion
    via Robust Alternating Minimization in Nearly Linear Time", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import altmin
    >>> rng = np.random.default_rng(0)
    >>> M = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 50))   # rank 3
    >>> mask = rng.random(M.shape) < 0.5
    >>> rows, cols = np.nonzero(mask)
    >>> res = altmin((rows, cols, M[mask], M.shape), 3, tol=1e-12, random_state=0)
    >>> res.converged, bool(np.linalg.norm(res.U @ res.V.T - M) < 1e-8 * np.linalg.norm(M))
    (True, True)

    Arrays of another library stay in it (CuPy arrays would stay on the GPU):

    >>> import array_api_strict as xps
    >>> obs_x = (xps.asarray(rows), xps.asarray(cols), xps.asarray(M[mask]), M.shape)
    >>> res_x = altmin(obs_x, 3, tol=1e-12, random_state=0)
    >>> type(res_x.U).__module__.startswith("array_api_strict"), res_x.n_iter == res.n_iter
    (True, True)
    """
    backend = check_option(backend, "backend", ("local", "dask"))
    solver = check_option(solver, "solver", _SOLVERS)
    is_frame = _is_dask_dataframe(M_obs)
    xobs = host = None  # observations of another array library; its namespace, dtype, device
    if is_frame:
        backend = "dask"
        m, n = _frame_shape(M_obs, shape)
        obs = None
    else:
        xobs = check_observations_array_api(M_obs)
        if xobs is not None:
            if backend == "dask":
                raise ValueError("backend='dask' needs NumPy/SciPy observations (or a Dask "
                                 "DataFrame); got arrays of another array library.")
            if solver == "sketch":  # no array-API sketch: solve on the host, return there
                host = xobs
                M_obs = (to_numpy(xobs.rows), to_numpy(xobs.cols), to_numpy(xobs.values),
                         xobs.shape)
                xobs = None
        if xobs is None:
            obs = check_observations(M_obs)
            m, n = obs.shape
        else:
            obs = None
            m, n = xobs.shape
    rank = check_scalar(rank, "rank", kind=int, low=1)
    if rank >= min(m, n):
        raise ValueError(f"rank must be < min(m, n) = {min(m, n)}, got {rank}.")
    reg = check_scalar(reg, "reg", low=0.0)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    tol = check_scalar(tol, "tol", low=0.0)
    cg_steps = check_scalar(cg_steps, "cg_steps", kind=int, low=1)
    sketch_size = check_scalar(4 * rank if sketch_size is None else sketch_size,
                               "sketch_size", kind=int, low=rank)
    clip = check_scalar(clip, "clip", low=0.0, include_low=False)
    check_callable(callback, "callback", allow_none=True)
    rng = check_random_state(random_state)
    progress = Progress("altmin", verbose, measure="rmse")
    seed = int(rng.integers(2**62))  # of the sketch hashes; drawn first on every path
    sketch_seed = seed if solver == "sketch" else None

    if xobs is not None:
        engine = make_engine(xobs, rank)
    elif backend == "local":
        engine = LocalEngine(obs, sketch_seed=sketch_seed, sketch_size=sketch_size)
    else:
        client = _dask_client(client)
        if n_blocks is None:
            n_blocks = 2 * max(len(client.scheduler_info()["workers"]), 1)
        n_blocks = check_scalar(n_blocks, "n_blocks", kind=int, low=1)
        if is_frame:
            engine = DaskEngine.from_dataframe(client, M_obs, (m, n), n_blocks,
                                               sketch_seed=sketch_seed,
                                               sketch_size=sketch_size)
        else:
            engine = DaskEngine.from_observations(client, obs, n_blocks,
                                                  sketch_seed=sketch_seed,
                                                  sketch_size=sketch_size)
    try:
        result = _altmin_loop(engine, (m, n), rank, reg, solver, max_iter, tol, init, rng, clip,
                              return_history, cg_steps, sketch_size, callback, progress)
    finally:
        engine.close()
    if host is not None:  # back to the inputs' namespace, device and dtype
        xp, dtype = host.xp, host.values.dtype
        result.U = xp.asarray(result.U, dtype=dtype, device=host.device)
        result.V = xp.asarray(result.V, dtype=dtype, device=host.device)
    return result


def _is_dask_dataframe(x: Any) -> bool:
    module = type(x).__module__
    return module.startswith("dask") and hasattr(x, "to_delayed") and hasattr(x, "columns")


def _frame_shape(df: Any, shape: Any) -> tuple[int, int]:
    missing = {"row", "col", "value"} - set(df.columns)
    if missing:
        raise ValueError(f"M_obs: the Dask DataFrame needs columns row, col, value; missing "
                         f"{sorted(missing)}.")
    if shape is None:
        import dask

        rmax, cmax = dask.compute(df["row"].max(), df["col"].max())
        shape = (int(rmax) + 1, int(cmax) + 1)
    try:
        m, n = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be a pair of integers, got {shape!r}.") from None
    if min(m, n) < 1:
        raise ValueError(f"shape must be two positive integers, got {(m, n)}.")
    return m, n


def _dask_client(client: Any) -> Any:
    try:
        from distributed import default_client
    except ImportError:
        raise ImportError("backend='dask' needs dask and distributed: "
                          "pip install 'numlearn[dask]'.") from None
    if client is None:
        try:
            return default_client()
        except ValueError:
            raise ValueError("backend='dask' needs a dask.distributed Client: pass client= "
                             "or create one first.") from None
    return client


def _altmin_loop(engine, shape, rank, reg, solver, max_iter, tol, init, rng, clip,
                 return_history, cg_steps, sketch_size, callback, progress) -> SolverResult:
    m, n = shape
    nonempty_rows, n_obs, sum_sq = engine.stats("rows")
    nonempty_cols = engine.stats("cols")[0]
    if n_obs == 0:
        raise ValueError("M_obs has no observed entries.")
    empty_rows, empty_cols = m - nonempty_rows, n - nonempty_cols
    if empty_rows or empty_cols:
        warnings.warn(
            f"M_obs has {empty_rows} rows and {empty_cols} columns without observations; "
            "their factors stay at the regularized solution (zero).", UserWarning,
            stacklevel=3,
        )

    if isinstance(init, str):
        init = check_option(init, "init", ("svd", "random"))
        if init == "svd":
            U = _init_svd(engine, (m, n), n_obs, rank, rng, clip)
        else:
            U = np.ascontiguousarray(np.linalg.qr(rng.standard_normal((m, rank)))[0])
        V = np.zeros((n, rank))
        U, V = engine.factor(U), engine.factor(V)
    else:
        try:
            U0, V0 = init
        except (TypeError, ValueError):
            raise TypeError("init must be 'svd', 'random' or a pair (U0, V0).") from None
        U = engine.factor(_check_factor(U0, "init U0", (m, rank)))
        V = engine.factor(_check_factor(V0, "init V0", (n, rank)))

    scale = math.sqrt(sum_sq / n_obs)
    history = [] if return_history else None
    status = Status.MAX_ITER
    singular = 0
    rmse_prev = math.inf
    rmse = math.sqrt(engine.sse(U, V) / n_obs) if max_iter == 0 else math.inf
    k = 0
    while k < max_iter:
        V, s_cols = engine.half_step("cols", U, V, solver, reg, cg_steps, sketch_size)
        U, s_rows = engine.half_step("rows", V, U, solver, reg, cg_steps, sketch_size)
        singular += s_cols + s_rows
        k += 1
        rmse = math.sqrt(engine.sse(U, V) / n_obs)
        if history is not None:
            history.append(rmse)
        progress.update(k, rmse)
        if not math.isfinite(rmse):
            status = Status.DIVERGED
            break
        if rmse <= tol * scale or (math.isfinite(rmse_prev)
                                   and rmse_prev - rmse <= tol * rmse_prev):
            status = Status.SUCCESS
            break
        rmse_prev = rmse
        if callback is not None:
            try:
                callback(U, V)
            except StopIteration:
                status = Status.CALLBACK_STOP
                break
    progress.update(k, rmse, final=True)
    if singular:
        warnings.warn(
            f"{singular} row regressions were singular (fewer than rank={rank} observations "
            "and reg=0); those factor rows were set to zero. Use reg > 0.", UserWarning,
            stacklevel=3,
        )
    result = make_result(status=status, n_iter=k, U=U, V=V, rmse=rmse,
                         empty_rows=empty_rows, empty_cols=empty_cols)
    if history is not None:
        result.history = np.asarray(history)
    warn_if_not_converged(result, "altmin", stacklevel=4)
    return result


def _entry_indices(idx: Any, name: str) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.size and idx.dtype.kind not in "iu":  # a float would be truncated silently
        raise TypeError(f"{name} must hold integer indices, got dtype {idx.dtype}.")
    return idx.astype(np.int64)


@suggest_keywords
def predict_entries(U: Any, V: Any, rows: Any, cols: Any) -> Any:
    """``(U Vᵀ)[rows, cols]`` without forming ``U Vᵀ``.

    Factors of another array library (CuPy, ...) give the entries in that library, on their
    device (``rows`` and ``cols`` are then taken onto it).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import predict_entries
    >>> U, V = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0, 1.0], [1.0, 1.0]])
    >>> predict_entries(U, V, [0, 1], [0, 1])
    array([3., 2.])
    """
    xp = get_namespace(U, V)
    if not is_numpy_namespace(xp):
        return predict_entries_array_api(U, V, rows, cols, xp)
    U = check_array(U, "U", ndim=2)
    V = check_array(V, "V", ndim=2)
    if U.shape[1] != V.shape[1]:
        raise ValueError(f"U and V must have the same number of columns (the rank), got "
                         f"{U.shape[1]} and {V.shape[1]}.")
    rows, cols = _entry_indices(rows, "rows"), _entry_indices(cols, "cols")
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same shape, got {rows.shape}, "
                         f"{cols.shape}.")
    if rows.size and (rows.min() < 0 or rows.max() >= U.shape[0] or cols.min() < 0
                      or cols.max() >= V.shape[0]):
        raise ValueError(f"an index lies outside the {U.shape[0]} x {V.shape[0]} matrix.")
    return np.einsum("ij,ij->i", U[rows.ravel()], V[cols.ravel()]).reshape(rows.shape)

