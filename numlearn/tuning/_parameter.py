"""Learning one discrete parameter of any solver across a sequence of problems."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import SolverResult
from numlearn._validation import (
    check_array,
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
)
from numlearn.tuning._chebcb import ChebCB
from numlearn.tuning._kernelcb import KernelCB
from numlearn.tuning._tsallis import TsallisINF

__all__ = ["ParameterTuner", "parameter_baselines", "unpack_system"]

_LEARNERS = ("tsallis-inf", "chebcb", "kernel-cb")

# Tsallis-INF with plays shared between neighbouring values (measured on the ω grid, see
# OmegaTuner): the radius is 0.15 on the ω grid [1, 1.95], i.e. 0.15 / 0.95 of the span.
TSALLIS_DEFAULTS = {"estimator": "leader-baseline", "learning_rate": 8.0,
                    "smoothing_radius": 0.15}
_SPAN_RADIUS = 0.15 / 0.95


def unpack_system(system: Any) -> tuple[Any, Any, Any, Any]:
    """``(A, b, context, x0)`` from a :class:`~numlearn.datasets.LinearSystem` or a tuple."""
    if hasattr(system, "A") and hasattr(system, "b"):
        return system.A, system.b, getattr(system, "context", None), getattr(system, "x0", None)
    items = tuple(system)
    if not 2 <= len(items) <= 4:
        raise ValueError(
            "each system must be (A, b), (A, b, context) or (A, b, context, x0); got "
            f"{len(items)} items."
        )
    return (*items, None, None)[:4]


class ParameterTuner:
    """Pick one parameter of a solver for each problem of a sequence with an online learner.

    For each call to :meth:`solve`, the learner chooses a value from the grid ``values``,
    ``solver(*args, **kwargs, **solver_options, <parameter>=value)`` runs, and its cost
    (``n_iter`` of the result, or ``cost(result)``) is fed back as the learner's loss.
    ``"tsallis-inf"`` (:class:`TsallisINF`) sees only the costs and approaches the best
    fixed value in hindsight; ``"chebcb"`` (:class:`ChebCB`) also sees a scalar context per
    problem (a shift, a diffusion coefficient, a time) and approaches the best value *per
    context*; ``"kernel-cb"`` (:class:`KernelCB`) does so for scalar or vector contexts.

    Parameters
    ----------
    solver : callable
        Any function; it receives the chosen value as the keyword ``parameter``.
    parameter : str
        The keyword of ``solver`` to tune (e.g. ``"omega"``, ``"degree"``,
        ``"block_size"``).
    values : sequence of numbers or of strings
        The grid: at least two distinct values. Numbers are placed on a line (learners
        share what they learn between neighbouring values); strings are categories.
    learner : {"tsallis-inf", "chebcb", "kernel-cb"} or learner object, \
