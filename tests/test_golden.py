"""Golden results of the NumPy paths moved onto the shared skeleton (``numlearn._monitor``)
and the shared namespace helpers: ``n_iter``, status and key arrays recorded before the
move (``tests/golden/*.npz``) must come out the same after it.

Integers and statuses are compared exactly; floats to 1e-13 relative (they were
bit-identical on the machine that recorded them; the tolerance only absorbs another
BLAS). Regenerate with ``python tests/test_golden.py`` only for an intended change of
numbers, and say so in the commit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

GOLDEN = Path(__file__).resolve().parent / "golden"


def _train_cases():
    from numlearn.dynamics import (GD, SGD, LinearRegression, SafeStepGD, SoftmaxRegression,
                                   TwoLayerNetwork, UVModel, ntk_eigenvalue, train)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    out = {}
    net = TwoLayerNetwork(X, np.sin(X[:, 0]), width=8, activation="tanh")
    w0 = net.init_params(random_state=1)
    out["tracked"] = train(net, w0, GD(0.05), 12, every=3, random_state=0,
                           track=("loss", "sharpness", "trace", "ntk", "param_norm",
                                  "step_size"))
    lin = LinearRegression(X, X @ np.arange(1.0, 5.0))
    out["sgd"] = train(lin, np.zeros(4), SGD(0.05, batch_size=5), 40, track="loss",
                       random_state=3)
    seen = []

    def stop(info):
        seen.append(info.step)
        if info.step == 6:
            raise StopIteration

    out["callback"] = train(lin, np.zeros(4), GD(0.05), 40, track="loss", callback=stop)
    y = np.argmax(X[:, :3], axis=1)
    soft = SoftmaxRegression(X, y, n_classes=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["diverged"] = train(soft, np.zeros(soft.n_params), GD(1e4), 50, track="loss",
                                divergence_threshold=10.0)
    out["safe"] = train(soft, np.zeros(soft.n_params), SafeStepGD(1e4), 30,
                        track=("loss", "step_size"))
    uv = UVModel([[1.0]], [0.0], width=50)
    w_uv = uv.init_params(random_state=0)
    lam0 = ntk_eigenvalue(uv, w_uv, random_state=0).eigenvalue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["catapult"] = train(uv, w_uv, GD(3.0 / lam0), 100, track=("loss", "ntk"),
                                random_state=0)
    return out


_TRAIN_ARRAYS = ("steps", "loss", "sharpness", "trace", "ntk", "param_norm", "step_size",
                 "w", "hvps_per_record")


def _train_record(traj) -> dict:
    rec = {name: np.asarray(traj[name]) for name in _TRAIN_ARRAYS}
    rec["n_iter"] = np.asarray(traj.n_iter)
    rec["status"] = np.asarray(int(traj.status))
    rec["n_hvp"] = np.asarray(traj.n_hvp)
    rec["divergence_step"] = np.asarray(-1 if traj.divergence_step is None
                                        else traj.divergence_step)
    return rec


def _tuner_cases():
    from numlearn.datasets import shifted_laplacian_sequence
    from numlearn.tuning import OmegaTuner

    out = {}
    for learner in ("tsallis-inf", "chebcb"):
        seq = shifted_laplacian_sequence(n_systems=25, offset="low", random_state=2)
        tuner = OmegaTuner(learner=learner, context_range=seq.context_range,
                           random_state=0)
        results = tuner.solve_sequence(seq)
        out[learner] = {
            "costs": np.asarray(tuner.costs_),
            "omegas": np.asarray(tuner.omegas_),
            "n_iter": np.asarray([r.n_iter for r in results]),
            "status": np.asarray([int(r.status) for r in results]),
            "x_last": np.asarray(results[-1].x),
        }
    return out


def _records() -> dict[str, dict]:
    records = {f"train_{k}": _train_record(v) for k, v in _train_cases().items()}
    records.update({f"tuner_{k}": v for k, v in _tuner_cases().items()})
    return records


def _compare(name: str, got: dict) -> None:
    path = GOLDEN / f"{name}.npz"
    with np.load(path) as expected:
        assert sorted(expected.files) == sorted(got)
        for key in expected.files:
            a, b = got[key], expected[key]
            if np.issubdtype(b.dtype, np.floating):
                np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, equal_nan=True,
                                           err_msg=f"{name}.{key}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{name}.{key}")


@pytest.fixture(scope="module")
def train_records():
    return {f"train_{k}": _train_record(v) for k, v in _train_cases().items()}


@pytest.mark.parametrize("case", ["tracked", "sgd", "callback", "diverged", "safe",
                                  "catapult"])
def test_train_golden(case, train_records):
    _compare(f"train_{case}", train_records[f"train_{case}"])


def test_train_golden_cases_mean_something(train_records):
    from numlearn._result import Status

    assert train_records["train_callback"]["status"] == int(Status.CALLBACK_STOP)
    assert train_records["train_callback"]["n_iter"] == 6
    assert train_records["train_diverged"]["status"] == int(Status.DIVERGED)
    assert train_records["train_safe"]["status"] == int(Status.SUCCESS)


@pytest.mark.parametrize("learner", ["tsallis-inf", "chebcb"])
def test_tuner_golden(learner):
    _compare(f"tuner_{learner}", _tuner_cases()[learner])


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, record in _records().items():
        np.savez(GOLDEN / f"{name}.npz", **record)
        print("wrote", GOLDEN / f"{name}.npz")
