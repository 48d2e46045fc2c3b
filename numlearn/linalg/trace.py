"""Stochastic trace estimation from matrix-vector products: Hutchinson and Hutch++."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator

from numlearn._backend import get_namespace, to_device, to_numpy
from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import check_option, check_random_state, check_scalar
from numlearn._validation import suggest_keywords
from numlearn.linalg._operators import as_matvec, square_operator

__all__ = ["hutchinson_trace"]

_DISTRIBUTIONS = ("rademacher", "gaussian")
_METHODS = ("hutchinson", "hutch++")


def _draw(rng: np.random.Generator, shape: tuple[int, int], distribution: str) -> np.ndarray:
    """Random probe vectors, one per row, in float64 NumPy."""
    if distribution == "rademacher":
        return rng.integers(0, 2, size=shape).astype(np.float64) * 2.0 - 1.0
    return rng.standard_normal(shape)


class _BlockApply:
    """Apply ``A`` to the rows of an ``(s, n)`` block and return the ``(s, n)`` block of
    products: one call on the ``(n, s)`` transpose when ``batched``, else one call per
    row. Counts products and checks output shapes."""

    def __init__(self, op: Any, n: int, xp, batched: bool):
        if batched and isinstance(op, LinearOperator):
            self.f = op.matmat
        else:
            self.f = as_matvec(op, xp=xp)
        self.n = n
        self.xp = xp
        self.batched = batched
        self.count = 0

    def __call__(self, Z):
        xp, n = self.xp, self.n
        s = Z.shape[0]
        self.count += s
        if self.batched:
            out = self.f(Z.T)
            if not hasattr(out, "shape"):
                out = xp.asarray(out)
            if tuple(out.shape) != (n, s):
                raise ValueError(
                    f"with batched=True, matvec must map an ({n}, {s}) block to an "
                    f"({n}, {s}) block, got shape {tuple(out.shape)}."
                )
            return out.T
        rows = []
        for i in range(s):
            out = self.f(Z[i, :])
            if not hasattr(out, "shape"):
                out = xp.asarray(out)
            if tuple(out.shape) not in ((n,), (n, 1)):
                raise ValueError(
                    f"matvec must return a vector of shape ({n},), got shape {tuple(out.shape)}."
                )
            rows.append(xp.reshape(out, (n,)))
        return xp.stack(rows, axis=0)


def _quadratic_forms(Z, AZ, xp) -> np.ndarray:
    """``z_i . (A z_i)`` for the rows of ``Z``, as a float64 NumPy array."""
    values = np.asarray(to_numpy(xp.sum(Z * AZ, axis=1)), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("matvec returned NaN or infinite values; the operator must be finite.")
    return values


def _mean_and_std_error(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 0.0
    mean = float(np.mean(values))
    if values.size < 2:
        return mean, 0.0
    return mean, float(np.std(values, ddof=1) / math.sqrt(values.size))


@suggest_keywords
def hutchinson_trace(
    matvec: Any,
    n: int,
    *,
    n_samples: int = 100,
    random_state: Any = None,
    distribution: str = "rademacher",
    method: str = "hutchinson",
    batched: bool = False,
    xp: Any = None,
) -> SolverResult:
    """Estimate the trace of a square operator from matrix-vector products.

    Hutchinson's estimator averages ``z^T A z`` over random probes ``z`` with
    ``E[z z^T] = I``. Hutch++ first spends a third of the products on a sketch
    ``Q = orth(A S)`` of the range of ``A``, takes ``trace(Q^T A Q)`` exactly, and uses
    Hutchinson only on the deflated rest ``(I - Q Q^T) A (I - Q Q^T)``: for matrices whose
    spectrum decays it needs ``O(1/eps)`` instead of ``O(1/eps^2)`` products for a
    relative error ``eps``.

    Parameters
    ----------
    matvec : callable, array, sparse matrix or LinearOperator
        The operator ``A``: a callable ``v -> A @ v`` on vectors of length ``n`` (on
        ``(n, s)`` blocks when ``batched``), or a dense array (any array-API namespace),
        a SciPy sparse matrix or a :class:`~scipy.sparse.linalg.LinearOperator` of shape
        ``(n, n)``. It need not be symmetric.
    n : int
        Dimension of the operator, ``n >= 1``.
    n_samples : int, default=100
        Number of products with ``A`` to spend: ``n_samples >= 1`` (``>= 3`` for
        Hutch++, which splits them into ``n_samples // 3`` sketch products, as many to
        apply ``A`` to the sketch basis, and the rest for Hutchinson probes).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Source of the probe vectors; the same seed gives the same estimate, batched or
        not.
    distribution : {"rademacher", "gaussian"}, default="rademacher"
        Entries of the probe vectors: random signs (the smaller variance,
        ``2 (||A||_F^2 - sum_i a_ii^2)`` per probe for symmetric ``A``), or standard
        normal (``2 ||A||_F^2``).
    method : {"hutchinson", "hutch++"}, default="hutchinson"
        The estimator.
    batched : bool, default=False
        If True, ``matvec`` is called once per block with an ``(n, s)`` array and must
        return ``A @ block``; a LinearOperator is applied with its ``matmat``.
    xp : array namespace, optional
        Namespace in which the probes live and ``matvec`` is called (e.g. ``cupy``).
        Defaults to the namespace of an array ``matvec``, else NumPy. Probes are drawn
        with NumPy and moved to it.

    Returns
    -------
    result : SolverResult
        With fields

        ``trace`` : float
            The estimate.
        ``std_error`` : float
            Sample standard error of the Hutchinson part (the whole estimate for
            ``method="hutchinson"``; the deflated remainder for Hutch++), 0 when fewer
            than two probes were used.
        ``n_matvec`` : int
            Products with ``A`` (columns of blocks count one each).
        ``n_samples`` : int
            Hutchinson probes averaged (``n_samples`` for Hutchinson; what is left
            after the sketch for Hutch++).
        ``n_iter``, ``converged``, ``status``, ``message``
            The estimator is not iterative: ``n_iter`` equals ``n_matvec`` and the
            status is ``SUCCESS``.

    Raises
    ------
    ValueError
        If ``n`` or ``n_samples`` is out of range, ``distribution`` or ``method`` is
        unknown, an array ``matvec`` is not ``(n, n)``, or ``matvec`` returns arrays of
        the wrong shape or with NaN or infinite entries.
    TypeError
        If ``matvec`` is neither callable nor an operator, or ``batched`` is not a bool.

    References
    ----------
    .. [1] M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix
       for Laplacian smoothing splines", Comm. Statist. Simulation Comput. 18(3),
       1059-1076, 1989.
    .. [2] R. A. Meyer, C. Musco, C. Musco and D. P. Woodruff, "Hutch++: Optimal
       stochastic trace estimation", Symposium on Simplicity in Algorithms (SOSA), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linalg import hutchinson_trace
    >>> A = np.diag(np.arange(1.0, 11.0))
    >>> res = hutchinson_trace(A, 10, n_samples=20, random_state=0)
    >>> res.trace  # Rademacher probes are exact on diagonal matrices
    55.0

    Hutch++ on a nearly low-rank matrix, with the same number of products:

    >>> rng = np.random.default_rng(0)
    >>> U = rng.standard_normal((500, 10))
    >>> A = U @ U.T + 1e-3 * np.eye(500)
    >>> plain = hutchinson_trace(A, 500, n_samples=60, random_state=1)
    >>> pp = hutchinson_trace(A, 500, n_samples=60, random_state=1, method="hutch++")
    >>> bool(abs(pp.trace - np.trace(A)) < 0.01 * abs(plain.trace - np.trace(A)))
    True
    """
    n = check_scalar(n, "n", kind=int, low=1)
    n_samples = check_scalar(n_samples, "n_samples", kind=int, low=1)
    distribution = check_option(distribution, "distribution", _DISTRIBUTIONS)
    method = check_option(method, "method", _METHODS)
    if method == "hutch++" and n_samples < 3:
        raise ValueError(f"n_samples must be >= 3 for method='hutch++', got {n_samples}.")
    if not isinstance(batched, (bool, np.bool_)):
        raise TypeError(f"batched must be a bool, got {type(batched).__name__}.")
    rng = check_random_state(random_state)
    op, dense = square_operator(matvec, n)
    if xp is None:
        xp = get_namespace(dense)
    like = dense if dense is not None else xp.empty(0)
    apply = _BlockApply(op, n, xp, bool(batched))

    def probes(s: int):
        return to_device(_draw(rng, (s, n), distribution), like)

    if method == "hutchinson":
        Z = probes(n_samples)
        estimate, std_error = _mean_and_std_error(_quadratic_forms(Z, apply(Z), xp))
        n_probes = n_samples
    else:
        n_sketch = n_samples // 3
        S = probes(n_sketch)
        G = probes(n_samples - 2 * n_sketch)
        Q, _ = xp.linalg.qr(apply(S).T)  # (n, r), r = min(n, n_sketch)
        Qt = Q.T
        exact = float(np.sum(_quadratic_forms(Qt, apply(Qt), xp)))
        if Qt.shape[0] == n:  # n <= n_sketch: Q is square orthogonal, the trace is exact
            estimate, std_error, n_probes = exact, 0.0, 0
        else:
            G = G - (G @ Q) @ Qt
            rest, std_error = _mean_and_std_error(_quadratic_forms(G, apply(G), xp))
            estimate = exact + rest
            n_probes = G.shape[0]
    return make_result(
        status=Status.SUCCESS,
        n_iter=apply.count,
        trace=float(estimate),
        std_error=float(std_error),
        n_matvec=apply.count,
        n_samples=n_probes,
    )

