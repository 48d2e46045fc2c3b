"""The tuners of numlearn.tuning on parameters other than SOR's ω and on vector contexts:
each learner's total cost over the best fixed value in hindsight (1 = as good as the
hindsight choice), computed once from a cost table (every system x every value)."""

import numpy as np

from numlearn import SolverResult, Status
from numlearn.datasets import poisson_2d, shifted_laplacian_sequence
from numlearn.datasets._sequences import ShiftedLaplacianSequence, _truncated_normal_rhs
from numlearn.linalg import cg, sketch_and_project
from numlearn.linalg.polynomial import chebyshev_preconditioner
from numlearn.tuning import (
    OmegaTuner,
    ParameterTuner,
    default_omegas,
    omega_baselines,
    parameter_baselines,
)

from .common import quiet


def _chebyshev_cg(A, b, *, degree, **options):
    result = cg(A, b, M=chebyshev_preconditioner(A, degree), **options)
    result.matvecs = result.n_iter * (degree + 1)
    return result


def _replay(costs, grid, seed):
    def table_solver(t, **kwargs):
        (value,) = kwargs.values()
        return SolverResult(n_iter=0, converged=True, status=Status.SUCCESS, message="",
                            table_cost=costs[t, grid.index(value)])

    name = "degree" if 0 in grid else "block_size"
    tuner = ParameterTuner(table_solver, name, grid, random_state=seed,
                           cost=lambda r: r.table_cost)
    for t in range(costs.shape[0]):
        tuner.solve(t)
    return float(np.sum(tuner.costs_))


class ParameterTuning:
    """ParameterTuner (Tsallis-INF) on cg's Chebyshev-preconditioner degree (cost:
    matvecs + 2 per iteration; the paper's "high" shifted Laplacians) and on
    sketch_and_project's block size (cost: flops + a matvec per iteration; 3 x 3 grid,
    shifts in [0.2, 4])."""

    params = [[200, 2000], ["degree", "block_size"]]
    param_names = ["n_systems", "parameter"]
    timeout = 900

    def setup(self, n_systems, parameter):
        if parameter == "degree":
            seq = shifted_laplacian_sequence(n_systems=n_systems, offset="high",
                                             random_state=0)
            self.grid = [0, 1, 2, 4, 8]
            self.base = quiet(parameter_baselines, seq, _chebyshev_cg, "degree", self.grid,
                              cost=lambda r: r.matvecs + 2 * r.n_iter, rtol=1e-8)
        else:
            rng = np.random.default_rng(0)
            L = poisson_2d(3)
            seq = ShiftedLaplacianSequence(L, rng.uniform(0.2, 4.0, n_systems),
                                           _truncated_normal_rhs(rng, n_systems, 9))
            nnz = L.nnz + 9

            def solver(A, b, *, block_size, **options):
                r = sketch_and_project(A, b, block_size=block_size, random_state=0,
                                       **options)
                r.flops = r.n_iter * (2 * block_size * nnz + 18 * block_size ** 2
                                      + block_size ** 3 / 3 + 2 * nnz)
                return r

            self.grid = [1, 2, 4, 8]
            self.base = quiet(parameter_baselines, seq, solver, "block_size", self.grid,
                              cost=lambda r: r.flops, rtol=1e-2)

    def track_tuner_over_best_fixed(self, n_systems, parameter):
        total = np.mean([_replay(self.base.costs, self.grid, seed) for seed in range(3)])
        return float(total / self.base.best_fixed_total)

    def track_worst_fixed_over_best_fixed(self, n_systems, parameter):
        return float(self.base.fixed_totals.max() / self.base.best_fixed_total)

    track_tuner_over_best_fixed.unit = "ratio"
    track_worst_fixed_over_best_fixed.unit = "ratio"


class VectorContextLearning:
    """OmegaTuner with KernelCB on anisotropic shifted Laplacians (24 x 4 grid) whose
    context is the pair (log10 ε, shift): total SOR iterations over the best fixed ω and
    over the instance-optimal total."""

    params = [[200, 1000]]
    param_names = ["n_systems"]
    timeout = 600

    def setup(self, n_systems):
        import scipy.sparse as sp

        rng = np.random.default_rng(1)
        Tx = sp.diags([-np.ones(23), 2 * np.ones(24), -np.ones(23)], [-1, 0, 1])
        Ty = sp.diags([-np.ones(3), 2 * np.ones(4), -np.ones(3)], [-1, 0, 1])
        X, Y = sp.kron(Tx, sp.identity(4)), sp.kron(sp.identity(24), Ty)
        self.systems = []
        for _ in range(n_systems):
            log_eps, shift = rng.uniform(-2, 2), rng.uniform(0.0, 0.3)
            A = (X + 10 ** log_eps * Y + shift * sp.identity(96)).tocsr()
            self.systems.append((A, rng.standard_normal(96), (log_eps, shift)))
        self.base = quiet(omega_baselines, self.systems)
        lookup = {id(A): t for t, (A, _, _) in enumerate(self.systems)}
        omegas = list(default_omegas())
        costs = self.base.costs

        def table_solver(A, b, omega, x0=None):
            return SolverResult(n_iter=int(costs[lookup[id(A)], omegas.index(omega)]),
                                converged=True, status=Status.SUCCESS, message="")

        tuner = OmegaTuner(solver=table_solver, learner="kernel-cb",
                           context_range=[(-2, 2), (0, 0.3)], random_state=0)
        tuner.solve_sequence(self.systems)
        self.total = float(np.sum(tuner.costs_))

    def track_kernelcb_over_best_fixed(self, n_systems):
        return self.total / self.base.best_fixed_total

    def track_kernelcb_over_instance_optimal(self, n_systems):
        return self.total / self.base.instance_optimal_total

    def track_best_fixed_over_instance_optimal(self, n_systems):
        return self.base.best_fixed_total / self.base.instance_optimal_total
