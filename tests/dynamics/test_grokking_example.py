"""The grokking example's claims at a reduced size (examples/plot_grokking_softmax_collapse.py):
in float32 without weight decay, Adam on softmax cross-entropy memorizes modular addition,
part of its training softmax collapses and it does not generalize; ⊥Adam at the same
learning rate fits the table too, never collapses and generalizes."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from numlearn.datasets import modular_arithmetic  # noqa: E402
from numlearn.dynamics import Adam, from_jax, train  # noqa: E402

P, HIDDEN, LR, N_STEPS = 23, 128, 0.07, 2000


def _logits(params, X):
    return jax.nn.relu(X @ params["W1"]) @ params["W2"]


def _softmax_ce(params, batch):
    X, y = batch
    logp = jax.nn.log_softmax(_logits(params, X), axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


@pytest.fixture(scope="module")
def runs():
    data = modular_arithmetic(P, "+", train_fraction=0.6, random_state=0)
    rng = np.random.default_rng(0)
    d_in = data.X_train.shape[1]
    params = {"W1": rng.standard_normal((d_in, HIDDEN)) / np.sqrt(d_in),
              "W2": rng.standard_normal((HIDDEN, P)) / np.sqrt(HIDDEN)}
    model = from_jax(_softmax_ce, params, (data.X_train, data.y_train),
                     predict_fn=_logits, dtype="float32")
    out = {}
    for name, opt in {"adam": Adam(lr=LR), "perp_adam": Adam(lr=LR, orthogonal=True)}.items():
        traj = train(model, model.w0, opt, N_STEPS, every=100,
                     track=("loss", "collapse_fraction"),
                     eval_data=(data.X_test, data.y_test), random_state=0)
        train_acc = float(np.mean(np.argmax(model.predict(traj.w), axis=1) == data.y_train))
        out[name] = (traj, train_acc)
    return out


def test_adam_memorizes_collapses_and_does_not_generalize(runs):
    traj, train_acc = runs["adam"]
    assert traj.status.name == "SUCCESS" and traj.n_iter == N_STEPS
    assert train_acc == 1.0
    assert traj.loss[-1] < 1e-5
    # float32 softmax collapse: a share of the training samples have exactly zero gradient
    assert np.max(traj.collapse_fraction) > 0.05
    assert traj.collapse_fraction[0] == 0.0
    # memorization, not generalization: worse than chance (1/23) on unseen pairs
    assert np.max(traj.eval_accuracy[5:]) < 0.02


def test_perp_adam_generalizes_without_weight_decay(runs):
    traj, train_acc = runs["perp_adam"]
    assert train_acc == 1.0
    assert np.all(traj.collapse_fraction == 0.0)
    assert traj.eval_accuracy[-1] > 0.4
    # the held-out accuracy climbs steadily (no lucky spike)
    assert traj.eval_accuracy[-1] > traj.eval_accuracy[len(traj.eval_accuracy) // 2] > 0.1
