"""Numba kernel behind :func:`numlearn._validation.check_sparse_structure`.

A leaf module: one small pure function over the compressed arrays (``indptr``,
``indices``) of a CSR/CSC (or BSR) matrix, O(nnz), that never reads out of bounds
whatever the arrays hold.
"""

from __future__ import annotations

import numba

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
    (sorted, no duplicates); it is only computed when ``want_order``, else returned False.
    The caller checks ``len(indptr) >= 1`` first.

    Two loops, each reading its array once: one over ``indptr`` (monotone, and whether
    each row's first index descends from the previous row's last: reads clamped into
    ``indices``, so safe before ``indptr`` is known valid) and one flat, vectorizable
    pass over ``indices`` (range and descents). The entries' order is canonical when every
    descent of the flat pass is at a row start. The position of a failure is looked up
    only after a failure is known.
    """
    n_major = indptr.shape[0] - 1
    if indptr[0] != 0:
        return BAD_START, 0, False
    cap = indices.shape[0]
    drops = 0
    at_starts = 0  # descents at the first entry of a row (no disorder)
    if want_order and cap >= 2:
        last = cap - 1
        for i in range(n_major):
            start = indptr[i]
            stop = indptr[i + 1]
            drops += stop < start
            s = min(max(start, 1), last)  # in [1, cap - 1] whatever indptr holds
            at_starts += (0 < start) & (start < stop) & (indices[s - 1] >= indices[s])
    else:
        for i in range(n_major):
            drops += indptr[i + 1] < indptr[i]
    if drops:
        for i in range(n_major):
            if indptr[i + 1] < indptr[i]:
                return NOT_MONOTONE, i + 1, False
    nnz = indptr[n_major]
    if nnz > cap:
        return PAST_END, n_major, False
    if nnz == 0:
        return OK, -1, True
    # indices: one vectorizable pass in the index type (min and max: no widening)
    lo = indices[0]
    hi = indices[0]
    descents = 0
    if want_order:
        for k in range(1, nnz):
            j = indices[k]
            lo = min(lo, j)
            hi = max(hi, j)
            descents += indices[k - 1] >= j
    else:
        for k in range(1, nnz):
            j = indices[k]
            lo = min(lo, j)
            hi = max(hi, j)
    if lo < 0 or hi >= n_minor:
        for k in range(nnz):
            if indices[k] < 0 or indices[k] >= n_minor:
                return OUT_OF_RANGE, k, False
    if not want_order:
        return OK, -1, False
    return OK, -1, descents == at_starts
