"""Tests for numlearn.optimize.minimize_eq (sketched augmented-Lagrangian Newton)."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import NonlinearConstraint, OptimizeWarning, minimize
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status
from numlearn.datasets import (
    HS_PROBLEM_NAMES,
    constrained_logistic_problem,
    hock_schittkowski,
    pde_control_problem,
)
from numlearn.optimize import MINIMIZE_EQ_DEFAULT_OPTIONS, minimize_eq


def _solve(p, **kwargs):
    kwargs.setdefault("random_state", 0)
    return minimize_eq(p.fun, p.x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                       **kwargs)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------------------
# the test problems themselves
# --------------------------------------------------------------------------------------
def _fd(f, x, h=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name", HS_PROBLEM_NAMES)
def test_hs_derivatives_match_finite_differences(name):
    p = hock_schittkowski(name)
    rng = np.random.default_rng(1)
    x = p.x0 + 0.3 * rng.standard_normal(p.n)
    v = rng.standard_normal(p.m)
    scale = 1 + np.abs(p.jac(x)).max() + np.abs(p.hess(x)).max()
    np.testing.assert_allclose(_fd(p.fun, x), p.jac(x), atol=1e-6 * scale)
    np.testing.assert_allclose(_fd(p.jac, x), p.hess(x), atol=1e-6 * scale)
    np.testing.assert_allclose(_fd(p.cons_fun, x), p.cons_jac(x), atol=1e-6 * scale)
    np.testing.assert_allclose(_fd(lambda z: p.cons_jac(z).T @ v, x), p.cons_hess(x, v),
                               atol=1e-6 * scale)


def test_hs_known_optimum_values():
    # a few optima known in closed form (HS42, HS52) or as points (HS48: x = 1)
    assert hock_schittkowski("HS42").f_opt == pytest.approx(28 - 10 * math.sqrt(2))
    p = hock_schittkowski("HS48")
    assert p.fun(np.ones(5)) == 0.0
    np.testing.assert_allclose(p.cons_fun(np.ones(5)), 0.0)
    assert hock_schittkowski("hs7").name == "HS7"
    with pytest.raises(ValueError, match="name"):
        hock_schittkowski("HS99")
    with pytest.raises(TypeError, match="name"):
        hock_schittkowski(7)


def test_pde_control_problem_structure():
    p = pde_control_problem(5)
    assert (p.n, p.m) == (50, 25)
    G = p.cons_jac(p.x0)
    assert sp.issparse(G) and G.shape == (25, 50)
    # optimum: z = −Δw eliminated, (I + αΔ²) w = w*  (independent of the KKT solve)
    lap = G[:, :25].toarray()
    w_star = p.jac(np.zeros(50))[:25] * -1.0
    w = np.linalg.solve(np.eye(25) + 0.1 * lap @ lap, w_star)
    x_ref = np.r_[w, -lap @ w]
    np.testing.assert_allclose(p.info["x_opt"], x_ref, atol=1e-10)
    assert p.f_opt == pytest.approx(p.fun(x_ref), rel=1e-12)
    with pytest.raises(ValueError, match="n_grid"):
        pde_control_problem(0)


def test_constrained_logistic_problem_validation():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 12))
    p = constrained_logistic_problem(X, rng.integers(0, 2, 30), random_state=0)
    assert (p.n, p.m) == (12, 11)
    assert p.cons_fun(p.x0)[-1] == pytest.approx(0.0, abs=1e-14)  # ‖w0‖ = 1
    with pytest.raises(ValueError, match="y must"):
        constrained_logistic_problem(X, np.full(30, 3.0))
    with pytest.raises(ValueError, match="shape"):
        constrained_logistic_problem(X, np.ones(29))
    with pytest.raises(ValueError, match="n_linear"):
        constrained_logistic_problem(X, np.ones(30), n_linear=12)


# --------------------------------------------------------------------------------------
# correctness: Hock–Schittkowski problems
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
@pytest.mark.parametrize("name", HS_PROBLEM_NAMES)
def test_hs_problems_solved(name, sketch):
    p = hock_schittkowski(name)
    res = _solve(p, sketch=sketch)
    assert res.success and res.status is Status.SUCCESS
    # KKT residual recomputed independently from the returned (x, v)
    assert p.kkt_norm(res.x, res.v) <= 1e-8
    assert res.kkt_norm == pytest.approx(p.kkt_norm(res.x, res.v), rel=1e-8, abs=1e-15)
    assert abs(res.fun - p.f_opt) <= 1e-6
    assert res.n_inner > 0 and res.nit == res.n_iter == len(res.history) - 1


@pytest.mark.parametrize("sketch", ["countsketch", "sparse_sign", "direct"])
@pytest.mark.parametrize("name", ["HS26", "HS46", "HS56", "HS61", "HS78"])
def test_hs_problems_other_inner_solvers(name, sketch):
    p = hock_schittkowski(name)
    res = _solve(p, sketch=sketch)
    assert res.success
    assert p.kkt_norm(res.x, res.v) <= 1e-8
    assert abs(res.fun - p.f_opt) <= 1e-6


@pytest.mark.parametrize("name", ["HS7", "HS40", "HS42", "HS77", "HS78", "HS79"])
def test_matches_trust_constr_and_slsqp(name):
    p = hock_schittkowski(name)
    res = _solve(p, sketch="kaczmarz")
    tc = _quiet(minimize, p.fun, p.x0, jac=p.jac, hess=p.hess, method="trust-constr",
                constraints=[p.nonlinear_constraint()],
                options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 3000})
    np.testing.assert_allclose(res.x, tc.x, atol=1e-6)
    np.testing.assert_allclose(res.v, tc.v[0], atol=1e-5)  # same sign convention
    sl = _quiet(minimize, p.fun, p.x0, jac=p.jac, method="SLSQP",
                constraints=[{"type": "eq", "fun": p.cons_fun, "jac": p.cons_jac}],
                options={"ftol": 1e-14, "maxiter": 500})
    assert res.fun == pytest.approx(sl.fun, abs=1e-7)
    if hasattr(sl, "multipliers"):  # SciPy >= 1.16: SLSQP reports −λ
        np.testing.assert_allclose(res.v, -np.asarray(sl.multipliers), atol=1e-4)


def test_hs61_singular_jacobian_at_start_is_handled():
    # G(x0) has rank 1 (SLSQP fails from there); the step uses c projected on range(G)
    p = hock_schittkowski("HS61")
    assert np.linalg.matrix_rank(p.cons_jac(p.x0)) == 1
    res = _solve(p, sketch="kaczmarz")
    assert res.success and res.fun == pytest.approx(-143.646142, abs=1e-6)
    x_known = np.array([5.32677016, -2.11899864, 3.21046424])
    np.testing.assert_allclose(res.x, x_known, atol=1e-6)


def test_quadratic_problem_one_exact_newton_step():
    # HS48 is a convex QP: with exact solves one Newton step lands on x = 1, v = 0
    p = hock_schittkowski("HS48")
    res = _solve(p, sketch="direct")
    assert res.nit == 1
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-12)
    np.testing.assert_allclose(res.v, np.zeros(2), atol=1e-12)


# --------------------------------------------------------------------------------------
# PDE control and logistic regression
# --------------------------------------------------------------------------------------
def _pde_reference(p):
    N = p.info["n_grid"]
    nn = N * N
    G = p.cons_jac(p.x0)
    lap = G[:, :nn]
    w_star = -p.jac(np.zeros(2 * nn))[:nn]
    from scipy.sparse.linalg import spsolve

    w = spsolve((sp.identity(nn) + 0.1 * lap @ lap).tocsc(), w_star)
    return np.r_[w, -lap @ w]


@pytest.mark.parametrize("sketch", ["kaczmarz", "sparse_sign"])
def test_pde_control_small_sketched(sketch):
    p = pde_control_problem(4)
    res = _solve(p, sketch=sketch)
    assert res.success and res.kkt_norm <= 1e-8
    np.testing.assert_allclose(res.x, _pde_reference(p), atol=1e-7)
    assert abs(res.fun - p.f_opt) <= 1e-6


def test_pde_control_n64_direct_inner_solver():
    p = pde_control_problem(64)
    res = _solve(p, sketch="direct")
    assert res.success and res.kkt_norm <= 1e-8 and res.nit == 1
    assert sp.issparse(p.cons_jac(p.x0))
    np.testing.assert_allclose(res.x, _pde_reference(p), atol=1e-7)
    assert abs(res.fun - p.f_opt) <= 1e-6


def _breast_cancer_problem():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    return constrained_logistic_problem(StandardScaler().fit_transform(X), y, random_state=0)


@pytest.mark.parametrize("sketch", ["kaczmarz", "countsketch"])
def test_logistic_breast_cancer_matches_trust_constr(sketch):
    p = _breast_cancer_problem()
    res = _solve(p, sketch=sketch)
    assert res.success and p.kkt_norm(res.x, res.v) <= 1e-8
    tc = _quiet(minimize, p.fun, p.x0, jac=p.jac, hess=p.hess, method="trust-constr",
                constraints=[p.nonlinear_constraint()],
                options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 2000})
    assert abs(res.fun - tc.fun) <= 1e-6
    np.testing.assert_allclose(res.x, tc.x, atol=1e-5)
    np.testing.assert_allclose(res.v, tc.v[0], atol=1e-5)


@pytest.mark.slow
def test_logistic_synthetic_100k_by_300():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 300))
    y = np.sign(X @ rng.standard_normal(300) + rng.standard_normal(100_000))
    p = constrained_logistic_problem(X, y, random_state=0)
    res = _solve(p, sketch="kaczmarz")
    assert res.success and p.kkt_norm(res.x, res.v) <= 1e-8
    assert np.linalg.norm(res.x) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(p.info["A"] @ res.x, p.info["b"], atol=1e-9)


# --------------------------------------------------------------------------------------
# algorithmic options
# --------------------------------------------------------------------------------------
def test_superlinear_option_needs_fewer_outer_iterations():
    p = hock_schittkowski("HS78")
    linear = _solve(p, sketch="kaczmarz")
    fast = _solve(p, sketch="kaczmarz", superlinear=True)
    assert fast.success and linear.success
    assert fast.nit < linear.nit
    # linear local rate about δ = 0.1; the superlinear run contracts much faster
    h = linear.history
    assert np.all(h[-3:] / h[-4:-1] > 1e-2)
    assert np.min(fast.history[1:] / fast.history[:-1]) < 1e-3
    assert _solve(p, sketch="kaczmarz", superlinear=0.5).success


def test_genuinely_inexact_solves_take_fewer_sketch_steps():
    # the paper's constants make the inner solves nearly exact (the floor binds)
    # (one-vector Kaczmarz, no block growth, so the step counts compare like with like)
    p = hock_schittkowski("HS79")
    fixed = {"max_block_size": 1, "inner_max_passes": 100_000}
    paper = _solve(p, sketch="kaczmarz", options={"accuracy_constant": "paper", **fixed})
    inexact = _solve(p, sketch="kaczmarz", options={"accuracy_constant": 1.0, **fixed})
    assert paper.success and inexact.success
    assert paper.block_size == inexact.block_size == 1
    assert 3 * inexact.n_inner < paper.n_inner
    assert abs(inexact.fun - p.f_opt) <= 1e-7 and abs(paper.fun - p.f_opt) <= 1e-7


def test_hessian_shift_on_nonconvex_reduced_hessian():
    # HS39 has ∇²f = 0 and the start makes the reduced Hessian indefinite
    p = hock_schittkowski("HS39")
    res = _solve(p, sketch="direct", options={"xi_B": 0.5})
    assert res.success and res.fun == pytest.approx(-1.0, abs=1e-8)


def test_hessp_and_nonlinear_constraint_and_sparse_inputs_agree():
    p = hock_schittkowski("HS77")
    ref = _solve(p, sketch="kaczmarz")
    via_hessp = minimize_eq(p.fun, p.x0, jac=p.jac, hessp=lambda x, v: p.hess(x) @ v,
                            constraints=p.nonlinear_constraint(), sketch="kaczmarz",
                            random_state=0)
    np.testing.assert_allclose(via_hessp.x, ref.x, atol=1e-10)
    assert via_hessp.nhev == 5 * ref.nhev  # n products per Hessian
    cons = {"type": "eq", "fun": p.cons_fun, "jac": lambda x: sp.csr_matrix(p.cons_jac(x)),
            "hess": lambda x, v: sp.csr_matrix(p.cons_hess(x, v))}
    sparse = minimize_eq(p.fun, p.x0, jac=p.jac, hess=lambda x: sp.csr_matrix(p.hess(x)),
                         constraints=cons, sketch="kaczmarz", random_state=0)
    assert sparse.success
    np.testing.assert_allclose(sparse.x, ref.x, atol=1e-8)
    mixed = minimize_eq(p.fun, p.x0, jac=p.jac, hess=lambda x: sp.csr_matrix(p.hess(x)),
                        constraints=p.constraints, sketch="kaczmarz", random_state=0)
    np.testing.assert_allclose(mixed.x, ref.x, atol=1e-8)


def test_nonlinear_constraint_with_nonzero_bounds():
    # c(x) = x1² + x2² = 2 as lb = ub = 2: minimum of x1 + x2 at −(1, 1), v = 1/2
    con = NonlinearConstraint(lambda x: np.array([x @ x]), 2.0, 2.0,
                              jac=lambda x: 2 * x[None, :],
                              hess=lambda x, v: 2 * v[0] * np.eye(2))
    res = minimize_eq(lambda x: x.sum(), np.array([-2.0, -0.5]), jac=lambda x: np.ones(2),
                      hess=lambda x: np.zeros((2, 2)), constraints=con, random_state=0)
    np.testing.assert_allclose(res.x, [-1.0, -1.0], atol=1e-8)
    np.testing.assert_allclose(res.v, [0.5], atol=1e-8)


def test_reproducible_and_inputs_untouched():
    p = hock_schittkowski("HS40")
    x0 = p.x0.copy()
    lam0 = np.array([0.1, 0.2, 0.3])
    a = minimize_eq(p.fun, x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                    lambda0=lam0, sketch="gaussian", random_state=3)
    b = minimize_eq(p.fun, x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                    lambda0=lam0, sketch="gaussian", random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a.x, b.x)
    assert a.n_inner == b.n_inner
    np.testing.assert_array_equal(x0, p.x0)
    np.testing.assert_array_equal(lam0, [0.1, 0.2, 0.3])


def test_singular_jacobian_status():
    # x1 + x2 = 1 and 2x1 + 2x2 = 4 are inconsistent; G has rank 1 everywhere
    cons = {"type": "eq", "fun": lambda x: np.array([x[0] + x[1] - 1, 2 * x[0] + 2 * x[1] - 4]),
            "jac": lambda x: np.array([[1.0, 1.0], [2.0, 2.0]])}
    with pytest.warns(ConvergenceWarning, match="Singular constraint Jacobian"):
        res = minimize_eq(lambda x: x @ x, np.array([3.0, 0.0]), jac=lambda x: 2 * x,
                          hess=lambda x: 2 * np.eye(2), constraints=cons, random_state=0)
    assert not res.success and res.status is Status.BREAKDOWN
    assert res.message.startswith("Singular constraint Jacobian")
    # the least-squares point of the linearized constraints: x1 + x2 = 1.8
    assert res.x.sum() == pytest.approx(1.8, abs=1e-6)


def test_max_iter_warns_and_callback_stops():
    p = hock_schittkowski("HS77")
    with pytest.warns(ConvergenceWarning, match="minimize_eq"):
        res = _solve(p, maxiter=1)
    assert res.status is Status.MAX_ITER and res.nit == 1 and not res.success
    seen = []

    def callback(info):
        seen.append((info.nit, info.kkt_norm, info.x.copy()))
        if info.nit == 2:
            raise StopIteration

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = _solve(p, callback=callback)
    assert res.status is Status.CALLBACK_STOP and res.nit == 2
    assert [s[0] for s in seen] == [1, 2]
    assert seen[-1][1] == res.kkt_norm and np.array_equal(seen[-1][2], res.x)


def test_verbose_reports_progress(capsys, caplog):
    p = hock_schittkowski("HS7")
    with caplog.at_level("INFO"):
        _solve(p, verbose=2)
    out = capsys.readouterr().out + caplog.text
    assert "minimize_eq" in out


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
def _circle():
    return {"type": "eq", "fun": lambda x: np.array([x @ x - 1.0]),
            "jac": lambda x: 2.0 * x[None, :], "hess": lambda x, v: 2.0 * v[0] * np.eye(2)}


def _call(**overrides):
    kwargs = dict(fun=lambda x: x.sum(), x0=np.array([-1.0, -0.5]), jac=lambda x: np.ones(2),
                  hess=lambda x: np.zeros((2, 2)), constraints=_circle())
    kwargs.update(overrides)
    fun, x0 = kwargs.pop("fun"), kwargs.pop("x0")
    return minimize_eq(fun, x0, **kwargs)


@pytest.mark.parametrize(
    "overrides, error, match",
    [
        ({"x0": np.array([np.nan, 1.0])}, ValueError, "x0"),
        ({"x0": np.ones((2, 2))}, ValueError, "x0"),
        ({"jac": lambda x: np.ones(3)}, ValueError, "jac"),
        ({"jac": "grad"}, TypeError, "jac"),
        ({"fun": lambda x: np.nan}, ValueError, "fun"),
        ({"hess": None}, TypeError, "hess"),
        ({"sketch": "srht"}, ValueError, "sketch"),
        ({"block_size": 0}, ValueError, "block_size"),
        ({"block_size": 4}, ValueError, "block_size"),
        ({"tol": 0.0}, ValueError, "tol"),
        ({"maxiter": -1}, ValueError, "maxiter"),
        ({"superlinear": -1.0}, ValueError, "superlinear"),
        ({"lambda0": np.ones(2)}, ValueError, "lambda0"),
        ({"callback": 3}, TypeError, "callback"),
        ({"options": {"mu0": -1.0}}, ValueError, "mu0"),
        ({"options": {"armijo": 0.7}}, ValueError, "armijo"),
        ({"options": {"rho": 1.0}}, ValueError, "rho"),
        ({"options": {"accuracy_constant": "exact"}}, ValueError, "accuracy_constant"),
        ({"options": [1]}, TypeError, "options"),
        ({"constraints": [1]}, TypeError, "constraints"),
        ({"constraints": {"type": "ineq", "fun": np.sum, "jac": np.sum}}, ValueError, "eq"),
        ({"constraints": {"type": "eq", "fun": lambda x: x[:1]}}, TypeError, "jac"),
        ({"constraints": {**_circle(), "jac": lambda x: np.ones((1, 3))}}, ValueError,
         "jac"),
        ({"constraints": {**_circle(), "fun": lambda x: np.array([np.inf])}}, ValueError,
         "constraints"),
        ({"constraints": NonlinearConstraint(lambda x: x @ x, 0.0, 1.0)}, ValueError,
         "lb == ub"),
        ({"constraints": NonlinearConstraint(lambda x: x @ x, 1.0, 1.0)}, TypeError,
         "jac"),
        ({"constraints": NonlinearConstraint(lambda x: x @ x, 1.0, 1.0,
                                             jac=lambda x: 2 * x)}, TypeError, "hess"),
    ],
)
def test_bad_input(overrides, error, match):
    with pytest.raises(error, match=match):
        _call(**overrides)


def test_unknown_option_warns():
    with pytest.warns(OptimizeWarning, match="maxfun"):
        res = _call(options={"maxfun": 3})
    assert res.success


def test_default_options_documented():
    doc = minimize_eq.__doc__
    for key in MINIMIZE_EQ_DEFAULT_OPTIONS:
        assert f"``{key}``" in doc


def test_unit_steps_accepted_when_merit_decrease_is_below_rounding():
    # near the solution the merit decrease (~KKT²) is below f's rounding error; exact
    # Newton must still converge quadratically to a tight tolerance instead of stalling
    p = hock_schittkowski("HS77")
    res = _solve(p, sketch="direct", tol=1e-13)
    assert res.success and res.nit <= 15
    assert p.kkt_norm(res.x, res.v) <= 1e-13


def test_tour_rows_meet_their_tolerances():
    from numlearn.optimize._tour_rows import ROWS

    tolerances = {0: 1e-6, 1: 1e-6, 2: 1e-8}
    for k, (family, solver, make) in enumerate(ROWS):
        if k == 0:
            continue  # the 18 HS problems are covered above
        row = make()
        assert family == "optimize" and solver == "minimize_eq"
        assert row.error <= tolerances[k]
