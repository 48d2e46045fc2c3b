"""Golden results of the completion family's NumPy paths (and the array-API path), recorded
before the engines and loops were restructured (one ``Engine`` base class, the loops on
``numlearn._monitor.Monitor``): ``n_iter``, status, factors, biases and histories must come
out the same after it.

Integers and statuses are compared exactly; floats to 1e-13 relative (bit-identical on the
machine that recorded them; the tolerance only absorbs another BLAS). Regenerate with
``python tests/completion/test_completion_golden.py`` only for an intended change of
numbers, and say so in the commit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

GOLDEN = Path(__file__).resolve().parent / "golden"
if not GOLDEN.is_dir():  # the test file may sit one folder below tests/
    GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def _noisy(m=40, n=30, k=3, frac=0.5, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    M += 0.1 * rng.standard_normal(M.shape)
    rows, cols = np.nonzero(rng.random(M.shape) < frac)
    return (rows, cols, M[rows, cols], M.shape)


def _ratings(n=3000, seed=0):
    from numlearn.completion import make_ratings

    return make_ratings(60, 50, n, rank=3, random_state=seed)


def _result_record(res, names=("U", "V")) -> dict:
    rec = {"n_iter": np.asarray(res.n_iter), "status": np.asarray(int(res.status))}
    for name in names + ("history", "rmse", "row_bias", "col_bias", "mean",
                         "validation_history", "best_iter", "loss"):
        if name in res and res[name] is not None:
            rec[name] = np.asarray(res[name])
    return rec


def _altmin_cases() -> dict:
    from numlearn.completion import altmin

    obs = _noisy()
    users, items, ratings = _ratings()
    robs = (users, items, ratings.astype(float), (60, 50))
    out = {}
    out["plain"] = altmin(obs, 3, tol=1e-10, random_state=0, return_history=True)
    out["reg_cg"] = altmin(obs, 3, reg=0.5, solver="cg", tol=1e-9, random_state=1,
                           return_history=True)
    out["sketch"] = altmin(obs, 3, reg=0.1, solver="sketch", tol=1e-8, random_state=2,
                           return_history=True, max_iter=30)
    out["random_init"] = altmin(obs, 3, reg=0.2, init="random", tol=1e-8, random_state=3,
                                return_history=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["max_iter"] = altmin(obs, 3, max_iter=3, random_state=0, return_history=True)
    out["max_iter_rec"] = None

    seen = []

    def stop(U, V):
        seen.append(1)
        if len(seen) == 2:
            raise StopIteration

    out["callback"] = altmin(obs, 3, random_state=0, callback=stop, return_history=True)
    out["biases_count"] = altmin(robs, 3, reg=0.1, reg_scaling="count", biases=True,
                                 random_state=0, return_history=True, tol=1e-8)
    out["biases_cg"] = altmin(robs, 3, reg=0.1, reg_scaling="count", biases=True,
                              solver="cg", random_state=0, return_history=True, tol=1e-8,
                              max_iter=60)
    out["nonneg"] = altmin(robs, 3, reg=0.1, reg_scaling="count", nonnegative=True,
                           random_state=0, return_history=True, tol=1e-8)
    out["validation"] = altmin(robs, 3, reg=0.05, biases=True, validation_fraction=0.2,
                               n_iter_no_change=3, random_state=0, return_history=True,
                               tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["max_iter_rec"] = altmin(robs, 3, reg=0.1, reg_scaling="count", biases=True,
                                     max_iter=2, random_state=0, return_history=True)
    return {f"altmin_{k}": _result_record(v) for k, v in out.items()}


def _array_api_cases() -> dict:
    import array_api_strict as xps

    from numlearn.completion import altmin

    rows, cols, vals, shape = _noisy()
    xobs = (xps.asarray(rows), xps.asarray(cols), xps.asarray(vals), shape)
    out = {}
    for solver in ("cholesky", "cg"):
        res = altmin(xobs, 3, reg=0.1, solver=solver, tol=1e-9, random_state=0,
                     return_history=True)
        res.U, res.V = np.asarray(res.U), np.asarray(res.V)
        out[f"altmin_xp_{solver}"] = _result_record(res)
    return out


def _estimator_cases() -> dict:
    from numlearn.completion import AltMinCompletion, ImplicitALS

    users, items, ratings = _ratings()
    model = AltMinCompletion(rank=3, biases=True, reg_scaling="count", random_state=0,
                             tol=1e-8).fit((users, items, ratings))
    rec = {"U": model.U_, "V": model.V_, "user_bias": model.user_bias_,
           "item_bias": model.item_bias_, "n_iter": np.asarray(model.n_iter_),
           "history": model.history_}
    rows, cols, vals, shape = _noisy()
    X = np.full(shape, np.nan)
    X[rows, cols] = vals
    dense = AltMinCompletion(rank=3, random_state=0, tol=1e-9).fit(X)
    imp = ImplicitALS(rank=4, random_state=0).fit((users, items, ratings))
    return {
        "estimator_altmin_long": rec,
        "estimator_altmin_dense": {"U": dense.U_, "V": dense.V_,
                                   "n_iter": np.asarray(dense.n_iter_),
                                   "filled": dense.transform(X)},
        "estimator_implicit": {"U": imp.user_factors_, "V": imp.item_factors_,
                               "n_iter": np.asarray(imp.n_iter_)},
    }


def _implicit_cases() -> dict:
    from numlearn.completion import implicit_als

    users, items, ratings = _ratings(seed=1)
    obs = (users, items, ratings.astype(float), (60, 50))
    out = {}
    out["cg"] = implicit_als(obs, 4, random_state=0, return_history=True)
    out["cholesky"] = implicit_als(obs, 4, solver="cholesky", random_state=0,
                                   return_history=True)
    out["float32"] = implicit_als(obs, 4, random_state=0, dtype=np.float32, max_iter=5)
    out["tol"] = implicit_als(obs, 4, random_state=0, tol=1e-3, max_iter=50, reg=0.1,
                              alpha=5.0)

    seen = []

    def stop(X, Y):
        seen.append(1)
        if len(seen) == 3:
            raise StopIteration

    out["callback"] = implicit_als(obs, 4, random_state=0, callback=stop)
    return {f"implicit_{k}": _result_record(v) for k, v in out.items()}


_GROUPS = {"altmin": _altmin_cases, "array_api": _array_api_cases,
           "estimator": _estimator_cases, "implicit": _implicit_cases}


def _compare(name: str, got: dict) -> None:
    with np.load(GOLDEN / f"completion_{name}.npz") as expected:
        assert sorted(expected.files) == sorted(got), name
        for key in expected.files:
            a, b = np.asarray(got[key]), expected[key]
            if np.issubdtype(b.dtype, np.floating):
                np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, equal_nan=True,
                                           err_msg=f"{name}.{key}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{name}.{key}")


def _run(group: str) -> dict:
    with warnings.catch_warnings():  # statuses are recorded: MAX_ITER cases are intended
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _GROUPS[group]()


@pytest.mark.parametrize("group", sorted(_GROUPS))
def test_completion_golden(group):
    records = _run(group)
    stored = sorted(p.name for p in GOLDEN.glob("completion_*.npz"))
    for name, record in records.items():
        assert f"completion_{name}.npz" in stored, name
        _compare(name, record)


def test_golden_cases_mean_something():
    from numlearn._result import Status

    rec = _run("altmin")
    assert rec["altmin_callback"]["status"] == int(Status.CALLBACK_STOP)
    assert rec["altmin_callback"]["n_iter"] == 2
    assert rec["altmin_max_iter"]["status"] == int(Status.MAX_ITER)
    assert rec["altmin_plain"]["status"] == int(Status.SUCCESS)
    assert 0 < rec["altmin_validation"]["best_iter"] <= rec["altmin_validation"]["n_iter"]


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for group in _GROUPS:
        for name, record in _run(group).items():
            np.savez(GOLDEN / f"completion_{name}.npz", **record)
            print("wrote", GOLDEN / f"completion_{name}.npz")
