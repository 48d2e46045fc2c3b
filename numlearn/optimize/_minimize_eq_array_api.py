"""The sketched augmented-Lagrangian Newton method written against the array API.

The path :func:`numlearn.optimize.minimize_eq` takes when ``x0`` comes from another array
library than NumPy (CuPy on a GPU, ``array_api_strict`` in the tests). It runs the same
iterations as :mod:`numlearn.optimize._minimize_eq` -- Newton–KKT systems, the descent
test and penalty adaptation, the Armijo search on the exact augmented Lagrangian, the
rank and reduced-Hessian checks (``xp.linalg.svd``, ``qr``, ``eigvalsh``) -- with every
vector and matrix in the namespace of ``x0``:

* the callables ``fun``, ``jac``, ``hess`` / ``hessp`` and the constraint functions are
  called with arrays of that namespace and should return arrays of it (NumPy arrays and
  Python scalars are moved onto ``x0``'s device; SciPy or ``cupyx`` sparse matrices are
  made dense: this path forms the ``(n + m) × (n + m)`` KKT matrix densely);
* ``sketch="direct"`` solves the KKT systems with ``xp.linalg.solve`` (``xp.linalg.pinv``
  when ``G`` is rank deficient or ``solve`` fails);
* the sketches call :func:`~numlearn.linalg.sketch_and_project` with arrays of the
  namespace; it returns its iterate in that namespace (it currently computes on the host:
  the KKT matrix is copied there for each inner solve).

Everything is float64. ``x`` and ``v`` are returned in ``x0``'s namespace and device;
the scalar diagnostics are Python floats and ``history`` is a NumPy array. Given the same
``random_state``, the iterates equal those of the NumPy path up to rounding.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import NonlinearConstraint

from numlearn._backend import device_of
from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import (
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
    check_vector,
)
from numlearn.linalg import sketch_and_project
from numlearn.optimize._minimize_eq import (
    _NO_DESCENT_MESSAGE,
    _SINGULAR_MESSAGE,
    MINIMIZE_EQ_SKETCHES,
    _parse_constraints,
    _parse_options,
    _scalar,
    _scalar_or_nan,
)

__all__ = ["validate_array_api", "solve_array_api"]


# --------------------------------------------------------------------------------------
# conversions of the callables' outputs
# --------------------------------------------------------------------------------------
def _to_xp(value, xp, device):
    """``value`` (an array of ``xp``, NumPy, a scalar or a sparse matrix) as float64 ``xp``."""
    if sp.issparse(value):
        value = value.toarray()
    elif hasattr(value, "toarray") and not hasattr(value, "__array_namespace__"):
        value = value.toarray()  # cupyx.scipy.sparse
    if isinstance(value, np.ndarray) or not hasattr(value, "__array_namespace__"):
        return xp.asarray(np.asarray(value, dtype=np.float64), device=device)
    value = xp.asarray(value)
    return value if value.dtype == xp.float64 else xp.astype(value, xp.float64)


def _copy(x, xp):
    return xp.asarray(x, copy=True)


def _all_finite(a, xp) -> bool:
    return bool(xp.all(xp.isfinite(a)))


def _vec(value, n: int, name: str, xp, device, check: bool = True):
    arr = _to_xp(value, xp, device)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = xp.reshape(arr, (-1,))
    if arr.ndim == 0 and n == 1:
        arr = xp.reshape(arr, (1,))
    if tuple(arr.shape) != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {tuple(arr.shape)}.")
    if check and not _all_finite(arr, xp):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _mat(value, shape: tuple[int, int], name: str, xp, device, check: bool = True):
    M = _to_xp(value, xp, device)
    if M.ndim == 1 and shape[0] == 1:
        M = xp.reshape(M, (1, M.shape[0]))
    if tuple(M.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(M.shape)}.")
    if check and not _all_finite(M, xp):
        raise ValueError(f"{name} contains NaN or infinity.")
    return M


# --------------------------------------------------------------------------------------
# validation (the checks of ``_minimize_eq._validate``, in the namespace xp)
# --------------------------------------------------------------------------------------
def validate_array_api(fun, x0, jac, hess, hessp, constraints, lambda0, sketch, block_size,
                       tol, maxiter, superlinear, random_state, callback, options,
                       xp) -> dict:
    """Validate the arguments of :func:`minimize_eq` for an ``x0`` of namespace ``xp``."""
    fun = check_callable(fun, "fun")
    jac = check_callable(jac, "jac")
    hess = check_callable(hess, "hess", allow_none=True)
    hessp = check_callable(hessp, "hessp", allow_none=True)
    if hess is None and hessp is None:
        raise TypeError("minimize_eq needs second derivatives: pass hess or hessp.")
    shape = tuple(x0.shape)
    size = math.prod(shape) if shape else 1
    x = check_vector(x0, "x0", size, xp=xp)
    x = xp.astype(x, xp.float64, copy=True)
    device = device_of(x)
    n = x.shape[0]
    if n == 0:
        raise ValueError("x0 must have at least one entry.")
    cfun, cjac, chess = _parse_constraints(constraints)
    sketch = check_option(sketch, "sketch", MINIMIZE_EQ_SKETCHES)
    tol = check_scalar(tol, "tol", low=0.0, include_low=False)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0)
    if isinstance(superlinear, (bool, np.bool_)):
        rate = 1.0 if superlinear else 0.0
    else:
        rate = check_scalar(superlinear, "superlinear", low=0.0, include_low=False)
    callback = check_callable(callback, "callback", allow_none=True)
    opts = _parse_options(options)

    f0 = _scalar(_host_scalar(fun(_copy(x, xp))), "fun(x0)")
    g0 = _vec(jac(_copy(x, xp)), n, "jac(x0)", xp, device)
    c_raw = _to_xp(cfun(_copy(x, xp)), xp, device)
    c_raw = xp.reshape(c_raw, (-1,))
    m = c_raw.shape[0]
    if m == 0:
        raise ValueError("constraints must define at least one equality (m >= 1).")
    lb = constraints.lb if isinstance(constraints, NonlinearConstraint) else 0.0
    lb = np.broadcast_to(np.asarray(_host_array(lb), dtype=np.float64), (m,))
    if not np.all(np.isfinite(lb)):
        raise ValueError("constraints.lb must be finite.")
    c_offset = xp.asarray(np.array(lb), device=device)
    c0 = _vec(c_raw - c_offset, m, "constraints fun(x0)", xp, device)
    G0 = _mat(cjac(_copy(x, xp)), (m, n), "constraints jac(x0)", xp, device)
    if lambda0 is None:
        lam = xp.zeros((m,), dtype=xp.float64, device=device)
    else:
        if not hasattr(lambda0, "__array_namespace__"):
            lambda0 = xp.asarray(np.asarray(lambda0, dtype=np.float64), device=device)
        lam = xp.astype(check_vector(lambda0, "lambda0", m, xp=xp), xp.float64, copy=True)
    if block_size is None:
        block_size = min(n + m, 8) if sketch in ("countsketch", "sparse_sign") else 1
    block_size = check_scalar(block_size, "block_size", kind=int, low=1, high=n + m)
    return dict(fun=fun, jac=jac, hess=hess, hessp=hessp, cfun=cfun, cjac=cjac, chess=chess,
                c_offset=c_offset, x=x, lam=lam, n=n, m=m, f0=f0, g0=g0, c0=c0, G0=G0,
                sketch=sketch, block_size=block_size, tol=tol, maxiter=maxiter, rate=rate,
                rng=check_random_state(random_state), callback=callback, opts=opts,
                xp=xp, device=device)


def _host_scalar(value):
    """A 0-d array of any namespace (or a scalar) as something ``float`` accepts."""
    if hasattr(value, "__array_namespace__") and not isinstance(value, np.ndarray):
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    return value


def _host_array(value):
    if hasattr(value, "__array_namespace__") and not isinstance(value, np.ndarray):
        from numlearn._backend import to_numpy

        return to_numpy(value)
    return value


# --------------------------------------------------------------------------------------
# the algorithm
# --------------------------------------------------------------------------------------
class _Problem:
    """Evaluations with counters, and the iterate's cached first-order quantities."""

    def __init__(self, p: dict):
        self.p = p
        self.xp, self.device = p["xp"], p["device"]
        self.n, self.m = p["n"], p["m"]
        self.nfev = self.njev = 1
        self.nhev = 0
        self.cnfev = self.cnjev = 1
        self.cnhev = 0

    def point(self, x, lam, f=None, g=None, c=None, G=None) -> dict:
        """Function values at ``(x, λ)`` (evaluated unless given) and ``∇ₓL``."""
        p, xp, dev = self.p, self.xp, self.device
        if f is None:
            f = _scalar_or_nan(_host_scalar(p["fun"](_copy(x, xp))))
            self.nfev += 1
        if c is None:
            c = xp.reshape(_to_xp(p["cfun"](_copy(x, xp)), xp, dev), (-1,)) - p["c_offset"]
            self.cnfev += 1
        if g is None:
            g = xp.reshape(_to_xp(p["jac"](_copy(x, xp)), xp, dev), (-1,))
            self.njev += 1
        if G is None:
            G = xp.reshape(_to_xp(p["cjac"](_copy(x, xp)), xp, dev), (self.m, self.n))
            self.cnjev += 1
        grad_l = g + G.T @ lam
        return dict(x=x, lam=lam, f=f, g=g, c=c, G=G, grad_l=grad_l)

    def lagrangian_hessian(self, x, lam):
        p, xp, dev, n = self.p, self.xp, self.device, self.n
        if p["hess"] is not None:
            H = _mat(p["hess"](_copy(x, xp)), (n, n), "hess(x)", xp, dev, check=False)
            self.nhev += 1
        else:
            eye = xp.eye(n, dtype=xp.float64, device=dev)
            cols = [xp.reshape(_to_xp(p["hessp"](_copy(x, xp), _copy(eye[i, :], xp)), xp,
                                      dev), (-1,)) for i in range(n)]
            H = xp.stack(cols, axis=1)
            self.nhev += n
            H = 0.5 * (H + H.T)
        if p["chess"] is not None:
            Hc = _mat(p["chess"](_copy(x, xp), _copy(lam, xp)), (n, n),
                      "constraints hess(x, v)", xp, dev, check=False)
            self.cnhev += 1
            H = H + Hc
        return H


