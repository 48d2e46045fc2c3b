"""SOR / SSOR / SSOR-CG on non-NumPy arrays: CuPy through CUDA kernels, others through ``xp``.

The path :func:`numlearn.linalg.sor` and :func:`numlearn.linalg.ssor_cg` take when their
inputs come from another array library than NumPy. Natural-order SOR is sequential, so
both back ends sweep in **multicolor order** (:mod:`numlearn.linalg._sor_multicolor`):
the unknowns are colored once per matrix on the CPU (red-black for the 5-point
Laplacian) and a sweep updates one color at a time, all rows of a color at once. That is
exact SOR for the system with its unknowns numbered color by color, so the iterates
differ from natural-order SOR but converge to the same ``x``; the stopping rule
(``‖b − A x_k‖ ≤ max(rtol ‖b − A x_0‖, atol)``, checked every ``check_every`` sweeps),
statuses, warnings, ``history`` and validation are those of the NumPy path.

* **CuPy** (dense or ``cupyx.scipy.sparse``): the permuted split ``B = ωD⁻¹(L + U)`` is
  uploaded once and each color is one launch of ``sor_color_sweep_kernel`` (one thread per
  row). As on the NumPy path, the stopping test of ``x_k`` is fused with sweep ``k + 1``
  (``sor_color_sweep_residual_kernel`` also writes ``b − A x_k`` and keeps ``x_k``, which
  is returned if it had converged), so a check costs a few extra reads and one norm, not
  a second pass over ``A``; ``sor_residual_kernel`` serves ``x0`` and the last iterate.
* **other namespaces** (``array_api_strict`` in the tests): a dense ``A`` permuted with
  ``xp.take``; a color's update is ``x_c ← x_c + ωD_c⁻¹(b_c − A_{c,:} x)``, one matrix
  product per color, and the residual one more.

Arithmetic is in float32 when ``A``, ``b`` (and ``x0``) are all float32, else float64;
``x`` is returned in the inputs' namespace, on their device. In float32 the residual
cannot go much below ``1e-6 ‖b‖``: ask for ``rtol ≥ 1e-5`` there.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import device_of, is_cupy_array, is_cupy_sparse, to_numpy
from numlearn._monitor import Monitor
from numlearn._result import warn_if_not_converged
from numlearn._validation import check_callable, check_operator, check_scalar, check_vector
from numlearn.linalg._sor_loop import reject_operator, sor_iterations
from numlearn.linalg._sor_multicolor import (
    MulticolorSplit,
    launch_multicolor_sweep_cuda,
    launch_multicolor_sweep_residual_cuda,
    launch_sor_residual_cuda,
    multicolor_ordering,
    multicolor_sweep,
    multicolor_sweep_residual,
    sor_residual,
)

__all__ = ["solve_sor", "solve_ssor_cg", "host_csr"]

# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def host_csr(A) -> sp.csr_matrix:
    """A validated copy of ``A`` (any namespace, dense or sparse) as a float64 SciPy CSR."""
    reject_operator(A, "a sparse matrix")
    A, _ = check_operator(A, "A")
    if sp.issparse(A):
        return sp.csr_matrix(A, dtype=np.float64)
    if is_cupy_sparse(A):
        return sp.csr_matrix(A.get(), dtype=np.float64)
    return sp.csr_matrix(np.asarray(to_numpy(A), dtype=np.float64))


def _check_inputs(A, b, x0, omega, rtol, atol, xp, backend):
    reject_operator(A, "a sparse matrix")
    A, (n, _) = check_operator(A, "A")
    cuda = is_cupy_sparse(A) or is_cupy_array(A)
    backend = backend or ("cuda" if cuda else "dense")
    if backend == "dense" and (sp.issparse(A) or not hasattr(A, "__array_namespace__")):
        raise TypeError(
            "A must be an array of the same library as b (or a cupyx.scipy.sparse matrix "
            f"with CuPy vectors), got {type(A).__name__}."
        )
    b = check_vector(b, "b", n, xp=xp)
    x = None if x0 is None else check_vector(x0, "x0", n, xp=xp, copy=True)
    f32 = xp.float32
    single = A.dtype == f32 and b.dtype == f32 and (x is None or x.dtype == f32)
    dtype = f32 if single else xp.float64
    omega = check_scalar(omega, "omega", low=0.0, high=2.0, include_low=False, include_high=False)
    rtol = check_scalar(rtol, "rtol", low=0.0)
    atol = check_scalar(atol, "atol", low=0.0)
    return A, b, x, omega, rtol, atol, dtype, backend


# --------------------------------------------------------------------------------------
# the two back ends: permuted vectors in, permuted vectors out
# --------------------------------------------------------------------------------------
class _PermutedOps:
    """Vectors in the color-by-color numbering (``perm``/``iperm``) and the arithmetic
    ``dtype``; the callback of :func:`~numlearn.linalg._sor_loop.sor_iterations` sees them
    in the original numbering."""

    def permute(self, v):
        return self.xp.astype(self.xp.take(v, self.perm, axis=0), self.dtype)

    def unpermute(self, v):
        return self.xp.take(v, self.iperm, axis=0)

    view = unpermute


class _KernelOps(_PermutedOps):
    """Multicolor sweeps over the permuted CSR split with the CUDA kernels.

    ``xp`` is the namespace of the vectors: CuPy on a GPU, NumPy under the CUDA simulator
    (kernels then take host arrays). With ``device=False`` the CPU twins (Numba) run
    instead: the reference of the simulator tests.
    """

    def __init__(self, A_host, omega, dtype, xp, device, *, like=None, threads_per_block=128):
        split = MulticolorSplit(A_host, omega)
        np_dtype = np.float32 if dtype == xp.float32 else np.float64
        bptr, bind, bdata, diag = split.arrays(np_dtype)
        put = (lambda a: xp.asarray(a, device=device_of(like))) if like is not None \
            else xp.asarray
        self.xp, self.device, self.omega, self.dtype = xp, device, omega, dtype
        self.tpb = threads_per_block
        self.n_colors = split.n_colors
        self.color_ptr = [int(v) for v in split.color_ptr]
        self.color_ptr_np = split.color_ptr
        self.perm, self.iperm = put(split.perm), put(split.iperm)
        self.scale = put((omega / split.diag).astype(np_dtype))  # c = scale * b
        self.dscale = _kernel_arg(put((split.diag / omega).astype(np_dtype)))
        self.B = tuple(_kernel_arg(put(a)) for a in (bptr, bind, bdata))
        self.r = xp.empty((split.n,), dtype=xp.float64, **_dev(like))
        self.r_arg = _kernel_arg(self.r)
        self.xold = xp.empty((split.n,), dtype=dtype, **_dev(like))
        self.xold_arg = _kernel_arg(self.xold)
        self._args = {}  # id -> (array, kernel argument): x and c, converted once per solve

    def _arg(self, a):
        hit = self._args.get(id(a))
        if hit is None or hit[0] is not a:
            if len(self._args) >= 4:  # the preconditioner makes new vectors at every call
                self._args.clear()
            hit = (a, _kernel_arg(a))
            self._args[id(a)] = hit
        return hit[1]

    def rhs(self, bp):
        return self.scale * bp

    def sweep(self, x, c, backward):
        w1 = 1.0 - self.omega
        if self.device:
            launch_multicolor_sweep_cuda(*self.B, self._arg(c), self._arg(x), w1,
                                         self.color_ptr, backward, threads_per_block=self.tpb)
        else:
            multicolor_sweep(*self.B, c, x, w1, self.color_ptr_np, backward)
        return x

    def sweep_residual(self, x, c):
        """Forward sweep fused with ``‖b − A x‖`` of the incoming ``x``: ``(x_new, x, ‖r‖)``."""
        w1 = 1.0 - self.omega
        if self.device:
            launch_multicolor_sweep_residual_cuda(
                *self.B, self._arg(c), self.dscale, self._arg(x), self.xold_arg, self.r_arg,
                w1, self.omega, self.color_ptr, threads_per_block=self.tpb)
            rnorm = float(self.xp.linalg.vector_norm(self.r))
        else:
            rnorm = math.sqrt(multicolor_sweep_residual(
                *self.B, c, self.dscale, x, self.xold, self.r, w1, self.omega, self.color_ptr_np))
        return x, self.xold, rnorm

    def rnorm(self, x, c):
        if self.device:
            launch_sor_residual_cuda(*self.B, self._arg(c), self.dscale, self.omega,
                                     self._arg(x), self.r_arg,
                                     threads_per_block=self.tpb)
            return float(self.xp.linalg.vector_norm(self.r))
        return math.sqrt(sor_residual(*self.B, c, self.dscale, self.omega, x, self.r))

    def zeros(self):
        return self.xp.zeros(self.r.shape, dtype=self.dtype, **_dev(self.r))


def _dev(like):
    return {} if like is None else {"device": device_of(like)}


def _kernel_arg(a):
    """CuPy arrays as Numba device arrays (converted once, not at every launch)."""
    if is_cupy_array(a):
        from numba import cuda

        return cuda.as_cuda_array(a)
    return a


class _DenseOps(_PermutedOps):
    """Multicolor sweeps on a dense ``A`` with whole-array ``xp`` operations."""

    def __init__(self, A, omega, dtype, xp):
        perm, color_ptr, _ = multicolor_ordering(host_csr(A))
        device = device_of(A)
        self.xp, self.omega, self.dtype = xp, omega, dtype
        self.perm = xp.asarray(perm, device=device)
        iperm = np.empty_like(perm)
        iperm[perm] = np.arange(perm.shape[0])
        self.iperm = xp.asarray(iperm, device=device)
        Ap = xp.astype(xp.take(xp.take(A, self.perm, axis=0), self.perm, axis=1), dtype)
        d = xp.linalg.diagonal(Ap)
        zero = d == 0
        if bool(xp.any(zero)):
            k = int(np.flatnonzero(to_numpy(zero))[0])
            raise ValueError(
                f"A has a zero diagonal entry in row {int(perm[k])}; SOR divides by the "
                "diagonal, so every diagonal entry of A must be nonzero."
            )
        self.Ap = Ap
        self.scale = omega / d
        W = self.scale[:, None] * Ap  # row i: ω/a_ii · a_i,:
        self.blocks = [(int(s), int(e), W[int(s):int(e), :])
                       for s, e in zip(color_ptr[:-1], color_ptr[1:])]

    def rhs(self, bp):
        self.bp = bp
        return self.scale * bp

    def sweep(self, x, c, backward):
        # x_c ← x_c + ωD_c⁻¹ (b_c − A_{c,:} x) = (1 − ω) x_c + c_c − B_{c,:} x
        xp = self.xp
        for s, e, W in reversed(self.blocks) if backward else self.blocks:
            new = x[s:e] + c[s:e] - W @ x
            x = xp.concat([x[:s], new, x[e:]])
        return x

    def sweep_residual(self, x, c):
        rnorm = self.rnorm(x, c)
        return self.sweep(x, c, False), x, rnorm

    def rnorm(self, x, c):
        r = self.bp - self.Ap @ x
        return float(self.xp.linalg.vector_norm(r))

    def zeros(self):
        return self.xp.zeros(self.perm.shape, dtype=self.dtype, device=device_of(self.perm))


def _make_ops(A, omega, dtype, xp, backend, threads_per_block=128):
    if backend == "dense":
        return _DenseOps(A, omega, dtype, xp)
    like = A.data if is_cupy_sparse(A) else A
    like = like if is_cupy_array(like) else None
    return _KernelOps(host_csr(A), omega, dtype, xp, backend == "cuda", like=like,
                      threads_per_block=threads_per_block)


# --------------------------------------------------------------------------------------
# solvers
# --------------------------------------------------------------------------------------
def solve_sor(A, b, omega, *, x0, rtol, atol, maxiter, symmetric, callback, return_history,
              check_every, verbose, xp, backend=None, threads_per_block=128):
    """:func:`numlearn.linalg.sor` in multicolor order for inputs of namespace ``xp``.

    ``backend`` (tests only) forces ``"cuda"`` (kernels), ``"twin"`` (their Numba CPU
    twins) or ``"dense"`` (``xp`` operations); by default CuPy inputs take the kernels.
    """
    A, b, x, omega, rtol, atol, dtype, backend = _check_inputs(A, b, x0, omega, rtol, atol, xp,
                                                               backend)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0)
    check_every = check_scalar(check_every, "check_every", kind=int, low=1)
    symmetric = bool(symmetric)
    check_callable(callback, "callback", allow_none=True)
    name = "ssor" if symmetric else "sor"
    ops = _make_ops(A, omega, dtype, xp, backend, threads_per_block)
    bp = ops.permute(b)
    c = ops.rhs(bp)
    if x is None:
        xk = ops.zeros()
        rnorm0 = float(xp.linalg.vector_norm(xp.astype(b, xp.float64)))
    else:
        xk = ops.permute(x)
        rnorm0 = ops.rnorm(xk, c)
    # the loop of the NumPy path (the check of x_k fused with sweep k + 1, which then
    # hands x_k back if it had converged) on the permuted vectors
    monitor = Monitor(name, verbose=verbose, callback=callback, return_history=return_history)
    xk, k, status, rnorm = sor_iterations(
        ops, xk, c, rnorm0, rtol=rtol, atol=atol, maxiter=maxiter, check_every=check_every,
        symmetric=symmetric, monitor=monitor)
    return monitor.result(status, n_iter=k, x=ops.unpermute(xk), residual_norm=float(rnorm),
                          stacklevel=4)


class _MulticolorSSOR:
    """``r ↦ M⁻¹ r``: one multicolor SSOR iteration from zero (forward colors, then backward).

    ``M = (D + ωL_P) D⁻¹ (D + ωU_P) / (ω(2 − ω))`` of the color-permuted matrix, mapped back:
    symmetric positive definite for SPD ``A`` and ``0 < ω < 2``, a valid CG preconditioner.
    """

    def __init__(self, ops):
        self.ops = ops

    def __call__(self, r):
        ops = self.ops
        c = ops.rhs(ops.permute(ops.xp.reshape(r, (-1,))))
        z = ops.sweep(ops.zeros(), c, False)
        z = ops.sweep(z, c, True)
        return ops.unpermute(z)


def solve_ssor_cg(A, b, omega, *, x0, rtol, atol, maxiter, callback, return_history, verbose,
                  xp, backend=None):
    """:func:`numlearn.linalg.ssor_cg` with a multicolor SSOR preconditioner, in ``xp``."""
    from numlearn.linalg.cg import cg

    A, b, x, omega, rtol, atol, dtype, backend = _check_inputs(A, b, x0, omega, rtol, atol, xp,
                                                               backend)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0, allow_none=True)
    check_callable(callback, "callback", allow_none=True)
    preconditioner = _MulticolorSSOR(_make_ops(A, omega, dtype, xp, backend))
    if dtype == xp.float64:
        b = xp.astype(b, xp.float64)
        x = None if x is None else xp.astype(x, xp.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # re-issued below as ssor_cg's
        result = cg(A, b, x0=x, rtol=rtol, atol=atol, maxiter=maxiter, M=preconditioner,
                    callback=callback, return_history=return_history, verbose=verbose)
    warn_if_not_converged(result, "ssor_cg", stacklevel=4)
    return result
