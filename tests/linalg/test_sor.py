import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
from numlearn.datasets import poisson_1d, poisson_2d
from numlearn.linalg import cg
from numlearn.linalg.sor import (
    _Split,
    _SSORPreconditioner,
    optimal_omega,
    sor,
    ssor_cg,
)

TEXTBOOK_A = np.array(
    [[4.0, -1.0, -6.0, 0.0], [-5.0, -4.0, 10.0, 8.0], [0.0, 9.0, 4.0, -2.0], [1.0, 0.0, -7.0, 5.0]]
)
TEXTBOOK_B = np.array([2.0, 21.0, -12.0, -6.0])


# ---------------------------------------------------------------------------------------
# dense references
# ---------------------------------------------------------------------------------------
def reference_sor(A, b, omega, x0, n_iter, symmetric=False):
    """Iterates of x ← x + (D/ω + L)⁻¹ (b − A x) (then the same with U for SSOR)."""
    A = np.asarray(A.toarray() if sp.issparse(A) else A)
    D = np.diag(np.diag(A))
    forward = D / omega + np.tril(A, -1)
    backward = D / omega + np.triu(A, 1)
    x = np.array(x0, dtype=float)
    iterates = [x.copy()]
    for _ in range(n_iter):
        x = x + np.linalg.solve(forward, b - A @ x)
        if symmetric:
            x = x + np.linalg.solve(backward, b - A @ x)
        iterates.append(x.copy())
    return iterates


def collect(solver, *args, **kwargs):
    """Run ``solver`` and keep copies of the iterates it passes to the callback."""
    iterates = []
    res = solver(*args, callback=lambda xk: iterates.append(np.array(xk, copy=True)), **kwargs)
    return res, iterates


def random_nonsymmetric(n=40, seed=0):
    """A sparse, nonsymmetric, strictly diagonally dominant matrix (SOR converges)."""
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, density=0.15, random_state=rng, format="csr")
    M.data = rng.uniform(-1.0, 1.0, M.nnz)
    M.setdiag(0.0)
    M.eliminate_zeros()
    row_sums = np.asarray(abs(M).sum(axis=1)).ravel()
    return (M + sp.diags(row_sums + 1.0 + rng.uniform(0, 1, n))).tocsr()


def spd_random(n=40, seed=1):
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, density=0.1, random_state=rng)
    S = M + M.T
    return (S + sp.diags(np.asarray(abs(S).sum(axis=1)).ravel() + 0.5)).tocsr()


# ---------------------------------------------------------------------------------------
# sor: iterates, stopping, fused residual
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("omega", [0.6, 1.0, 1.45])
@pytest.mark.parametrize("matrix", ["nonsymmetric", "spd"])
def test_iterates_match_dense_reference(matrix, omega, symmetric):
    A = random_nonsymmetric() if matrix == "nonsymmetric" else spd_random()
    n = A.shape[0]
    rng = np.random.default_rng(3)
    b, x0 = rng.standard_normal(n), rng.standard_normal(n)
    res, ours = collect(sor, A, b, omega, x0=x0, rtol=1e-9, symmetric=symmetric)
    assert res.converged and res.status is Status.SUCCESS
    ref = reference_sor(A, b, omega, x0, res.n_iter + 1, symmetric)
    assert len(ours) == res.n_iter
    for k, mine in enumerate(ours, start=1):
        np.testing.assert_allclose(mine, ref[k], rtol=1e-12, atol=1e-12, err_msg=f"iterate {k}")
    # the stop is at the first reference iterate meeting ‖r_k‖ ≤ rtol ‖r_0‖
    r = [np.linalg.norm(b - A @ xk) for xk in ref]
    first = next(k for k, rk in enumerate(r) if rk <= 1e-9 * r[0])
    assert res.n_iter == first
    np.testing.assert_allclose(res.x, ref[first], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.residual_norm, r[first], rtol=1e-6, atol=1e-14 * r[0])


