"""Issue #22: no silent answers — precision, symmetry, duplicate entries, extreme values,
the dependencies' errors, and thread safety."""

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn.completion import altmin, predict_entries
from numlearn.linalg import cg, lanczos_eigsh, sketch_and_project, sor
from numlearn.linear_model import L1, Lasso, Quadratic, coordinate_descent


def _laplacian(n):
    return sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n), format="csr")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cg_converged_means_the_true_residual_meets_the_tolerance(dtype):
    # a float64 matrix: x is float64 (float16 b is computed in float64 by the dtype rule,
    # float32 b promotes), and converged means |b - A x| <= rtol |b| (float16 b said
    # converged with a true residual of 2e-3 before)
    A = _laplacian(100)
    b = np.random.default_rng(0).standard_normal(100).astype(dtype)
    bv = b.astype(np.float64)
    res = cg(A, b, rtol=1e-10)
    assert res.converged and res.x.dtype == np.float64
    assert np.linalg.norm(bv - A @ res.x) <= 1e-10 * np.linalg.norm(bv)


def test_cg_float32_unreachable_tolerance_is_not_called_converged():
    A = _laplacian(100).astype(np.float32)
    b = np.random.default_rng(0).standard_normal(100).astype(np.float32)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = cg(A, b, rtol=1e-10)
    assert not res.converged and res.status.name == "STAGNATION"
    assert res.x.dtype == np.float32
    assert res.n_iter <= 10 * 100  # within maxiter, restarts included


def test_cg_float32_reachable_tolerance_converges_honestly():
    A = _laplacian(100).astype(np.float32)
    b = np.random.default_rng(1).standard_normal(100).astype(np.float32)
    res = cg(A, b, rtol=1e-4)
    assert res.converged
    r = np.linalg.norm(b.astype(float) - A.astype(float) @ res.x.astype(float))
    assert r <= 1e-4 * np.linalg.norm(b) * 1.01


def test_lanczos_float16_v0_is_computed_in_float64():
    A = _laplacian(60)
    top = np.linalg.eigvalsh(A.toarray())[-1]
    v0 = np.random.default_rng(0).standard_normal(60).astype(np.float16)
    res = lanczos_eigsh(A, 60, k=1, v0=v0)
    assert res.converged
    assert abs(res.eigenvalues[-1] - top) < 1e-8


@pytest.mark.parametrize("make", [np.array, sp.csr_matrix])
def test_non_symmetric_explicit_matrix_refused(make):
    A = make(np.array([[4.0, 1.0, 0.0], [0.0, 4.0, 1.0], [0.0, 0.0, 4.0]]))
    with pytest.raises(ValueError, match="A must be symmetric"):
        cg(A, np.ones(3))
    with pytest.raises(ValueError, match="M must be symmetric"):
        cg(np.eye(3) * 2, np.ones(3), M=A)
    with pytest.raises(ValueError, match="matvec must be symmetric"):
        lanczos_eigsh(A, 3, k=1)


def test_rounding_asymmetry_accepted():
    B = np.random.default_rng(0).standard_normal((30, 30))
    A = B @ B.T + 30 * np.eye(30)  # symmetric up to rounding
    assert cg(A, np.ones(30), rtol=1e-10).converged


def test_coordinate_descent_duplicate_entries_summed():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 8)) * (rng.random((40, 8)) < 0.5)
    y = X @ rng.standard_normal(8)
    C = sp.csc_matrix(X)
    # every stored entry split in two halves, stored twice: the same matrix, with duplicates
    raw = sp.csc_matrix(X.shape)
    order = np.argsort(np.concatenate([np.repeat(np.arange(8), np.diff(C.indptr))] * 2),
                       kind="stable")
    raw.indices = np.concatenate([C.indices] * 2)[order].astype(np.int32)
    raw.data = np.concatenate([C.data / 2] * 2)[order]
    raw.indptr = (2 * C.indptr).astype(np.int32)
    snapshot = raw.data.copy(), raw.indices.copy()
    ref = coordinate_descent(X, y, Quadratic(), L1(0.01), tol=1e-10)
    res = coordinate_descent(raw, y, Quadratic(), L1(0.01), tol=1e-10)
    assert res.converged and ref.converged
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)
    assert np.array_equal(raw.data, snapshot[0]) and np.array_equal(raw.indices, snapshot[1])


