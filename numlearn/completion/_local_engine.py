"""The engines of NumPy observations: row blocks solved by the Numba kernels, in this
process (:class:`LocalEngine`) or by Dask workers
(:class:`~numlearn.completion._dask_engine.DaskEngine`), both written once as a
:class:`BlockEngine` over how a function is mapped across a side's blocks."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from numlearn.completion._blocks import (
    SERIAL_WORK,
    assemble,
    block_implicit_loss,
    block_matvec,
    block_sse,
    block_stats,
    implicit_block,
    solve_block,
    split_layout,
)
from numlearn.completion._engine import ImplicitEngine
from numlearn.completion._observations import row_layout

__all__ = ["BlockEngine", "LocalEngine"]


class BlockEngine(ImplicitEngine):
    """Both sides cut into blocks of consecutive rows (:class:`~._blocks.Block`); every
    operation maps a block function over one side's blocks and sums or stacks the parts."""

    sides: dict[str, list[Any]]

    @abstractmethod
    def _map(self, fn, side: str, shared: dict[str, Any], **kwargs: Any) -> list:
        """``[fn(block, **shared, **kwargs) for block of side]`` (``shared``: the arrays
        every block reads, such as the factors)."""

    def _serial(self, k: int) -> bool | None:
        """Whether the recommender kernels run on one thread at rank ``k`` (None: their
        default)."""
        return None

    def stats(self, side):
        parts = self._map(block_stats, side, {})
        return tuple(sum(p[i] for p in parts) for i in range(3))

    def half_step(self, side, other, current, solver, reg, cg_steps, sketch_size,
                  **options):
        if "offset" in options:  # these kernels have one-thread twins
            serial = self._serial(other.shape[1])
            if serial is not None:
                options["serial"] = serial
        parts = self._map(solve_block, side, dict(other=other, current=current),
                          solver=solver, reg=reg, cg_steps=cg_steps, sketch_size=sketch_size,
                          **options)
        out = assemble([(p[0], p[1]) for p in parts], current.shape[0], current.shape[1])
        singular = sum(p[2] for p in parts)
        if "offset" in options:
            return out, singular, sum(p[3] for p in parts)
        return out, singular

    def implicit_half_step(self, side, other, current, gram, solver, cg_steps):
        parts = self._map(implicit_block, side, dict(other=other, current=current),
                          gram=gram, solver=solver, cg_steps=cg_steps)
        out = np.empty_like(current)
        for start, rows, _ in parts:
            out[start:start + rows.shape[0]] = rows
        return out, sum(p[2] for p in parts)

    def sse(self, U, V) -> float:
        return float(sum(self._map(block_sse, "rows", dict(own=U, other=V))))

    def implicit_loss_terms(self, X, Y) -> float:
        return float(sum(self._map(block_implicit_loss, "rows", dict(own=X, other=Y))))

    def matvec(self, side, x) -> np.ndarray:
        n_rows = self.shape[0] if side == "rows" else self.shape[1]
        return assemble(self._map(block_matvec, side, dict(x=x)), n_rows, None)


class LocalEngine(BlockEngine):
    """Both sides as one block each, in this process."""

    def __init__(self, obs, *, sketch_seed=None, sketch_size=1):
        m, n = obs.shape
        self.shape = (m, n)
        self.n_obs = int(obs.values.shape[0])
        rows = row_layout(obs.rows, obs.cols, obs.values, m, obs.row_order)
        cols = row_layout(obs.cols, obs.rows, obs.values, n)
        self.sides = {
            "rows": split_layout(rows, 1, n, sketch_seed, sketch_size),
            "cols": split_layout(cols, 1, m, sketch_seed, sketch_size),
        }

    def _map(self, fn, side, shared, **kwargs):
        return [fn(b, **shared, **kwargs) for b in self.sides[side]]

    def _serial(self, k):
        # below SERIAL_WORK multiply-adds, starting and joining a parallel region costs
        # more than it saves (much more on a loaded machine)
        return self.n_obs * k * (k + 1) / 2 < SERIAL_WORK
