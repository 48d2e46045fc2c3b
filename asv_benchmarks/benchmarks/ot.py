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
from numlearn.ot import sinkhorn, sinkhorn_newton_sparse, sinkhorn_sample, sinkhorn_unbalanced

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


# ---------------------------------------------------------------------------------------
# method="auto" (the default) against POT's ot.sinkhorn at the same stopping threshold
# ---------------------------------------------------------------------------------------
class AutoSinkhornVsPOT:
    """``sinkhorn(a, b, M, reg)`` (default ``method="auto"``) beside POT's ``ot.sinkhorn``,
    both stopped at threshold 1e-9 (ours: L1 error of both marginals, checked every 10
    iterations; POT: L2 error of the column marginal, every 10 iterations);
    ``track_*_marginal_error`` records the L1 error each reaches. At reg = 1e-3 POT's
    scaling runs thousands of iterations (minutes at n = 1000), so that size is
    parametrized separately (``AutoSinkhornSmallReg``)."""

    params = [[100, 500, 1000, 4000], [1e-1, 1e-2]]
    param_names = ["n", "reg"]
    timeout = 600

    def setup(self, n, reg):
        self.a, self.b, self.M = ot_gaussian_clouds(n, random_state=0)
        quiet(sinkhorn, None, None, self.M[:20, :20], reg, max_iter=20)
        quiet(sinkhorn, None, None, self.M[:20, :20], 1e-4, max_iter=20)

    def _ours(self, reg):
        return quiet(sinkhorn, self.a, self.b, self.M, reg, tol=1e-9, max_iter=100000)

    def _pot(self, reg):
        return quiet(ot.sinkhorn, self.a, self.b, self.M, reg, stopThr=1e-9,
                     numItermax=100000)

    def time_numlearn_auto(self, n, reg):
        self._ours(reg)

    def time_pot_sinkhorn(self, n, reg):
        self._pot(reg)

    def peakmem_numlearn_auto(self, n, reg):
        self._ours(reg)

    def peakmem_pot_sinkhorn(self, n, reg):
        self._pot(reg)

    def track_numlearn_auto_marginal_error(self, n, reg):
        return self._ours(reg).marginal_error

    def track_pot_sinkhorn_marginal_error(self, n, reg):
        return _marginal_error(self._pot(reg), self.a, self.b)


class AutoSinkhornSmallReg:
    """``method="auto"`` where Sinkhorn is slow (reg = 1e-3, 1e-4): ours to marginal
    error 1e-8, POT's ``ot.sinkhorn`` capped at 10000 iterations (it does not converge
    at 1e-4: its kernel underflows)."""

    params = [[200, 1000], [1e-3, 1e-4]]
    param_names = ["n", "reg"]
    timeout = 900

    def setup(self, n, reg):
        self.a, self.b, self.M = ot_gaussian_clouds(n, random_state=0)
        quiet(sinkhorn, None, None, self.M[:20, :20], reg, max_iter=20)

    def _ours(self, reg):
        return quiet(sinkhorn, self.a, self.b, self.M, reg, tol=1e-8)

    def _pot(self, reg):
        return quiet(ot.sinkhorn, self.a, self.b, self.M, reg, stopThr=1e-8,
                     numItermax=10000)

    def time_numlearn_auto(self, n, reg):
        self._ours(reg)

    def time_pot_sinkhorn(self, n, reg):
        self._pot(reg)

    def track_numlearn_auto_marginal_error(self, n, reg):
        return self._ours(reg).marginal_error

    def track_pot_sinkhorn_marginal_error(self, n, reg):
        return _marginal_error(self._pot(reg), self.a, self.b)


class UnbalancedVsPOT:
    """``sinkhorn_unbalanced`` beside POT's ``ot.unbalanced.sinkhorn_unbalanced`` at the
    same tolerance 1e-9 (both: the relative change of the scalings between iterations);
    ``track_*_plan_error`` is the L1 distance to a plan solved to 1e-14."""

    params = [[200, 1000], [1e-1, 1e-2], [0.1, 1.0, 10.0]]
    param_names = ["n", "reg", "reg_m"]
    timeout = 600

    def setup(self, n, reg, reg_m):
        a, b, self.M = ot_gaussian_clouds(n, random_state=0)
        self.a, self.b = a, 2.0 * b
        quiet(sinkhorn_unbalanced, None, None, self.M[:20, :20], reg, reg_m=reg_m)
        self.ref = quiet(sinkhorn_unbalanced, self.a, self.b, self.M, reg, reg_m=reg_m,
                         tol=1e-14, max_iter=100000).plan

    def _ours(self, reg, reg_m):
        return quiet(sinkhorn_unbalanced, self.a, self.b, self.M, reg, reg_m=reg_m,
                     tol=1e-9, max_iter=100000)

    def _pot(self, reg, reg_m):
        return quiet(ot.unbalanced.sinkhorn_unbalanced, self.a, self.b, self.M, reg, reg_m,
                     stopThr=1e-9, numItermax=100000)

    def time_numlearn_unbalanced(self, n, reg, reg_m):
        self._ours(reg, reg_m)

    def time_pot_unbalanced(self, n, reg, reg_m):
        self._pot(reg, reg_m)

    def track_numlearn_plan_error(self, n, reg, reg_m):
        return float(np.abs(self._ours(reg, reg_m).plan - self.ref).sum())

    def track_pot_plan_error(self, n, reg, reg_m):
        return float(np.abs(self._pot(reg, reg_m) - self.ref).sum())


class SampleVsPOTLazy:
    """``sinkhorn_sample`` (cost on the fly) beside POT's ``ot.solve_sample(...,
    lazy=True)`` on Gaussian clouds (N(0, I) and N(1, I), squared Euclidean cost,
    reg = 1), both to tolerance 1e-6. POT's lazy solver is only run up to n = 2000 (it
    takes ~40 s there on a loaded 2-core machine, more than 10x ours); ``peakmem_``
    shows memory O(n + m) for ours."""

    params = [[500, 2000, 10000, 100000], [2, 10]]
    param_names = ["n", "d"]
    timeout = 1800

    def setup(self, n, d):
        rng = np.random.default_rng(0)
        self.Xs = rng.standard_normal((n, d))
        self.Xt = rng.standard_normal((n, d)) + 1.0
        quiet(sinkhorn_sample, self.Xs[:20], self.Xt[:20], 1.0)

    def time_numlearn_sinkhorn_sample(self, n, d):
        quiet(sinkhorn_sample, self.Xs, self.Xt, 1.0, tol=1e-6)

    def peakmem_numlearn_sinkhorn_sample(self, n, d):
        quiet(sinkhorn_sample, self.Xs, self.Xt, 1.0, tol=1e-6)

    def time_pot_solve_sample_lazy(self, n, d):
        if n > 2000:
            raise NotImplementedError("POT's lazy solver takes minutes at this size")
        quiet(ot.solve_sample, self.Xs, self.Xt, reg=1.0, lazy=True, tol=1e-6,
              max_iter=10000)

    def track_numlearn_iterations(self, n, d):
        return quiet(sinkhorn_sample, self.Xs, self.Xt, 1.0, tol=1e-6).n_iter
