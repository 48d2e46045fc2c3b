"""What an engine provides: the operations the AltMin and implicit-ALS loops run on.

The loops of :func:`~numlearn.completion.altmin` and
:func:`~numlearn.completion.implicit_als` are written once; *where* their half-steps run is
an :class:`Engine`:

* :class:`~numlearn.completion._local_engine.LocalEngine`: NumPy observations, Numba
  kernels parallel over rows, in this process;
* :class:`~numlearn.completion._dask_engine.DaskEngine`: the same kernels on row blocks
  held by the workers of a Dask cluster;
* :class:`~numlearn.completion._array_api_engine.ArrayAPIEngine`: whole-array operations of
  any array-API namespace (CuPy, array_api_strict);
* :class:`~numlearn.completion._cuda_engine.CudaEngine`: Numba-CUDA kernels on CuPy arrays
  (AltMin only, ``rank ≤ 32``).

:func:`numlearn.completion._array_api.make_engine` picks between the last two. An engine
holds both *sides* of the observations: ``"rows"`` (grouped by row: the ``U`` update) and
``"cols"`` (grouped by column: the ``V`` update). Factors passed in and returned are arrays
of the engine's kind (:meth:`Engine.factor` converts a host array).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

__all__ = ["Engine", "ImplicitEngine", "NamespaceEngine"]


class Engine(ABC):
    """The operations of one AltMin run on fixed observations (``shape = (m, n)``)."""

    shape: tuple[int, int]

    def factor(self, F: np.ndarray) -> Any:
        """A host factor (init) as an array of the engine (default: the NumPy array)."""
        return F

    @abstractmethod
    def stats(self, side: str) -> tuple[int, int, float]:
        """``(rows with observations, observations, Σ values²)`` of ``side``."""

    @abstractmethod
    def half_step(self, side: str, other: Any, current: Any, solver: str, reg: float,
                  cg_steps: int, sketch_size: int, **options: Any) -> tuple:
        """The per-row ridge solves of ``side`` against the factor ``other`` (warm-started
        from ``current``): ``(new factor, singular regressions)``; with the recommender
        ``options`` (``offset``, ``count_scaling``, ``n_nonneg``, ``want_sse``; local and
        Dask engines) also the sum of squared residuals at the new factor."""

    @abstractmethod
    def sse(self, U: Any, V: Any) -> float:
        """Sum of squared residuals ``Σ_Ω (M_ij − u_iᵀv_j)²``."""

    @abstractmethod
    def matvec(self, side: str, x: np.ndarray) -> np.ndarray:
        """``P_Ω(M) x`` (``side="rows"``) or ``P_Ω(M)ᵀ x`` (``"cols"``), on the host."""

    def close(self) -> None:
        """Release what the engine holds (Dask futures); a no-op by default."""


class ImplicitEngine(Engine):
    """An engine that also runs implicit-feedback ALS; its observations' values are the
    confidences ``c = 1 + α r``."""

    @abstractmethod
    def implicit_half_step(self, side: str, other: Any, current: Any, gram: Any,
                           solver: str, cg_steps: int) -> tuple[Any, int]:
        """Rows of ``side`` minimizing ``Σ_i c_ui (p_ui − x_uᵀy_i)² + reg ‖x_u‖²`` over all
        items (``gram = otherᵀother + reg I``), exactly (``"cholesky"``) or by
        ``cg_steps`` warm-started CG steps from ``current``: ``(new factor, singular
        rows)``."""

    @abstractmethod
    def implicit_loss_terms(self, X: Any, Y: Any) -> float:
        """``Σ_Ω [c (1 − s)² − s²]``, ``s = x_uᵀy_i``: the observed entries' correction to
        ``Σ_{u,i} s²`` in the implicit objective (float64)."""


class NamespaceEngine(Engine):
    """The engines of non-NumPy observations (:class:`ArrayAPIEngine`, :class:`CudaEngine`):
    the observations' namespace ``xp``, ``device``, ``dtype`` and ``shape``, and host
    factors moved there."""

    def __init__(self, obs: Any):
        self.xp, self.device = obs.xp, obs.device
        self.dtype = obs.values.dtype
        self.shape = obs.shape

    def factor(self, F: np.ndarray) -> Any:
        """A host factor (init) in the engine's namespace, dtype and device."""
        return self.xp.asarray(np.asarray(F, dtype=np.float64), dtype=self.dtype,
                               device=self.device)
