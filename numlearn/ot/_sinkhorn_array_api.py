"""Sinkhorn (log-domain and scaling) written against the array API.

The path :func:`numlearn.ot.sinkhorn` takes when ``a``, ``b``, ``M`` come from another
array library than NumPy (CuPy on a GPU, ``array_api_strict`` in the tests). It runs the
same iterations, stopping rule, history, warnings and validation as the Numba path of
:mod:`numlearn.ot._sinkhorn`, with whole-matrix operations instead of fused kernels:

* ``sinkhorn_log``: the row and column log-sum-exp of ``(f_i + g_j - M_ij) / reg`` with
  the classic max shift (``xp.max``, ``xp.exp``, ``xp.log``, ``xp.sum``), exact at any
  ``reg``; it forms a few ``(n, m)`` float64 temporaries per half-step.
* ``sinkhorn``: the scaling iteration on the kernel ``exp(-M/reg)`` with two
  matrix-vector products per iteration (stored in ``M``'s dtype).

Potentials and weights are float64 (as on the NumPy path); ``plan``, ``f``, ``g`` are
returned in ``M``'s dtype, namespace and device; the scalar diagnostics are Python floats
and ``history`` is a NumPy array.
"""

from __future__ import annotations

import math

import numpy as np

from numlearn._backend import device_of, is_cupy_array
from numlearn._result import Status
from numlearn._validation import check_array, check_callable, check_scalar, check_vector
from numlearn.ot._sinkhorn import _check_masses, _finish, _Monitor, _weight_eps

__all__ = ["solve_array_api"]


# --------------------------------------------------------------------------------------
# validation (the checks of ``_check_problem`` / ``_check_init``, in the namespace xp)
# --------------------------------------------------------------------------------------
def _is_empty(w) -> bool:
    shape = getattr(w, "shape", None)
    if shape is not None:
        return len(shape) == 1 and shape[0] == 0
    return hasattr(w, "__len__") and len(w) == 0


def _check_weights(w, name, size, xp, device):
    if w is None or _is_empty(w):
        return xp.full((size,), 1.0 / size, dtype=xp.float64, device=device)
    if not hasattr(w, "__array_namespace__"):  # a list or tuple: onto M's device
        w = xp.asarray(w, device=device)
    w = xp.astype(check_vector(w, name, size, xp=xp), xp.float64)
    if bool(xp.any(w < 0)):
        raise ValueError(f"{name} must be non-negative; it has negative entries.")
    if not float(xp.sum(w)) > 0:
        raise ValueError(f"{name} must have a positive sum.")
    return w


def _check_problem(a, b, M, reg, xp):
    M = check_array(M, "M", ndim=2, xp=xp)
    if M.dtype not in (xp.float32, xp.float64):
        M = xp.astype(M, xp.float64)
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M must be non-empty, got shape {tuple(M.shape)}.")
    device = device_of(M)
    eps = _weight_eps(a, b)
    a = _check_weights(a, "a", n, xp, device)
    b = _check_weights(b, "b", m, xp, device)
    b = _check_masses(a, b, eps, xp)
    reg = check_scalar(reg, "reg", low=0.0, include_low=False)
    return a, b, M, reg


def _check_init(init, n, m, xp, device):
    if init is None:
        return (xp.zeros((n,), dtype=xp.float64, device=device),
                xp.zeros((m,), dtype=xp.float64, device=device))
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError("init must be a pair (f, g) of dual potentials.")
    out = []
    for k, size in enumerate((n, m)):
        v = init[k]
        if not hasattr(v, "__array_namespace__"):
            v = xp.asarray(v, device=device)
        out.append(xp.astype(check_vector(v, f"init[{k}]", size, xp=xp), xp.float64))
    return tuple(out)


