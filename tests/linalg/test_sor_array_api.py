"""numlearn.linalg.sor / ssor_cg / optimal_omega on non-NumPy array-API inputs.

array_api_strict stands in for CuPy: the generic path sweeps in multicolor (red-black)
order with whole-array operations. It must agree with the NumPy path's solution, follow
the same stopping rule, statuses, warnings and validation, run exactly the iterates of the
kernels' CPU twin (the algorithm of the CuPy path), and return arrays of the input's
namespace and dtype.
"""

import array_api_compat.numpy as cnp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
from numlearn._backend import to_numpy
from numlearn.datasets import poisson_2d
from numlearn.linalg._sor_array_api import solve_sor
from numlearn.linalg.sor import optimal_omega, sor, ssor_cg

xps = pytest.importorskip("array_api_strict")
ARRAY = type(xps.asarray(0.0))


def random_nonsymmetric(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.15)
    np.fill_diagonal(A, np.abs(A).sum(axis=1) + 1.0)
    return A


def twin(A, b, omega, **kw):
    args = dict(x0=None, rtol=1e-8, atol=0.0, maxiter=10000, symmetric=False, callback=None,
                return_history=False, check_every=1, verbose=0)
    args.update(kw)
    return solve_sor(A, b, omega, xp=cnp, backend="twin", **args)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("omega", [1.0, 1.5, "opt"])
def test_sor_matches_numpy_path_and_kernel_twin(omega, symmetric):
    A = poisson_2d(12)
    b = np.random.default_rng(0).standard_normal(144)
    omega = optimal_omega(A) if omega == "opt" else omega
    ref = sor(A, b, omega, symmetric=symmetric, rtol=1e-10)
    tw = twin(A, b, omega, symmetric=symmetric, rtol=1e-10, return_history=True)
    res = sor(xps.asarray(A.toarray()), xps.asarray(b), omega, symmetric=symmetric, rtol=1e-10,
              return_history=True)
    assert type(res.x) is ARRAY and res.x.dtype == xps.float64 and res.x.shape == (144,)
    assert res.converged and res.status is Status.SUCCESS
    x = to_numpy(res.x)
    # same solution as natural-order SOR, to the accuracy the tolerance allows
    np.testing.assert_allclose(x, ref.x, rtol=0, atol=1e-8 * np.abs(ref.x).max())
    # the same algorithm as the CUDA kernels: same iterates, counts and history
    assert res.n_iter == tw.n_iter
    # (residuals of a dense product vs. the split's rows: equal to rounding, 1e-15 ‖b‖)
    np.testing.assert_allclose(res.history, tw.history, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(x, tw.x, rtol=1e-9, atol=1e-14)
    # stopping rule: ‖b − A x‖ ≤ rtol ‖b‖ first met at n_iter
    assert res.residual_norm == pytest.approx(np.linalg.norm(b - A @ x), rel=1e-8)
    assert res.history[-1] <= 1e-10 * np.linalg.norm(b) < res.history[-2]
    if not symmetric:  # red-black is consistently ordered: about natural order's count
        assert abs(res.n_iter - ref.n_iter) <= 0.25 * ref.n_iter + 2
    else:  # SSOR in red-black order loses the ω acceleration (documented): slower
        assert res.n_iter >= ref.n_iter


def test_nonsymmetric_matrix_x0_and_check_every():
    A = random_nonsymmetric(40, 1)
    rng = np.random.default_rng(2)
    b, x0 = rng.standard_normal((2, 40))
    kw = dict(x0=x0, rtol=1e-9, check_every=3, return_history=True)
    tw = twin(A, b, 1.1, **kw)
    res = sor(xps.asarray(A), xps.asarray(b), 1.1, **{**kw, "x0": xps.asarray(x0)})
    assert res.n_iter == tw.n_iter and res.n_iter % 3 == 0
    np.testing.assert_allclose(to_numpy(res.x), np.linalg.solve(A, b), rtol=1e-7)
    h = res.history
    assert h[0] == pytest.approx(np.linalg.norm(b - A @ x0), rel=1e-12)
    assert np.all(np.isnan(h[1:-1][np.arange(1, len(h) - 1) % 3 != 0]))
    np.testing.assert_allclose(h, tw.history, rtol=1e-9, atol=1e-13)


def test_float32_stays_float32():
    A = poisson_2d(8).toarray()
    b = np.random.default_rng(3).standard_normal(64)
    res = sor(xps.asarray(A, dtype=xps.float32), xps.asarray(b, dtype=xps.float32), 1.4,
              rtol=1e-5)
    assert res.converged and res.x.dtype == xps.float32
    np.testing.assert_allclose(to_numpy(res.x), np.linalg.solve(A, b), rtol=0,
                               atol=1e-4 * np.abs(np.linalg.solve(A, b)).max())
    # mixed precision computes in float64
    res = sor(xps.asarray(A, dtype=xps.float32), xps.asarray(b), 1.4)
    assert res.x.dtype == xps.float64 and res.converged


def test_ssor_cg_matches_numpy_path():
    A = poisson_2d(16)
    b = np.random.default_rng(4).standard_normal(256)
    ref = ssor_cg(A, b, 1.5, rtol=1e-10)
    res = ssor_cg(xps.asarray(A.toarray()), xps.asarray(b), 1.5, rtol=1e-10, return_history=True)
    assert type(res.x) is ARRAY and res.x.dtype == xps.float64 and res.converged
    np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=0, atol=1e-8 * np.abs(ref.x).max())
    # the multicolor SSOR preconditioner still helps: fewer iterations than plain CG
    from numlearn.linalg import cg

    assert res.n_iter < 0.8 * cg(A, b, rtol=1e-10).n_iter
    assert res.history[-1] < 1e-10 * np.linalg.norm(b)
    res = ssor_cg(xps.asarray(A.toarray()), xps.asarray(b), 1.5, x0=xps.asarray(ref.x))
    assert res.n_iter <= 1