def test_textbook_example_nonsymmetric():
    def stop_after_one(xk):
        raise StopIteration

    one = sor(TEXTBOOK_A, TEXTBOOK_B, 0.5, callback=stop_after_one)
    assert one.status is Status.CALLBACK_STOP and not one.converged and one.n_iter == 1
    np.testing.assert_allclose(one.x, [0.25, -2.78125, 1.6289062, 0.5152344], atol=1e-7)
    np.testing.assert_allclose(
        one.residual_norm, np.linalg.norm(TEXTBOOK_B - TEXTBOOK_A @ one.x), rtol=1e-12
    )
    res = sor(TEXTBOOK_A, TEXTBOOK_B, 0.5, rtol=1e-12)
    assert res.converged
    np.testing.assert_allclose(res.x, [3.0, -2.0, 2.0, 1.0], atol=1e-10)


@pytest.mark.parametrize("symmetric", [False, True])
def test_fused_residual_equals_direct_residual(symmetric):
    A = random_nonsymmetric(60, seed=5)
    b = np.random.default_rng(1).standard_normal(60)
    x0 = np.ones(60)
    res, iterates = collect(
        sor, A, b, 1.2, x0=x0, rtol=1e-10, symmetric=symmetric, return_history=True
    )
    assert res.history.shape == (res.n_iter + 1,)
    direct = [np.linalg.norm(b - A @ x0)] + [np.linalg.norm(b - A @ xk) for xk in iterates]
    np.testing.assert_allclose(res.history, direct, rtol=1e-9, atol=1e-13 * direct[0])
    assert res.history[-1] <= 1e-10 * res.history[0] < res.history[-2]
    np.testing.assert_allclose(
        res.residual_norm, np.linalg.norm(b - A @ res.x), rtol=1e-6, atol=1e-14 * direct[0]
    )


def test_check_every_keeps_iterates_and_rounds_count_up():
    A = poisson_2d(8)
    b = np.random.default_rng(2).standard_normal(64)
    every, ours_every = collect(sor, A, b, 1.3, check_every=7, return_history=True)
    exact, ours_exact = collect(sor, A, b, 1.3)
    assert every.n_iter % 7 == 0 and exact.n_iter <= every.n_iter < exact.n_iter + 7
    # same operations in both kernels: bitwise the same iterates
    for a, e in zip(ours_every, ours_exact, strict=False):
        np.testing.assert_array_equal(a, e)
    checked = np.arange(0, every.n_iter + 1, 7)
    assert np.all(np.isfinite(every.history[checked]))
    assert np.isnan(np.delete(every.history, checked)).all()


# ---------------------------------------------------------------------------------------
# sor on the model problem: iteration counts and Young's rates
# ---------------------------------------------------------------------------------------
def young_rate(omega, m):
    mu = np.cos(np.pi / (m + 1))
    w_opt = 2.0 / (1.0 + np.sin(np.pi / (m + 1)))
    if omega >= w_opt:
        return omega - 1.0
    return 0.25 * (omega * mu + np.sqrt(omega**2 * mu**2 - 4.0 * (omega - 1.0))) ** 2


def test_poisson_iteration_counts_m10():
    # papers.md: about 201 iterations at ω = 1 and 39 at ω*, tol 1e-8 from x0 = 0. The
    # count depends on b (162 to 207 at ω = 1 over 30 Gaussian draws), so compare means.
    A = poisson_2d(10)
    w_opt = 2.0 / (1.0 + np.sin(np.pi / 11))
    counts_gs, counts_opt = [], []
    for seed in range(10):
        b = np.random.default_rng(seed).standard_normal(100)
        counts_gs.append(sor(A, b, 1.0).n_iter)
        counts_opt.append(sor(A, b, w_opt).n_iter)
    assert np.mean(counts_gs) == pytest.approx(201, rel=0.06), counts_gs
    assert max(counts_gs) <= 201 * 1.05, counts_gs
    assert np.mean(counts_opt) == pytest.approx(39, abs=2), counts_opt
    assert all(abs(c - 39) <= 3 for c in counts_opt), counts_opt
    # ω* is about 5 times faster (7 times asymptotically: log ρ_GS / log(ω* − 1) = 0.143;
    # the first few sweeps, which reduce every mode fast, narrow the gap)
    assert np.mean(counts_opt) / np.mean(counts_gs) == pytest.approx(0.19, abs=0.03)


