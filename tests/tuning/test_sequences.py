"""Sequences of linear systems: the shifted Laplacians and the Crank–Nicolson heat steps."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.stats import chi2

from numlearn.datasets import Heat2D, LinearSystem, poisson_2d, shifted_laplacian_sequence


class TestShiftedLaplacianSequence:
    def test_systems_are_the_shifted_laplacian(self):
        seq = shifted_laplacian_sequence(n_systems=5, random_state=0)
        L = poisson_2d(10)
        for t, system in enumerate(seq):
            assert isinstance(system, LinearSystem)
            c = seq.shifts[t]
            assert system.context == c
            np.testing.assert_allclose((system.A - L).toarray(), c * np.eye(100), atol=1e-15)
            np.testing.assert_array_equal(system.b, seq.rhs[t])
            assert system.x0 is None
        assert len(seq) == 5 and seq[-1].context == seq.shifts[4]

    @pytest.mark.parametrize(("offset", "var"), [("high", 0.36 * 0.0625), ("low", 0.36 * 12 / 576)])
    def test_shift_distribution_matches_the_paper(self, offset, var):
        # c = -0.15 + 0.6 Beta(a, b): both Betas have mean 1/4, so E c = 0; the variances differ
        seq = shifted_laplacian_sequence(n_systems=20000, offset=offset, random_state=1)
        c = seq.shifts
        assert c.min() >= -0.15 and c.max() <= 0.45
        assert abs(c.mean()) < 4 * math.sqrt(var / c.size)
        assert c.var() == pytest.approx(var, rel=0.05)

    def test_rhs_is_truncated_standard_normal(self):
        seq = shifted_laplacian_sequence(n_systems=3000, random_state=2)
        norms = np.linalg.norm(seq.rhs, axis=1)
        assert norms.max() <= 10.0
        # conditioning on ||b||^2 <= n: E||b||^2 = n P(chi2_{n+2} <= n) / P(chi2_n <= n)
        expected = chi2.cdf(100, 102) / chi2.cdf(100, 100)
        assert abs(seq.rhs.mean()) < 0.01
        assert np.mean(norms**2) / 100 == pytest.approx(expected, rel=5e-3)

    def test_every_system_is_positive_definite(self):
        L = poisson_2d(10)
        lam_min = spla.eigsh(L, k=1, which="SA")[0][0]
        assert lam_min == pytest.approx(8 * math.sin(math.pi / 22) ** 2, rel=1e-10)
        assert lam_min - 0.15 > 0.01  # the smallest shift keeps A_t SPD

    def test_reproducible(self):
        a = shifted_laplacian_sequence(n_systems=4, random_state=3)
        b = shifted_laplacian_sequence(n_systems=4, random_state=3)
        np.testing.assert_array_equal(a.shifts, b.shifts)
        np.testing.assert_array_equal(a.rhs, b.rhs)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="offset"):
            shifted_laplacian_sequence(n_systems=2, offset="medium")
        with pytest.raises(ValueError, match="n_grid"):
            shifted_laplacian_sequence(n_grid=5, n_systems=2)
        with pytest.raises(ValueError, match="n_systems"):
            shifted_laplacian_sequence(n_systems=0)
        seq = shifted_laplacian_sequence(n_systems=2, random_state=0)
        with pytest.raises(IndexError):
            seq[2]
        with pytest.raises(TypeError):
            seq[0.5]


def _discrete_mode(nx):
    h = 1.0 / (nx + 1)
    grid = np.arange(1, nx + 1) * h
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    mode = np.sin(math.pi * X) * np.sin(math.pi * Y)
    lam = 2 * (2 - 2 * math.cos(math.pi * h)) / h**2  # eigenvalue of L_h for mode (1, 1)
    return mode, lam


class TestHeat2D:
    def test_eigenmode_decays_by_the_crank_nicolson_factor(self):
        nx, dt, kappa = 12, 0.01, 0.7
        mode, lam = _discrete_mode(nx)
        heat = Heat2D(lambda t: kappa, lambda X, Y, t: np.zeros_like(X), mode, nx=nx, dt=dt)
        for system in heat.steps(5):
            np.testing.assert_array_equal(system.x0, heat.u)
            assert system.context == kappa
            heat.advance(spla.spsolve(system.A.tocsc(), system.b))
        factor = (1 - 0.5 * dt * kappa * lam) / (1 + 0.5 * dt * kappa * lam)
        np.testing.assert_allclose(heat.u, factor**5 * mode.ravel(), rtol=1e-10, atol=1e-14)
        assert heat.n_steps_taken == 5 and heat.t == pytest.approx(0.05)

    def test_one_step_matches_the_formula_with_varying_coefficient(self):
        nx, dt = 6, 0.05
        h = 1 / (nx + 1)
        Lh = poisson_2d(nx).toarray() / h**2
        rng = np.random.default_rng(0)
        u0 = rng.standard_normal(nx * nx)
        heat = Heat2D(lambda t: 1 + t, lambda X, Y, t: X + t * Y, u0, nx=nx, dt=dt)
        system = heat.next_system()
        grid = np.arange(1, nx + 1) * h
        X, Y = np.meshgrid(grid, grid, indexing="ij")
        f0, f1 = X.ravel(), (X + dt * Y).ravel()
        np.testing.assert_allclose(system.A.toarray(), np.eye(nx * nx) + 0.5 * dt * (1 + dt) * Lh)
        b_ref = u0 - 0.5 * dt * 1.0 * (Lh @ u0) + 0.5 * dt * (f0 + f1)
        np.testing.assert_allclose(system.b, b_ref, rtol=1e-13)
        assert system.context == pytest.approx(1 + dt)

    def test_reaches_the_steady_state(self):
        nx = 8
        heat = Heat2D(lambda t: 2.0, lambda X, Y, t: np.ones_like(X), None, nx=nx, dt=0.05)
        for system in heat.steps(300):
            heat.advance(spla.spsolve(system.A.tocsc(), system.b))
        h = 1 / (nx + 1)
        steady = spla.spsolve((2.0 * poisson_2d(nx) / h**2).tocsc(), np.ones(nx * nx))
        np.testing.assert_allclose(heat.u, steady, rtol=1e-8)

    def test_default_problem_is_the_papers(self):
        heat = Heat2D(nx=8, dt=0.125)
        contexts = []
        for system in heat.steps(8):
            contexts.append(system.context)
            assert sp.issparse(system.A)
            heat.advance(system.x0)
        t = 0.125 * np.arange(1, 9)
        s = np.sin(2 * np.pi * t)
        np.testing.assert_allclose(contexts, np.maximum(0.1 * s, -10 * s), atol=1e-12)

    def test_protocol_errors(self):
        heat = Heat2D(nx=4)
        with pytest.raises(RuntimeError, match="advance"):
            heat.advance(np.zeros(16))
        heat.next_system()
        with pytest.raises(RuntimeError, match="advance"):
            heat.next_system()
        with pytest.raises(ValueError, match="u must"):
            heat.advance(np.zeros(5))
        with pytest.raises(ValueError, match="u must"):
            heat.advance(np.full(16, np.nan))

    def test_bad_input(self):
        with pytest.raises(ValueError, match="initial"):
            Heat2D(initial=np.zeros(3), nx=4)
        with pytest.raises(ValueError, match="dt"):
            Heat2D(nx=4, dt=0.0)
        with pytest.raises(TypeError, match="coefficient"):
            Heat2D(coefficient=1.0, nx=4)
        with pytest.raises(ValueError, match="coefficient"):
            Heat2D(coefficient=lambda t: -1.0, nx=4)
        with pytest.raises(ValueError, match="forcing"):
            Heat2D(forcing=lambda X, Y, t: np.zeros(3), nx=4)
