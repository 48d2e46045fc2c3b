"""Each solver family on the CPU (NumPy/Numba) and on the GPU (CuPy inputs), at sizes where
the GPU should win.

Every class is skipped (``setup`` raises ``NotImplementedError``, which asv and
``.ci/bench_smoke.py`` treat as "skip") unless CuPy sees a CUDA device. Same problem, same
accuracy on both sides: the GPU call is the same public function given CuPy arrays, with the
same tolerances; ``track_`` methods record the GPU/CPU agreement so a fast wrong answer shows.
Achieved bandwidths are reported as GB/s ``track_`` values (H100: about 3000 GB/s peak).
"""

import time

import numpy as np
import scipy.sparse as sp

from numlearn._backend import cupy_available

from .common import quiet, relative_error


class _Gpu:
    """Base class: skip without a GPU; helpers to move data and to time a GPU call."""

    timeout = 600

    def setup(self, *params):
        if not cupy_available():
            raise NotImplementedError("needs a CUDA GPU visible to CuPy")
        import cupy

        self.cp = cupy

    def to_gpu(self, x):
        if sp.issparse(x):
            import cupyx.scipy.sparse as csp

            return csp.csr_matrix(sp.csr_matrix(x))
        return self.cp.asarray(x)

    def sync(self):
        self.cp.cuda.Device().synchronize()

    def gpu_seconds(self, fn, *args, repeat=3, **kwargs):
        """Best wall time of ``fn`` over ``repeat`` synchronized runs (after one warm-up)."""
        quiet(fn, *args, **kwargs)
        self.sync()
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            quiet(fn, *args, **kwargs)
            self.sync()
            best = min(best, time.perf_counter() - start)
        return best


class GpuConjugateGradient(_Gpu):
    """``numlearn.linalg.cg`` on the 2-D Poisson matrix: SciPy CSR vs cupyx CSR inputs."""

    params = [1000, 2000]
    param_names = ["n_grid"]
    rtol = 1e-6

    def setup(self, n_grid):
        super().setup(n_grid)
        from numlearn.datasets import poisson_2d

        self.A = poisson_2d(n_grid)
        self.b = np.random.default_rng(0).standard_normal(self.A.shape[0])
        self.A_gpu, self.b_gpu = self.to_gpu(self.A), self.to_gpu(self.b)
        from numlearn.linalg import cg

        self.cg = cg
        quiet(cg, self.A, self.b, maxiter=1)
        quiet(cg, self.A_gpu, self.b_gpu, maxiter=1)

    def time_cpu(self, n_grid):
        self.cg(self.A, self.b, rtol=self.rtol)

    def time_gpu(self, n_grid):
        self.cg(self.A_gpu, self.b_gpu, rtol=self.rtol)
        self.sync()

    def track_solution_difference(self, n_grid):
        x_cpu = self.cg(self.A, self.b, rtol=self.rtol).x
        x_gpu = self.cg(self.A_gpu, self.b_gpu, rtol=self.rtol).x.get()
        return float(np.linalg.norm(x_gpu - x_cpu) / np.linalg.norm(x_cpu))


class GpuSparseSketch(_Gpu):
    """``SketchOperator("sparse_sign") @ A``: the Numba CPU kernel vs the CUDA kernel."""

    params = [[100_000], [256]]
    param_names = ["n_rows", "n_cols"]

    def setup(self, n_rows, n_cols):
        super().setup(n_rows, n_cols)
        from numlearn.linalg import sketch_operator

        rng = np.random.default_rng(0)
        self.A = rng.standard_normal((n_rows, n_cols))
        self.A_gpu = self.to_gpu(self.A)
        self.S = sketch_operator("sparse_sign", 4 * n_cols, n_rows, random_state=0)
        self.S @ self.A
        self.S @ self.A_gpu

    def time_cpu(self, n_rows, n_cols):
        self.S @ self.A

    def time_gpu(self, n_rows, n_cols):
        self.S @ self.A_gpu
        self.sync()

    def track_gpu_bandwidth_gbs(self, n_rows, n_cols):
        """Bytes of A read plus the sketch's nonzeros, over the kernel's time."""
        seconds = self.gpu_seconds(self.S.__matmul__, self.A_gpu)
        return self.A.nbytes / seconds / 1e9

    def track_difference(self, n_rows, n_cols):
        cpu = self.S @ self.A
        gpu = (self.S @ self.A_gpu).get()
        return float(np.abs(gpu - cpu).max() / np.abs(cpu).max())



