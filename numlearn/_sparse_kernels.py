"""Numba kernel behind :func:`numlearn._validation.check_sparse_structure`.

A leaf module: one small pure function over the compressed arrays (``indptr``,
``indices``) of a CSR/CSC (or BSR) matrix, O(nnz), that never reads out of bounds
whatever the arrays hold.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["compressed_structure"]

#: Codes returned by :func:`compressed_structure`.
OK, BAD_START, NOT_MONOTONE, PAST_END, OUT_OF_RANGE = 0, 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def compressed_structure(indptr, indices, n_minor, want_order):
    """Check a compressed sparse structure; return ``(code, where, canonical)``.

    ``code`` is 0 when ``indptr`` starts at 0, never decreases, ends at most at
    ``len(indices)``, and every index ``indices[indptr[0]:indptr[-1]]`` lies in
    ``[0, n_minor)``; else 1 (``indptr[0] != 0``), 2 (``indptr`` decreases at ``where``),
    3 (``indptr[where]`` points past ``indices``) or 4 (``indices[where]`` is out of range).
    ``canonical`` says whether the indices of every row (column) are strictly increasing
    (sorted, no duplicates); it is only computed when ``want_order`` (an extra O(nnz)
    gather), else returned False. The caller checks ``len(indptr) >= 1`` first.
    """
    n_major = indptr.shape[0] - 1
    if indptr[0] != 0:
        return BAD_START, 0, False
    # indptr: monotone (a branch-free count first, the position only on failure)
    drops = 0
    for i in range(n_major):
        drops += indptr[i + 1] < indptr[i]
    if drops:
        for i in range(n_major):
            if indptr[i + 1] < indptr[i]:
                return NOT_MONOTONE, i + 1, False
    nnz = indptr[n_major]
    if nnz > indices.shape[0]:
        return PAST_END, n_major, False
    if nnz == 0:
        return OK, -1, True
    # indices: one vectorizable pass; a negative index becomes a huge unsigned one
    hi = np.uint64(indices[0])
    descents = 0
    if want_order:
        for k in range(1, nnz):
            j = indices[k]
            hi = max(hi, np.uint64(j))
            descents += indices[k - 1] >= j
    else:
        for k in range(1, nnz):
            hi = max(hi, np.uint64(indices[k]))
    if hi >= np.uint64(n_minor):
        for k in range(nnz):
            if indices[k] < 0 or indices[k] >= n_minor:
                return OUT_OF_RANGE, k, False
    if not want_order:
        return OK, -1, False
    # a descent at the first entry of a row is no disorder: take those away
    # (branch-free: the index is clamped into [1, nnz - 1], the test masks it; descents
    # is 0 when nnz is 1, so the clamp never reads past indices)
    if descents:
        last = max(nnz - 1, 1)
        for i in range(n_major):
            start = indptr[i]
            s = min(max(start, 1), last)
            descents -= (0 < start) & (start < indptr[i + 1]) & (indices[s - 1] >= indices[s])
    return OK, -1, descents == 0
