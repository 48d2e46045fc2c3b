"""Conjugate gradients for symmetric positive definite systems."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from numlearn._backend import get_namespace, is_numpy_namespace
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status
from numlearn._validation import (
    suggest_keywords,
    check_callable,
    check_operator,
    check_symmetric,
    check_scalar,
    check_vector,
)
from numlearn.linalg._cg_kernels import cg_direction, cg_update, csr_matvec_dot
from numlearn.linalg._operators import as_matvec

__all__ = ["cg"]


@suggest_keywords
def cg(
    A: Any,
    b: Any,
    *,
    x0: Any = None,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable | None = None,
    return_history: bool = False,
    verbose: int = 0,
) -> SolverResult:
    """Solve ``A x = b`` for symmetric positive definite ``A`` by conjugate gradients.

    The iterates are those of :func:`scipy.sparse.linalg.cg` (same recurrences, same
    stopping rule ``‖r_k‖ < max(atol, rtol ‖b‖)`` on the recursively updated residual),
    so results agree with SciPy's to rounding. For SciPy sparse matrices in float64 the
    iteration runs on fused Numba kernels: the sparse product is fused
    with ``pᵀAp`` and the vector updates with ``‖r‖²``.

    Parameters
    ----------
    A : array, scipy.sparse matrix or LinearOperator, shape (n, n)
        Symmetric positive definite operator. Dense arrays of any array-API namespace
        (e.g. CuPy) are used in their namespace. Symmetry is assumed, not checked.
    b : array, shape (n,)
        Right-hand side.
    x0 : array, shape (n,), optional
        Starting guess (zeros by default). It is not modified.
    rtol, atol : float, default 1e-5 and 0.0
        Stop when ``‖r_k‖ < max(atol, rtol ‖b‖)``.
    maxiter : int, optional
        Maximum number of iterations; ``10 n`` by default (as SciPy).
    M : array, sparse matrix, LinearOperator or callable, optional
        Preconditioner: applies an approximation of ``A⁻¹`` (SciPy's convention).
        Must be symmetric positive definite.
    callback : callable, optional
        Called as ``callback(xk)`` after every iteration. Raising ``StopIteration`` stops
        the solver (``status`` is then ``CALLBACK_STOP``).
    return_history : bool, default False
        Record ``‖r_k‖`` for every iteration in ``history`` (``history[0]`` is ``‖r_0‖``).
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every iteration.

    Returns
    -------
    SolverResult
        ``x`` (solution, on the input's device), ``n_iter``, ``converged``, ``status``,
        ``message``, ``residual_norm`` (``‖b - A x‖``, computed, when the recurrence
        met the tolerance; else the recurrence's ``‖r‖`` at exit) and, if requested,
        ``history``. Convergence is judged on the computed residual ``b - A x`` in the
        precision of ``x``: CG restarts from it (a few times, within ``maxiter``) when
        it disagrees with the recurrence; a tolerance beyond the reach of that precision
        gives ``converged=False`` with status ``STAGNATION``.

    Raises
    ------
    ValueError
        If ``A`` is not square, shapes disagree, inputs are not finite or tolerances
        are negative, or an explicit ``A`` or ``M`` (NumPy array, SciPy sparse matrix) is
        not symmetric (checked to the square root of its dtype's epsilon, about the cost
        of one product; LinearOperators and callables are trusted).
    TypeError
        If an argument has the wrong type.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached within ``maxiter`` iterations, or on breakdown
        (``pᵀAp ≤ 0``: ``A`` or ``M`` is not positive definite).

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving
       linear systems", J. Res. Nat. Bur. Standards 49 (1952).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from numlearn.linalg import cg
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> b = np.ones(50)
    >>> res = cg(A, b, rtol=1e-10)
    >>> res.converged, res.n_iter
    (True, 25)
    >>> bool(np.allclose(A @ res.x, b))
    True
    """
    A, (n, _) = check_operator(A, "A")
    check_symmetric(A, "A")
    xp = get_namespace(b, None if sp.issparse(A) else A)
    b = check_vector(b, "b", n, xp=xp)
    x = xp.zeros_like(b) if x0 is None else check_vector(x0, "x0", n, xp=xp, copy=True)
    rtol = check_scalar(rtol, "rtol", low=0.0)
    atol = check_scalar(atol, "atol", low=0.0)
    maxiter = 10 * n if maxiter is None else check_scalar(maxiter, "maxiter", kind=int, low=0)
    check_callable(callback, "callback", allow_none=True)
    psolve = None
    if M is not None:
        if hasattr(M, "shape") or not callable(M):
            M, shape = check_operator(M, "M")
            if shape != (n, n):
                raise ValueError(f"M must have shape ({n}, {n}), got {shape}.")
            check_symmetric(M, "M")
        psolve = as_matvec(M, xp)

    bnorm = float(xp.linalg.vector_norm(b))
    monitor = Monitor("cg", verbose=verbose, callback=callback, return_history=return_history)
    if bnorm == 0.0:  # the solution is 0 whatever x0 is (SciPy does the same)
        if monitor.history is not None:
            monitor.history.append(0.0)
        return monitor.result(Status.SUCCESS, n_iter=0, x=xp.zeros_like(b), residual_norm=0.0)
    fused = (
        sp.issparse(A)
        and is_numpy_namespace(xp)
        and A.dtype == np.float64
        and b.dtype == np.float64
        and x.dtype == np.float64
    )
    ops = _FusedCSROps(A) if fused else _GenericOps(as_matvec(A, xp), xp)
    return _cg_loop(ops, b, x, max(atol, rtol * bnorm), maxiter, psolve, monitor, xp)


class _FusedCSROps:
    """CG's three vector steps on a float64 CSR matrix, in place, with Numba kernels."""

    def __init__(self, A):
        A = A if A.has_sorted_indices else A.sorted_indices()
        self.A = A
        self.q = np.empty(A.shape[0])

    def residual(self, b, x):
        return b - self.A @ x

    def direction(self, p, z, beta):
        return cg_direction(p, z, beta)

    def matvec_dot(self, p):
        A = self.A
        return self.q, csr_matvec_dot(A.indptr, A.indices, A.data, p, self.q)

    def update(self, x, r, p, q, alpha):
        rr = cg_update(x, r, p, q, alpha)
        return x, r, math.sqrt(rr)


class _GenericOps:
    """CG's three vector steps written against the array namespace ``xp``."""

    def __init__(self, matvec, xp):
        self.matvec = matvec
        self.xp = xp

    def residual(self, b, x):
        return b - self.matvec(x)

    def direction(self, p, z, beta):
        return z + beta * p

    def matvec_dot(self, p):
        q = self.matvec(p)
        return q, float(self.xp.vecdot(p, q))

    def update(self, x, r, p, q, alpha):
        x = x + alpha * p
        r = r - alpha * q
        return x, r, float(self.xp.linalg.vector_norm(r))


#: Restarts from the true residual allowed when the recurrence's residual has met the
#: tolerance but ``b - A x`` has not (rounding: float32 data, ill-conditioning).
_MAX_RESTARTS = 3


def _cg_loop(ops, b, x, threshold, maxiter, psolve, monitor: Monitor, xp) -> SolverResult:
    """The CG recurrences of :func:`scipy.sparse.linalg.cg`, on the steps ``ops`` provides,
    with the shared :class:`~numlearn._monitor.Monitor` for history, progress, callback
    and the result.

    Convergence is judged on the true residual ``b - A x`` in the precision of ``x``: when
    the recurrence says converged and the true residual disagrees, CG restarts from it
    (at most ``_MAX_RESTARTS`` times, within ``maxiter`` in all); if the tolerance stays out
    of reach, the status is ``STAGNATION`` (not converged, with a warning).
    """
    r = ops.residual(b, x) if bool(xp.any(x != 0)) else xp.asarray(b, copy=True)
    rnorm = float(xp.linalg.vector_norm(r))
    if monitor.history is not None:
        monitor.history.append(rnorm)
    status = Status.SUCCESS if rnorm < threshold else Status.MAX_ITER
    k = 0
    restarts = 0
    while True:
        p = None
        rho_prev = 1.0
        k0 = k
        while status is Status.MAX_ITER and k < maxiter:
            if psolve is None:
                z, rho = r, rnorm * rnorm
            else:
                z = xp.reshape(xp.asarray(psolve(r)), (-1,))
                rho = float(xp.vecdot(r, z))
            if rho == 0.0:  # r = 0 exactly, or M r is orthogonal to r (M not definite)
                status = Status.SUCCESS if rnorm == 0.0 else Status.BREAKDOWN
                break
            p = xp.asarray(z, copy=True) if p is None else ops.direction(p, z, rho / rho_prev)
            q, pq = ops.matvec_dot(p)
            if not pq > 0.0:
                status = Status.BREAKDOWN if math.isfinite(pq) else Status.DIVERGED
                break
            x, r, rnorm = ops.update(x, r, p, q, rho / pq)
            rho_prev = rho
            k += 1
            monitor.record(rnorm, n_iter=k)
            if not math.isfinite(rnorm):
                status = Status.DIVERGED
            elif rnorm < threshold:
                status = Status.SUCCESS
            if monitor.notify(x):
                status = Status.CALLBACK_STOP if status is Status.MAX_ITER else status
                break
        if status is not Status.SUCCESS or k == k0:  # no step since r was last computed
            break
        r = ops.residual(b, x)  # the true residual judges convergence, not the recurrence
        rnorm = float(xp.linalg.vector_norm(r))
        if rnorm < threshold:
            break
        if k >= maxiter:
            status = Status.MAX_ITER
            break
        if restarts == _MAX_RESTARTS or not math.isfinite(rnorm):
            status = Status.STAGNATION if math.isfinite(rnorm) else Status.DIVERGED
            break
        restarts += 1
        status = Status.MAX_ITER
    monitor.finish(rnorm, n_iter=k)
    return monitor.result(status, n_iter=k, x=x, residual_norm=float(rnorm), stacklevel=4)
