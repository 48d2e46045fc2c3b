"""Sequences of related linear systems: the workloads that online ω tuning learns from.

A *sequence* yields :class:`LinearSystem` items ``(A, b, context, x0)`` one after another,
as a simulation would produce them; :class:`numlearn.tuning.OmegaTuner` solves them in
order and learns the relaxation parameter from their costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from numlearn._validation import check_option, check_random_state, check_scalar
from numlearn.datasets._poisson import poisson_2d

__all__ = ["LinearSystem", "ShiftedLaplacianSequence", "shifted_laplacian_sequence", "Heat2D"]

# c_t = _SHIFT_LOW + _SHIFT_WIDTH * Beta(a, b): the paper's shifts (Khodak et al., 2024)
_SHIFT_LOW, _SHIFT_WIDTH, _SHIFT_HIGH = -0.15, 0.6, 0.45
_BETA_PARAMETERS = {"high": (0.5, 1.5), "low": (2.0, 6.0)}


class LinearSystem(NamedTuple):
    """One system ``A x = b`` of a sequence, its scalar ``context`` and a warm start ``x0``."""

    A: sp.csr_matrix
    b: np.ndarray
    context: float | None = None
    x0: np.ndarray | None = None


class ShiftedLaplacianSequence:
    """The sequence ``A_t = L + c_t I`` of :func:`shifted_laplacian_sequence`.

    Behaves as a read-only list of :class:`LinearSystem`; the matrices are built on
    access (they share ``L``'s pattern), so a long sequence costs ``n_systems × n`` floats.

    Attributes
    ----------
    laplacian : scipy.sparse.csr_matrix
        The unshifted 5-point Laplacian ``L``.
    shifts : ndarray of shape (n_systems,)
        The shifts ``c_t`` (also each system's context).
    rhs : ndarray of shape (n_systems, n)
        The right-hand sides ``b_t``.
    """

    def __init__(self, laplacian: sp.csr_matrix, shifts: np.ndarray, rhs: np.ndarray):
        self.laplacian = laplacian
        self.shifts = shifts
        self.rhs = rhs
        self._identity = sp.identity(laplacian.shape[0], format="csr")

    def __len__(self) -> int:
        return self.shifts.shape[0]

    def __getitem__(self, t: int) -> LinearSystem:
        if not isinstance(t, (int, np.integer)):
            raise TypeError(f"sequence index must be an integer, got {type(t).__name__}.")
        if not -len(self) <= t < len(self):
            raise IndexError(f"system {t} out of range for a sequence of {len(self)}.")
        c = float(self.shifts[t])
        A = (self.laplacian + c * self._identity).tocsr()
        return LinearSystem(A, self.rhs[t].copy(), c, None)

    def __iter__(self) -> Iterator[LinearSystem]:
        for t in range(len(self)):
            yield self[t]

    @property
    def context_range(self) -> tuple[float, float]:
        """The interval the contexts ``c_t`` can take: ``(−0.15, 0.45)``."""
        return (_SHIFT_LOW, _SHIFT_HIGH)


def _truncated_normal_rhs(rng: np.random.Generator, n_systems: int, n: int) -> np.ndarray:
    """Standard normal vectors conditioned on ``‖b‖ ≤ √n`` (by rejection, as the paper)."""
    out = np.empty((n_systems, n))
    filled = 0
    while filled < n_systems:
        draw = rng.standard_normal((max(2 * (n_systems - filled), 8), n))
        keep = draw[np.linalg.norm(draw, axis=1) <= math.sqrt(n)][: n_systems - filled]
        out[filled:filled + keep.shape[0]] = keep
        filled += keep.shape[0]
    return out


def shifted_laplacian_sequence(
    n_grid: int = 10,
    n_systems: int = 5000,
    *,
    offset: str = "high",
    random_state: Any = None,
) -> ShiftedLaplacianSequence:
    """The paper's sequence of shifted Laplacians ``A_t = L + c_t I``.

    ``L`` is the 2-D 5-point Laplacian on an ``n_grid × n_grid`` interior grid (MATLAB's
    ``delsq(numgrid('S', n_grid + 2))``, diagonal 4), ``c_t = −0.15 + 0.6 · Beta(α, β)``
    with ``(α, β) = (0.5, 1.5)`` (``offset="high"``: high variance, mass near the nearly
    singular end) or ``(2, 6)`` (``"low"``), and ``b_t`` standard normal conditioned on
    ``‖b_t‖ ≤ √n``. The context of system ``t`` is ``c_t``. Every ``A_t`` is symmetric
    positive definite for ``n_grid ≥ 10`` (``λ_min(L) = 8 sin²(π/(2(n_grid+1))) > 0.15``).

    Parameters
    ----------
    n_grid : int, default=10
        Interior grid points per side; systems have ``n_grid**2`` unknowns.
    n_systems : int, default=5000
        Length of the sequence.
    offset : {"high", "low"}, default="high"
        Which shift distribution (variance of ``c_t``).
    random_state : int, numpy.random.Generator or None
        Seed for the shifts and right-hand sides.

    Returns
    -------
    ShiftedLaplacianSequence
        A list-like sequence of :class:`LinearSystem` ``(A, b, context, x0=None)``.

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar, "Learning to Relax: Setting Solver
    Parameters Across a Sequence of Linear System Instances", ICLR 2024.

    Examples
    --------
    >>> from numlearn.datasets import shifted_laplacian_sequence
    >>> seq = shifted_laplacian_sequence(n_systems=3, random_state=0)
    >>> len(seq), seq[0].A.shape, seq.context_range
    (3, (100, 100), (-0.15, 0.45))
    >>> bool(-0.15 <= seq[0].context <= 0.45)
    True
    """
    n_grid = check_scalar(n_grid, "n_grid", kind=int, low=10)
    n_systems = check_scalar(n_systems, "n_systems", kind=int, low=1)
    offset = check_option(offset, "offset", tuple(_BETA_PARAMETERS))
    rng = check_random_state(random_state)
    alpha, beta = _BETA_PARAMETERS[offset]
    shifts = _SHIFT_LOW + _SHIFT_WIDTH * rng.beta(alpha, beta, size=n_systems)
    L = poisson_2d(n_grid)
    rhs = _truncated_normal_rhs(rng, n_systems, L.shape[0])
    return ShiftedLaplacianSequence(L, shifts, rhs)


def paper_diffusion_coefficient(t: float) -> float:
    """The paper's time-varying diffusion coefficient ``κ(t) = max(0.1 sin 2πt, −10 sin 2πt)``."""
    s = math.sin(2.0 * math.pi * t)
    return max(0.1 * s, -10.0 * s)


def moving_bump_source(X: np.ndarray, Y: np.ndarray, t: float) -> np.ndarray:
    """A Gaussian heat source circling the centre of the unit square once per time unit."""
    cx = 0.5 + 0.25 * math.cos(2.0 * math.pi * t)
    cy = 0.5 + 0.25 * math.sin(2.0 * math.pi * t)
    return 10.0 * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / 0.01)


class Heat2D:
    """Crank–Nicolson time steps of the 2-D heat equation with a time-varying coefficient.

    Solves ``∂u/∂t = κ(t) Δu + f(x, y, t)`` on the unit square with ``u = 0`` on the
    boundary, on an ``nx × nx`` interior grid (``h = 1/(nx+1)``). With ``L_h`` the
    5-point Laplacian divided by ``h²`` (positive definite, ``≈ −Δ``), step ``n → n+1`` is
    the symmetric positive definite system

    ``(I + (dt/2) κ_{n+1} L_h) u_{n+1} = (I − (dt/2) κ_n L_h) u_n + (dt/2)(f_n + f_{n+1})``.

    Iterating yields one :class:`LinearSystem` per step, with ``context = κ_{n+1}`` and
    ``x0 = u_n`` (the warm start); hand the solution back with :meth:`advance` before
    asking for the next step.

    Parameters
    ----------
    coefficient : callable ``t -> float`` or None
        The diffusion coefficient ``κ(t) ≥ 0``. Default: the paper's
        ``max(0.1 sin 2πt, −10 sin 2πt)``.
    forcing : callable ``(X, Y, t) -> array`` or None
        The source ``f`` on the grid (``X, Y`` of shape ``(nx, nx)``). Default: a Gaussian
        bump circling the centre (:func:`moving_bump_source`).
    initial : callable ``(X, Y) -> array``, array of shape (nx, nx) or (nx²,), or None
        The initial temperature ``u(·, 0)``. Default: zero.
    nx : int, default=32
        Interior grid points per side (``nx²`` unknowns).
    dt : float, default=1e-3
        Time step.

    Attributes
    ----------
    t : float
        Current time.
    u : ndarray of shape (nx**2,)
        Current solution (row-major over the grid).
    n_steps_taken : int
        Steps advanced so far.

    Examples
    --------
    >>> from numlearn.datasets import Heat2D
    >>> from numlearn.linalg import ssor_cg
    >>> heat = Heat2D(nx=16, dt=0.01)
    >>> for system in heat.steps(3):
    ...     res = ssor_cg(system.A, system.b, omega=1.5, x0=system.x0)
    ...     heat.advance(res.x)
    >>> heat.n_steps_taken, round(heat.t, 2), bool(heat.u.max() > 0)
    (3, 0.03, True)
    """

    def __init__(
        self,
        coefficient: Callable[[float], float] | None = None,
        forcing: Callable[..., np.ndarray] | None = None,
        initial: Any = None,
        nx: int = 32,
        dt: float = 1e-3,
    ):
        self.nx = check_scalar(nx, "nx", kind=int, low=1)
        self.dt = check_scalar(dt, "dt", low=0.0, include_low=False)
        for name, fn in (("coefficient", coefficient), ("forcing", forcing)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable or None, got {type(fn).__name__}.")
        self.coefficient = paper_diffusion_coefficient if coefficient is None else coefficient
        self.forcing = moving_bump_source if forcing is None else forcing
        h = 1.0 / (self.nx + 1)
        grid = np.arange(1, self.nx + 1) * h
        self._X, self._Y = np.meshgrid(grid, grid, indexing="ij")
        n = self.nx * self.nx
        if initial is None:
            u0 = np.zeros(n)
        elif callable(initial):
            u0 = np.asarray(initial(self._X, self._Y), dtype=np.float64).reshape(-1)
        else:
            u0 = np.array(initial, dtype=np.float64).reshape(-1)
        if u0.shape != (n,) or not np.all(np.isfinite(u0)):
            raise ValueError(
                f"initial must give {n} finite values (an nx × nx grid), got shape "
                f"{np.shape(u0)}."
            )
        self.u = u0
        self.t = 0.0
        self.n_steps_taken = 0
        self._laplacian = (poisson_2d(self.nx) / h**2).tocsr()
        self._laplacian.sort_indices()
        self._identity = sp.identity(n, format="csr")
        self._pending = False
        self._kappa = self._coefficient(0.0)
        self._f = self._forcing(0.0)

    def _coefficient(self, t: float) -> float:
        kappa = float(self.coefficient(t))
        if not (math.isfinite(kappa) and kappa >= 0.0):
            raise ValueError(f"coefficient(t) must be finite and >= 0, got {kappa} at t={t}.")
        return kappa

    def _forcing(self, t: float) -> np.ndarray:
        f = np.asarray(self.forcing(self._X, self._Y, t), dtype=np.float64).reshape(-1)
        if f.shape != self.u.shape or not np.all(np.isfinite(f)):
            raise ValueError(
                f"forcing(X, Y, t) must return {self.u.shape[0]} finite values, got shape "
                f"{f.shape} at t={t}."
            )
        return f

    def next_system(self) -> LinearSystem:
        """The system for the step ``t → t + dt`` (call :meth:`advance` with its solution)."""
        if self._pending:
            raise RuntimeError("call advance(u) with the solution of the previous system first.")
        t_next = self.t + self.dt
        kappa_next = self._coefficient(t_next)
        f_next = self._forcing(t_next)
        half = 0.5 * self.dt
        A = (self._identity + (half * kappa_next) * self._laplacian).tocsr()
        b = self.u - (half * self._kappa) * (self._laplacian @ self.u) + half * (self._f + f_next)
        self._next = (t_next, kappa_next, f_next)
        self._pending = True
        return LinearSystem(A, b, kappa_next, self.u.copy())

    def advance(self, u: Any) -> None:
        """Accept the solution of the last system and move time forward by ``dt``."""
        if not self._pending:
            raise RuntimeError("advance(u) called without a pending system (call next_system).")
        u = np.array(u, dtype=np.float64).reshape(-1)
        if u.shape != self.u.shape or not np.all(np.isfinite(u)):
            raise ValueError(f"u must hold {self.u.shape[0]} finite values, got shape {u.shape}.")
        self.t, self._kappa, self._f = self._next
        self.u = u
        self.n_steps_taken += 1
        self._pending = False

    def steps(self, n_steps: int) -> Iterator[LinearSystem]:
        """Yield the next ``n_steps`` systems; :meth:`advance` must be called after each."""
        n_steps = check_scalar(n_steps, "n_steps", kind=int, low=0)
        for _ in range(n_steps):
            yield self.next_system()

    def __iter__(self) -> Iterator[LinearSystem]:
        while True:
            yield self.next_system()
