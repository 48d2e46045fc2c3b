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
from typing import Any, NamedTuple

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
    biases: bool = False,
    reg_scaling: str = "none",
    nonnegative: bool = False,
    validation_fraction: float | None = None,
    n_iter_no_change: int = 5,
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
        Ridge penalty ``reg (‖U‖² + ‖V‖²)``; 0 gives the plain AltMin of Jain et al., which
        recovers exactly low-rank matrices but overfits noisy data such as ratings: there
        use ``reg > 0``, e.g. ``reg=0.1, reg_scaling="count"`` (Spark ALS's defaults).
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
    biases : bool, default=False
        Fit ``M_ij ≈ μ + b_i + c_j + u_iᵀv_j``: ``μ`` the mean of the observed values (kept
        fixed), ``b`` and ``c`` row and column biases fitted in the same sweeps as the
        factors (each half-step solves ``[u_i, b_i]`` jointly against ``[v_j, 1]``; the
        biases get the same penalty as the factors).
    reg_scaling : {"none", "count"}, default="none"
        ``"count"``: the penalty of each row's (and column's) regression is ``reg · n_i``,
        ``n_i`` its number of observations: ALS-WR (Zhou et al. 2008), which is what Spark
        ALS does with ``regParam``. With ``"count"``, ``reg=0.1`` is Spark's default and a
        sound start on ratings; with ``"none"`` (the plain AltMin objective above),
        ``reg=0`` recovers exactly low-rank matrices but overfits noisy ratings: use
        ``reg > 0`` there.
    nonnegative : bool, default=False
        Constrain ``U`` and ``V`` to be nonnegative (biases stay free): each row's
        regression is solved exactly by projected coordinate descent on its normal
        equations. Needs ``solver="cholesky"``.
    validation_fraction : float in (0, 1), optional
        Hold out this fraction of the observations (drawn with ``random_state``), fit on the
        rest, and stop when the held-out RMSE has not decreased by more than
        ``tol × best`` for ``n_iter_no_change`` iterations; the factors of the best
        iteration are returned (as scikit-learn's iterative estimators do).
    n_iter_no_change : int, default=5
        Patience of the early stopping on the validation fraction.

    Returns
    -------
    SolverResult
        ``U`` (m × k), ``V`` (n × k) with ``M ≈ U Vᵀ``, ``rmse`` (training RMSE),
        ``n_iter``, ``converged``, ``status``, ``message``, ``empty_rows``,
        ``empty_cols`` and ``history`` when asked. With ``biases=True`` also ``mean``
        (``μ``), ``row_bias`` (m) and ``col_bias`` (n); with ``validation_fraction``,
        ``validation_history`` (held-out RMSE per iteration) and ``best_iter``.

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
    **Recommender options.** ``biases``, ``reg_scaling="count"``, ``nonnegative`` and
    ``validation_fraction`` run on NumPy/SciPy observations (local and Dask backends) with
    the ``"cholesky"`` or ``"cg"`` solver; a string ``init`` then starts from factor
    entries of order one (standard Gaussian for ``"random"``, the SVD start times
    ``√m``): the count-scaled penalty would shrink the small entries of an orthonormal
    start to zero.

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
    via Robust Alternating Minimization in Nearly Linear Time", ICLR 2024. Y. Zhou,
    D. Wilkinson, R. Schreiber, R. Pan, "Large-Scale Parallel Collaborative Filtering for the
    Netflix Prize", AAIM 2008 (ALS-WR). Y. Koren, R. Bell, C. Volinsky, "Matrix Factorization
    Techniques for Recommender Systems", Computer 42(8), 2009 (biases).

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
    options = _recommender_options(biases, reg_scaling, nonnegative, validation_fraction,
                                   n_iter_no_change, solver, xobs is not None or host is not None)
    validation = None
    if options is not None:
        if options.validation_fraction is not None:
            if obs is None:
                raise ValueError("validation_fraction needs NumPy/SciPy observations, not a "
                                 "Dask DataFrame.")
            obs, validation = _split_validation(obs, options.validation_fraction, rng)
        if options.biases:
            options = options._replace(mean=_observed_mean(obs, M_obs))

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
        if options is None:
            result = _altmin_loop(engine, (m, n), rank, reg, solver, max_iter, tol, init, rng,
                                  clip, return_history, cg_steps, sketch_size, callback,
                                  progress)
        else:
            result = _als_loop(engine, (m, n), rank, reg, solver, max_iter, tol, init, rng,
                               clip, return_history, cg_steps, callback, progress, options,
                               validation)
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


def _coverage(engine, shape) -> tuple[int, float, int, int]:
    """``(n_obs, Σ values², empty rows, empty cols)``; warns about empty rows/columns."""
    m, n = shape
    with np.errstate(over="ignore"):  # an overflowing sum is refused just below
        nonempty_rows, n_obs, sum_sq = engine.stats("rows")
        nonempty_cols = engine.stats("cols")[0]
    if n_obs == 0:
        raise ValueError("M_obs has no observed entries.")
    if not math.isfinite(sum_sq):
        # checked before ARPACK/LAPACK see the values (they would print to stderr, then
        # fail): every residual and factor product would overflow as well
        raise ValueError(
            "M_obs: the sum of squares of the observed values overflows float64 (values "
            "of magnitude about 1e154 and above); rescale them (divide by their largest "
            "magnitude) first.")
    empty_rows, empty_cols = m - nonempty_rows, n - nonempty_cols
    if empty_rows or empty_cols:
        warnings.warn(
            f"M_obs has {empty_rows} rows and {empty_cols} columns without observations; "
            "their factors stay at the regularized solution (zero).", UserWarning,
            stacklevel=5,
        )
    return n_obs, sum_sq, empty_rows, empty_cols


def _initial_factors(engine, shape, n_obs, rank, init, rng, clip):
    """``(U, V, from_string)``: the starting factors (``V`` zero for a string ``init``)."""
    m, n = shape
    if isinstance(init, str):
        init = check_option(init, "init", ("svd", "random"))
        if init == "svd":
            U = _init_svd(engine, (m, n), n_obs, rank, rng, clip)
        else:
            U = np.ascontiguousarray(np.linalg.qr(rng.standard_normal((m, rank)))[0])
        V = np.zeros((n, rank))
        return engine.factor(U), engine.factor(V), True
    try:
        U0, V0 = init
    except (TypeError, ValueError):
        raise TypeError("init must be 'svd', 'random' or a pair (U0, V0).") from None
    U = engine.factor(_check_factor(U0, "init U0", (m, rank)))
    V = engine.factor(_check_factor(V0, "init V0", (n, rank)))
    return U, V, False


def _altmin_loop(engine, shape, rank, reg, solver, max_iter, tol, init, rng, clip,
                 return_history, cg_steps, sketch_size, callback, progress) -> SolverResult:
    m, n = shape
    n_obs, sum_sq, empty_rows, empty_cols = _coverage(engine, shape)
    U, V, _ = _initial_factors(engine, shape, n_obs, rank, init, rng, clip)

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
            stacklevel=4,
        )
    result = make_result(status=status, n_iter=k, U=U, V=V, rmse=rmse,
                         empty_rows=empty_rows, empty_cols=empty_cols)
    if history is not None:
        result.history = np.asarray(history)
    warn_if_not_converged(result, "altmin", stacklevel=4)
    return result