def _merit(pt: dict, mu: float, nu: float) -> float:
    c, gl = pt["c"], pt["grad_l"]
    return pt["f"] + float(pt["lam"] @ c) + 0.5 * mu * float(c @ c) + 0.5 * nu * float(gl @ gl)


def _kkt_norm(pt: dict, xp) -> float:
    return float(math.hypot(float(xp.linalg.vector_norm(pt["grad_l"])),
                            float(xp.linalg.vector_norm(pt["c"]))))


def _gershgorin_min(H, xp) -> float:
    d = xp.linalg.diagonal(H)
    off = xp.sum(xp.abs(H), axis=1) - xp.abs(d)
    return float(xp.min(d - off))


class _Checks:
    """Rank of ``G``, reduced-Hessian test and Hessian shift (as ``_minimize_eq._Checks``)."""

    def __init__(self, H, G, opts: dict, n: int, m: int, xp, device):
        self.xp = xp
        self.dense = n <= opts["dense_max"]
        self.xi_G = 1.0
        self.singular = False
        self.range_basis = None
        self._H = H
        self._h_norm = None
        tol = opts["reduced_hessian_tol"]
        lam_min = _gershgorin_min(H, xp)
        if self.dense:
            U, s, Vt = xp.linalg.svd(G, full_matrices=False)
            s_max = float(s[0]) if s.shape[0] else 0.0
            rank = int(xp.count_nonzero(s > opts["jacobian_rcond"] * s_max)) \
                if s_max > 0 else 0
            self.singular = rank < m
            self.range_basis = U[:, :rank]
            self.xi_G = float(s[m - 1] ** 2) if (m <= n and rank == m) else 0.0
            if lam_min < tol and rank < n:
                if rank:  # orthonormal basis Z of null(G)
                    Q, _ = xp.linalg.qr(Vt[:rank, :].T, mode="complete")
                    Z = Q[:, rank:]
                else:
                    Z = xp.eye(n, dtype=xp.float64, device=device)
                lam_min = float(xp.linalg.eigvalsh(Z.T @ H @ Z)[0])
            elif rank == n:
                lam_min = math.inf  # null(G) = {0}: nothing to check
        self.shift = 0.0
        if lam_min < tol:
            self.shift = opts["xi_B"] + self.h_norm

    @property
    def h_norm(self) -> float:
        """``‖∇²ₓL‖₂`` (dense problems) or an upper bound of it (large ones)."""
        if self._h_norm is None:
            xp, H = self.xp, self._H
            if self.dense:
                self._h_norm = float(xp.linalg.matrix_norm(H, ord=2))
            else:
                self._h_norm = float(xp.max(xp.sum(xp.abs(H), axis=1)))
        return self._h_norm


