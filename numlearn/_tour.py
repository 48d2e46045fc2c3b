"""The tour: run every capability of numlearn on a built-in problem and tabulate it.

Each capability registers a *row*: a function that builds a problem, solves it, checks
the answer against an independent reference and returns a :class:`TourRow`. New solver
families add their rows to :data:`ROWS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from numlearn._tour_row import TourRow, timed

__all__ = ["TourRow", "ROWS", "run_tour", "format_table"]


_timed = timed


def _row_cg() -> TourRow:
    import scipy.sparse.linalg as spla

    from numlearn.datasets import poisson_2d
    from numlearn.linalg import cg

    A = poisson_2d(200)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    with warnings.catch_warnings():  # compile the kernels outside the timing
        warnings.simplefilter("ignore")
        cg(A, b, maxiter=1)
    res, seconds = _timed(lambda: cg(A, b, rtol=1e-10))
    x_ref = spla.spsolve(A.tocsc(), b)
    err = np.linalg.norm(res.x - x_ref) / np.linalg.norm(x_ref)
    return TourRow("linalg", "cg", "2-D Poisson", f"n={A.shape[0]}", str(res.n_iter),
                   seconds, err, "scipy spsolve")


def _row_lanczos() -> TourRow:
    from numlearn.datasets import poisson_2d
    from numlearn.datasets._poisson import poisson_2d_eigenvalues
    from numlearn.linalg import lanczos_eigsh

    # The top eigenvalue is simple, the next one double: a single-vector Krylov method
    # finds one copy of it, so k=2 is the honest request here.
    A = poisson_2d(100)
    res, seconds = _timed(lambda: lanczos_eigsh(A, A.shape[0], k=2, random_state=0))
    exact = poisson_2d_eigenvalues(100)[-2:]
    err = float(np.max(np.abs(np.sort(res.eigenvalues) - exact) / exact))
    return TourRow("linalg", "lanczos_eigsh", "2-D Poisson top-2", f"n={A.shape[0]}",
                   f"{res.n_matvec} matvecs", seconds, err, "closed form")


def _row_trace() -> TourRow:
    from numlearn.linalg import hutchinson_trace

    rng = np.random.default_rng(1)
    n, rank = 2000, 20
    U = rng.standard_normal((n, rank))
    A = U @ U.T + 1e-2 * np.eye(n)
    res, seconds = _timed(
        lambda: hutchinson_trace(A, n, n_samples=90, method="hutch++", random_state=0)
    )
    exact = float(np.trace(A))
    return TourRow("linalg", "hutchinson_trace (hutch++)", "low rank + ridge", f"n={n}",
                   f"{res.n_matvec} matvecs", seconds, abs(res.trace - exact) / exact,
                   "numpy trace")


def _row_sketch_and_project() -> TourRow:
    from numlearn.linalg import sketch_and_project

    rng = np.random.default_rng(2)
    A = rng.standard_normal((200, 500))
    b = A @ rng.standard_normal(500)
    res, seconds = _timed(
        lambda: sketch_and_project(A, b, sketch="kaczmarz", block_size=20, rtol=1e-8,
                                   random_state=0)
    )
    x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    err = np.linalg.norm(res.x - x_ref) / np.linalg.norm(x_ref)
    return TourRow("linalg", "sketch_and_project (block Kaczmarz)", "least-norm solution",
                   "200x500", str(res.n_iter), seconds, err, "numpy lstsq")


def _row_sketch() -> TourRow:
    from numlearn.linalg import sketch_operator

    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((20000, 20)))
    S = sketch_operator("sparse_sign", 400, Q.shape[0], random_state=0)
    SQ, seconds = _timed(lambda: S @ Q)
    singular_values = np.linalg.svd(SQ, compute_uv=False)
    distortion = float(np.max(np.abs(singular_values - 1.0)))
    return TourRow("linalg", "sketch_operator (sparse sign)", "subspace embedding",
                   "20000x20 -> 400", "-", seconds, distortion, "distortion |s-1|")


def _row_sor() -> TourRow:
    import scipy.sparse.linalg as spla

    from numlearn.datasets import poisson_2d
    from numlearn.linalg import optimal_omega, sor

    A = poisson_2d(64)
    b = np.random.default_rng(4).standard_normal(A.shape[0])
    with warnings.catch_warnings():  # compile the kernels outside the timing
        warnings.simplefilter("ignore")
        sor(A, b, maxiter=1)
    omega = optimal_omega(A)
    res, seconds = _timed(lambda: sor(A, b, omega, rtol=1e-10))
    x_ref = spla.spsolve(A.tocsc(), b)
    err = np.linalg.norm(res.x - x_ref) / np.linalg.norm(x_ref)
    return TourRow("linalg", f"sor (omega*={omega:.3f})", "2-D Poisson", f"n={A.shape[0]}",
                   str(res.n_iter), seconds, err, "scipy spsolve")


def _row_omega_tuner() -> TourRow:
    import scipy.sparse.linalg as spla

    from numlearn.datasets import shifted_laplacian_sequence
    from numlearn.linalg import sor
    from numlearn.tuning import OmegaTuner

    seq = shifted_laplacian_sequence(n_systems=300, offset="low", random_state=0)
    with warnings.catch_warnings():  # compile the kernels outside the timing
        warnings.simplefilter("ignore")
        sor(seq[0].A, seq[0].b, maxiter=1)
    tuner = OmegaTuner(learner="chebcb", context_range=seq.context_range, random_state=0)
    results, seconds = _timed(lambda: tuner.solve_sequence(seq))
    gauss_seidel = np.mean([sor(s.A, s.b, 1.0).n_iter for s in seq])
    last = seq[len(seq) - 1]
    x_ref = spla.spsolve(last.A.tocsc(), last.b)
    err = np.linalg.norm(results[-1].x - x_ref) / np.linalg.norm(x_ref)
    return TourRow("tuning", "OmegaTuner (ChebCB)", "300 shifted Laplacians", "n=100",
                   f"{np.mean(tuner.costs_):.0f}/system (w=1: {gauss_seidel:.0f})", seconds,
                   err, "scipy spsolve")


def _row_altmin() -> TourRow:
    from numlearn.completion import altmin

    rng = np.random.default_rng(5)
    m, n, k = 1000, 800, 5
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    lin = rng.choice(m * n, size=int(5 * k * (m + n) * np.log(n)), replace=False)
    rows, cols = np.divmod(lin, n)
    obs = (rows, cols, np.einsum("ij,ij->i", U[rows], V[cols]), (m, n))
    with warnings.catch_warnings():  # compile the kernels outside the timing
        warnings.simplefilter("ignore")
        altmin(obs, k, max_iter=1, tol=0.0, init=(U, V))
    res, seconds = _timed(lambda: altmin(obs, k, tol=1e-10, random_state=0))
    M = U @ V.T
    err = np.linalg.norm(res.U @ res.V.T - M) / np.linalg.norm(M)
    return TourRow("completion", "altmin (cholesky)", "exact low-rank recovery",
                   f"{m}x{n} k={k}, {obs[2].size} obs", str(res.n_iter), seconds, err,
                   "true matrix")


#: (family, solver, row function): the family and solver name let ``--only`` pick rows
#: without running the others.
ROWS: list[tuple[str, str, Callable[[], TourRow]]] = [
    ("linalg", "cg", _row_cg),
    ("linalg", "sor", _row_sor),
    ("linalg", "lanczos_eigsh", _row_lanczos),
    ("linalg", "hutchinson_trace", _row_trace),
    ("linalg", "sketch_and_project", _row_sketch_and_project),
    ("linalg", "sketch_operator", _row_sketch),
    ("tuning", "OmegaTuner", _row_omega_tuner),
    ("completion", "altmin", _row_altmin),
]


def _extend_rows() -> None:
    """Add the rows each solver family keeps in its own ``_tour_rows`` module."""
    from numlearn.dynamics._tour_rows import ROWS as dynamics_rows
    from numlearn.linear_model._tour_rows import ROWS as linear_model_rows
    from numlearn.optimize._tour_rows import ROWS as optimize_rows
    from numlearn.ot._tour_rows import ROWS as ot_rows

    at = next(i for i, row in enumerate(ROWS) if row[0] == "completion")
    ROWS[at:at] = optimize_rows + linear_model_rows + ot_rows
    ROWS.extend(dynamics_rows)


_extend_rows()


def run_tour(only: list[str] | None = None) -> list[TourRow]:
    """Run the rows (all, or those whose family or solver name contains a word of ``only``)."""
    return [
        make()
        for family, solver, make in ROWS
        if not only or any(word in family or word in solver for word in only)
    ]


def format_table(rows: list[TourRow]) -> str:
    """Render rows as a fixed-width text table."""
    header = ("family", "solver", "problem", "size", "iterations", "time [s]", "error",
              "reference")
    body = [
        (r.family, r.solver, r.problem, r.size, r.iterations, f"{r.seconds:.3f}",
         f"{r.error:.2e}", r.reference)
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(cells) for cells in body]
    return "\n".join(out)
