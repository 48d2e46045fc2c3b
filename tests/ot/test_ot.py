"""numlearn.ot: Sinkhorn (scaling, log-domain), Sinkhorn–Newton–Sparse, SinkhornTransport.

References: POT (``ot.bregman.sinkhorn_log``, ``ot.emd``, ``ot.da.SinkhornTransport``).
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status
from numlearn.datasets import ot_gaussian_clouds, ot_grid_1d, ot_random_assignment
from numlearn.ot import SinkhornTransport, sinkhorn, sinkhorn_newton_sparse

ot = pytest.importorskip("ot")  # POT: the reference implementation

METHODS = ["sinkhorn_log", "sinkhorn", "sns"]


def _pot_plan(a, b, M, reg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=200000, stopThr=1e-14)


def _marginal_error(P, a, b):
    return (np.abs(P.sum(1, dtype=np.float64) - a).sum()
            + np.abs(P.sum(0, dtype=np.float64) - b).sum())


@pytest.fixture(scope="module")
def clouds():
    return ot_gaussian_clouds(100, random_state=0)


# ------------------------------------------------------------------ correctness vs POT
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("reg", [1.0, 0.1, 0.01])
def test_plan_matches_pot_sinkhorn_log(clouds, method, reg):
    a, b, M = clouds
    res = sinkhorn(a, b, M, reg, method=method, tol=1e-12, max_iter=100000)
    assert res.converged and res.status is Status.SUCCESS
    P_pot = _pot_plan(a, b, M, reg)
    assert np.abs(res.plan - P_pot).sum() < 1e-7
    assert res.cost == pytest.approx(float(np.sum(P_pot * M)), rel=1e-9)
    assert res.marginal_error <= 1e-11
    assert _marginal_error(res.plan, a, b) == pytest.approx(res.marginal_error, abs=1e-15)
    # the plan is the Gibbs form of the returned potentials
    np.testing.assert_allclose(res.plan, np.exp((res.f[:, None] + res.g[None, :] - M) / reg),
                               rtol=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(60, 35), (35, 60)])
def test_rectangular_problems(method, shape):
    a, b, M = ot_gaussian_clouds(*shape, random_state=3)
    res = sinkhorn(a, b, M, 0.02, method=method, tol=1e-12, max_iter=100000)
    assert res.plan.shape == shape
    assert np.abs(res.plan - _pot_plan(a, b, M, 0.02)).sum() < 1e-7


@pytest.mark.parametrize("shape", [(80, 50), (50, 80)])
def test_sns_newton_phase_rectangular(shape):
    # both Schur complements (dg unknown when m <= n, df unknown otherwise)
    a, b, M = ot_gaussian_clouds(*shape, random_state=4)
    res = sinkhorn_newton_sparse(a, b, M, 2e-3, n_sinkhorn=5, tol=1e-11)
    assert res.converged and res.n_newton_iter > 0
    assert res.n_iter == res.n_sinkhorn_iter + res.n_newton_iter
    assert np.abs(res.plan - _pot_plan(a, b, M, 2e-3)).sum() < 1e-7


def test_cost_approaches_emd_as_reg_vanishes(clouds):
    a, b, M = clouds
    emd_cost = float(np.sum(ot.emd(a, b, M) * M))
    gaps = []
    for reg in (1e-1, 1e-2, 1e-3):
        res = sinkhorn(a, b, M, reg, method="sns", tol=1e-10)
        gap = res.cost - emd_cost
        # the entropic plan is feasible, so its cost is >= the OT cost, and the gap is
        # bounded by reg * (H(a) + H(b)) = 2 reg log n
        assert -1e-9 <= gap <= 2 * reg * np.log(100)
        gaps.append(gap)
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 5e-3


def test_sns_random_assignment_reaches_1e10_in_under_100_iterations():
    # Tang et al.'s random assignment problem at eta = 1/reg = 1200, n = 500
    a, b, M = ot_random_assignment(500, random_state=0)
    res = sinkhorn_newton_sparse(a, b, M, 1 / 1200, tol=1e-10, return_history=True)
    assert res.converged
    assert res.marginal_error <= 1e-10
    assert res.n_iter < 100
    assert len(res.history) == res.n_iter
    # Newton is what gets there: plain Sinkhorn is far from 1e-10 after the same count
    with pytest.warns(ConvergenceWarning):
        slow = sinkhorn(a, b, M, 1 / 1200, method="sinkhorn_log", max_iter=res.n_iter,
                        tol=1e-10, return_history=True)
    assert slow.history[-1] > 1e3 * res.marginal_error


# ------------------------------------------------------------------ small reg robustness
@pytest.mark.parametrize("method", ["sinkhorn_log", "sns"])
@pytest.mark.parametrize("reg", [1e-3, 1e-4])
def test_small_reg_on_normalized_cost(method, reg):
    a, b, M = ot_grid_1d(100)
    res = sinkhorn(a, b, M, reg, method=method, tol=1e-9, max_iter=20000)
    assert res.converged
    assert np.all(np.isfinite(res.plan)) and np.all(np.isfinite(res.f))
    assert _marginal_error(res.plan, a, b) <= 1e-9
    emd_cost = float(np.sum(ot.emd(a, b, M) * M))
    assert emd_cost - 1e-9 <= res.cost <= emd_cost + 2 * reg * np.log(100)


def test_small_reg_on_clouds():
    # reg = 1e-4 on 2-D clouds: log-domain Sinkhorn converges very slowly (but never under-
    # or overflows); SNS with its default epsilon scaling converges in a few dozen steps
    a, b, M = ot_gaussian_clouds(60, random_state=5)
    emd_cost = float(np.sum(ot.emd(a, b, M) * M))
    with pytest.warns(ConvergenceWarning):
        slow = sinkhorn(a, b, M, 1e-4, method="sinkhorn_log", max_iter=2000)
    assert np.all(np.isfinite(slow.plan)) and np.all(np.isfinite(slow.f))
    assert slow.marginal_error < 1e-2
    assert slow.cost == pytest.approx(emd_cost, abs=1e-2)
    res = sinkhorn_newton_sparse(a, b, M, 1e-4, tol=1e-9)
    assert res.converged and res.n_iter < 100
    assert _marginal_error(res.plan, a, b) <= 1e-9
    assert emd_cost - 1e-9 <= res.cost <= emd_cost + 2e-4 * np.log(60)
    # without epsilon scaling it gets there too, through the adaptive sparsification
    cold = sinkhorn_newton_sparse(a, b, M, 1e-4, tol=1e-9, reg_schedule=(),
                                  max_newton_iter=400)
    assert cold.converged
    assert np.abs(cold.plan - res.plan).sum() < 1e-6


def test_pot_hard_case_dist0_at_reg_1e5():
    # POT's 1-D example at reg = 1e-5: exp(-M/reg) underflows almost everywhere
    a, b, M = ot_grid_1d(100)
    res = sinkhorn(a, b, M, 1e-5, method="sinkhorn_log", tol=1e-9, max_iter=50000)
    assert res.converged
    assert not np.isnan(res.plan).any()
    emd_cost = float(np.sum(ot.emd(a, b, M) * M))
    assert res.cost == pytest.approx(emd_cost, abs=1e-5)
    # SNS started cold at reg = 1e-5 (the paper's algorithm, no epsilon scaling) wanders,
    # but never to NaN; with its default epsilon scaling it converges in a few dozen steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold = sinkhorn_newton_sparse(a, b, M, 1e-5, max_newton_iter=20, reg_schedule=())
    assert np.all(np.isfinite(cold.plan)) and np.isfinite(cold.marginal_error)
    sns = sinkhorn_newton_sparse(a, b, M, 1e-5, tol=1e-10)
    assert sns.converged and sns.marginal_error <= 1e-10 and sns.n_iter < 100
    assert np.abs(sns.plan - res.plan).sum() < 1e-6
    explicit = sinkhorn_newton_sparse(a, b, M, 1e-5, tol=1e-10,
                                      reg_schedule=(1e-2, 1e-3, 1e-4))
    np.testing.assert_array_equal(explicit.plan, sns.plan)  # what "auto" picks here


def test_scaling_sinkhorn_reports_underflow_without_nan():
    a, b, M = ot_grid_1d(100)
    with pytest.warns(ConvergenceWarning, match="sinkhorn_log"):
        res = sinkhorn(a, b, M, 1e-4, method="sinkhorn")
    assert res.status is Status.DIVERGED and not res.converged
    assert np.all(np.isfinite(res.plan))
    # the same problem is fine in the log domain
    assert sinkhorn(a, b, M, 1e-4, method="sinkhorn_log", max_iter=50000).converged


# ------------------------------------------------------------------ options and API
def test_uniform_weights_by_default(clouds):
    a, b, M = clouds
    ref = sinkhorn(a, b, M, 0.1)
    for empty in (None, []):
        res = sinkhorn(empty, empty, M, 0.1)
        np.testing.assert_array_equal(res.plan, ref.plan)


@pytest.mark.parametrize("method", METHODS)
def test_float32(clouds, method):
    a, b, M = clouds
    res = sinkhorn(a, b, M.astype(np.float32), 0.05, method=method, tol=1e-6)
    assert res.plan.dtype == np.float32 and res.f.dtype == np.float32
    ref = _pot_plan(a, b, M, 0.05)
    assert np.abs(res.plan - ref).sum() < 1e-5


def test_float32_newton_phase():
    a, b, M = ot_gaussian_clouds(80, random_state=2)
    ref = sinkhorn_newton_sparse(a, b, M, 1e-3, tol=1e-10)
    res = sinkhorn_newton_sparse(a, b, M.astype(np.float32), 1e-3, tol=1e-6)
    assert res.converged and res.n_newton_iter > 0 and res.plan.dtype == np.float32
    # float32 rounding of M (6e-8 relative) is amplified by 1/reg in the exponent
    assert np.abs(res.plan - ref.plan).sum() < 1e-5


def test_zero_weights_are_dropped():
    a, b, M = ot_gaussian_clouds(40, 30, random_state=6)
    a = a.copy()
    a[:4] = 0.0
    a /= a.sum()
    b = b.copy()
    b[-3:] = 0.0
    b /= b.sum()
    for method in METHODS:
        res = sinkhorn(a, b, M, 0.05, method=method, tol=1e-12)
        assert np.all(res.plan[:4] == 0) and np.all(res.plan[:, -3:] == 0)
        assert np.all(np.isneginf(res.f[:4])) and np.all(np.isfinite(res.f[4:]))
        assert np.abs(res.plan - _pot_plan(a, b, M, 0.05)).sum() < 1e-8


def test_unnormalized_masses(clouds):
    a, b, M = clouds
    res = sinkhorn(3 * a, 3 * b, M, 0.1, tol=1e-12)
    np.testing.assert_allclose(res.plan, 3 * _pot_plan(a, b, M, 0.1), atol=1e-12)


def test_warm_start_saves_iterations(clouds):
    a, b, M = clouds
    cold = sinkhorn(a, b, M, 0.01)
    warm = sinkhorn(a, b, M, 0.01, init=(cold.f, cold.g))
    assert warm.n_iter <= 1 < cold.n_iter
    np.testing.assert_allclose(warm.plan, cold.plan, atol=1e-10)


def test_history_callback_and_verbose(clouds, capsys):
    a, b, M = clouds
    seen = []
    res = sinkhorn(a, b, M, 0.01, method="sinkhorn_log", return_history=True, verbose=2,
                   callback=lambda f, g: seen.append(f.copy()))
    assert len(res.history) == res.n_iter == len(seen)
    assert res.history[-1] <= 1e-9 < res.history[0]
    out = capsys.readouterr().out
    assert "sinkhorn (sinkhorn_log): iter 1  marginal error" in out


def test_callback_stop_iteration(clouds):
    a, b, M = clouds

    def stop(f, g):
        raise StopIteration

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a requested stop does not warn
        res = sinkhorn(a, b, M, 0.01, callback=stop)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 1 and not res.converged


@pytest.mark.parametrize("method", METHODS)
def test_non_convergence_warns(clouds, method):
    a, b, M = clouds
    with pytest.warns(ConvergenceWarning):
        res = sinkhorn(a, b, M, 1e-3, method=method, max_iter=2, n_sinkhorn=1) if (
            method == "sns") else sinkhorn(a, b, M, 1e-3, method=method, max_iter=2)
    assert not res.converged and res.status is Status.MAX_ITER
    assert res.marginal_error > 1e-9


def test_sns_options_reach_newton(clouds):
    a, b, M = clouds
    exact = sinkhorn_newton_sparse(a, b, M, 1e-3, threshold=0.0, n_sinkhorn=10)
    sparse = sinkhorn_newton_sparse(a, b, M, 1e-3, threshold=1e-2, density=0.3,
                                    n_sinkhorn=10, cg_rtol=1e-4, cg_maxiter=50)
    for res in (exact, sparse):
        assert res.converged and res.n_newton_iter > 0 and res.n_cg_iter > 0
    np.testing.assert_allclose(exact.plan, sparse.plan, atol=1e-9)
    via_front_door = sinkhorn(a, b, M, 1e-3, method="sns", threshold=0.0, n_sinkhorn=10)
    np.testing.assert_array_equal(via_front_door.plan, exact.plan)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(a=[-0.1, 0.6, 0.5]), ValueError, "a must be non-negative"),
        (dict(b=[np.nan, 0.5, 0.5]), ValueError, "b contains NaN"),
        (dict(a=[0.2, 0.2, 0.2]), ValueError, "same total mass"),
        (dict(b=[0.5, 0.5000001, 0.0]), ValueError, "same total mass"),
        (dict(a=[0.5, 0.5]), ValueError, "a must be a vector of length 3"),
        (dict(M=np.ones(3)), ValueError, "M must be 2-dimensional"),
        (dict(M=np.ones((3, 4))), ValueError, "b must be a vector of length 4"),
        (dict(M=np.full((3, 3), np.nan)), ValueError, "M contains NaN"),
        (dict(M=np.zeros((0, 3)), a=None, b=None), ValueError, "M must be non-empty"),
        (dict(a=[0.0, 0.0, 0.0], b=[0.0, 0.0, 0.0]), ValueError, "positive sum"),
        (dict(reg=0.0), ValueError, "reg must be > 0"),
        (dict(reg=-1.0), ValueError, "reg must be > 0"),
        (dict(reg=np.nan), ValueError, "reg must be finite"),
        (dict(reg="1"), TypeError, "reg must be a real number"),
        (dict(method="newton"), ValueError, "method must be one of"),
        (dict(tol=-1.0), ValueError, "tol must be >= 0"),
        (dict(max_iter=1.5), TypeError, "max_iter must be an integer"),
        (dict(init=np.zeros(3)), TypeError, "init must be a pair"),
        (dict(init=(np.zeros(3), np.zeros(2))), ValueError, "init\\[1\\] must be a vector"),
        (dict(callback=3), TypeError, "callback must be callable"),
        (dict(verbose=5), ValueError, "verbose must be <= 2"),
        (dict(method="sinkhorn_log", n_sinkhorn=5), TypeError, "unexpected keyword argument"),
        (dict(method="sns", threshold=2.0), ValueError, "threshold must be <= 1"),
        (dict(method="sns", density=0.0), ValueError, "density must be > 0"),
        (dict(method="sns", cg_rtol=0.0), ValueError, "cg_rtol must be > 0"),
        (dict(method="sns", reg_schedule=1.0), TypeError, "reg_schedule must be 'auto' or"),
        (dict(method="sns", reg_schedule="fast"), ValueError, "reg_schedule must be 'auto'"),
        (dict(method="sns", reg_schedule=[0.1, -1]), ValueError, "reg_schedule\\[1\\] must"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = dict(a=[0.2, 0.3, 0.5], b=[0.5, 0.25, 0.25], M=np.ones((3, 3)), reg=0.1)
    args.update(kwargs)
    a, b, M, reg = args.pop("a"), args.pop("b"), args.pop("M"), args.pop("reg")
    with pytest.raises(error, match=match):
        sinkhorn(a, b, M, reg, **args)


def test_inputs_not_modified(clouds):
    a, b, M = clouds
    copies = [x.copy() for x in (a, b, M)]
    init = (np.zeros(100), np.zeros(100))
    sinkhorn(a, b, M, 0.01, init=init, method="sns")
    for x, y in zip((a, b, M), copies):
        np.testing.assert_array_equal(x, y)
    assert not init[0].any() and not init[1].any()


# ------------------------------------------------------------------ estimator
def test_sinkhorn_transport_matches_pot():
    rng = np.random.default_rng(7)
    Xs = rng.standard_normal((50, 3))
    Xt = rng.standard_normal((40, 3)) * 0.5 + 3.0
    ours = SinkhornTransport(reg=1.0, method="sinkhorn_log", tol=1e-12).fit(Xs, Xt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pot = ot.da.SinkhornTransport(reg_e=1.0, max_iter=100000, tol=1e-14).fit(Xs=Xs, Xt=Xt)
    assert np.abs(ours.coupling_ - pot.coupling_).sum() < 1e-8
    np.testing.assert_allclose(ours.transform(Xs), pot.transform(Xs=Xs), atol=1e-7)
    X_new = rng.standard_normal((7, 3))  # out of sample: the continuous entropic map
    np.testing.assert_allclose(ours.transform(X_new), pot.transform(Xs=X_new), atol=1e-7)
    assert ours.converged_ and ours.n_iter_ > 0
    np.testing.assert_allclose(ours.mu_s_, np.full(50, 1 / 50))


def test_sinkhorn_transport_sns_and_norm():
    a, b, _ = ot_gaussian_clouds(5)
    rng = np.random.default_rng(8)
    Xs = rng.standard_normal((60, 2))
    Xt = Xs + np.array([4.0, -1.0])
    est = SinkhornTransport(reg=1e-3, norm="max")
    mapped = est.fit_transform(Xs, Xt)
    # a translation: the entropic map is close to it (blurred by reg), and the barycentric
    # map preserves the mean exactly (the plan's columns sum to the target weights)
    np.testing.assert_allclose(mapped, Xt, atol=0.2)
    np.testing.assert_allclose(mapped.mean(0), Xt.mean(0), atol=1e-8)
    assert est.cost_.max() == pytest.approx(1.0)
    assert est.get_params()["method"] == "auto"
    med = SinkhornTransport(reg=0.1, norm="median", metric="euclidean").fit(Xs, Xt)
    assert np.median(med.cost_) == pytest.approx(1.0)


def test_sinkhorn_transport_bad_input():
    Xs, Xt = np.ones((4, 2)), np.ones((5, 3))
    with pytest.raises(ValueError, match="same number of features"):
        SinkhornTransport().fit(Xs, Xt)
    with pytest.raises(ValueError, match="method must be one of"):
        SinkhornTransport(method="emd").fit(Xs, Xs)
    with pytest.raises(ValueError, match="norm must be one of"):
        SinkhornTransport(norm="l2").fit(Xs, Xs)
    with pytest.raises(ValueError, match="reg must be > 0"):
        SinkhornTransport(reg=0).fit(Xs, Xs)
    est = SinkhornTransport(reg=1.0).fit(np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="Xs must have 3 features"):
        est.transform(np.ones((2, 2)))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SinkhornTransport().transform(Xs)
