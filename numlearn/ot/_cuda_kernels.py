"""Numba-CUDA twins of numlearn.ot's CPU kernels (log-sum-exp passes, top-k sparsifier).

This module imports ``numba.cuda`` at the top, so it is imported only by the launch
helpers of :mod:`numlearn.ot._kernels`, on first use: importing numlearn never touches
CUDA. Kernels are defined at module level (the CUDA simulator swaps the ``cuda`` global
of a kernel's module; a kernel defined inside a function would see the real module).

Layout choices (``M`` is row-major):

* Row log-sum-exp: **one block per row**. The block's threads stride along the row, so
  consecutive threads read consecutive addresses (coalesced); each thread keeps an online
  ``(max, sum)`` pair (one ``exp`` per entry, a rescale only when its max grows) and the
  pairs are combined by a shared-memory tree reduction (max first, then the sums rescaled
  to it). One thread per row would read ``M`` with a stride of a whole row between
  neighbouring threads (uncoalesced: ~1/16 of the bandwidth) and leave most of the GPU
  idle for a few thousand rows.
* Column log-sum-exp: **one thread per column and row chunk** (a 2-D grid). Neighbouring
  threads read neighbouring columns of the same row (coalesced); each keeps an online
  ``(max, sum)`` over its chunk of rows and writes it out; a second small kernel combines
  the chunks of each column. Chunking gives ``m · n / rows_per_chunk`` threads, enough to
  fill the GPU when ``m`` alone is not.
* Top-k sparsification: **one block per row**, in two kernels. ``topk_select_kernel``
  finds each row's cut-off value: the relative threshold ``threshold · max(row)`` when at
  most ``cap`` entries pass it, otherwise the ``cap``-th largest entry, found exactly by an
  MSD radix select on the bit patterns of the (non-negative) entries (8-bit digits, a
  256-bin shared histogram per pass); it also counts how many entries equal to the
  cut-off to keep (ties go to the lowest column indices, as on the CPU). After a prefix
  sum of the per-row counts, ``topk_fill_kernel`` writes the kept entries of each row in
  column order, by a block-wide prefix scan over chunks of the row.

All arithmetic is in float64 (the potentials are float64, as on the CPU); ``M`` may be
float32 or float64. Block sizes must be powers of two, at most :data:`MAX_THREADS`.
"""

import math

from numba import cuda

__all__ = [
    "MAX_THREADS",
    "row_lse_kernel",
    "col_lse_partial_kernel",
    "col_lse_combine_kernel",
    "topk_select_kernel",
    "topk_fill_kernel",
]

MAX_THREADS = 256  # size of the shared-memory scratch arrays (threads per block ≤ this)


@cuda.jit(device=True, inline=True)
def _lse_combine(m1, s1, m2, s2):
    """Combine two (max, sum of exp(x - max)) pairs; ``-inf`` maxima carry no mass."""
    if m2 == -math.inf:
        return m1, s1
    if m1 == -math.inf:
        return m2, s2
    if m2 > m1:
        return m2, s1 * math.exp(m1 - m2) + s2
    return m1, s1 + s2 * math.exp(m2 - m1)


@cuda.jit
def row_lse_kernel(M, f, g, inv_reg, out):
    """``out[i] = log Σ_j exp((f[i] + g[j] - M[i, j]) · inv_reg)``; one block per row."""
    smax = cuda.shared.array(MAX_THREADS, dtype="float64")
    ssum = cuda.shared.array(MAX_THREADS, dtype="float64")
    tid = cuda.threadIdx.x
    bd = cuda.blockDim.x
    n, m = M.shape
    for i in range(cuda.blockIdx.x, n, cuda.gridDim.x):
        fi = f[i]
        mx = -math.inf
        s = 0.0
        for j in range(tid, m, bd):
            v = (fi + g[j] - M[i, j]) * inv_reg
            if v > mx:
                s = s * math.exp(mx - v) + 1.0
                mx = v
            elif v != -math.inf:
                s += math.exp(v - mx)
        smax[tid] = mx
        ssum[tid] = s
        cuda.syncthreads()
        half = bd // 2
        while half > 0:
            if tid < half:
                mx, s = _lse_combine(smax[tid], ssum[tid], smax[tid + half], ssum[tid + half])
                smax[tid] = mx
                ssum[tid] = s
            cuda.syncthreads()
            half //= 2
        if tid == 0:
            mx = smax[0]
            out[i] = mx if mx == -math.inf else mx + math.log(ssum[0])
        cuda.syncthreads()  # smax/ssum are reused by the next row


@cuda.jit
def col_lse_partial_kernel(M, f, g, inv_reg, rows_per_chunk, pmax, psum):
    """Online ``(max, sum)`` of column ``j`` over row chunk ``k`` into ``pmax[k, j]``,
    ``psum[k, j]``; a 2-D grid (columns × chunks), one thread per (column, chunk)."""
    j, k = cuda.grid(2)
    n, m = M.shape
    if j < m and k < pmax.shape[0]:
        gj = g[j]
        mx = -math.inf
        s = 0.0
        stop = min(n, (k + 1) * rows_per_chunk)
        for i in range(k * rows_per_chunk, stop):
            v = (f[i] + gj - M[i, j]) * inv_reg
            if v > mx:
                s = s * math.exp(mx - v) + 1.0
                mx = v
            elif v != -math.inf:
                s += math.exp(v - mx)
        pmax[k, j] = mx
        psum[k, j] = s


