"""The tour's row type and timer, in their own module so that the solver families'
``_tour_rows`` modules can import them without importing the tour itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TourRow", "timed"]


@dataclass
class TourRow:
    """One line of the tour's table."""

    family: str
    solver: str
    problem: str
    size: str
    iterations: str
    seconds: float
    error: float
    reference: str


def timed(fn: Callable):
    """``(fn(), seconds it took)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
