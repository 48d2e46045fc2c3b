"""train(eval_data=...) and the softmax-collapse / softmax-radius tracks."""

import numpy as np
import pytest

from numlearn.dynamics import (
    GD,
    LinearRegression,
    LogisticRegression,
    SoftmaxRegression,
    TwoLayerNetwork,
    softmax_collapse_fraction,
    softmax_radius,
    train,
)


def _split(seed=0, n=60, d=5, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, classes))
    y = np.argmax(X @ W + 0.5 * rng.standard_normal((n, classes)), axis=1)
    return X[:40], y[:40], X[40:], y[40:]


@pytest.mark.parametrize("loss", ["softmax", "stablemax"])
def test_eval_loss_and_accuracy_for_softmax(loss):
    Xtr, ytr, Xte, yte = _split()
    model = SoftmaxRegression(Xtr, ytr, n_classes=3, loss=loss)
    traj = train(model, np.zeros(15), GD(lr=0.5), 30, track=(), every=10,
                 eval_data=(Xte, yte), random_state=0)
    held_out = SoftmaxRegression(Xte, yte, n_classes=3, loss=loss)
    assert traj.eval_loss[-1] == pytest.approx(held_out.loss(traj.w), rel=1e-12)
    acc = np.mean(np.argmax(Xte @ traj.w.reshape(5, 3), axis=1) == yte)
    assert traj.eval_accuracy[-1] == acc
    assert traj.eval_loss[0] == pytest.approx(np.log(3))
    assert len(traj.eval_loss) == len(traj.steps) == 4


def test_eval_for_logistic_and_regression():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    lin = LinearRegression(X[:30], y[:30])
    traj = train(lin, np.zeros(3), GD(lr=0.1), 10, track=(), eval_data=(X[30:], y[30:]))
    assert traj.eval_loss[-1] == pytest.approx(LinearRegression(X[30:], y[30:]).loss(traj.w))
    assert np.all(np.isnan(traj.eval_accuracy))
    labels = np.where(X @ [1.0, -1.0, 0.5] > 0, 1, 0)
    logi = LogisticRegression(X[:30], labels[:30])
    traj = train(logi, np.zeros(3), GD(lr=1.0), 20, track=(),
                 eval_data=(X[30:], labels[30:]))
    assert traj.eval_loss[-1] == pytest.approx(
        LogisticRegression(X[30:], labels[30:]).loss(traj.w), rel=1e-12)
    assert traj.eval_accuracy[-1] == np.mean((X[30:] @ traj.w > 0) == labels[30:])


def test_eval_data_bad_input():
    Xtr, ytr, Xte, yte = _split()
    model = SoftmaxRegression(Xtr, ytr, n_classes=3)
    with pytest.raises(ValueError, match="eval_data"):
        train(model, np.zeros(15), GD(lr=0.1), 2, eval_data=(Xte[:, :2], yte))
    with pytest.raises(ValueError, match="eval_data"):
        train(model, np.zeros(15), GD(lr=0.1), 2, eval_data=(Xte, yte[:3]))
    with pytest.raises(TypeError, match="pair"):
        train(model, np.zeros(15), GD(lr=0.1), 2, eval_data=Xte)


def test_collapse_fraction_and_radius_tracks():
    Xtr, ytr, _, _ = _split(3)
    model = SoftmaxRegression(Xtr, ytr, n_classes=3)
    traj = train(model, np.zeros(15), GD(lr=20.0), 40, track=("collapse_fraction",
                 "softmax_radius"), every=40, random_state=0)
    w = traj.w
    z = model.predict(w)
    assert traj.collapse_fraction[-1] == softmax_collapse_fraction(z)
    g = model.grad(w)
    a = model.jvp(w, -g / np.linalg.norm(g))
    assert traj.softmax_radius[-1] == pytest.approx(softmax_radius(a, z), rel=1e-12)
    with pytest.raises(TypeError, match="predict"):
        class NoPredict(TwoLayerNetwork):
            predict = None
        rng = np.random.default_rng(0)
        net = NoPredict(rng.standard_normal((5, 2)), rng.standard_normal(5), width=3)
        train(net, net.init_params(random_state=0), GD(lr=0.1), 2,
              track=("softmax_radius",))
