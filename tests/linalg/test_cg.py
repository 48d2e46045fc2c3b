import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
from numlearn.datasets import poisson_2d
from numlearn.linalg import cg


def _scipy_iterates(A, b, **kwargs):
    iterates = []
    x, info = spla.cg(A, b, callback=lambda xk: iterates.append(xk.copy()), **kwargs)
    return x, info, iterates


def _our_iterates(A, b, **kwargs):
    iterates = []
    res = cg(A, b, callback=lambda xk: iterates.append(np.array(xk, copy=True)), **kwargs)
    return res, iterates


@pytest.fixture(scope="module")
def poisson():
    A = poisson_2d(30)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    return A, b


@pytest.mark.parametrize("form", ["csr", "csc", "dense", "linearoperator"])
def test_iterates_match_scipy(poisson, form):
    A, b = poisson
    operator = {
        "csr": A,
        "csc": A.tocsc(),
        "dense": A.toarray(),
        "linearoperator": spla.aslinearoperator(A),
    }[form]
    x_ref, info, ref = _scipy_iterates(A, b, rtol=1e-10)
    res, ours = _our_iterates(operator, b, rtol=1e-10)
    assert info == 0 and res.converged and res.status is Status.SUCCESS
    assert res.n_iter == len(ref) == len(ours)
    for k, (mine, theirs) in enumerate(zip(ours, ref)):
        err = np.linalg.norm(mine - theirs) / np.linalg.norm(theirs)
        assert err < 1e-11, f"iterate {k} differs by {err:.2e}"
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-11, atol=1e-13)
    assert res.residual_norm < 1e-10 * np.linalg.norm(b)
    assert np.linalg.norm(b - A @ res.x) < 2e-10 * np.linalg.norm(b)


def test_preconditioned_iterates_match_scipy(poisson):
    A, b = poisson
    M = sp.diags(1.0 / (A.diagonal() + np.linspace(0, 1, A.shape[0])))  # SPD, not trivial
    x_ref, info, ref = _scipy_iterates(A, b, rtol=1e-9, M=M)
    res, ours = _our_iterates(A, b, rtol=1e-9, M=M)
    # Rounding in the recursively updated residual (relative 1e-4 near the end) may move
    # the stop by one iteration when ‖r‖ lands next to the threshold, as it does here.
    assert abs(res.n_iter - len(ref)) <= 1
    common = min(len(ours), len(ref))
    for k in range(common):
        err = np.linalg.norm(ours[k] - ref[k]) / np.linalg.norm(ref[k])
        assert err < 1e-9, f"iterate {k} differs by {err:.2e}"
    callable_M = cg(A, b, rtol=1e-9, M=lambda r: M @ r)
    assert callable_M.n_iter == res.n_iter
    np.testing.assert_allclose(callable_M.x, res.x, rtol=1e-12, atol=1e-14)
    assert np.linalg.norm(b - A @ res.x) < 2e-9 * np.linalg.norm(b)


def test_x0_atol_and_iteration_count(poisson):
    A, b = poisson
    x0 = np.full(A.shape[0], 0.5)
    x0_before = x0.copy()
    b_before = b.copy()
    x_ref, info, ref = _scipy_iterates(A, b, x0=x0.copy(), rtol=0.0, atol=1e-6)
    res = cg(A, b, x0=x0, rtol=0.0, atol=1e-6)
    assert res.n_iter == len(ref)
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-10)
    np.testing.assert_array_equal(x0, x0_before)  # inputs untouched
    np.testing.assert_array_equal(b, b_before)


def test_exact_in_n_steps_on_small_dense():
    rng = np.random.default_rng(4)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    A = Q @ np.diag([1.0, 2, 3, 4, 5, 6]) @ Q.T
    b = rng.standard_normal(6)
    res = cg(A, b, rtol=1e-12)
    assert res.n_iter <= 7
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-10)