class _Options(NamedTuple):
    """The recommender options of :func:`altmin` (``None`` when all are off)."""

    biases: bool
    count_scaling: bool
    nonnegative: bool
    validation_fraction: float | None
    n_iter_no_change: int
    mean: float = 0.0


def _recommender_options(biases, reg_scaling, nonnegative, validation_fraction,
                         n_iter_no_change, solver, array_api) -> _Options | None:
    if not isinstance(biases, (bool, np.bool_)):
        raise TypeError(f"biases must be True or False, got {biases!r}.")
    if not isinstance(nonnegative, (bool, np.bool_)):
        raise TypeError(f"nonnegative must be True or False, got {nonnegative!r}.")
    reg_scaling = check_option(reg_scaling, "reg_scaling", ("none", "count"))
    if validation_fraction is not None:
        validation_fraction = check_scalar(validation_fraction, "validation_fraction",
                                           low=0.0, high=1.0, include_low=False,
                                           include_high=False)
    n_iter_no_change = check_scalar(n_iter_no_change, "n_iter_no_change", kind=int, low=1)
    if not (biases or nonnegative or reg_scaling == "count" or validation_fraction is not None):
        return None
    if array_api:
        raise ValueError("biases, reg_scaling='count', nonnegative and validation_fraction "
                         "need NumPy/SciPy observations (local or Dask backend); got arrays "
                         "of another array library.")
    if solver == "sketch":
        raise ValueError("solver='sketch' does not support biases, reg_scaling='count', "
                         "nonnegative or validation_fraction: use 'cholesky' or 'cg'.")
    if nonnegative and solver != "cholesky":
        raise ValueError(f"nonnegative=True needs solver='cholesky', got solver={solver!r}.")
    return _Options(bool(biases), reg_scaling == "count", bool(nonnegative),
                    validation_fraction, n_iter_no_change)


