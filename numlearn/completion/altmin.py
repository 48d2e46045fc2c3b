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
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
)
from numlearn.completion._altmin_kernels import (
    observed_residuals,
    solve_rows_cg,
    solve_rows_cholesky,
    solve_rows_sketch,
)
from numlearn.completion._observations import (
    Observations,
    RowLayout,
    check_observations,
    row_layout,
)

__all__ = ["altmin", "predict_entries"]

_SOLVERS = ("cholesky", "cg", "sketch")


class _HalfStep:
    """Everything one half-step needs about one side: the observations grouped by the rows
    being updated, and (for ``solver="sketch"``) the CountSketch hash of each observation."""

    def __init__(self, layout: RowLayout, sketch_rows=None, sketch_signs=None):
        self.layout = layout
        self.sketch_rows = sketch_rows
        self.sketch_signs = sketch_signs

    def solve(self, other: np.ndarray, out: np.ndarray, solver: str, reg: float,
              cg_steps: int, sketch_size: int) -> int:
        """Update ``out`` (the factor of this side) in place from ``other``; returns the
        number of rows whose regression was singular (set to zero)."""
        L = self.layout
        if solver == "cholesky":
            return int(solve_rows_cholesky(L.indptr, L.indices, L.values, other, reg, out))
        if solver == "cg":
            solve_rows_cg(L.indptr, L.indices, L.values, other, reg, out, cg_steps)
            return 0
        solve_rows_sketch(L.indptr, L.indices, L.values, other, reg, out, self.sketch_rows,
                          self.sketch_signs, sketch_size, cg_steps)
        return 0


