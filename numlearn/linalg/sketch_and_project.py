"""Sketch-and-project for consistent linear systems (randomized Kaczmarz and relatives).

Each iteration draws a fresh sketch ``S`` (``m × τ``) and projects the iterate onto the
solution set of the sketched system ``Sᵀ A x = Sᵀ b``::

    x ← x − Aᵀ S (Sᵀ A Aᵀ S)⁺ Sᵀ (A x − b).

Every step moves ``x`` within ``x0 + range(Aᵀ)``, so on a consistent system the iterates
converge to the solution closest to ``x0`` (the least-norm solution from ``x0 = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from numlearn._backend import (
    device_of,
    get_namespace,
    is_cupy_sparse,
    is_numpy_namespace,
    to_device,
    to_numpy,
)
from numlearn._monitor import Monitor
from numlearn._result import SolverResult, Status, warn_if_not_converged
from numlearn._validation import (
    suggest_keywords,
    check_callable,
    check_operator,
    check_option,
    check_random_state,
    check_scalar,
    check_vector,
)
from numlearn.linalg._operators import as_matvec
from numlearn.linalg._sketch_and_project_xp import ArrayAPIEngine
from numlearn.linalg._sketch_kernels import (
    block_kaczmarz_epoch_csr,
    block_kaczmarz_epoch_dense,
    fill_distinct_blocks,
    kaczmarz_epoch_csr,
    kaczmarz_epoch_dense,
    psd_solve,
)
from numlearn.linalg.sketch import SketchOperator

__all__ = ["sketch_and_project", "SKETCH_AND_PROJECT_SKETCHES"]

#: The sketches :func:`sketch_and_project` accepts.
SKETCH_AND_PROJECT_SKETCHES = ("gaussian", "kaczmarz", "uniform", "countsketch", "sparse_sign")

_ROW_SKETCHES = ("kaczmarz", "uniform")

# Iteration caps of the default maxiter (see the docstring).
_MAXITER_CAP_ROWS = 10_000_000
_MAXITER_CAP_DENSE = 100_000

# Eigenvalues of the small Gram matrix Sᵀ A Aᵀ S below this multiple of τ·eps·λ_max are
# rounding noise and are dropped: projecting onto fewer sketched directions is still a
# valid (smaller) sketch-and-project step, whereas dividing by noise is not.
_RCOND_FACTOR = 100.0


@suggest_keywords
def sketch_and_project(
    A: Any,
    b: Any,
    *,
    sketch: str = "gaussian",
    block_size: int = 1,
    x0: Any = None,
    rtol: float = 1e-6,
    atol: float = 0.0,
    maxiter: int | None = None,
    random_state: Any = None,
    callback: Callable[[np.ndarray], Any] | None = None,
    check_every: int | None = None,
    return_history: bool = False,
    verbose: int = 0,
) -> SolverResult:
    """Solve a consistent linear system ``A x = b`` by randomized sketch-and-project.

    Each iteration draws a fresh sketch ``S`` with ``block_size`` columns and sets
    ``x ← x − Aᵀ S (Sᵀ A Aᵀ S)⁺ Sᵀ (A x − b)``, the projection of ``x`` onto the solutions
    of the sketched system ``Sᵀ A x = Sᵀ b``. ``A`` may be square or rectangular, and
    symmetric indefinite or rank deficient, as long as the system is consistent. The
    iterates converge (in expectation, linearly) to the solution closest to ``x0``:
    ``x0 − A⁺ (A x0 − b)``, the least-norm solution when ``x0 = 0``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, shape (m, n)
        The matrix. Sparse matrices are used in CSR form (converted once). A dense array
        of another array library (CuPy) stays in it, on its device: the iterates, the
        residual and the sketched rows are computed there; only the sketches are drawn and
        the ``τ × τ`` pseudo-inverse is taken on the host (same random stream, so the same
        iterates up to rounding), and ``x`` is returned there. A ``cupyx.scipy.sparse``
        matrix is copied to the host and solved there, with ``x`` returned on the GPU.
    b : array_like, shape (m,)
        Right-hand side, assumed in the range of ``A``.
    sketch : {"gaussian", "kaczmarz", "uniform", "countsketch", "sparse_sign"}, optional
        How ``S`` is drawn.

        ``"gaussian"`` (default)
            i.i.d. Gaussian ``m × block_size`` sketch; ``block_size=1`` is the
            one-vector Gaussian method ``x ← x − (sᵀr / ‖Aᵀs‖²) Aᵀs``.
        ``"kaczmarz"``
            block randomized Kaczmarz: ``block_size`` distinct rows drawn with
            probability proportional to ``‖a_i‖²`` (successive sampling without
            replacement); ``block_size=1`` is classic randomized Kaczmarz,
            ``x ← x + (b_i − a_iᵀx)/‖a_i‖² a_i``, with rows drawn independently.
        ``"uniform"``
            like ``"kaczmarz"`` with rows drawn uniformly.
        ``"countsketch"``, ``"sparse_sign"``
            :func:`~numlearn.linalg.sketch_operator` sketches of the rows of ``A``
            (``Sᵀ`` has ``block_size`` rows); ``sparse_sign`` uses its default
            ``nnz_per_col = min(8, block_size)``.

        The row-sampling sketches touch only the sampled rows (the steps between two
        checks run in one Numba kernel call); the other sketches touch all of ``A`` at
        every iteration.
    block_size : int, optional
        Number of columns of ``S``, ``1 <= block_size <= m``. For ``"kaczmarz"``,
        capped at the number of nonzero rows of ``A``.
    x0 : array_like, shape (n,), optional
        Starting point (default zeros); not modified. The iterates converge to the
        solution closest to it, so a previous solution can be refined or resumed.
    rtol, atol : float, optional
        Stop when ``‖A x − b‖ ≤ max(rtol·‖b‖, atol)``. When ``b = 0`` the reference is the
        initial residual ``‖A x0‖`` instead of ``‖b‖``.
    maxiter : int, optional
        Maximum number of iterations (sketches drawn). Default: 1000 passes' worth,
        ``1000·ceil(m/block_size)``, capped at 10⁷ for the row-sampling sketches and
        at 10⁵ for the others (whose iterations each touch all of ``A``).
    random_state : None, int or numpy.random.Generator, optional
        Seed of the sketches; results are reproducible given it.
    callback : callable, optional
        Called as ``callback(x)`` at every check, with a read-only view of the current
        iterate. Raising ``StopIteration`` stops the solver (status
        ``Status.CALLBACK_STOP``).
    check_every : int, optional
        Iterations between two checks of the stopping criterion (each costs one product
        with ``A``). Default: about one pass over the data, ``ceil(m/block_size)``, for
        ``"kaczmarz"`` and ``"uniform"``; ``1`` for the other sketches, which compute the
        residual at every iteration anyway.
    return_history : bool, optional
        If True, the result has ``history``: the residual norms ``‖A x − b‖`` at ``x0``
        and at every check.
    verbose : int, optional
        0 (default) silent; 1 a progress line (iteration, residual norm, elapsed time)
        every few seconds; 2 a line at every check.

    Returns
    -------
    result : SolverResult
        ``x`` (the solution, in the namespace of ``b``), ``n_iter``, ``converged``,
        ``status``, ``message``, ``residual_norm`` (``‖A x − b‖``) and, if asked,
        ``history``. ``status`` is ``Status.MAX_ITER`` when ``maxiter`` was reached (a
        :class:`~sklearn.exceptions.ConvergenceWarning` is emitted: is the system
        inconsistent?), ``Status.DIVERGED`` for non-finite iterates and
        ``Status.BREAKDOWN`` when ``A = 0`` and ``b ≠ 0``.

    Raises
    ------
    ValueError
        If shapes do not match, an entry is not finite, ``sketch`` is unknown, or a
        number is out of range.
    TypeError
        If ``A`` is a ``LinearOperator`` (rows are needed), an argument has the wrong
        type, or ``callback`` is not callable.

    Notes
    -----
    With ``x0 = 0`` and ``b = 0`` the solution ``x = 0`` is returned at once. Arrays
    from array-API libraries other than NumPy are copied to host memory; ``x`` is
    returned in ``b``'s namespace and on its device.

    References
    ----------
    .. [1] R. M. Gower and P. Richtárik, "Randomized iterative methods for linear
       systems", SIAM J. Matrix Anal. Appl. 36(4), 2015.
    .. [2] D. Needell and J. A. Tropp, "Paved with good intentions: analysis of a
       randomized block Kaczmarz method", Linear Algebra Appl. 441, 2014.
    .. [3] T. Strohmer and R. Vershynin, "A randomized Kaczmarz algorithm with
       exponential convergence", J. Fourier Anal. Appl. 15, 2009.

    Examples
    --------
    An underdetermined system; from ``x0 = 0`` the least-norm solution is found:

    >>> import numpy as np
    >>> from numlearn.linalg import sketch_and_project
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 50))
    >>> b = A @ rng.standard_normal(50)
    >>> res = sketch_and_project(A, b, sketch="kaczmarz", rtol=1e-10, random_state=0)
    >>> res.converged
    True
    >>> x_min_norm = np.linalg.lstsq(A, b, rcond=None)[0]
    >>> bool(np.allclose(res.x, x_min_norm, atol=1e-8))
    True

    Resuming from a previous iterate with a looser absolute tolerance:

    >>> res = sketch_and_project(A, b, sketch="gaussian", block_size=5, x0=res.x,
    ...                          atol=1e-6, random_state=1)
    >>> res.n_iter, res.status.name
    (0, 'SUCCESS')
    """
    problem = _validate(
        A, b, x0, sketch, block_size, rtol, atol, maxiter, random_state, callback, check_every
    )
    monitor = Monitor("sketch_and_project", verbose=verbose, callback=problem["callback"],
                      return_history=bool(return_history), measure="residual norm")
    result = _solve(problem, monitor)
    warn_if_not_converged(result, "sketch_and_project")
    return result


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def _validate(
    A, b, x0, sketch, block_size, rtol, atol, maxiter, random_state, callback, check_every
) -> dict:
    if isinstance(A, LinearOperator):
        raise TypeError(
            "A must be a dense array or a SciPy sparse matrix (sketch-and-project needs "
            "its rows), got a LinearOperator."
        )
    sketch = check_option(sketch, "sketch", SKETCH_AND_PROJECT_SKETCHES)
    A, (m, n) = check_operator(A, "A", square=False)
    if m == 0 or n == 0:
        raise ValueError(f"A must have at least one row and one column, got shape {(m, n)}.")
    out_like = b
    if is_cupy_sparse(A):
        # row sampling on a GPU sparse matrix has no array-API form: solve on the host
        # (one copy of A), hand x back on the device of b
        out_like = to_device(b, A.data) if not hasattr(b, "__array_namespace__") else b
        A = A.get()
    xp = None if sp.issparse(A) else get_namespace(A)
    if xp is not None and not is_numpy_namespace(xp):
        # a dense matrix of another array library (CuPy: the GPU) stays where it is;
        # b and x0 are moved next to it
        A = xp.astype(A, xp.float64)
        b = xp.astype(check_vector(to_device(b, A), "b", m, xp=xp), xp.float64)
        if x0 is None:
            x = xp.zeros(n, dtype=xp.float64, device=device_of(A))
        else:
            x = xp.astype(check_vector(to_device(x0, A), "x0", n, xp=xp), xp.float64, copy=True)
        out_like = A
    else:
        xp = np
        A = _host_matrix(A)
        b_xp = get_namespace(b) if hasattr(b, "__array_namespace__") else np
        b = np.asarray(to_numpy(check_vector(b, "b", m, xp=b_xp)), dtype=np.float64)
        if x0 is None:
            x = np.zeros(n)
        else:
            x0_xp = get_namespace(x0) if hasattr(x0, "__array_namespace__") else np
            x = np.array(to_numpy(check_vector(x0, "x0", n, xp=x0_xp)), dtype=np.float64)
    block_size = check_scalar(block_size, "block_size", kind=int, low=1, high=m)
    rtol = check_scalar(rtol, "rtol", low=0.0)
    atol = check_scalar(atol, "atol", low=0.0)
    n_blocks = math.ceil(m / block_size)
    if maxiter is None:
        cap = _MAXITER_CAP_ROWS if sketch in _ROW_SKETCHES else _MAXITER_CAP_DENSE
        maxiter = min(1000 * n_blocks, cap)
    maxiter = check_scalar(maxiter, "maxiter", kind=int, low=0)
    if check_every is None:
        check_every = n_blocks if sketch in _ROW_SKETCHES else 1
    check_every = check_scalar(check_every, "check_every", kind=int, low=1)
    return dict(
        A=A,
        b=b,
        x=x,
        sketch=sketch,
        block_size=block_size,
        rtol=rtol,
        atol=atol,
        maxiter=maxiter,
        check_every=check_every,
        rng=check_random_state(random_state),
        callback=check_callable(callback, "callback", allow_none=True),
        out_like=out_like,
        xp=xp,
    )


def _host_matrix(A):
    """``A`` as a float64 NumPy array (C-ordered) or canonical float64 CSR matrix."""
    if sp.issparse(A):
        if A.dtype != np.float64:
            A = A.astype(np.float64)
        if not A.has_canonical_format:
            A = A.copy()  # never canonicalize the caller's matrix in place
            A.sum_duplicates()
        return A
    xp = get_namespace(A)
    if not is_numpy_namespace(xp):
        A = to_numpy(A)
    return np.ascontiguousarray(A, dtype=np.float64)


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------
def _solve(p: dict, monitor: Monitor) -> SolverResult:
    """The iteration; ``monitor`` (:class:`~numlearn._monitor.Monitor`) keeps the history,
    reports progress, calls the callback and builds the result (the caller warns)."""
    A, b, x, xp = p["A"], p["b"], p["x"], p["xp"]
    on_host = xp is np
    matvec = as_matvec(A, None if on_host else xp)

    def norm(v) -> float:
        return float(np.linalg.norm(v)) if on_host else float(xp.linalg.vector_norm(v))

    residual_norm = norm(matvec(x) - b)
    b_norm = norm(b)
    reference = b_norm if b_norm > 0 else residual_norm
    tol = max(p["rtol"] * reference, p["atol"])
    if monitor.history is not None:
        monitor.history.append(residual_norm)

    def finish(status, n_iter):
        monitor.finish(residual_norm, n_iter=n_iter)
        return monitor.result(status, n_iter=n_iter, warn=False,
                              x=to_device(x, p["out_like"]), residual_norm=residual_norm)

    if residual_norm <= tol:
        return finish(Status.SUCCESS, 0)
    if not (bool(xp.any(A != 0)) if not on_host else (A.data if sp.issparse(A) else A).any()) \
            or not np.isfinite(residual_norm):
        return finish(Status.BREAKDOWN if np.isfinite(residual_norm) else Status.DIVERGED, 0)

    if not on_host:
        engine = ArrayAPIEngine(A, b, p["sketch"], p["block_size"], p["rng"], xp,
                                row_sketches=_ROW_SKETCHES, sampler_type=_RowSampler,
                                rcond_factor=_RCOND_FACTOR)
    elif p["sketch"] in _ROW_SKETCHES:
        engine = _RowEngine(A, b, p["sketch"], p["block_size"], p["rng"], matvec)
    else:
        engine = _SketchEngine(A, b, p["sketch"], p["block_size"], p["rng"], matvec)
    n_iter, status = 0, Status.MAX_ITER
    while n_iter < p["maxiter"]:
        n_steps = min(p["check_every"], p["maxiter"] - n_iter)
        if on_host:
            engine.run(x, n_steps)
        else:
            x = engine.run(x, n_steps)
        n_iter += n_steps
        residual_norm = norm(engine.residual(x))
        monitor.record(residual_norm, n_iter=n_iter)
        finite = np.all(np.isfinite(x)) if on_host else bool(xp.all(xp.isfinite(x)))
        if not (np.isfinite(residual_norm) and finite):
            status = Status.DIVERGED
            break
        converged = residual_norm <= tol
        if monitor.callback is not None and _callback_stops(monitor, x) and not converged:
            status = Status.CALLBACK_STOP
            break
        if converged:
            status = Status.SUCCESS
            break
    return finish(status, n_iter)


def _callback_stops(monitor: Monitor, x) -> bool:
    """Call the callback with a read-only view of ``x``; True if it raised StopIteration."""
    if not isinstance(x, np.ndarray):  # another namespace: the callback gets a copy
        view = x + 0.0
    else:
        view = x.view()
        view.flags.writeable = False
    return monitor.notify(view)


def _solve_psd(M: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``M⁺ z`` for a small symmetric positive semi-definite ``M``, noise eigenvalues cut."""
    return psd_solve(np.ascontiguousarray(M, dtype=np.float64), z, _RCOND_FACTOR)


