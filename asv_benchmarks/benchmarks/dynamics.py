"""numlearn.dynamics: sharpness by our Lanczos vs SciPy's eigsh (ARPACK) on the same
Hessian-vector product, and training runs with sharpness tracking.

Same problem, same accuracy: both eigensolvers get the model's exact Hessian-vector
product as a matrix-free operator, the same start vector and ``tol=1e-8`` (ARPACK's
relative-residual criterion, which lanczos_eigsh uses too); the sharpness values agree
to ~1e-12 (``track_sharpness_difference``).
"""

import numpy as np
import scipy.sparse.linalg as spla

from numlearn.dynamics import GD, TwoLayerNetwork, TwoLayerReLU, sharpness, train

from .common import quiet


def _relu_model(width):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 100))
    return TwoLayerReLU(X, rng.standard_normal(20), width=width)


class Sharpness:
    """Top Hessian eigenvalue of a two-layer ReLU network (10^4 and 10^5 parameters)."""

    params = [100, 1000]
    param_names = ["width"]
    timeout = 300
    tol = 1e-8

    def setup(self, width):
        self.model = _relu_model(width)
        self.w = self.model.init_params(random_state=0)
        self.n = self.model.n_params
        self.v0 = np.random.default_rng(1).standard_normal(self.n)

    def _operator(self, count=None):
        def matvec(v):
            if count is not None:
                count[0] += 1
            return self.model.hvp(self.w, np.ravel(v))

        return spla.LinearOperator((self.n, self.n), matvec=matvec, dtype=np.float64)

    def time_numlearn_sharpness(self, width):
        sharpness(self.model, self.w, tol=self.tol, v0=self.v0)

    def time_scipy_eigsh(self, width):
        spla.eigsh(self._operator(), k=1, which="LA", tol=self.tol, v0=self.v0,
                   return_eigenvectors=False)

    def track_numlearn_hvps(self, width):
        return sharpness(self.model, self.w, tol=self.tol, v0=self.v0).n_hvp

    def track_scipy_hvps(self, width):
        count = [0]
        spla.eigsh(self._operator(count), k=1, which="LA", tol=self.tol, v0=self.v0,
                   return_eigenvectors=False)
        return count[0]

    def track_sharpness_difference(self, width):
        ours = sharpness(self.model, self.w, tol=self.tol, v0=self.v0).sharpness
        theirs = spla.eigsh(self._operator(), k=1, which="LA", tol=self.tol, v0=self.v0,
                            return_eigenvectors=False)[-1]
        return abs(ours - theirs) / abs(theirs)


class TrainWithSharpness:
    """200 full-batch GD steps at the edge of stability (the example's tanh network),
    with the loss alone, and with the sharpness tracked at every step (warm-started
    Lanczos) or re-solved from scratch by ARPACK at every step (what one would do with
    SciPy alone)."""

    timeout = 300
    n_steps = 200

    def setup(self):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 10))
        self.model = TwoLayerNetwork(X, np.sign(X[:, 0] * X[:, 1]), width=32)
        self.w0 = self.model.init_params(random_state=1, scale=0.2)
        self.lr = 6.0

    def time_train_loss_only(self):
        train(self.model, self.w0, GD(self.lr), self.n_steps, track="loss")

    def time_train_tracking_sharpness(self):
        quiet(train, self.model, self.w0, GD(self.lr), self.n_steps, random_state=0)

    def time_gd_with_scipy_eigsh_every_step(self):
        model, w, n = self.model, self.w0.copy(), self.model.n_params
        for _ in range(self.n_steps + 1):
            op = spla.LinearOperator((n, n), matvec=lambda v, w=w: model.hvp(w, np.ravel(v)),
                                     dtype=np.float64)
            spla.eigsh(op, k=1, which="LA", tol=1e-3, return_eigenvectors=False)
            w = w - self.lr * model.grad(w)

    def track_hvps_per_step(self):
        traj = quiet(train, self.model, self.w0, GD(self.lr), self.n_steps, random_state=0)
        return float(np.mean(traj.hvps_per_record[1:]))


class HessianDensity:
    """Eigenvalue density of a Hessian: stochastic Lanczos quadrature (HVPs only) vs a
    dense ``eigvalsh`` of the formed Hessian, p = 500 and 2000 (a tanh network).
    ``track_l1_error`` is the L1 distance between the SLQ density and the exact smoothed
    density at the same kernel width."""

    params = [500, 2000]
    param_names = ["n_params"]
    timeout = 600

    def setup(self, n_params):
        from numlearn.dynamics import TwoLayerNetwork

        width = n_params // 20
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 19))
        self.model = TwoLayerNetwork(X, rng.standard_normal(200), width=width)
        self.w = self.model.init_params(random_state=0)

    def _slq(self):
        from numlearn.dynamics import hessian_density

        return hessian_density(self.model, self.w, n_vectors=10, n_steps=80,
                               random_state=0)

    def time_slq_density(self, n_params):
        self._slq()

    def time_dense_eigvalsh(self, n_params):
        np.linalg.eigvalsh(self.model.hessian(self.w))

    def track_l1_error(self, n_params):
        res = self._slq()
        eigs = np.linalg.eigvalsh(self.model.hessian(self.w))
        d = (res.grid[:, None] - eigs[None, :]) / res.sigma
        exact = np.exp(-0.5 * d * d).mean(axis=1) / (res.sigma * np.sqrt(2 * np.pi))
        return float(np.abs(res.density - exact).sum() * (res.grid[1] - res.grid[0]))


class JaxAdapterHVP:
    """Cost of a Hessian-vector product of a JAX network through ``from_jax``, in units
    of gradient evaluations (``track_hvp_over_grad``; the target is <= 3)."""

    params = [1000, 20000]
    param_names = ["n_params"]

    def setup(self, n_params):
        try:
            import jax.numpy as jnp
        except ImportError:
            raise NotImplementedError("jax is not installed") from None
        from numlearn.dynamics import from_jax

        rng = np.random.default_rng(0)
        d, width = 20, n_params // 21
        X, y = rng.standard_normal((500, d)), rng.standard_normal(500)

        def loss(p, data):
            X, y = data
            return 0.5 * jnp.mean((jnp.tanh(X @ p["W"].T) @ p["a"] - y) ** 2)

        params = {"W": rng.standard_normal((width, d)) / np.sqrt(d),
                  "a": rng.standard_normal(width) / np.sqrt(width)}
        self.model = from_jax(loss, params, (X, y))
        self.w = self.model.w0
        self.v = rng.standard_normal(self.model.n_params)
        self.model.grad(self.w), self.model.hvp(self.w, self.v)  # compile

    def time_grad(self, n_params):
        self.model.grad(self.w)

    def time_hvp(self, n_params):
        self.model.hvp(self.w, self.v)

    def track_hvp_over_grad(self, n_params):
        import timeit

        g = min(timeit.repeat(lambda: self.model.grad(self.w), number=20, repeat=5))
        h = min(timeit.repeat(lambda: self.model.hvp(self.w, self.v), number=20, repeat=5))
        return h / g
