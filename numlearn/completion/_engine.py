"""Where AltMin's half-steps run: in this process, or as row-block tasks on a Dask cluster.

Both engines cut each side (the rows of ``M`` for the ``U`` update, its columns for ``V``)
into *blocks* of consecutive rows, each with its observations in CSR form
(:class:`Block`), and expose the same four operations: a half-step (the per-row ridge
solves of one side), the training sum of squares, and products with the observed matrix
``P_Ω(M)`` and its transpose (for the SVD initialization). Every per-row computation sees
only its own row's observations, in the same order, and the factors, so the results do not
depend on how the rows are blocked: the Dask engine reproduces the local one to rounding
(the sums over blocks are the only reordered operations).

The CountSketch hash of an observation is a function of its ``(row, col)`` pair and the
seed (SplitMix64), not of its position in memory, for the same reason.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

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
from numlearn.completion._observations import row_layout
from numlearn.linalg._csr_kernels import csr_matvec

__all__ = ["Block", "LocalEngine", "DaskEngine", "sketch_hash"]

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


def _assemble(parts, n_rows: int, width: int | None) -> np.ndarray:
    """Stack block results; rows no block covers (no observations at all) are zero."""
    out = np.zeros((n_rows, width)) if width else np.zeros(n_rows)
    for start, rows in parts:
        out[start:start + rows.shape[0]] = rows
    return out


#: Recommender half-steps with less work than this (multiply-adds) run the one-thread twin
#: kernels: below it, starting and joining a parallel region costs more than it saves, and
#: much more on a loaded machine, where a worker thread may wait for a time slice.
SERIAL_WORK = 2e7


class LocalEngine:
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

    def factor(self, F: np.ndarray) -> np.ndarray:
        """A factor in the engine's array type (here: the NumPy array itself)."""
        return F

    def stats(self, side: str) -> tuple[int, int, float]:
        parts = [block_stats(b) for b in self.sides[side]]
        return tuple(sum(p[i] for p in parts) for i in range(3))

    def half_step(self, side, other, current, solver, reg, cg_steps, sketch_size,
                  **options):
        """``(new factor, singular regressions)``; with the recommender ``options``
        (``offset``, ...) also the sum of squared residuals at the new factor."""
        k = other.shape[1]
        work = self.n_obs * k * (k + 1) / 2
        if "offset" in options:  # these kernels have one-thread twins
            options["serial"] = work < SERIAL_WORK
        parts = [solve_block(b, other, current, solver, reg, cg_steps, sketch_size, **options)
                 for b in self.sides[side]]
        out = _assemble([(p[0], p[1]) for p in parts], current.shape[0], current.shape[1])
        singular = sum(p[2] for p in parts)
        if "offset" in options:
            return out, singular, sum(p[3] for p in parts)
        return out, singular

    def sse(self, U, V) -> float:
        return sum(block_sse(b, U, V) for b in self.sides["rows"])

    def matvec(self, side, x) -> np.ndarray:
        n_rows = self.shape[0] if side == "rows" else self.shape[1]
        return _assemble([block_matvec(b, x) for b in self.sides[side]], n_rows, None)

    def close(self) -> None:
        pass