# --------------------------------------------------------------------------------------
# row-sampling sketches: kaczmarz, uniform
# --------------------------------------------------------------------------------------
class _RowSampler:
    """Blocks of distinct row indices, drawn uniformly or with given weights."""

    def __init__(self, m: int, block_size: int, weights: np.ndarray | None, rng):
        self.m, self.block_size, self.rng = m, block_size, rng
        if weights is None:
            self.cumulative = self.p = None
            p_max = 1.0 / m
        else:
            self.cumulative = np.cumsum(weights)
            self.p = weights / self.cumulative[-1]
            p_max = float(self.p.max())
        # Drawing i.i.d. candidates and dropping repeats within a block is successive
        # sampling without replacement; it wastes at most half the draws when τ·p_max ≤ ½.
        self.by_rejection = block_size * p_max <= 0.5

    def independent(self, size: int) -> np.ndarray:
        """``size`` i.i.d. row indices."""
        if self.cumulative is None:
            return self.rng.integers(0, self.m, size=size)
        u = self.rng.random(size) * self.cumulative[-1]
        return np.minimum(np.searchsorted(self.cumulative, u, side="right"), self.m - 1)

    def blocks(self, n_blocks: int) -> np.ndarray:
        """``n_blocks × τ`` indices, distinct within each block."""
        out = np.empty((n_blocks, self.block_size), dtype=np.int64)
        if not self.by_rejection:
            # Efraimidis–Spirakis: the τ smallest of E_i / p_i (E_i ~ Exp(1)) are a
            # weighted sample without replacement, the same law as successive sampling;
            # vectorized over blocks, in chunks of about 10^6 keys
            p = np.full(self.m, 1.0 / self.m) if self.p is None else self.p
            with np.errstate(divide="ignore"):
                inv_p = 1.0 / p  # rows of weight zero get key inf: never chosen
            chunk = max(1, 1_000_000 // self.m)
            for start in range(0, n_blocks, chunk):
                stop = min(start + chunk, n_blocks)
                keys = self.rng.exponential(size=(stop - start, self.m)) * inv_p
                part = np.argpartition(keys, self.block_size - 1, axis=1)[:, :self.block_size]
                out[start:stop] = part
            return out
        block, pos = 0, 0
        while block < n_blocks:
            needed = (n_blocks - block) * self.block_size - pos
            candidates = self.independent(needed + needed // 2 + 8).astype(np.int64)
            block, pos = fill_distinct_blocks(candidates, out, block, pos)
        return out


class _RowEngine:
    """Iterations of (block) randomized Kaczmarz, touching only the sampled rows."""

    def __init__(self, A, b, sketch, block_size, rng, matvec):
        self.A, self.b, self.matvec = A, b, matvec
        self.sparse = sp.issparse(A)
        if self.sparse:
            self.row_norms2 = np.asarray(A.multiply(A).sum(axis=1), dtype=np.float64).ravel()
        else:
            self.row_norms2 = np.einsum("ij,ij->i", A, A)
        weights = self.row_norms2 if sketch == "kaczmarz" else None
        if weights is not None:
            block_size = min(block_size, int(np.count_nonzero(weights)))
        self.block_size = block_size
        self.sampler = _RowSampler(A.shape[0], block_size, weights, rng)

    def run(self, x: np.ndarray, n_steps: int) -> None:
        if self.block_size == 1:
            rows = self.sampler.independent(n_steps).astype(np.int64)
            if self.sparse:
                A = self.A
                kaczmarz_epoch_csr(A.indptr, A.indices, A.data, self.b, self.row_norms2, rows, x)
            else:
                kaczmarz_epoch_dense(self.A, self.b, self.row_norms2, rows, x)
            return
        blocks = self.sampler.blocks(n_steps)
        if self.sparse:
            A = self.A
            block_kaczmarz_epoch_csr(A.indptr, A.indices, A.data, self.b, blocks, x, _RCOND_FACTOR)
        else:
            block_kaczmarz_epoch_dense(self.A, self.b, blocks, x, _RCOND_FACTOR)

    def residual(self, x: np.ndarray) -> np.ndarray:
        return self.matvec(x) - self.b


# --------------------------------------------------------------------------------------
# sketches that mix all rows: gaussian, countsketch, sparse_sign
# --------------------------------------------------------------------------------------
class _SketchEngine:
    """Sketch-and-project iterations with a fresh ``SketchOperator`` of the rows each time.

    Keeps the residual of the current iterate, which every iteration needs anyway, so the
    stopping checks cost nothing extra.
    """

    def __init__(self, A, b, sketch, block_size, rng, matvec):
        self.A, self.b, self.matvec = A, b, matvec
        self.kind, self.block_size, self.rng = sketch, block_size, rng
        self.r = None

    def run(self, x: np.ndarray, n_steps: int) -> None:
        A, m = self.A, self.A.shape[0]
        r = self.residual(x)
        for _ in range(n_steps):
            S = SketchOperator._trusted(self.kind, self.block_size, m, self.rng)
            SA = S._apply_unchecked(A)  # dense τ × n
            z = S._apply_unchecked(r[:, None])[:, 0]
            x -= SA.T @ _solve_psd(SA @ SA.T, z)
            r = self.matvec(x) - self.b
        self.r = r

    def residual(self, x: np.ndarray) -> np.ndarray:
        if self.r is None:
            self.r = self.matvec(x) - self.b
        return self.r
