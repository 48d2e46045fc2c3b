"""Progress reporting shared by iterative solvers (the ``verbose`` argument).

``verbose=0`` (or ``False``) is silent; ``verbose=1`` (or ``True``) reports every few
seconds; ``verbose=2`` prints a line every iteration. Every solver reports through
:class:`Progress`, so the output looks the same everywhere.

With ``verbose=1`` the report is a tqdm progress bar with an ETA when tqdm is installed,
the bar's stream (stderr) is a terminal (or a Jupyter notebook) and the solver told :class:`Progress` its
iteration budget (``max_iter``); otherwise it is the ``solver: iter N ...`` lines. A bar is
never drawn in a non-interactive log unless asked for, with ``bar=True`` or the
environment variable ``NUMLEARN_PROGRESS_BAR=1`` (``0`` turns bars off everywhere).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from numlearn._validation import check_verbose

__all__ = ["Progress"]

_ENV = "NUMLEARN_PROGRESS_BAR"


def _tqdm():
    """tqdm's class, or None when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _isatty(stream: Any) -> bool:
    """A terminal, or a Jupyter kernel's output stream (interactive, though not a TTY)."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _want_bar(bar: bool | None, verbose: int, max_iter: int | None, stream: Any) -> bool:
    """Whether to draw a bar: asked (``bar``, else the environment), or by default for
    ``verbose=1`` with a known ``max_iter`` on a terminal."""
    if verbose != 1 or max_iter is None or max_iter <= 0:
        return False
    if bar is None:
        env = os.environ.get(_ENV, "").strip().lower()
        if env in {"1", "true", "yes", "always"}:
            bar = True
        elif env in {"0", "false", "no", "never"}:
            bar = False
    if bar is None:
        bar = _isatty(stream)
    return bool(bar) and _tqdm() is not None


class Progress:
    """Report ``solver: iter N  measure  elapsed`` at the pace ``verbose`` asks for.

    Parameters
    ----------
    solver : str
        Name shown in front of every line (and as the bar's description).
    verbose : bool or int, default=0
        0/False silent, 1/True every ``every_seconds`` (or a progress bar), 2 every
        iteration.
    measure : str, default="residual"
        Name of the convergence measure.
    every_seconds : float, default=2.0
        Pace of the lines at ``verbose=1``.
    max_iter : int, optional
        The solver's iteration budget; needed for a progress bar and its ETA.
    bar : bool, optional
        ``True`` draws a tqdm bar at ``verbose=1`` even outside a terminal, ``False``
        never; by default (None) the environment variable ``NUMLEARN_PROGRESS_BAR``
        decides, else a bar is drawn only on a terminal.
    file : file-like, optional
        Stream for the bar (default ``sys.stderr``); lines go to standard output.

    Notes
    -----
    The solver calls :meth:`update` every iteration and once more with ``final=True``
    at the end; that last report is always shown, and never twice when the same
    iteration was just printed.

    Examples
    --------
    >>> from numlearn._progress import Progress
    >>> progress = Progress("cg", verbose=2, measure="residual")
    >>> progress.update(1, 0.5)  # doctest: +ELLIPSIS
    cg: iter 1  residual 5.000e-01  elapsed ...s
    >>> progress.update(1, 0.5, final=True)  # already printed: not repeated
    """

    def __init__(self, solver: str, verbose: Any = 0, *, measure: str = "residual",
                 every_seconds: float = 2.0, max_iter: int | None = None,
                 bar: bool | None = None, file: Any = None):
        self.solver = solver
        self.verbose = check_verbose(verbose)
        self.measure = measure
        self.every_seconds = every_seconds
        self.max_iter = max_iter
        self._start = time.perf_counter()
        self._last = self._start
        self._last_printed: int | None = None
        self._bar = None
        self._bar_closed = False
        stream = sys.stderr if file is None else file
        if _want_bar(bar, self.verbose, max_iter, stream):
            self._bar = _tqdm()(total=int(max_iter), desc=solver, unit="it", file=stream,
                                leave=True, dynamic_ncols=True)

    @property
    def uses_bar(self) -> bool:
        """Whether this report is a progress bar."""
        return self._bar is not None

    def update(self, n_iter: int, value: float, *, final: bool = False) -> None:
        """Report iteration ``n_iter`` with convergence measure ``value`` if it is time.

        ``final=True`` marks the solver's last report: it is always shown (unless that
        very iteration was the last line printed) and closes the bar.
        """
        if not self.verbose:
            return
        if self._bar is not None:
            self._update_bar(n_iter, value, final)
            return
        if self._bar_closed:
            return
        if final and self._last_printed == n_iter:
            return
        now = time.perf_counter()
        if self.verbose == 1 and not final and now - self._last < self.every_seconds:
            return
        self._last = now
        self._last_printed = n_iter
        print(
            f"{self.solver}: iter {n_iter}  {self.measure} {value:.3e}  "
            f"elapsed {now - self._start:.2f}s",
            flush=True,
        )

    def _update_bar(self, n_iter: int, value: float, final: bool) -> None:
        bar = self._bar
        step = int(n_iter) - bar.n
        bar.set_postfix_str(f"{self.measure} {value:.3e}", refresh=False)
        if step > 0:
            bar.update(step)
        if final:
            bar.refresh()
            self.close()

    def close(self) -> None:
        """Close the bar, if any (a solver that stops without a final update)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._bar_closed = True