default="tsallis-inf"
        The online learner, or an object with ``select()`` (``select(context)`` if it has
        a true ``contextual`` attribute) and ``update(loss)`` over ``len(values)`` arms.
        ``"kernel-cb"`` (:class:`KernelCB`) is contextual too, and takes vector contexts.
    context_range : (float, float) or sequence of such pairs, optional
        Range of the contexts; required by the contextual learners. A sequence of ``d``
        pairs (``"kernel-cb"`` only) means contexts of ``d`` numbers. Contexts outside the
        range are clipped to it (the learners' features are defined on it); contexts of
        the wrong length raise ``ValueError``.
    cost : callable, optional
        ``cost(result) -> float ≥ 0``: what a solve costs (e.g. seconds, matvecs).
        Default: ``result.n_iter``.
    random_state : int, numpy.random.Generator or None
        Seed of the learner.
    learner_options : dict, optional
        Extra keyword arguments for the learner. For ``"tsallis-inf"`` they override the
        defaults ``estimator="leader-baseline", learning_rate=8`` and, for numeric grids,
        ``smoothing_radius = 0.158`` of the grid's span (``arm_positions`` the values): a
        play also informs the values within that distance (as :class:`OmegaTuner` does on
        its ω grid).
    **solver_options
        Passed to the solver on every call (e.g. ``rtol=1e-8``). ``random_state`` here
        seeds the learner: give a randomized solver its seed with
        :func:`functools.partial`.

    Attributes
    ----------
    learner_ : object
        The learner instance.
    values_ : list
        The value chosen for each problem solved so far.
    costs_ : list
        The cost of each solve.
    history_ : list of dict
        Per problem: ``value``, ``arm``, ``cost``, ``converged`` (None if the result does
        not say), ``context``, ``seconds``.

    Raises
    ------
    ValueError
        If ``values`` has fewer than two values or duplicates, ``learner`` or
        ``context_range`` is invalid, or (in :meth:`solve`) a contextual learner gets no
        context or a context that is not a finite number.
    TypeError
        If ``solver`` or ``cost`` is not callable, or the solver's result has no
        ``n_iter`` and no ``cost`` was given.

    See Also
    --------
    OmegaTuner : the specialization to SOR's ω (named solvers, the paper's ω grid).

    Examples
    --------
    Learn the degree of a Chebyshev polynomial preconditioner for
    :func:`~numlearn.linalg.cg` on a sequence of shifted Laplacians; the cost is the
    matrix-vector products plus two per iteration for CG's inner products:

    >>> from numlearn.datasets import shifted_laplacian_sequence
    >>> from numlearn.linalg import cg
    >>> from numlearn.linalg.polynomial import chebyshev_preconditioner
    >>> from numlearn.tuning import ParameterTuner
    >>> def chebyshev_cg(A, b, *, degree, **options):
    ...     result = cg(A, b, M=chebyshev_preconditioner(A, degree), **options)
    ...     result.matvecs = result.n_iter * (degree + 1)
    ...     return result
    >>> seq = shifted_laplacian_sequence(n_systems=50, offset="low", random_state=0)
    >>> tuner = ParameterTuner(chebyshev_cg, "degree", [0, 2, 4, 8], random_state=0,
    ...                        cost=lambda r: r.matvecs + 2 * r.n_iter, rtol=1e-8)
    >>> results = tuner.solve_sequence(seq)
    >>> len(tuner.costs_), results[0].degree == tuner.values_[0]
    (50, True)
    >>> bool(tuner.costs_[0] == results[0].matvecs + 2 * results[0].n_iter)
    True
    """

    def __init__(
        self,
        solver: Callable[..., Any],
        parameter: str,
        values: Any,
        *,
        learner: Any = "tsallis-inf",
        context_range: Any = None,
        cost: Callable[[Any], float] | None = None,
        random_state: Any = None,
        learner_options: dict | None = None,
        **solver_options: Any,
    ):
        self.solver = solver
        self.parameter = parameter
        self.values = values
        self.learner = learner
        self.context_range = context_range
        self.cost = cost
        self.random_state = random_state
        self.learner_options = learner_options
        self.solver_options = solver_options
        self.reset()

    # -- what a specialization (OmegaTuner) changes ------------------------------------
    def _check_solver(self) -> Callable[..., Any]:
        return check_callable(self.solver, "solver")

    def _check_values(self) -> tuple[list, np.ndarray | None]:
        """The grid as a list, and the arms' positions on a line (None for categories)."""
        values = self.values
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"values must be a sequence of numbers or strings, got {values!r}.")
        values = list(values.tolist() if isinstance(values, np.ndarray) else values)
        if len(values) < 2:
            raise ValueError(
                f"values must hold at least two distinct values to choose from, got {values}."
            )
        if all(isinstance(v, str) for v in values):
            positions = None
        else:
            try:
                numeric = np.asarray(check_array(np.asarray(values), "values", ndim=1),
                                     dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"values must be all numbers or all strings, got {values!r} ({exc})"
                ) from None
            span = numeric.max() - numeric.min()
            positions = (numeric - numeric.min()) / span if span > 0 else None
        if len(set(values)) != len(values):
            duplicated = sorted({repr(v) for v in values if values.count(v) > 1})
            raise ValueError(f"values must be distinct; repeated: {', '.join(duplicated)}.")
        return values, positions

    def _tsallis_defaults(self, positions: np.ndarray | None) -> dict:
        if positions is None:
            return {"estimator": TSALLIS_DEFAULTS["estimator"],
                    "learning_rate": TSALLIS_DEFAULTS["learning_rate"]}
        return {**TSALLIS_DEFAULTS, "smoothing_radius": _SPAN_RADIUS,
                "arm_positions": positions}

    # -----------------------------------------------------------------------------------
    def _make_learner(self, n_arms: int, positions: np.ndarray | None) -> Any:
        if not isinstance(self.learner, str):
            for method in ("select", "update"):
                if not callable(getattr(self.learner, method, None)):
                    raise TypeError(
                        f"learner must be one of {_LEARNERS} or an object with select() and "
                        f"update(loss); {type(self.learner).__name__} has no {method}()."
                    )
            return self.learner
        name = check_option(self.learner, "learner", _LEARNERS)
        options = dict(self.learner_options or {})
        rng = check_random_state(self.random_state)
        if name == "tsallis-inf":
            for key, value in self._tsallis_defaults(positions).items():
                options.setdefault(key, value)
            return TsallisINF(n_arms, random_state=rng, **options)
        if self.context_range is None:
            raise ValueError(f"learner={name!r} needs context_range=(low, high).")
        if name == "kernel-cb":
            if positions is not None:
                options.setdefault("arm_positions", positions)
            else:
                options.setdefault("arm_radius", 0.0)
            return KernelCB(n_arms, self.context_range, random_state=rng, **options)
        if positions is None:
            options.setdefault("arm_degree", None)  # categories: no sharing along a line
        else:
            options.setdefault("arm_positions", positions)
        return ChebCB(n_arms, self.context_range, random_state=rng, **options)

    def reset(self) -> ParameterTuner:
        """Start learning afresh (a new learner, empty records)."""
        self._solve = self._check_solver()
        check_callable(self.cost, "cost", allow_none=True)
        if not isinstance(self.parameter, str) or not self.parameter.isidentifier():
            raise TypeError(f"parameter must be a keyword name (str), got {self.parameter!r}.")
        self._values, positions = self._check_values()
        self.learner_ = self._make_learner(len(self._values), positions)
        self._contextual = isinstance(self.learner_, ChebCB) or bool(
            getattr(self.learner_, "contextual", False))
        self.values_: list = []
        self.costs_: list = []
        self.history_: list[dict] = []
        return self

    def _check_context(self, context: Any) -> Any:
        if context is None:
            raise ValueError("this learner is contextual: pass solve(..., context=c).")
        if isinstance(self.learner_, KernelCB):
            return context  # scalar or vector: KernelCB checks its length
        return check_scalar(context, "context")

    def _cost_of(self, result: Any) -> float:
        if self.cost is not None:
            return check_scalar(self.cost(result), "cost(result)", low=0.0)
        n_iter = getattr(result, "n_iter", None)
        if n_iter is None and isinstance(result, dict):
            n_iter = result.get("n_iter")
        if n_iter is None:
            raise TypeError(
                f"the solver returned no cost: its result ({type(result).__name__}) has no "
                "n_iter; pass cost=callable(result) -> float."
            )
        return int(n_iter)

    def _run(self, args: tuple, kwargs: dict, context: Any) -> tuple[Any, Any, int]:
        """Select, solve, learn: ``(result, value, arm)``."""
        if self._contextual:
            arm = int(self.learner_.select(self._check_context(context)))
        else:
            arm = int(self.learner_.select())
        value = self._values[arm]
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = self._solve(*args, **kwargs, **self.solver_options,
                                 **{self.parameter: value})
        seconds = time.perf_counter() - start
        cost = self._cost_of(result)
        self.learner_.update(cost)
        converged = getattr(result, "converged", None)
        self.values_.append(value)
        self.costs_.append(cost)
        self.history_.append({
            "value": value, "arm": arm, "cost": cost,
            "converged": None if converged is None else bool(converged),
            "context": context, "seconds": seconds,
        })
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=3)
        return result, value, arm

    def solve(self, *args: Any, context: Any = None, **kwargs: Any) -> Any:
        """Choose a value, run ``solver(*args, **kwargs)`` with it and learn from its cost.

        Returns the solver's result; a :class:`~numlearn.SolverResult` gets two more
        fields, ``arm`` and the parameter's name (the value used). A solve that hits its
        iteration limit still teaches the learner, and its
        :class:`~sklearn.exceptions.ConvergenceWarning` is passed on.
        """
        result, value, arm = self._run(args, kwargs, context)
        if isinstance(result, SolverResult):
            result[self.parameter] = value
            result.arm = arm
        return result

    def solve_sequence(self, systems: Iterable[Any]) -> list[Any]:
        """:meth:`solve` every linear system of ``systems`` in order (items as in a
        :class:`~numlearn.datasets.LinearSystem`: ``A``, ``b``, ``context``, ``x0``; ``x0``
        is passed only when not None)."""
        results = []
        for system in systems:
            A, b, context, x0 = unpack_system(system)
            kwargs = {} if x0 is None else {"x0": x0}
            results.append(self.solve(A, b, context=context if self._contextual else None,
                                      **kwargs))
        return results



