"""The SOR iteration shared by the NumPy path (:mod:`numlearn.linalg.sor`) and the
multicolor path of other namespaces (:mod:`numlearn.linalg._sor_array_api`).

Everything except the sweeps is here, once: the operator check, the stopping rule
(``‖b − A x_k‖ ≤ max(rtol ‖b − A x_0‖, atol)`` checked every ``check_every`` sweeps, with
the check of ``x_k`` fused with sweep ``k + 1``), divergence, the callback, ``history``,
progress, and the result with its ConvergenceWarning. The sweeps come from an ``ops``
object of each path (see :func:`sor_iterations`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.linalg import LinearOperator

from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged

__all__ = ["DIVERGENCE_FACTOR", "reject_operator", "sor_iterations", "sor_result"]

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
                   callback, return_history, progress):
    """SOR / SSOR sweeps from ``x`` (initial residual norm ``rnorm0``) until the stopping
    rule holds, the iteration diverges, the callback stops it or ``maxiter`` sweeps.

    ``ops`` supplies, in the path's own layout of the vectors:

    * ``sweep(x, c, backward) -> x``: one forward (backward) sweep;
    * ``sweep_residual(x, c) -> (x_new, x_k, ‖b − A x_k‖)``: a forward sweep fused with the
      residual of the incoming ``x_k``, which it keeps (returned if ``x_k`` converged);
    * ``rnorm(x, c) -> ‖b − A x‖``; ``view(x)``: what the callback receives.

    Returns ``(x, n_iter, status, residual norm of x, history or None)``.
    """
    if not math.isfinite(rnorm0):
        raise ValueError("the initial residual b - A x0 is not finite (entries too large).")
    threshold = max(rtol * rnorm0, atol)
    history = [rnorm0] if return_history else None
    progress.update(0, rnorm0)
    if rnorm0 <= threshold:
        return x, 0, Status.SUCCESS, rnorm0, history
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
            progress.update(k, rnorm_k)
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
        if callback is not None:
            try:
                callback(view(x))
            except StopIteration:
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
    progress.update(k, rnorm, final=True)
    return x, k, status, rnorm, history


def sor_result(x, n_iter, status, rnorm, history, solver, stacklevel) -> SolverResult:
    """The SolverResult of :func:`sor_iterations`' output, warning if not converged
    (``stacklevel`` as given to :func:`~numlearn._result.warn_if_not_converged` here)."""
    result = make_result(status=status, n_iter=n_iter, x=x, residual_norm=float(rnorm))
    if history is not None:
        result.history = np.asarray(history, dtype=np.float64)
    warn_if_not_converged(result, solver, stacklevel=stacklevel)
    return result
