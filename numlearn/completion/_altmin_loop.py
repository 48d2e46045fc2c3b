"""The AltMin iteration, written once for every engine and both objectives.

:func:`~numlearn.completion.altmin` validates, picks the engine
(:mod:`numlearn.completion._engine`) and calls :func:`run_altmin`. A *model* holds the
factors of one objective and does one sweep (the ``V`` half-step, then the ``U``
half-step): :class:`PlainModel` the AltMin objective ``Σ_Ω (M_ij − u_iᵀv_j)² + reg
(‖U‖² + ‖V‖²)``, :class:`BiasedModel` the recommender one (global mean and biases, ALS-WR
penalties, nonnegativity). The loop around them (stopping rule, early stopping on a
validation fraction, history, progress, callback, statuses, warnings) is
:class:`numlearn._monitor.Monitor`'s skeleton.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy.sparse.linalg import ArpackError, LinearOperator, svds

from numlearn._backend import to_numpy
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import check_option, user_stacklevel
from numlearn.completion._predict import predict_entries

__all__ = ["run_altmin", "PlainModel", "BiasedModel", "check_coverage"]


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


def check_coverage(engine, shape) -> tuple[int, float, int, int]:
    """``(n_obs, Σ values², empty rows, empty cols)``; warns about empty rows/columns."""
    m, n = shape
    with np.errstate(over="ignore"):  # an overflowing sum is refused just below
        nonempty_rows, n_obs, sum_sq = engine.stats("rows")
        nonempty_cols = engine.stats("cols")[0]
    if n_obs == 0:
        raise ValueError("M_obs has no observed entries.")
    if not math.isfinite(float(sum_sq)):
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
            stacklevel=user_stacklevel(3),
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


def _with_column(F: np.ndarray, col: np.ndarray | float) -> np.ndarray:
    out = np.empty((F.shape[0], F.shape[1] + 1))
    out[:, :-1] = F
    out[:, -1] = col
    return out


class PlainModel:
    """The factors ``U``, ``V`` of the AltMin objective, on any engine."""

    def __init__(self, engine, shape, n_obs, rank, init, rng, clip, *, solver, reg,
                 cg_steps, sketch_size):
        self.engine, self.n_obs = engine, n_obs
        self.U, self.V, _ = _initial_factors(engine, shape, n_obs, rank, init, rng, clip)
        self.half = dict(solver=solver, reg=reg, cg_steps=cg_steps, sketch_size=sketch_size)

    def sweep(self) -> tuple[int, float]:
        """One iteration; ``(singular regressions, training RMSE)``."""
        e, h = self.engine, self.half
        self.V, s_cols = e.half_step("cols", self.U, self.V, h["solver"], h["reg"],
                                     h["cg_steps"], h["sketch_size"])
        self.U, s_rows = e.half_step("rows", self.V, self.U, h["solver"], h["reg"],
                                     h["cg_steps"], h["sketch_size"])
        return s_cols + s_rows, self.train_rmse()

    def train_rmse(self) -> float:
        return math.sqrt(self.engine.sse(self.U, self.V) / self.n_obs)

    def factors(self) -> tuple:
        return self.U, self.V

    def snapshot(self) -> tuple:
        return self.U, self.V

    def restore(self, state) -> None:
        self.U, self.V = state

    def fields(self) -> dict:
        return {}


class BiasedModel(PlainModel):
    """The recommender objective (NumPy engines): ``μ + b_i + c_j + u_iᵀv_j`` with biases,
    ALS-WR penalties ``reg · n_i`` and nonnegative factors as ``options`` ask."""

    def __init__(self, engine, shape, n_obs, rank, init, rng, clip, *, solver, reg,
                 cg_steps, options):
        m, n = shape
        self.engine, self.n_obs, self.rank, self.options = engine, n_obs, rank, options
        if isinstance(init, str) and check_option(init, "init", ("svd", "random")) == "random":
            # Gaussian entries of order one (no QR: the scale matters here, not
            # orthonormality)
            U = engine.factor(rng.standard_normal((m, rank)))
            V = engine.factor(np.zeros((n, rank)))
        else:
            U, V, from_string = _initial_factors(engine, shape, n_obs, rank, init, rng, clip)
            if from_string:  # entries of order one: see altmin's Notes
                U = U * math.sqrt(m)
        if options.nonnegative:
            U, V = np.abs(U), np.abs(V)
        self.U, self.V = U, V
        self.bu, self.bi = np.zeros(m), np.zeros(n)
        self.mu = options.mean
        self.solver, self.reg, self.cg_steps = solver, reg, cg_steps
        self.kw = dict(count_scaling=options.count_scaling,
                       n_nonneg=rank if options.nonnegative else 0)

    def _half(self, side, own, own_bias, other, other_bias):
        """New ``(factor, bias)`` of one side, singular rows, sum of squared residuals
        (computed for the rows half-step only, which ends an iteration)."""
        want = side == "rows"
        rank, e = self.rank, self.engine
        if self.options.biases:
            out, s, sse = e.half_step(side, _with_column(other, 1.0),
                                      _with_column(own, own_bias), self.solver, self.reg,
                                      self.cg_steps, 1, offset=self.mu + other_bias,
                                      want_sse=want, **self.kw)
            return (np.ascontiguousarray(out[:, :rank]), np.ascontiguousarray(out[:, rank]),
                    s, sse)
        out, s, sse = e.half_step(side, other, own, self.solver, self.reg, self.cg_steps, 1,
                                  offset=np.zeros(other.shape[0]), want_sse=want, **self.kw)
        return out, own_bias, s, sse

    def sweep(self):
        self.V, self.bi, s_cols, _ = self._half("cols", self.V, self.bi, self.U, self.bu)
        self.U, self.bu, s_rows, sse = self._half("rows", self.U, self.bu, self.V, self.bi)
        return s_cols + s_rows, math.sqrt(sse / self.n_obs)

    def train_rmse(self):
        if not self.options.biases:
            return math.sqrt(self.engine.sse(self.U, self.V) / self.n_obs)
        m, n = self.U.shape[0], self.V.shape[0]
        Ua = np.column_stack([self.U, self.bu, np.ones(m), np.ones(m)])
        Va = np.column_stack([self.V, np.ones(n), self.bi, np.full(n, self.mu)])
        return math.sqrt(self.engine.sse(Ua, Va) / self.n_obs)

    def validation_rmse(self, validation) -> float:
        r, c, v = validation
        biases = self.options.biases
        pred = predict_entries(self.U, self.V, r, c, row_bias=self.bu if biases else None,
                               col_bias=self.bi if biases else None, mean=self.mu)
        return math.sqrt(float(np.mean((pred - v) ** 2)))

    def snapshot(self):
        return self.U, self.V, self.bu, self.bi

    def restore(self, state):
        self.U, self.V, self.bu, self.bi = state

    def fields(self):
        if self.options.biases:
            return dict(mean=self.mu, row_bias=self.bu, col_bias=self.bi)
        return {}


def run_altmin(model: PlainModel, mon: Monitor, *, max_iter: int, tol: float, scale: float,
               rank: int, coverage: tuple[int, int], validation: Any = None,
               n_iter_no_change: int = 5) -> SolverResult:
    """Iterate ``model`` until the training RMSE falls below ``tol × scale`` or decreases by
    less than ``tol`` relative (or the held-out RMSE of ``validation`` stops improving for
    ``n_iter_no_change`` iterations, the best iterate then returned), ``max_iter``, a
    non-finite RMSE (diverged) or a callback's StopIteration."""
    val_history = [] if validation is not None else None
    best = (math.inf, 0, None)
    stale = 0
    status = Status.MAX_ITER
    singular = 0
    rmse_prev = math.inf
    rmse = model.train_rmse() if max_iter == 0 else math.inf
    k = 0
    while k < max_iter:
        s, rmse = model.sweep()
        singular += s
        k += 1
        mon.record(rmse, n_iter=k)
        if not math.isfinite(rmse):
            status = Status.DIVERGED
            break
        if val_history is not None:
            val = model.validation_rmse(validation)
            val_history.append(val)
            if val < best[0] * (1.0 - tol):
                best, stale = (val, k, model.snapshot()), 0
            else:
                stale += 1
                if stale >= n_iter_no_change:
                    status = Status.SUCCESS
                    break
        if rmse <= tol * scale or (math.isfinite(rmse_prev)
                                   and rmse_prev - rmse <= tol * rmse_prev):
            status = Status.SUCCESS
            break
        rmse_prev = rmse
        if mon.notify(*model.factors()):
            status = Status.CALLBACK_STOP
            break
    mon.finish(rmse, n_iter=k)
    if singular:
        warnings.warn(
            f"{singular} row regressions were singular (fewer than rank={rank} observations "
            "and reg=0); those factor rows were set to zero. Use reg > 0.", UserWarning,
            stacklevel=user_stacklevel(3),
        )
    extra = {}
    if val_history is not None:
        if best[1] > 0 and best[1] != k:  # back to the best iterate
            model.restore(best[2])
            rmse = model.train_rmse()
        extra = dict(validation_history=np.asarray(val_history), best_iter=best[1])
    extra.update(model.fields())
    U, V = model.factors()
    return mon.result(status, n_iter=k, U=U, V=V, rmse=rmse, empty_rows=coverage[0],
                      empty_cols=coverage[1], stacklevel=4, **extra)
