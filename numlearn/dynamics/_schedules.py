"""Learning-rate schedules for the dynamics optimizers.

A schedule is a callable ``t -> lr`` of the step count ``t = 0, 1, ...``; every optimizer
that takes ``lr`` takes a schedule instead of a number, and the step sizes it really took
are what :func:`~numlearn.dynamics.train` records (``track=("step_size",)``).
"""

from __future__ import annotations

import math
from typing import Any

from numlearn._validation import check_scalar

__all__ = ["Schedule", "ConstantLR", "WarmupCosine", "check_learning_rate"]


class Schedule:
    """Base class: ``schedule(t)`` is the learning rate of step ``t`` (from 0)."""

    def __call__(self, t: int) -> float:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} does not define __call__.")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class ConstantLR(Schedule):
    """The same rate at every step.

    Examples
    --------
    >>> from numlearn.dynamics import ConstantLR
    >>> ConstantLR(0.1)(7)
    0.1
    """

    def __init__(self, lr: float):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)

    def __call__(self, t: int) -> float:
        return self.lr


class WarmupCosine(Schedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine decay to ``final``
    at ``total_steps`` (constant ``final`` after).

    ``lr(t) = peak (t + 1) / warmup_steps`` for ``t < warmup_steps``, then
    ``final + (peak - final) (1 + cos(π s)) / 2`` with ``s = (t - warmup_steps) /
    (total_steps - warmup_steps)`` clipped to ``[0, 1]``.

    Parameters
    ----------
    peak : float
        Largest rate (> 0).
    total_steps : int
        Step at which the decay reaches ``final``.
    warmup_steps : int, default=0
    final : float, default=0.0
        Rate at the end (``0 <= final <= peak``).

    Examples
    --------
    >>> from numlearn.dynamics import WarmupCosine
    >>> s = WarmupCosine(1.0, total_steps=10, warmup_steps=2)
    >>> [round(s(t), 3) for t in (0, 1, 2, 6, 10, 50)]
    [0.5, 1.0, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0,
                 final: float = 0.0):
        self.peak = check_scalar(peak, "peak", low=0.0, include_low=False)
        self.total_steps = check_scalar(total_steps, "total_steps", kind=int, low=1)
        self.warmup_steps = check_scalar(warmup_steps, "warmup_steps", kind=int, low=0,
                                         high=self.total_steps)
        self.final = check_scalar(final, "final", low=0.0, high=self.peak)

    def __call__(self, t: int) -> float:
        if t < self.warmup_steps:
            return self.peak * (t + 1) / self.warmup_steps
        span = self.total_steps - self.warmup_steps
        s = 1.0 if span == 0 else min(max((t - self.warmup_steps) / span, 0.0), 1.0)
        return self.final + (self.peak - self.final) * 0.5 * (1.0 + math.cos(math.pi * s))


def check_learning_rate(lr: Any, name: str = "lr"):
    """A positive float, or a schedule (a callable of the step count) whose first rates
    are checked to be finite and non-negative."""
    if callable(lr):
        for t in (0, 1):
            value = lr(t)
            value = check_scalar(value, f"{name}({t})")
            if value < 0:
                raise ValueError(f"{name} must give non-negative rates, got {name}({t}) = "
                                 f"{value}.")
        return lr
    return check_scalar(lr, name, low=0.0, include_low=False)