class DaskEngine:
    """Blocks held by the workers of a ``dask.distributed.Client``; factors are broadcast
    for every half-step and each block is solved by the worker that holds it."""

    def __init__(self, client, side_blocks: dict[str, list[Any]], shape):
        self.client = client
        self.sides = side_blocks  # side -> list of futures of Block
        self.shape = shape

    @classmethod
    def from_observations(cls, client, obs, n_blocks, *, sketch_seed=None, sketch_size=1):
        m, n = obs.shape
        rows = row_layout(obs.rows, obs.cols, obs.values, m, obs.row_order)
        cols = row_layout(obs.cols, obs.rows, obs.values, n)
        sides = {
            "rows": client.scatter(split_layout(rows, n_blocks, n, sketch_seed, sketch_size)),
            "cols": client.scatter(split_layout(cols, n_blocks, m, sketch_seed, sketch_size)),
        }
        return cls(client, sides, (m, n))

    @classmethod
    def from_dataframe(cls, client, df, shape, n_blocks, *, sketch_seed=None, sketch_size=1):
        """Blocks built on the workers from a Dask DataFrame of ``row, col, value``."""
        import dask

        m, n = shape
        sides = {}
        for side, key, other_key, n_side, n_other in (("rows", "row", "col", m, n),
                                                      ("cols", "col", "row", n, m)):
            per_block = math.ceil(n_side / n_blocks)
            keyed = df.assign(_block=df[key] // per_block)
            shuffled = keyed.shuffle(on="_block", npartitions=n_blocks)
            groups = [
                dask.delayed(_blocks_from_frame)(part, key, other_key, n_side, n_other,
                                                 per_block, sketch_seed, sketch_size)
                for part in shuffled.to_delayed()
            ]
            futures = client.compute(groups)
            sides[side] = _flatten_block_futures(client, futures)
        return cls(client, sides, (m, n))

    def factor(self, F: np.ndarray) -> np.ndarray:
        return F

    def stats(self, side):
        parts = self.client.gather(self.client.map(block_stats, self.sides[side], pure=False))
        return tuple(sum(p[i] for p in parts) for i in range(3))

    def half_step(self, side, other, current, solver, reg, cg_steps, sketch_size,
                  **options):
        [other_f, current_f] = self.client.scatter([other, current], broadcast=True, hash=False)
        futures = self.client.map(solve_block, self.sides[side], other=other_f,
                                  current=current_f, solver=solver, reg=reg,
                                  cg_steps=cg_steps, sketch_size=sketch_size, pure=False,
                                  **options)
        parts = self.client.gather(futures)
        out = _assemble([(p[0], p[1]) for p in parts], current.shape[0], current.shape[1])
        singular = sum(p[2] for p in parts)
        if "offset" in options:
            return out, singular, sum(p[3] for p in parts)
        return out, singular

    def sse(self, U, V) -> float:
        [U_f, V_f] = self.client.scatter([U, V], broadcast=True, hash=False)
        futures = self.client.map(block_sse, self.sides["rows"], own=U_f, other=V_f,
                                  pure=False)
        return float(sum(self.client.gather(futures)))

    def matvec(self, side, x):
        x_f = self.client.scatter(x, broadcast=True, hash=False)
        parts = self.client.gather(self.client.map(block_matvec, self.sides[side], x=x_f,
                                                   pure=False))
        n_rows = self.shape[0] if side == "rows" else self.shape[1]
        return _assemble(parts, n_rows, None)

    def close(self) -> None:
        for futures in self.sides.values():
            for f in futures:
                f.release()


def _blocks_from_frame(frame, key, other_key, n_side, n_other, per_block, sketch_seed,
                       sketch_size) -> list[Block]:
    """The blocks of one shuffled partition (each block's rows are all in it)."""
    from numlearn.completion._observations import check_observations

    out = []
    for block_id, part in frame.groupby("_block", sort=True):
        start = int(block_id) * per_block
        stop = min(start + per_block, n_side)
        obs = check_observations(
            (part[key].to_numpy() - start, part[other_key].to_numpy(),
             part["value"].to_numpy(), (stop - start, n_other)),
            name="observations",
        )
        layout = row_layout(obs.rows, obs.cols, obs.values, stop - start, obs.row_order)
        out.append(make_block(start, layout.indptr, layout.indices, layout.values, n_other,
                              sketch_seed, sketch_size))
    return out


def _pick(blocks: list[Block], i: int) -> Block:
    return blocks[i]


def _flatten_block_futures(client, group_futures) -> list[Any]:
    """Futures of single blocks from futures of per-partition block lists (the blocks stay
    on the workers that built them)."""
    counts = client.gather(client.map(len, group_futures, pure=False))
    return [client.submit(_pick, group, i, pure=False)
            for group, count in zip(group_futures, counts) for i in range(count)]
