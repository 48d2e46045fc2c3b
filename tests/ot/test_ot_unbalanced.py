"""numlearn.ot.sinkhorn_unbalanced against POT's ot.unbalanced.sinkhorn_unbalanced."""

import numpy as np
import ot
import pytest
from scipy.special import kl_div
from sklearn.exceptions import ConvergenceWarning

from numlearn.datasets import ot_gaussian_clouds
from numlearn.ot import sinkhorn, sinkhorn_unbalanced


@pytest.fixture(scope="module")
def problem():
    a, b, M = ot_gaussian_clouds(70, 50, random_state=0)
    return a, 2.0 * b, M  # masses 1 and 2


@pytest.mark.parametrize("reg", [0.1, 0.02])
@pytest.mark.parametrize("reg_m", [0.1, 1.0, 10.0])
def test_plan_matches_pot(problem, reg, reg_m):
    a, b, M = problem
    P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg, reg_m, stopThr=1e-15,
                                          numItermax=100000)
    res = sinkhorn_unbalanced(a, b, M, reg, reg_m=reg_m, tol=1e-13, max_iter=100000)
    assert res.converged and res.phases == ("scaling",)
    assert np.abs(res.plan - P).sum() < 1e-7
    # the minimized objective, from the definition (SciPy's kl_div is POT's KL term-wise)
    expected = (np.sum(M * P) + reg * kl_div(P, a[:, None] * b[None, :]).sum()
                + reg_m * kl_div(P.sum(1), a).sum() + reg_m * kl_div(P.sum(0), b).sum())
    assert res.objective == pytest.approx(expected, rel=1e-9)
    assert res.mass == pytest.approx(P.sum(), rel=1e-9)
    np.testing.assert_allclose(res.plan, a[:, None] * b[None, :]
                               * np.exp((res.f[:, None] + res.g[None, :] - M) / reg),
                               atol=1e-15, rtol=1e-10)


def test_log_domain_when_the_kernel_underflows(problem):
    a, b, M = problem
    reg, reg_m = 1e-3, 0.1  # span(M)/reg = 1000: exp(-M/reg) has subnormal entries
    P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg, reg_m, stopThr=1e-15,
                                          numItermax=100000)
    res = sinkhorn_unbalanced(a, b, M, reg, reg_m=reg_m, tol=1e-13, max_iter=100000)
    assert res.converged and res.phases == ("log",)
    assert np.abs(res.plan - P).sum() < 1e-7


def test_scalings_out_of_range_switch_to_log_domain(problem):
    a, b, M = problem
    a = a.copy()
    a[3] = 1e-290  # its scaling falls below 1e-250: detected at run time
    P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, stopThr=1e-15, numItermax=10**5)
    res = sinkhorn_unbalanced(a, b, M, 0.1, reg_m=1.0, tol=1e-13)
    assert res.phases == ("scaling", "log") and res.converged
    assert np.abs(res.plan - P).sum() < 1e-7


def test_semi_relaxed_pair_and_balanced_limit(problem):
    a, b, M = problem
    P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, 0.1, (np.inf, 1.0), stopThr=1e-15,
                                          numItermax=100000)
    res = sinkhorn_unbalanced(a, b, M, 0.1, reg_m=(np.inf, 1.0), tol=1e-13)
    assert np.abs(res.plan - P).sum() < 1e-7
    np.testing.assert_allclose(res.plan.sum(1), a, atol=1e-12)  # the exact marginal
    b1 = b / 2.0
    bal = sinkhorn_unbalanced(a, b1, M, 0.1, reg_m=np.inf, tol=1e-13)
    ref = sinkhorn(a, b1, M, 0.1, tol=1e-13)
    assert np.abs(bal.plan - ref.plan).sum() < 1e-10


def test_zero_weights_history_and_callback(problem):
    a, b, M = problem
    a = a.copy()
    a[:4] = 0.0
    seen = []
    res = sinkhorn_unbalanced(a, b, M, 0.1, reg_m=1.0, tol=1e-12, return_history=True,
                              callback=lambda F, G: seen.append(1))
    # POT divides 0 by 0 on zero weights: compare with it on the support
    P = ot.unbalanced.sinkhorn_unbalanced(a[4:], b, M[4:], 0.1, 1.0, stopThr=1e-15,
                                          numItermax=100000)
    assert np.all(res.plan[:4] == 0) and np.all(np.isneginf(res.f[:4]))
    assert np.abs(res.plan[4:] - P).sum() < 1e-7
    assert len(res.history) == res.n_iter == len(seen)


def test_max_iter_warns_and_inputs_untouched(problem):
    a, b, M = problem
    copies = a.copy(), b.copy(), M.copy()
    with pytest.warns(ConvergenceWarning, match="sinkhorn_unbalanced did not converge"):
        res = sinkhorn_unbalanced(a, b, M, 0.01, reg_m=10.0, max_iter=5)
    assert not res.converged and res.n_iter == 5
    for x, y in zip((a, b, M), copies):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(reg_m=0.0), ValueError, "reg_m must be > 0"),
        (dict(reg_m=-1.0), ValueError, "reg_m must be > 0"),
        (dict(reg_m=(1.0, 2.0, 3.0)), ValueError, "reg_m must be a float or a pair"),
        (dict(reg_m="1"), TypeError, "reg_m must be a real number"),
        (dict(reg_m=1.0, reg=0.0), ValueError, "reg must be > 0"),
        (dict(reg_m=1.0, a=[-1.0, 1.0, 1.0]), ValueError, "a must be non-negative"),
        (dict(reg_m=1.0, M=np.full((3, 3), np.nan)), ValueError, "M contains NaN"),
        (dict(reg_m=1.0, numItermax=5), TypeError, "did you mean 'max_iter'"),
        (dict(reg_m=1.0, stopThr=1e-3), TypeError, "did you mean 'tol'"),
        (dict(reg_m=1.0, log=True), TypeError, "did you mean 'return_history'"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = dict(a=[0.2, 0.3, 0.5], b=[0.5, 0.25, 0.25], M=np.ones((3, 3)), reg=0.1)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sinkhorn_unbalanced(args.pop("a"), args.pop("b"), args.pop("M"), args.pop("reg"),
                            **args)
