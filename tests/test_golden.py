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


def _sor_cases():
    """sor's sweep-by-sweep loop (callback / history / verbose; linalg/_sor_loop.py) and
    its one-call path, on a non-symmetric matrix: converged, stopped by the callback,
    out of iterations, diverged, SSOR, checked every 3 sweeps."""
    import scipy.sparse as sp

    from numlearn.datasets import poisson_2d
    from numlearn.linalg import sor

    A = poisson_2d(9) + sp.diags(np.linspace(0.0, 0.5, 80), 1, shape=(81, 81))
    A = A.tocsr()
    b = np.cos(np.arange(81.0))
    x0 = np.linspace(-1.0, 1.0, 81)
    seen = []

    def stop_at_7(xk):
        seen.append(float(xk[3]))
        if len(seen) == 7:
            raise StopIteration

    def quiet(**kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return sor(**kwargs)

    calls = {
        "history": dict(A=A, b=b, omega=1.4, return_history=True),
        "callback": dict(A=A, b=b, omega=1.2, x0=x0, callback=stop_at_7, return_history=True),
        "maxiter": dict(A=A, b=b, omega=1.7, maxiter=15, return_history=True,
                        check_every=4),
        "ssor": dict(A=A, b=b, omega=1.3, x0=x0, symmetric=True, check_every=3,
                     return_history=True),
        "diverged": dict(A=sp.csr_matrix(np.array([[1.0, 3.0], [3.0, 1.0]])),
                         b=np.array([1.0, 2.0]), omega=1.0, return_history=True),
        "one_call": dict(A=A, b=b, omega=1.5, x0=x0, check_every=2),
    }
    out = {}
    for name, kwargs in calls.items():
        res = quiet(**kwargs)
        out[name] = {"n_iter": np.asarray(res.n_iter), "status": np.asarray(int(res.status)),
                     "x": np.asarray(res.x), "residual_norm": np.asarray(res.residual_norm),
                     "history": np.asarray(res.get("history", np.zeros(0)))}
    out["callback"]["seen"] = np.asarray(seen)
    return out


def _cg_cases():
    """cg's loop (linalg/cg.py) on its fused CSR and generic paths: plain, preconditioned,
    stopped by the callback, out of iterations, started from x0, and ssor_cg."""
    from numlearn.datasets import poisson_2d
    from numlearn.linalg import cg, ssor_cg

    A = poisson_2d(12)
    b = np.sin(np.arange(144.0))
    x0 = np.linspace(0.0, 1.0, 144)
    seen = []

    def stop_at_5(xk):
        seen.append(float(xk[7]))
        if len(seen) == 5:
            raise StopIteration

    def jacobi(r):
        return r / 4.0

    calls = {
        "fused": lambda: cg(A, b, rtol=1e-10, return_history=True),
        "dense": lambda: cg(A.toarray(), b, x0=x0, rtol=1e-10, return_history=True),
        "jacobi": lambda: cg(A, b, M=jacobi, rtol=1e-9, return_history=True),
        "callback": lambda: cg(A, b, callback=stop_at_5, return_history=True),
        "maxiter": lambda: cg(A, b, maxiter=6, return_history=True),
        "ssor_cg": lambda: ssor_cg(A, b, 1.4, x0=x0, return_history=True),
    }
    out = {}
    for name, call in calls.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = call()
        out[name] = {"n_iter": np.asarray(res.n_iter), "status": np.asarray(int(res.status)),
                     "x": np.asarray(res.x), "residual_norm": np.asarray(res.residual_norm),
                     "history": np.asarray(res.history)}
    out["callback"]["seen"] = np.asarray(seen)
    return out


def _sketch_and_project_cases():
    """sketch_and_project's loop: row (Kaczmarz, uniform), Gaussian and CountSketch
    sketches, checked every few steps, stopped by the callback, out of iterations."""
    from numlearn.linalg import sketch_and_project

    rng = np.random.default_rng(4)
    A = rng.standard_normal((60, 20))
    b = A @ rng.standard_normal(20)
    seen = []

    def stop_at_3(x):
        seen.append(float(x[2]))
        if len(seen) == 3:
            raise StopIteration

    calls = {
        "rows": dict(sketch="kaczmarz", block_size=4, check_every=5),
        "gaussian": dict(sketch="gaussian", block_size=6, rtol=1e-10),
        "callback": dict(sketch="uniform", block_size=2, callback=stop_at_3),
        "maxiter": dict(sketch="countsketch", block_size=3, maxiter=7, check_every=2),
    }
    out = {}
    for name, kwargs in calls.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = sketch_and_project(A, b, random_state=0, return_history=True, **kwargs)
        out[name] = {"n_iter": np.asarray(res.n_iter), "status": np.asarray(int(res.status)),
                     "x": np.asarray(res.x), "residual_norm": np.asarray(res.residual_norm),
                     "history": np.asarray(res.history)}
    out["callback"]["seen"] = np.asarray(seen)
    return out


def _lanczos_cases():
    """lanczos_eigsh's restarted loop: largest and smallest ends, stopped by the
    callback, out of restarts."""
    from numlearn.datasets import poisson_2d
    from numlearn.linalg import lanczos_eigsh

    A = poisson_2d(15)
    seen = []

    def stop_at_2(info):
        seen.append(float(info.eigenvalues[-1]))
        if info.n_iter == 2:
            raise StopIteration

    calls = {
        "largest": dict(k=3, which="LA"),
        "smallest": dict(k=2, which="SA", ncv=12),
        "callback": dict(k=2, which="SA", ncv=8, callback=stop_at_2),
        "maxiter": dict(k=4, which="SA", ncv=9, maxiter=2),
    }
    out = {}
    for name, kwargs in calls.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            k = kwargs.pop("k")
            res = lanczos_eigsh(A, A.shape[0], k, random_state=0, **kwargs)
        out[name] = {"n_iter": np.asarray(res.n_iter), "status": np.asarray(int(res.status)),
                     "eigenvalues": np.asarray(res.eigenvalues),
                     "residual_estimates": np.asarray(res.residual_estimates),
                     "n_matvec": np.asarray(res.n_matvec)}
    out["callback"]["seen"] = np.asarray(seen)
    return out


def _records() -> dict[str, dict]:
    records = {f"train_{k}": _train_record(v) for k, v in _train_cases().items()}
    records.update({f"tuner_{k}": v for k, v in _tuner_cases().items()})
    records.update({f"sor_{k}": v for k, v in _sor_cases().items()})
    records.update({f"cg_{k}": v for k, v in _cg_cases().items()})
    records.update({f"sketch_and_project_{k}": v
                    for k, v in _sketch_and_project_cases().items()})
    records.update({f"lanczos_{k}": v for k, v in _lanczos_cases().items()})
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


@pytest.fixture(scope="module")
def sor_records():
    return _sor_cases()


@pytest.mark.parametrize("case", ["history", "callback", "maxiter", "ssor", "diverged",
                                  "one_call"])
def test_sor_golden(case, sor_records):
    _compare(f"sor_{case}", sor_records[case])


def test_sor_golden_cases_mean_something(sor_records):
    from numlearn._result import Status

    expected = {"history": Status.SUCCESS, "callback": Status.CALLBACK_STOP,
                "maxiter": Status.MAX_ITER, "ssor": Status.SUCCESS,
                "diverged": Status.DIVERGED, "one_call": Status.SUCCESS}
    for case, status in expected.items():
        assert sor_records[case]["status"] == int(status), case
    assert sor_records["callback"]["n_iter"] == 7
    assert np.isnan(sor_records["maxiter"]["history"][1:4]).all()


@pytest.mark.parametrize("case", ["fused", "dense", "jacobi", "callback", "maxiter",
                                  "ssor_cg"])
def test_cg_golden(case):
    _compare(f"cg_{case}", _cg_cases()[case])


@pytest.mark.parametrize("case", ["rows", "gaussian", "callback", "maxiter"])
def test_sketch_and_project_golden(case):
    _compare(f"sketch_and_project_{case}", _sketch_and_project_cases()[case])


@pytest.mark.parametrize("case", ["largest", "smallest", "callback", "maxiter"])
def test_lanczos_golden(case):
    _compare(f"lanczos_{case}", _lanczos_cases()[case])


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, record in _records().items():
        np.savez(GOLDEN / f"{name}.npz", **record)
        print("wrote", GOLDEN / f"{name}.npz")
