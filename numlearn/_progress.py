"""Progress reporting shared by iterative solvers (the ``verbose`` argument).

``verbose=0`` is silent, ``verbose=1`` prints a line every few seconds, ``verbose=2``
prints a line every iteration. Every solver reports through :class:`Progress`, so the
output looks the same everywhere.
"""

from __future__ import annotations

import time

from numlearn._validation import check_verbose

__all__ = ["Progress"]


class Progress:
    """Print ``solver: iter N  measure  elapsed`` lines at the pace ``verbose`` asks for.

    Examples
    --------
    >>> from numlearn._progress import Progress
    >>> progress = Progress("cg", verbose=2, measure="residual")
    >>> progress.update(1, 0.5)  # doctest: +ELLIPSIS
    cg: iter 1  residual 5.000e-01  elapsed ...s
    """

    def __init__(self, solver: str, verbose: int = 0, *, measure: str = "residual",
                 every_seconds: float = 2.0):
        self.solver = solver
        self.verbose = check_verbose(verbose)
        self.measure = measure
        self.every_seconds = every_seconds
        self._start = time.perf_counter()
        self._last = self._start

    def update(self, n_iter: int, value: float, *, final: bool = False) -> None:
        """Report iteration ``n_iter`` with convergence measure ``value`` if it is time."""
        if not self.verbose:
            return
        now = time.perf_counter()
        if self.verbose == 1 and not final and now - self._last < self.every_seconds:
            return
        self._last = now
        print(
            f"{self.solver}: iter {n_iter}  {self.measure} {value:.3e}  "
            f"elapsed {now - self._start:.2f}s",
            flush=True,
        )