@pytest.mark.parametrize("omega", [1.0, 1.5, 1.9])
def test_poisson_counts_match_pyamg_m32(omega):
    """Same iteration counts as a loop over pyamg's (independent, C++) SOR sweep."""
    relaxation = pytest.importorskip("pyamg.relaxation.relaxation")
    A = poisson_2d(32)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    res = sor(A, b, omega, rtol=1e-8)
    x = np.zeros_like(b)
    k = 0
    while np.linalg.norm(b - A @ x) > 1e-8 * np.linalg.norm(b):
        relaxation.sor(A, x, b, omega, iterations=1, sweep="forward")
        k += 1
    assert res.n_iter == k
    np.testing.assert_allclose(res.x, x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "m, omega, tol",
    [
        (10, 1.0, 1e-4),
        (10, 1.3, 1e-4),
        (10, 1.5, 1e-4),
        (32, 1.7, 1e-4),
        (10, 1.9, 5e-3),
        (32, "opt", 0.02),
        (10, "opt", 0.05),
    ],
)
def test_asymptotic_rate_matches_young(m, omega, tol):
    w_opt = 2.0 / (1.0 + np.sin(np.pi / (m + 1)))
    omega = w_opt if omega == "opt" else omega
    A = poisson_2d(m)
    b = np.random.default_rng(0).standard_normal(m * m)
    res = sor(A, b, omega, rtol=1e-13, return_history=True)
    h = res.history
    k1, k2 = res.n_iter // 2, res.n_iter - 2  # geometric mean over the late half
    rate = (h[k2] / h[k1]) ** (1.0 / (k2 - k1))
    # at ω* the iteration matrix has a 2x2 Jordan block: ‖r_k‖ ~ k ρ^k, hence the looser
    # tolerance there (and it shrinks as the run gets longer, m = 32)
    assert rate == pytest.approx(young_rate(omega, m), rel=tol)


# ---------------------------------------------------------------------------------------
# optimal_omega
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [10, 32])
def test_optimal_omega_poisson(m):
    assert optimal_omega(poisson_2d(m)) == pytest.approx(
        2.0 / (1.0 + np.sin(np.pi / (m + 1))), rel=0, abs=1e-8
    )


def test_optimal_omega_tridiagonal_scaled_and_dense():
    # ρ_J is invariant under diagonal scaling D A D; the 1-D Laplacian is tridiagonal
    n = 30
    A = poisson_1d(n)
    d = sp.diags(np.linspace(1.0, 3.0, n))
    expected = 2.0 / (1.0 + np.sin(np.pi / (n + 1)))
    assert optimal_omega((d @ A @ d).toarray()) == pytest.approx(expected, abs=1e-8)
    assert optimal_omega(np.array([[2.0]])) == 1.0


def test_optimal_omega_is_the_best_omega():
    A = poisson_2d(10)
    b = np.random.default_rng(4).standard_normal(100)
    w = optimal_omega(A)
    best = sor(A, b, w).n_iter
    assert all(sor(A, b, w + dw).n_iter >= best - 1 for dw in (-0.1, -0.05, 0.05, 0.1))


