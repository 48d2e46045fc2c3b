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
    BAD_STRUCTURE,
    NOT_FINITE,
    SWEEP_OK,
    residual_norm_csr,
    sor_backward,
    sor_backward_csr,
    sor_forward,
    sor_split,
    sor_sweep_csr,
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
    for check in (False, True):  # rows unsorted: read as they are
        x, xold = x0.copy(), np.full(30, -7.0)
        bb, bad, code = sor_sweep_csr(A.indptr, A.indices, A.data, b, x, xold, omega, False,
                                      check)
        np.testing.assert_allclose(x, expected, rtol=1e-13)
        assert bb == pytest.approx(b @ b) and bad == -1 and np.all(xold == -7.0)
        assert code == SWEEP_OK
        x, xold = x0.copy(), np.empty(30)
        rr, bad, code = sor_sweep_csr(A.indptr, A.indices, A.data, b, x, xold, omega, True,
                                      check)
        np.testing.assert_allclose(x, expected, rtol=1e-13)
        assert np.array_equal(xold, x0) and rr == pytest.approx(np.sum((b - dense @ x0) ** 2))
        assert code == SWEEP_OK
    expected = x0 + np.linalg.solve(np.diag(D) / omega + np.triu(dense, 1), b - dense @ x0)
    x = x0.copy()
    sor_backward_csr(A.indptr, A.indices, A.data, b, x, omega)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    assert residual_norm_csr(A.indptr, A.indices, A.data, b, x0) == pytest.approx(
        np.linalg.norm(b - dense @ x0), rel=1e-13)
    for position in (0, 5, 29):  # a non-finite entry of A or b anywhere: the probe fires
        for value in (np.nan, np.inf, -np.inf):
            for residual in (False, True):
                bad_A = A.copy()
                bad_A.data[position] = value
                assert sor_sweep_csr(bad_A.indptr, bad_A.indices, bad_A.data, b, x0.copy(),
                                     np.empty(30), omega, residual, True)[2] == NOT_FINITE
                bad_b = b.copy()
                bad_b[position] = value
                assert sor_sweep_csr(A.indptr, A.indices, A.data, bad_b, x0.copy(),
                                     np.empty(30), omega, residual, True)[2] == NOT_FINITE
    # malformed structure: refused before anything is read out of bounds
    for field, position, value in [("indices", 3, 30), ("indices", 3, -1),
                                   ("indices", 0, 10**8), ("indptr", 0, 1),
                                   ("indptr", 30, A.nnz + 1), ("indptr", 2, 0)]:
        arrays = {"indptr": A.indptr.copy(), "indices": A.indices.copy()}
        arrays[field][position] = value
        assert sor_sweep_csr(arrays["indptr"], arrays["indices"], A.data, b, x0.copy(),
                             np.empty(30), omega, False, True)[2] == BAD_STRUCTURE
    assert sor_sweep_csr(A.indptr, A.indices, A.data[:-1], b, x0.copy(), np.empty(30),
                         omega, False, True)[2] == BAD_STRUCTURE


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


def test_csr_read_in_place_and_others_checked():
    """A float64 CSR goes to the kernels as it is (no copy, no structure pass of its own);
    unsorted rows and duplicates give the canonical matrix's iterates, malformed
    structure and non-finite values the messages of the checked path."""
    A = nonsymmetric_unsorted(40, seed=5)
    n = A.shape[0]
    b = np.random.default_rng(2).standard_normal(n)
    canonical = A.copy()
    canonical.sort_indices()
    # duplicates: every entry of row 3 split into two halves, the second ones at the end
    rows = [list(zip(A.indices[A.indptr[i]:A.indptr[i + 1]],
                     A.data[A.indptr[i]:A.indptr[i + 1]])) for i in range(n)]
    rows[3] = [(j, v / 2) for j, v in rows[3]] * 2
    dup = sp.csr_matrix(([v for r in rows for _, v in r], [j for r in rows for j, _ in r],
                         np.concatenate([[0], np.cumsum([len(r) for r in rows])])),
                        shape=(n, n))
    assert dup.nnz == A.nnz + len(rows[3]) // 2
    for k in (1, 3, 20):
        for x0 in (None, np.linspace(-1, 1, n)):
            with pytest.warns(ConvergenceWarning):
                ref = sor(canonical, b, 1.1, x0=x0, rtol=0, maxiter=k).x
            for M in (A, dup, sp.csr_array(A), A.tocsc(), A.toarray()):
                with pytest.warns(ConvergenceWarning):
                    x = sor(M, b, 1.1, x0=x0, rtol=0, maxiter=k).x
                np.testing.assert_allclose(x, ref, rtol=1e-13, atol=1e-13)
    before = [a.copy() for a in (A.indptr, A.indices, A.data)]
    sor(A, b, 1.1)
    assert all(np.array_equal(u, v) for u, v in zip(before, (A.indptr, A.indices, A.data)))
    bad = canonical.copy()
    bad.indices[7] = n
    with pytest.raises(ValueError, match=r"A.indices must be column indices in \[0, 40\)"):
        sor(bad, b, rtol=0, maxiter=1)
    bad = canonical.copy()
    bad.indptr[-1] = bad.nnz + 3
    with pytest.raises(ValueError, match="A.indptr must end at most"):
        sor(bad, b, x0=np.ones(n))
    nan_b = b.copy()
    nan_b[-1] = np.nan
    with pytest.raises(ValueError, match="b contains NaN or infinity"):
        sor(canonical, nan_b, rtol=0, maxiter=1)
    with pytest.raises(ValueError, match="b must be a vector of length 40"):
        sor(canonical, b[:-1])
    # finite inputs whose products overflow in the first sweep are not called non-finite
    big = sp.csr_matrix(np.array([[1.0, 1e300], [1e300, 1.0]]))
    for x0 in (None, np.array([0.0, 1e10])):
        with pytest.raises(ValueError, match="initial residual b - A x0 is not finite"):
            sor(big, np.array([1e300, 1.0]) if x0 is None else np.ones(2), x0=x0, rtol=0,
                maxiter=2)
    with pytest.warns(ConvergenceWarning, match="Diverged"):  # overflows in sweep 2
        res = sor(big, np.ones(2), 1.0, rtol=0, maxiter=3)
    assert res.status is Status.DIVERGED