@cuda.jit
def col_lse_combine_kernel(pmax, psum, out):
    """``out[j]``: the log-sum-exp of column ``j`` from its chunks' ``(max, sum)`` pairs."""
    j = cuda.grid(1)
    if j < out.shape[0]:
        mx = -math.inf
        s = 0.0
        for k in range(pmax.shape[0]):
            mx, s = _lse_combine(mx, s, pmax[k, j], psum[k, j])
        out[j] = mx if mx == -math.inf else mx + math.log(s)


@cuda.jit
def topk_select_kernel(Y, keys, threshold, cap, n_digits, tval, nties, counts):
    """Per row ``i`` of the non-negative ``Y``: the cut-off ``tval[i]``, the number of
    entries equal to it to keep ``nties[i]`` (the first ones in column order) and the
    number of kept entries ``counts[i]``; one block per row.

    ``keys`` is ``Y`` viewed as signed integers of the same width (int64 for float64, int32
    for float32): for non-negative floats their order is the order of the values.
    ``n_digits`` is the number of 8-bit digits of a key (8 or 4).
    """
    red = cuda.shared.array(MAX_THREADS, dtype="float64")
    cnt = cuda.shared.array(MAX_THREADS, dtype="int64")
    hist = cuda.shared.array(256, dtype="int64")
    choice = cuda.shared.array(2, dtype="int64")
    tid = cuda.threadIdx.x
    bd = cuda.blockDim.x
    n, m = Y.shape
    for i in range(cuda.blockIdx.x, n, cuda.gridDim.x):
        # the row's maximum
        mx = -math.inf
        for j in range(tid, m, bd):
            mx = max(mx, Y[i, j])
        red[tid] = mx
        cuda.syncthreads()
        half = bd // 2
        while half > 0:
            if tid < half:
                red[tid] = max(red[tid], red[tid + half])
            cuda.syncthreads()
            half //= 2
        thr = threshold * red[0]
        # how many entries pass the relative threshold
        c = 0
        for j in range(tid, m, bd):
            if Y[i, j] >= thr:
                c += 1
        cnt[tid] = c
        cuda.syncthreads()
        half = bd // 2
        while half > 0:
            if tid < half:
                cnt[tid] += cnt[tid + half]
            cuda.syncthreads()
            half //= 2
        kept = cnt[0]
        cuda.syncthreads()
        if kept <= cap:  # every entry >= thr is kept
            if tid == 0:
                tval[i] = thr
                nties[i] = m
                counts[i] = kept
            cuda.syncthreads()
            continue
        # MSD radix select of the cap-th largest key, 8 bits at a time
        prefix = 0
        rank = cap  # rank (from the top, 1-based) of the wanted key among the candidates
        for p in range(n_digits):
            shift = 8 * (n_digits - 1 - p)
            hi = shift + 8
            for d in range(tid, 256, bd):
                hist[d] = 0
            cuda.syncthreads()
            for j in range(tid, m, bd):
                key = keys[i, j]
                if p == 0 or (key >> hi) == (prefix >> hi):
                    cuda.atomic.add(hist, (key >> shift) & 255, 1)
            cuda.syncthreads()
            if tid == 0:
                above = 0
                d = 255
                while d > 0 and above + hist[d] < rank:
                    above += hist[d]
                    d -= 1
                choice[0] = d
                choice[1] = above
            cuda.syncthreads()
            prefix = prefix | (choice[0] << shift)
            rank -= choice[1]
            cuda.syncthreads()
        # rank is now the number of entries equal to the cut-off to keep
        for j in range(tid, m, bd):
            if keys[i, j] == prefix:
                red[0] = Y[i, j]  # all such entries are equal: any writer will do
        cuda.syncthreads()
        if tid == 0:
            tval[i] = red[0]
            nties[i] = rank
            counts[i] = cap
        cuda.syncthreads()


@cuda.jit(device=True, inline=True)
def _block_inclusive_scan(sh, tid, bd):
    """Hillis–Steele inclusive prefix sum of ``sh[:bd]`` in place (all threads call it)."""
    off = 1
    while off < bd:
        t = sh[tid - off] if tid >= off else 0
        cuda.syncthreads()
        sh[tid] += t
        cuda.syncthreads()
        off *= 2


@cuda.jit
def topk_fill_kernel(Y, tval, nties, indptr, indices, data):
    """Write row ``i``'s kept entries (``> tval[i]``, and the first ``nties[i]`` equal to
    it) in column order at ``indptr[i]`` of ``indices``/``data``; one block per row."""
    ties_sh = cuda.shared.array(MAX_THREADS, dtype="int64")
    keep_sh = cuda.shared.array(MAX_THREADS, dtype="int64")
    tid = cuda.threadIdx.x
    bd = cuda.blockDim.x
    n, m = Y.shape
    for i in range(cuda.blockIdx.x, n, cuda.gridDim.x):
        t = tval[i]
        limit = nties[i]
        pos = indptr[i]
        seen_ties = 0
        for base in range(0, m, bd):
            j = base + tid
            y = Y[i, j] if j < m else 0.0
            is_tie = 1 if (j < m and y == t) else 0
            ties_sh[tid] = is_tie
            cuda.syncthreads()
            _block_inclusive_scan(ties_sh, tid, bd)
            tie_rank = seen_ties + ties_sh[tid]  # 1-based rank of this tie in the row
            keep = 0
            if j < m and (y > t or (is_tie == 1 and tie_rank <= limit)):
                keep = 1
            keep_sh[tid] = keep
            cuda.syncthreads()
            _block_inclusive_scan(keep_sh, tid, bd)
            if keep == 1:
                q = pos + keep_sh[tid] - 1
                indices[q] = j
                data[q] = y
            seen_ties += ties_sh[bd - 1]
            pos += keep_sh[bd - 1]
            cuda.syncthreads()
