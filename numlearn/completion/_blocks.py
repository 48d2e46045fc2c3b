"""Row blocks of observations and the work done on one block (the primitives under the
local and Dask engines).

Both engines cut each side (the rows of ``M`` for the ``U`` update, its columns for ``V``)
into *blocks* of consecutive rows, each with its observations in CSR form
(:class:`Block`). Every per-row computation sees only its own row's observations, in the
same order, and the factors, so the results do not depend on how the rows are blocked: the
Dask engine reproduces the local one to rounding (the sums over blocks are the only
reordered operations).

The CountSketch hash of an observation is a function of its ``(row, col)`` pair and the
seed (SplitMix64), not of its position in memory, for the same reason.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from numlearn.completion._altmin_kernels import (
    observed_residuals,
    solve_rows_cg,
    solve_rows_cholesky,
    solve_rows_sketch,
)
from numlearn.completion._als_kernels import (
    solve_rows_ridge,
    solve_rows_ridge_cg,
    solve_rows_ridge_cg_serial,
    solve_rows_ridge_serial,
)
from numlearn.completion._implicit_kernels import (
    implicit_loss_terms,
    implicit_rows_cg,
    implicit_rows_cg_serial,
    implicit_rows_cholesky,
    implicit_rows_cholesky_serial,
)
from numlearn.linalg._csr_kernels import csr_matvec

__all__ = ["Block", "make_block", "split_layout", "solve_block", "implicit_block",
           "block_sse", "block_implicit_loss", "block_matvec", "block_stats", "assemble",
           "sketch_hash", "SERIAL_WORK"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def sketch_hash(keys: np.ndarray, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """CountSketch bucket in ``[0, size)`` and sign of each 64-bit key (SplitMix64)."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + (np.uint64(seed) + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    buckets = (z % np.uint64(size)).astype(np.int64)
    signs = np.where((z >> np.uint64(63)) == 1, 1.0, -1.0)
    return buckets, signs


class Block(NamedTuple):
    """Rows ``start .. stop-1`` of one side with their observations (local CSR; ``indices``
    are global indices on the other side) and each observation's sketch hash."""

    start: int
    stop: int
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    sketch_rows: np.ndarray | None
    sketch_signs: np.ndarray | None


def make_block(start, indptr, indices, values, n_other, sketch_seed, sketch_size) -> Block:
    """A :class:`Block` from local CSR arrays (hashes computed when a sketch is used)."""
    stop = start + indptr.shape[0] - 1
    sketch_rows = sketch_signs = None
    if sketch_seed is not None:
        local_rows = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(indptr))
        keys = local_rows.astype(np.uint64) * np.uint64(n_other) + indices.astype(np.uint64)
        sketch_rows, sketch_signs = sketch_hash(keys, sketch_seed, sketch_size)
    return Block(start, stop, indptr, indices, values, sketch_rows, sketch_signs)


def split_layout(layout, n_blocks: int, n_other: int, sketch_seed, sketch_size) -> list[Block]:
    """Cut a whole-side layout into ``n_blocks`` blocks of consecutive rows."""
    n_rows = layout.indptr.shape[0] - 1
    bounds = np.linspace(0, n_rows, min(n_blocks, n_rows) + 1).astype(np.int64)
    blocks = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        lo, hi = layout.indptr[start], layout.indptr[stop]
        blocks.append(make_block(int(start), layout.indptr[start:stop + 1] - lo,
                                 layout.indices[lo:hi], layout.values[lo:hi], n_other,
                                 sketch_seed, sketch_size))
    return blocks


