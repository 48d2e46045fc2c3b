"""The Dask engine: row blocks of observations held by the workers of a
``dask.distributed`` cluster, each solved by the worker that holds it with the kernels of
the local engine (the :class:`~numlearn.completion._local_engine.BlockEngine` operations;
only the mapping over blocks differs), so its results equal the local engine's to rounding.
"""

from __future__ import annotations

import math
from typing import Any

from numlearn.completion._blocks import Block, make_block, split_layout
from numlearn.completion._local_engine import BlockEngine
from numlearn.completion._observations import check_observations, row_layout

__all__ = ["DaskEngine", "dask_client"]


class DaskEngine(BlockEngine):
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
        # hash=False: each engine owns its keys. With content-hashed keys, two engines on the
        # same data (a rerun, another solver) share the futures, and one engine's close()
        # released the other's blocks ("lost dependencies").
        sides = {
            "rows": client.scatter(split_layout(rows, n_blocks, n, sketch_seed, sketch_size),
                                   hash=False),
            "cols": client.scatter(split_layout(cols, n_blocks, m, sketch_seed, sketch_size),
                                   hash=False),
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

    def _map(self, fn, side, shared, **kwargs):
        names = list(shared)
        futures = (self.client.scatter([shared[k] for k in names], broadcast=True, hash=False)
                   if names else [])
        return self.client.gather(self.client.map(fn, self.sides[side], pure=False,
                                                  **dict(zip(names, futures)), **kwargs))

    def close(self) -> None:
        for futures in self.sides.values():
            for f in futures:
                f.release()


def _blocks_from_frame(frame, key, other_key, n_side, n_other, per_block, sketch_seed,
                       sketch_size) -> list[Block]:
    """The blocks of one shuffled partition (each block's rows are all in it)."""
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


def dask_client(client: Any) -> Any:
    try:
        from distributed import default_client
    except ImportError:
        raise ImportError("backend='dask' needs dask and distributed: "
                          "pip install 'numlearn[dask]'.") from None
    if client is None:
        try:
            return default_client()
        except ValueError:
            raise ValueError("backend='dask' needs a dask.distributed Client: pass client= "
                             "or create one first.") from None
    return client
