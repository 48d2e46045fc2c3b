"""Result objects returned by numlearn's solver functions.

Every solver function returns a :class:`SolverResult`: a dictionary with attribute
access (like :class:`scipy.optimize.OptimizeResult`) that always carries

``n_iter``
    iterations performed,
``converged``
    whether the stopping criterion was met,
``status``
    a :class:`Status` code, and
``message``
    a readable account of the outcome,

plus the solver's own fields (``x``, ``eigenvalues``, ``residual_norm``, ...), and the
history of the convergence measure when one was recorded.
"""

from __future__ import annotations

import enum
import warnings
from typing import Any

from sklearn.exceptions import ConvergenceWarning

__all__ = ["Status", "SolverResult", "make_result", "warn_if_not_converged"]


class Status(enum.IntEnum):
    """Outcome of an iterative solver (modelled on lineax's ``RESULTS``)."""

    SUCCESS = 0
    MAX_ITER = 1
    BREAKDOWN = 2
    STAGNATION = 3
    DIVERGED = 4
    CALLBACK_STOP = 5
    INFEASIBLE = 6

    @property
    def message(self) -> str:
        """A readable sentence describing the outcome."""
        return _MESSAGES[self]


_MESSAGES = {
    Status.SUCCESS: "Converged: the stopping criterion was met.",
    Status.MAX_ITER: "The maximum number of iterations was reached before convergence.",
    Status.BREAKDOWN: (
        "Breakdown: a quantity the method divides by vanished or changed sign "
        "(is the operator symmetric positive definite / the system consistent?)."
    ),
    Status.STAGNATION: "Stagnation: the iterates stopped making progress.",
    Status.DIVERGED: "Diverged: the iterates or residuals became non-finite or grew without bound.",
    Status.CALLBACK_STOP: "Stopped early by the callback (it raised StopIteration).",
    Status.INFEASIBLE: (
        "Infeasible: the iterates converged to a point that locally minimizes the "
        "constraint violation without meeting the constraints."
    ),
}


class SolverResult(dict):
    """Result of a numlearn solver: a ``dict`` whose keys are also attributes.

    Attributes
    ----------
    n_iter : int
        Number of iterations performed.
    converged : bool
        True if the stopping criterion was met.
    status : Status
        Outcome code; ``status.message`` explains it.
    message : str
        Readable description of the outcome.

    Other attributes depend on the solver (``x``, ``residual_norm``, ``history``, ...).

    Examples
    --------
    >>> from numlearn import SolverResult, Status
    >>> res = SolverResult(x=[1.0], n_iter=3, converged=True, status=Status.SUCCESS,
    ...                    message=Status.SUCCESS.message)
    >>> res.n_iter
    3
    >>> res["converged"]
    True
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(map(len, self.keys())) + 1
        lines = []
        for key, value in self.items():
            text = repr(value)
            if "\n" in text:
                text = text.replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)


def make_result(*, status: Status, n_iter: int, **fields: Any) -> SolverResult:
    """Build a :class:`SolverResult` with the common fields filled in consistently."""
    status = Status(status)
    return SolverResult(
        n_iter=int(n_iter),
        converged=status is Status.SUCCESS,
        status=status,
        message=status.message,
        **fields,
    )


def warn_if_not_converged(result: SolverResult, solver: str, *, stacklevel: int = 3) -> None:
    """Emit a :class:`~sklearn.exceptions.ConvergenceWarning` unless ``result`` converged.

    A solver stopped by its callback is not warned about: the user asked for it.
    ``stacklevel`` counts as in :func:`warnings.warn`, not counting the frames of
    :func:`~numlearn._validation.suggest_keywords` wrappers.
    """
    if result.converged or result.status is Status.CALLBACK_STOP:
        return
    from numlearn._validation import user_stacklevel

    warnings.warn(
        f"{solver} did not converge after {result.n_iter} iterations: {result.message}",
        ConvergenceWarning,
        stacklevel=user_stacklevel(stacklevel),  # past @suggest_keywords wrappers
    )
