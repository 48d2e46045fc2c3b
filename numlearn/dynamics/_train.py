"""``train``: run an optimizer on a model and record what the dynamics literature plots,
with detectors for divergence, the catapult and the edge of stability."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import (
    check_array,
    check_callable,
    check_random_state,
    check_scalar,
)
from numlearn._validation import suggest_keywords
from numlearn.dynamics import _namespace as nsp
from numlearn.dynamics._optimizers import Optimizer
from numlearn.dynamics._tools import (
    _check_model,
    _check_point,
    _output_scale,
    _top_eigenpairs,
)
from numlearn.linalg import hutchinson_trace

__all__ = [
    "Trajectory",
    "train",
    "Catapult",
    "EdgeOfStability",
    "detect_divergence",
    "detect_catapult",
    "detect_edge_of_stability",
]

_TRACKABLE = ("loss", "sharpness", "trace", "ntk", "param_norm", "step_size",
              "collapse_fraction", "softmax_radius")
#: Recorded (every record) when ``eval_data`` is given.
_EVAL = ("eval_loss", "eval_accuracy")


# ---- detectors --------------------------------------------------------------------------
def detect_divergence(loss: Any, *, threshold: float = 1e8) -> int | None:
    """Index of the first loss that is not finite or exceeds ``threshold * loss[0]``.

    Returns None if the loss stays finite and below the threshold.

    Examples
    --------
    >>> from numlearn.dynamics import detect_divergence
    >>> detect_divergence([1.0, 0.5, 2.0, 1e9])
    3
    >>> detect_divergence([1.0, float("nan")])
    1
    """
    loss = np.asarray(check_array(loss, "loss", finite=False), dtype=np.float64)  # real
    if loss.ndim != 1 or loss.size == 0:
        raise ValueError("loss must be a non-empty 1-D sequence.")
    threshold = check_scalar(threshold, "threshold", low=1.0)
    bound = threshold * max(abs(float(loss[0])), np.finfo(float).tiny)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(loss) | (loss > bound)
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class Catapult:
    """What :func:`detect_catapult` found; truthy when a catapult occurred.

    ``start``: first index with the loss above ``loss[0]``; ``peak``: index of the
    largest loss; ``peak_loss``; ``end``: first index after the peak with the loss back
    below ``loss[0]`` (None if it never came back).
    """

    occurred: bool
    start: int | None
    peak: int | None
    peak_loss: float
    end: int | None

    def __bool__(self) -> bool:
        return self.occurred


def detect_catapult(loss: Any, *, spike_factor: float = 1.5) -> Catapult:
    """Detect a catapult: the loss spikes above ``spike_factor * loss[0]``, then comes
    back below ``loss[0]`` and stays finite.

    Examples
    --------
    >>> from numlearn.dynamics import detect_catapult
    >>> bool(detect_catapult([1.0, 3.0, 9.0, 2.0, 0.5, 0.1]))
    True
    >>> bool(detect_catapult([1.0, 0.5, 0.2]))
    False
    """
    loss = np.asarray(check_array(loss, "loss", finite=False), dtype=np.float64)  # real
    if loss.ndim != 1 or loss.size == 0:
        raise ValueError("loss must be a non-empty 1-D sequence.")
    spike_factor = check_scalar(spike_factor, "spike_factor", low=1.0)
    l0 = float(loss[0])
    finite = np.all(np.isfinite(loss))
    safe = np.where(np.isfinite(loss), loss, np.inf)
    above = np.flatnonzero(safe > l0)
    start = int(above[0]) if above.size else None
    peak = int(np.argmax(safe))
    peak_loss = float(safe[peak])
    after = np.flatnonzero(safe[peak:] < l0)
    end = peak + int(after[0]) if after.size else None
    occurred = bool(finite and peak_loss > spike_factor * l0 and end is not None)
    if peak_loss <= l0:
        return Catapult(False, None, None, peak_loss, None)
    return Catapult(occurred, start, peak, peak_loss, end)


@dataclass(frozen=True)
class EdgeOfStability:
    """What :func:`detect_edge_of_stability` found; truthy when the edge was reached.

    ``reached``: first index with sharpness ``>= (1 - band) 2/lr``; ``fraction_in_band``:
    fraction of the later sharpness values within ``[(1 - band), (1 + band)] 2/lr``;
    ``mean_ratio``: their mean ``sharpness / (2/lr)``.
    """

    occurred: bool
    reached: int | None
    fraction_in_band: float
    mean_ratio: float

    def __bool__(self) -> bool:
        return self.occurred


def detect_edge_of_stability(
    sharpness: Any, lr: float, *, band: float = 0.1, min_fraction: float = 0.8
) -> EdgeOfStability:
    """Detect the edge of stability: sharpness reaches ``2/lr`` and hovers there.

    Occurred when the sharpness reaches ``(1 - band) 2/lr`` and at least
    ``min_fraction`` of the values from then on stay within ``band`` of ``2/lr``.

    Examples
    --------
    >>> from numlearn.dynamics import detect_edge_of_stability
    >>> bool(detect_edge_of_stability([1.0, 1.5, 1.95, 2.05, 1.98, 2.02], lr=1.0))
    True
    >>> bool(detect_edge_of_stability([1.0, 1.1, 1.2], lr=1.0))
    False
    """
    s = np.asarray(check_array(sharpness, "sharpness", finite=False), dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError("sharpness must be a non-empty 1-D sequence.")
    lr = check_scalar(lr, "lr", low=0.0, include_low=False)
    band = check_scalar(band, "band", low=0.0, high=1.0, include_low=False)
    min_fraction = check_scalar(min_fraction, "min_fraction", low=0.0, high=1.0)
    edge = 2.0 / lr
    with np.errstate(invalid="ignore"):
        hits = np.flatnonzero(s >= (1.0 - band) * edge)
    if hits.size == 0:
        return EdgeOfStability(False, None, 0.0, float(np.nanmax(s)) / edge)
    reached = int(hits[0])
    tail = s[reached:] / edge
    with np.errstate(invalid="ignore"):
        fraction = float(np.mean(np.abs(tail - 1.0) <= band))
    return EdgeOfStability(fraction >= min_fraction, reached, fraction, float(np.mean(tail)))


# ---- the trajectory ---------------------------------------------------------------------
class Trajectory(SolverResult):
    """The record of a :func:`train` run (a :class:`~numlearn.SolverResult`).

    Fields: ``steps`` (the step index of each record), one array per tracked quantity
    (``loss``, ``sharpness``, ``trace``, ``ntk``, ``param_norm``, ``step_size``,
    ``collapse_fraction``, ``softmax_radius``; NaN where not recorded), ``eval_loss`` and
    ``eval_accuracy`` (with ``eval_data``; NaN otherwise), ``w`` (the last parameters), ``lr`` (the optimizer's ``lr``),
    ``n_hvp`` (Hessian-vector products spent on sharpness tracking) and
    ``hvps_per_record`` (their split over the records), ``diverged``,
    ``divergence_step``, and ``n_iter`` / ``converged`` / ``status`` / ``message``
    (``SUCCESS`` when all steps ran; ``DIVERGED``; ``CALLBACK_STOP``).
    """

    def detect_divergence(self, threshold: float = 1e8) -> int | None:
        """The step (not index) at which the loss diverged, or None."""
        i = detect_divergence(self.loss, threshold=threshold)
        return None if i is None else int(self.steps[i])

    def detect_catapult(self, spike_factor: float = 1.5) -> Catapult:
        """:func:`detect_catapult` on the recorded loss (indices are record indices)."""
        return detect_catapult(self.loss, spike_factor=spike_factor)

    def detect_edge_of_stability(self, lr: float | None = None, *, band: float = 0.1,
                                 min_fraction: float = 0.8) -> EdgeOfStability:
        """:func:`detect_edge_of_stability` on the recorded sharpness."""
        lr = self.lr if lr is None else lr
        if lr is None:
            raise ValueError("lr must be given: the optimizer has no lr.")
        return detect_edge_of_stability(self.sharpness, lr, band=band,
                                        min_fraction=min_fraction)


def _logit_measures(model, w, xp, track) -> dict:
    """Softmax-collapse fraction and softmax radius along ``-∇L`` at ``w``."""
    from numlearn.dynamics._tools import softmax_collapse_fraction, softmax_radius

    out = {}
    z = np.asarray(nsp.host(model.predict(w)))
    if z.ndim == 1:  # binary: logit gaps against a zero reference class
        z = np.stack([z, np.zeros_like(z)], axis=1)
    if "collapse_fraction" in track:
        out["collapse_fraction"] = softmax_collapse_fraction(z)
    if "softmax_radius" in track:
        g = model.grad(w)
        gnorm = nsp.norm(xp, g)
        if gnorm == 0.0:
            out["softmax_radius"] = math.inf
        else:
            a = np.asarray(nsp.host(model.jvp(w, -g / gnorm)))
            if a.ndim == 1:
                a = np.stack([a, np.zeros_like(a)], axis=1)
            out["softmax_radius"] = softmax_radius(a, z)
    return out


@suggest_keywords
def train(
    model: Any,
    w0: Any,
    optimizer: Optimizer,
    n_steps: int,
    *,
    track: Any = ("loss", "sharpness"),
    every: int = 1,
    random_state: Any = None,
    sharpness_tol: float = 1e-3,
    ncv: int = 9,
    trace_samples: int = 30,
    divergence_threshold: float = 1e8,
    callback: Callable[[SolverResult], Any] | None = None,
    verbose: int = 0,
    eval_data: Any = None,
) -> Trajectory:
    """Run ``optimizer`` on ``model`` from ``w0`` for ``n_steps`` steps and record it.

    Every ``every`` steps (and after the last) the tracked quantities are recorded:

    ``loss``
        The full training loss.
    ``sharpness``
        The top Hessian eigenvalue, by :func:`numlearn.linalg.lanczos_eigsh` on
        ``model.hvp`` warm-started from the previous top eigenvector (about ``ncv + 1``
        products per record once warm).
    ``trace``
        The Hessian trace, by Hutch++ (:func:`numlearn.linalg.hutchinson_trace`) with
        ``trace_samples`` products.
    ``ntk``
        The top eigenvalue of the scaled NTK ``JJᵀ/n``
        (:func:`~numlearn.dynamics.ntk_eigenvalue`, warm-started).
    ``param_norm``, ``step_size``
        ``‖w‖`` and the effective step size of the step taken from that point.
    ``collapse_fraction``
        :func:`~numlearn.dynamics.softmax_collapse_fraction` of the training logits
        (models whose outputs are logits): the samples whose softmax is an exact one-hot
        in the logits' precision (softmax collapse, Prieto et al.).
    ``softmax_radius``
        :func:`~numlearn.dynamics.softmax_radius` along ``-∇L``: the step length beyond
        which the softmax's Taylor series stops converging (Ghosts of Softmax).

    With ``eval_data=(X, y)`` the held-out ``eval_loss`` and ``eval_accuracy``
    (:meth:`Model.evaluate`) are recorded at every record too.

    The run stops early when the iterates or the loss become non-finite or the loss
    exceeds ``divergence_threshold`` times its initial value.

    Parameters
    ----------
    model : Model
        A :mod:`numlearn.dynamics` model.
    w0 : array of shape (n_params,)
        Starting parameters (not modified), in the namespace of the model's data (a CuPy
        array for a model built from CuPy arrays: the whole run, Hessian-vector products,
        Lanczos and Hutchinson included, then stays on the GPU; ``w`` is returned there and
        the recorded series are NumPy arrays).
    optimizer : Optimizer
        :class:`GD`, :class:`SGD`, :class:`NormalizedGD`, :class:`ScaledGD`,
        :class:`SafeStepGD`, :class:`PerpGrad` or any object with ``step``.
    n_steps : int
        Number of optimizer steps.
    track : sequence of str, default=("loss", "sharpness")
        Quantities to record, among ``"loss", "sharpness", "trace", "ntk",
        "param_norm", "step_size", "collapse_fraction", "softmax_radius"`` (the loss is
        always recorded).
    every : int, default=1
        Record every ``every`` steps.
    random_state : None, int or Generator
        Source of SGD batches, Lanczos starts and Hutchinson probes.
    sharpness_tol : float, default=1e-3
        Relative residual tolerance of the tracking Lanczos runs (sharpness and NTK); the
        eigenvalue itself is far more accurate (its error is about
        ``sharpness_tol² θ / gap``: about 1e-7 relative on a 10^5-parameter ReLU network).
    ncv : int, default=9
        Lanczos basis size for tracking: a warm start usually converges in one basis
        filling, ``ncv + 1 = 10`` products per record.
    trace_samples : int, default=30
        Products per Hessian-trace estimate.
    divergence_threshold : float, default=1e8
        Divergence when the loss exceeds this multiple of the initial loss.
    callback : callable, optional
        Called at every record with a :class:`~numlearn.SolverResult` holding ``step``,
        ``w`` and the recorded values; raising :class:`StopIteration` stops the run.
    verbose : int or bool, default=0
        0 silent, 1 a line every few seconds, 2 a line every record (the loss).
    eval_data : (X, y), optional
        Held-out data: ``eval_loss`` and ``eval_accuracy`` (NaN for regression models)
        are recorded with the model's :meth:`~Model.evaluate`.

    Returns
    -------
    trajectory : Trajectory
        See :class:`Trajectory`. Divergence emits a
        :class:`~sklearn.exceptions.ConvergenceWarning`.

    Examples
    --------
    Gradient descent on least squares converges iff ``lr < 2 / λ_max``:

    >>> import numpy as np
    >>> from numlearn.dynamics import GD, LinearRegression, train
    >>> model = LinearRegression(np.diag([1.0, 2.0]), np.ones(2))  # λ_max = 2
    >>> traj = train(model, np.zeros(2), GD(lr=0.9), 50, random_state=0)
    >>> bool(traj.loss[-1] < 1e-10), float(np.round(traj.sharpness[-1], 8))
    (True, 2.0)
    """
    _check_model(model)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step method, got {type(optimizer).__name__}.")
    if hasattr(optimizer, "check_model"):
        optimizer.check_model(model)
    w = _check_point(model, w0, "w0")
    xp = getattr(model, "_xp", np)
    w = np.array(w, dtype=np.float64) if xp is np else nsp.copy(xp, w)
    n_steps = check_scalar(n_steps, "n_steps", kind=int, low=0)
    every = check_scalar(every, "every", kind=int, low=1)
    if isinstance(track, str):
        track = (track,)
    track = tuple(track)
    for name in track:
        if name not in _TRACKABLE:
            raise ValueError(f"track entries must be among {_TRACKABLE}; got {name!r}.")
    sharpness_tol = check_scalar(sharpness_tol, "sharpness_tol", low=0.0)
    ncv = check_scalar(ncv, "ncv", kind=int, low=3)
    trace_samples = check_scalar(trace_samples, "trace_samples", kind=int, low=3)
    divergence_threshold = check_scalar(divergence_threshold, "divergence_threshold", low=1.0)
    callback = check_callable(callback, "callback", allow_none=True)
    if eval_data is not None:
        if not (isinstance(eval_data, (tuple, list)) and len(eval_data) == 2):
            raise TypeError("eval_data must be a pair (X, y) of held-out inputs and targets.")
        if not callable(getattr(model, "evaluate", None)):
            raise TypeError(f"eval_data needs a model with evaluate(w, X, y); "
                            f"{type(model).__name__} has none.")
        eval_X, eval_y = eval_data
        try:
            model.evaluate(w, eval_X, eval_y)  # validates shapes once, before the run
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"eval_data does not fit the model: {exc}") from None
    if ("collapse_fraction" in track or "softmax_radius" in track) and not callable(
            getattr(model, "predict", None)):
        raise TypeError(f"tracking collapse_fraction or softmax_radius needs a model with "
                        f"predict; {type(model).__name__} has none.")
    rng = check_random_state(random_state)
    mon = Monitor("train", verbose=verbose, callback=callback, measure="loss",
                  max_iter=n_steps)
    if hasattr(optimizer, "start"):
        optimizer.start(model, w, rng)

    p = model.n_params
    scale = _output_scale(model) if "ntk" in track else None
    records: dict[str, list[float]] = {name: [] for name in _TRACKABLE + _EVAL}
    steps: list[int] = []
    state = {"v_sharp": None, "v_ntk": None, "n_hvp": 0}
    loss0 = None
    hvps: list[int] = []

    def record(t: int, step_size: float) -> bool:
        """Record at step ``t``; return True if the run has diverged."""
        nonlocal loss0
        with np.errstate(over="ignore", invalid="ignore"):
            loss = model.loss(w) if nsp.all_finite(xp, w) else math.nan
        if loss0 is None:
            loss0 = loss
        bad = (not math.isfinite(loss)) or loss > divergence_threshold * max(
            abs(loss0), np.finfo(float).tiny)
        steps.append(t)
        records["loss"].append(loss)
        values = {name: math.nan for name in _TRACKABLE + _EVAL if name != "loss"}
        if not bad:
            if "sharpness" in track:
                vals, vecs, n_mv, _ = _top_eigenpairs(
                    lambda v: model.hvp(w, v), p, 1, v0=state["v_sharp"], tol=sharpness_tol,
                    ncv=ncv, random_state=rng, warn=False, model=model)
                state["v_sharp"] = nsp.copy(xp, vecs[:, -1])
                state["n_hvp"] += n_mv
                hvps.append(n_mv)
                values["sharpness"] = float(vals[-1])
            if "trace" in track:
                values["trace"] = hutchinson_trace(
                    lambda v: model.hvp(w, v), p, n_samples=trace_samples,
                    method="hutch++", random_state=rng, xp=None if xp is np else xp).trace
            if "ntk" in track:
                vals, vecs, _, _ = _top_eigenpairs(
                    lambda v: scale * model._vjp(w, model._jvp(w, v, None), None), p, 1,
                    v0=state["v_ntk"], tol=sharpness_tol, ncv=ncv, random_state=rng,
                    warn=False, model=model)
                state["v_ntk"] = nsp.copy(xp, vecs[:, -1])
                values["ntk"] = float(vals[-1])
            if "collapse_fraction" in track or "softmax_radius" in track:
                values.update(_logit_measures(model, w, xp, track))
            if eval_data is not None:
                values["eval_loss"], values["eval_accuracy"] = model.evaluate(w, eval_X,
                                                                              eval_y)
        if "param_norm" in track:
            values["param_norm"] = nsp.norm(xp, w)
        if "step_size" in track:
            values["step_size"] = step_size
        for name, value in values.items():
            records[name].append(value)
        mon.report(t, loss, final=bad or t == n_steps)
        return bad

    status = Status.SUCCESS
    divergence_step = None
    t = 0
    pending = None  # the record index whose step size is not known yet
    while True:
        if t % every == 0 or t == n_steps:
            if record(t, math.nan):
                status, divergence_step = Status.DIVERGED, t
                break
            pending = len(steps) - 1
            if callback is not None:
                info = SolverResult(step=t, w=nsp.copy(xp, w),
                                    **{k: records[k][-1] for k in _TRACKABLE + _EVAL
                                       if k in track or k == "loss"
                                       or (k in _EVAL and eval_data is not None)})
                if mon.notify(info):
                    status = Status.CALLBACK_STOP
                    break
        if t == n_steps:
            break
        with np.errstate(over="ignore", invalid="ignore"):
            w_next, step_size = optimizer.step(model, w, rng)
        if pending is not None and "step_size" in track:
            records["step_size"][pending] = float(step_size)
            pending = None
        w = nsp.as_float(w_next, xp, getattr(model, "_device", None))
        t += 1
        if not nsp.all_finite(xp, w):
            record(t, math.nan)
            status, divergence_step = Status.DIVERGED, t
            break

    return Trajectory(mon.result(
        status,
        n_iter=t,
        steps=np.asarray(steps, dtype=np.int64),
        **{name: np.asarray(records[name], dtype=np.float64) for name in _TRACKABLE + _EVAL},
        w=w,
        lr=None if callable(getattr(optimizer, "lr", None)) else getattr(optimizer, "lr", None),
        n_hvp=state["n_hvp"],
        hvps_per_record=np.asarray(hvps, dtype=np.int64),
        diverged=status is Status.DIVERGED,
        divergence_step=divergence_step,
    ))
