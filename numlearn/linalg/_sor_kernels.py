"""Numba kernels for SOR / SSOR sweeps and the SSOR preconditioner on CSR matrices.

All kernels work on the *scaled off-diagonal* form of ``A = D + L + U`` built once per
solve by :func:`sor_split`::

    B = ω D⁻¹ (L + U)        (CSR, diagonal removed)
    c = ω D⁻¹ b

so that an SOR update of row ``i`` is ``x_i ← (1 − ω) x_i + c_i − Σ_{j≠i} B_ij x_j``,
with no division in the row loop and no diagonal entries to read or skip (12 bytes per
row less than a sweep over ``A``; ``c`` replaces ``b``). Rows keep whatever column order
``A`` had, except that strictly lower entries come first (``bmid`` marks where the
upper ones start); sorted indices are not required.

Two details make the sweeps fast; both keep the kernels general CSR:

* **the loop-carried dependency is kept in a register.** ``x_i`` depends on ``x_{i−1}``
  (just written) whenever row ``i`` has an entry in column ``i − 1``, as every banded or
  stencil matrix does. Reading it back from memory puts a store-to-load forward on the
  critical path of every row; instead the kernels keep ``x_{i−1}`` in a register, skip
  that entry in the row loop and subtract its term last, so the rest of the row (all
  other entries, ``c_i`` and ``(1 − ω) x_i``) is computed off the critical path.
* **the residual is fused with the sweep.** :func:`sor_forward_residual` returns the exact
  ``‖b − A x_old‖²`` of the iterate the sweep *starts* from: for ``j > i`` the sweep reads
  ``x_j = x_j^old`` anyway, and for ``j < i`` it also reads ``x_j^old``, which it saved in
  ``xold`` when it overwrote ``x_j``. That costs one gather per lower-triangular entry
  and one store per row; no second pass over the matrix, and no symmetry assumption.
  The solver thus learns ``‖r_k‖`` during sweep ``k + 1`` and, if ``x_k`` had already
  converged, rolls back to ``x_k`` exactly (it is in ``xold``).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "sor_split",
    "sor_sweep_csr",
    "sor_backward_csr",
    "residual_norm_csr",
    "sor_solve_csr",
    "sor_forward",
    "sor_forward_residual",
    "sor_backward",
    "ssor_apply",
]


@numba.njit(cache=True)
def sor_split(indptr, indices, data, n, omega):
    """Split a CSR matrix into its diagonal and its ω-scaled off-diagonal part.

    Returns ``(diag, bptr, bmid, bind, bdata, bad_row)``: ``diag`` sums the diagonal
    entries of each row (duplicates included); ``(bptr, bind, bdata)`` is the CSR matrix
    ``B = ω D⁻¹ (A − D)`` without diagonal entries, each row holding its strictly lower
    entries (``bptr[i]:bmid[i]``) before its strictly upper ones (``bmid[i]:bptr[i+1]``),
    in ``A``'s order otherwise; ``bad_row`` is the first row whose diagonal is zero
    (``-1`` if none; ``bdata`` is then not meaningful).
    """
    diag = np.zeros(n)
    bptr = np.empty(n + 1, dtype=indptr.dtype)
    bmid = np.empty(n, dtype=indptr.dtype)
    bptr[0] = 0
    count = 0
    for i in range(n):
        n_lower = 0
        n_upper = 0
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            if j == i:
                diag[i] += data[jj]
            elif j < i:
                n_lower += 1
            else:
                n_upper += 1
        bmid[i] = count + n_lower
        count += n_lower + n_upper
        bptr[i + 1] = count
    bind = np.empty(count, dtype=indices.dtype)
    bdata = np.empty(count)
    bad_row = -1
    for i in range(n):
        d = diag[i]
        if d == 0.0:
            if bad_row < 0:
                bad_row = i
            d = 1.0
        scale = omega / d
        lo = bptr[i]
        up = bmid[i]
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            if j < i:
                bind[lo] = j
                bdata[lo] = scale * data[jj]
                lo += 1
            elif j > i:
                bind[up] = j
                bdata[up] = scale * data[jj]
                up += 1
    return diag, bptr, bmid, bind, bdata, bad_row


@numba.njit(cache=True)
def sor_forward(bptr, bind, bdata, c, x, w1):
    """One forward SOR sweep in place: ``x_i ← w1 x_i + c_i − Σ_j B_ij x_j``, i = 0..n−1.

    ``(bptr, bind, bdata)`` and ``c`` come from :func:`sor_split` (``B = ωD⁻¹(L+U)``,
    ``c = ωD⁻¹b``) and ``w1 = 1 − ω``.
    """
    n = c.shape[0]
    xprev = 0.0
    for i in range(n):
        s = c[i] + w1 * x[i]
        alast = 0.0  # coefficient of x_{i-1}: applied last, from a register
        for jj in range(bptr[i], bptr[i + 1]):
            j = bind[jj]
            if j == i - 1:
                alast += bdata[jj]
            else:
                s -= bdata[jj] * x[j]
        s -= alast * xprev
        x[i] = s
        xprev = s


@numba.njit(cache=True)
def sor_forward_residual(bptr, bind, bdata, c, dscale, omega, x, xold):
    """A forward SOR sweep that also returns ``‖b − A x_old‖²`` of the incoming ``x``.

    Updates ``x`` exactly as :func:`sor_forward` does (same operations, same rounding)
    and writes the incoming iterate into ``xold``. The residual of row ``i`` is
    ``dscale_i (c_i − Σ_j B_ij x_j^old − ω x_i^old)`` with ``dscale = D / ω``.
    """
    n = c.shape[0]
    w1 = 1.0 - omega
    xprev = 0.0  # new x_{i-1}
    xoprev = 0.0  # old x_{i-1}
    rr = 0.0
    for i in range(n):
        xi = x[i]
        ci = c[i]
        s = ci + w1 * xi
        t = ci - omega * xi
        alast = 0.0
        for jj in range(bptr[i], bptr[i + 1]):
            j = bind[jj]
            a = bdata[jj]
            if j < i:
                if j == i - 1:
                    alast += a
                else:
                    s -= a * x[j]
                    t -= a * xold[j]
            else:
                p = a * x[j]
                s -= p
                t -= p
        s -= alast * xprev
        t -= alast * xoprev
        r = dscale[i] * t
        rr += r * r
        xold[i] = xi
        x[i] = s
        xprev = s
        xoprev = xi
    return rr


@numba.njit(cache=True)
def sor_backward(bptr, bind, bdata, c, x, w1):
    """One backward SOR sweep in place (rows ``n−1`` down to ``0``), as :func:`sor_forward`."""
    n = c.shape[0]
    xprev = 0.0
    for i in range(n - 1, -1, -1):
        s = c[i] + w1 * x[i]
        alast = 0.0  # coefficient of x_{i+1}, just updated
        for jj in range(bptr[i], bptr[i + 1]):
            j = bind[jj]
            if j == i + 1:
                alast += bdata[jj]
            else:
                s -= bdata[jj] * x[j]
        s -= alast * xprev
        x[i] = s
        xprev = s


@numba.njit(cache=True)
def ssor_apply(bptr, bmid, bind, bdata, g, r, out):
    """Apply the SSOR preconditioner's inverse: ``out = M⁻¹ r``.

    With ``B = ωD⁻¹(L + U)`` from :func:`sor_split` (lower entries of each row before
    ``bmid``, upper ones after) and ``g = ω(2 − ω) / diag``,
    ``M⁻¹ = ω(2−ω) (D + ωU)⁻¹ D (D + ωL)⁻¹ = (I + ωD⁻¹U)⁻¹ (I + ωD⁻¹L)⁻¹ ω(2−ω) D⁻¹``:
    a forward substitution over the strictly lower entries, then a backward one over
    the strictly upper entries, in place in ``out``. Each pass reads only its half of
    ``B``, so the whole costs about one sweep.
    """
    n = r.shape[0]
    yprev = 0.0
    for i in range(n):
        s = g[i] * r[i]
        alast = 0.0  # coefficient of y_{i-1}, just computed: from a register
        for jj in range(bptr[i], bmid[i]):
            j = bind[jj]
            if j == i - 1:
                alast += bdata[jj]
            else:
                s -= bdata[jj] * out[j]
        s -= alast * yprev
        out[i] = s
        yprev = s
    zprev = 0.0
    for i in range(n - 1, -1, -1):
        s = out[i]
        alast = 0.0  # coefficient of z_{i+1}
        for jj in range(bmid[i], bptr[i + 1]):
            j = bind[jj]
            if j == i + 1:
                alast += bdata[jj]
            else:
                s -= bdata[jj] * out[j]
        s -= alast * zprev
        out[i] = s
        zprev = s
    return out


# --- sweeps directly on A's CSR arrays (no split): what short solves run -----------------
#
# Building B costs about two sweeps (a pass over A writing a second matrix), which a solve of
# one to ten sweeps cannot earn back. These kernels read A as given: each row sums its
# diagonal entries as it meets them (``d``), keeps ``a_{i,i−1}`` for last (the register trick
# above) and scales once per row with ``g = ω / d``, computed off the critical path. Iterates
# agree with the split kernels' up to rounding (about 1e-16 relative per sweep).


#: Codes of :func:`sor_sweep_csr` (with ``check``).
SWEEP_OK, BAD_STRUCTURE, NOT_FINITE = 0, 1, 2


@numba.njit(cache=True, error_model="numpy")  # ω/0 is checked after the sweep
def sor_sweep_csr(indptr, indices, data, b, x, xold, omega, residual, check):
    """One forward SOR sweep in place on ``A``'s CSR arrays, optionally fused with the
    residual of the incoming iterate and with the checks of the inputs.

    ``x_i ← (1 − ω) x_i + (ω / a_ii)(b_i − Σ_{j≠i} a_ij x_j)``, rows ``0 … n−1``; rows may
    hold their entries in any order, duplicates summed (as a canonical copy would).

    Returns ``(rr, bad_row, code)``:

    * ``rr`` is ``‖b − A x_old‖²`` of the incoming ``x`` (saved in ``xold``) when
      ``residual``, else ``Σ b_i²`` (read anyway: the initial residual of ``x = 0``;
      ``xold`` is then not touched). ``(A x_old)_i`` is summed in storage order, as
      SciPy's CSR product does, so an exactly zero residual is found exactly zero;
    * ``bad_row``: the first row whose diagonal is zero (``-1`` if none; ``x`` is then
      not meaningful);
    * ``code`` (only with ``check``; else 0): :data:`BAD_STRUCTURE` if ``indptr`` does not
      start at 0, decreases or points past ``indices``/``data``, or a column index is
      outside ``[0, n)`` (the sweep stops at that row before reading anything out of
      bounds, leaving ``x`` half swept); :data:`NOT_FINITE` if ``Σ_i (a_ii + Σ_j a_ij x_j
      + b_i) · 0`` is not zero: some entry of ``A`` or ``b`` is NaN or infinite, *or* a
      product overflowed (finite inputs of magnitude near 1e154 and more), which the
      caller tells apart with an exact check on this rare path; :data:`SWEEP_OK`
      otherwise.

    ``check`` thus costs an unsigned comparison per entry and a multiply-add per row in
    the sweep that reads every entry anyway, instead of separate passes over ``A`` and
    ``b``. ``len(indptr) == n + 1`` is the caller's to check. ``residual`` and ``check``
    are loop invariants: the compiled loop is as fast as a kernel without them (measured
    on 5-point stencils).
    """
    n = b.shape[0]
    w1 = 1.0 - omega
    limit = min(indices.shape[0], data.shape[0])
    un = np.uint64(n)
    xprev = 0.0
    rr = 0.0
    bad_row = -1
    probe = 0.0
    end = indptr[0]
    if check and end != 0:
        return rr, bad_row, BAD_STRUCTURE
    for i in range(n):
        start = end
        end = indptr[i + 1]
        if check and (end < start or end > limit):
            return rr, bad_row, BAD_STRUCTURE
        xi = x[i]
        d = 0.0
        t = 0.0  # Σ a_ij x_j over j ∉ {i, i−1}, new values below i
        ax = 0.0  # (A x_old)_i
        alast = 0.0  # coefficient of x_{i-1}: applied last, from a register
        for jj in range(start, end):
            j = indices[jj]
            if check and np.uint64(j) >= un:  # a negative j wraps to a huge one
                return rr, bad_row, BAD_STRUCTURE
            a = data[jj]
            if j == i:
                d += a
                if residual:
                    ax += a * xi
            elif j < i:
                if residual:
                    ax += a * xold[j]
                if j == i - 1:
                    alast += a
                else:
                    t += a * x[j]
            else:
                p = a * x[j]
                t += p
                if residual:
                    ax += p
        if d == 0.0 and bad_row < 0:
            bad_row = i
        g = omega / d
        bi = b[i]
        if residual:
            r = bi - ax
            rr += r * r
        else:
            rr += bi * bi
        if check:  # every entry of row i is in d, alast or (times a finite x_j) in t
            probe += (d + alast + t + bi) * 0.0
        s = w1 * xi + g * (bi - t)
        s -= (g * alast) * xprev
        if residual:
            xold[i] = xi
        x[i] = s
        xprev = s
    if check and probe != 0.0:
        return rr, bad_row, NOT_FINITE
    return rr, bad_row, SWEEP_OK


@numba.njit(cache=True, error_model="numpy")  # ω/0 is checked after the sweep
def sor_backward_csr(indptr, indices, data, b, x, omega):
    """One backward SOR sweep in place on ``A``'s CSR arrays (rows ``n−1`` down to ``0``)."""
    n = b.shape[0]
    w1 = 1.0 - omega
    xprev = 0.0
    for i in range(n - 1, -1, -1):
        d = 0.0
        t = 0.0
        alast = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            a = data[jj]
            if j == i:
                d += a
            elif j == i + 1:
                alast += a
            else:
                t += a * x[j]
        g = omega / d
        s = w1 * x[i] + g * (b[i] - t)
        s -= (g * alast) * xprev
        x[i] = s
        xprev = s


