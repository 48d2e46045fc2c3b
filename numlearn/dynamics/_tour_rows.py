"""Tour rows of numlearn.dynamics (wired into :data:`numlearn._tour.ROWS` by the lead).

Tolerances for ``tests/test_tour.py``: ``sharpness`` 1e-8, ``train (catapult)`` 1e-9,
``train (edge of stability)`` 0.1, ``sgd_linear_stability`` 1e-8.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from numlearn._tour_row import TourRow
from numlearn._tour_row import timed as _timed


def _row_sharpness() -> TourRow:
    from numlearn.dynamics import TwoLayerNetwork, sharpness

    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 20))
    model = TwoLayerNetwork(X, rng.standard_normal(100), width=30)
    w = model.init_params(random_state=0)
    res, seconds = _timed(lambda: sharpness(model, w, random_state=0))
    H = model.hessian(w)
    exact = float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    return TourRow("dynamics", "sharpness", "tanh network Hessian", f"p={model.n_params}",
                   f"{res.n_hvp} hvps", seconds, abs(res.sharpness - exact) / exact,
                   "numpy eigvalsh")


def _row_catapult() -> TourRow:
    from numlearn.dynamics import GD, UVModel, ntk_eigenvalue, train

    m = 100
    model = UVModel([[1.0]], [0.0], width=m)
    w0 = model.init_params(random_state=0)
    lam = ntk_eigenvalue(model, w0).eigenvalue
    lr = 3.0 / lam  # the catapult window 2/λ₀ < η < 4/λ₀
    traj, seconds = _timed(lambda: train(model, w0, GD(lr), 40, track=("loss", "ntk")))
    f = float(model.predict(w0)[0])
    fs, lams = [f], [lam]
    for _ in range(40):  # the closed-form recurrences of the uv model
        f, lam = f * (1 - lr * lam + lr**2 * f**2 / m), lam + lr * f**2 / m * (lr * lam - 4)
        fs.append(f)
        lams.append(lam)
    loss_ref = 0.5 * np.asarray(fs) ** 2
    err = max(float(np.max(np.abs(traj.loss - loss_ref)) / np.max(loss_ref)),
              float(np.max(np.abs(traj.ntk - lams)) / lams[0]))
    caught = "catapult" if traj.detect_catapult() else "no catapult"
    return TourRow("dynamics", "train (catapult)", f"uv model, η=3/λ₀: {caught}", f"m={m}",
                   f"{traj.n_iter} steps", seconds, err, "closed-form recurrence")


def _row_edge_of_stability() -> TourRow:
    from numlearn.dynamics import GD, TwoLayerNetwork, train

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10))
    model = TwoLayerNetwork(X, np.sign(X[:, 0] * X[:, 1]), width=32)
    w0 = model.init_params(random_state=1, scale=0.2)
    lr = 6.0
    traj, seconds = _timed(lambda: train(model, w0, GD(lr), 1000, every=10, random_state=0))
    eos = traj.detect_edge_of_stability()
    err = abs(eos.mean_ratio - 1.0) if eos else float("inf")
    return TourRow("dynamics", "train (edge of stability)", "tanh network, GD η=6",
                   f"p={model.n_params}", f"{traj.n_iter} steps, {traj.n_hvp} hvps", seconds,
                   err, "sharpness vs 2/η")


def _row_sgd_stability() -> TourRow:
    from numlearn.dynamics import sgd_linear_stability

    rng = np.random.default_rng(0)
    n, p, B = 12, 6, 3
    g = rng.standard_normal((n, p))
    res, seconds = _timed(lambda: sgd_linear_stability(None, None, None, B, hessians=g))
    Hi = np.einsum("ia,ib->iab", g, g)
    H = Hi.mean(0)
    q = (n - B) / (B * (n - 1))
    eye = np.eye(p)
    C = 0.5 * (np.kron(H, eye) + np.kron(eye, H))
    D = (1 - q) * np.kron(H, H) + q / n * sum(np.kron(h, h) for h in Hi)
    ref = 2.0 / float(np.max(np.linalg.eigvals(np.linalg.pinv(C) @ D).real))
    return TourRow("dynamics", "sgd_linear_stability", f"rank-one H_i, B={B}",
                   f"n={n}, p={p}", "-", seconds, abs(res.threshold - ref) / ref,
                   "dense pinv(C) D")


ROWS: list[tuple[str, str, Callable[[], TourRow]]] = [
    ("dynamics", "sharpness", _row_sharpness),
    ("dynamics", "train (catapult)", _row_catapult),
    ("dynamics", "train (edge of stability)", _row_edge_of_stability),
    ("dynamics", "sgd_linear_stability", _row_sgd_stability),
]
