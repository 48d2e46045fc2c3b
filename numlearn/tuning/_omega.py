"""Learning SOR's relaxation parameter ω across a sequence of linear systems."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import SolverResult
from numlearn._validation import check_array, check_option
from numlearn.linalg import sor, ssor_cg
from numlearn.tuning._parameter import (
    TSALLIS_DEFAULTS,
    ParameterTuner,
    _baselines,
    unpack_system,
)

__all__ = ["OmegaTuner", "omega_baselines", "default_omegas"]


def default_omegas() -> np.ndarray:
    """The paper's grid of relaxation parameters: 20 points on ``[1, 1.95]``."""
    return np.linspace(1.0, 1.95, 20)


def _ssor(A, b, omega=1.0, **options):
    return sor(A, b, omega, symmetric=True, **options)


_SOLVERS: dict[str, Callable[..., SolverResult]] = {"sor": sor, "ssor": _ssor, "ssor_cg": ssor_cg}


def _check_solver(solver: Any) -> Callable[..., SolverResult]:
    if callable(solver):
        return solver
    return _SOLVERS[check_option(solver, "solver", tuple(_SOLVERS))]


def _check_omegas(omegas: Any) -> np.ndarray:
    if omegas is None:
        return default_omegas()
    omegas = np.array(check_array(omegas, "omegas", ndim=1), dtype=np.float64)
    if omegas.shape[0] == 0:
        raise ValueError("omegas must hold at least one value.")
    if np.any(omegas <= 0.0) or np.any(omegas >= 2.0):
        raise ValueError(
            f"omegas must lie in the open interval (0, 2) where SOR can converge; got values "
            f"from {omegas.min()} to {omegas.max()}."
        )
    if np.unique(omegas).shape[0] != omegas.shape[0]:
        raise ValueError(f"omegas must be distinct; got {omegas.tolist()}.")
    return omegas


_unpack = unpack_system


