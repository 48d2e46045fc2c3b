"""numlearn.dynamics on non-NumPy array-API data (array_api_strict on CPU; CuPy on GPU).

Models built from arrays of another namespace compute loss, gradient, Hessian-vector
products, ... in that namespace; they must equal the NumPy models' values (to rounding),
and optimizers, ``train`` and the Hessian tools must reproduce the NumPy runs (same random
draws) with parameters in the input namespace and scalar logs as floats.
"""

import math

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import to_numpy
from numlearn.dynamics import (
    GD,
    SGD,
    DiagonalLinearNetwork,
    LinearRegression,
    LogisticRegression,
    MatrixSensing,
    NormalizedGD,
    PerpGrad,
    QuadraticModel,
    SafeStepGD,
    ScaledGD,
    SecondOrderRegression,
    SoftmaxRegression,
    TwoLayerNetwork,
    TwoLayerReLU,
    UVModel,
    hessian_trace,
    ntk_eigenvalue,
    sgd_linear_stability,
    sharpness,
    softmax_collapse_fraction,
    softmax_radius,
    stablemax,
    train,
)

xps = pytest.importorskip("array_api_strict")
STRICT = type(xps.asarray(0.0))


def _build(name, S, seed=1):
    """The model ``name`` on data converted by ``S`` (identity for NumPy)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, 3))
    y = rng.standard_normal(8)
    J = rng.standard_normal((8, 5))
    Q = rng.standard_normal((8, 5, 5))
    Q = Q + Q.transpose(0, 2, 1)
    B = rng.standard_normal((4, 2))
    A = rng.standard_normal((9, 4, 4))
    if name == "linear":
        return LinearRegression(S(X), S(y))
    if name == "quadratic_shared":
        return QuadraticModel(S(J), S(Q[0]), f0=S(y), w0=S(np.ones(5)), y=S(-y))
    if name == "quadratic":
        return QuadraticModel(S(J), S(Q), y=S(y))
    if name == "second_order":
        return SecondOrderRegression(S(J), S(Q), S(y))
    if name == "uv":
        return UVModel(S(X), S(y), width=4)
    if name == "sensing":
        return MatrixSensing(S(B @ B.T), 3)
    if name == "sensing_measured":
        return MatrixSensing(S(B @ B.T), 2, A=S(A))
    if name == "sensing_asym":
        return MatrixSensing(S(rng.standard_normal((3, 4))), 2, symmetric=False)
    if name == "logistic":
        return LogisticRegression(S(X), S(np.where(y > 0, 1.0, -1.0)))
    if name == "softmax":
        return SoftmaxRegression(S(X), S(np.arange(8) % 3))
    if name == "diagonal":
        return DiagonalLinearNetwork(S(X), S(y))
    if name == "two_layer":
        return TwoLayerNetwork(S(X), S(y), width=6)
    if name == "relu":
        return TwoLayerReLU(S(X), S(y), width=6)
    raise AssertionError(name)


MODELS = ("linear", "quadratic_shared", "quadratic", "second_order", "uv", "sensing",
          "sensing_measured", "sensing_asym", "logistic", "softmax", "diagonal", "two_layer",
          "relu")


def _pair(name):
    return _build(name, lambda a: a), _build(name, xps.asarray)


def _close(a, b, atol=1e-12):
    assert type(b) is STRICT and b.dtype == xps.float64
    np.testing.assert_allclose(to_numpy(b), a, rtol=1e-12, atol=atol)


@pytest.mark.parametrize("name", MODELS)
def test_model_protocol_matches_numpy(name):
    ref, mod = _pair(name)
    w = ref.init_params(random_state=0)
    ws = mod.init_params(random_state=0)
    _close(w, ws, atol=0)
    v = np.random.default_rng(7).standard_normal(ref.n_params)
    vs = xps.asarray(v)
    loss = mod.loss(ws)
    assert type(loss) is float and loss == pytest.approx(ref.loss(w), rel=1e-13, abs=1e-15)
    _close(ref.grad(w), mod.grad(ws))
    _close(ref.hvp(w, v), mod.hvp(ws, vs))
    _close(ref.jvp(w, v), mod.jvp(ws, vs))
    _close(ref.predict(w), mod.predict(ws))
    _close(ref.per_sample_grads(w), mod.per_sample_grads(ws))
    H = mod.hessian(ws)
    _close(ref.hessian(w), H)
    # an independent check: the Hessian-vector product is the derivative of the gradient
    eps = 1e-6
    fd = (to_numpy(mod.grad(ws + eps * vs)) - to_numpy(mod.grad(ws - eps * vs))) / (2 * eps)
    if name != "relu":
        np.testing.assert_allclose(to_numpy(mod.hvp(ws, vs)), fd, rtol=1e-5, atol=1e-6)
    u = np.random.default_rng(8).standard_normal(np.shape(ref.jvp(w, v)))
    _close(ref.vjp(w, u), mod.vjp(ws, xps.asarray(u)))
    if ref.supports_batches:
        batch = np.array([0, 3, 5])
        assert mod.loss(ws, batch) == pytest.approx(ref.loss(w, batch), rel=1e-13)
        _close(ref.grad(w, batch), mod.grad(ws, batch))
        _close(ref.hvp(w, v, batch), mod.hvp(ws, vs, batch))


def test_model_extras_match_numpy():
    ref, mod = _pair("sensing_asym")
    w = ref.init_params(random_state=2)
    ws = mod.init_params(random_state=2)
    assert mod.distance(ws) == pytest.approx(ref.distance(w), rel=1e-13)
    g, gs = ref.grad(w), mod.grad(ws)
    _close(ref.precondition(w, g, 0.1), mod.precondition(ws, gs, 0.1))
    ref, mod = _pair("sensing")
    w = ref.init_params(random_state=2)
    _close(ref.precondition(w, ref.grad(w)), mod.precondition(xps.asarray(w),
                                                              mod.grad(xps.asarray(w))))
    ref, mod = _pair("uv")
    w = ref.init_params(random_state=3)
    assert mod.ntk(xps.asarray(w)) == pytest.approx(ref.ntk(w), rel=1e-13)
    Xn = np.random.default_rng(4).standard_normal((5, 3))
    _close(ref.predict(w, Xn), mod.predict(xps.asarray(w), xps.asarray(Xn)))
    ref, mod = _pair("logistic")
    w = ref.init_params(random_state=3)
    assert mod.normalizer(xps.asarray(w)) == pytest.approx(ref.normalizer(w), rel=1e-13)
    _close(ref.margins(w), mod.margins(xps.asarray(w)))
    ref, mod = _pair("diagonal")
    _close(ref.coef(ref.init_params(scale=0.5)), mod.coef(mod.init_params(scale=0.5)))


def test_logistic_no_overflow_at_large_margins():
    """The generic logistic loss/gradient stay finite and exact far in the tails."""
    X = np.array([[1.0], [-1.0]])
    ref = LogisticRegression(X, [1.0, -1.0])
    mod = LogisticRegression(xps.asarray(X), xps.asarray([1.0, -1.0]))
    for t in (800.0, -800.0, 40.0):
        w = np.array([t])
        assert mod.loss(xps.asarray(w)) == pytest.approx(ref.loss(w), rel=1e-14)
        _close(ref.grad(w), mod.grad(xps.asarray(w)), atol=1e-300)


OPTIMIZERS = (
    ("two_layer", GD(lr=0.3)),
    ("linear", SGD(lr=0.1, batch_size=3)),
    ("logistic", NormalizedGD(lr=0.5)),
    ("sensing_asym", ScaledGD(lr=0.3, damping=0.01)),
    ("softmax", SafeStepGD(lr=5.0)),
    ("softmax", PerpGrad(lr=0.2)),
)


@pytest.mark.parametrize(("name", "opt"), OPTIMIZERS, ids=lambda o: repr(o))
def test_train_matches_numpy(name, opt):
    ref, mod = _pair(name)
    w0 = ref.init_params(random_state=0)
    track = ("loss", "param_norm", "step_size")
    t_ref = train(ref, w0, opt, 25, track=track, random_state=0)
    t_mod = train(mod, xps.asarray(w0), opt, 25, track=track, random_state=0)
    assert t_mod.status is t_ref.status and t_mod.n_iter == t_ref.n_iter == 25
    _close(t_ref.w, t_mod.w, atol=1e-11)
    for key in track:
        assert isinstance(t_mod[key], np.ndarray)
        np.testing.assert_allclose(t_mod[key], t_ref[key], rtol=1e-10, atol=1e-14)
    assert t_mod.loss[-1] < t_mod.loss[0]


def test_train_tracks_sharpness_trace_ntk():
    ref, mod = _pair("two_layer")
    w0 = ref.init_params(random_state=1)
    track = ("loss", "sharpness", "trace", "ntk")
    t_ref = train(ref, w0, GD(lr=0.5), 12, track=track, every=4, random_state=3)
    t_mod = train(mod, xps.asarray(w0), GD(lr=0.5), 12, track=track, every=4, random_state=3)
    np.testing.assert_array_equal(t_mod.steps, [0, 4, 8, 12])
    for key in track:
        np.testing.assert_allclose(t_mod[key], t_ref[key], rtol=1e-8)
    assert t_mod.n_hvp == t_ref.n_hvp
    _close(t_ref.w, t_mod.w)
    # sharpness is the top eigenvalue of the dense Hessian at the final point
    top = np.linalg.eigvalsh(to_numpy(mod.hessian(t_mod.w)))[-1]
    assert t_mod.sharpness[-1] == pytest.approx(top, rel=1e-8)


def test_train_divergence_and_callback():
    ref, mod = _pair("linear")
    w0 = np.zeros(ref.n_params)
    with pytest.warns(ConvergenceWarning):
        t_ref = train(ref, w0, GD(lr=50.0), 40, random_state=0)
    seen = []
    with pytest.warns(ConvergenceWarning):
        t_mod = train(mod, xps.asarray(w0), GD(lr=50.0), 40, random_state=0,
                      callback=seen.append)
    assert t_mod.diverged and t_mod.divergence_step == t_ref.divergence_step
    assert type(seen[0].w) is STRICT and isinstance(seen[0].loss, float)


@pytest.mark.parametrize("name", ["two_layer", "quadratic", "sensing_measured", "softmax"])
def test_sharpness_trace_ntk_match_numpy(name):
    ref, mod = _pair(name)
    w = ref.init_params(random_state=5)
    ws = xps.asarray(w)
    H = ref.hessian(w)
    top = np.linalg.eigvalsh(0.5 * (H + H.T))[-2:]
    s_ref = sharpness(ref, w, k=2, random_state=0)
    s_mod = sharpness(mod, ws, k=2, random_state=0)
    assert type(s_mod.sharpness) is float
    assert s_mod.sharpness == pytest.approx(s_ref.sharpness, rel=1e-10)
    np.testing.assert_allclose(s_mod.eigenvalues, top, rtol=1e-8)
    assert type(s_mod.eigenvectors) is STRICT and s_mod.eigenvectors.shape == (ref.n_params, 2)
    vec = to_numpy(s_mod.eigenvectors[:, 1])
    np.testing.assert_allclose(H @ vec, top[-1] * vec, atol=1e-7 * abs(top[-1]))
    tr_ref = hessian_trace(ref, w, n_samples=30, random_state=0)
    tr_mod = hessian_trace(mod, ws, n_samples=30, random_state=0)
    assert tr_mod.trace == pytest.approx(tr_ref.trace, rel=1e-10)
    exact = hessian_trace(mod, ws, exact=True).trace
    assert type(exact) is float and exact == pytest.approx(np.trace(H), rel=1e-12)
    n_ref, n_mod = ntk_eigenvalue(ref, w, random_state=0), ntk_eigenvalue(mod, ws,
                                                                          random_state=0)
    assert n_mod.eigenvalue == pytest.approx(n_ref.eigenvalue, rel=1e-10)
    assert type(n_mod.eigenvector) is STRICT


def test_tiny_operator_dense_branch():
    """n_params <= k + 1 forms the Hessian densely, in the namespace."""
    ref = LinearRegression(np.diag([1.0, 3.0]), np.zeros(2))
    mod = LinearRegression(xps.asarray(np.diag([1.0, 3.0])), xps.asarray(np.zeros(2)))
    res = sharpness(mod, xps.zeros(2), random_state=0)
    assert res.sharpness == pytest.approx(sharpness(ref, np.zeros(2)).sharpness) == 4.5
    assert type(res.eigenvectors) is STRICT


def test_sgd_linear_stability_on_host():
    ref, mod = _pair("linear")
    w = ref.init_params(random_state=0)
    r_ref = sgd_linear_stability(ref, w, 0.1, batch_size=2, random_state=0)
    r_mod = sgd_linear_stability(mod, xps.asarray(w), 0.1, batch_size=2, random_state=0)
    assert r_mod.threshold == pytest.approx(r_ref.threshold, rel=1e-10)
    assert r_mod.stable == r_ref.stable
    ref, mod = _pair("logistic")
    r_ref = sgd_linear_stability(ref, np.zeros(3), None, batch_size=1, random_state=0)
    r_mod = sgd_linear_stability(mod, xps.zeros(3, dtype=xps.float64), None, batch_size=1,
                                 random_state=0)
    assert r_mod.threshold == pytest.approx(r_ref.threshold, rel=1e-10)


def test_bad_input():
    mod = _build("two_layer", xps.asarray)
    with pytest.raises(TypeError, match="single array library"):
        mod.grad(np.zeros(mod.n_params))
    with pytest.raises(ValueError, match="n_params"):
        mod.grad(xps.zeros(mod.n_params + 1, dtype=xps.float64))
    with pytest.raises(ValueError, match="batch"):
        mod.loss(mod.init_params(), batch=np.array([0, 99]))
    with pytest.raises(ValueError, match="w0"):
        train(mod, xps.full(mod.n_params, math.nan), GD(lr=0.1), 3)
    with pytest.raises(TypeError, match="single array library"):
        LinearRegression(xps.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="y"):
        LinearRegression(xps.ones((3, 2)), xps.ones(4))
    with pytest.raises(ValueError, match="labels"):
        LogisticRegression(xps.ones((3, 2)), xps.asarray([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="integer"):
        SoftmaxRegression(xps.ones((3, 2)), xps.asarray([0.5, 1.0, 0.0]))
    with pytest.raises(ValueError, match="symmetric"):
        MatrixSensing(xps.asarray([[1.0, 2.0], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="H must have shape"):
        QuadraticModel(xps.ones((2, 3)), xps.ones((2, 2)))


@pytest.mark.gpu
@pytest.mark.parametrize("name", MODELS)
def test_cupy_model_matches_numpy(name):
    cupy = pytest.importorskip("cupy")
    ref, mod = _build(name, lambda a: a), _build(name, cupy.asarray)
    w = ref.init_params(random_state=0)
    v = np.random.default_rng(7).standard_normal(ref.n_params)
    ws, vs = cupy.asarray(w), cupy.asarray(v)
    assert isinstance(mod.grad(ws), cupy.ndarray)
    assert mod.loss(ws) == pytest.approx(ref.loss(w), rel=1e-12)
    np.testing.assert_allclose(cupy.asnumpy(mod.grad(ws)), ref.grad(w), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(cupy.asnumpy(mod.hvp(ws, vs)), ref.hvp(w, v), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.gpu
def test_cupy_train_with_sharpness():
    cupy = pytest.importorskip("cupy")
    ref, mod = _build("two_layer", lambda a: a), _build("two_layer", cupy.asarray)
    w0 = ref.init_params(random_state=1)
    track = ("loss", "sharpness")
    t_ref = train(ref, w0, GD(lr=0.5), 20, track=track, every=5, random_state=3)
    t_mod = train(mod, cupy.asarray(w0), GD(lr=0.5), 20, track=track, every=5,
                  random_state=3)
    assert isinstance(t_mod.w, cupy.ndarray)
    np.testing.assert_allclose(t_mod.loss, t_ref.loss, rtol=1e-10)
    np.testing.assert_allclose(t_mod.sharpness, t_ref.sharpness, rtol=1e-8)


def test_softmax_tools_accept_array_api_inputs():
    rng = np.random.default_rng(0)
    a, z = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    assert softmax_radius(xps.asarray(a), xps.asarray(z)) == softmax_radius(a, z)
    x = rng.standard_normal((5, 4)) * 3
    out = stablemax(xps.asarray(x), axis=1)
    assert type(out) is STRICT
    np.testing.assert_allclose(to_numpy(out), stablemax(x, axis=1), rtol=1e-15)
    np.testing.assert_allclose(to_numpy(xps.sum(out, axis=1)), 1.0, rtol=1e-15)
    logits = np.array([[0.0, 20.0], [0.0, 1.0], [0.0, 40.0]], dtype=np.float32)
    frac = softmax_collapse_fraction(xps.asarray(logits))
    assert frac == softmax_collapse_fraction(logits) == pytest.approx(2 / 3)
    z64 = logits.astype(np.float64)  # exp(-40) < eps/2 in float64 too, exp(-20) is not
    assert softmax_collapse_fraction(xps.asarray(z64)) == softmax_collapse_fraction(z64) == 1 / 3
