import numpy as np
import pytest
import scipy.sparse.linalg as spla
from numpy.polynomial import chebyshev

from numlearn.datasets import poisson_2d
from numlearn.linalg import cg
from numlearn.linalg.polynomial import chebyshev_preconditioner


@pytest.mark.parametrize("degree", [0, 1, 2, 5, 9])
def test_chebyshev_preconditioner_is_the_closed_form_polynomial(degree):
    A = poisson_2d(6).toarray() + 0.05 * np.eye(36)
    upper, ratio = 8.5, 20.0
    lam, V = np.linalg.eigh(A)
    lower = upper / ratio
    theta, delta = (upper + lower) / 2, (upper - lower) / 2
    T = chebyshev.Chebyshev.basis(degree + 1)
    # 1 − λ p(λ) = T_{d+1}((θ − λ)/δ) / T_{d+1}(θ/δ)
    p = (1.0 - T((theta - lam) / delta) / T(theta / delta)) / lam
    expected = V @ np.diag(p) @ V.T
    M = chebyshev_preconditioner(A, degree, upper=upper, ratio=ratio)
    np.testing.assert_allclose(M @ np.eye(36), expected, atol=1e-12 * np.abs(expected).max())
    assert np.all(p > 0)  # SPD, including the eigenvalues below the interval


def test_chebyshev_preconditioned_cg_matches_scipy_and_saves_iterations():
    A = poisson_2d(20)
    b = np.random.default_rng(0).standard_normal(400)
    M = chebyshev_preconditioner(A, 4)
    ours = cg(A, b, rtol=1e-10, M=M)
    count = []
    x, info = spla.cg(A, b, rtol=1e-10, M=M, callback=lambda xk: count.append(1))
    assert info == 0 and ours.converged and ours.n_iter == len(count)
    np.testing.assert_allclose(ours.x, x, rtol=1e-8, atol=1e-10)
    assert ours.n_iter < 0.4 * cg(A, b, rtol=1e-10).n_iter
    # the default interval's top is Gershgorin's bound: 8 for the 5-point Laplacian
    np.testing.assert_allclose(M @ b, chebyshev_preconditioner(A, 4, upper=8.0) @ b)


def test_chebyshev_preconditioner_bad_input():
    A = poisson_2d(3)
    with pytest.raises(ValueError, match="degree"):
        chebyshev_preconditioner(A, -1)
    with pytest.raises(ValueError, match="ratio"):
        chebyshev_preconditioner(A, 2, ratio=1.0)
    with pytest.raises(ValueError, match="upper"):
        chebyshev_preconditioner(A, 2, upper=0.0)
    with pytest.raises(ValueError, match="square"):
        chebyshev_preconditioner(np.ones((2, 3)), 2)
    with pytest.raises(TypeError, match="did you mean 'ratio'"):
        chebyshev_preconditioner(A, 2, ration=3.0)
