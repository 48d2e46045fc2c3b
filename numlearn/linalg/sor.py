"""Successive over-relaxation: SOR / SSOR iterations, SSOR-preconditioned CG, Young's ω*.

With ``A = D + L + U`` (diagonal, strictly lower, strictly upper parts), one SOR sweep is

    x ← x + (D/ω + L)⁻¹ (b − A x),

computed row by row in place (``x_i ← (1 − ω) x_i + ω (b_i − Σ_{j≠i} a_ij x_j) / a_ii``);
SSOR follows it with the same sweep in reverse row order. The sweeps are Numba kernels
over CSR (:mod:`numlearn.linalg._sor_kernels`); the stopping test, history and
bookkeeping are Python (:mod:`numlearn.linalg._sor_loop`, shared with the multicolor
path of other array libraries).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import non_numpy_namespace
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status, make_result, warn_if_not_converged
from numlearn._validation import (
    suggest_keywords,
    check_callable,
    check_option,
    check_operator,
    check_scalar,
    check_vector,
)
from numlearn.linalg._sor_kernels import (
    residual_norm_csr,
    sor_backward,
    sor_forward,
    sor_forward_residual,
    sor_solve_csr,
    sor_split,
    ssor_apply,
)
from numlearn.linalg._sor_loop import (
    DIVERGENCE_FACTOR,
    reject_operator,
    sor_iterations,
)
from numlearn.linalg.cg import cg
from numlearn.linalg.lanczos import lanczos_eigsh

__all__ = ["sor", "ssor_cg", "optimal_omega"]

# Sweeps run on A itself before B = ωD⁻¹(L+U) is built for the rest of a long solve: the
# split costs about 2 sweeps and saves about 0.2 sweep per sweep on 5-point stencils.
_SPLIT_AFTER = 8


def _zero_diagonal_error(row: int) -> ValueError:
    return ValueError(
        f"A has a zero diagonal entry in row {row}; SOR divides by the "
        "diagonal, so every diagonal entry of A must be nonzero."
    )


class _Split:
    """``A`` as a float64 CSR matrix, its diagonal and ``B = ωD⁻¹(L + U)`` (CSR arrays)."""

    def __init__(self, A: sp.csr_matrix, omega: float):
        self.A = A
        self.omega = omega
        n = A.shape[0]
        diag, bptr, bmid, bind, bdata, bad_row = sor_split(A.indptr, A.indices, A.data, n, omega)
        if bad_row >= 0:
            raise _zero_diagonal_error(bad_row)
        self.diag = diag
        self.b_arrays = (bptr, bind, bdata)
        self.bmid = bmid


def _check_matrix(A: Any, finite: bool = True) -> sp.csr_matrix:
    """Validate ``A`` (dense array or SciPy sparse matrix, square, finite unless the caller
    checks that itself) as float64 CSR."""
    reject_operator(A, "a SciPy sparse matrix")
    A, _ = check_operator(A, "A", finite=finite)
    if not sp.issparse(A):
        try:
            A = np.asarray(A)
        except Exception as exc:  # e.g. CuPy, whose arrays refuse implicit conversion
            raise TypeError(f"A must be a NumPy array or a SciPy sparse matrix: {exc}") from exc
        A = sp.csr_matrix(A)
    if A.dtype != np.float64:
        A = A.astype(np.float64)
    return A


def _start(x0, n: int) -> np.ndarray:
    """The first iterate: zeros, or a float64 copy of the checked ``x0``."""
    if x0 is None:
        return np.zeros(n)
    return np.array(check_vector(x0, "x0", n, xp=np), dtype=np.float64, copy=True)


def _check_scalars(omega, rtol, atol):
    omega = check_scalar(omega, "omega", low=0.0, high=2.0, include_low=False, include_high=False)
    rtol = check_scalar(rtol, "rtol", low=0.0)
    atol = check_scalar(atol, "atol", low=0.0)
    return omega, rtol, atol


def _check_common(A, b, x0, omega, rtol, atol, finite_A=True):
    """Validate the NumPy path's inputs (the namespace is NumPy's: see non_numpy_namespace)."""
    A = _check_matrix(A, finite_A)
    n = A.shape[0]
    b = np.asarray(check_vector(b, "b", n, xp=np), dtype=np.float64)
    x = _start(x0, n)
    omega, rtol, atol = _check_scalars(omega, rtol, atol)
    return A, b, x, omega, rtol, atol


_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _plain_csr(A):
    """``(indptr, indices, data)`` of a SciPy CSR ``A`` that the kernels can read as they
    are (square, float64 data, int32/int64 index arrays, all 1-D, ``indptr`` of length
    ``n + 1``), else None. Only types and shapes are looked at here (no pass over ``A``):
    the first sweep checks the structure (column indices in range, ``indptr`` monotone
    within the arrays) and the finiteness, as :func:`~numlearn._validation.check_operator`
    would, and a matrix that fails goes through that function for the message. Rows need
    not be sorted and may repeat a column (the kernels sum duplicates as they go), so a
    non-canonical CSR is swept as it is instead of being copied into canonical form."""
    if getattr(A, "format", None) != "csr" or not sp.issparse(A):
        return None
    indptr, indices, data = A.indptr, A.indices, A.data
    shape = A.shape
    if (type(indptr) is not np.ndarray or type(indices) is not np.ndarray
            or type(data) is not np.ndarray or len(shape) != 2 or shape[0] != shape[1]
            or data.dtype != np.float64 or data.ndim != 1 or indices.ndim != 1
            or indptr.ndim != 1 or indptr.shape[0] != shape[0] + 1
            or indptr.dtype not in _INDEX_DTYPES or indices.dtype not in _INDEX_DTYPES):
        return None
    return indptr, indices, data


@suggest_keywords
def sor(
    A: Any,
    b: Any,
    omega: float | str = 1.0,
    *,
    x0: Any = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int = 10000,
    symmetric: bool = False,
    callback: Callable | None = None,
    return_history: bool = False,
    check_every: int = 1,
    verbose: int = 0,
) -> SolverResult:
    """Solve ``A x = b`` by successive over-relaxation (SOR), or symmetric SOR (SSOR).

    Each iteration is one in-place sweep over the rows,

    .. math:: x_i \\leftarrow (1 - \\omega) x_i
              + \\frac{\\omega}{a_{ii}} \\Big(b_i - \\sum_{j \\ne i} a_{ij} x_j\\Big),
              \\qquad i = 1, \\dots, n,

    i.e. ``x ← x + (D/ω + L)⁻¹ (b − A x)`` with ``A = D + L + U``. With
    ``symmetric=True`` an iteration is that forward sweep followed by the same sweep over
    the rows in reverse order (SSOR). ``ω = 1`` is Gauss–Seidel.

    The iteration stops at the first iterate with ``‖b − A x_k‖ ≤ max(rtol ‖b − A x_0‖,
    atol)``: the tolerance is relative to the *initial* residual, as in the solver of
    Khodak et al. [2]_, whose iteration counts are the costs their ω-learners minimize
    (with ``x0 = 0`` it is ``‖b‖``).

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, n)
        Square matrix with nonzero diagonal (CSR is used as is; other sparse formats and
        dense arrays are converted to CSR once). CuPy arrays, ``cupyx.scipy.sparse``
        matrices and dense arrays of other array-API libraries are accepted (see Notes).
        SOR converges for every ``ω ∈ (0, 2)`` when ``A`` is symmetric positive definite.
    b : array, shape (n,)
        Right-hand side.
    omega : float or "optimal", default 1.0
        Relaxation parameter, ``0 < ω < 2`` (outside that interval SOR never converges).
        ``"optimal"``: Young's ``ω* = 2 / (1 + √(1 − ρ_J²))`` from
        :func:`optimal_omega` (Lanczos estimates of the Jacobi spectral radius ``ρ_J``):
        the best ω for symmetric positive definite, *consistently ordered* matrices such
        as 5-point stencils in natural or red-black order and (block) tridiagonal
        matrices; only a heuristic for others, and for SSOR (``symmetric=True``). Costs
        two Lanczos runs (more than a few sweeps on large systems). The ω used is
        returned as ``omega``.
    x0 : array, shape (n,), optional
        Starting guess (zeros by default). It is not modified.
    rtol, atol : float, default 1e-8 and 0.0
        Stop when ``‖b − A x_k‖ ≤ max(rtol ‖b − A x_0‖, atol)``. With ``rtol = atol = 0``
        the test could only hold for an exactly zero residual, and none is computed after
        the initial one: exactly ``maxiter`` sweeps run (a smoother's use; see Notes).
    maxiter : int, default 10000
        Maximum number of iterations (sweeps; symmetric sweeps when ``symmetric``).
    symmetric : bool, default False
        Run SSOR (forward then backward sweep) instead of SOR.
    callback : callable, optional
        Called as ``callback(xk)`` after every iteration with the current iterate (the
        solver's own array: copy it to keep it). Raising ``StopIteration`` stops the
        solver (``status`` is then ``CALLBACK_STOP``, unless ``xk`` had converged).
    return_history : bool, default False
        Record ``‖b − A x_k‖`` in ``history`` (``history[k]`` for iterate ``k``,
        ``history[0]`` the initial residual; ``nan`` for iterates not checked when
        ``check_every > 1``).
    check_every : int, default 1
        Check the stopping test every ``check_every`` iterations only. The check is
        fused with the sweep (see Notes) and costs about 15% of a sweep; checking less
        often saves that, but the iteration count is then rounded up to a multiple of
        ``check_every``.
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every checked iteration.

    Returns
    -------
    SolverResult
        ``x`` (the solution, float64; in the inputs' namespace and device for non-NumPy
        inputs), ``n_iter`` (iterations performed; the cost the
        ω-learners of :mod:`numlearn.tuning` use, reported also when not converged),
        ``converged``, ``status``, ``message``, ``residual_norm`` (``‖b − A x‖`` of the
        returned ``x``; computed on first access when ``rtol = atol = 0``), ``omega``
        (the ω used) and, if requested, ``history``.

    Raises
    ------
    ValueError
        If ``A`` is not square or has a zero on its diagonal (the message names the
        row), shapes disagree, an input is not finite, ``omega`` is not in ``(0, 2)``,
        or a tolerance is negative.
    TypeError
        If ``A`` is not a dense array or sparse matrix, or an argument has the wrong type.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached within ``maxiter`` iterations, or the iteration
        diverges (``status`` ``MAX_ITER`` or ``DIVERGED``).

    See Also
    --------
    ssor_cg : conjugate gradients preconditioned by SSOR, for SPD systems.
    optimal_omega : Young's optimal ω for consistently ordered SPD matrices.

    Notes
    -----
    *Residual fused with the sweep.* Checking ``‖b − A x_k‖`` every iteration with a
    separate product would cost a matvec per sweep, nearly doubling the work. Instead
    the sweep from ``x_k`` to ``x_{k+1}`` computes the exact residual of ``x_k`` as it
    goes: for ``j > i`` it reads ``x_j = x_j^{(k)}`` anyway, and for ``j < i`` it reads
    ``x_j^{(k)}`` from a copy it saved when it overwrote ``x_j``. The solver therefore
    learns that ``x_k`` has converged one sweep late and then returns ``x_k`` itself
    (kept by that sweep), so ``x``, ``n_iter`` and ``history`` are exactly those of an
    iteration that tests ``‖b − A x_k‖`` after every sweep, for any ``A`` (no symmetry
    is assumed), at the cost of one extra sweep per solve. On ``poisson_2d(1000)`` a
    plain sweep took 6.4 ms, a sweep with the fused residual 7.3 ms, and the
    alternative of accumulating the residual of the *new* iterate,
    ``r_{k+1} = ((1−ω)/ω) D Δx − U Δx``, by scattering ``U Δx`` during the sweep
    (which also needs a symmetric ``A``) 13.0 ms.

    *Kernels, and what a call costs.* Without ``callback``, ``history`` or ``verbose``
    the whole iteration is one Numba call. A float64 CSR ``A`` (int32 or int64 indices)
    is handed to it as it is, without a copy or a pass of its own: its first sweep,
    which reads every entry anyway, also checks the structure (column indices in range,
    ``indptr`` monotone within the arrays; rows may be unsorted or repeat a column, the
    kernels sum duplicates as they go), that ``A`` and ``b`` are finite (a product by 0
    accumulated per row) and that the diagonal has no zero, and yields ``‖r_0‖`` (``‖b‖``
    for ``x0 = 0``, else the fused residual of ``x0``). A malformed matrix then goes through
    :func:`~numlearn._validation.check_operator` for its message; other formats and dense
    arrays are converted to CSR once. The first sweeps run on ``A``'s CSR arrays (the
    diagonal found and divided by row by row). After 8 sweeps, if more than 8 may remain,
    the sweeps switch to ``B = ωD⁻¹(L + U)`` and ``c = ωD⁻¹b`` (built once, about two
    sweeps of work), with no division and no diagonal in the inner loop (about 20% faster
    per sweep on 5-point stencils); iterates agree with the ``B`` form to rounding (1e-15
    relative). Both keep ``x_{i−1}`` in a register instead of reading it back from
    memory (see :mod:`numlearn.linalg._sor_kernels`). With a callback, ``history`` or
    ``verbose`` the sweeps are called from Python, over ``B``. SOR sweeps are sequential
    by nature; on NumPy/SciPy inputs they run on one core, in the natural row order.
    Timed as a user calls it, ``sor(A, b, 1.5, rtol=0, maxiter=k)`` on ``poisson_2d(m)``
    against pyamg's ``sor(A, x, b, 1.5, iterations=k)`` including ``x = zeros(n)`` (best
    of several runs back to back, ratios of three repeats, a loaded 2-core machine):

    ===========  ===========  ===========  ===========  ===========
    unknowns     k = 1        k = 3        k = 10       k = 100
    ===========  ===========  ===========  ===========  ===========
    10^4         0.70–0.72    0.59–0.60    0.53–0.55    0.11–0.44
    10^6         0.60–0.90    0.52–0.67    0.59–0.67    0.40–0.70
    ===========  ===========  ===========  ===========  ===========

    (two runs of three repeats; the spread at 10^6 and at k = 100 is the machine's load,
    which once gave 1.25 at 10^6, k = 10; best-of-run times there: 41 ms against 59 ms
    at k = 1, 185 against 316 ms at k = 10).
    Note that pyamg's ``sor`` is a damped Gauss–Seidel sweep,
    ``x ← (1 − ω) x + ω GS(x)``, not SOR, so its iterates differ.

    *A fixed number of sweeps* (``rtol = atol = 0``, e.g. a multigrid smoother): no
    residual is computed besides ``‖r_0‖`` (which comes free with the first sweep), so
    ``n_iter = maxiter`` and ``status`` is ``MAX_ITER`` (with the usual
    ConvergenceWarning), or ``DIVERGED`` if ``x`` overflowed; ``residual_norm`` is
    computed when first read. The only difference from checking every sweep is that a
    residual reaching exactly zero (or growing 10^10-fold while staying finite) no longer
    stops the sweeps early.

    *GPU and other array libraries.* CuPy inputs (dense, or ``cupyx.scipy.sparse``
    ``A``) run on the GPU and return ``x`` as a CuPy array; inputs of another array-API
    library (e.g. ``array_api_strict``, dense ``A``) run with that library's operations
    and return its arrays. Both sweep in **multicolor order**: the graph of ``A`` is
    colored on the CPU, once per call (greedily; red-black for the 5-point Laplacian) and a sweep
    updates one color at a time, all of its rows in parallel (one CUDA kernel launch per
    color on CuPy). That is exact SOR for the unknowns numbered color by color, so the
    iterates differ from the natural-order ones but converge to the same ``x``, and the
    stopping rule, ``history``, statuses and warnings are the same (the residual of
    ``x_k`` is fused with sweep ``k + 1`` there too). Red-black ordering is consistently
    ordered, so SOR keeps Young's rate ``ω* − 1`` at :func:`optimal_omega`; SSOR
    (``symmetric=True``) in red-black order, however, loses most of the acceleration by
    ω. Arithmetic is float32 when ``A``, ``b`` and ``x0`` are all float32 (ask for
    ``rtol ≥ 1e-5`` then), float64 otherwise.

    References
    ----------
    .. [1] D. M. Young, "Iterative Solution of Large Linear Systems", Academic Press,
       1971.
    .. [2] M. Khodak, E. Chow, M.-F. Balcan and A. Talwalkar, "Learning to relax:
       Setting solver parameters across a sequence of linear system instances",
       ICLR 2024.
    .. [3] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., SIAM, 2003,
       section 4.1.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import poisson_2d
    >>> from numlearn.linalg.sor import optimal_omega, sor
    >>> A = poisson_2d(10)                      # 5-point Laplacian, 100 unknowns
    >>> b = np.ones(100)
    >>> res = sor(A, b, omega=1.0)              # Gauss-Seidel
    >>> res.converged, res.n_iter
    (True, 223)
    >>> res = sor(A, b, omega=optimal_omega(A))
    >>> res.converged, res.n_iter
    (True, 41)
    >>> bool(np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b))
    True

    Arrays of another library (CuPy: on the GPU) sweep in red-black order:

    >>> import array_api_strict as xps
    >>> res_rb = sor(xps.asarray(A.toarray()), xps.asarray(b), omega=optimal_omega(A))
    >>> res_rb.converged, res_rb.n_iter, type(res_rb.x).__module__.split(".")[0]
    (True, 41, 'array_api_strict')
    >>> bool(np.allclose(np.asarray(res_rb.x), res.x, rtol=1e-6))
    True
    """
    if isinstance(omega, str):
        check_option(omega, "omega", ("optimal",))
        omega = optimal_omega(A)
    xp = non_numpy_namespace(A, b, x0)
    if xp is not None:  # CuPy (CUDA kernels), array_api_strict, ...: multicolor sweeps
        from numlearn.linalg._sor_array_api import solve_sor

        result = solve_sor(A, b, omega, x0=x0, rtol=rtol, atol=atol, maxiter=maxiter,
                           symmetric=symmetric, callback=callback,
                           return_history=return_history, check_every=check_every,
                           verbose=verbose, xp=xp)
        result.omega = float(omega)
        return result
    check_callable(callback, "callback", allow_none=True)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0)
    symmetric = bool(symmetric)
    name = "ssor" if symmetric else "sor"
    # nothing needs Python between sweeps: one Numba call, which checks A's finiteness too
    one_call = callback is None and not return_history and not verbose and maxiter > 0
    if one_call:
        arrays = _plain_csr(A)
        if arrays is not None:  # the kernels read A as it is; the first sweep checks it
            n = arrays[0].shape[0] - 1
            omega, rtol, atol = _check_scalars(omega, rtol, atol)
            check_every = check_scalar(check_every, "check_every", kind=int, low=1)
            if type(b) is not np.ndarray or b.dtype != np.float64 or b.shape != (n,):
                b = np.asarray(check_vector(b, "b", n, xp=np), dtype=np.float64)
            if x0 is not None:
                x0 = check_vector(x0, "x0", n, xp=np)
            result = _solve_on_csr(arrays, b, x0, omega, rtol, atol, maxiter, check_every,
                                   symmetric, name)
            if result is not None:
                result.omega = omega
                return result
            # A's structure is malformed: check_operator below says how
    A, b, x, omega, rtol, atol = _check_common(A, b, x0, omega, rtol, atol,
                                               finite_A=not one_call)
    check_every = check_scalar(check_every, "check_every", kind=int, low=1)
    if one_call:
        result = _solve_on_csr((A.indptr, A.indices, A.data), b,
                               None if x0 is None else x, omega, rtol, atol, maxiter,
                               check_every, symmetric, name)
        if result is None:  # cannot happen: check_operator returned a canonical CSR
            raise RuntimeError("sor: the canonical CSR copy of A failed its structure check.")
        result.omega = omega
        return result
    split = _Split(A, omega)
    rnorm0 = float(np.linalg.norm(b - A @ x)) if x0 is not None else float(np.linalg.norm(b))
    ops = _NumbaOps(split, A, b)
    monitor = Monitor(name, verbose=verbose, callback=callback, return_history=return_history)
    x, k, status, rnorm = sor_iterations(
        ops, x, ops.c, rnorm0, rtol=rtol, atol=atol, maxiter=maxiter, check_every=check_every,
        symmetric=symmetric, monitor=monitor)
    result = monitor.result(status, n_iter=k, x=x, residual_norm=float(rnorm), stacklevel=3)
    result.omega = omega
    return result


class _LazyResidualResult(SolverResult):
    """A :class:`SolverResult` whose ``residual_norm`` is computed on first use.

    A fixed number of sweeps (``rtol = atol = 0``) needs no residual, and computing the
    final one would cost about a sweep; a one-sweep smoother would pay double for it.
    """

    def __missing__(self, key):
        if key == "residual_norm" and self._materialize():
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def _materialize(self) -> bool:
        pending = self.__dict__.pop("_pending", None)
        if pending is None:
            return False
        dict.__setitem__(self, "residual_norm", float(pending()))
        return True

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __reduce_ex__(self, protocol):  # pickled as the plain SolverResult it stands for
        self._materialize()
        return SolverResult, (dict(dict.items(self)),)


def _materializing(method_name):
    method = getattr(SolverResult, method_name)

    def wrapper(self, *args, **kwargs):
        self._materialize()
        return method(self, *args, **kwargs)

    wrapper.__name__ = method_name
    return wrapper


for _name in ("__contains__", "__iter__", "__len__", "__repr__", "__eq__", "__ne__", "keys",
              "items", "values", "copy", "__dir__"):
    setattr(_LazyResidualResult, _name, _materializing(_name))


def _solve_on_csr(arrays, b, x0, omega, rtol, atol, maxiter, check_every, symmetric,
                  name) -> SolverResult | None:
    """:func:`sor` when nothing needs Python between sweeps: one Numba call
    (:func:`~numlearn.linalg._sor_kernels.sor_solve_csr`) sweeping on ``A``'s CSR
    ``arrays`` themselves from ``x0`` (checked, or None for zeros; not modified), with the
    split built only for long solves, and residuals only where the stopping rule needs
    them. The first sweep checks ``A``'s structure (None if it is malformed: the caller
    then runs :func:`~numlearn._validation.check_operator` for the message) and that
    ``A`` and ``b`` are finite."""
    indptr, indices, data = arrays
    n = b.shape[0]
    check_finite = True
    while True:
        x = np.zeros(n) if x0 is None else np.array(x0, dtype=np.float64, copy=True)
        xold = np.empty_like(x)
        k, rnorm0, rnorm, code, bad_row = sor_solve_csr(
            indptr, indices, data, b, x, xold, omega, symmetric, check_every, rtol, atol,
            DIVERGENCE_FACTOR, maxiter, x0 is not None, _SPLIT_AFTER, check_finite)
        if code == 5:
            return None
        if code != 3:
            break
        # the sweep's finiteness probe fired: the exact checks (and messages) of
        # check_operator and check_vector, on this rare path only
        if not np.all(np.isfinite(data[:indptr[-1]])):
            raise ValueError("A contains NaN or infinity; all entries must be finite.")
        if not np.all(np.isfinite(b)):
            raise ValueError("b contains NaN or infinity; all entries must be finite.")
        check_finite = False  # finite inputs whose products overflowed: sweep again
    if bad_row >= 0:
        raise _zero_diagonal_error(bad_row)
    if not math.isfinite(rnorm0):
        raise ValueError("the initial residual b - A x0 is not finite (entries too large).")
    threshold = max(rtol * rnorm0, atol)
    if code:
        status = Status.SUCCESS if code == 1 else Status.DIVERGED
    elif threshold > 0:  # maxiter reached: the stopping rule needs the last residual
        rnorm = float(residual_norm_csr(indptr, indices, data, b, x))
        if rnorm <= threshold:
            status = Status.SUCCESS
        elif not rnorm <= DIVERGENCE_FACTOR * rnorm0:
            status = Status.DIVERGED
        else:
            status = Status.MAX_ITER
    else:  # rtol = atol = 0: a fixed number of sweeps, residual on demand
        status = Status.MAX_ITER if math.isfinite(np.add.reduce(x)) else Status.DIVERGED
        result = _LazyResidualResult(make_result(status=status, n_iter=k, x=x))
        object.__setattr__(result, "_pending",
                           lambda: residual_norm_csr(indptr, indices, data, b, x))
        warn_if_not_converged(result, name, stacklevel=4)
        return result
    result = make_result(status=status, n_iter=k, x=x, residual_norm=float(rnorm))
    warn_if_not_converged(result, name, stacklevel=4)
    return result


class _NumbaOps:
    """The natural-order sweeps of :func:`sor` for :func:`~numlearn.linalg._sor_loop.
    sor_iterations`: Numba kernels over ``B = ωD⁻¹(L + U)``, in place on ``x``."""

    def __init__(self, split: _Split, A, b):
        omega = split.omega
        self.A, self.b, self.omega = A, b, omega
        self.B = bptr, bind, bdata = split.b_arrays
        self.c = (omega * b) / split.diag
        self.dscale = dscale = split.diag / omega
        self.xold = xold = np.empty_like(b)
        w1 = 1.0 - omega

        # closures, not methods: a call per sweep, on systems small enough to notice it
        def sweep(x, c, backward):
            if backward:
                sor_backward(bptr, bind, bdata, c, x, w1)
            else:
                sor_forward(bptr, bind, bdata, c, x, w1)
            return x

        def sweep_residual(x, c):
            rr = sor_forward_residual(bptr, bind, bdata, c, dscale, omega, x, xold)
            return x, xold, math.sqrt(rr)

        self.sweep, self.sweep_residual = sweep, sweep_residual

    def rnorm(self, x, c):
        return float(np.linalg.norm(self.b - self.A @ x))

    def view(self, x):
        return x  # the solver's own array (documented)


class _SSORPreconditioner:
    """``r ↦ M⁻¹ r`` for the SSOR preconditioner ``M = (D+ωL) D⁻¹ (D+ωU) / (ω(2−ω))``."""

    def __init__(self, split: _Split):
        omega = split.omega
        bptr, bind, bdata = split.b_arrays
        self.b_arrays = (bptr, split.bmid, bind, bdata)
        self.g = (omega * (2.0 - omega)) / split.diag
        self.n = split.diag.shape[0]

    def __call__(self, r):
        r = np.ascontiguousarray(np.reshape(r, (-1,)), dtype=np.float64)
        return ssor_apply(*self.b_arrays, self.g, r, np.empty(self.n))


@suggest_keywords
def ssor_cg(
    A: Any,
    b: Any,
    omega: float = 1.0,
    *,
    x0: Any = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    callback: Callable | None = None,
    return_history: bool = False,
    verbose: int = 0,
) -> SolverResult:
    """Solve an SPD system by conjugate gradients preconditioned with SSOR(ω).

    The preconditioner is

    .. math:: M = \\frac{1}{\\omega(2-\\omega)} (D + \\omega L) D^{-1} (D + \\omega U),

    with ``A = D + L + U``; it is symmetric positive definite for SPD ``A`` and
    ``0 < ω < 2``. Applying ``M⁻¹`` is one SSOR iteration from zero: a forward
    substitution with ``D + ωL``, a scaling by ``D``, a backward substitution with
    ``D + ωU`` and a scaling by ``ω(2 − ω)`` (Numba kernels over CSR). The CG
    iteration itself is :func:`numlearn.linalg.cg` with that ``M``, so the iterates are
    those of :func:`scipy.sparse.linalg.cg` with the same preconditioner.

    CuPy inputs (and those of other array-API libraries) run CG in their namespace with
    the SSOR preconditioner of the unknowns numbered color by color (multicolor
    forward then backward sweeps, see :func:`sor`; CUDA kernels on CuPy): still
    symmetric positive definite, but a weaker preconditioner than the natural-order one,
    and best near ``ω = 1`` (on ``poisson_2d(32)``: 51 iterations at ``ω = 1`` against 41
    in natural order, 77 against 23 at ``ω = 1.7``); ``x`` is returned in the input's
    namespace.

    The stopping rule is CG's: ``‖r_k‖ < max(atol, rtol ‖b‖)`` on the recursively
    updated residual, relative to ``‖b‖`` and *not* to the initial residual as in
    :func:`sor`. It is the rule of the SSOR-PCG runs of Khodak et al. [2]_ (MATLAB's
    ``pcg``, warm-started from the previous time step), and it is what makes a good
    warm start ``x0`` save iterations. With ``x0 = 0`` the two rules coincide.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, n)
        Symmetric positive definite matrix (symmetry is assumed, not checked).
    b : array, shape (n,)
        Right-hand side.
    omega : float, default 1.0
        SSOR relaxation parameter, ``0 < ω < 2``.
    x0 : array, shape (n,), optional
        Starting guess (zeros by default). It is not modified.
    rtol, atol : float, default 1e-8 and 0.0
        Stop when ``‖r_k‖ < max(atol, rtol ‖b‖)``.
    maxiter : int, optional
        Maximum number of CG iterations; ``10 n`` by default (as SciPy).
    callback : callable, optional
        Called as ``callback(xk)`` after every iteration; raising ``StopIteration``
        stops the solver.
    return_history : bool, default False
        Record ``‖r_k‖`` for every iteration in ``history``.
    verbose : int, default 0
        0 silent, 1 a progress line every few seconds, 2 a line every iteration.

    Returns
    -------
    SolverResult
        As :func:`numlearn.linalg.cg`: ``x``, ``n_iter``, ``converged``, ``status``,
        ``message``, ``residual_norm`` and, if requested, ``history``.

    Raises
    ------
    ValueError
        If ``A`` is not square or has a zero diagonal entry, shapes disagree, inputs are
        not finite, ``omega`` is not in ``(0, 2)`` or a tolerance is negative.
    TypeError
        If an argument has the wrong type.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the tolerance is not reached within ``maxiter`` iterations, or on breakdown
        (``A`` not positive definite).

    Notes
    -----
    Khodak et al.'s code builds ``M = (D + ωU) D⁻¹ (D + ωL) / (ω(2−ω))`` (backward
    substitution first). Here, as in Saad [3]_ and in :func:`sor` with
    ``symmetric=True``, the forward substitution comes first. For symmetric ``A`` their
    ``M`` is this one for the system with its unknowns numbered in reverse order, so
    iteration counts differ only through that ordering (on the model problem, whose
    matrix the reversal leaves unchanged, by reversing ``b``).

    References
    ----------
    .. [1] D. M. Young, "Iterative Solution of Large Linear Systems", Academic Press,
       1971.
    .. [2] M. Khodak, E. Chow, M.-F. Balcan and A. Talwalkar, "Learning to relax:
       Setting solver parameters across a sequence of linear system instances",
       ICLR 2024.
    .. [3] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., SIAM, 2003,
       sections 4.1 and 10.2.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import poisson_2d
    >>> from numlearn.linalg import cg
    >>> from numlearn.linalg.sor import ssor_cg
    >>> A = poisson_2d(32)
    >>> b = np.ones(A.shape[0])
    >>> cg(A, b, rtol=1e-8).n_iter
    59
    >>> res = ssor_cg(A, b, omega=1.7)
    >>> res.converged, res.n_iter
    (True, 22)
    """
    xp = non_numpy_namespace(A, b, x0)
    if xp is not None:  # CuPy (CUDA kernels), array_api_strict, ...: multicolor SSOR
        from numlearn.linalg._sor_array_api import solve_ssor_cg

        return solve_ssor_cg(A, b, omega, x0=x0, rtol=rtol, atol=atol, maxiter=maxiter,
                             callback=callback, return_history=return_history,
                             verbose=verbose, xp=xp)
    A, b, x, omega, rtol, atol = _check_common(A, b, x0, omega, rtol, atol)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0, allow_none=True)
    check_callable(callback, "callback", allow_none=True)
    preconditioner = _SSORPreconditioner(_Split(A, omega))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # re-issued below as ssor_cg's
        result = cg(
            A,
            b,
            x0=x if x0 is not None else None,
            rtol=rtol,
            atol=atol,
            maxiter=maxiter,
            M=preconditioner,
            callback=callback,
            return_history=return_history,
            verbose=verbose,
        )
    warn_if_not_converged(result, "ssor_cg")
    return result


def _is_symmetric(A: sp.csr_matrix) -> bool:
    diff = abs(A - A.T)
    if diff.nnz == 0:
        return True
    scale = abs(A).max()
    return bool(diff.max() <= 1e-12 * scale)


@suggest_keywords
def optimal_omega(
    A: Any,
    *,
    tol: float = 1e-10,
    random_state: Any = 0,
) -> float:
    """Young's optimal SOR relaxation parameter ``ω* = 2 / (1 + √(1 − ρ_J²))``.

    ``ρ_J`` is the spectral radius of the Jacobi iteration matrix ``I − D⁻¹A``, computed
    as the largest ``|1 − λ|`` over the eigenvalues ``λ`` of the similar symmetric
    matrix ``D^{-1/2} A D^{-1/2}``: ``ρ_J = max(λ_max − 1, 1 − λ_min)``, both ends found
    by :func:`numlearn.linalg.lanczos_eigsh`.

    The formula is exact (SOR at ``ω*`` then converges with factor ``ω* − 1``, the best
    over ω) for symmetric positive definite matrices that are *consistently ordered*
    with ``ρ_J < 1`` [1]_, such as the 5-point Laplacian in the natural or red-black
    ordering, and tridiagonal or block-tridiagonal matrices. For other SPD matrices it
    is only a heuristic.

    CuPy and other array-API inputs are copied to the host for this computation.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, n)
        Symmetric matrix with a positive diagonal (symmetry is checked).
    tol : float, default 1e-10
        Relative accuracy asked of the Lanczos eigenvalue solver.
    random_state : None, int or numpy.random.Generator, default 0
        Source of Lanczos' starting vectors (fixed by default, so the result is
        reproducible).

    Returns
    -------
    float
        ``ω*``, in ``[1, 2)``.

    Raises
    ------
    ValueError
        If ``A`` is not square, not symmetric, has a non-positive diagonal entry, is not
        finite, or if ``ρ_J ≥ 1`` (the Jacobi iteration does not converge, e.g. ``A`` is
        not positive definite, and the formula does not apply).

    References
    ----------
    .. [1] D. M. Young, "Iterative Solution of Large Linear Systems", Academic Press,
       1971, chapter 6.
    .. [2] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., SIAM, 2003,
       section 4.2.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import poisson_2d
    >>> from numlearn.linalg.sor import optimal_omega
    >>> w = optimal_omega(poisson_2d(10))       # h = 1/11: ω* = 2 / (1 + sin(πh))
    >>> round(w, 6)
    1.560388
    >>> bool(abs(w - 2 / (1 + np.sin(np.pi / 11))) < 1e-8)
    True
    """
    if non_numpy_namespace(A) is not None:  # CuPy, array_api_strict, ...: ω* on the host
        from numlearn.linalg._sor_array_api import host_csr

        A = host_csr(A)
    A = _check_matrix(A)
    tol = check_scalar(tol, "tol", low=0.0)
    n = A.shape[0]
    diag = A.diagonal()
    if np.any(diag <= 0):
        row = int(np.flatnonzero(diag <= 0)[0])
        raise ValueError(
            f"A must have a positive diagonal (it is symmetric positive definite for "
            f"optimal_omega's formula to hold); row {row} has {diag[row]}."
        )
    if not _is_symmetric(A):
        raise ValueError("A must be symmetric for optimal_omega (Young's theory for SPD A).")
    if n == 1:
        return 1.0
    s = 1.0 / np.sqrt(diag)
    scaled = sp.csr_matrix(sp.diags(s) @ A @ sp.diags(s))
    lam_max = lanczos_eigsh(scaled, n, 1, which="LA", tol=tol, random_state=random_state)
    lam_min = lanczos_eigsh(scaled, n, 1, which="SA", tol=tol, random_state=random_state)
    rho = max(float(lam_max.eigenvalues[0]) - 1.0, 1.0 - float(lam_min.eigenvalues[0]), 0.0)
    if rho >= 1.0:
        raise ValueError(
            f"the Jacobi spectral radius of A is {rho:.6g} >= 1: A is not positive "
            "definite (or Jacobi diverges on it), so the optimal-omega formula does not "
            "apply."
        )
    return 2.0 / (1.0 + math.sqrt(1.0 - rho * rho))