class OmegaTuner(ParameterTuner):
    """Pick SOR's ω for each system of a sequence with an online learner.

    For each call to :meth:`solve`, the learner chooses ω from the grid ``omegas``, the
    solver runs with it, and the iteration count it took is fed back as the learner's loss.
    ``"tsallis-inf"`` (:class:`TsallisINF`) sees only these counts and approaches the best
    fixed ω in hindsight; ``"chebcb"`` (:class:`ChebCB`) also sees a scalar context per
    system (e.g. a shift or a diffusion coefficient) and approaches the best ω *per
    context*; ``"kernel-cb"`` (:class:`KernelCB`) does so for scalar or vector contexts,
    and learns fastest (see Notes).

    Parameters
    ----------
    solver : {"sor", "ssor", "ssor_cg"} or callable, default="sor"
        The solver ω is tuned for: :func:`~numlearn.linalg.sor`, SSOR
        (``sor(symmetric=True)``) or :func:`~numlearn.linalg.ssor_cg`; or any callable
        ``solver(A, b, omega=..., x0=..., **solver_options)`` returning a result with
        ``n_iter``.
    learner : {"tsallis-inf", "chebcb", "kernel-cb"} or learner object, \
default="tsallis-inf"
        The online learner, or an object with ``select()`` / ``select(context)`` and
        ``update(loss)`` over ``len(omegas)`` arms. ``"kernel-cb"``
        (:class:`KernelCB`) also takes vector contexts (``context_range`` a sequence of
        pairs).
    omegas : array-like of shape (n_arms,), optional
        The grid of candidate ω in (0, 2). Default: 20 points on ``[1, 1.95]``.
    random_state : int, numpy.random.Generator or None
        Seed of the learner.
    context_range : (float, float), optional
        Range of the contexts; required by ``"chebcb"``.
    learner_options : dict, optional
        Extra keyword arguments for the learner (e.g. ``{"degree": 3}``). For
        ``"tsallis-inf"`` they override the tuner's defaults ``estimator="leader-baseline",
        learning_rate=8, smoothing_radius=0.15, arm_positions=omegas``: plays are shared
        between ω closer than 0.15 (see :class:`TsallisINF`). On the paper's sequences these
        cut the excess over the best fixed ω at 2000 systems from 17–28% (the paper's
        algorithm: ``{"estimator": "reduced-variance", "learning_rate": 2,
        "smoothing_radius": 0}``) to 7–9%.
    **solver_options
        Passed to the solver on every call (e.g. ``rtol=1e-8, maxiter=10000``).

    Notes
    -----
    A specialization of :class:`ParameterTuner` (parameter ``"omega"``, values
    ``omegas``): it adds the named solvers, the paper's default grid, the check that every
    ω lies in (0, 2) (a grid of one ω is allowed here, e.g. for a fixed-ω baseline), and
    shares plays between ω closer than 0.15 in ω units.

    *Contextual learners across families of sequences.* Total SOR iterations (rtol 1e-8)
    over 1000 systems, replayed on cost tables (every system × the 20 default ω), mean of
    learner seeds 0 and 1, on sequences drawn with another seed than those
    :class:`KernelCB`'s ``smoothness`` was chosen on; each cell is the total over the
    best fixed ω in hindsight / over the instance-optimal total:

    ==========================  =============  =============  =============
    family (context)            KernelCB       KernelCB,      ChebCB
                                               smoothness=0
    ==========================  =============  =============  =============
    paper "high" (shift)        0.610 / 1.084  0.696 / 1.237  0.677 / 1.203
    paper "low" (shift)         0.773 / 1.064  0.803 / 1.105  0.807 / 1.112
    grids 5–20 (1/(m+1))        0.797 / 1.044  0.844 / 1.106  0.850 / 1.113
    anisotropic (log10 ε)       0.615 / 1.046  0.660 / 1.124  0.661 / 1.124
    shift jump at 0.5 (c)       0.719 / 1.080  0.772 / 1.159  0.760 / 1.142
    larger jump at 0.3 (c)      0.653 / 1.132  0.703 / 1.217  0.702 / 1.216
    (log10 ε, shift), vector    0.794 / 1.060  0.886 / 1.182  (scalar only)
    ==========================  =============  =============  =============

    The paper's sequences are those of :func:`~numlearn.datasets.shifted_laplacian_sequence`
    (10 × 10 grid); grids: 5-point Laplacians of 5 to 20 points per side; anisotropic:
    ``T_24 ⊗ I + ε I ⊗ T_4`` with ``log10 ε`` uniform in [−2, 2]; the jumps: the 10 × 10
    Laplacian shifted by ``−0.12 + 0.17 c`` below ``c = 0.5`` and ``0.3 + 0.3 c`` above
    (and ``−0.1 + 0.05 c`` / ``0.15 + 0.75 c`` about ``c = 0.3``); vector: the anisotropic
    one plus a shift uniform in [0, 0.3]. Right-hand sides are standard normal.

    Attributes
    ----------
    learner_ : object
        The learner instance.
    omegas_ : list of float
        The ω chosen for each system solved so far.
    costs_ : list of int
        The iterations each system took.
    history_ : list of dict
        Per system: ``omega``, ``arm``, ``cost``, ``converged``, ``context``, ``seconds``.

    Examples
    --------
    >>> from numlearn.datasets import shifted_laplacian_sequence
    >>> from numlearn.tuning import OmegaTuner
    >>> seq = shifted_laplacian_sequence(n_systems=200, offset="low", random_state=0)
    >>> tuner = OmegaTuner(random_state=0)
    >>> for system in seq:
    ...     result = tuner.solve(system.A, system.b)
    >>> len(tuner.costs_), bool(sum(tuner.costs_[-50:]) < 50 * 150)
    (200, True)
    """

    def __init__(
        self,
        solver: str | Callable[..., SolverResult] = "sor",
        learner: Any = "tsallis-inf",
        omegas: Any = None,
        *,
        random_state: Any = None,
        context_range: tuple[float, float] | None = None,
        learner_options: dict | None = None,
        **solver_options: Any,
    ):
        self.omegas = omegas
        super().__init__(solver, "omega", omegas, learner=learner,
                         context_range=context_range, random_state=random_state,
                         learner_options=learner_options, **solver_options)

    def _check_solver(self) -> Callable[..., SolverResult]:
        return _check_solver(self.solver)

    def _check_values(self) -> tuple[list, np.ndarray]:
        self._omegas = _check_omegas(self.omegas)
        return [float(w) for w in self._omegas], self._omegas

    def _tsallis_defaults(self, positions: np.ndarray) -> dict:
        return {**TSALLIS_DEFAULTS, "arm_positions": positions}

    @property
    def omegas_(self) -> list[float]:
        """The ω chosen for each system solved so far."""
        return self.values_

    def solve(self, A: Any, b: Any, *, context: float | None = None, x0: Any = None
              ) -> SolverResult:
        """Choose ω, solve ``A x = b`` and learn from the iterations it took.

        Returns the solver's result with two more fields, ``omega`` and ``arm``. A solve
        that hits ``maxiter`` still teaches the learner (its cost is ``maxiter``) and its
        :class:`~sklearn.exceptions.ConvergenceWarning` is passed on.
        """
        result, omega, arm = self._run((A, b), {"x0": x0}, context)
        entry = self.history_[-1]  # as before the generalization: "omega", not "value"
        self.history_[-1] = {"omega": entry.pop("value"), **entry}
        result.omega = omega
        result.arm = arm
        return result

    def solve_sequence(self, systems: Iterable[Any]) -> list[SolverResult]:
        """:meth:`solve` every system of ``systems`` in order (items as in a
        :class:`~numlearn.datasets.LinearSystem`: ``A``, ``b``, ``context``, ``x0``)."""
        results = []
        for system in systems:
            A, b, context, x0 = _unpack(system)
            results.append(self.solve(A, b, context=context if self._contextual else None,
                                      x0=x0))
        return results