# --------------------------------------------------------------------------------------
# iteration loops (on the support of a and b; float64 potentials, rebound not mutated)
# --------------------------------------------------------------------------------------
def _lse(Z, axis, xp):
    """Max-shifted log-sum-exp of ``Z`` along ``axis`` (``-inf`` for an all ``-inf`` line)."""
    mx = xp.max(Z, axis=axis, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    s = xp.sum(xp.exp(Z - mx), axis=axis)
    return xp.log(s) + xp.squeeze(mx, axis=axis)


def _exponent(M, f, g, inv_reg):
    return (f[:, None] + g[None, :] - M) * inv_reg


class GenericOps:
    """The whole-matrix kernels of the generic path, written against ``xp``.

    :class:`numlearn.ot._cuda_ops.CudaOps` has the same methods on Numba-CUDA kernels
    (chosen once, at the solver's entry, for CuPy inputs).
    """

    def __init__(self, xp):
        self.xp = xp

    def row_lse(self, M, f, g, inv_reg):
        """``log Σ_j exp((f_i + g_j - M_ij) · inv_reg)`` for every row (max-shifted)."""
        return _lse(_exponent(M, f, g, inv_reg), 1, self.xp)

    def col_lse(self, M, f, g, inv_reg):
        """``log Σ_i exp((f_i + g_j - M_ij) · inv_reg)`` for every column."""
        return _lse(_exponent(M, f, g, inv_reg), 0, self.xp)

    def sparsify(self, P, threshold, cap):
        """The SNS sparsifier of the plan ``P`` as a dense masked matrix (see
        :func:`numlearn.ot._kernels.row_topk_select` for the rule, ties included)."""
        from numlearn.ot._sns_array_api import DenseSparsified

        return DenseSparsified(P, threshold, cap, self.xp)


def _log_loop(M, a, b, reg, f, g, tol, max_iter, mon, xp, ops=None):
    """The log-domain loop of ``_sinkhorn_log_loop``: measure ``‖P1 - a‖₁``, then update."""
    ops = GenericOps(xp) if ops is None else ops
    inv_reg = 1.0 / reg
    log_a, log_b = xp.log(a), xp.log(b)
    err = math.inf
    status = Status.MAX_ITER
    for it in range(max_iter + 1):
        lr = ops.row_lse(M, f, g, inv_reg)
        if it > 0:  # the columns are exact only after a column update
            err = float(xp.sum(xp.abs(xp.exp(lr) - a)))
            verdict = mon.check(err, f, g, tol)
            if verdict is not None:
                status = verdict
                break
        if it >= max_iter:
            break
        f = f + reg * (log_a - lr)
        lc = ops.col_lse(M, f, g, inv_reg)
        g = g + reg * (log_b - lc)
    return status, err, f, g


def _scaling_loop(M, a, b, reg, f, g, tol, max_iter, mon, xp):
    """The scaling loop of ``_sinkhorn_scaling_loop`` (``DIVERGED`` on under/overflow)."""
    dtype = M.dtype
    Kmat = xp.exp(M * (-1.0 / reg))
    Kt = Kmat.T
    u = xp.astype(xp.exp(f / reg), dtype)
    v = xp.astype(xp.exp(g / reg), dtype)
    err = math.inf
    status = Status.MAX_ITER
    Kv = Kmat @ v
    for it in range(max_iter + 1):
        if it > 0:
            err = float(xp.sum(xp.abs(xp.astype(u, xp.float64) * Kv - a)))
            verdict = mon.check(err, f, g, tol)
            if verdict is not None:
                status = verdict
                break
        if it >= max_iter:
            break
        u_new = xp.astype(a / Kv, dtype)
        KTu = Kt @ u_new
        v_new = xp.astype(b / KTu, dtype)
        Kv_new = Kmat @ v_new
        ok = (xp.all(xp.isfinite(u_new) & (u_new > 0)) & xp.all(xp.isfinite(v_new) & (v_new > 0))
              & xp.all(xp.isfinite(Kv_new)))
        if not bool(ok):  # one device synchronization per iteration for all four tests
            status = Status.DIVERGED
            break
        u, v, Kv = u_new, v_new, Kv_new
        f = reg * xp.log(xp.astype(u, xp.float64))
        g = reg * xp.log(xp.astype(v, xp.float64))
    return status, err, f, g


# --------------------------------------------------------------------------------------
# support extraction and scatter back (take / where: no fancy assignment in the array API)
# --------------------------------------------------------------------------------------
def _support(mask, xp):
    return xp.nonzero(mask)[0]


def _expand(vs, mask, xp):
    """Scatter ``vs`` (values on ``mask``) into a full vector that is ``-inf`` off ``mask``."""
    pos = xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1
    pos = xp.clip(pos, 0, None) if vs.shape[0] > 0 else pos
    full = xp.take(vs, pos, axis=0)
    return xp.where(mask, full, xp.full_like(full, -math.inf))


def select_ops(M, xp):
    """The kernels for ``M``'s library, chosen once at the solver's entry: Numba-CUDA
    kernels (:class:`numlearn.ot._cuda_ops.CudaOps`) for CuPy arrays, whole-matrix ``xp``
    operations otherwise."""
    if is_cupy_array(M):
        from numlearn.ot._cuda_ops import CudaOps

        return CudaOps(xp)
    return GenericOps(xp)


def solve_array_api(a, b, M, reg, *, method, tol, max_iter, init, return_history, verbose,
                    callback, name, xp, sns_options=None, stacklevel=5, ops=None):
    """``_solve`` of :mod:`numlearn.ot._sinkhorn` for any method, in the namespace ``xp``.

    ``xp`` is the (non-NumPy) namespace of the inputs; ``stacklevel`` is that of the
    ConvergenceWarning (pointing at the user's call); ``ops`` overrides the kernels
    :func:`select_ops` would choose (the simulator tests pass ``CudaOps`` with NumPy).
    """
    a, b, M, reg = _check_problem(a, b, M, reg, xp)
    n, m = M.shape
    device = device_of(M)
    tol = check_scalar(tol, "tol", low=0.0)
    callback = check_callable(callback, "callback", allow_none=True)
    f, g = _check_init(init, n, m, xp, device)
    ops = select_ops(M, xp) if ops is None else ops
    sa, sb = a > 0, b > 0
    full = bool(xp.all(sa) & xp.all(sb))
    if full:
        Ms, a_s, b_s, fs, gs = M, a, b, f, g
    else:
        ia, ib = _support(sa, xp), _support(sb, xp)
        Ms = xp.take(xp.take(M, ia, axis=0), ib, axis=1)
        a_s, b_s = xp.take(a, ia, axis=0), xp.take(b, ib, axis=0)
        fs, gs = xp.take(f, ia, axis=0), xp.take(g, ib, axis=0)
    mon = _Monitor(name, verbose, callback, return_history)
    extra = {}
    # NumPy-backed namespaces (array_api_strict) would warn on exp overflow or a / 0 in a
    # diverging scaling iteration: the loops test for it themselves (no effect on CuPy).
    with np.errstate(all="ignore"):
        if method == "auto":  # resolved here: scaling while provably safe, SNS otherwise
            from numlearn.ot._sinkhorn import _scaling_is_safe

            phases = []
            if _scaling_is_safe(Ms, fs, gs, reg, xp):
                phases.append("scaling")
                f0, g0 = fs, gs
                status, err, fs, gs = _scaling_loop(Ms, a_s, b_s, reg, fs, gs, tol,
                                                    max_iter, mon, xp)
                if status is Status.DIVERGED:
                    fs, gs = f0, g0
            if not phases or status is Status.DIVERGED:
                from numlearn.ot._sns_array_api import sns_stages

                phases += ["log", "newton"]
                status, err, fs, gs, extra = sns_stages(Ms, a_s, b_s, reg, fs, gs, tol, mon,
                                                        xp, ops, sns_options)
            else:
                extra = dict(n_sinkhorn_iter=mon.n_iter, n_newton_iter=0)
            extra["phases"] = tuple(phases)
        elif method == "sinkhorn_log":
            status, err, fs, gs = _log_loop(Ms, a_s, b_s, reg, fs, gs, tol, max_iter, mon, xp,
                                            ops)
        elif method == "sinkhorn":
            status, err, fs, gs = _scaling_loop(Ms, a_s, b_s, reg, fs, gs, tol, max_iter, mon,
                                                xp)
        else:
            from numlearn.ot._sns_array_api import sns_stages

            status, err, fs, gs, extra = sns_stages(Ms, a_s, b_s, reg, fs, gs, tol, mon, xp,
                                                    ops, sns_options)
        mon.progress.update(mon.n_iter, err, final=True)
        if full:
            f, g = fs, gs
        else:
            f, g = _expand(fs, sa, xp), _expand(gs, sb, xp)
        # exp(-inf) = 0 off the support, so the full plan comes out in one pass
        plan = xp.astype(xp.exp(_exponent(M, f, g, 1.0 / reg)), M.dtype)
    if method not in ("sns", "auto"):
        extra = dict(n_sinkhorn_iter=mon.n_iter, n_newton_iter=0)
    return _finish(plan, f, g, a, b, M, xp, status=status, mon=mon, reg=reg, tol=tol,
                   method=method, name=name, stacklevel=stacklevel + 1, **extra)
