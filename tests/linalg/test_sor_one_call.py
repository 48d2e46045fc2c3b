"""The one-call path of ``sor`` (no callback / history / verbose): sweeps on A's CSR arrays,
the split built only for long solves, residuals only where the stopping rule needs them,
and ``omega="optimal"``."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
from numlearn.datasets import poisson_2d
from numlearn.linalg._sor_kernels import (
    residual_norm_csr,
    sor_backward,
    sor_backward_csr,
    sor_forward,
    sor_forward_csr,
    sor_forward_residual_csr,
    sor_split,
)
from numlearn.linalg.sor import _SPLIT_AFTER, optimal_omega, sor


def split_iterates(A, b, omega, x0, k, symmetric):
    """Today's sweeps (over B = ωD⁻¹(L+U), built by sor_split), k times from x0."""
    A = sp.csr_matrix(A)
    n = A.shape[0]
    diag, bptr, _, bind, bdata, _ = sor_split(A.indptr, A.indices, A.data, n, omega)
    c = omega * b / diag
    x = np.array(x0, dtype=float)
    for _ in range(k):
        sor_forward(bptr, bind, bdata, c, x, 1.0 - omega)
        if symmetric:
            sor_backward(bptr, bind, bdata, c, x, 1.0 - omega)
    return x


def nonsymmetric_unsorted(n=60, seed=0):
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, density=0.1, random_state=rng, format="csr")
    M.data = rng.uniform(-1.0, 1.0, M.nnz)
    M.setdiag(0.0)
    M.eliminate_zeros()
    M = (M + sp.diags(np.asarray(abs(M).sum(axis=1)).ravel() + 1.0)).tocsr()
    # reverse each row's entries: unsorted indices, diagonal anywhere in the row
    for i in range(n):
        lo, hi = M.indptr[i], M.indptr[i + 1]
        M.indices[lo:hi] = M.indices[lo:hi][::-1].copy()
        M.data[lo:hi] = M.data[lo:hi][::-1].copy()
    M.has_sorted_indices = False
    return M


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("with_x0", [False, True])
@pytest.mark.parametrize("k", [1, 3, 10, 100])
@pytest.mark.parametrize("matrix", ["poisson", "nonsymmetric"])
def test_iterates_equal_split_sweeps(matrix, k, with_x0, symmetric):
    A = poisson_2d(12) if matrix == "poisson" else nonsymmetric_unsorted()
    n = A.shape[0]
    rng = np.random.default_rng(k)
    b = rng.standard_normal(n)
    x0 = rng.standard_normal(n) if with_x0 else None
    omega = 1.5 if matrix == "poisson" else 1.1
    with pytest.warns(ConvergenceWarning, match="after %d iterations" % k):
        res = sor(A, b, omega, x0=x0, rtol=0, maxiter=k, symmetric=symmetric)
    ref = split_iterates(A, b, omega, np.zeros(n) if x0 is None else x0, k, symmetric)
    assert res.n_iter == k and res.status is Status.MAX_ITER
    np.testing.assert_allclose(res.x, ref, rtol=1e-14, atol=1e-14 * np.abs(ref).max())
    # the lazily computed residual is the residual of the returned x
    assert res.residual_norm == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-10)


@pytest.mark.parametrize("check_every", [1, 3])
@pytest.mark.parametrize("symmetric", [False, True])
def test_one_call_matches_python_loop(check_every, symmetric):
    """Same n_iter and iterates as the sweep-by-sweep loop (callback path), across the
    switch from sweeps on A to sweeps on B (more than _SPLIT_AFTER sweeps)."""
    A = poisson_2d(15)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    x0 = np.linspace(0, 1, A.shape[0])
    for omega in (1.0, 1.6):
        fast = sor(A, b, omega, x0=x0, check_every=check_every, symmetric=symmetric)
        slow = sor(A, b, omega, x0=x0, check_every=check_every, symmetric=symmetric,
                   callback=lambda xk: None)
        assert fast.n_iter == slow.n_iter > 2 * _SPLIT_AFTER
        assert fast.converged and slow.converged
        np.testing.assert_allclose(fast.x, slow.x, rtol=1e-12)
        assert fast.residual_norm == pytest.approx(slow.residual_norm, rel=1e-9)