def test_optimal_omega_accepts_array_api_inputs():
    A = poisson_2d(10)
    assert optimal_omega(xps.asarray(A.toarray())) == pytest.approx(optimal_omega(A), rel=1e-12)


def test_callback_sees_iterates_in_original_order():
    A = poisson_2d(6).toarray()
    b = np.random.default_rng(5).standard_normal(36)
    seen = []

    def cb(xk):
        assert type(xk) is ARRAY
        seen.append(to_numpy(xk).copy())
        if len(seen) == 4:
            raise StopIteration

    res = sor(xps.asarray(A), xps.asarray(b), 1.2, callback=cb)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 4 and not res.converged
    np.testing.assert_array_equal(seen[-1], to_numpy(res.x))
    with pytest.warns(ConvergenceWarning, match="after 4"):
        tw = twin(A, b, 1.2, maxiter=4, rtol=0.0)
    np.testing.assert_allclose(seen[-1], tw.x, rtol=1e-12)
    assert res.residual_norm == pytest.approx(np.linalg.norm(b - A @ seen[-1]), rel=1e-10)


def test_maxiter_divergence_and_trivial_cases():
    A = xps.asarray(poisson_2d(10).toarray())
    b = xps.ones(100)
    with pytest.warns(ConvergenceWarning, match="ssor did not converge after 7"):
        res = sor(A, b, 1.2, maxiter=7, symmetric=True, return_history=True)
    assert res.n_iter == 7 and res.status is Status.MAX_ITER and res.history.shape == (8,)
    assert res.history[-1] == res.residual_norm > 0
    with pytest.warns(ConvergenceWarning, match="ssor_cg did not converge"):
        ssor_cg(A, b, 1.2, maxiter=2)
    bad = xps.asarray([[1.0, 3.0], [3.0, 1.0]])  # Gauss-Seidel multiplies by 9
    with pytest.warns(ConvergenceWarning, match="Diverged"):
        res = sor(bad, xps.asarray([1.0, 2.0]), 1.0)
    assert res.status is Status.DIVERGED and res.n_iter < 20
    res = sor(A, xps.zeros(100), 1.3)
    assert res.converged and res.n_iter == 0 and not bool(xps.any(res.x != 0))
    res = sor(A, b, 1.3, maxiter=0, atol=1e3)
    assert res.converged and res.n_iter == 0