def _logistic_eq_callables(xp, X, y, A, b):
    """``constrained_logistic_problem``'s callables written against the namespace ``xp``
    (NumPy or CuPy via array_api_compat): min mean log(1 + exp(-y xᵀw)) s.t. A w = b,
    ‖w‖² = 1. Every evaluation runs where the data lives."""
    N, d = X.shape
    Z = y[:, None] * X

    def fun(w):
        return float(xp.mean(xp.logaddexp(xp.zeros(N, dtype=Z.dtype), -(Z @ w))))

    def jac(w):
        return Z.T @ (-0.5 * (1.0 - xp.tanh(0.5 * (Z @ w)))) / N

    def hess(w):
        q = 0.25 / xp.cosh(0.5 * (Z @ w)) ** 2
        return (Z.T * (q / N)) @ Z

    def cfun(w):
        return xp.concat([A @ w - b, xp.reshape(w @ w - 1.0, (1,))])

    def cjac(w):
        return xp.concat([A, 2.0 * w[None, :]], axis=0)

    def chess(w, v):
        return 2.0 * float(v[-1]) * xp.eye(d, dtype=w.dtype)

    cons = {"type": "eq", "fun": cfun, "jac": cjac, "hess": chess}
    return dict(fun=fun, jac=jac, hess=hess, constraints=cons)


class GpuMinimizeEq(_Gpu):
    """``numlearn.optimize.minimize_eq`` (exact Newton–KKT solves, ``sketch="direct"``) on
    constrained logistic regression, N × d dense data: the NumPy call vs the same call with
    CuPy ``x0`` and callables evaluated on the GPU (Hessian ``ZᵀDZ`` and the dense
    ``(d + m)²`` KKT solve are the work)."""

    params = [[(20_000, 1000), (50_000, 2000)]]
    param_names = ["shape"]
    tol = 1e-8

    def setup(self, shape):
        super().setup(shape)
        import array_api_compat

        from numlearn.optimize import minimize_eq

        N, d = shape
        rng = np.random.default_rng(0)
        X = rng.standard_normal((N, d)) / np.sqrt(d)
        y = np.where(X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(N) > 0, 1.0, -1.0)
        A, b = rng.standard_normal((10, d)), rng.standard_normal(10)
        self.cpu = _logistic_eq_callables(np, X, y, A, b)
        xp = array_api_compat.array_namespace(self.cp.empty(0))
        self.gpu = _logistic_eq_callables(xp, *map(self.to_gpu, (X, y, A, b)))
        self.x0 = np.full(d, 1.0 / np.sqrt(d))
        self.x0_gpu = self.to_gpu(self.x0)
        self.minimize_eq = minimize_eq
        quiet(minimize_eq, x0=self.x0_gpu, sketch="direct", maxiter=1, **self.gpu)

    def solve_cpu(self):
        return self.minimize_eq(x0=self.x0, sketch="direct", tol=self.tol, **self.cpu)

    def solve_gpu(self):
        return self.minimize_eq(x0=self.x0_gpu, sketch="direct", tol=self.tol, **self.gpu)

    def time_cpu(self, shape):
        self.solve_cpu()

    def time_gpu(self, shape):
        self.solve_gpu()
        self.sync()

    def track_nit_difference(self, shape):
        return self.solve_gpu().nit - self.solve_cpu().nit

    def track_solution_difference(self, shape):
        x_cpu = self.solve_cpu().x
        x_gpu = self.solve_gpu().x.get()
        return float(np.linalg.norm(x_gpu - x_cpu) / np.linalg.norm(x_cpu))


