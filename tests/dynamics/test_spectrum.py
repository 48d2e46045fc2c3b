"""Hessian eigenvalue density (SLQ) and gradient overlap against dense eigendecompositions."""

import numpy as np
import pytest

from numlearn.dynamics import TwoLayerNetwork, gradient_overlap, hessian_density
from numlearn.linalg import spectral_density
from numlearn.linalg.density import lanczos_quadrature


def _smoothed(eigs, grid, sigma):
    d = (grid[:, None] - eigs[None, :]) / sigma
    return np.exp(-0.5 * d * d).mean(axis=1) / (sigma * np.sqrt(2 * np.pi))


def _spd_with_outliers(n=300, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigs = np.r_[rng.uniform(0.0, 1.0, n - 3), [5.0, 8.0, 12.0]]
    return (Q * eigs) @ Q.T, eigs


def test_lanczos_quadrature_is_exact_gauss_quadrature():
    A, eigs = _spd_with_outliers(60)
    rng = np.random.default_rng(1)
    v = rng.standard_normal(60)
    nodes, weights, m = lanczos_quadrature(lambda x: A @ x, v, 10)
    assert m == 10 and np.isclose(weights.sum(), 1.0, atol=1e-14)
    u = v / np.linalg.norm(v)
    # an m-point Gauss rule integrates polynomials of degree 2m - 1 exactly: vᵀA^k v
    for k in range(0, 20):
        exact = u @ np.linalg.matrix_power(A, k) @ u
        assert np.isclose(weights @ nodes**k, exact, rtol=1e-9), k


def test_density_matches_the_smoothed_eigenvalue_histogram():
    A, eigs = _spd_with_outliers(300)
    sigma = 0.05
    res = spectral_density(A, n_vectors=30, n_steps=60, sigma=sigma, random_state=0)
    dx = res.grid[1] - res.grid[0]
    assert res.density.sum() * dx == pytest.approx(1.0, abs=1e-6)
    exact = _smoothed(eigs, res.grid, sigma)
    l1 = np.abs(res.density - exact).sum() * dx
    assert l1 < 0.15, l1
    # the outliers carry 1/n of the mass each, located within the kernel width
    near = [(res.density[np.abs(res.grid - e) < 3 * sigma]).sum() * dx for e in (8.0, 12.0)]
    np.testing.assert_allclose(near, 1 / 300, rtol=0.6)
    # mean of the density = tr(A)/n within Hutchinson's error
    mean = (res.grid * res.density).sum() * dx
    assert mean == pytest.approx(np.trace(A) / 300, rel=0.05)


def test_density_wrong_input():
    with pytest.raises(TypeError, match="n must be given"):
        spectral_density(lambda v: v)
    with pytest.raises(ValueError, match="n_vectors"):
        spectral_density(np.eye(3), n_vectors=0)
    with pytest.raises(ValueError, match="square"):
        spectral_density(np.ones((3, 2)))


def _network():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((40, 4)), rng.standard_normal(40)
    model = TwoLayerNetwork(X, y, width=12)
    return model, model.init_params(random_state=1)


def test_hessian_density_on_a_network_matches_eigvalsh():
    model, w = _network()
    eigs = np.linalg.eigvalsh(model.hessian(w))
    sigma = 0.02 * (eigs.max() - eigs.min())
    res = hessian_density(model, w, n_vectors=40, n_steps=model.n_params, sigma=sigma,
                          random_state=0)
    dx = res.grid[1] - res.grid[0]
    l1 = np.abs(res.density - _smoothed(eigs, res.grid, sigma)).sum() * dx
    assert l1 < 0.2, l1
    assert res.n_hvp <= 40 * model.n_params
    # full Krylov space: the extreme nodes are the extreme eigenvalues
    assert np.nanmax(res.nodes) == pytest.approx(eigs.max(), rel=1e-8)
    assert np.nanmin(res.nodes) == pytest.approx(eigs.min(), rel=1e-6, abs=1e-8)


def test_gradient_overlap_matches_a_dense_projection():
    model, w = _network()
    H = model.hessian(w)
    vals, vecs = np.linalg.eigh(H)
    g = model.grad(w)
    for k in (1, 3):
        expected = np.linalg.norm(vecs[:, -k:].T @ g) ** 2 / (g @ g)
        res = gradient_overlap(model, w, k, random_state=0)
        assert res.overlap == pytest.approx(expected, rel=1e-8, abs=1e-12)
        np.testing.assert_allclose(res.eigenvalues, vals[-k:], rtol=1e-8)
    with pytest.raises(ValueError, match="k"):
        gradient_overlap(model, w, 0)
    with pytest.raises(TypeError, match="hvp"):
        hessian_density(object(), w)