def parameter_baselines(
    systems: Iterable[Any],
    solver: Callable[..., Any],
    parameter: str,
    values: Any,
    *,
    cost: Callable[[Any], float] | None = None,
    **solver_options: Any,
) -> SolverResult:
    """Grid-search baselines for a tuner: every linear system solved with every value.

    The table a :class:`ParameterTuner` is judged against, and the cost table to try
    learners on offline (one solve per system and value, computed once).

    Parameters
    ----------
    systems : iterable
        The sequence (items with ``A``, ``b``, optional ``x0``, or tuples ``(A, b, ...)``;
        ``x0`` is passed only when not None).
    solver, parameter, values, cost
        As in :class:`ParameterTuner` (``values``: at least two distinct).
    **solver_options
        Passed to the solver.

    Returns
    -------
    SolverResult
        ``costs`` (n_systems × n_values), ``converged`` (same shape; True where the result
        does not say), ``parameter_values`` (the grid; not ``values``, which is the
        dictionary's method), ``fixed_totals`` (total cost of each fixed value),
        ``best_fixed_value`` and ``best_fixed_total`` (best fixed value in hindsight),
        ``instance_optimal_values`` and ``instance_optimal_total`` (best value per
        system). A :class:`~sklearn.exceptions.ConvergenceWarning` summarizes solves that
        did not converge (their cost counts as what they spent).

    Examples
    --------
    >>> from numlearn.datasets import shifted_laplacian_sequence
    >>> from numlearn.linalg import sor
    >>> from numlearn.tuning import parameter_baselines
    >>> seq = shifted_laplacian_sequence(n_systems=20, offset="low", random_state=0)
    >>> base = parameter_baselines(seq, sor, "omega", [1.0, 1.5, 1.7])
    >>> base.costs.shape, base.best_fixed_value
    ((20, 3), 1.7)
    """
    tuner = ParameterTuner(solver, parameter, values, cost=cost)  # the checks, once
    values = tuner._values
    rows, conv = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for system in systems:
            A, b, _, x0 = unpack_system(system)
            kwargs = {} if x0 is None else {"x0": x0}
            results = [tuner._solve(A, b, **kwargs, **solver_options, **{parameter: v})
                       for v in values]
            rows.append([tuner._cost_of(r) for r in results])
            conv.append([bool(getattr(r, "converged", True)) for r in results])
    return _baselines(rows, conv, values)


def _baselines(rows: list, conv: list, values: list) -> SolverResult:
    if not rows:
        raise ValueError("systems is empty.")
    costs = np.array(rows)
    converged = np.array(conv, dtype=bool)
    if not converged.all():
        warnings.warn(
            f"{(~converged).sum()} of {converged.size} solves did not converge; their cost "
            "counts as the iterations spent.", ConvergenceWarning, stacklevel=3,
        )
    fixed_totals = costs.sum(axis=0)
    best = int(np.argmin(fixed_totals))
    return SolverResult(
        costs=costs,
        converged=converged,
        parameter_values=values,
        fixed_totals=fixed_totals,
        best_fixed_value=values[best],
        best_fixed_total=fixed_totals[best].item(),
        instance_optimal_values=[values[i] for i in np.argmin(costs, axis=1)],
        instance_optimal_total=costs.min(axis=1).sum().item(),
    )