def omega_baselines(
    systems: Iterable[Any],
    omegas: Any = None,
    *,
    solver: str | Callable[..., SolverResult] = "sor",
    **solver_options: Any,
) -> SolverResult:
    """Grid-search baselines for ω tuning: every system solved with every ω of the grid.

    Parameters
    ----------
    systems : iterable
        The sequence (items with ``A``, ``b``, optional ``x0``, or tuples ``(A, b, ...)``).
    omegas : array-like, optional
        The grid (default: 20 points on ``[1, 1.95]``).
    solver : {"sor", "ssor", "ssor_cg"} or callable, default="sor"
        As in :class:`OmegaTuner`.
    **solver_options
        Passed to the solver.

    Returns
    -------
    SolverResult
        ``costs`` (n_systems × n_omegas iterations), ``converged`` (same shape),
        ``omegas``, ``fixed_totals`` (total iterations of each fixed ω),
        ``best_fixed_omega`` and ``best_fixed_total`` (best fixed ω in hindsight),
        ``instance_optimal_omegas`` and ``instance_optimal_total`` (best ω per system).
        A :class:`~sklearn.exceptions.ConvergenceWarning` summarizes solves that hit
        ``maxiter`` (their cost counts as ``maxiter``).

    Examples
    --------
    >>> from numlearn.datasets import shifted_laplacian_sequence
    >>> from numlearn.tuning import omega_baselines
    >>> seq = shifted_laplacian_sequence(n_systems=20, offset="low", random_state=0)
    >>> base = omega_baselines(seq, [1.0, 1.5, 1.7])
    >>> base.costs.shape, float(base.best_fixed_omega)
    ((20, 3), 1.7)
    >>> bool(base.instance_optimal_total <= base.best_fixed_total <= base.fixed_totals[0])
    True
    """
    solve = _check_solver(solver)
    omegas = _check_omegas(omegas)
    rows, conv = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for system in systems:
            A, b, _, x0 = _unpack(system)
            results = [solve(A, b, omega=float(w), x0=x0, **solver_options) for w in omegas]
            rows.append([int(r.n_iter) for r in results])
            conv.append([bool(r.converged) for r in results])
    base = _baselines(rows, conv, [float(w) for w in omegas])
    return SolverResult(
        costs=base.costs.astype(np.int64),
        converged=base.converged,
        omegas=omegas,
        fixed_totals=base.fixed_totals,
        best_fixed_omega=base.best_fixed_value,
        best_fixed_total=int(base.best_fixed_total),
        instance_optimal_omegas=omegas[np.argmin(base.costs, axis=1)],
        instance_optimal_total=int(base.instance_optimal_total),
    )