def test_optimal_omega_rejects_bad_matrices():
    with pytest.raises(ValueError, match="symmetric"):
        optimal_omega(TEXTBOOK_A + 10 * np.eye(4))
    with pytest.raises(ValueError, match="spectral radius"):
        optimal_omega(np.array([[1.0, 2.0], [2.0, 1.0]]))  # indefinite: ρ_J = 2
    with pytest.raises(ValueError, match="row 1"):
        optimal_omega(np.array([[1.0, 0.1], [0.1, -1.0]]))
    with pytest.raises(ValueError, match="square"):
        optimal_omega(np.ones((2, 3)))


# ---------------------------------------------------------------------------------------
# ssor_cg
# ---------------------------------------------------------------------------------------
def dense_ssor_preconditioner(A, omega):
    A = A.toarray()
    D = np.diag(np.diag(A))
    L, U = np.tril(A, -1), np.triu(A, 1)
    return (D + omega * L) @ np.linalg.solve(D, D + omega * U) / (omega * (2.0 - omega))


@pytest.mark.parametrize("omega", [0.5, 1.0, 1.8])
@pytest.mark.parametrize("matrix", ["spd", "nonsymmetric"])
def test_ssor_preconditioner_matches_dense_solve(matrix, omega):
    A = spd_random() if matrix == "spd" else random_nonsymmetric()
    r = np.random.default_rng(0).standard_normal(A.shape[0])
    apply = _SSORPreconditioner(_Split(A, omega))
    M = dense_ssor_preconditioner(A, omega)
    np.testing.assert_allclose(apply(r), np.linalg.solve(M, r), rtol=1e-11, atol=1e-12)

    # M⁻¹ r is also one SSOR iteration for A z = r from z = 0
    def stop(xk):
        raise StopIteration

    one = sor(A, r, omega, symmetric=True, callback=stop)
    np.testing.assert_allclose(apply(r), one.x, rtol=1e-12, atol=1e-13)


def test_ssor_cg_iterates_match_scipy():
    A = poisson_2d(20)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    apply = _SSORPreconditioner(_Split(A, 1.4))
    M = spla.LinearOperator(A.shape, matvec=apply, dtype=np.float64)
    ref = []
    x_ref, info = spla.cg(A, b, rtol=1e-10, M=M, callback=lambda xk: ref.append(xk.copy()))
    res, ours = collect(ssor_cg, A, b, 1.4, rtol=1e-10)
    assert info == 0 and res.converged
    assert res.n_iter == len(ref) == len(ours)
    for k, (mine, theirs) in enumerate(zip(ours, ref, strict=False)):
        err = np.linalg.norm(mine - theirs) / np.linalg.norm(theirs)
        assert err < 1e-10, f"iterate {k} differs by {err:.2e}"
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-9, atol=1e-12)
    assert np.linalg.norm(b - A @ res.x) < 1e-9 * np.linalg.norm(b)


def test_ssor_cg_beats_cg_and_uses_b_relative_stop():
    A = poisson_2d(32)
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    plain = cg(A, b, rtol=1e-8)
    pre = ssor_cg(A, b, 1.7, rtol=1e-8, return_history=True)
    assert pre.converged and pre.n_iter < 0.5 * plain.n_iter
    assert pre.history[-1] < 1e-8 * np.linalg.norm(b)
    # warm start from a good guess: the rule is relative to ‖b‖, so it saves iterations
    warm = ssor_cg(A, b, 1.7, x0=pre.x + 1e-6, rtol=1e-8)
    assert warm.converged and warm.n_iter < pre.n_iter
    exact = ssor_cg(A, b, 1.7, x0=pre.x, rtol=1e-6)
    assert exact.n_iter == 0


def test_ssor_cg_maxiter_warns_with_its_name():
    A = poisson_2d(10)
    with pytest.warns(ConvergenceWarning, match="ssor_cg"):
        res = ssor_cg(A, np.ones(100), 1.5, maxiter=2)
    assert res.n_iter == 2 and not res.converged and res.status is Status.MAX_ITER