def test_csr_kernels_against_numpy():
    A = nonsymmetric_unsorted(30, seed=3)
    D = A.diagonal()
    dense = A.toarray()
    rng = np.random.default_rng(1)
    b, x0 = rng.standard_normal(30), rng.standard_normal(30)
    omega = 1.2
    # forward sweep: x ← x + (D/ω + L)⁻¹ (b − A x)
    expected = x0 + np.linalg.solve(np.diag(D) / omega + np.tril(dense, -1), b - dense @ x0)
    x = x0.copy()
    bb, bad, probe = sor_forward_csr(A.indptr, A.indices, A.data, b, x, omega)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    assert bb == pytest.approx(b @ b) and bad == -1 and probe == 0.0
    x, xold = x0.copy(), np.empty(30)
    rr, bad, probe = sor_forward_residual_csr(A.indptr, A.indices, A.data, b, x, xold, omega)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    assert np.array_equal(xold, x0) and rr == pytest.approx(np.sum((b - dense @ x0) ** 2))
    expected = x0 + np.linalg.solve(np.diag(D) / omega + np.triu(dense, 1), b - dense @ x0)
    x = x0.copy()
    sor_backward_csr(A.indptr, A.indices, A.data, b, x, omega)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    assert residual_norm_csr(A.indptr, A.indices, A.data, b, x0) == pytest.approx(
        np.linalg.norm(b - dense @ x0), rel=1e-13)
    bad_A = A.copy()
    bad_A.data[5] = np.inf
    assert np.isnan(sor_forward_csr(bad_A.indptr, bad_A.indices, bad_A.data, b, x0.copy(),
                                    omega)[2])


def test_fixed_sweeps_result_fields_and_lazy_residual():
    A = poisson_2d(10)
    b = np.ones(100)
    with pytest.warns(ConvergenceWarning):
        res = sor(A, b, 1.5, rtol=0, maxiter=4)
    expected = np.linalg.norm(b - A @ res.x)
    assert "residual_norm" in res and res["residual_norm"] == pytest.approx(expected)
    assert res.get("residual_norm") == res.residual_norm and res.omega == 1.5
    assert set(res) >= {"x", "n_iter", "converged", "status", "message", "residual_norm"}
    with pytest.warns(ConvergenceWarning):
        res = sor(A, b, 1.5, rtol=0, maxiter=4)
    assert "residual_norm" in repr(res)
    with pytest.warns(ConvergenceWarning):
        res = sor(A, b, 1.5, rtol=0, maxiter=4)
    clone = pickle.loads(pickle.dumps(res))
    assert clone["residual_norm"] == pytest.approx(expected) and clone.n_iter == 4
    # atol > 0 keeps checking: converges before maxiter
    res = sor(A, b, 1.5, rtol=0, atol=1e-6)
    assert res.converged and res.residual_norm <= 1e-6
    assert sor(A, b, 1.5, rtol=0, atol=1e-6, callback=lambda xk: None).n_iter == res.n_iter


def test_fixed_sweeps_divergence_and_zero_rhs():
    A = np.array([[1.0, 3.0], [3.0, 1.0]])  # Gauss-Seidel multiplies the error by 9
    with pytest.warns(ConvergenceWarning, match="Diverged"):
        res = sor(A, np.array([1.0, 2.0]), 1.0, rtol=0, maxiter=400)
    assert res.status is Status.DIVERGED and res.n_iter == 400
    res = sor(poisson_2d(4), np.zeros(16), 1.3, rtol=0, maxiter=5)  # r_0 = 0 exactly
    assert res.converged and res.n_iter == 0 and np.all(res.x == 0)


def test_one_call_validation_of_A():
    A = poisson_2d(5)
    b = np.ones(25)
    for value in (np.nan, np.inf, -np.inf):
        bad = A.copy()
        bad.data[7] = value
        with pytest.raises(ValueError, match="A contains NaN or infinity"):
            sor(bad, b, rtol=0, maxiter=1)
        with pytest.raises(ValueError, match="A contains NaN or infinity"):
            sor(bad, b, x0=np.ones(25))
    zero = A.tolil()
    zero[11, 11] = 0.0
    with pytest.raises(ValueError, match="row 11"):
        sor(zero.tocsr(), b, x0=np.ones(25), rtol=0, maxiter=2)


@pytest.mark.parametrize("m", [8, 20])
def test_omega_optimal(m):
    A = poisson_2d(m)
    b = np.ones(m * m)
    res = sor(A, b, omega="optimal")
    expected = 2 / (1 + np.sin(np.pi / (m + 1)))
    assert res.omega == pytest.approx(expected, rel=1e-8)
    assert res.n_iter == sor(A, b, expected).n_iter
    # Young's ω* beats its neighbours on the model problem
    assert res.n_iter < sor(A, b, expected - 0.1).n_iter
    assert res.n_iter < sor(A, b, min(expected + 0.05, 1.99)).n_iter
    assert optimal_omega(A) == res.omega
    with pytest.raises(ValueError, match="omega must be one of 'optimal'"):
        sor(A, b, omega="best")
