"""Tour rows of numlearn.optimize (wired into ``numlearn._tour.ROWS`` by the lead)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

from numlearn._tour_row import TourRow

__all__ = ["ROWS"]


def _solve(p, **kwargs):
    from numlearn.optimize import minimize_eq

    return minimize_eq(p.fun, p.x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                       random_state=0, **kwargs)


def _row_hock_schittkowski() -> TourRow:
    """All 18 HS equality problems with randomized Kaczmarz; error: max |f − f*|."""
    from numlearn.datasets import HS_PROBLEM_NAMES, hock_schittkowski

    problems = [hock_schittkowski(name) for name in HS_PROBLEM_NAMES]
    _solve(hock_schittkowski("HS48"), sketch="kaczmarz")  # compile the kernels
    start = time.perf_counter()
    results = [_solve(p, sketch="kaczmarz") for p in problems]
    seconds = time.perf_counter() - start
    err = max(abs(r.fun - p.f_opt) if r.success else np.inf
              for r, p in zip(results, problems))
    n_iter = sum(r.nit for r in results)
    n_inner = sum(r.n_inner for r in results)
    return TourRow("optimize", "minimize_eq (Kaczmarz)", "18 Hock-Schittkowski eq. problems",
                   "n<=7, m<=4", f"{n_iter} outer / {n_inner} sketch", seconds, err,
                   "published optima")


def _row_constrained_logistic() -> TourRow:
    """Breast-cancer logistic regression with Aw = b, ‖w‖ = 1; error: |f − f_trust-constr|."""
    from scipy.optimize import minimize
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from numlearn.datasets import constrained_logistic_problem

    X, y = load_breast_cancer(return_X_y=True)
    p = constrained_logistic_problem(StandardScaler().fit_transform(X), y, random_state=0)
    start = time.perf_counter()
    res = _solve(p, sketch="countsketch")
    seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = minimize(p.fun, p.x0, jac=p.jac, hess=p.hess, method="trust-constr",
                       constraints=[p.nonlinear_constraint()],
                       options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 2000})
    err = abs(res.fun - ref.fun) if res.success else np.inf
    return TourRow("optimize", "minimize_eq (CountSketch)", "constrained logistic regr.",
                   f"569x{p.n}, m={p.m}", f"{res.nit} outer / {res.n_inner} sketch", seconds,
                   err, "scipy trust-constr")


def _row_pde_control() -> TourRow:
    """PDE control at N = 64 with exact inner solves; error: relative error of x."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    from numlearn.datasets import pde_control_problem

    p = pde_control_problem(64)
    start = time.perf_counter()
    res = _solve(p, sketch="direct")
    seconds = time.perf_counter() - start
    nn = 64 * 64
    lap = p.cons_jac(p.x0)[:, :nn]
    w_star = -p.jac(np.zeros(2 * nn))[:nn]
    w = spsolve((sp.identity(nn) + 0.1 * lap @ lap).tocsc(), w_star)  # z = −Δw eliminated
    x_ref = np.r_[w, -lap @ w]
    err = float(np.linalg.norm(res.x - x_ref) / np.linalg.norm(x_ref))
    return TourRow("optimize", "minimize_eq (direct inner)", "PDE-constrained control",
                   f"n={p.n}, m={p.m}", f"{res.nit} outer", seconds, err,
                   "reduced system, spsolve")


#: (family, solver, row function), as in :data:`numlearn._tour.ROWS`.
ROWS: list[tuple[str, str, Callable[[], TourRow]]] = [
    ("optimize", "minimize_eq", _row_hock_schittkowski),
    ("optimize", "minimize_eq", _row_constrained_logistic),
    ("optimize", "minimize_eq", _row_pde_control),
]