def solve_block(block: Block, other: np.ndarray, current: np.ndarray, solver: str,
                reg: float, cg_steps: int, sketch_size: int, offset: np.ndarray | None = None,
                count_scaling: bool = False, n_nonneg: int = 0, serial: bool = False,
                want_sse: bool = True) -> tuple[int, np.ndarray, int, float]:
    """New factor rows of ``block`` (warm-started from ``current``'s rows); returns
    ``(start, rows, number of singular regressions, sum of squared residuals)``.

    With ``offset`` (one value per row of ``other``, subtracted from the observations) the
    recommender kernels of :mod:`numlearn.completion._als_kernels` run instead: ``reg``
    scaled by each row's count when ``count_scaling``, the first ``n_nonneg`` coordinates
    kept nonnegative (``"cholesky"`` only), one thread when ``serial``; with ``want_sse``
    they also give the block's sum of squared residuals at the new rows (else NaN)."""
    out = np.array(current[block.start:block.stop], order="C", copy=True)
    singular = 0
    sse = math.nan
    if offset is not None:
        row_sse = np.empty(out.shape[0] if want_sse else 0)
        if solver == "cholesky":
            kernel = solve_rows_ridge_serial if serial else solve_rows_ridge
            singular = int(kernel(block.indptr, block.indices, block.values, offset, other,
                                  reg, count_scaling, n_nonneg, out, 500, row_sse))
        else:
            kernel = solve_rows_ridge_cg_serial if serial else solve_rows_ridge_cg
            kernel(block.indptr, block.indices, block.values, offset, other, reg,
                   count_scaling, out, cg_steps, row_sse)
        sse = float(np.sum(row_sse)) if want_sse else math.nan
    elif solver == "cholesky":
        singular = int(solve_rows_cholesky(block.indptr, block.indices, block.values, other,
                                           reg, out))
    elif solver == "cg":
        solve_rows_cg(block.indptr, block.indices, block.values, other, reg, out, cg_steps)
    else:
        solve_rows_sketch(block.indptr, block.indices, block.values, other, reg, out,
                          block.sketch_rows, block.sketch_signs, sketch_size, cg_steps)
    return block.start, out, singular, sse


def block_sse(block: Block, own: np.ndarray, other: np.ndarray) -> float:
    """Sum of squared residuals of the block's observations."""
    buffer = np.empty(block.values.shape[0])
    observed_residuals(block.indptr, block.indices, block.values,
                       np.ascontiguousarray(own[block.start:block.stop]), other, buffer)
    return float(np.dot(buffer, buffer))


def block_matvec(block: Block, x: np.ndarray) -> tuple[int, np.ndarray]:
    """``(start, P_block x)``: the block's rows of the observed matrix times ``x``."""
    out = np.empty(block.stop - block.start)
    csr_matvec(block.indptr, block.indices, block.values, x, out)
    return block.start, out


def block_stats(block: Block) -> tuple[int, int, float]:
    """``(rows with observations, observations, Σ values²)`` of a block."""
    return (int(np.sum(np.diff(block.indptr) > 0)), int(block.values.shape[0]),
            float(np.dot(block.values, block.values)))


def assemble(parts, n_rows: int, width: int | None) -> np.ndarray:
    """Stack block results; rows no block covers (no observations at all) are zero."""
    out = np.zeros((n_rows, width)) if width else np.zeros(n_rows)
    for start, rows in parts:
        out[start:start + rows.shape[0]] = rows
    return out


#: Recommender half-steps with less work than this (multiply-adds) run the one-thread twin
#: kernels: below it, starting and joining a parallel region costs more than it saves, and
#: much more on a loaded machine, where a worker thread may wait for a time slice.
SERIAL_WORK = 2e7


def implicit_block(block: Block, other: np.ndarray, current: np.ndarray, gram: np.ndarray,
                   solver: str, cg_steps: int) -> tuple[int, np.ndarray, int]:
    """Implicit-feedback ALS rows of ``block`` (the block's ``values`` are the confidences
    ``1 + α r``; ``gram`` is ``otherᵀ other + reg I``), warm-started from ``current``'s
    rows; returns ``(start, rows, number of singular rows)``."""
    out = np.array(current[block.start:block.stop], order="C", copy=True)
    k = other.shape[1]
    serial = (block.values.shape[0] * k * (cg_steps + 1) + out.shape[0] * k * k
              < SERIAL_WORK)
    if solver == "cholesky":
        kernel = implicit_rows_cholesky_serial if serial else implicit_rows_cholesky
        return block.start, out, int(kernel(block.indptr, block.indices, block.values,
                                            other, gram, out))
    kernel = implicit_rows_cg_serial if serial else implicit_rows_cg
    kernel(block.indptr, block.indices, block.values, other, gram, out, cg_steps)
    return block.start, out, 0


def block_implicit_loss(block: Block, own: np.ndarray, other: np.ndarray) -> float:
    """The block's observed-entry terms ``Σ [c (1 − s)² − s²]`` of the implicit objective
    (float64)."""
    own = np.ascontiguousarray(own[block.start:block.stop], dtype=np.float64)
    return float(implicit_loss_terms(block.indptr, block.indices,
                                     block.values.astype(np.float64, copy=False), own,
                                     np.asarray(other, dtype=np.float64)))
