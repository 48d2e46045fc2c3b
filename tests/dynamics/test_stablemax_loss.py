"""The StableMax cross-entropy of SoftmaxRegression(loss="stablemax")."""

import numpy as np
import pytest

from numlearn.dynamics import SoftmaxRegression, stablemax


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((15, 4)), rng.integers(0, 3, 15)


def test_stablemax_loss_is_the_cross_entropy_of_stablemax():
    X, y = _data()
    model = SoftmaxRegression(X, y, n_classes=3, loss="stablemax")
    w = np.random.default_rng(1).standard_normal(12)
    P = stablemax(X @ w.reshape(4, 3))
    assert model.loss(w) == pytest.approx(-np.mean(np.log(P[np.arange(15), y])), rel=1e-14)
    np.testing.assert_allclose(model.per_sample_grads(w).mean(axis=0), model.grad(w),
                               rtol=1e-12, atol=1e-15)


def test_stablemax_does_not_collapse_where_softmax_does():
    X, y = _data(2)
    soft = SoftmaxRegression(X, y, n_classes=3)
    stable = SoftmaxRegression(X, y, n_classes=3, loss="stablemax")
    # a direction that classifies every sample correctly, scaled up: softmax's loss and
    # gradient underflow to exactly zero (collapse), StableMax's stay positive
    W = np.zeros((4, 3))
    W = np.linalg.lstsq(X, np.eye(3)[y] * 10.0 - 5.0, rcond=None)[0]
    w = W.ravel() * 1e3
    correct = np.argmax(X @ W, axis=1) == y
    idx = np.flatnonzero(correct)
    assert idx.size > 5
    assert soft.loss(w, idx) == 0.0 and np.linalg.norm(soft.grad(w, idx)) < 1e-200
    assert stable.loss(w, idx) > 1e-8 and np.linalg.norm(stable.grad(w, idx)) > 1e-10


def test_loss_option_is_checked():
    X, y = _data()
    with pytest.raises(ValueError, match="loss"):
        SoftmaxRegression(X, y, loss="hinge")


def test_modular_arithmetic_tables():
    from numlearn.datasets import modular_arithmetic

    for op, f in [("+", lambda a, b: (a + b) % 11), ("-", lambda a, b: (a - b) % 11),
                  ("*", lambda a, b: (a * b) % 11), ("x^2+y^2", lambda a, b: (a * a + b * b) % 11)]:
        d = modular_arithmetic(11, op, train_fraction=0.3, random_state=0)
        pairs = np.vstack([d.pairs_train, d.pairs_test])
        labels = np.r_[d.y_train, d.y_test]
        assert len(pairs) == 121 and len({tuple(x) for x in pairs}) == 121
        np.testing.assert_array_equal(labels, f(pairs[:, 0], pairs[:, 1]))
        assert len(d.y_train) == round(0.3 * 121)
        a, b = d.pairs_train.T
        np.testing.assert_array_equal(np.argmax(d.X_train[:, :11], axis=1), a)
        np.testing.assert_array_equal(np.argmax(d.X_train[:, 11:], axis=1), b)
    d = modular_arithmetic(7, "/", random_state=1)
    pairs = np.vstack([d.pairs_train, d.pairs_test])
    labels = np.r_[d.y_train, d.y_test]
    np.testing.assert_array_equal((labels * pairs[:, 1]) % 7, pairs[:, 0])  # c·b = a
    with pytest.raises(ValueError, match="prime"):
        modular_arithmetic(8, "/")
    with pytest.raises(ValueError, match="operation"):
        modular_arithmetic(7, "^")
