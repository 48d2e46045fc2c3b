"""numlearn.linear_model.solve_glm (the working-set engine) beside skglm on non-convex and
structured penalties: MCP, SCAD and the group Lasso, least squares, no intercept.

Same problem, same stopping rule: both stop when the largest distance of ``-∇F`` to the
penalty's subdifferential is at most ``tol = 1e-6``; ``track_objective_difference``
reports ours minus skglm's objective (≤ 0 means ours is at least as low).
Dense: 1000 × 5000 i.i.d. Gaussian; sparse: the 2·10^4 × 5000 (density 1e-3) design of
:mod:`.linear_model`; 20 true nonzeros, ``alpha = alpha_max / 10``.
"""

import numpy as np

from numlearn.linear_model import MCP, SCAD, GroupLasso, Quadratic, solve_glm

from .common import quiet
from .linear_model import make_problem

try:
    from skglm import datafits as sk_datafits
    from skglm import penalties as sk_penalties
    from skglm.solvers import AndersonCD, GroupBCD
except ImportError:  # pragma: no cover
    sk_datafits = None

TOL = 1e-6
GROUP_SIZE = 5


def _dense(seed=0):
    rng = np.random.default_rng(seed)
    n, p = 1000, 5000
    X = np.asfortranarray(rng.standard_normal((n, p)))
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = rng.standard_normal(20)
    return X, X @ w + 0.5 * rng.standard_normal(n)


class NonConvexFit:
    params = (["mcp", "scad", "group"], ["dense", "sparse"])
    param_names = ["penalty", "problem"]
    timeout = 600

    def setup(self, penalty, problem):
        if sk_datafits is None:
            raise NotImplementedError("skglm is not installed")
        self.X, self.y = _dense() if problem == "dense" else make_problem("sparse")[:2]
        n, p = self.X.shape
        alpha = float(np.abs(self.X.T @ self.y).max()) / n / 10
        if penalty == "mcp":
            self.ours, theirs = MCP(alpha, 3.0), sk_penalties.MCPenalty(alpha, 3.0)
        elif penalty == "scad":
            self.ours, theirs = SCAD(alpha, 3.7), sk_penalties.SCAD(alpha, 3.7)
        else:
            self.ours = GroupLasso(alpha, GROUP_SIZE)
            ptr = np.arange(0, p + 1, GROUP_SIZE, dtype=np.int32)
            idx = np.arange(p, dtype=np.int32)
            theirs = sk_penalties.WeightedGroupL2(alpha, np.ones(p // GROUP_SIZE), ptr, idx)
        if penalty == "group":
            solver = GroupBCD(tol=TOL, fit_intercept=False)
            datafit = sk_datafits.QuadraticGroup(ptr, idx)
        else:
            solver = AndersonCD(tol=TOL, fit_intercept=False)
            datafit = sk_datafits.Quadratic()
        self.skglm_fit = lambda: solver.solve(self.X, self.y, datafit, theirs)[0]
        # compile both outside the timings
        quiet(self.time_numlearn, penalty, problem)
        quiet(self.skglm_fit)

    def time_numlearn(self, penalty, problem):
        return solve_glm(self.X, self.y, Quadratic(), self.ours, tol=TOL)

    def time_skglm(self, penalty, problem):
        self.skglm_fit()

    def track_objective_difference(self, penalty, problem):
        ours = self.time_numlearn(penalty, problem)
        w = self.skglm_fit()
        r = self.y - self.X @ w
        return float(ours.objective - ((r @ r) / (2 * r.shape[0]) + self.ours.value(w)))