def _kkt_matrix(B, G, shift: float, xp, device):
    m, n = G.shape
    if shift:
        B = B + shift * xp.eye(n, dtype=xp.float64, device=device)
    top = xp.concat([B, G.T], axis=1)
    bottom = xp.concat([G, xp.zeros((m, m), dtype=xp.float64, device=device)], axis=1)
    return xp.concat([top, bottom], axis=0)


def _direct_solve(K, rhs, singular: bool, xp):
    """``K⁻¹ rhs`` by ``xp.linalg.solve``; the pseudo-inverse when ``K`` is singular."""
    if not singular:
        try:
            z = xp.linalg.solve(K, rhs[:, None])[:, 0]
            if _all_finite(z, xp):
                return z
        except Exception:  # LinAlgError of the namespace: exactly singular
            pass
    return xp.linalg.pinv(K) @ rhs


class _InnerSolver:
    """Warm-started sketch-and-project solves whose block grows when a solve stalls."""

    def __init__(self, sketch: str, block_size: int, opts: dict, size: int, rng, xp):
        self.sketch, self.rng, self.size, self.xp = sketch, rng, size, xp
        self.block_size = block_size
        cap = opts["max_block_size"]
        self.max_block = size if cap is None else max(min(cap, size), block_size)
        self.passes = opts["inner_max_passes"]
        self.n_inner = 0
        self.n_sketch_rows = 0

    def solve(self, K, rhs, z, target: float):
        xp = self.xp
        while True:
            maxiter = self.passes * math.ceil(self.size / self.block_size)
            kind = self.sketch
            if self.block_size >= self.size and kind in ("countsketch", "sparse_sign"):
                kind = "gaussian"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sketch_and_project(K, rhs, sketch=kind, block_size=self.block_size,
                                         x0=z, rtol=0.0, atol=max(target, 1e-300),
                                         maxiter=maxiter, random_state=self.rng)
            self.n_inner += res.n_iter
            self.n_sketch_rows += res.n_iter * self.block_size
            zx = xp.asarray(res.x)
            if _all_finite(zx, xp):
                z = zx
            if res.converged or self.block_size >= self.max_block:
                return z
            self.block_size = min(2 * self.block_size, self.max_block)