def test_lasso_malformed_sparse_refused_and_check_input_false_allowed():
    X = sp.random(20, 5, density=0.5, format="csc", random_state=0)
    y = np.arange(20.0)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    bad.indices[0] = 20  # a row index equal to n_samples
    with pytest.raises(ValueError, match="X.indices must be row indices in \\[0, 20\\)"):
        Lasso(alpha=0.1).fit(bad, y)
    ref = Lasso(alpha=0.1).fit(X, y)
    fast = Lasso(alpha=0.1).fit(X, y, check_input=False)
    np.testing.assert_array_equal(fast.coef_, ref.coef_)


def test_predict_entries_validates():
    U, V = np.ones((3, 2)), np.ones((4, 2))
    np.testing.assert_array_equal(predict_entries(U, V, [0, 2], [3, 1]), [2.0, 2.0])
    with pytest.raises(ValueError, match="same number of columns"):
        predict_entries(U, np.ones((4, 3)), [0], [0])
    with pytest.raises(TypeError, match="rows must hold integer indices"):
        predict_entries(U, V, [0.7], [0])
    U[0, 0] = np.nan
    with pytest.raises(ValueError, match="U contains NaN"):
        predict_entries(U, V, [0], [0])


def test_altmin_refuses_complex_and_turns_arpack_errors_into_value_errors():
    rows, cols = np.repeat(np.arange(6), 6), np.tile(np.arange(6), 6)
    with pytest.raises(TypeError, match="values must hold real numbers"):
        altmin((rows, cols, np.ones(36) + 1j, (6, 6)), 2)
    with pytest.raises(ValueError, match="M_obs: the SVD start failed"):
        altmin((rows, cols, np.zeros(36), (6, 6)), 2, random_state=0)


@pytest.mark.parametrize("value", [1e300, 1e160, -1e200])
@pytest.mark.parametrize("biases", [False, True])
def test_altmin_overflowing_values_refused_before_lapack(value, biases, capfd):
    """Values whose squares overflow are refused before ARPACK/LAPACK see them: the user
    reads our ValueError only, nothing printed to stderr by Fortran code."""
    rows, cols = np.repeat(np.arange(6), 6), np.tile(np.arange(6), 6)
    with pytest.raises(ValueError, match="M_obs: the sum of squares of the observed values "
                                         "overflows"):
        altmin((rows, cols, np.full(36, value), (6, 6)), 2, random_state=0, biases=biases)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    # just below the overflow range it runs (the product of the factors fits)
    res = altmin((rows, cols, np.full(36, 1e150), (6, 6)), 1, random_state=0, max_iter=50)
    np.testing.assert_allclose(res.U @ res.V.T, np.full((6, 6), 1e150), rtol=1e-6)


def test_implicit_als_overflow_is_refused_or_reported():
    from sklearn.exceptions import ConvergenceWarning

    from numlearn.completion import implicit_als

    R = sp.csr_matrix(np.array([[1e300, 2e300, 0.0], [0.0, 3e300, 1e300],
                                [2e300, 0.0, 1e300]]))
    with pytest.raises(ValueError, match="R_obs, alpha: the confidences 1 \\+ alpha \\* r "
                                         "overflow"):
        implicit_als(R, 1, alpha=1e10, max_iter=3)
    # finite confidences whose normal equations overflow: never reported as converged
    with pytest.warns(ConvergenceWarning):
        res = implicit_als(R, 1, max_iter=3)
    assert not res.converged and res.status.name == "DIVERGED"


@pytest.mark.parametrize("A", [np.zeros((0, 0)), sp.csr_matrix((0, 0))])
def test_sketch_and_project_empty_system(A):
    with pytest.raises(ValueError, match="A must have at least one row and one column"):
        sketch_and_project(A, np.zeros(0))


