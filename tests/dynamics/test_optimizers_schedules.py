"""Momentum, Adam, learning-rate schedules and per-tensor ⊥Grad."""

import numpy as np
import pytest

from numlearn.dynamics import (
    GD,
    Adam,
    ConstantLR,
    LinearRegression,
    Momentum,
    PerpGrad,
    SoftmaxRegression,
    TwoLayerNetwork,
    WarmupCosine,
    train,
)


def _quadratic(lam):
    """L(w) = lam (w - 1)² / 2: LinearRegression with x = √lam, y = √lam."""
    s = np.sqrt(lam)
    return LinearRegression(np.array([[s]]), np.array([s]))


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_heavy_ball_stability_threshold(beta):
    # heavy ball on a quadratic of curvature λ is stable iff lr λ < 2 (1 + β)
    lam = 3.0
    model = _quadratic(lam)
    edge = 2 * (1 + beta) / lam
    for factor, stable in ((0.97, True), (1.03, False)):
        opt = Momentum(lr=factor * edge, momentum=beta)
        opt.start(model, np.zeros(1), None)
        w = np.zeros(1)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(3000):
                w, _ = opt.step(model, w, None)
        assert (abs(w[0] - 1.0) < 1e-3) == stable, (beta, factor, w)


def test_momentum_matches_a_textbook_loop_and_nesterov_form():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)), rng.standard_normal(20)
    model = LinearRegression(X, y)
    for nesterov in (False, True):
        opt = Momentum(lr=0.05, momentum=0.8, nesterov=nesterov)
        w = np.zeros(5)
        opt.start(model, w, None)
        w_ref, v = np.zeros(5), np.zeros(5)
        for _ in range(25):
            w, _ = opt.step(model, w, None)
            g = X.T @ (X @ w_ref - y) / 20
            v = 0.8 * v + g
            w_ref = w_ref - 0.05 * ((g + 0.8 * v) if nesterov else v)
        np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-14)


def test_adam_matches_kingma_ba_algorithm_1():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    model = LinearRegression(X, y)
    opt = Adam(lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    w = rng.standard_normal(4)
    opt.start(model, w, None)
    w_ref, m, s = w.copy(), np.zeros(4), np.zeros(4)
    for t in range(1, 40):
        w, step = opt.step(model, w, None)
        g = X.T @ (X @ w_ref - y) / 30
        m = 0.9 * m + 0.1 * g
        s = 0.99 * s + 0.01 * g**2
        w_ref = w_ref - 0.01 * ((m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.99**t)) + 1e-8)
                                + 0.1 * w_ref)
        assert step == 0.01
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)


def test_adam_solves_least_squares():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    model = LinearRegression(X, y)
    traj = train(model, np.zeros(3), Adam(lr=WarmupCosine(0.05, 3000, 50, 1e-4)), 3000,
                 random_state=0)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(traj.w, w_star, atol=1e-5)


def test_warmup_cosine_values_and_train_records_the_schedule():
    s = WarmupCosine(0.2, total_steps=20, warmup_steps=5, final=0.02)
    rates = [s(t) for t in range(25)]
    np.testing.assert_allclose(rates[:5], 0.2 * np.arange(1, 6) / 5)
    assert rates[5] == pytest.approx(0.2)
    assert rates[20] == pytest.approx(0.02) and rates[24] == pytest.approx(0.02)
    mid = 5 + 7.5
    assert s(12.5) == pytest.approx(0.02 + 0.18 * 0.5 * (1 + np.cos(np.pi * (mid - 5) / 15)))
    model = _quadratic(1.0)
    traj = train(model, np.zeros(1), GD(lr=s), 20, track=("step_size",), random_state=0)
    np.testing.assert_allclose(traj.step_size[:20], rates[:20])
    # the schedule restarts with each run
    traj2 = train(model, np.zeros(1), GD(lr=s), 20, track=("step_size",), random_state=0)
    np.testing.assert_array_equal(traj.w, traj2.w)


def test_constant_schedule_equals_a_number():
    model = _quadratic(2.0)
    a = train(model, np.zeros(1), GD(lr=0.3), 10, random_state=0)
    b = train(model, np.zeros(1), GD(lr=ConstantLR(0.3)), 10, random_state=0)
    np.testing.assert_array_equal(a.w, b.w)


def test_schedule_bad_input():
    with pytest.raises(ValueError, match="lr"):
        GD(lr=lambda t: -1.0)
    with pytest.raises(ValueError, match="final"):
        WarmupCosine(0.1, 10, final=0.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(0.1, 10, warmup_steps=11)
    opt = GD(lr=lambda t: 0.1 if t < 3 else -0.1)  # negative later: refused when reached
    model = _quadratic(1.0)
    with pytest.raises(ValueError, match=r"lr\(3\)"):
        train(model, np.zeros(1), opt, 10, random_state=0)
    with pytest.raises(ValueError, match="momentum"):
        Momentum(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="betas"):
        Adam(lr=0.1, betas=(0.9,))
    with pytest.raises(TypeError, match="mini-batches"):
        Adam(lr=0.1, batch_size=2).check_model(object.__new__(_NoBatch))


class _NoBatch(LinearRegression):
    supports_batches = False
    n_samples = 4


def test_perp_grad_projects_each_tensor():
    rng = np.random.default_rng(3)
    model = TwoLayerNetwork(rng.standard_normal((12, 3)), rng.standard_normal(12), width=5)
    w = rng.standard_normal(model.n_params)
    g = model.grad(w)
    (a0, a1), (b0, b1) = model.param_blocks
    assert (a0, a1, b1) == (0, 15, model.n_params) and b0 == a1
    w_new, _ = PerpGrad(0.1).step(model, w, None)
    step = w_new - w
    for lo, hi in model.param_blocks:
        # each block's step is orthogonal to that block's weights, with the block's norm
        assert abs(step[lo:hi] @ w[lo:hi]) < 1e-12 * np.linalg.norm(step[lo:hi]) * np.linalg.norm(w[lo:hi])
        assert np.isclose(np.linalg.norm(step[lo:hi]), 0.1 * np.linalg.norm(g[lo:hi]))
    # the whole-vector form: orthogonal to w as a whole, not per block
    w_vec, _ = PerpGrad(0.1, per_tensor=False).step(model, w, None)
    step_vec = w_vec - w
    assert abs(step_vec @ w) < 1e-12 * np.linalg.norm(step_vec) * np.linalg.norm(w)
    assert abs(step_vec[:15] @ w[:15]) > 1e-6
    # single-tensor models: both forms agree bit for bit
    soft = SoftmaxRegression(rng.standard_normal((10, 3)), rng.integers(0, 3, 10), 3)
    v = rng.standard_normal(soft.n_params)
    np.testing.assert_array_equal(PerpGrad(0.2).step(soft, v, None)[0],
                                  PerpGrad(0.2, per_tensor=False).step(soft, v, None)[0])


def test_orthogonal_adam_feeds_perp_grad_to_the_moments():
    rng = np.random.default_rng(6)
    model = TwoLayerNetwork(rng.standard_normal((10, 3)), rng.standard_normal(10), width=4)
    w = rng.standard_normal(model.n_params)
    opt = Adam(lr=0.01, orthogonal=True)
    opt.start(model, w, None)
    w1, _ = opt.step(model, w, None)
    # first Adam step is lr * d / (|d| + eps) elementwise, d the ⊥Grad direction
    d = PerpGrad(1.0).step(model, w, None)[0] - w
    np.testing.assert_allclose(w1 - w, 0.01 * d / (np.abs(d) + 1e-8), rtol=1e-10, atol=1e-14)