# ---------------------------------------------------------------------------------------
# bad input, edge cases, outcomes
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", [sor, ssor_cg])
@pytest.mark.parametrize("omega", [0.0, 2.0, -0.5, 2.5, np.nan])
def test_omega_outside_open_interval_raises(solver, omega):
    with pytest.raises(ValueError, match="omega"):
        solver(poisson_2d(3), np.ones(9), omega)


@pytest.mark.parametrize("solver", [sor, ssor_cg])
def test_zero_diagonal_raises_naming_row(solver):
    A = poisson_2d(3).tolil()
    A[4, 4] = 0.0
    with pytest.raises(ValueError, match="A .*row 4"):
        solver(A.tocsr(), np.ones(9), 1.0)
    dense = poisson_2d(3).toarray()
    dense[7, 7] = 0.0
    with pytest.raises(ValueError, match="A .*row 7"):
        solver(dense, np.ones(9), 1.0)


@pytest.mark.parametrize("solver", [sor, ssor_cg])
def test_invalid_arguments(solver):
    A = poisson_2d(3)
    b = np.ones(9)
    with pytest.raises(ValueError, match="square"):
        solver(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="b must be a vector of length 9"):
        solver(A, np.ones(8))
    with pytest.raises(ValueError, match="x0"):
        solver(A, b, x0=np.ones(10))
    bad = A.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="A contains NaN"):
        solver(bad, b)
    with pytest.raises(ValueError, match="b contains NaN"):
        solver(A, np.r_[np.inf, b[1:]])
    with pytest.raises(ValueError, match="x0 contains NaN"):
        solver(A, b, x0=np.r_[np.nan, b[1:]])
    with pytest.raises(ValueError, match="rtol"):
        solver(A, b, rtol=-1e-3)
    with pytest.raises(ValueError, match="atol"):
        solver(A, b, atol=-1.0)
    with pytest.raises(TypeError, match="A must be"):
        solver(spla.aslinearoperator(A), b)
    with pytest.raises(TypeError, match="callback"):
        solver(A, b, callback=3)


def test_sor_specific_invalid_arguments():
    A = poisson_2d(3)
    with pytest.raises(ValueError, match="maxiter"):
        sor(A, np.ones(9), maxiter=-1)
    with pytest.raises(ValueError, match="check_every"):
        sor(A, np.ones(9), check_every=0)


@pytest.mark.parametrize("symmetric", [False, True])
def test_maxiter_warns_and_reports_count(symmetric):
    A = poisson_2d(10)
    b = np.ones(100)
    with pytest.warns(ConvergenceWarning, match="sor did not converge after 7"):
        res = sor(A, b, 1.2, maxiter=7, symmetric=symmetric, return_history=True)
    assert res.n_iter == 7 and not res.converged and res.status is Status.MAX_ITER
    assert res.history.shape == (8,)
    np.testing.assert_allclose(res.residual_norm, np.linalg.norm(b - A @ res.x), rtol=1e-12)
    assert res.history[-1] == res.residual_norm


def test_converging_exactly_at_maxiter_is_success():
    A = poisson_2d(10)
    b = np.ones(100)
    n = sor(A, b, 1.5).n_iter
    res = sor(A, b, 1.5, maxiter=n)
    assert res.converged and res.n_iter == n


def test_divergence_is_detected():
    A = np.array([[1.0, 3.0], [3.0, 1.0]])  # symmetric indefinite: GS multiplies by 9
    with pytest.warns(ConvergenceWarning, match="Diverged"):
        res = sor(A, np.array([1.0, 2.0]), 1.0)
    assert res.status is Status.DIVERGED and not res.converged and res.n_iter < 20
    np.testing.assert_allclose(
        res.residual_norm, np.linalg.norm([1.0, 2.0] - A @ res.x), rtol=1e-10
    )


