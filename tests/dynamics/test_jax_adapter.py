"""from_jax: a JAX network as a dynamics model, checked against numlearn's exact models."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from numlearn.dynamics import (  # noqa: E402
    GD,
    PerpGrad,
    SoftmaxRegression,
    TwoLayerNetwork,
    from_jax,
    hessian_density,
    sharpness,
    train,
)


def _tanh_net(seed=0, n=25, d=3, width=6):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    ref = TwoLayerNetwork(X, y, width=width, activation="tanh")
    w = ref.init_params(random_state=1)
    s = 1.0 / np.sqrt(width)

    def predict(p, X):
        return s * (jnp.tanh(X @ p["W"].T) @ p["a"])

    def loss(p, data):
        X, y = data
        return 0.5 * jnp.mean((predict(p, X) - y) ** 2)

    params = {"W": w[: width * d].reshape(width, d), "a": w[width * d:]}
    return ref, w, from_jax(loss, params, (X, y), predict_fn=predict)


def test_jax_network_equals_the_exact_model():
    ref, w, model = _tanh_net()
    assert model.n_params == ref.n_params and model.n_samples == ref.n_samples
    np.testing.assert_array_equal(model.w0, w)
    assert model.param_blocks == ref.param_blocks
    v = np.random.default_rng(2).standard_normal(ref.n_params)
    assert model.loss(w) == pytest.approx(ref.loss(w), rel=1e-13)
    np.testing.assert_allclose(model.grad(w), ref.grad(w), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(model.hvp(w, v), ref.hvp(w, v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.hessian(w), ref.hessian(w), rtol=1e-10, atol=1e-12)
    batch = np.array([0, 3, 7])
    np.testing.assert_allclose(model.grad(w, batch), ref.grad(w, batch), rtol=1e-11,
                               atol=1e-13)
    np.testing.assert_allclose(model.per_sample_grads(w), ref.per_sample_grads(w),
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.jvp(w, v), ref.jvp(w, v), rtol=1e-11, atol=1e-13)
    u = np.random.default_rng(3).standard_normal(ref.n_samples)
    np.testing.assert_allclose(model.vjp(w, u), ref.vjp(w, u), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(model.predict(w), ref.predict(w), rtol=1e-12)


def test_jax_model_trains_and_measures_like_the_exact_model():
    ref, w, model = _tanh_net()
    a = train(ref, w, GD(lr=0.3), 20, random_state=0)
    b = train(model, model.w0, GD(lr=0.3), 20, random_state=0)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-10)
    np.testing.assert_allclose(b.sharpness, a.sharpness, rtol=1e-6)
    assert sharpness(model, w).sharpness == pytest.approx(sharpness(ref, w).sharpness,
                                                          rel=1e-9)
    da = hessian_density(ref, w, n_vectors=3, n_steps=10, random_state=0)
    db = hessian_density(model, w, n_vectors=3, n_steps=10, random_state=0)
    np.testing.assert_allclose(db.density, da.density, rtol=1e-6, atol=1e-9)
    # per-tensor ⊥Grad uses the pytree's leaves
    np.testing.assert_allclose(PerpGrad(0.1).step(model, w, None)[0],
                               PerpGrad(0.1).step(ref, w, None)[0], rtol=1e-10)


def test_float32_runs_and_eval_data():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)

    def predict(p, X):
        return X @ p["W"]

    def loss(p, data):
        X, y = data
        return -jnp.mean(jax.nn.log_softmax(predict(p, X))[jnp.arange(X.shape[0]), y])

    W0 = rng.standard_normal((4, 3))
    m64 = from_jax(loss, {"W": W0}, (X, y), predict_fn=predict)
    m32 = from_jax(loss, {"W": W0}, (X, y), predict_fn=predict, dtype="float32")
    ref = SoftmaxRegression(X, y, n_classes=3)
    assert m64.loss(W0.ravel()) == pytest.approx(ref.loss(W0.ravel()), rel=1e-13)
    g32 = m32.grad(W0.ravel())
    err = np.abs(g32 - ref.grad(W0.ravel())).max()
    assert 1e-12 < err < 1e-5  # float32 arithmetic: close, not exact
    assert m32.predict(W0.ravel()).dtype == np.float32
    assert m64.predict(W0.ravel()).dtype == np.float64
    traj = train(m64, m64.w0, GD(lr=0.5), 10, track=(), eval_data=(X[:10], y[:10]))
    assert traj.eval_loss[-1] == pytest.approx(
        SoftmaxRegression(X[:10], y[:10], n_classes=3).loss(traj.w), rel=1e-12)
    acc = np.mean(np.argmax(X[:10] @ traj.w.reshape(4, 3), axis=1) == y[:10])
    assert traj.eval_accuracy[-1] == acc


def test_from_jax_bad_input():
    with pytest.raises(TypeError, match="loss_fn"):
        from_jax(3, {"w": np.zeros(2)}, (np.zeros((3, 2)), np.zeros(3)))
    with pytest.raises(ValueError, match="axis 0"):
        from_jax(lambda p, d: 0.0, {"w": np.zeros(2)}, (np.zeros((3, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match="dtype"):
        from_jax(lambda p, d: 0.0, {"w": np.zeros(2)}, (np.zeros((3, 2)),), dtype="f16")
    model = from_jax(lambda p, d: jnp.sum(p["w"] ** 2), {"w": np.zeros(2)},
                     (np.zeros((3, 2)),))
    with pytest.raises(ValueError, match="n_params=2"):
        model.grad(np.zeros(3))
    with pytest.raises(TypeError, match="predict_fn"):
        model.predict(np.zeros(2))
