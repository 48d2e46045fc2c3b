"""method="auto" of numlearn.ot.sinkhorn: scaling while safe, log domain, Newton on stall."""

import warnings

import numpy as np
import ot
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status
from numlearn.datasets import ot_gaussian_clouds, ot_grid_1d
from numlearn.ot import SinkhornTransport, sinkhorn


def _tiny_weight_problem():
    # a weight of 1e-280 drives its scaling u_i = a_i / (K v)_i below 1e-250: only the
    # run-time check of the scalings sees it (the kernel itself is harmless at reg = 0.1)
    a, b, M = ot_gaussian_clouds(60, random_state=1)
    a = a.copy()
    a[0] = 1e-280
    return a / a.sum(), b, M


# (problem, reg, phases auto runs)
REGIMES = [
    (lambda: ot_gaussian_clouds(60, random_state=1), 1e-1, ("scaling",)),
    (lambda: ot_gaussian_clouds(60, random_state=1), 1e-2, ("scaling",)),
    # Sinkhorn's rate stalls (thousands of iterations to go): Newton takes over
    (lambda: ot_gaussian_clouds(60, random_state=1), 3e-3, ("scaling", "newton")),
    # span(M)/reg = 1000: the Gibbs kernel underflows, SNS with epsilon scaling
    (lambda: ot_grid_1d(60), 1e-3, ("scaling", "log", "newton")),
    (_tiny_weight_problem, 1e-1, ("scaling", "log")),
]


@pytest.mark.parametrize("problem, reg, phases", REGIMES)
def test_auto_plan_equals_log_domain_plan(problem, reg, phases):
    a, b, M = problem()
    res = sinkhorn(a, b, M, reg, tol=1e-13, max_iter=100000)
    ref = sinkhorn(a, b, M, reg, method="sinkhorn_log", tol=1e-13, max_iter=100000)
    assert res.converged and res.method == "auto"
    assert res.phases == phases
    assert np.abs(res.plan - ref.plan).sum() < 1e-10
    np.testing.assert_allclose(res.f - res.f.mean(), ref.f - ref.f.mean(), atol=1e-9)
    assert res.n_sinkhorn_iter + res.n_newton_iter == res.n_iter
    assert res.marginal_error <= 1e-12
    assert tuple(res.phase_iters) == phases and sum(res.phase_iters.values()) == res.n_iter
    assert res.phase_iters.get("newton", 0) == res.n_newton_iter


@pytest.mark.parametrize("problem, reg", [
    # scaling, then Newton once the rate stalls (33 iterations without a cap)
    (lambda: ot_gaussian_clouds(60, 50, random_state=3), 1e-3),
    # the kernel underflows: SNS's epsilon-scaling stages from the start (~40 iterations)
    (lambda: ot_gaussian_clouds(60, 50, random_state=3), 1e-4),
    # scaling, log domain, Newton
    (lambda: ot_grid_1d(60), 1e-3),
])
@pytest.mark.parametrize("max_iter", [1, 15, 22])
def test_auto_max_iter_bounds_the_total_work(problem, reg, max_iter):
    a, b, M = problem()
    free = sinkhorn(a, b, M, reg)
    assert free.converged and free.n_newton_iter > 0 and free.n_iter > 22
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = sinkhorn(a, b, M, reg, max_iter=max_iter)
    assert res.status is Status.MAX_ITER and not res.converged
    assert res.n_iter == max_iter  # Sinkhorn + Newton iterations, all phases and stages
    assert res.n_sinkhorn_iter + res.n_newton_iter == res.n_iter
    assert sum(res.phase_iters.values()) == res.n_iter
    assert res.phase_iters.get("newton", 0) == res.n_newton_iter
    assert set(res.phases) <= set(free.phases)


def test_auto_is_the_default_and_matches_pot():
    a, b, M = ot_gaussian_clouds(80, random_state=3)
    res = sinkhorn(a, b, M, 0.05, tol=1e-12)
    assert res.method == "auto" and res.phases == ("scaling",)
    np.testing.assert_allclose(res.plan, ot.sinkhorn(a, b, M, 0.05, stopThr=1e-14), atol=1e-12)
    assert SinkhornTransport().method == "auto"


def test_auto_newton_phase_is_faster_in_iterations():
    a, b, M = ot_gaussian_clouds(60, random_state=1)
    res = sinkhorn(a, b, M, 2e-3, tol=1e-10)
    assert res.phases == ("scaling", "newton") and res.n_newton_iter > 0
    # plain Sinkhorn needs tens of thousands of iterations here
    with pytest.warns(ConvergenceWarning):
        sinkhorn(a, b, M, 2e-3, method="sinkhorn_log", tol=1e-10, max_iter=5 * res.n_iter)


def test_auto_warm_start_checks_after_one_iteration():
    a, b, M = ot_gaussian_clouds(50, random_state=0)
    cold = sinkhorn(a, b, M, 0.01)
    warm = sinkhorn(a, b, M, 0.01, init=(cold.f, cold.g))
    assert warm.n_iter == 1 < cold.n_iter
    np.testing.assert_allclose(warm.plan, cold.plan, atol=1e-10)


def test_auto_history_and_callback_see_every_iteration():
    a, b, M = ot_gaussian_clouds(50, random_state=0)
    seen = []
    res = sinkhorn(a, b, M, 0.01, return_history=True, callback=lambda f, g: seen.append(1))
    assert len(res.history) == res.n_iter == len(seen)
    plain = sinkhorn(a, b, M, 0.01)  # checks every 10 iterations: at most 9 more
    assert res.n_iter <= plain.n_iter <= res.n_iter + 9