class GpuDynamics(_Gpu):
    """``numlearn.dynamics.train``: full-batch GD with the sharpness (Lanczos on
    Hessian-vector products) every 10 steps, NumPy data vs CuPy data: a wide two-layer tanh
    network and symmetric matrix sensing (full observation)."""

    params = [["two_layer", "matrix_sensing"]]
    param_names = ["model"]
    n_steps, every = 50, 10
    #: (samples, features, width) of the network; (d, rank) of the sensing problem
    sizes = {"two_layer": (2000, 256, 4096), "matrix_sensing": (2000, 20)}

    def setup(self, model):
        super().setup(model)
        from numlearn.dynamics import GD, MatrixSensing, TwoLayerNetwork, train

        rng = np.random.default_rng(0)
        if model == "two_layer":
            n, d, width = self.sizes[model]
            X = rng.standard_normal((n, d))
            y = np.tanh(X[:, 0]) + 0.1 * rng.standard_normal(n)
            self.cpu_model = TwoLayerNetwork(X, y, width=width)
            self.gpu_model = TwoLayerNetwork(self.to_gpu(X), self.to_gpu(y), width=width)
            lr, scale = 0.5, 1.0
        else:
            d, rank = self.sizes[model]
            B = rng.standard_normal((d, 5))
            M = B @ B.T / d  # rank 5, eigenvalues about 1
            self.cpu_model = MatrixSensing(M, rank=rank)
            self.gpu_model = MatrixSensing(self.to_gpu(M), rank=rank)
            lr, scale = 0.05, 0.01
        self.w0 = self.cpu_model.init_params(random_state=0, scale=scale)
        self.w0_gpu = self.to_gpu(self.w0)
        self.optimizer = GD(lr=lr)
        self.train = train
        quiet(train, self.gpu_model, self.w0_gpu, self.optimizer, 2, track=("loss",))

    def run(self, model, w0):
        return self.train(model, w0, self.optimizer, self.n_steps,
                          track=("loss", "sharpness"), every=self.every, random_state=0)

    def time_cpu(self, model):
        self.run(self.cpu_model, self.w0)

    def time_gpu(self, model):
        self.run(self.gpu_model, self.w0_gpu)
        self.sync()

    def track_sharpness_difference(self, model):
        s_cpu = self.run(self.cpu_model, self.w0).sharpness
        s_gpu = self.run(self.gpu_model, self.w0_gpu).sharpness
        return float(np.max(np.abs(s_gpu - s_cpu) / np.abs(s_cpu)))


