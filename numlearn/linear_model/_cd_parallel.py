"""Parallel coordinate descent for GPUs and other array-API namespaces.

:func:`~numlearn.linear_model.coordinate_descent` takes this path when ``X`` and ``y`` come
from another array library than NumPy: CuPy arrays or ``cupyx.scipy.sparse`` matrices on
a GPU, ``array_api_strict`` in the tests. Sequential coordinate descent (one coordinate,
then the residual update it needs, then the next) does not map to a GPU, so this path
updates **every coordinate at once** with a step that is safe for simultaneous updates.

Algorithm
---------
Fully parallel coordinate descent with an *expected separable overapproximation* (ESO)
step, accelerated. Write ``L_j`` for the coordinate Lipschitz constants of the datafit
(``‖X_j - m_j‖² / n`` for least squares, a quarter of it for the logistic loss, the same
``L_j`` as the sequential engine) and ``D = diag(L)``. All coordinates are updated
simultaneously by

    ``w_j ← prox_{g / (β L_j)}(v_j - ∂_j F(v) / (β L_j))``,

the parallel coordinate descent method of Richtárik and Takáč [1]_ with the sampling
``τ = p`` (every coordinate). Their ESO for that sampling is
``F(v + d) ≤ F(v) + ∇F(v)ᵀd + (β/2) Σ_j L_j d_j²`` with ``β = ω``, the largest number of
nonzeros in a row of ``X``; the smallest valid ``β`` is the largest eigenvalue of the
normalized Gram matrix ``D^{-1/2} X_cᵀ X_c D^{-1/2} / n`` (at most ``ω``, often far
smaller). It is estimated once by a few power iterations and made *safe* by
backtracking: after each step the inequality ``‖X_c d‖² / n ≤ β Σ_j L_j^{ls} d_j²``
(``L^{ls}`` the least-squares constants, so that for the logistic loss, whose curvature is
at most 1/4, it implies the ESO) is checked exactly on the ``X_c d`` the step needs
anyway, and ``β`` is multiplied by 1.5 until it holds. ``β`` only grows and is bounded
by 1.5 times the true constant, so there are finitely many backtracks.

Each step is therefore a proximal gradient step in the metric ``β D`` on a majorizer of
the objective: it never increases the objective, and the iteration converges to a
minimizer at the rate ``O(1/k)`` (Beck and Teboulle [2]_, in the metric ``β D``; linearly
under strong convexity). It is accelerated by Nesterov/FISTA extrapolation with the
function-value restart of O'Donoghue and Candès [3]_: when an extrapolated step would
increase the objective, the momentum is dropped and the plain (descent) step is taken
instead, so the objective decreases monotonically, as in monotone FISTA. The fixed
points are exactly the minimizers of ``F(Xw + b) + Σ g(w_j)`` — the same optimum as the
sequential engine — and the solver stops on the **same duality gap, with the same
formula and the same scaling of ``tol``** (``‖y_c‖²/n`` for least squares,
``log 2`` for the logistic loss; the largest KKT violation relative to its value at
``w = 0`` without penalty). One iteration touches every coordinate once, so ``n_iter``
counts epochs, as on the sequential path; the gap is checked after iterations 0, 1, 2, 4, 8
and then every 10 iterations (a check costs one more product ``X_cᵀ r``).

Intercept: least squares centres ``X`` and ``y`` implicitly (``X_c w = X w - m ᵀw``,
sparse stays sparse), exactly as the sequential engine. The logistic intercept ``b`` is
an extra coordinate of the parallel step (``L_b = 1/4``; ``X`` is centred implicitly, so
it does not interact with ``w`` in the ESO); at each gap check the gap is evaluated at
the best intercept for the current ``w`` (a few scalar Newton steps), as the sequential
engine does after every epoch, and that intercept is returned.

Work per iteration: one ``X_cᵀ v`` (the gradient at the extrapolated point), one
``X_c d`` (the state update and the ESO check) and O(n + p) vector operations; the
states (residual or margins) of the extrapolated points are linear combinations of
stored ones. The products go through the namespace (cuBLAS / cuSPARSE on CuPy). On CuPy
(dense and ``cupyx.scipy.sparse``) the fused per-coordinate step — gradient step, prox
(soft-thresholding and L2 shrinkage), the delta ``d`` and the block-reduced
``Σ L_j d_j²`` — is one Numba-CUDA kernel
(:func:`numlearn.linear_model._cuda_kernels.prox_step_kernel`, CPU twin
:func:`prox_step_cpu`); in other namespaces it is written with ``xp`` operations.

Supported: ``Quadratic``, ``Logistic`` and ``Multinomial`` datafits with ``L1``, ``L2``,
``ElasticNet`` or ``NoPenalty``, with or without intercept, dense or (CuPy) sparse ``X`` in
float32 or float64 (iterates and states are float64; the products run in ``X``'s
precision). ``Multinomial`` (softmax, coefficients ``(p, K)``) runs the same parallel step
on the rows ``W[j, :]`` with Böhning's bound ``L_j = ‖X_j - m_j‖² / (2 n)`` (the sequential
engine's constants), the intercepts as ``K`` extra coordinates, and its gap at the
Newton-optimal intercepts, as the sequential engine.

Options of the sequential engine that are inherently sequential raise ``ValueError``:
``selection`` other than the defaults ``"gsl"``/``"cyclic"`` (ignored: every coordinate is
updated at every iteration), ``block_size > 1``,
``update="newton"``, ``precompute=True``. ``working_set``, ``anderson``, ``screening`` and
``random_state`` are ignored (the method is deterministic and always works on all
coordinates). Lasso/elastic-net paths (:func:`~numlearn.linear_model.enet_path`) run it
alpha by alpha, warm-started.

References
----------
.. [1] P. Richtárik, M. Takáč, "Parallel coordinate descent methods for big data
   optimization", Math. Program. 156 (2016), 433-484 (Theorem 14: ESO of the
   ``τ``-nice sampling; ``τ = n`` gives ``β = ω``).
.. [2] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
   linear inverse problems", SIAM J. Imaging Sci. 2 (2009), 183-202.
.. [3] B. O'Donoghue, E. Candès, "Adaptive restart for accelerated gradient schemes",
   Found. Comput. Math. 15 (2015), 715-732.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import (
    device_of,
    get_namespace,
    is_cupy_array,
    is_cupy_sparse,
    is_numpy_namespace,
    numba_cuda_available,
    to_numpy,
)
from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import (
    check_array,
    check_sparse_structure,
    check_callable,
    check_option,
    check_scalar,
    check_vector,
)

__all__ = [
    "solve_parallel",
    "prox_step_cpu",
    "launch_prox_step_cuda",
    "CHECK_EVERY",
]

CHECK_EVERY = 10  # iterations between duality-gap checks
_SELECTIONS = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsq")
_TPB = 128  # threads per block of the CUDA step kernel (a power of two, <= 128)


# --------------------------------------------------------------------------------------
# which inputs take this path
# --------------------------------------------------------------------------------------
def _is_sparse(a) -> bool:
    """A ``cupyx.scipy.sparse`` matrix, or a SciPy one (only reached by direct calls of
    :func:`solve_parallel` with a NumPy-compatible ``xp``: the tests of the sparse code on
    the CPU; :func:`coordinate_descent` keeps SciPy inputs on the sequential engine)."""
    return is_cupy_sparse(a) or sp.issparse(a)


# --------------------------------------------------------------------------------------
# the fused step: CPU twin, CUDA launch, and the generic xp version
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def prox_step_cpu(v, g, lip, beta, l1, l2, keep, w_out, d_out):
    """CPU twin of the CUDA step kernel; returns ``Σ_j lip_j d_j²``.

    For every coordinate ``j`` with ``lip_j > 0``:
    ``w_j = prox(v_j - g_j / (β lip_j))`` for the penalty ``l1 |.| + l2 (.)² / 2`` at
    step ``1 / (β lip_j)`` (soft-thresholding, then shrinkage); coordinates with
    ``lip_j = 0`` (constant columns) go to 0, or stay at ``v_j`` when ``keep`` (no
    penalty). ``d = w - v``.
    """
    acc = 0.0
    for j in range(v.shape[0]):
        L = lip[j]
        vj = v[j]
        if L > 0:
            s = 1.0 / (beta * L)
            u = vj - s * g[j]
            a = abs(u) - s * l1
            if a > 0:
                wj = (a if u > 0 else -a) / (1.0 + s * l2)
            else:
                wj = 0.0
        elif keep:
            wj = vj
        else:
            wj = 0.0
        dj = wj - vj
        w_out[j] = wj
        d_out[j] = dj
        acc += L * dj * dj
    return acc


def launch_prox_step_cuda(v, g, lip, beta, l1, l2, keep, w_out, d_out, acc, *,
                          threads_per_block: int = _TPB):
    """Run :func:`numlearn.linear_model._cuda_kernels.prox_step_kernel` (one thread per
    coordinate); adds ``Σ lip_j d_j²`` into ``acc[0]`` (zero it first).

    Arrays may be NumPy (simulator), CuPy or Numba device arrays. ``threads_per_block``
    must be a power of two at most 128. The CUDA module is imported here, on first use.
    """
    from numlearn.linear_model._cuda_kernels import prox_step_kernel

    tpb = int(threads_per_block)
    if tpb < 1 or tpb > _TPB or tpb & (tpb - 1):
        raise ValueError(f"threads_per_block must be a power of two <= {_TPB}, got {tpb}.")
    blocks = max(1, (v.shape[0] + tpb - 1) // tpb)
    prox_step_kernel[blocks, tpb](v, g, lip, float(beta), float(l1), float(l2), bool(keep),
                                  w_out, d_out, acc)
    return acc


class _XpStep:
    """The fused step written with ``xp`` operations (any namespace)."""

    def __init__(self, xp, lip, keep):
        self.xp = xp
        self.lip = lip
        self.pos = lip > 0
        self.safe = xp.where(self.pos, lip, xp.ones_like(lip))
        self.keep = keep

    def __call__(self, v, g, beta, l1, l2):
        xp = self.xp
        s = 1.0 / (beta * self.safe)
        u = v - s * g
        a = xp.maximum(xp.abs(u) - s * l1, 0.0)
        w = xp.sign(u) * a / (1.0 + s * l2)
        w = xp.where(self.pos, w, v if self.keep else xp.zeros_like(v))
        d = w - v
        return w, d, float(xp.sum(self.lip * d * d))


class _CudaStep:
    """The fused step as one Numba-CUDA kernel launch (CuPy arrays, or the simulator)."""

    def __init__(self, xp, lip, keep, device=None):
        self.xp = xp
        self.lip = lip
        self.keep = keep
        self.device = device

    def __call__(self, v, g, beta, l1, l2):
        xp = self.xp
        if v.ndim == 2:  # multinomial rows: the kernel on the flattened (C-order) matrix
            shape = v.shape
            if getattr(self, "lip_flat", None) is None:
                ones = xp.ones((1, shape[1]), dtype=xp.float64, device=self.device)
                self.lip_flat = xp.reshape(xp.reshape(self.lip, (-1, 1)) * ones, (-1,))
            lip, self.lip = self.lip, self.lip_flat
            try:
                w, d, acc = self(xp.reshape(v, (-1,)), xp.reshape(g, (-1,)), beta, l1, l2)
            finally:
                self.lip = lip
            return xp.reshape(w, shape), xp.reshape(d, shape), acc
        w = xp.empty_like(v)
        d = xp.empty_like(v)
        acc = xp.zeros((1,), dtype=xp.float64, device=self.device)
        p = int(v.shape[0])
        tpb = min(_TPB, 1 << max(0, (p - 1).bit_length()))
        launch_prox_step_cuda(v, g, self.lip, beta, l1, l2, self.keep, w, d, acc,
                              threads_per_block=tpb)
        return w, d, float(acc[0])


# --------------------------------------------------------------------------------------
# the design matrix (dense xp array or cupyx sparse), implicitly centred
# --------------------------------------------------------------------------------------
class _Design:
    def __init__(self, X, xp, center):
        self.X = X
        self.xp = xp
        self.sparse = _is_sparse(X)
        self.n, self.p = (int(s) for s in X.shape)
        self.dtype = X.dtype
        self.device = device_of(X.data if self.sparse else X)
        self.center = center
        n = self.n
        if self.sparse:  # column sums as products with ones: 1-D in CuPy and SciPy alike
            ones = xp.ones((n,), dtype=X.dtype, device=self.device)
            colsum = xp.astype(X.T @ ones, xp.float64)
            sq = xp.astype(X.multiply(X).T @ ones, xp.float64)
        else:
            colsum = xp.sum(X, axis=0, dtype=xp.float64)
            sq = xp.sum(X * X, axis=0, dtype=xp.float64)
        self.mean = colsum / n if center else None
        if center:
            sq = xp.maximum(sq - n * self.mean * self.mean, 0.0)
        self.sq = sq  # ‖X_j - m_j‖²
        self.n_products = 0  # products with X or Xᵀ (each one pass over X)

    def matvec(self, w):
        """``X_c w`` in float64 (``w`` a vector or a (p, K) matrix)."""
        xp = self.xp
        self.n_products += 1
        out = self.X @ xp.astype(w, self.dtype)
        if w.ndim == 1:
            out = xp.reshape(out, (-1,))
        out = xp.astype(out, xp.float64)
        if self.center:  # 0-d / 1-d arrays: no device synchronization
            if w.ndim == 1:
                out = out - xp.sum(self.mean * w)
            else:
                out = out - xp.sum(xp.reshape(self.mean, (-1, 1)) * w, axis=0)
        return out

    def rmatvec(self, v):
        """``X_cᵀ v`` in float64 (``v`` a vector or an (n, K) matrix)."""
        xp = self.xp
        self.n_products += 1
        out = self.X.T @ xp.astype(v, self.dtype)
        if v.ndim == 1:
            out = xp.reshape(out, (-1,))
        out = xp.astype(out, xp.float64)
        if self.center:
            if v.ndim == 1:
                out = out - self.mean * xp.sum(v)
            else:
                out = out - xp.reshape(self.mean, (-1, 1)) * xp.sum(v, axis=0)
        return out


def _check_data(X, y, xp, y_float=True):
    if _is_sparse(X):
        if len(X.shape) != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}.")
        if X.dtype.kind not in "fiub":
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}.")
        if sp.issparse(X):  # SciPy: structure checked, duplicates summed (on a copy)
            X = check_sparse_structure(X, "X", format=None)
        elif X.format not in ("csr", "csc"):
            X = X.tocsr()
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if not bool(xp.all(xp.isfinite(X.data))):
            raise ValueError("X contains NaN or infinity; all entries must be finite.")
        device = device_of(X.data)
    else:
        if not hasattr(X, "__array_namespace__"):
            raise TypeError(
                f"X must be an array of the namespace of y ({xp.__name__}), got "
                f"{type(X).__name__}.")
        X = check_array(X, "X", ndim=2, xp=xp)
        device = device_of(X)
    n, p = (int(s) for s in X.shape)
    if n == 0 or p == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}.")
    if not hasattr(y, "__array_namespace__") or is_numpy_namespace(get_namespace(y)):
        y = xp.asarray(np.asarray(to_numpy(y) if hasattr(y, "__array_namespace__") else y),
                       device=device)
    if y_float:
        return X, xp.astype(check_vector(y, "y", n, xp=xp), xp.float64)
    # labels: any real or integer dtype, kept
    if y.ndim == 2 and y.shape[1] == 1:
        y = xp.reshape(y, (-1,))
    if y.ndim != 1 or int(y.shape[0]) != n:
        raise ValueError(f"y must be a vector of length {n}, got shape {tuple(y.shape)}.")
    if xp.isdtype(y.dtype, "real floating") and not bool(xp.all(xp.isfinite(y))):
        raise ValueError("y contains NaN or infinity; all entries must be finite.")
    return X, y


# --------------------------------------------------------------------------------------
# datafit pieces in xp (the formulas of datafits.py / _Problem.gap)
# --------------------------------------------------------------------------------------
def _sigmoid(xp, t):
    e = xp.exp(-xp.abs(t))
    return xp.where(t >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _xlogx(xp, s):
    pos = s > 0
    return xp.where(pos, s * xp.log(xp.where(pos, s, xp.ones_like(s))), xp.zeros_like(s))


class _Model:
    """Problem data and the quantities of an iterate, in the namespace ``xp``."""

    def __init__(self, A, y, xp, kind, penalty, fit_intercept, n_classes=0):
        self.A = A
        self.xp = xp
        self.n, self.p = A.n, A.p
        self.kind = kind
        quadratic = self.quadratic = kind == "quadratic"
        self.multinomial = kind == "multinomial"
        self.penalty = penalty
        self.l1, self.l2 = float(penalty.l1), float(penalty.l2)
        self.fit_intercept = fit_intercept
        self.has_b = fit_intercept and not quadratic
        if self.multinomial:  # y holds class indices: one-hot Y (n, K)
            self.K = n_classes
            classes = xp.reshape(xp.arange(n_classes, dtype=xp.float64, device=A.device),
                                 (1, -1))
            self.Y = xp.astype(xp.reshape(y, (-1, 1)) == classes, xp.float64)
        if quadratic and fit_intercept:
            self.y_offset = float(xp.mean(y))
            self.y = y - self.y_offset
        else:
            self.y_offset = 0.0
            self.y = y
        self.lip_ls = A.sq / self.n  # least-squares constants (the ESO check)
        # curvature bounds: 1 (least squares), 1/4 (logistic), 1/2 (softmax, Böhning)
        self.factor = {"quadratic": 1.0, "logistic": 0.25, "multinomial": 0.5}[kind]
        self.lip = self.lip_ls * self.factor
        # the step's constants, per coefficient (a column for the (p, K) multinomial rows)
        self.lip_step = xp.reshape(self.lip, (-1, 1)) if self.multinomial else self.lip
        if quadratic:
            self.scale = float(xp.sum(self.y * self.y)) / self.n
        else:
            self.scale = float(np.log(n_classes if self.multinomial else 2.0))

    def zero_b(self):
        """The intercept at 0: a float, or shape (K,) for the multinomial."""
        if self.multinomial:
            return self.xp.zeros((self.K,), dtype=self.xp.float64, device=self.A.device)
        return 0.0

    # state: residual y_c - X_c w (least squares) or margins X_c w + b (logistic, softmax)
    def state(self, w, b=0.0):
        z = self.A.matvec(w)
        return self.y - z if self.quadratic else z + b

    def _softmax(self, s):
        xp = self.xp
        e = xp.exp(s - xp.max(s, axis=1, keepdims=True))
        return e / xp.sum(e, axis=1, keepdims=True)

    def raw_grad(self, s):
        """Gradient of the datafit with respect to the predictor, from the state."""
        if self.quadratic:
            return -s / self.n
        if self.multinomial:
            return (self._softmax(s) - self.Y) / self.n
        y = self.y
        return -y * _sigmoid(self.xp, -y * s) / self.n

    def grad_b(self, raw):
        """Gradient with respect to the intercept(s)."""
        if self.multinomial:
            return self.xp.sum(raw, axis=0)
        return float(self.xp.sum(raw))

    def loss(self, s):
        xp = self.xp
        if self.quadratic:
            return 0.5 * float(xp.sum(s * s)) / self.n
        if self.multinomial:
            zmax = xp.max(s, axis=1, keepdims=True)
            lse = xp.log(xp.sum(xp.exp(s - zmax), axis=1)) + zmax[:, 0]
            return float(xp.mean(lse - xp.sum(s * self.Y, axis=1)))
        return float(xp.mean(xp.logaddexp(xp.zeros_like(s), -self.y * s)))

    def pen_value(self, w):
        xp = self.xp
        return (self.l1 * float(xp.sum(xp.abs(w)))
                + 0.5 * self.l2 * float(xp.sum(w * w)))

    def objective(self, s, w):
        """Datafit + penalty; one device synchronization for the least-squares and
        logistic losses (the scalars are combined on the device)."""
        xp = self.xp
        if self.multinomial:
            return self.loss(s) + self.pen_value(w)
        if self.quadratic:
            loss = 0.5 * xp.sum(s * s) / self.n
        else:
            loss = xp.mean(xp.logaddexp(xp.zeros_like(s), -self.y * s))
        pen = self.l1 * xp.sum(xp.abs(w)) + 0.5 * self.l2 * xp.sum(w * w)
        return float(loss + pen)

    def kkt_max(self, w, grad):
        """Largest ``dist(-grad_j, ∂g(w_j))`` (penalty.subdiff_distance)."""
        xp = self.xp
        gt = grad + self.l2 * w
        viol = xp.where(w != 0, xp.abs(gt + self.l1 * xp.sign(w)),
                        xp.maximum(xp.abs(gt) - self.l1, 0.0))
        return float(xp.max(viol))

    def best_intercept(self, s, b):
        """Newton steps with halving on the logistic intercept (as _Problem.update_intercept);
        returns the shifted margins and the intercept."""
        xp = self.xp
        if self.multinomial:
            return self._best_intercepts(s, b)
        y = self.y
        f0 = self.loss(s)
        for _ in range(20):
            sig = _sigmoid(xp, -y * s)  # σ(-y z)
            g = -float(xp.sum(y * sig)) / self.n
            h = float(xp.sum(sig * (1.0 - sig))) / self.n
            step = -g / max(h, 1e-12)
            for _ in range(30):
                f1 = self.loss(s + step)
                if f1 <= f0 + 0.25 * g * step:
                    break
                step *= 0.5
            else:
                break
            s = s + step
            f0 = f1
            b += step
            if abs(step) <= 1e-12 * (1.0 + abs(b)):
                break
        return s, b

    def _best_intercepts(self, S, b):
        """Newton steps on the multinomial intercepts (pseudo-inverse of the K×K Hessian,
        singular along the all-ones direction), as ``_MultinomialProblem.update_intercept``."""
        xp = self.xp
        n = self.n
        f0 = self.loss(S)
        for _ in range(20):
            P = self._softmax(S)
            g = xp.sum(P - self.Y, axis=0) / n
            if float(xp.max(xp.abs(g))) < 1e-14:
                break
            H = (_diag(xp, xp.sum(P, axis=0)) - xp.permute_dims(P, (1, 0)) @ P) / n
            step = -(xp.linalg.pinv(H, rtol=1e-12) @ g)
            gstep = float(xp.sum(g * step))
            for _ in range(30):
                f1 = self.loss(S + step)
                if f1 <= f0 + 0.25 * gstep:
                    break
                step = 0.5 * step
                gstep *= 0.5
            else:
                break
            S = S + step
            b = b + step
            f0 = f1
            if float(xp.max(xp.abs(step))) <= 1e-12 * (1.0 + float(xp.max(xp.abs(b)))):
                break
        return S, b

    def conj_pen(self, v):
        xp = self.xp
        excess = xp.maximum(xp.abs(v) - self.l1, 0.0)
        if self.l2 > 0:
            return float(xp.sum(excess * excess)) / (2 * self.l2)
        return 0.0 if not bool(xp.any(excess > 1e-12 * max(self.l1, 1.0))) else float("inf")

    def gap(self, s, w, grad):
        """Duality gap (absolute), the formulas of ``_Problem.gap``."""
        xp = self.xp
        l1, l2 = self.l1, self.l2
        n = self.n
        if self.quadratic:
            r2 = float(xp.sum(s * s)) / n
            ry = float(xp.sum(s * self.y)) / n
            v = -grad - l2 * w
            w2 = float(xp.sum(w * w))
            if l1 > 0:
                dual_norm = float(xp.max(xp.abs(v)))
                if dual_norm > l1:
                    const = l1 / dual_norm
                    gap = 0.5 * (r2 + r2 * const**2)
                else:
                    const = 1.0
                    gap = r2
                gap += (l1 * float(xp.sum(xp.abs(w))) - const * ry
                        + 0.5 * l2 * (1 + const**2) * w2)
                return max(gap, 0.0)
            dual = -0.5 * r2 + ry - self.conj_pen(-grad)
            return max(self.objective(s, w) - dual, 0.0)
        primal = self.objective(s, w)
        theta = -self.raw_grad(s)
        v = -grad
        if l2 == 0:
            vmax = float(xp.max(xp.abs(v)))
            if vmax > l1:
                theta = theta * (l1 / vmax)
                v = v * (l1 / vmax)
        if self.multinomial:  # F*(-θ) = Σ q log q / n with q = Y - n θ
            q = xp.clip(self.Y - n * theta, 0.0, 1.0)
            conj = float(xp.sum(_xlogx(xp, q))) / n
        else:
            q = xp.clip(n * theta * self.y, 0.0, 1.0)
            conj = float(xp.sum(_xlogx(xp, q) + _xlogx(xp, 1.0 - q))) / n
        dual = -conj - self.conj_pen(v)
        return max(primal - dual, 0.0)


def _diag(xp, d):
    """``diag(d)`` (not in the array API): ``d`` times the identity."""
    k = d.shape[0]
    return xp.eye(k, dtype=d.dtype, device=device_of(d)) * xp.reshape(d, (1, k))


def _sumsq(xp, a):
    return a * a if isinstance(a, float) else float(xp.sum(a * a))


def _eso_beta(model, xp, device, n_power=8):
    """Power-iteration estimate of ``λ_max(D^{-1/2} X_cᵀX_c D^{-1/2} / n)`` (``D`` the
    least-squares constants); a lower bound, made safe by the backtracking of the solver."""
    A = model.A
    pos = model.lip_ls > 0
    inv = xp.where(pos, 1.0 / xp.sqrt(xp.where(pos, model.lip_ls, xp.ones_like(model.lip_ls))),
                   xp.zeros_like(model.lip_ls))
    if not bool(xp.any(pos)):
        return 1.0
    u = xp.asarray(np.random.default_rng(0).standard_normal(model.p), device=device)
    u = u * xp.astype(pos, xp.float64)
    lam = 1.0
    for _ in range(n_power):
        nu = math.sqrt(float(xp.sum(u * u)))
        if nu == 0:
            break
        u = u / nu
        u = inv * A.rmatvec(A.matvec(inv * u)) / model.n
        lam = math.sqrt(float(xp.sum(u * u)))
    return max(1.0, 1.05 * lam)


# --------------------------------------------------------------------------------------
# the solver
# --------------------------------------------------------------------------------------
def solve_parallel(X, y, datafit, penalty, *, xp, selection="gsl", block_size=1,
                   update="gradient", max_iter=1000, tol=1e-4, fit_intercept=False,
                   precompute=False, working_set=True, anderson=True, warm_start=None,
                   random_state=None, callback=None, return_history=False, verbose=0,
                   check_every=CHECK_EVERY, _step=None) -> SolverResult:
    """Parallel coordinate descent in the namespace ``xp`` (see the module docstring).

    Same arguments and result as :func:`~numlearn.linear_model.coordinate_descent`;
    ``coef`` is returned in ``X``'s namespace, dtype and device, ``intercept``,
    ``dual_gap``, ``objective`` as Python floats and the histories as NumPy arrays.
    The result also holds ``beta`` (the final ESO constant), ``n_backtracks`` and
    ``n_products`` (passes over ``X``: products with ``X`` or ``Xᵀ``, for bandwidth
    accounting). ``_step`` forces the fused step: ``"xp"`` or ``"cuda"`` (the Numba-CUDA
    kernel, which runs on NumPy host arrays under the simulator); by default the kernel is
    used for CuPy inputs when Numba-CUDA is usable, the ``xp`` version otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> import array_api_strict as xps
    >>> from numlearn.linear_model import coordinate_descent, Quadratic, L1
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20))
    >>> y = X[:, :3] @ np.array([1.0, -2.0, 3.0])
    >>> res = coordinate_descent(xps.asarray(X), xps.asarray(y), Quadratic(), L1(0.1),
    ...                          tol=1e-10)
    >>> ref = coordinate_descent(X, y, Quadratic(), L1(0.1), tol=1e-10)
    >>> res.converged, type(res.coef).__module__.startswith("array_api_strict")
    (True, True)
    >>> bool(np.allclose(np.asarray(res.coef), ref.coef, atol=1e-8))
    True
    """
    from numlearn.linear_model.datafits import Logistic, Multinomial, Quadratic
    from numlearn.linear_model.penalties import _ElasticNetBase

    X, y = _check_data(X, y, xp)
    if not isinstance(datafit, (Quadratic, Logistic, Multinomial)):
        raise TypeError(
            "datafit must be Quadratic, Logistic or Multinomial, got "
            f"{type(datafit).__name__}."
        )
    if not isinstance(penalty, _ElasticNetBase):
        raise TypeError(
            f"penalty must be L1, L2, ElasticNet or NoPenalty, got {type(penalty).__name__}."
        )
    selection = check_option(selection, "selection", _SELECTIONS)
    if selection not in ("gsl", "cyclic"):
        raise ValueError(
            f"selection={selection!r} is a sequential rule; the parallel coordinate descent "
            "of array-API/GPU inputs updates every coordinate at once and accepts only the "
            "defaults 'gsl' and 'cyclic' (both ignored).")
    block_size = check_scalar(block_size, "block_size", kind=int, low=1)
    if block_size != 1:
        raise ValueError("block_size > 1 is not available for array-API/GPU inputs (the "
                         "parallel path updates every coordinate at once).")
    check_option(update, "update", ("gradient", "newton"))
    if update != "gradient":
        raise ValueError("update='newton' is not available for array-API/GPU inputs; use "
                         "update='gradient'.")
    if precompute:
        raise ValueError("precompute=True (Gram-matrix mode) is not available for "
                         "array-API/GPU inputs.")
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    tol = check_scalar(tol, "tol", low=0.0)
    check_every = check_scalar(check_every, "check_every", kind=int, low=1)
    check_callable(callback, "callback", allow_none=True)
    progress = Progress("coordinate_descent", verbose, measure="dual gap")
    quadratic = isinstance(datafit, Quadratic)
    multinomial = isinstance(datafit, Multinomial)
    n_classes = 0
    if multinomial:
        if not bool(xp.all(y == xp.round(y))) or float(xp.min(y)) < 0:
            raise ValueError(
                "y must hold class indices 0, 1, ..., K-1 for the Multinomial datafit.")
        n_classes = int(float(xp.max(y))) + 1
        if n_classes < 2:
            raise ValueError("y holds a single class; the multinomial fit needs two or more.")
    elif not quadratic:
        if not bool(xp.all((y == 1.0) | (y == -1.0))):
            raise ValueError("y must hold labels -1 and +1 for the Logistic datafit.")
        if fit_intercept and (bool(xp.all(y == 1.0)) or bool(xp.all(y == -1.0))):
            raise ValueError("y holds a single class; the logistic fit needs two.")

    fit_intercept = bool(fit_intercept)
    A = _Design(X, xp, center=fit_intercept)
    device = A.device
    kind = "quadratic" if quadratic else "multinomial" if multinomial else "logistic"
    model = _Model(A, y, xp, kind, penalty, fit_intercept, n_classes)
    p, n = A.p, A.n
    shape = (p, n_classes) if multinomial else (p,)
    w = xp.zeros(shape, dtype=xp.float64, device=device)
    if warm_start is not None:
        ws = warm_start
        if not hasattr(ws, "__array_namespace__") or is_numpy_namespace(get_namespace(ws)):
            ws = xp.asarray(np.asarray(to_numpy(ws) if hasattr(ws, "__array_namespace__")
                                       else ws), device=device)
        if multinomial:
            ws = check_array(ws, "warm_start", xp=xp, copy=True)
            if tuple(ws.shape) != shape:
                raise ValueError(f"warm_start must have shape {shape}, got "
                                 f"{tuple(ws.shape)}.")
        else:
            ws = check_vector(ws, "warm_start", p, xp=xp, copy=True)
        w = xp.astype(ws, xp.float64)
    keep = not penalty.has_gap
    if _step is None:
        use_cuda = (is_cupy_array(X.data if A.sparse else X) and numba_cuda_available())
        _step = "cuda" if use_cuda else "xp"
    check_option(_step, "_step", ("xp", "cuda"))
    step_fn = (_CudaStep(xp, model.lip, keep, device) if _step == "cuda"
               else _XpStep(xp, model.lip_step, keep))

    has_gap = penalty.has_gap
    if has_gap:
        target = tol * model.scale
    else:  # the largest partial derivative at w = 0 (the multinomial's at its best b)
        if quadratic:
            s0 = model.y
        elif multinomial:
            s0 = xp.zeros((n, n_classes), dtype=xp.float64, device=device)
            if fit_intercept:
                s0, _ = model.best_intercept(s0, model.zero_b())
        else:
            s0 = xp.zeros_like(model.y)
        g0 = A.rmatvec(model.raw_grad(s0))
        target = tol * max(model.kkt_max(xp.zeros_like(g0), g0), np.finfo(float).tiny)

    beta = _eso_beta(model, xp, device)
    b = model.zero_b()
    s = model.state(w, b)
    if model.has_b:
        s, b = model.best_intercept(s, b)
    obj = model.objective(s, w)
    w_prev, s_prev, b_prev = w, s, b
    t = 1.0
    grad_w = None  # ∇_w F at w (with the intercept b), when known
    history = [] if return_history else None
    obj_hist = [obj] if return_history else None
    upd_hist = [0] if return_history else None
    n_iter = 0
    n_backtracks = 0
    status = Status.MAX_ITER
    measure = float("inf")
    s_best, b_best = s, b  # the state at the last check's (best) intercept

    def grad_at(state):
        raw = model.raw_grad(state)
        return A.rmatvec(raw), (model.grad_b(raw) if model.has_b else 0.0)

    def step_from(v, s_v, b_v, g, g_b):
        nonlocal beta, n_backtracks
        for _ in range(60):
            w_new, d, lipd2 = step_fn(v, g, beta, model.l1, model.l2)
            b_new, d_b = b_v, 0.0
            if model.has_b:  # the intercept(s): L_b = factor · ‖1‖² / n
                d_b = -g_b / (beta * model.factor)
                b_new = b_v + d_b
                lipd2 += model.factor * _sumsq(xp, d_b)
            Xd = A.matvec(d)
            # ESO check in least-squares units: ‖X_c d + 1 d_bᵀ‖²/n ≤ β Σ L_j ‖d_j‖²
            lhs = float(xp.sum(Xd * Xd)) / n + _sumsq(xp, d_b)
            if lhs <= beta * (lipd2 / model.factor) * (1.0 + 1e-9) + 1e-300:
                break
            beta *= 1.5
            n_backtracks += 1
        s_new = s_v - Xd if quadratic else s_v + Xd + d_b
        return w_new, s_new, b_new

    while True:
        if (n_iter % check_every == 0 or n_iter >= max_iter
                or (n_iter < check_every and n_iter & (n_iter - 1) == 0)):
            s_chk, b_chk = s, b
            if model.has_b:  # the gap of w at its best intercept, as the CPU engine
                s_chk, b_chk = model.best_intercept(s, b)
                grad_w = None
            if grad_w is None:
                grad_w, _ = grad_at(s_chk)
            measure = (model.gap(s_chk, w, grad_w) if has_gap else model.kkt_max(w, grad_w))
            s_best, b_best = s_chk, b_chk
            if history is not None:
                history.append(measure)
            progress.update(n_iter, measure)
            if measure <= target:
                status = Status.SUCCESS
                break
            if not math.isfinite(measure):
                status = Status.DIVERGED
                break
            if n_iter >= max_iter:
                break
            if model.has_b:
                grad_w = None  # computed at the best intercept, not at the iterate's
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        mom = (t - 1.0) / t_next
        if mom > 0:
            v = w + mom * (w - w_prev)
            s_v = s + mom * (s - s_prev)
            b_v = b + mom * (b - b_prev)
            g, g_b = grad_at(s_v)
        else:
            v, s_v, b_v = w, s, b
            if grad_w is None or model.has_b:
                g, g_b = grad_at(s)
                grad_w = g
            else:
                g, g_b = grad_w, 0.0
        w_new, s_new, b_new = step_from(v, s_v, b_v, g, g_b)
        obj_new = model.objective(s_new, w_new)
        if mom > 0 and obj_new > obj + 1e-13 * max(1.0, abs(obj)):
            # restart: drop the momentum and take the plain (descent) step from w
            t_next = 1.0
            if grad_w is None or model.has_b:
                grad_w, g_b = grad_at(s)
            else:
                g_b = 0.0
            w_new, s_new, b_new = step_from(w, s, b, grad_w, g_b)
            obj_new = model.objective(s_new, w_new)
        w_prev, s_prev, b_prev = w, s, b
        w, s, b = w_new, s_new, b_new
        obj = obj_new
        t = t_next
        grad_w = None
        n_iter += 1
        if obj_hist is not None:
            obj_hist.append(obj)
            upd_hist.append(n_iter * p)
        if callback is not None:
            try:
                callback(xp.astype(w, A.dtype))
            except StopIteration:
                s_chk, b_chk = (model.best_intercept(s, b) if model.has_b else (s, b))
                grad_w, _ = grad_at(s_chk)
                measure = (model.gap(s_chk, w, grad_w) if has_gap
                           else model.kkt_max(w, grad_w))
                s_best, b_best = s_chk, b_chk
                status = Status.CALLBACK_STOP
                break
    progress.update(n_iter, measure, final=True)
    if model.has_b:  # return w with the intercept its gap was measured at
        s, b = s_best, b_best
    if multinomial:  # shape (K,), in the namespace
        intercept = (b - xp.sum(xp.reshape(A.mean, (-1, 1)) * w, axis=0) if fit_intercept
                     else b)
    else:
        intercept = b + model.y_offset
        if fit_intercept:
            intercept -= float(xp.sum(A.mean * w))
        intercept = float(intercept)
    result = make_result(
        status=status, n_iter=n_iter, coef=xp.astype(w, A.dtype), intercept=intercept,
        n_updates=int(n_iter * p), dual_gap=float(measure) if has_gap else float("nan"),
        objective=model.objective(s, w), tol_abs=float(target), beta=float(beta),
        n_backtracks=int(n_backtracks), n_products=int(A.n_products),
    )
    if history is not None:
        result.history = np.asarray(history)
        result.objective_history = np.asarray(obj_hist)
        result.updates_history = np.asarray(upd_hist)
    if status is Status.MAX_ITER or status is Status.DIVERGED:
        what = "duality gap" if has_gap else "largest KKT violation"
        unit = model.scale if has_gap else target / max(tol, np.finfo(float).tiny)
        warnings.warn(
            f"coordinate_descent did not converge after {n_iter} epochs: {what} "
            f"{measure:.3e} ({measure / unit:.3e} relative) is above the target "
            f"{target:.3e} (tol={tol:g} relative). Increase max_iter or tol.",
            ConvergenceWarning, stacklevel=3,
        )
    return result
