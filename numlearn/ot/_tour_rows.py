"""Tour rows for numlearn.ot (wired into ``numlearn._tour.ROWS`` by the lead)."""

from __future__ import annotations

import time
import warnings

import numpy as np

from numlearn._tour_row import TourRow

__all__ = ["ROWS"]


def _log_sinkhorn_reference(a, b, M, reg, f, g, n_iter):
    """``n_iter`` textbook log-domain Sinkhorn updates (SciPy's logsumexp) from potentials
    ``(f, g)``, ``P = exp((f ⊕ g − M)/reg)``: an implementation independent of ours."""
    from scipy.special import logsumexp

    for _ in range(n_iter):
        f = reg * (np.log(a) - logsumexp((g[None, :] - M) / reg, axis=1))
        g = reg * (np.log(b) - logsumexp((f[:, None] - M) / reg, axis=0))
    return np.exp((f[:, None] + g[None, :] - M) / reg)


def _monotone_coupling_cost(a, b, M):
    """Exact OT cost between histograms on the same sorted 1-D grid for a convex cost of
    ``x − y`` (the monotone, north-west-corner coupling is optimal)."""
    i = j = 0
    ra, rb = a[0], b[0]
    cost = 0.0
    while True:
        mass = min(ra, rb)
        cost += mass * M[i, j]
        ra -= mass
        rb -= mass
        if ra <= rb:
            i += 1
            if i == a.shape[0]:
                return cost
            ra = a[i]
        else:
            j += 1
            if j == b.shape[0]:
                return cost
            rb = b[j]


def _row_sinkhorn_newton_sparse() -> TourRow:
    from numlearn.datasets import ot_gaussian_clouds
    from numlearn.ot import sinkhorn_newton_sparse

    a, b, M = ot_gaussian_clouds(300, random_state=0)
    reg = 1e-3
    with warnings.catch_warnings():  # compile the kernels outside the timing
        warnings.simplefilter("ignore")
        sinkhorn_newton_sparse(None, None, M[:20, :20], reg, max_newton_iter=2)
    start = time.perf_counter()
    res = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-10)
    seconds = time.perf_counter() - start
    # POT's sinkhorn (scaling) stalls near marginal error 3e-8 here and its sinkhorn_log
    # needs minutes: instead, check that our plan is a fixed point of an independent
    # log-domain Sinkhorn map (the fixed point is the unique entropic plan)
    P_ref = _log_sinkhorn_reference(a, b, M, reg, res.f, res.g, 10)
    err = float(np.abs(res.plan - P_ref).sum())
    return TourRow("ot", "sinkhorn_newton_sparse", "2-D Gaussian clouds, reg=1e-3",
                   "300x300", f"{res.n_sinkhorn_iter}+{res.n_newton_iter}", seconds, err,
                   "log-Sinkhorn fixed pt")


def _row_sinkhorn_auto() -> TourRow:
    from numlearn.datasets import ot_grid_1d
    from numlearn.ot import sinkhorn

    a, b, M = ot_grid_1d(100)
    reg = 1e-5  # POT's hard case: exp(-M/reg) underflows almost everywhere
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sinkhorn(None, None, M[:20, :20], reg, max_iter=2)
    start = time.perf_counter()
    res = sinkhorn(a, b, M, reg, tol=1e-9, max_iter=50000)  # method="auto"
    seconds = time.perf_counter() - start
    emd_cost = _monotone_coupling_cost(a, b, M)
    return TourRow("ot", f"sinkhorn (auto: {'+'.join(res.phases)})", "1-D grid dist0, reg=1e-5",
                   "100x100", f"{res.n_sinkhorn_iter}+{res.n_newton_iter}", seconds,
                   abs(res.cost - emd_cost), "exact 1-D OT (cost gap)")


#: (family, solver, row function)
ROWS = [
    ("ot", "sinkhorn_newton_sparse", _row_sinkhorn_newton_sparse),
    ("ot", "sinkhorn", _row_sinkhorn_auto),
]
