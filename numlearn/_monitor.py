"""The iteration skeleton shared by numlearn's solver loops.

Every iterative solver does the same bookkeeping around its own arithmetic: count the
iterations, record the convergence measure (``history``) when asked, report progress at the
pace ``verbose`` asks for, call the user's ``callback`` and stop when it raises
:class:`StopIteration`, decide the :class:`~numlearn._result.Status` (converged, diverged,
stopped, out of iterations) and, at the end, build the :class:`~numlearn.SolverResult` and
emit the :class:`~sklearn.exceptions.ConvergenceWarning`. :class:`Monitor` is that
bookkeeping, written once; the loop keeps only its arithmetic.

How a family adopts it
----------------------
Build one :class:`Monitor` after validating the input, let the loop call it, and build
the result through it::

    mon = Monitor("sinkhorn", verbose=verbose, callback=callback,
                  return_history=return_history, measure="marginal error",
                  max_iter=max_iter)
    status = Status.MAX_ITER
    for _ in range(max_iter):
        ...                                   # the arithmetic: update f, g
        err = ...                             # the convergence measure
        verdict = mon.step(err, f, g, tol=tol)   # count, record, report, callback(f, g)
        if verdict is not None:
            status = verdict
            break
    mon.finish(err)                           # the final progress line (never twice)
    return mon.result(status, plan=P, marginal_error=err)   # + history, + the warning

Who runs on it: ``linalg`` (``sor``, ``cg``, ``sketch_and_project``, ``lanczos_eigsh``),
``ot`` (every loop of ``ot/_sinkhorn_loop.py``, ``sinkhorn_unbalanced``,
``sinkhorn_sample``), ``optimize`` (the Newton-KKT loop), ``completion`` (``altmin``,
``implicit_als``), ``linear_model`` (``solve_glm``, the multi-task estimators) and
``dynamics.train``. Two patterns:

* a loop with one convergence measure calls :meth:`Monitor.step` (or :meth:`record` and
  :meth:`notify` when it checks only every few iterations, as ``sor``'s fused sweeps do);
* a loop whose record is several series (``dynamics.train``: loss, sharpness, ...) keeps
  its own records and uses :meth:`Monitor.report`, :meth:`Monitor.notify` and
  :meth:`Monitor.result` only (``return_history=False``).

A family adopting it must keep its NumPy-path numbers bit-identical: record golden
results first (``tests/test_golden.py`` shows how), then move.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged

__all__ = ["Monitor"]


class Monitor:
    """Iteration count, history, progress, callback and outcome of one solver run.

    Parameters
    ----------
    solver : str
        The solver's name (progress lines and the convergence warning).
    verbose : bool or int, default=0
        As every solver's ``verbose`` (see :class:`~numlearn._progress.Progress`).
    callback : callable, optional
        Called by :meth:`notify` / :meth:`step`; raising :class:`StopIteration` stops the
        run with :attr:`Status.CALLBACK_STOP`.
    return_history : bool, default=False
        Keep the measures passed to :meth:`record` / :meth:`step` (the result's
        ``history``).
    measure : str, default="residual"
        Name of the convergence measure in progress reports.
    max_iter : int, optional
        Iteration budget (a progress bar's total and ETA).

    Attributes
    ----------
    n_iter : int
        Iterations counted by :meth:`step` (or set by :meth:`record`).
    history : list of float or None
        The recorded measures, None unless ``return_history``.
    progress : Progress
        The progress reporter.

    Examples
    --------
    >>> from numlearn._monitor import Monitor
    >>> mon = Monitor("halving", return_history=True, measure="error")
    >>> err, status = 1.0, None
    >>> while status is None:
    ...     err /= 2
    ...     status = mon.step(err, tol=0.1)
    >>> res = mon.result(status, value=err)
    >>> res.n_iter, res.converged, res.history.tolist()
    (4, True, [0.5, 0.25, 0.125, 0.0625])
    """

    def __init__(self, solver: str, *, verbose: Any = 0,
                 callback: Callable[..., Any] | None = None, return_history: bool = False,
                 measure: str = "residual", max_iter: int | None = None):
        self.solver = solver
        self.progress = Progress(solver, verbose, measure=measure, max_iter=max_iter)
        self.callback = callback
        self.history: list[float] | None = [] if return_history else None
        self.n_iter = 0

    # -- pieces ---------------------------------------------------------------------
    def report(self, n_iter: int, value: float, *, final: bool = False) -> None:
        """Progress report of iteration ``n_iter`` (nothing recorded)."""
        self.progress.update(n_iter, value, final=final)

    def record(self, value: float, *, n_iter: int | None = None) -> None:
        """Record ``value`` in the history (if kept) and report it as iteration ``n_iter``
        (default: the current count)."""
        if n_iter is not None:
            self.n_iter = int(n_iter)
        if self.history is not None:
            self.history.append(value)
        self.progress.update(self.n_iter, value)

    def notify(self, *args: Any, **kwargs: Any) -> bool:
        """Call the callback with ``args``; return True if it raised StopIteration."""
        if self.callback is None:
            return False
        try:
            self.callback(*args, **kwargs)
        except StopIteration:
            return True
        return False

    # -- the common iteration ----------------------------------------------------------
    def step(self, value: float, *callback_args: Any, tol: float | None = None,
             divergence: float | None = None) -> Status | None:
        """Count one iteration whose convergence measure is ``value`` and say whether to
        stop.

        In order: a non-finite ``value`` (or one above ``divergence``) is
        :attr:`Status.DIVERGED`, recorded nowhere; otherwise it is recorded and reported,
        the callback is called with ``callback_args``; ``value <= tol`` is
        :attr:`Status.SUCCESS`, a callback that raised StopIteration
        :attr:`Status.CALLBACK_STOP`; None means go on.
        """
        self.n_iter += 1
        if not math.isfinite(value) or (divergence is not None and value > divergence):
            return Status.DIVERGED
        self.record(value)
        stop = self.notify(*callback_args)
        if tol is not None and value <= tol:
            return Status.SUCCESS
        return Status.CALLBACK_STOP if stop else None

    def finish(self, value: float, *, n_iter: int | None = None) -> None:
        """The final progress report (shown once, even if that iteration was just
        printed)."""
        if n_iter is not None:
            self.n_iter = int(n_iter)
        self.progress.update(self.n_iter, value, final=True)

    def result(self, status: Status, *, n_iter: int | None = None, warn: bool = True,
               stacklevel: int = 3, **fields: Any) -> SolverResult:
        """The :class:`~numlearn.SolverResult` of the run, with ``history`` (a float64
        array) when recorded, warning with a ConvergenceWarning unless it converged or the
        callback stopped it. ``stacklevel`` counts from the function calling this (3: the
        caller of the solver)."""
        result = make_result(status=status,
                             n_iter=self.n_iter if n_iter is None else n_iter, **fields)
        if self.history is not None and "history" not in fields:
            result.history = np.asarray(self.history, dtype=np.float64)
        if warn:
            warn_if_not_converged(result, self.solver, stacklevel=stacklevel + 1)
        return result
