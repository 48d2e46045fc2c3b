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
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from numlearn._backend import to_numpy
from numlearn._monitor import Monitor
from numlearn._result import SolverResult
from numlearn._validation import (
    suggest_keywords,
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
)
from numlearn.completion._altmin_loop import BiasedModel, PlainModel, check_coverage, run_altmin
from numlearn.completion._array_api import make_engine
from numlearn.completion._dask_engine import DaskEngine, dask_client
from numlearn.completion._local_engine import LocalEngine
from numlearn.completion._observations import check_observations, check_observations_array_api
from numlearn.completion._predict import predict_entries

__all__ = ["altmin", "predict_entries"]

_SOLVERS = ("cholesky", "cg", "sketch")


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
        use ``reg > 0``, e.g. ``reg=0.1, reg_scaling="count"`` (Spark ALS's defaults). On
        100k generated power-law ratings (:func:`~numlearn.completion.make_ratings`, 80/20
        split, rank 10) the held-out RMSE is 35.7 at ``reg=0``, 1.04 at ``reg=1``, 0.946
        at ``reg=0.1, reg_scaling="count"`` and 0.929 with ``biases=True`` added.
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
    the ``"cholesky"`` or ``"cg"`` solver (``reg_scaling="count"`` alone also on other array
    libraries, with the whole-array engine); a string ``init`` then starts from factor
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
    mon = Monitor("altmin", verbose=verbose, callback=callback,
                  return_history=return_history, measure="rmse")
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
        engine = make_engine(xobs, rank, recommender=options is not None)
    elif backend == "local":
        engine = LocalEngine(obs, sketch_seed=sketch_seed, sketch_size=sketch_size)
    else:
        client = dask_client(client)
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
        n_obs, sum_sq, empty_rows, empty_cols = check_coverage(engine, (m, n))
        if options is None:
            model = PlainModel(engine, (m, n), n_obs, rank, init, rng, clip, solver=solver,
                               reg=reg, cg_steps=cg_steps, sketch_size=sketch_size)
        else:
            model = BiasedModel(engine, (m, n), n_obs, rank, init, rng, clip, solver=solver,
                                reg=reg, cg_steps=cg_steps, options=options)
        result = run_altmin(model, mon, max_iter=max_iter, tol=tol,
                            scale=math.sqrt(sum_sq / n_obs), rank=rank,
                            coverage=(empty_rows, empty_cols), validation=validation,
                            n_iter_no_change=options.n_iter_no_change if options else 5)
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
    if array_api and (biases or nonnegative or validation_fraction is not None):
        raise ValueError("biases, nonnegative and validation_fraction need NumPy/SciPy "
                         "observations (local or Dask backend); got arrays of another array "
                         "library (reg_scaling='count' runs there).")
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


