"""SOR sweeps against pyamg's C++ relaxations, and a whole Heat2D sequence solved with a
learned ω against fixed ω = 1 and unpreconditioned SciPy CG."""

import time

import numpy as np
import scipy.sparse.linalg as spla

from numlearn.datasets import Heat2D, poisson_2d
from numlearn.linalg import sor, ssor_cg
from numlearn.linalg._sor_kernels import sor_forward, sor_forward_residual, sor_split
from numlearn.tuning import OmegaTuner

from .common import quiet

try:
    from pyamg.relaxation.relaxation import gauss_seidel as pyamg_gauss_seidel
    from pyamg.relaxation.relaxation import sor as pyamg_sor
except ImportError:  # pragma: no cover - pyamg is in the bench extras
    pyamg_gauss_seidel = pyamg_sor = None


def _best_seconds(fn, repeat=7):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


class SORSweep:
    """One forward sweep on the 2-D Poisson matrix (10^5 and 10^6 unknowns).

    Bytes a sweep must move: ``B = ωD⁻¹(L+U)`` (8-byte values, 4-byte column indices),
    its row pointers, ``c`` and ``x`` read and written. A NumPy copy of half that many
    bytes moves the same traffic (it reads and writes each byte): the memory-bandwidth limit.
    """

    params = [316, 1000]
    param_names = ["n_grid"]
    omega = 1.5

    def setup(self, n_grid):
        self.A = poisson_2d(n_grid)
        n = self.A.shape[0]
        rng = np.random.default_rng(0)
        self.b = rng.standard_normal(n)
        self.x = np.zeros(n)
        self.xold = np.empty(n)
        diag, bptr, bmid, bind, bdata, _ = sor_split(self.A.indptr, self.A.indices,
                                                     self.A.data, n, self.omega)
        self.b_arrays = (bptr, bind, bdata)
        self.c = self.omega * self.b / diag
        self.dscale = diag / self.omega
        self.bytes = (bdata.nbytes + bind.nbytes + bptr.nbytes + self.c.nbytes
                      + 2 * self.x.nbytes)
        self.source = np.ones(self.bytes // 16)
        self.target = np.empty_like(self.source)
        sor_forward(*self.b_arrays, self.c, self.x, 1.0 - self.omega)  # compile
        sor_forward_residual(*self.b_arrays, self.c, self.dscale, self.omega, self.x,
                             self.xold)
        if pyamg_sor is not None:
            self.x_amg = np.zeros(n)

    def time_numlearn_sweep(self, n_grid):
        sor_forward(*self.b_arrays, self.c, self.x, 1.0 - self.omega)

    def time_numlearn_sweep_with_residual(self, n_grid):
        sor_forward_residual(*self.b_arrays, self.c, self.dscale, self.omega, self.x,
                             self.xold)

    def time_pyamg_gauss_seidel(self, n_grid):
        if pyamg_gauss_seidel is None:
            raise NotImplementedError("pyamg is not installed")
        pyamg_gauss_seidel(self.A, self.x_amg, self.b, iterations=1, sweep="forward")

    def time_pyamg_sor(self, n_grid):
        if pyamg_sor is None:
            raise NotImplementedError("pyamg is not installed")
        pyamg_sor(self.A, self.x_amg, self.b, self.omega, iterations=1, sweep="forward")

    def time_numpy_copy_same_traffic(self, n_grid):
        np.copyto(self.target, self.source)

    def track_numlearn_bandwidth_fraction_of_copy(self, n_grid):
        sweep = _best_seconds(
            lambda: sor_forward(*self.b_arrays, self.c, self.x, 1.0 - self.omega))
        copy = _best_seconds(lambda: np.copyto(self.target, self.source))
        return copy / sweep  # same traffic: 1.0 would be running at copy bandwidth

    track_numlearn_bandwidth_fraction_of_copy.unit = "fraction"

    def track_numlearn_bandwidth_GBps(self, n_grid):
        sweep = _best_seconds(
            lambda: sor_forward(*self.b_arrays, self.c, self.x, 1.0 - self.omega))
        return self.bytes / sweep / 1e9

    track_numlearn_bandwidth_GBps.unit = "GB/s"


class SORPublicCall:
    """``sor(A, b, 1.5, rtol=0, maxiter=k)`` as a user (or a multigrid smoother) calls it,
    setup and validation included, against pyamg's ``sor(A, x, b, 1.5, iterations=k)`` on
    a fresh ``x`` (pyamg's is a damped Gauss-Seidel sweep, so the iterates differ; the
    work per sweep is the same). 2-D Poisson with 10^4 and 10^6 unknowns."""

    params = [[100, 1000], [1, 3, 10, 100]]
    param_names = ["n_grid", "sweeps"]
    omega = 1.5
    timeout = 300

    def setup(self, n_grid, sweeps):
        self.A = poisson_2d(n_grid)
        self.b = np.random.default_rng(0).standard_normal(self.A.shape[0])
        quiet(sor, self.A, self.b, self.omega, rtol=0, maxiter=1)  # compile

    def _numlearn(self, sweeps):
        return quiet(sor, self.A, self.b, self.omega, rtol=0, maxiter=sweeps)

    def _pyamg(self, sweeps):
        if pyamg_sor is None:
            raise NotImplementedError("pyamg is not installed")
        x = np.zeros_like(self.b)
        pyamg_sor(self.A, x, self.b, self.omega, iterations=sweeps, sweep="forward")
        return x

    def time_numlearn_sor(self, n_grid, sweeps):
        self._numlearn(sweeps)

    def time_pyamg_sor(self, n_grid, sweeps):
        self._pyamg(sweeps)

    def track_numlearn_over_pyamg(self, n_grid, sweeps):
        """Best of 5 each, timed back to back in one process."""
        if pyamg_sor is None:
            raise NotImplementedError("pyamg is not installed")
        repeat = 5 if sweeps < 100 or n_grid < 1000 else 2
        ours = _best_seconds(lambda: self._numlearn(sweeps), repeat)
        theirs = _best_seconds(lambda: self._pyamg(sweeps), repeat)
        return ours / theirs

    track_numlearn_over_pyamg.unit = "ratio"


class SORSolve:
    """A whole SOR solve at ω* on 2-D Poisson (n_grid = 64), ours vs a loop over pyamg's sor."""

    params = [64]
    param_names = ["n_grid"]

    def setup(self, n_grid):
        self.A = poisson_2d(n_grid)
        self.b = np.ones(self.A.shape[0])
        self.omega = 2.0 / (1.0 + np.sin(np.pi / (n_grid + 1)))
        self.n_iter = sor(self.A, self.b, self.omega).n_iter

    def time_numlearn_sor(self, n_grid):
        sor(self.A, self.b, self.omega)

    def time_pyamg_sor_same_sweeps(self, n_grid):
        if pyamg_sor is None:
            raise NotImplementedError("pyamg is not installed")
        x = np.zeros_like(self.b)
        pyamg_sor(self.A, x, self.b, self.omega, iterations=self.n_iter, sweep="forward")

    def track_numlearn_iterations(self, n_grid):
        return self.n_iter


def _heat_sequence(nx, n_steps, solve):
    """Run ``n_steps`` of :class:`Heat2D` with ``solve(system) -> (x, iterations)``."""
    heat = Heat2D(nx=nx, dt=1.0 / 200)
    total = 0
    for system in heat.steps(n_steps):
        x, iterations = solve(system)
        total += iterations
        heat.advance(x)
    return total


class Heat2DSequence:
    """200 Crank–Nicolson steps (t ∈ [0, 1], the paper's κ(t) and moving source), each
    solved to rtol 1e-8 (relative to ‖b‖) from the previous step's solution."""

    params = [32, 128]
    param_names = ["nx"]
    n_steps = 200
    rtol = 1e-8
    number = 1
    repeat = 3
    timeout = 300

    def _tuner(self, system, tuner):
        res = tuner.solve(system.A, system.b, context=system.context, x0=system.x0)
        return res.x, res.n_iter

    def _fixed(self, system):
        res = ssor_cg(system.A, system.b, omega=1.0, x0=system.x0, rtol=self.rtol)
        return res.x, res.n_iter

    def _scipy(self, system):
        count = [0]

        def callback(xk):
            count[0] += 1

        x, _ = spla.cg(system.A, system.b, x0=system.x0, rtol=self.rtol, callback=callback)
        return x, count[0]

    def _run_tuner(self, nx):
        tuner = OmegaTuner(solver="ssor_cg", learner="chebcb", context_range=(0.0, 10.0),
                           random_state=0, rtol=self.rtol)
        return _heat_sequence(nx, self.n_steps, lambda s: self._tuner(s, tuner))

    def time_omega_tuner_ssor_cg(self, nx):
        quiet(self._run_tuner, nx)

    def time_fixed_omega_1_ssor_cg(self, nx):
        quiet(_heat_sequence, nx, self.n_steps, self._fixed)

    def time_scipy_cg(self, nx):
        quiet(_heat_sequence, nx, self.n_steps, self._scipy)

    def track_omega_tuner_iterations(self, nx):
        return quiet(self._run_tuner, nx)

    def track_fixed_omega_1_iterations(self, nx):
        return quiet(_heat_sequence, nx, self.n_steps, self._fixed)

    def track_scipy_cg_iterations(self, nx):
        return quiet(_heat_sequence, nx, self.n_steps, self._scipy)


class OmegaLearning:
    """The paper's shifted-Laplacian sequences: total SOR iterations of each online learner
    divided by those of the best fixed ω in hindsight (1 = as good as the hindsight choice;
    the instance-optimal ratio is the floor)."""

    params = [[500, 2000], ["high", "low"]]
    param_names = ["n_systems", "offset"]
    timeout = 300

    def setup(self, n_systems, offset):
        from numlearn.datasets import shifted_laplacian_sequence
        from numlearn.tuning import omega_baselines

        self.sequence = shifted_laplacian_sequence(n_systems=n_systems, offset=offset,
                                                   random_state=0)
        self.baselines = quiet(omega_baselines, self.sequence)

    def _ratio(self, **options):
        tuner = OmegaTuner(random_state=0, **options)
        tuner.solve_sequence(self.sequence)
        return float(np.sum(tuner.costs_) / self.baselines.best_fixed_total)

    def track_tsallis_inf_over_best_fixed(self, n_systems, offset):
        return self._ratio(learner="tsallis-inf")  # OmegaTuner's: neighbours share plays

    def track_papers_tsallis_inf_over_best_fixed(self, n_systems, offset):
        return self._ratio(learner="tsallis-inf", learner_options={
            "estimator": "reduced-variance", "learning_rate": 2.0, "smoothing_radius": 0.0})

    def track_chebcb_over_best_fixed(self, n_systems, offset):
        return self._ratio(learner="chebcb", context_range=self.sequence.context_range)

    def track_instance_optimal_over_best_fixed(self, n_systems, offset):
        return float(self.baselines.instance_optimal_total / self.baselines.best_fixed_total)