def test_sns_extreme_costs_and_reg_end_promptly_with_one_warning():
    # run in a subprocess with a time limit: before the fix these ran for minutes
    code = textwrap.dedent("""
        import time, warnings, numpy as np
        from numlearn.ot import sinkhorn
        rng = np.random.default_rng(0)
        a = np.full(8, 1 / 8)
        for value, reg in ((1e300, 0.1), (None, 1e-300)):
            M = rng.random((8, 8))
            if value is not None:
                M[0, 0] = value
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                t = time.perf_counter()
                res = sinkhorn(a, a, M, reg, method="sns", max_iter=200)
                print(res.converged, len(w), time.perf_counter() - t)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split("\n")
    for line in filter(None, out):
        converged, n_warnings, _ = line.split()
        assert converged == "False" and n_warnings == "1"


def _solvers():
    A = _laplacian(200)
    b = np.random.default_rng(0).standard_normal(200)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 10))
    y = X @ rng.standard_normal(10)
    return [
        lambda: cg(A, b, rtol=1e-10).x,
        lambda: sor(A + 2 * sp.eye(200, format="csr"), b, 1.2, rtol=1e-8).x,
        lambda: lanczos_eigsh(A, 200, k=2, random_state=0).eigenvalues,
        lambda: Lasso(alpha=0.01).fit(X, y).coef_,
        lambda: coordinate_descent(sp.csc_matrix(X), y, Quadratic(), L1(0.05)).coef,
    ]


def test_four_threads_give_the_serial_results_bit_for_bit():
    solvers = _solvers()
    serial = [f() for f in solvers]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(f) for _ in range(4) for f in solvers]
        threaded = [fut.result() for fut in futures]
    for k, out in enumerate(threaded):
        np.testing.assert_array_equal(out, serial[k % len(solvers)])


def test_fuzz_findings_refused_at_the_door():
    """Inputs the fuzz suite found answered silently (complex cast to real, NaN tol, a
    factor of the wrong shape read by a kernel) get a clear error."""
    from numlearn.completion import implicit_loss
    from numlearn.datasets import constrained_logistic_problem
    from numlearn.dynamics import (
        LinearRegression,
        detect_catapult,
        detect_divergence,
        detect_edge_of_stability,
        hessian_trace,
        sharpness,
    )
    from numlearn.optimize import minimize_constrained

    z = np.ones(4) + 1j
    with pytest.raises(TypeError, match="loss must hold real numbers"):
        detect_divergence(z)
    with pytest.raises(TypeError, match="loss must hold real numbers"):
        detect_catapult(z)
    with pytest.raises(TypeError, match="sharpness must hold real numbers"):
        detect_edge_of_stability(z, 1.0)
    assert detect_divergence([1.0, 2.0, np.nan]) == 2  # NaN is what it detects
    model = LinearRegression(np.diag([1.0, 2.0]), np.zeros(2))
    with pytest.raises(ValueError, match="tol"):
        sharpness(model, np.zeros(2), tol=np.nan)
    with pytest.raises(ValueError, match="n_samples"):
        hessian_trace(model, np.zeros(2), n_samples=0, exact=True)
    assert hessian_trace(model, np.zeros(2), exact=True).trace == pytest.approx(2.5)
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        constrained_logistic_problem(X + 1j, (X[:, 0] > 0).astype(float))
    with pytest.raises(TypeError, match="x0 must hold real numbers"):
        minimize_constrained(lambda x: x @ x, np.ones(2) + 1j, jac=lambda x: 2 * x,
                             bounds=[(0.0, 1.0)] * 2)
    R = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="X and Y must have shapes"):
        implicit_loss(R, np.ones((2, 2)), np.ones((3, 2)))
    # the right shapes: the closed form Σ c (p - x·y)² + reg (|X|² + |Y|²)
    Xf, Yf = np.full((3, 1), 0.5), np.full((3, 1), 1.0)
    P = np.eye(3)
    want = np.sum((1 + 2.0 * P) * (P - 0.5) ** 2) + 0.1 * (0.75 + 3.0)
    assert implicit_loss(R, Xf, Yf, reg=0.1, alpha=2.0) == pytest.approx(want)


def test_fuzz_findings_unused_or_nan_parameters_refused():
    """Parameters a call would ignore or turn into a meaningless answer are refused."""
    import matplotlib

    matplotlib.use("Agg")
    from numlearn.datasets import ot_gaussian_clouds
    from numlearn.dynamics import (
        GD,
        LinearRegression,
        ntk_eigenvalue,
        sharpness,
        softmax_radius,
        train,
    )
    from numlearn.plotting import plot_trajectory

    model = LinearRegression(np.diag([1.0, 2.0]), np.zeros(2))
    for fn in (sharpness, ntk_eigenvalue):
        with pytest.raises(TypeError, match="random_state"):
            fn(model, np.zeros(2), random_state="seed")
    with pytest.raises(ValueError, match="logits"):
        softmax_radius([0.0, 1.0, 2.0], logits=[np.nan, 0.0, 0.0])
    assert softmax_radius([0.0, 1.0, 2.0], logits=[5.0, 0.0, 0.0]) == pytest.approx(np.pi / 2)
    with pytest.raises(ValueError, match="shift must be finite"):
        ot_gaussian_clouds(3, shift=np.nan)
    traj = train(model, np.zeros(2), GD(0.3), 3)
    with pytest.raises(ValueError, match="lr must be > 0"):
        plot_trajectory(traj, lr=-1.0)