def test_auto_callback_stop_and_max_iter():
    a, b, M = ot_gaussian_clouds(50, random_state=0)

    def stop(f, g):
        raise StopIteration

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sinkhorn(a, b, M, 0.01, callback=stop)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 1
    with pytest.warns(ConvergenceWarning, match="sinkhorn \\(auto\\)"):
        res = sinkhorn(a, b, M, 0.01, max_iter=15)
    assert not res.converged and res.n_iter == 15 and res.status is Status.MAX_ITER


def test_auto_zero_weights_and_float32_cost():
    a, b, M = ot_gaussian_clouds(40, 30, random_state=4)
    a = a.copy()
    a[:5] = 0.0
    a /= a.sum()
    res = sinkhorn(a, b, M, 0.05, tol=1e-12)
    ref = sinkhorn(a, b, M, 0.05, method="sinkhorn_log", tol=1e-12)
    assert np.abs(res.plan - ref.plan).sum() < 1e-10
    assert np.all(res.plan[:5] == 0) and np.all(np.isneginf(res.f[:5]))
    res32 = sinkhorn(a, b, M.astype(np.float32), 0.05, tol=1e-6)
    assert res32.plan.dtype == np.float32 and res32.converged
    assert np.abs(res32.plan - ref.plan).sum() < 1e-5


def test_auto_options_are_sns_options():
    a, b, M = ot_gaussian_clouds(60, random_state=1)
    res = sinkhorn(a, b, M, 3e-3, threshold=0.0, tol=1e-10)
    assert res.converged and "newton" in res.phases
    with pytest.raises(TypeError, match="did you mean 'max_iter'"):
        sinkhorn(a, b, M, 0.1, numItermax=10)
    with pytest.raises(TypeError, match="did you mean 'tol'"):
        sinkhorn(a, b, M, 0.1, stopThr=1e-3)
    with pytest.raises(TypeError, match="did you mean 'return_history'"):
        sinkhorn(a, b, M, 0.1, log=True)


@pytest.mark.parametrize("name, hint", [("numItermax", "max_iter"), ("stopThr", "tol"),
                                        ("reg_e", "reg")])
def test_transport_estimator_suggests_keywords(name, hint):
    with pytest.raises(TypeError, match=f"did you mean '{hint}'"):
        SinkhornTransport(**{name: 1})


# ------------------------------------------------------------------ float32
def test_float32_weights_accepted_with_dtype_relative_mass_check():
    a, b, M = ot_gaussian_clouds(300, random_state=0)
    a32 = ot.unif(300).astype(np.float32)
    assert abs(float(a32.astype(np.float64).sum()) - 1.0) > 1e-8  # refused before
    res = sinkhorn(a32, a32, M, 0.05, tol=1e-10)
    ref = sinkhorn(a, b, M, 0.05, tol=1e-10)
    assert res.converged and res.marginal_error <= 1e-10
    # the rescaled problem differs from the float64 one by float32 rounding of weights
    assert np.abs(res.plan - ref.plan).sum() < 1e-6
    with pytest.raises(ValueError, match="same total mass.*relative tolerance 1.9e-06"):
        sinkhorn(a32, a32 * np.float32(1.001), M, 0.05)
    with pytest.raises(ValueError, match="same total mass.*relative tolerance 1.0e-08"):
        sinkhorn(a, b * (1 + 1e-7), M, 0.05)


@pytest.mark.parametrize("method", ["auto", "sinkhorn_log", "sns"])
def test_float32_cost_below_its_floor_warns_clearly(method):
    a, b, M = ot_gaussian_clouds(300, random_state=0)
    with pytest.warns(ConvergenceWarning, match="float32's floor.*pass M as float64"):
        res = sinkhorn(a, b, M.astype(np.float32), 1e-2, method=method, tol=1e-12)
    assert res.status is Status.STAGNATION and not res.converged
    assert 1e-12 < res.marginal_error < 1e-6
    ok = sinkhorn(a, b, M.astype(np.float32), 1e-2, method=method, tol=1e-6)
    assert ok.converged and ok.plan.dtype == np.float32


@pytest.mark.parametrize("problem, reg, phases", [
    (lambda: ot_gaussian_clouds(40, 30, random_state=2), 0.05, ("scaling",)),
    (lambda: ot_grid_1d(40), 1e-3, ("scaling", "log", "newton")),
])
def test_auto_in_other_array_libraries(problem, reg, phases):
    # one text of the auto loop for every namespace: the same phases and iteration
    # counts as on NumPy (the Gibbs kernel of ot_grid_1d(40) at 1e-3 is safe, its
    # scalings leave range: log domain, then Newton once the rate stalls)
    xps = pytest.importorskip("array_api_strict")
    from numlearn._backend import to_numpy

    a, b, M = problem()
    res = sinkhorn(xps.asarray(a), xps.asarray(b), xps.asarray(M), reg, tol=1e-12)
    ref = sinkhorn(a, b, M, reg, method="sinkhorn_log", tol=1e-12, max_iter=100000)
    assert res.converged and res.phases == phases
    ref_auto = sinkhorn(a, b, M, reg, tol=1e-12)
    assert ref_auto.phases == phases
    assert (res.n_sinkhorn_iter, res.n_newton_iter) == (ref_auto.n_sinkhorn_iter,
                                                        ref_auto.n_newton_iter)
    assert type(res.plan).__module__.startswith("array_api_strict")
    assert np.abs(to_numpy(res.plan) - ref.plan).sum() < 1e-10