def _split_validation(obs, fraction, rng):
    """Observations for fitting and the held-out ``(rows, cols, values)``."""
    held = rng.random(obs.values.shape[0]) < fraction
    if held.all() or not held.any():
        raise ValueError(f"validation_fraction={fraction} leaves no observation on one side "
                         f"of the split of {held.shape[0]} observations.")
    keep = ~held
    train = check_observations((obs.rows[keep], obs.cols[keep], obs.values[keep], obs.shape))
    return train, (obs.rows[held], obs.cols[held], obs.values[held])


def _observed_mean(obs, M_obs) -> float:
    if obs is not None:
        return float(np.mean(obs.values))
    import dask

    return float(dask.compute(M_obs["value"].mean())[0])


def _with_column(F: np.ndarray, col: np.ndarray | float) -> np.ndarray:
    out = np.empty((F.shape[0], F.shape[1] + 1))
    out[:, :-1] = F
    out[:, -1] = col
    return out


def _als_loop(engine, shape, rank, reg, solver, max_iter, tol, init, rng, clip,
              return_history, cg_steps, callback, progress, options, validation
              ) -> SolverResult:
    """AltMin with biases, ALS-WR penalties, nonnegativity and early stopping (NumPy)."""
    m, n = shape
    n_obs, sum_sq, empty_rows, empty_cols = _coverage(engine, shape)
    if isinstance(init, str) and check_option(init, "init", ("svd", "random")) == "random":
        # Gaussian entries of order one (no QR: the scale matters here, not orthonormality)
        U, V = rng.standard_normal((m, rank)), np.zeros((n, rank))
    else:
        U, V, from_string = _initial_factors(engine, shape, n_obs, rank, init, rng, clip)
        if from_string:  # entries of order one: see Notes
            U = U * math.sqrt(m)
    if options.nonnegative:
        U, V = np.abs(U), np.abs(V)
    mu = options.mean
    bu, bi = np.zeros(m), np.zeros(n)
    n_nonneg = rank if options.nonnegative else 0
    kw = dict(count_scaling=options.count_scaling, n_nonneg=n_nonneg)

    def half(side, own, own_bias, other, other_bias):
        """New ``(factor, bias)`` of one side, singular rows, sum of squared residuals
        (computed for the rows half-step only, which ends an iteration)."""
        want = side == "rows"
        if options.biases:
            out, s, sse = engine.half_step(side, _with_column(other, 1.0),
                                           _with_column(own, own_bias), solver, reg,
                                           cg_steps, 1, offset=mu + other_bias, want_sse=want,
                                           **kw)
            return (np.ascontiguousarray(out[:, :rank]), np.ascontiguousarray(out[:, rank]),
                    s, sse)
        out, s, sse = engine.half_step(side, other, own, solver, reg, cg_steps, 1,
                                       offset=np.zeros(other.shape[0]), want_sse=want, **kw)
        return out, own_bias, s, sse

    def train_rmse():
        if not options.biases:
            return math.sqrt(engine.sse(U, V) / n_obs)
        Ua = np.column_stack([U, bu, np.ones(m), np.ones(m)])
        Va = np.column_stack([V, np.ones(n), bi, np.full(n, mu)])
        return math.sqrt(engine.sse(Ua, Va) / n_obs)

    def validation_rmse():
        r, c, v = validation
        pred = predict_entries(U, V, r, c, row_bias=bu if options.biases else None,
                               col_bias=bi if options.biases else None, mean=mu)
        return math.sqrt(float(np.mean((pred - v) ** 2)))

    scale = math.sqrt(sum_sq / n_obs)
    history = [] if return_history else None
    val_history = [] if validation is not None else None
    best = (math.inf, 0, U, V, bu, bi)
    stale = 0
    status = Status.MAX_ITER
    singular = 0
    rmse_prev = math.inf
    rmse = train_rmse() if max_iter == 0 else math.inf
    k = 0
    while k < max_iter:
        V, bi, s_cols, _ = half("cols", V, bi, U, bu)
        U, bu, s_rows, sse = half("rows", U, bu, V, bi)
        singular += s_cols + s_rows
        k += 1
        rmse = math.sqrt(sse / n_obs)
        if history is not None:
            history.append(rmse)
        progress.update(k, rmse)
        if not math.isfinite(rmse):
            status = Status.DIVERGED
            break
        if val_history is not None:
            val = validation_rmse()
            val_history.append(val)
            if val < best[0] * (1.0 - tol):
                best, stale = (val, k, U, V, bu, bi), 0
            else:
                stale += 1
                if stale >= options.n_iter_no_change:
                    status = Status.SUCCESS
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
        warnings.warn(f"{singular} row regressions were singular (reg=0 with fewer than "
                      f"rank={rank} observations); those factor rows were set to zero. Use "
                      "reg > 0.", UserWarning, stacklevel=4)
    extra = {}
    if val_history is not None:
        if best[1] > 0 and best[1] != k:  # back to the best iterate
            _, _, U, V, bu, bi = best
            rmse = train_rmse()
        extra = dict(validation_history=np.asarray(val_history), best_iter=best[1])
    if options.biases:
        extra.update(mean=mu, row_bias=bu, col_bias=bi)
    result = make_result(status=status, n_iter=k, U=U, V=V, rmse=rmse,
                         empty_rows=empty_rows, empty_cols=empty_cols, **extra)
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
def predict_entries(U: Any, V: Any, rows: Any, cols: Any, *, row_bias: Any = None,
                    col_bias: Any = None, mean: float = 0.0) -> Any:
    """``(U Vᵀ)[rows, cols]`` without forming ``U Vᵀ``.

    Factors of another array library (CuPy, ...) give the entries in that library, on their
    device (``rows`` and ``cols`` are then taken onto it). ``row_bias``, ``col_bias`` and
    ``mean`` (the fields of an :func:`altmin` result fitted with ``biases=True``; NumPy
    factors) add ``mean + row_bias[rows] + col_bias[cols]``.

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
    out = np.einsum("ij,ij->i", U[rows.ravel()], V[cols.ravel()]).reshape(rows.shape)
    if row_bias is not None:
        out = out + np.asarray(row_bias, dtype=np.float64)[rows]
    if col_bias is not None:
        out = out + np.asarray(col_bias, dtype=np.float64)[cols]
    return out + float(mean) if mean else out