class GpuAltMin(_Gpu):
    """``numlearn.completion.altmin``: NumPy observations (Numba CPU kernels) vs CuPy
    observations (Numba-CUDA kernels: batched normal equations + batched k × k Cholesky, or
    the per-row CG kernel), on the same problem from the same starting factors.

    20000 × 20000, rank 16, 2 % observed (8·10⁶ entries), noise 0.01; ``n_iter`` AltMin
    iterations (tol = 0) from a given orthonormal U and V = 0, so the SVD start (host ARPACK
    on both paths) is not part of the timing. ``track_`` methods: the factors' GPU/CPU
    agreement, the RMSE ratio, and the achieved bandwidth of one GPU half-step.
    """

    params = [[20_000], [16], ["cholesky", "cg"]]
    param_names = ["n", "rank", "solver"]
    number = 1
    repeat = 3
    n_iter = 5
    density = 0.02

    def setup(self, n, rank, solver):
        super().setup(n, rank, solver)
        from numlearn.completion import altmin

        rng = np.random.default_rng(0)
        n_obs = int(self.density * n * n)
        lin = np.unique(rng.integers(0, n * n, size=n_obs + n_obs // 10 + 100))
        lin = rng.permutation(lin)[:n_obs]
        rows, cols = np.divmod(lin, n)
        U, V = rng.standard_normal((n, rank)), rng.standard_normal((n, rank))
        values = np.einsum("ij,ij->i", U[rows], V[cols]) + 0.01 * rng.standard_normal(n_obs)
        self.n_obs = n_obs
        self.obs = (rows, cols, values, (n, n))
        self.obs_gpu = tuple(self.cp.asarray(a) for a in self.obs[:3]) + ((n, n),)
        self.obs_gpu32 = self.obs_gpu[:2] + (self.cp.asarray(values, dtype="float32"), (n, n))
        self.init = (np.linalg.qr(rng.standard_normal((n, rank)))[0], np.zeros((n, rank)))
        self.kw = dict(solver=solver, reg=0.1, max_iter=self.n_iter, tol=0.0, init=self.init,
                       random_state=0)
        self.altmin = altmin
        for obs in (self.obs, self.obs_gpu, self.obs_gpu32):  # compile the kernels
            quiet(altmin, obs, rank, **dict(self.kw, max_iter=1))
        self.sync()

    def time_cpu(self, n, rank, solver):
        quiet(self.altmin, self.obs, rank, **self.kw)

    def time_gpu(self, n, rank, solver):
        quiet(self.altmin, self.obs_gpu, rank, **self.kw)
        self.sync()

    def time_gpu_float32(self, n, rank, solver):
        quiet(self.altmin, self.obs_gpu32, rank, **self.kw)
        self.sync()

    def track_factor_difference(self, n, rank, solver):
        """max |U_gpu − U_cpu| / max |U_cpu| after ``n_iter`` iterations (float64)."""
        cpu = quiet(self.altmin, self.obs, rank, **self.kw)
        gpu = quiet(self.altmin, self.obs_gpu, rank, **self.kw)
        return float(np.abs(self.cp.asnumpy(gpu.U) - cpu.U).max() / np.abs(cpu.U).max())

    def track_rmse_ratio_gpu_over_cpu(self, n, rank, solver):
        cpu = quiet(self.altmin, self.obs, rank, **self.kw)
        gpu = quiet(self.altmin, self.obs_gpu, rank, **self.kw)
        return float(gpu.rmse / cpu.rmse)

    def track_half_step_bandwidth_gbs(self, n, rank, solver):
        """Minimal traffic of one row half-step (each observation's index and value and the
        V row it reads; G, r written and read once, the new factor written) over its time;
        H100 peak ≈ 3000 GB/s."""
        from numlearn.completion._array_api import check_observations_array_api, make_engine

        engine = make_engine(check_observations_array_api(self.obs_gpu), rank)
        V = engine.factor(np.random.default_rng(1).standard_normal((n, rank)))
        U = engine.factor(np.zeros((n, rank)))
        seconds = self.gpu_seconds(engine.half_step, "rows", V, U, solver, 0.1, 5, 1)
        per_obs = 8 + 8 + 8 * rank
        per_row = 8 * rank + (2 * 8 * (rank * rank + rank) if solver == "cholesky" else 8 * rank)
        return (self.n_obs * per_obs + n * per_row) / seconds / 1e9


class GpuSinkhorn(_Gpu):
    """``numlearn.ot`` on 2-D Gaussian clouds (n × n squared-Euclidean cost / its max,
    uniform weights): log-domain Sinkhorn for a fixed ``n_iter`` iterations (time per
    iteration; tol = 0) and SNS to marginal error ``tol``, NumPy inputs (Numba kernels)
    vs CuPy inputs (fused Numba-CUDA log-sum-exp kernels; top-k kernel + cuSPARSE).

    Achieved bandwidth of the LSE kernels: each half-step reads ``M`` once, so
    ``GB/s = n · n · itemsize / t_half_step / 1e9`` (H100 peak ~3000 GB/s); the
    end-to-end ``sinkhorn_log`` figure counts ``2 · n_iter`` half-steps in the solver's time.
    """

    params = [[2000, 4000], ["float64", "float32"]]
    param_names = ["n", "dtype"]
    reg = 1e-2
    n_iter = 50

    def setup(self, n, dtype):
        super().setup(n, dtype)
        from numlearn.datasets import ot_gaussian_clouds
        from numlearn.ot import sinkhorn, sinkhorn_newton_sparse

        self.sinkhorn, self.sns = sinkhorn, sinkhorn_newton_sparse
        a, b, M = ot_gaussian_clouds(n, random_state=0)
        self.a, self.b, self.M = a, b, M.astype(dtype)
        self.a_gpu, self.b_gpu, self.M_gpu = (self.to_gpu(x) for x in (self.a, self.b, self.M))
        self.tol = 1e-8 if dtype == "float64" else 1e-5  # float32 plans: ~1e-7 marginals
        for M_ in (self.M[:20, :20], self.M_gpu[:20, :20]):  # compile Numba / CUDA kernels
            quiet(sinkhorn, None, None, M_, self.reg, max_iter=2)
            quiet(sinkhorn_newton_sparse, None, None, M_, self.reg, max_newton_iter=2,
                  density=0.5)

    def _log(self, a, b, M):
        return quiet(self.sinkhorn, a, b, M, self.reg, tol=0.0, max_iter=self.n_iter)

    def _sns(self, a, b, M):
        return quiet(self.sns, a, b, M, self.reg, tol=self.tol)

    def time_cpu_sinkhorn_log(self, n, dtype):
        self._log(self.a, self.b, self.M)

    def time_gpu_sinkhorn_log(self, n, dtype):
        self._log(self.a_gpu, self.b_gpu, self.M_gpu)
        self.sync()

    def time_cpu_sns(self, n, dtype):
        self._sns(self.a, self.b, self.M)

    def time_gpu_sns(self, n, dtype):
        self._sns(self.a_gpu, self.b_gpu, self.M_gpu)
        self.sync()

    def _kernel_gbs(self, launch, out_size):
        cp = self.cp
        n = self.M.shape[0]
        f, g = cp.zeros(n), cp.zeros(n)
        out = cp.empty(out_size)
        t = self.gpu_seconds(launch, self.M_gpu, f, g, 1.0 / self.reg, out, repeat=10)
        return self.M.nbytes / t / 1e9

    def track_lse_row_kernel_gbs(self, n, dtype):
        from numlearn.ot._kernels import launch_row_logsumexp_cuda

        return self._kernel_gbs(launch_row_logsumexp_cuda, n)

    track_lse_row_kernel_gbs.unit = "GB/s"

    def track_lse_col_kernel_gbs(self, n, dtype):
        from numlearn.ot._kernels import launch_col_logsumexp_cuda

        return self._kernel_gbs(launch_col_logsumexp_cuda, n)

    track_lse_col_kernel_gbs.unit = "GB/s"

    def track_sinkhorn_log_gbs(self, n, dtype):
        t = self.gpu_seconds(self._log, self.a_gpu, self.b_gpu, self.M_gpu, repeat=2)
        return 2 * self.n_iter * self.M.nbytes / t / 1e9

    track_sinkhorn_log_gbs.unit = "GB/s"

    def track_sns_gpu_cpu_plan_difference(self, n, dtype):
        gpu = self._sns(self.a_gpu, self.b_gpu, self.M_gpu)
        cpu = self._sns(self.a, self.b, self.M)
        return float(np.abs(gpu.plan.get().astype(np.float64) - cpu.plan).max())

    def track_sns_gpu_newton_iterations(self, n, dtype):
        return self._sns(self.a_gpu, self.b_gpu, self.M_gpu).n_newton_iter


class GpuSOR(_Gpu):
    """``numlearn.linalg.sor`` on the 2-D Poisson matrix (10^6 unknowns at n_grid = 1000):
    natural-order Numba sweeps on SciPy CSR vs multicolor (red-black) CUDA sweeps on cupyx CSR.

    ``time_*_sweeps``: 200 SOR sweeps through the public call (rtol = 0, one residual at the
    end; the GPU call includes its host set-up: coloring, permutation, upload, ~0.5 s at
    10^6 unknowns). ``time_*_solve``: to rtol = 1e-6 at Young's ω*. ``track_gpu_sweep_gbs``:
    achieved bandwidth of the sweep kernels alone (H100 peak about 3000 GB/s), counting
    each byte a sweep must move once::

        bytes/sweep = nnz_B (s_v + s_i)           # B = ωD⁻¹(L+U) values + column indices
                      + (n + 1) s_i               # row pointers
                      + n s_v                     # c = ωD⁻¹b
                      + 2 n s_v                   # x read and written (neighbour gathers
                                                  #  assumed served by L2: x is 8 MB)

    with s_v = 8 (float64) or 4 and s_i = 4 (int32 indices); for 5-point Poisson
    nnz_B ≈ 4n, i.e. about 84 MB per sweep at n = 10^6 in float64 (28 µs at 3 TB/s).
    """

    params = ([1000], ["float64", "float32"])
    param_names = ["n_grid", "dtype"]
    n_sweeps = 200

    def setup(self, n_grid, dtype):
        super().setup(n_grid, dtype)
        from numlearn.datasets import poisson_2d
        from numlearn.linalg.sor import sor

        self.sor = sor
        self.A = poisson_2d(n_grid)
        self.b = np.random.default_rng(0).standard_normal(self.A.shape[0])
        self.omega = 2.0 / (1.0 + np.sin(np.pi / (n_grid + 1)))  # = optimal_omega(A)
        self.A_gpu = self.to_gpu(self.A.astype(dtype))
        self.b_gpu = self.cp.asarray(self.b, dtype=dtype)
        self.rtol = 1e-6 if dtype == "float64" else 1e-5
        quiet(sor, self.A, self.b, self.omega, maxiter=2)
        quiet(sor, self.A_gpu, self.b_gpu, self.omega, maxiter=2)
        # the kernels alone, for the bandwidth figure
        import array_api_compat.cupy as xp

        from numlearn.linalg._sor_array_api import _KernelOps

        self.ops = _KernelOps(self.A, self.omega, getattr(xp, dtype), xp, True,
                              like=self.b_gpu)
        self.c = self.ops.rhs(self.ops.permute(self.b_gpu))
        self.x = self.ops.zeros()
        n = self.A.shape[0]
        nnz = self.A.nnz - n  # off-diagonal entries: B's
        s_v, s_i = (8 if dtype == "float64" else 4), 4
        self.bytes_per_sweep = nnz * (s_v + s_i) + (n + 1) * s_i + 3 * n * s_v

    def time_cpu_sweeps(self, n_grid, dtype):
        quiet(self.sor, self.A, self.b, self.omega, rtol=0.0, maxiter=self.n_sweeps,
              check_every=self.n_sweeps)

    def time_gpu_sweeps(self, n_grid, dtype):
        quiet(self.sor, self.A_gpu, self.b_gpu, self.omega, rtol=0.0, maxiter=self.n_sweeps,
              check_every=self.n_sweeps)
        self.sync()

    def time_cpu_solve(self, n_grid, dtype):
        quiet(self.sor, self.A, self.b, self.omega, rtol=self.rtol)

    def time_gpu_solve(self, n_grid, dtype):
        quiet(self.sor, self.A_gpu, self.b_gpu, self.omega, rtol=self.rtol)
        self.sync()

    def track_gpu_sweep_gbs(self, n_grid, dtype):
        seconds = self.gpu_seconds(
            lambda: [self.ops.sweep(self.x, self.c, False) for _ in range(self.n_sweeps)]
        )
        return self.bytes_per_sweep * self.n_sweeps / seconds / 1e9

    def track_iterations_gpu_over_cpu(self, n_grid, dtype):
        gpu = quiet(self.sor, self.A_gpu, self.b_gpu, self.omega, rtol=self.rtol).n_iter
        cpu = quiet(self.sor, self.A, self.b, self.omega, rtol=self.rtol).n_iter
        return gpu / cpu

    def track_solution_difference(self, n_grid, dtype):
        x_gpu = quiet(self.sor, self.A_gpu, self.b_gpu, self.omega, rtol=self.rtol).x
        x_cpu = quiet(self.sor, self.A, self.b, self.omega, rtol=self.rtol).x
        return relative_error(self.cp.asnumpy(x_gpu).astype(np.float64), x_cpu)


class GpuLasso(_Gpu):
    """``numlearn.linear_model.Lasso`` on a dense 10^5 x 10^3 design: the sequential CPU engine
    (NumPy, Fortran-ordered X) vs the parallel (ESO + FISTA) coordinate descent on CuPy
    inputs, both stopped at the same duality gap (``tol`` relative to ``‖y_c‖²/n``)."""

    params = [["float64", "float32"]]
    param_names = ["dtype"]
    n_samples, n_features = 100_000, 1_000

    def setup(self, dtype):
        super().setup(dtype)
        from numlearn.linear_model import Lasso

        rng = np.random.default_rng(0)
        X = rng.standard_normal((self.n_samples, self.n_features)).astype(dtype)
        truth = np.zeros(self.n_features)
        truth[:50] = rng.standard_normal(50)
        y = (X @ truth + 0.5 * rng.standard_normal(self.n_samples)).astype(dtype)
        yc = y - y.mean()
        alpha = 0.05 * float(np.max(np.abs(X.T @ yc))) / self.n_samples
        self.tol = 1e-6 if dtype == "float64" else 1e-4  # float32 gaps stall near 1e-7
        self.X, self.y = np.asfortranarray(X), y
        self.X_gpu, self.y_gpu = self.to_gpu(X), self.to_gpu(y)
        self.make = lambda: Lasso(alpha=alpha, tol=self.tol, max_iter=10_000)
        self.cpu_model = quiet(self.make().fit, self.X, self.y)  # also warms the JIT
        self.gpu_model = quiet(self.make().fit, self.X_gpu, self.y_gpu)  # warms the kernel
        self.sync()

    def time_cpu(self, dtype):
        self.make().fit(self.X, self.y)

    def time_gpu(self, dtype):
        self.make().fit(self.X_gpu, self.y_gpu)
        self.sync()

    def track_cpu_epochs(self, dtype):
        return int(self.cpu_model.n_iter_)

    def track_gpu_iterations(self, dtype):
        return int(self.gpu_model.n_iter_)

    def track_gap_ratio_gpu_over_cpu(self, dtype):
        return float(self.gpu_model.dual_gap_ / max(self.cpu_model.dual_gap_, 1e-300))

    def track_coef_difference(self, dtype):
        return float(np.max(np.abs(self.gpu_model.coef_.get() - self.cpu_model.coef_)))

    def track_speedup(self, dtype):
        t_cpu = self.gpu_seconds(self.make().fit, self.X, self.y, repeat=1)
        return t_cpu / self.gpu_seconds(self.make().fit, self.X_gpu, self.y_gpu)

    def track_gpu_bandwidth_gbs(self, dtype):
        """Passes over X per second x bytes of X (the products dominate the traffic)."""
        from numlearn.linear_model import L1, Quadratic, coordinate_descent

        model = self.make()
        args = (self.X_gpu, self.y_gpu, Quadratic(), L1(model.alpha))
        kwargs = dict(tol=model.tol, max_iter=model.max_iter, fit_intercept=True)
        res = quiet(coordinate_descent, *args, **kwargs)
        seconds = self.gpu_seconds(coordinate_descent, *args, **kwargs)
        return res.n_products * self.X_gpu.nbytes / seconds / 1e9
