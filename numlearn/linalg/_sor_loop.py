"""The SOR iteration shared by the NumPy path (:mod:`numlearn.linalg.sor`) and the
multicolor path of other namespaces (:mod:`numlearn.linalg._sor_array_api`).

Everything except the sweeps is here, once: the operator check, the stopping rule
(``‖b − A x_k‖ ≤ max(rtol ‖b − A x_0‖, atol)`` checked every ``check_every`` sweeps, with
the check of ``x_k`` fused with sweep ``k + 1``) and divergence. The callback, ``history``,
progress and the result with its ConvergenceWarning are the shared
:class:`~numlearn._monitor.Monitor`'s. The sweeps come from an ``ops`` object of each path
(see :func:`sor_iterations`).
"""

from __future__ import annotations

import math

from scipy.sparse.linalg import LinearOperator

from numlearn._monitor import Monitor
from numlearn._result import Status

__all__ = ["DIVERGENCE_FACTOR", "reject_operator", "sor_iterations"]

# A residual this many times the initial one means the iteration diverges.
DIVERGENCE_FACTOR = 1e10


def reject_operator(A, accepted: str) -> None:
    """Raise ``TypeError`` for a LinearOperator or callable ``A`` (SOR needs its entries);
    ``accepted`` names what is accepted instead."""
    if isinstance(A, LinearOperator) or (callable(A) and not hasattr(A, "shape")):
        raise TypeError(
            f"A must be a dense array or {accepted} (SOR needs its entries), "
            f"got {type(A).__name__}."
        )


def sor_iterations(ops, x, c, rnorm0, *, rtol, atol, maxiter, check_every, symmetric,
                   monitor: Monitor):
    """SOR / SSOR sweeps from ``x`` (initial residual norm ``rnorm0``) until the stopping
    rule holds, the iteration diverges, the callback stops it or ``maxiter`` sweeps.

    ``ops`` supplies, in the path's own layout of the vectors:

    * ``sweep(x, c, backward) -> x``: one forward (backward) sweep;
    * ``sweep_residual(x, c) -> (x_new, x_k, ‖b − A x_k‖)``: a forward sweep fused with the
      residual of the incoming ``x_k``, which it keeps (returned if ``x_k`` converged);
    * ``rnorm(x, c) -> ‖b − A x‖``; ``view(x)``: what the callback receives.

    ``monitor`` (:class:`~numlearn._monitor.Monitor`) does the bookkeeping: progress
    reports, the callback (:meth:`~numlearn._monitor.Monitor.notify`) and ``history``.
    The residual of ``x_k`` is known only during sweep ``k + 1`` (or never, between
    checks), so the history gets a ``nan`` placeholder per sweep, filled in when that
    residual comes. Returns ``(x, n_iter, status, residual norm of x)``; the caller builds
    the result with :meth:`~numlearn._monitor.Monitor.result`.
    """
    if not math.isfinite(rnorm0):
        raise ValueError("the initial residual b - A x0 is not finite (entries too large).")
    threshold = max(rtol * rnorm0, atol)
    history = monitor.history
    if history is not None:
        history.append(rnorm0)
    monitor.report(0, rnorm0)
    if rnorm0 <= threshold:
        return x, 0, Status.SUCCESS, rnorm0
    divergence = DIVERGENCE_FACTOR * rnorm0
    k = 0
    rnorm = math.nan  # residual norm of the current x, when known
    status = Status.MAX_ITER
    sweep, sweep_residual, view = ops.sweep, ops.sweep_residual, ops.view
    while k < maxiter:
        if k > 0 and k % check_every == 0:
            # this sweep also yields ‖r_k‖, the residual of the incoming x_k
            x, x_k, rnorm_k = sweep_residual(x, c)
            if history is not None:
                history[k] = rnorm_k
            monitor.report(k, rnorm_k)
            if rnorm_k <= threshold:
                status = Status.SUCCESS
            elif not rnorm_k <= divergence:  # also catches nan / inf
                status = Status.DIVERGED
            if status is not Status.MAX_ITER:
                x, rnorm = x_k, rnorm_k  # return x_k itself, not the extra sweep's x_{k+1}
                break
        else:
            x = sweep(x, c, False)
        if symmetric:
            x = sweep(x, c, True)
        k += 1
        if history is not None:
            history.append(math.nan)
        if monitor.notify(view(x)):
            status = Status.CALLBACK_STOP
            break
    if status in (Status.MAX_ITER, Status.CALLBACK_STOP):
        # the residual of the last iterate is not known yet: one explicit product
        rnorm = ops.rnorm(x, c)
        if history is not None:
            history[k] = rnorm
        if rnorm <= threshold:
            status = Status.SUCCESS
        elif status is Status.MAX_ITER and not rnorm <= divergence:
            status = Status.DIVERGED
    monitor.finish(rnorm, n_iter=k)
    return x, k, status, rnorm