@numba.njit(cache=True)
def residual_norm_csr(indptr, indices, data, b, x):
    """``‖b − A x‖`` in one pass over ``A``'s CSR arrays (no temporary vector)."""
    n = b.shape[0]
    rr = 0.0
    for i in range(n):
        ax = 0.0  # summed as SciPy's CSR product does
        for jj in range(indptr[i], indptr[i + 1]):
            ax += data[jj] * x[indices[jj]]
        t = b[i] - ax
        rr += t * t
    return np.sqrt(rr)


@numba.njit(cache=True, error_model="numpy")  # ω/0 is checked after the sweep
def sor_solve_csr(indptr, indices, data, b, x, xold, omega, symmetric, check_every, rtol,
                  atol, divergence_factor, maxiter, x0_given, split_after, check_finite):
    """The whole SOR / SSOR iteration of :func:`numlearn.linalg.sor` from ``A``'s CSR arrays.

    Sweep 1 runs on ``A`` and yields ``‖r_0‖`` (``‖b‖`` for ``x0 = 0``, else fused with the
    sweep), so the threshold ``max(rtol ‖r_0‖, atol)`` costs nothing extra; ``x_k`` is
    checked during sweep ``k + 1`` for positive multiples ``k`` of ``check_every``, and on
    success or divergence ``x`` is rolled back to ``x_k`` (kept in ``xold``). With a zero
    threshold (``rtol = atol = 0``) the test can only hold for an exactly zero residual,
    and no residual is computed after ``r_0``: exactly ``maxiter`` sweeps run.

    The first ``split_after`` sweeps run on ``A``; if more than ``split_after`` may still
    be needed, ``B = ωD⁻¹(L+U)`` is built once (:func:`sor_split`, about two sweeps of
    work) and the rest run on it, about 20% faster per sweep on 5-point stencils (so the
    split pays for itself after about 8 sweeps).

    Sweep 1 also checks the inputs (:func:`sor_sweep_csr` with ``check``): ``A``'s CSR
    structure, that ``A`` has no zero diagonal entry and, with ``check_finite``, that
    ``A`` and ``b`` are finite, so the caller makes no pass over them of its own.

    Returns ``(k, ‖r_0‖, ‖r_k‖ or nan, code, bad_row)``: code 1 converged, 2 diverged, 0
    ``maxiter`` reached (residual of the last iterate not computed), 3 ``A`` or ``b`` may
    hold a NaN or an infinity (:data:`NOT_FINITE`: the caller checks which, or whether a
    product overflowed, and then calls again without ``check_finite``), 5 ``A``'s
    structure is malformed; ``bad_row ≥ 0`` means a zero diagonal entry in that row
    (nothing else is meaningful for codes 3 and 5 or ``bad_row ≥ 0``; ``x`` is then
    spoiled, the caller restores it).
    """
    n = b.shape[0]
    w1 = 1.0 - omega
    rr0, bad_row, check = sor_sweep_csr(indptr, indices, data, b, x, xold, omega, x0_given,
                                        True)
    if check == BAD_STRUCTURE:
        return 0, np.nan, np.nan, 5, -1
    if check == NOT_FINITE and check_finite:
        return 0, np.nan, np.nan, 3, bad_row
    if bad_row >= 0:
        return 0, np.nan, np.nan, 0, bad_row
    rnorm0 = np.sqrt(rr0)
    threshold = max(rtol * rnorm0, atol)
    if rnorm0 <= threshold:  # x_0 had converged: undo the sweep
        if x0_given:
            x[:] = xold
        else:
            x[:] = 0.0
        return 0, rnorm0, rnorm0, 1, -1
    divergence = divergence_factor * rnorm0
    checks = threshold > 0.0
    if symmetric:
        sor_backward_csr(indptr, indices, data, b, x, omega)
    k = 1
    # sweeps on A
    while k < maxiter and (k < split_after or maxiter - k <= split_after):
        if checks and k % check_every == 0:
            rr, _, _ = sor_sweep_csr(indptr, indices, data, b, x, xold, omega, True, False)
            rnorm = np.sqrt(rr)
            if rnorm <= threshold or not rnorm <= divergence:
                x[:] = xold
                return k, rnorm0, rnorm, 1 if rnorm <= threshold else 2, -1
        else:
            sor_sweep_csr(indptr, indices, data, b, x, xold, omega, False, False)
        if symmetric:
            sor_backward_csr(indptr, indices, data, b, x, omega)
        k += 1
    if k >= maxiter:
        return k, rnorm0, np.nan, 0, -1
    # the rest on B = ωD⁻¹(L+U)
    diag, bptr, bmid, bind, bdata, _ = sor_split(indptr, indices, data, n, omega)
    c = np.empty(n)
    dscale = np.empty(n)
    for i in range(n):
        c[i] = (omega * b[i]) / diag[i]
        dscale[i] = diag[i] / omega
    while k < maxiter:
        if checks and k % check_every == 0:
            rnorm = np.sqrt(sor_forward_residual(bptr, bind, bdata, c, dscale, omega, x, xold))
            if rnorm <= threshold or not rnorm <= divergence:
                x[:] = xold
                return k, rnorm0, rnorm, 1 if rnorm <= threshold else 2, -1
        else:
            sor_forward(bptr, bind, bdata, c, x, w1)
        if symmetric:
            sor_backward(bptr, bind, bdata, c, x, w1)
        k += 1
    return k, rnorm0, np.nan, 0, -1