def solve_array_api(p: dict, progress: Progress) -> SolverResult:
    """Run :func:`minimize_eq` on the validated problem ``p`` in the namespace ``p["xp"]``."""
    xp, dev = p["xp"], p["device"]
    opts = p["opts"]
    rounding = 1e3 * float(np.finfo(np.float64).eps)
    prob = _Problem(p)
    n, m, rng = p["n"], p["m"], p["rng"]
    pt = prob.point(p["x"], p["lam"], f=p["f0"], g=p["g0"], c=p["c0"], G=p["G0"])
    mu, nu, delta = opts["mu0"], opts["nu0"], opts["delta0"]
    kkt = _kkt_norm(pt, xp)
    history = [kkt]
    n_iter, n_singular = 0, 0
    inner = _InnerSolver(p["sketch"], p["block_size"], opts, n + m, rng, xp)
    status, message = Status.MAX_ITER, None

    while True:
        if kkt <= p["tol"]:
            status = Status.SUCCESS
            break
        if n_iter >= p["maxiter"]:
            status = Status.MAX_ITER
            break
        x, lam, c, G, gl = pt["x"], pt["lam"], pt["c"], pt["G"], pt["grad_l"]
        H = prob.lagrangian_hessian(x, lam)
        checks = _Checks(H, G, opts, n, m, xp, dev)
        c_rhs = c
        if checks.singular:
            n_singular += 1
            if n_singular > opts["max_singular"]:
                status, message = Status.BREAKDOWN, _SINGULAR_MESSAGE
                break
            Ur = checks.range_basis
            c_rhs = Ur @ (Ur.T @ c)  # consistent KKT system: c projected on range(G)
        else:
            n_singular = 0
        K = _kkt_matrix(H, G, checks.shift, xp, dev)
        rhs = -xp.concat([gl, c_rhs])
        rhs_norm = float(xp.linalg.vector_norm(rhs))
        theta = min(1.0, kkt ** p["rate"]) if p["rate"] > 0 else 1.0
        if opts["accuracy_constant"] == "paper":
            b_norm = checks.h_norm + checks.shift
            psi = 20.0 * max(b_norm**2, 1.0) / (min(checks.xi_G, 1.0) * min(opts["xi_B"], 1.0)) \
                if checks.xi_G > 0 else math.inf
            const = float(xp.linalg.matrix_norm(K)) * psi
        else:
            const = opts["accuracy_constant"]

        z = xp.zeros((n + m,), dtype=xp.float64, device=dev)
        Gtc, H_gl, G_gl = G.T @ c, H @ gl, G @ gl
        slope = math.nan
        found = found_direct = False
        while True:
            target = theta * delta * rhs_norm / const
            if p["sketch"] == "direct":
                if not found_direct:  # the exact step does not depend on μ, ν, δ
                    z = _direct_solve(K, rhs, checks.singular, xp)
                    found_direct = True
            else:
                z = inner.solve(K, rhs, z, target)
            dx, dlam = z[:n], z[n:]
            slope = float((gl + mu * Gtc + nu * H_gl) @ dx + (c + nu * G_gl) @ dlam)
            if math.isfinite(slope) and slope <= -0.5 * nu * kkt**2:
                found = True
                break
            if mu >= opts["mu_max"] and nu <= opts["nu_min"]:
                break
            mu = min(mu * opts["rho"] ** 2, opts["mu_max"])
            nu = max(nu / opts["rho"], opts["nu_min"])
            delta = max(delta / opts["rho"], opts["delta_min"])
        if not found and not (math.isfinite(slope) and slope < 0):
            status, message = Status.STAGNATION, _NO_DESCENT_MESSAGE
            if checks.singular:
                status, message = Status.BREAKDOWN, _SINGULAR_MESSAGE
            break

        phi0 = _merit(pt, mu, nu)
        alpha, accepted = 1.0, None
        for _ in range(opts["max_backtracks"] + 1):
            trial = prob.point(x + alpha * dx, lam + alpha * dlam)
            phi = _merit(trial, mu, nu)
            if math.isfinite(phi) and phi <= phi0 + opts["armijo"] * alpha * slope:
                accepted = trial
                break
            if alpha == 1.0 and -slope <= rounding * (abs(phi0) + 1.0) and \
                    _kkt_norm(trial, xp) < kkt:
                accepted = trial
                break
            alpha *= 0.5
        n_iter += 1
        if accepted is None:
            status, message = Status.STAGNATION, _NO_DESCENT_MESSAGE
            if checks.singular:
                status, message = Status.BREAKDOWN, _SINGULAR_MESSAGE
            history.append(kkt)
            break
        pt = accepted
        kkt = _kkt_norm(pt, xp)
        history.append(kkt)
        progress.update(n_iter, kkt)
        if not math.isfinite(kkt):
            status = Status.DIVERGED
            break
        if p["callback"] is not None and kkt > p["tol"]:
            info = SolverResult(x=_copy(pt["x"], xp), v=_copy(pt["lam"], xp), fun=pt["f"],
                                kkt_norm=kkt, nit=n_iter)
            try:
                p["callback"](info)
            except StopIteration:
                status = Status.CALLBACK_STOP
                break

    progress.update(n_iter, kkt, final=True)
    result = make_result(
        status=status, n_iter=n_iter, x=_copy(pt["x"], xp), v=_copy(pt["lam"], xp),
        fun=float(pt["f"]), kkt_norm=kkt,
        constr_violation=float(xp.linalg.vector_norm(pt["c"])), nit=n_iter,
        nfev=prob.nfev, njev=prob.njev, nhev=prob.nhev, constr_nfev=prob.cnfev,
        constr_njev=prob.cnjev, constr_nhev=prob.cnhev, n_inner=inner.n_inner,
        n_sketch_rows=inner.n_sketch_rows, block_size=inner.block_size,
        history=np.asarray(history), mu=mu, nu=nu,
    )
    if message is not None:
        result["message"] = message
    result["success"] = result["converged"]
    return result