def test_trivial_cases():
    A = poisson_2d(4)
    res = sor(A, np.zeros(16), 1.3, x0=np.ones(16))  # tolerance relative to ‖A x0‖
    assert res.converged and 0 < res.n_iter < 30
    assert np.linalg.norm(A @ res.x) <= 1e-8 * np.linalg.norm(A @ np.ones(16))
    res = sor(A, np.zeros(16), 1.3)
    assert res.converged and res.n_iter == 0 and np.all(res.x == 0)
    x_true = np.linspace(-1, 1, 16)
    res = sor(A, A @ x_true, 1.3, x0=x_true)
    assert res.converged and res.n_iter == 0
    res = sor(A, np.ones(16), 1.3, maxiter=0, atol=1e3)
    assert res.converged and res.n_iter == 0


def test_callback_stop_and_verbose(capsys):
    A = poisson_2d(6)
    b = np.ones(36)
    seen = []

    def cb(xk):
        seen.append(1)
        if len(seen) == 3:
            raise StopIteration

    res = sor(A, b, 1.2, callback=cb, verbose=2)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 3
    out = capsys.readouterr().out
    assert "sor: iter 2  residual" in out


@pytest.mark.parametrize("symmetric", [False, True])
def test_dense_csr_csc_int64_and_float32_agree(symmetric):
    A = random_nonsymmetric(30, seed=7)
    b = np.random.default_rng(0).standard_normal(30)
    ref = sor(A, b, 1.1, symmetric=symmetric)
    A64 = A.copy()
    A64.indices = A64.indices.astype(np.int64)
    A64.indptr = A64.indptr.astype(np.int64)
    for form in (A.toarray(), A.tocsc(), A64, A.astype(np.float32).toarray().tolist()):
        bb = b.astype(np.float32) if isinstance(form, list) else b
        res = sor(form, bb, 1.1, symmetric=symmetric)
        assert res.x.dtype == np.float64
        if isinstance(form, list):
            assert abs(res.n_iter - ref.n_iter) <= 1
            np.testing.assert_allclose(res.x, ref.x, rtol=1e-5, atol=1e-6)
        else:
            assert res.n_iter == ref.n_iter
            np.testing.assert_allclose(res.x, ref.x, rtol=1e-13, atol=1e-14)


def test_unsorted_duplicate_entries_give_same_result():
    A = random_nonsymmetric(30, seed=8)
    b = np.random.default_rng(0).standard_normal(30)
    C = A.tocoo()
    # every entry split in two halves, the halves shuffled within their row
    rows = np.concatenate([C.row, C.row])
    cols = np.concatenate([C.col, C.col])
    vals = np.concatenate([0.25 * C.data, 0.75 * C.data])
    order = np.lexsort((np.random.default_rng(1).random(rows.size), rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=30))])
    messy = sp.csr_matrix((vals, cols, indptr), shape=A.shape)
    assert not messy.has_canonical_format
    for symmetric in (False, True):
        ref = sor(A, b, 1.3, symmetric=symmetric)
        res = sor(messy, b, 1.3, symmetric=symmetric)
        assert res.n_iter == ref.n_iter
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        _SSORPreconditioner(_Split(messy, 1.3))(b),
        _SSORPreconditioner(_Split(A, 1.3))(b),
        rtol=1e-12,
        atol=1e-13,
    )


@pytest.mark.parametrize("solver", [sor, ssor_cg])
def test_inputs_not_modified(solver):
    A = poisson_2d(5)
    dense = A.toarray()
    b = np.random.default_rng(0).standard_normal(25)
    x0 = np.random.default_rng(1).standard_normal(25)
    copies = (A.data.copy(), A.indices.copy(), A.indptr.copy(), dense.copy(), b.copy(), x0.copy())
    solver(A, b, 1.5, x0=x0)
    solver(dense, b, 1.5, x0=x0)
    for before, after in zip(copies, (A.data, A.indices, A.indptr, dense, b, x0), strict=True):
        np.testing.assert_array_equal(before, after)