def _check_factor(F: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    F = np.array(F, dtype=np.float64, order="C", copy=True)
    if F.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {F.shape}.")
    if not np.all(np.isfinite(F)):
        raise ValueError(f"{name} must be finite.")
    return F


def _init_svd(obs: Observations, rank: int, rng: np.random.Generator, clip: float
              ) -> np.ndarray:
    """Top-``rank`` left singular vectors of the rescaled sampled matrix ``(mn/|Ω|) P_Ω(M)``
    (ARPACK on the sparse matrix, never dense), rows with norm above ``clip·√(k/m)``
    shrunk to that norm (incoherence), re-orthonormalized by QR."""
    m, n = obs.shape
    P = sp.csr_matrix((obs.values, (obs.rows, obs.cols)), shape=(m, n))
    P *= (m * n) / obs.values.shape[0]
    v0 = rng.standard_normal(min(m, n))
    U, _, _ = svds(P, k=rank, v0=v0, solver="arpack")
    norms = np.linalg.norm(U, axis=1)
    threshold = clip * math.sqrt(rank / m)
    big = norms > threshold
    U[big] *= (threshold / norms[big])[:, None]
    Q, _ = np.linalg.qr(U)
    return np.ascontiguousarray(Q)


def _rmse(row_side: _HalfStep, U: np.ndarray, V: np.ndarray, buffer: np.ndarray) -> float:
    L = row_side.layout
    observed_residuals(L.indptr, L.indices, L.values, U, V, buffer)
    return float(math.sqrt(np.dot(buffer, buffer) / buffer.shape[0]))


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
) -> SolverResult:
    """Complete a low-rank matrix from observed entries by alternating minimization.

    Parameters
    ----------
    M_obs : scipy.sparse matrix or tuple ``(rows, cols, values, shape)``
        The observed entries (every stored entry of a sparse matrix counts as observed,
        explicit zeros included). Duplicate ``(row, col)`` pairs, NaN and indices out of
        range are errors.
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
    """
    obs = check_observations(M_obs)
    m, n = obs.shape
    rank = check_scalar(rank, "rank", kind=int, low=1)
    if rank >= min(m, n):
        raise ValueError(f"rank must be < min(m, n) = {min(m, n)}, got {rank}.")
    reg = check_scalar(reg, "reg", low=0.0)
    solver = check_option(solver, "solver", _SOLVERS)
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    tol = check_scalar(tol, "tol", low=0.0)
    cg_steps = check_scalar(cg_steps, "cg_steps", kind=int, low=1)
    sketch_size = check_scalar(4 * rank if sketch_size is None else sketch_size,
                               "sketch_size", kind=int, low=rank)
    clip = check_scalar(clip, "clip", low=0.0, include_low=False)
    check_callable(callback, "callback", allow_none=True)
    rng = check_random_state(random_state)
    progress = Progress("altmin", verbose, measure="rmse")

    rows_side = _HalfStep(row_layout(obs.rows, obs.cols, obs.values, m, obs.row_order))
    cols_side = _HalfStep(row_layout(obs.cols, obs.rows, obs.values, n))
    if solver == "sketch":
        for side in (rows_side, cols_side):
            size = side.layout.values.shape[0]
            side.sketch_rows = rng.integers(0, sketch_size, size=size).astype(np.int64)
            side.sketch_signs = rng.choice(np.array([-1.0, 1.0]), size=size)
    empty_rows = int(np.sum(np.diff(rows_side.layout.indptr) == 0))
    empty_cols = int(np.sum(np.diff(cols_side.layout.indptr) == 0))
    if empty_rows or empty_cols:
        warnings.warn(
            f"M_obs has {empty_rows} rows and {empty_cols} columns without observations; "
            "their factors stay at the regularized solution (zero).", UserWarning,
            stacklevel=2,
        )

    if isinstance(init, str):
        init = check_option(init, "init", ("svd", "random"))
        if init == "svd":
            U = _init_svd(obs, rank, rng, clip)
        else:
            U = np.ascontiguousarray(np.linalg.qr(rng.standard_normal((m, rank)))[0])
        V = np.zeros((n, rank))
    else:
        try:
            U0, V0 = init
        except (TypeError, ValueError):
            raise TypeError("init must be 'svd', 'random' or a pair (U0, V0).") from None
        U = _check_factor(U0, "init U0", (m, rank))
        V = _check_factor(V0, "init V0", (n, rank))

    scale = float(np.sqrt(np.mean(obs.values**2)))
    buffer = np.empty(obs.values.shape[0])
    history = [] if return_history else None
    status = Status.MAX_ITER
    singular = 0
    rmse_prev = math.inf
    rmse = _rmse(rows_side, U, V, buffer) if max_iter == 0 else math.inf
    k = 0
    while k < max_iter:
        singular += cols_side.solve(U, V, solver, reg, cg_steps, sketch_size)
        singular += rows_side.solve(V, U, solver, reg, cg_steps, sketch_size)
        k += 1
        rmse = _rmse(rows_side, U, V, buffer)
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
            stacklevel=2,
        )
    result = make_result(status=status, n_iter=k, U=U, V=V, rmse=rmse,
                         empty_rows=empty_rows, empty_cols=empty_cols)
    if history is not None:
        result.history = np.asarray(history)
    warn_if_not_converged(result, "altmin")
    return result


def predict_entries(U: np.ndarray, V: np.ndarray, rows: Any, cols: Any) -> np.ndarray:
    """``(U Vᵀ)[rows, cols]`` without forming ``U Vᵀ``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.completion import predict_entries
    >>> U, V = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0, 1.0], [1.0, 1.0]])
    >>> predict_entries(U, V, [0, 1], [0, 1])
    array([3., 2.])
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same shape, got {rows.shape}, "
                         f"{cols.shape}.")
    if rows.size and (rows.min() < 0 or rows.max() >= U.shape[0] or cols.min() < 0
                      or cols.max() >= V.shape[0]):
        raise ValueError(f"an index lies outside the {U.shape[0]} x {V.shape[0]} matrix.")
    return np.einsum("ij,ij->i", U[rows.ravel()], V[cols.ravel()]).reshape(rows.shape)

