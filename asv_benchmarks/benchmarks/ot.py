"""numlearn.ot against POT on entropic OT between 2-D Gaussian clouds.

Problem: n source and n target points (N(0, I) and N(2, I)), uniform weights, squared
Euclidean cost divided by its maximum. Same accuracy: every solver stops at marginal
error 1e-8 -- ours measure ‖P1 - a‖₁ + ‖Pᵀ1 - b‖₁ (both marginals, L1), POT's ``sinkhorn``
the weaker ‖Pᵀ1 - b‖₂; ``track_*_marginal_error`` records the L1 error each one reaches.
POT's ``sinkhorn_log`` needs ~0.3 s per iteration at n = 1000 (thousands of iterations at
reg = 1e-3), so it is compared per iteration (10 iterations each) rather than to
tolerance.
"""

import numpy as np
import ot

from numlearn.datasets import ot_gaussian_clouds
from numlearn.ot import sinkhorn, sinkhorn_newton_sparse

from .common import quiet

TOL = 1e-8


def _marginal_error(P, a, b):
    return float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


class EntropicOTToTolerance:
    """SNS and log-domain Sinkhorn vs POT's ``sinkhorn`` (and ``ot.emd`` for context)."""

    params = [[500, 1000, 2000, 4000], [1e-2, 1e-3]]
    param_names = ["n", "reg"]
    timeout = 900

    def setup(self, n, reg):
        self.a, self.b, self.M = ot_gaussian_clouds(n, random_state=0)
        small = self.M[:20, :20]  # compile the Numba kernels outside the timing
        quiet(sinkhorn_newton_sparse, None, None, small, reg, max_newton_iter=2)
        quiet(sinkhorn, None, None, small, reg, max_iter=2)

    def _sns(self, reg):
        return quiet(sinkhorn_newton_sparse, self.a, self.b, self.M, reg, tol=TOL)

    def _log(self, reg):
        return quiet(sinkhorn, self.a, self.b, self.M, reg, tol=TOL, max_iter=100000)

    def _pot(self, reg):
        return quiet(ot.sinkhorn, self.a, self.b, self.M, reg, numItermax=100000,
                     stopThr=TOL, log=True)

    def time_numlearn_sns(self, n, reg):
        self._sns(reg)

    def time_numlearn_sinkhorn_log(self, n, reg):
        self._log(reg)

    def time_pot_sinkhorn(self, n, reg):
        self._pot(reg)

    def time_pot_emd(self, n, reg):
        ot.emd(self.a, self.b, self.M, numItermax=10**7)

    def track_numlearn_sns_iterations(self, n, reg):
        return self._sns(reg).n_iter

    def track_numlearn_sinkhorn_log_iterations(self, n, reg):
        return self._log(reg).n_iter

    def track_pot_sinkhorn_iterations(self, n, reg):
        return int(self._pot(reg)[1]["niter"])

    def track_numlearn_sns_marginal_error(self, n, reg):
        return self._sns(reg).marginal_error

    def track_pot_sinkhorn_marginal_error(self, n, reg):
        return _marginal_error(self._pot(reg)[0], self.a, self.b)

    def track_plan_difference_sns_vs_pot(self, n, reg):
        return float(np.abs(self._sns(reg).plan - self._pot(reg)[0]).sum())


class LogSinkhornIteration:
    """Ten log-domain Sinkhorn iterations: ours (Numba) vs POT's ``sinkhorn_log``."""

    params = [[500, 1000, 2000], [1e-2, 1e-3]]
    param_names = ["n", "reg"]
    timeout = 600
    n_iter = 10

    def setup(self, n, reg):
        self.a, self.b, self.M = ot_gaussian_clouds(n, random_state=0)
        quiet(sinkhorn, None, None, self.M[:20, :20], reg, max_iter=2)

    def time_numlearn_sinkhorn_log(self, n, reg):
        quiet(sinkhorn, self.a, self.b, self.M, reg, tol=0.0, max_iter=self.n_iter)

    def time_pot_sinkhorn_log(self, n, reg):
        quiet(ot.bregman.sinkhorn_log, self.a, self.b, self.M, reg, numItermax=self.n_iter,
              stopThr=0.0)

    def time_pot_sinkhorn(self, n, reg):
        quiet(ot.sinkhorn, self.a, self.b, self.M, reg, numItermax=self.n_iter, stopThr=0.0)