def test_history_and_callback_stop(poisson):
    A, b = poisson
    res = cg(A, b, rtol=1e-8, return_history=True)
    assert res.history.shape == (res.n_iter + 1,)
    assert res.history[0] == pytest.approx(np.linalg.norm(b))
    assert res.history[-1] == pytest.approx(res.residual_norm)

    def stop_after_three(xk, calls=[]):  # noqa: B006
        calls.append(1)
        if len(calls) == 3:
            raise StopIteration

    stopped = cg(A, b, rtol=1e-12, callback=stop_after_three)
    assert stopped.status is Status.CALLBACK_STOP and stopped.n_iter == 3
    assert not stopped.converged


def test_zero_rhs_returns_zero(poisson):
    A, _ = poisson
    res = cg(A, np.zeros(A.shape[0]), x0=np.ones(A.shape[0]))
    assert res.converged and res.n_iter == 0 and not np.any(res.x)


def test_maxiter_warns_and_reports(poisson):
    A, b = poisson
    with pytest.warns(ConvergenceWarning, match="cg did not converge after 5 iterations"):
        res = cg(A, b, rtol=1e-12, maxiter=5)
    assert not res.converged and res.status is Status.MAX_ITER and res.n_iter == 5
    x_ref, info, _ = _scipy_iterates(A, b, rtol=1e-12, maxiter=5)
    assert info == 5
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-12, atol=1e-15)


def test_indefinite_matrix_breaks_down():
    A = np.diag([1.0, -1.0])
    with pytest.warns(ConvergenceWarning, match="Breakdown"):
        res = cg(A, np.array([1.0, 1.0]))
    assert res.status is Status.BREAKDOWN and not res.converged


def test_float32_and_lists():
    A = np.array([[4.0, 1.0], [1.0, 3.0]], dtype=np.float32)
    res = cg(A, np.array([1.0, 2.0], dtype=np.float32), rtol=1e-6)
    np.testing.assert_allclose(res.x, [1 / 11, 7 / 11], rtol=1e-5)
    res = cg([[4.0, 1.0], [1.0, 3.0]], [1.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(res.x, [1 / 11, 7 / 11], rtol=1e-12)


def test_array_api_strict_namespace():
    xps = pytest.importorskip("array_api_strict")
    A_np = poisson_2d(8).toarray()
    b_np = np.linspace(-1, 1, 64)
    res = cg(xps.asarray(A_np), xps.asarray(b_np), rtol=1e-10)
    assert type(res.x) is type(xps.asarray(1.0))
    ref = cg(A_np, b_np, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-12)
    assert res.n_iter == ref.n_iter


def test_verbose_prints(poisson, capsys):
    A, b = poisson
    cg(A, b, rtol=1e-3, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("cg: iter 1  residual")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"A": np.ones((2, 3))}, ValueError, "A must be square"),
        ({"b": np.ones(3)}, ValueError, "b must be a vector of length 4"),
        ({"b": np.array([1.0, np.nan, 0, 0])}, ValueError, "b contains NaN"),
        ({"A": np.full((4, 4), np.inf)}, ValueError, "A contains NaN"),
        ({"x0": np.ones(5)}, ValueError, "x0 must be a vector of length 4"),
        ({"rtol": -1.0}, ValueError, "rtol must be >= 0"),
        ({"atol": -1e-3}, ValueError, "atol must be >= 0"),
        ({"maxiter": 2.5}, TypeError, "maxiter must be an integer"),
        ({"maxiter": -1}, ValueError, "maxiter must be >= 0"),
        ({"M": np.eye(3)}, ValueError, r"M must have shape \(4, 4\)"),
        ({"callback": 3}, TypeError, "callback must be callable"),
        ({"A": "matrix"}, TypeError, "A must hold real numbers"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"A": np.eye(4) * 2, "b": np.ones(4)}
    args.update(kwargs)
    A, b = args.pop("A"), args.pop("b")
    with pytest.raises(error, match=match):
        cg(A, b, **args)