def test_fused_check_keeps_the_numpy_paths_iteration_count_rules():
    # converging exactly at maxiter is success; check_every rounds the count up
    A = poisson_2d(10).toarray()
    b = np.random.default_rng(7).standard_normal(100)
    Ax, bx = xps.asarray(A), xps.asarray(b)
    n = sor(Ax, bx, 1.5).n_iter
    res = sor(Ax, bx, 1.5, maxiter=n)
    assert res.converged and res.n_iter == n
    res = sor(Ax, bx, 1.5, check_every=4)
    assert res.converged and res.n_iter == 4 * -(-n // 4)
    assert res.residual_norm == pytest.approx(np.linalg.norm(b - A @ to_numpy(res.x)), rel=1e-8)


def test_verbose_prints(capsys):
    sor(xps.asarray(poisson_2d(4).toarray()), xps.ones(16), 1.2, verbose=2)
    assert "sor: iter 2  residual" in capsys.readouterr().out


@pytest.mark.parametrize("solver", [sor, ssor_cg])
def test_bad_input_through_the_array_api_path(solver):
    A = poisson_2d(3).toarray()
    Ax, bx = xps.asarray(A), xps.ones(9)
    with pytest.raises(ValueError, match="square"):
        solver(xps.ones((3, 4)), xps.ones(3))
    with pytest.raises(ValueError, match="b must be a vector of length 9"):
        solver(Ax, xps.ones(8))
    with pytest.raises(ValueError, match="x0"):
        solver(Ax, bx, x0=xps.ones(10))
    nan_A = A.copy()
    nan_A[0, 1] = np.nan
    with pytest.raises(ValueError, match="A contains NaN"):
        solver(xps.asarray(nan_A), bx)
    with pytest.raises(ValueError, match="b contains NaN"):
        solver(Ax, xps.asarray([np.inf] + [1.0] * 8))
    for omega in (0.0, 2.0, np.nan):
        with pytest.raises(ValueError, match="omega"):
            solver(Ax, bx, omega)
    with pytest.raises(ValueError, match="rtol"):
        solver(Ax, bx, rtol=-1.0)
    with pytest.raises(TypeError, match="callback"):
        solver(Ax, bx, callback=3)
    zero = A.copy()
    zero[7, 7] = 0.0
    with pytest.raises(ValueError, match="A .*row 7;"):
        solver(xps.asarray(zero), bx)
    with pytest.raises(TypeError, match="single array library"):
        solver(Ax, np.ones(9))  # mixed namespaces
    with pytest.raises(TypeError, match="A must be"):
        solver(poisson_2d(3), bx)  # SciPy sparse with array_api_strict vectors


def test_sor_specific_bad_input():
    Ax = xps.asarray(poisson_2d(3).toarray())
    with pytest.raises(ValueError, match="maxiter"):
        sor(Ax, xps.ones(9), maxiter=-1)
    with pytest.raises(ValueError, match="check_every"):
        sor(Ax, xps.ones(9), check_every=0)


def test_inputs_not_modified():
    A = poisson_2d(5).toarray()
    Ax, bx, x0 = xps.asarray(A), xps.ones(25), xps.zeros(25)
    sor(Ax, bx, 1.5, x0=x0, symmetric=True)
    ssor_cg(Ax, bx, 1.5, x0=x0)
    np.testing.assert_array_equal(to_numpy(Ax), A)
    assert bool(xps.all(x0 == 0)) and bool(xps.all(bx == 1))
