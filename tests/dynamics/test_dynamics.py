"""numlearn.dynamics: exact models, Hessian tools, optimizers, train and the phenomena."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
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
    detect_catapult,
    detect_divergence,
    detect_edge_of_stability,
    hessian_trace,
    ntk_eigenvalue,
    sgd_linear_stability,
    sharpness,
    softmax_collapse_fraction,
    softmax_radius,
    stablemax,
    train,
)


# ---- model factories --------------------------------------------------------------------
def _regression_data(n=7, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _sym(rng, *shape):
    G = rng.standard_normal(shape)
    return (G + np.swapaxes(G, -1, -2)) / 2


def _models():
    rng = np.random.default_rng(1)
    X, y = _regression_data()
    M = rng.standard_normal((4, 2))
    M_sym = M @ M.T
    A = rng.standard_normal((9, 4, 4))
    return {
        "linear": LinearRegression(X, y),
        "quadratic_shared": QuadraticModel(rng.standard_normal((5, 6)), _sym(rng, 6, 6),
                                           f0=rng.standard_normal(5),
                                           w0=rng.standard_normal(6), y=rng.standard_normal(5)),
        "quadratic_per_sample": QuadraticModel(rng.standard_normal((5, 6)),
                                               _sym(rng, 5, 6, 6), y=rng.standard_normal(5)),
        "uv": UVModel(X, y, width=5),
        "second_order": SecondOrderRegression.random(6, 8, random_state=0),
        "sensing_sym_full": MatrixSensing(M_sym, rank=3),
        "sensing_asym_full": MatrixSensing(rng.standard_normal((4, 3)), rank=2,
                                           symmetric=False),
        "sensing_sym_meas": MatrixSensing(M_sym, rank=3, A=A),
        "sensing_asym_meas": MatrixSensing(M, rank=2, symmetric=False,
                                           A=rng.standard_normal((9, 4, 2))),
        "logistic": LogisticRegression(X, np.sign(y)),
        "softmax": SoftmaxRegression(X, rng.integers(0, 3, size=X.shape[0]), n_classes=3),
        "diagonal": DiagonalLinearNetwork(X, y),
        "tanh": TwoLayerNetwork(X, y, width=6, activation="tanh"),
        "relu": TwoLayerReLU(X, y, width=6),
        "stablemax": SoftmaxRegression(X, np.random.default_rng(7).integers(0, 3, X.shape[0]),
                                       n_classes=3, loss="stablemax"),
    }


MODELS = _models()


def _point(model, seed=3):
    return np.random.default_rng(seed).standard_normal(model.n_params)


# ---- exactness of gradients, Hessian-vector products and Jacobian products --------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_grad_matches_finite_differences(name):
    model = MODELS[name]
    w = _point(model)
    h = 1e-6
    eye = np.eye(model.n_params)
    fd = np.array([(model.loss(w + h * e) - model.loss(w - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(model.grad(w), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hvp_matches_finite_differences_and_dense_hessian(name):
    model = MODELS[name]
    w = _point(model)
    v = _point(model, seed=4)
    h = 1e-5
    fd = (model.grad(w + h * v) - model.grad(w - h * v)) / (2 * h)
    hv = model.hvp(w, v)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-7 * np.linalg.norm(fd))
    H = model.hessian(w)
    np.testing.assert_allclose(H, H.T, atol=1e-12 * max(1.0, np.abs(H).max()))
    np.testing.assert_allclose(H @ v, hv, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_jvp_vjp_are_adjoint_and_match_finite_differences(name):
    model = MODELS[name]
    w = _point(model)
    v = _point(model, seed=5)
    h = 1e-6
    if isinstance(model, MatrixSensing):
        f = lambda x: model._forward(x, None)  # noqa: E731  (outputs = measurements)
    else:
        f = lambda x: model.predict(x)  # noqa: E731
    fd = (f(w + h * v) - f(w - h * v)) / (2 * h)
    Jv = model.jvp(w, v)
    np.testing.assert_allclose(Jv, fd, rtol=1e-6, atol=1e-8)
    u = np.random.default_rng(6).standard_normal(np.shape(Jv))
    assert np.isclose(np.sum(u * Jv), model.vjp(w, u) @ v, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(n for n in MODELS if "full" not in n))
def test_per_sample_and_batch_gradients(name):
    model = MODELS[name]
    w = _point(model)
    G = model.per_sample_grads(w)
    assert G.shape == (model.n_samples, model.n_params)
    np.testing.assert_allclose(G.mean(axis=0), model.grad(w), rtol=1e-10, atol=1e-12)
    batch = np.array([0, 2, 3])
    np.testing.assert_allclose(model.grad(w, batch), G[batch].mean(axis=0), rtol=1e-10,
                               atol=1e-12)
    v = _point(model, seed=7)
    h = 1e-5
    fd = (model.grad(w + h * v, batch) - model.grad(w - h * v, batch)) / (2 * h)
    np.testing.assert_allclose(model.hvp(w, v, batch), fd, rtol=1e-6,
                               atol=1e-7 * np.linalg.norm(fd))


def test_quadratic_model_reproduces_the_uv_model():
    m = 4
    H = np.block([[np.zeros((m, m)), np.eye(m)], [np.eye(m), np.zeros((m, m))]]) / np.sqrt(m)
    quad = QuadraticModel(np.zeros(2 * m), H)
    uv = UVModel([[1.0]], [0.0], width=m)
    w = _point(uv)
    assert np.isclose(quad.loss(w), uv.loss(w), rtol=1e-14)
    np.testing.assert_allclose(quad.grad(w), uv.grad(w), rtol=1e-13)
    np.testing.assert_allclose(quad.hvp(w, w[::-1]), uv.hvp(w, w[::-1]), rtol=1e-13)


def test_closed_forms_of_simple_models():
    X, y = _regression_data()
    w = _point(LinearRegression(X, y))
    lin = LinearRegression(X, y)
    assert np.isclose(lin.loss(w), np.sum((X @ w - y) ** 2) / (2 * len(y)))
    np.testing.assert_allclose(lin.hessian(w), X.T @ X / len(y), rtol=1e-12)
    logit = LogisticRegression(X, np.sign(y))
    assert np.isclose(logit.loss(w), np.mean(np.log1p(np.exp(-np.sign(y) * (X @ w)))))
    # labels {0, 1} are the same as {-1, +1}
    assert logit.loss(w) == LogisticRegression(X, (np.sign(y) + 1) / 2).loss(w)
    soft = SoftmaxRegression(X, [0, 1, 2, 0, 1, 2, 0])
    W = _point(soft).reshape(4, 3)
    Z = X @ W
    ref = np.mean(np.log(np.exp(Z).sum(1)) - Z[np.arange(7), [0, 1, 2, 0, 1, 2, 0]])
    assert np.isclose(soft.loss(W.ravel()), ref, rtol=1e-12)
    dln = DiagonalLinearNetwork(X, y)
    u = _point(dln)
    np.testing.assert_allclose(dln.predict(u), X @ dln.coef(u))
    M = np.diag([2.0, 1.0, 0.0])
    sens = MatrixSensing(M, rank=2)
    Xf = np.array([[np.sqrt(2.0), 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert sens.loss(Xf.ravel()) < 1e-30 and sens.distance(Xf.ravel()) < 1e-15


# ---- Hessian tools ----------------------------------------------------------------------
def test_sharpness_agrees_with_dense_eigh():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 30))
    model = TwoLayerNetwork(X, rng.standard_normal(60), width=8)
    w = model.init_params(random_state=0)
    H = model.hessian(w)
    exact = np.linalg.eigvalsh(0.5 * (H + H.T))
    res = sharpness(model, w, k=3, random_state=0)
    assert res.converged
    np.testing.assert_allclose(res.eigenvalues, exact[-3:], rtol=1e-8)
    assert abs(res.sharpness - exact[-1]) <= 1e-8 * abs(exact[-1])
    # warm start from the eigenvector: fewer products
    warm = sharpness(model, w, v0=res.eigenvectors[:, -1])
    assert warm.n_hvp < res.n_hvp and abs(warm.sharpness - exact[-1]) <= 1e-8 * exact[-1]


def test_sharpness_of_tiny_models_and_linear_regression():
    model = LinearRegression(np.array([[1.0, 0.0], [0.0, 3.0]]), np.zeros(2))
    assert np.isclose(sharpness(model, np.zeros(2)).sharpness, 4.5)  # 9 / 2: mean loss
    assert np.isclose(sharpness(model, np.zeros(2), k=2).eigenvalues[0], 0.5)


def test_hessian_trace_exact_and_estimated():
    model = MODELS["tanh"]
    w = _point(model)
    exact = float(np.trace(model.hessian(w)))
    assert np.isclose(hessian_trace(model, w, exact=True).trace, exact, rtol=1e-12)
    est = hessian_trace(model, w, n_samples=3 * model.n_params, random_state=0)
    assert abs(est.trace - exact) <= 1e-8 * abs(exact)  # Hutch++ sketching all of R^n: exact
    est = hessian_trace(model, w, n_samples=30, method="hutchinson", random_state=0)
    assert abs(est.trace - exact) <= 5 * est.std_error + 1e-12


@pytest.mark.parametrize("name", ["uv", "tanh", "quadratic_per_sample", "sensing_sym_meas"])
def test_ntk_eigenvalue_matches_the_jacobian(name):
    model = MODELS[name]
    w = _point(model)
    J = model.jacobian(w)
    ref = np.linalg.eigvalsh(J @ J.T / model.n_samples)[-1]
    assert np.isclose(ntk_eigenvalue(model, w, random_state=0).eigenvalue, ref, rtol=1e-8)


# ---- phenomenon: quadratic loss, GD converges iff lr < 2 / λ_max --------------------------
def test_gd_on_quadratic_converges_iff_lr_below_two_over_lambda_max():
    X, y = _regression_data(n=30, d=5, seed=4)
    model = LinearRegression(X, y)
    lam = np.linalg.eigvalsh(X.T @ X / len(y))[-1]  # mean loss: the 1/n matters
    w0 = np.zeros(5)
    below = train(model, w0, GD(0.98 * 2 / lam), 3000, track=("loss", "sharpness"), every=100,
                  random_state=0)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    assert below.converged and np.allclose(below.w, w_star, atol=1e-8)
    assert np.isclose(below.sharpness[0], lam, rtol=1e-6)
    with pytest.warns(ConvergenceWarning, match="train"):
        above = train(model, w0, GD(1.02 * 2 / lam), 3000, track="loss")
    assert above.diverged and above.status is Status.DIVERGED
    assert above.divergence_step == above.detect_divergence()


# ---- phenomenon: the catapult ----------------------------------------------------------
def test_uv_model_follows_the_catapult_recurrences():
    m = 50
    model = UVModel([[1.0]], [0.0], width=m)
    w = model.init_params(random_state=0)
    eta = 3.0 / ntk_eigenvalue(model, w).eigenvalue
    f = float(model.predict(w)[0])
    lam = float(w @ w) / m
    for _ in range(15):
        w = GD(eta).step(model, w, None)[0]
        f, lam = f * (1 - eta * lam + eta**2 * f**2 / m), lam + eta * f**2 / m * (eta * lam - 4)
        assert np.isclose(model.predict(w)[0], f, rtol=1e-9, atol=1e-12)
        assert np.isclose(float(w @ w) / m, lam, rtol=1e-9)
        assert np.isclose(ntk_eigenvalue(model, w).eigenvalue, lam, rtol=1e-9)


def _three_regimes(model, w0, lam0):
    out = {}
    for c in (1.5, 3.0, 5.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out[c] = train(model, w0, GD(c / lam0), 150, track=("loss", "ntk"), random_state=0)
    lazy, catapult, diverge = out[1.5], out[3.0], out[5.0]
    lr = 3.0 / lam0
    assert not lazy.detect_catapult() and lazy.loss[-1] < 1e-10 * lazy.loss[0]
    assert np.all(np.diff(lazy.loss) <= 1e-30)  # monotone decrease (to rounding)
    assert abs(lazy.ntk[-1] - lam0) < 0.2 * lam0  # lazy: the kernel barely moves
    event = catapult.detect_catapult()
    assert event and event.peak_loss > 5 * catapult.loss[0]
    assert catapult.loss[-1] < 1e-10 * catapult.loss[0]
    assert catapult.ntk[-1] < 2 / lr < lam0  # the kernel dropped below 2 / lr
    assert diverge.diverged and not diverge.detect_catapult()


def test_catapult_three_regimes_on_the_uv_model():
    model = UVModel([[1.0]], [0.0], width=100)
    w0 = model.init_params(random_state=0)
    _three_regimes(model, w0, ntk_eigenvalue(model, w0).eigenvalue)


def test_catapult_three_regimes_on_a_quadratic_model():
    # A random neural quadratic model of width m: f = J d + ½ dᵀ H d with H of norm ~ 1/√m.
    rng = np.random.default_rng(0)
    m = 200
    J = rng.standard_normal(m) / np.sqrt(m)
    H = _sym(rng, m, m) / m
    model = QuadraticModel(J, H, y=[1.0])
    w0 = np.zeros(m)
    lam0 = ntk_eigenvalue(model, w0).eigenvalue
    assert np.isclose(lam0, J @ J)
    _three_regimes(model, w0, lam0)


# ---- phenomenon: progressive sharpening and the edge of stability -----------------------
def test_progressive_sharpening_then_edge_of_stability():
    # Full-batch GD, MSE, a width-32 tanh network on 200 points of the XOR-like target
    # sign(x1 x2), small initialization (scale 0.2), lr = 4: the example's setting.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10))
    y = np.sign(X[:, 0] * X[:, 1])
    model = TwoLayerNetwork(X, y, width=32, activation="tanh")
    w0 = model.init_params(random_state=1, scale=0.2)
    lr = 4.0
    traj = train(model, w0, GD(lr), 800, every=20, random_state=0)
    ratio = traj.sharpness * lr / 2
    assert ratio[0] < 0.2  # starts far below the edge
    eos = traj.detect_edge_of_stability()
    assert eos and 3 <= eos.reached <= 20  # sharpening takes 60-400 steps
    assert np.all(np.diff(ratio[: eos.reached]) > -0.05)  # it rises (progressive sharpening)
    assert eos.fraction_in_band >= 0.8 and 0.97 <= eos.mean_ratio <= 1.1  # hovers at 2/lr
    tail = traj.loss[eos.reached:]
    assert tail[-1] < 0.3 * tail[0]  # the loss keeps decreasing ...
    assert np.any(np.diff(traj.loss) > 0)  # ... non-monotonically


def test_second_order_regression_sharpens_to_the_edge():
    # Agarwala et al.'s model z = Jθ + ½Q(θ, θ), 20 outputs, 100 parameters, θ0 = 0,
    # lr = 1.5 / sharpness(θ0): the sharpness rises from 0.75 (2/lr) to the edge and stays.
    model = SecondOrderRegression.random(20, 100, curvature=1.0, random_state=0)
    w0 = np.zeros(100)
    lr = 1.5 / sharpness(model, w0).sharpness
    traj = train(model, w0, GD(lr), 300, every=5, random_state=0)
    ratio = traj.sharpness * lr / 2
    assert np.isclose(ratio[0], 0.75)
    eos = traj.detect_edge_of_stability(band=0.05)
    assert eos and abs(eos.mean_ratio - 1) < 0.03
    assert abs(np.mean(ratio[-20:]) - 1) < 0.02
    assert traj.loss[-1] < 1e-5 * traj.loss[0]


# ---- phenomenon: matrix sensing rates -------------------------------------------------
def _sensing_errors(model, steps, alpha, lr=0.2, optimizer=None):
    w = model.init_params(random_state=3, scale=alpha)
    opt = optimizer or GD(lr)
    errors = []
    for _ in range(steps):
        errors.append(model.distance(w))
        w = opt.step(model, w, None)[0]
    return np.array(errors)


def test_matrix_sensing_overparameterization_slows_symmetric_gd():
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((10, 2)))[0]
    M = U @ np.diag([1.0, 0.5]) @ U.T
    exact = _sensing_errors(MatrixSensing(M, rank=2), 3000, 0.3)
    over = _sensing_errors(MatrixSensing(M, rank=4), 3000, 0.3)
    asym = _sensing_errors(MatrixSensing(M, rank=4, symmetric=False), 3000, 0.3)
    assert exact[300] < 1e-12  # exact rank: linear
    assert asym[2000] < 1e-10 and asym[1000] < 1e-3 * asym[300]  # asymmetric: linear
    # symmetric over-parameterized: a power law, error ~ 1/T (loss ~ 1/T²)
    slope = np.log(over[2999] / over[999]) / np.log(3.0)
    assert -1.3 < slope < -0.7 and over[2999] > 1e-4
    # ScaledGD fixes it
    scaled = _sensing_errors(MatrixSensing(M, rank=4), 1000, 0.3,
                             optimizer=ScaledGD(0.2, damping=1e-6))
    assert scaled[999] < 1e-2 * over[999]


def test_scaled_gd_is_insensitive_to_conditioning():
    rng = np.random.default_rng(1)
    U = np.linalg.qr(rng.standard_normal((8, 2)))[0]
    noise = 1e-3 * rng.standard_normal((8, 2))
    for kappa in (10.0, 1000.0):
        M = U @ np.diag([1.0, 1.0 / kappa]) @ U.T
        model = MatrixSensing(M, rank=2)
        w0 = (U @ np.diag([1.2, 0.8 / np.sqrt(kappa)]) + noise).ravel()  # a nearby start
        w, v = w0.copy(), w0.copy()
        for _ in range(60):
            w = ScaledGD(0.25).step(model, w, None)[0]
            v = GD(0.25).step(model, v, None)[0]
        assert model.distance(w) < 1e-10 * np.linalg.norm(M)  # same speed for every kappa
        if kappa > 100:
            assert model.distance(v) > 1e-4  # plain GD slows down with the conditioning


# ---- phenomenon: logistic regression, the perceptron and normalized LR+GD -----------------
def _separable(n=200, d=10, margin=0.02, seed=0):
    rng = np.random.default_rng(seed)
    w_star = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    s = X @ w_star / np.linalg.norm(w_star)
    keep = np.abs(s) > margin
    return X[keep], np.sign(s[keep])


def test_huge_step_logistic_regression_is_the_batch_perceptron():
    X, y = _separable()
    model = LogisticRegression(X, y)
    n = len(y)
    lr = 1e7
    w = np.zeros(X.shape[1])
    p = X.T @ y / (2 * n)  # σ(0) = 1/2 at the first step
    for t in range(100):
        w = GD(lr).step(model, w, None)[0]
        if t > 0:
            wrong = y * (X @ p) <= 0
            p = p + X[wrong].T @ y[wrong] / n  # batch perceptron step
        np.testing.assert_allclose(w / lr, p, rtol=1e-9, atol=1e-12)
        if np.all(model.margins(w) > 0):
            break
    assert np.all(y * (X @ p) > 0) and t >= 3


@pytest.mark.parametrize("lr", [1.0, 10.0])
def test_normalized_gd_separates_faster_than_lr_gd(lr):
    X, y = _separable()
    model = LogisticRegression(X, y)

    def iterations_to_separate(opt):
        w = np.zeros(X.shape[1])
        for t in range(20000):
            if np.all(model.margins(w) > 0):
                return t
            w = opt.step(model, w, None)[0]
        return 20000

    plain, normalized = iterations_to_separate(GD(lr)), iterations_to_separate(NormalizedGD(lr))
    assert normalized < plain / 5  # measured: 180 vs 8739 (lr=1), 77 vs 869 (lr=10)


# ---- SGD linear stability ---------------------------------------------------------------
def _dense_threshold(Hi, B):
    n, p = Hi.shape[0], Hi.shape[1]
    q = (n - B) / (B * (n - 1))
    H = Hi.mean(0)
    eye = np.eye(p)
    C = 0.5 * (np.kron(H, eye) + np.kron(eye, H))
    D = (1 - q) * np.kron(H, H) + q / n * sum(np.kron(h, h) for h in Hi)
    return 2 / np.max(np.linalg.eigvals(np.linalg.pinv(C) @ D).real)


def _brute_force_threshold(Hi, B):
    """Largest η whose exact second-moment map E[(I - ηH_B) ⊗ (I - ηH_B)] is stable."""
    n, p = Hi.shape[0], Hi.shape[1]
    batches = [Hi[list(b)].mean(0) for b in itertools.combinations(range(n), B)]

    def radius(eta):
        T = sum(np.kron(np.eye(p) - eta * Hb, np.eye(p) - eta * Hb) for Hb in batches)
        return np.max(np.abs(np.linalg.eigvals(T / len(batches))))

    lo, hi = 0.0, 10.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if radius(mid) <= 1 + 1e-12 else (lo, mid)
    return lo


@pytest.mark.parametrize("B", [1, 2, 3, 6])
def test_sgd_linear_stability_matches_dense_formula_and_brute_force(B):
    g = np.random.default_rng(0).standard_normal((6, 3))
    Hi = np.einsum("ia,ib->iab", g, g)
    res = sgd_linear_stability(None, None, 0.3, B, hessians=g)
    assert np.isclose(res.threshold, _dense_threshold(Hi, B), rtol=1e-8)
    assert np.isclose(res.threshold, _brute_force_threshold(Hi, B), rtol=1e-6)
    full = sgd_linear_stability(None, None, 0.3, B, hessians=Hi)  # the (n, p, p) path
    assert np.isclose(full.threshold, res.threshold, rtol=1e-8)
    assert res.stable == (0.3 <= res.threshold)


def test_sgd_linear_stability_limits_and_monotonicity():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((10, 4)) * rng.exponential(size=(10, 1))
    H = g.T @ g / 10
    thresholds = [sgd_linear_stability(None, None, None, B, hessians=g).threshold
                  for B in range(1, 11)]
    assert np.all(np.diff(thresholds) >= -1e-10)  # non-decreasing in B
    assert np.isclose(thresholds[-1], 2 / np.linalg.eigvalsh(H)[-1], rtol=1e-8)  # B = n: GD
    assert thresholds[0] <= 2 / np.trace(H) * (1 + 1e-10)  # B = 1: tr(H) <= 2/η necessary
    # B = 1, orthogonal rank-one Hessians of equal norm: exactly tr(H) <= 2/η
    Q = np.linalg.qr(rng.standard_normal((7, 5)))[0]
    g = 1.5 * Q.T
    res = sgd_linear_stability(None, None, None, 1, hessians=g)
    assert np.isclose(res.threshold, 2 / np.trace(g.T @ g / 5), rtol=1e-8)


def test_sgd_linear_stability_from_a_model():
    # At an interpolating minimum of least squares the per-sample Hessians are x_i x_iᵀ.
    X = np.random.default_rng(2).standard_normal((8, 3))
    model = LinearRegression(X, X @ np.ones(3))
    res = sgd_linear_stability(model, np.ones(3), 0.1, 2)
    ref = sgd_linear_stability(None, None, 0.1, 2, hessians=X)
    assert np.isclose(res.threshold, ref.threshold, rtol=1e-10)
    logit = LogisticRegression(X, np.sign(X[:, 0]))  # exact per-sample Hessians
    w = np.full(3, 0.1)
    Hi = np.stack([logit.hessian(w, batch=np.array([i])) for i in range(8)])
    res = sgd_linear_stability(logit, w, None, 3)
    assert np.isclose(res.threshold, _dense_threshold(Hi, 3), rtol=1e-8)


# ---- softmax radius, SafeStepGD, StableMax, collapse, ⊥Grad -------------------------------
def test_softmax_radius_formulas():
    a = np.array([[0.0, 2.0, -1.0], [0.5, 0.0, 0.2]])
    assert np.isclose(softmax_radius(a), np.pi / 3)  # min over samples of π / spread
    delta, da = 1.3, 0.7
    r = softmax_radius([da, 0.0], logits=[delta, 0.0])
    t = (1j * np.pi - delta) / da  # 1 + exp(δ + t Δa) = 0: the nearest complex singularity
    assert np.isclose(np.exp(delta + t * da), -1.0)
    assert np.isclose(r, abs(t))
    assert softmax_radius([1.0, 1.0]) == np.inf


def test_safe_step_gd_survives_learning_rate_spikes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 5))
    y = np.argmax(X[:, :3], axis=1)
    model = SoftmaxRegression(X, y, n_classes=3)
    w0 = np.zeros(model.n_params)
    with pytest.warns(ConvergenceWarning):
        plain = train(model, w0, GD(1e4), 50, track="loss", divergence_threshold=10.0)
    assert plain.diverged
    safe = train(model, w0, SafeStepGD(1e4), 50, track=("loss", "step_size"))
    assert safe.converged and safe.loss[-1] < 0.5 * safe.loss[0]
    assert np.all(safe.step_size[:-1] < 1e4)  # every step was capped
    binary = LogisticRegression(X, np.sign(X[:, 0]))
    traj = train(binary, np.zeros(5), SafeStepGD(1e4), 30, track="loss")
    assert traj.loss[-1] < 0.1 * traj.loss[0]


def test_stablemax_and_softmax_collapse():
    x = np.array([[2.0, -1.0, 0.0]])
    np.testing.assert_allclose(stablemax(x), [[3.0, 0.5, 1.0]] / np.float64(4.5))
    big = np.array([[0.0, 100.0]])
    assert stablemax(big)[0, 0] > 0  # no collapse to one-hot
    z = np.array([[0.0, 10.0], [0.0, 20.0], [0.0, 40.0], [0.0, 1.0]])
    # float32 collapses once exp(-gap) < 2^-24 (gap > 16.6), float64 once gap > 36.7
    assert softmax_collapse_fraction(z.astype(np.float32)) == 0.5
    assert softmax_collapse_fraction(z) == 0.25


def test_perp_grad_removes_the_radial_component():
    model = MODELS["softmax"]
    w = _point(model)
    g = model.grad(w)
    w_new, lr = PerpGrad(0.1).step(model, w, None)
    step = w_new - w
    assert abs(step @ w) < 1e-12 * np.linalg.norm(step) * np.linalg.norm(w)
    assert np.isclose(np.linalg.norm(step), 0.1 * np.linalg.norm(g))


# ---- train mechanics --------------------------------------------------------------------
def test_train_records_and_tracks():
    model = MODELS["tanh"]
    w0 = _point(model)
    traj = train(model, w0, GD(0.05), 10, every=3,
                 track=("loss", "sharpness", "trace", "ntk", "param_norm", "step_size"),
                 random_state=0)
    np.testing.assert_array_equal(traj.steps, [0, 3, 6, 9, 10])
    w = w0.copy()
    for _ in range(10):
        w = w - 0.05 * model.grad(w)
    np.testing.assert_allclose(traj.w, w, rtol=1e-13)
    assert np.isclose(traj.loss[-1], model.loss(w))
    H = model.hessian(w)
    assert np.isclose(traj.sharpness[-1], np.linalg.eigvalsh(H)[-1], rtol=1e-6)
    assert np.isclose(traj.trace[-1], np.trace(H), rtol=0.05)
    assert np.isclose(traj.param_norm[-1], np.linalg.norm(w))
    np.testing.assert_allclose(traj.step_size[:-1], 0.05)
    assert np.isnan(traj.step_size[-1])
    assert traj.hvps_per_record.sum() == traj.n_hvp
    assert np.isclose(traj.ntk[-1], ntk_eigenvalue(model, w).eigenvalue, rtol=1e-6)


def test_train_sgd_is_reproducible_and_callback_stops(capsys):
    model = MODELS["linear"]
    w0 = np.zeros(model.n_params)
    a = train(model, w0, SGD(0.05, batch_size=2), 20, track="loss", random_state=0)
    b = train(model, w0, SGD(0.05, batch_size=2), 20, track="loss", random_state=0)
    np.testing.assert_array_equal(a.w, b.w)
    seen = []

    def stop(info):
        seen.append(info.step)
        if info.step == 4:
            raise StopIteration

    c = train(model, w0, GD(0.05), 20, track="loss", callback=stop, verbose=2)
    assert c.status is Status.CALLBACK_STOP and seen == [0, 1, 2, 3, 4] and c.n_iter == 4
    assert "train: iter 4" in capsys.readouterr().out


def test_sharpness_tracking_costs_at_most_ten_hvps_per_step_when_warm():
    # A 10^5-parameter ReLU network: the warm-started tracking Lanczos needs ncv + 1 = 10.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 100))
    model = TwoLayerReLU(X, rng.standard_normal(20), width=1000)
    assert model.n_params == 101_000
    w0 = model.init_params(random_state=0)
    traj = train(model, w0, GD(0.5), 8, random_state=0)
    warm = traj.hvps_per_record[1:]
    assert np.median(warm) <= 10 and np.mean(warm) <= 11


def test_detectors():
    assert detect_divergence([1.0, 2.0, 3.0]) is None
    assert detect_divergence([1.0, 2.0, np.inf]) == 2
    assert detect_divergence([1.0, 20.0], threshold=10.0) == 1
    cat = detect_catapult([1.0, 2.0, 10.0, 0.5, 0.1])
    assert cat and (cat.start, cat.peak, cat.end) == (1, 2, 3)
    assert not detect_catapult([1.0, 2.0, 10.0, 20.0])  # never comes back
    assert not detect_catapult([1.0, 0.5, 0.1]) and detect_catapult([1.0, 0.5]).peak is None
    eos = detect_edge_of_stability([0.2, 0.5, 0.95, 1.02, 0.99, 1.01], lr=2.0)
    assert eos and eos.reached == 2 and eos.fraction_in_band == 1.0
    assert not detect_edge_of_stability([0.2, 0.95, 0.5, 0.4], lr=2.0)


# ---- bad input ------------------------------------------------------------------------
def test_bad_model_inputs():
    X, y = _regression_data()
    with pytest.raises(ValueError, match="y must have one entry"):
        LinearRegression(X, y[:-1])
    with pytest.raises(ValueError, match="X contains NaN"):
        LinearRegression(np.full((3, 2), np.nan), np.zeros(3))
    with pytest.raises(ValueError, match="width must be >= 1"):
        UVModel(X, y, width=0)
    with pytest.raises(ValueError, match="activation"):
        TwoLayerNetwork(X, y, 3, activation="sigmoid")
    with pytest.raises(ValueError, match="H must have shape"):
        QuadraticModel(np.ones((2, 3)), np.eye(4))
    with pytest.raises(ValueError, match="symmetric"):
        MatrixSensing(np.arange(4.0).reshape(2, 2), rank=1)
    with pytest.raises(ValueError, match="A must have shape"):
        MatrixSensing(np.eye(2), rank=1, A=np.ones((3, 2, 3)))
    with pytest.raises(ValueError, match="labels"):
        LogisticRegression(X, np.arange(len(y)))
    with pytest.raises(ValueError, match="integer class labels"):
        SoftmaxRegression(X, np.linspace(0, 1, len(y)))
    model = LinearRegression(X, y)
    with pytest.raises(ValueError, match="w must be a vector of length n_params=4"):
        model.loss(np.zeros(3))
    with pytest.raises(ValueError, match="v must be a vector"):
        model.hvp(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="batch indices"):
        model.grad(np.zeros(4), batch=np.array([0, 99]))
    with pytest.raises(ValueError, match="mini-batches"):
        MatrixSensing(np.eye(2), rank=1).grad(np.zeros(2), batch=np.array([0]))


def test_bad_optimizer_and_train_inputs():
    model = LinearRegression(*_regression_data())
    w0 = np.zeros(4)
    with pytest.raises(ValueError, match="lr must be > 0"):
        GD(0.0)
    with pytest.raises(TypeError, match="lr must be a real number"):
        GD("fast")
    with pytest.raises(TypeError, match="precondition"):
        train(model, w0, ScaledGD(0.1), 3)
    with pytest.raises(ValueError, match="batch_size=99"):
        train(model, w0, SGD(0.1, batch_size=99), 3)
    with pytest.raises(ValueError, match="track entries"):
        train(model, w0, GD(0.1), 3, track=("loss", "curvature"))
    with pytest.raises(ValueError, match="n_steps must be >= 0"):
        train(model, w0, GD(0.1), -1)
    with pytest.raises(ValueError, match="w0 must be a vector"):
        train(model, np.zeros(5), GD(0.1), 3)
    with pytest.raises(ValueError, match="w0 contains NaN"):
        train(model, np.full(4, np.nan), GD(0.1), 3)
    with pytest.raises(ValueError, match="w contains NaN"):
        sharpness(model, np.full(4, np.nan))
    with pytest.raises(ValueError, match="v0 must be a vector of length 4"):
        sharpness(model, w0, v0=np.ones(3))
    with pytest.raises(TypeError, match="optimizer must have a step"):
        train(model, w0, "gd", 3)
    with pytest.raises(TypeError, match="model protocol"):
        sharpness(object(), w0)
    with pytest.raises(ValueError, match="batch_size must be <= 6"):
        sgd_linear_stability(None, None, 0.1, 7, hessians=np.ones((6, 2)))
    with pytest.raises(ValueError, match="hessians must have shape"):
        sgd_linear_stability(None, None, 0.1, 1, hessians=np.ones((6, 2, 3)))
    with pytest.raises(ValueError, match="n_classes >= 2"):
        softmax_radius([1.0])
    with pytest.raises(ValueError, match="logits must have shape"):
        softmax_radius([[1.0, 2.0]], logits=[[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="lr must be > 0"):
        detect_edge_of_stability([1.0], lr=0.0)


def test_activation_cache_is_not_stale():
    model = TwoLayerNetwork(*_regression_data(), width=5)
    w = _point(model)
    g1 = model.grad(w)
    w += 0.5  # mutate in place: the cache must notice
    fresh = TwoLayerNetwork(*_regression_data(), width=5)
    np.testing.assert_array_equal(model.grad(w), fresh.grad(w))
    assert not np.allclose(model.grad(w), g1)
    np.testing.assert_array_equal(model.grad(w, np.array([1, 2])),
                                  fresh.grad(w, np.array([1, 2])))


def test_tour_rows_are_accurate():
    from numlearn.dynamics._tour_rows import ROWS

    tolerances = {"sharpness": 1e-8, "train (catapult)": 1e-9,
                  "train (edge of stability)": 0.1, "sgd_linear_stability": 1e-8}
    assert {solver for _, solver, _ in ROWS} == set(tolerances)
    for _, solver, make in ROWS:
        row = make()
        assert row.error <= tolerances[solver], (solver, row.error)
