"""Golden results of the OT solvers' NumPy paths, recorded before their loops moved onto
one text per loop (``numlearn/ot/_sinkhorn_loop.py`` over the ``Ops`` of
``numlearn/ot/_ops.py``) and onto ``numlearn._monitor.Monitor``.

Integers and statuses are compared exactly; floats bit for bit (``rtol=0``) on the machine
that recorded them, so any changed arithmetic shows. Regenerate with
``python tests/ot/test_ot_golden.py`` only for an intended change of numbers, and say so in
the commit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _problems():
    from numlearn.datasets import ot_gaussian_clouds, ot_grid_1d

    a, b, M = ot_gaussian_clouds(60, 50, random_state=3)
    a1, b1, M1 = ot_grid_1d(40)
    b_z = b.copy()
    b_z[:5] = 0.0
    b_z *= a.sum() / b_z.sum()
    return {"clouds": (a, b, M), "grid": (a1, b1, M1), "zeros": (a, b_z, M)}


def _run(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def _record(res, *names) -> dict:
    rec = {"n_iter": np.asarray(res.n_iter), "status": np.asarray(int(res.status))}
    for name in names:
        rec[name] = np.asarray(getattr(res, name))
    return rec


def _cases() -> dict:
    from numlearn.ot import (sinkhorn, sinkhorn_newton_sparse, sinkhorn_sample,
                             sinkhorn_unbalanced)

    P = _problems()
    out = {}
    main = ("plan", "f", "g", "marginal_error", "cost")
    for pname in ("clouds", "grid", "zeros"):
        a, b, M = P[pname]
        for method in ("auto", "sinkhorn", "sinkhorn_log", "sns"):
            for reg in (5e-2, 2e-3):
                if method == "sinkhorn" and reg < 1e-2:
                    continue
                res = _run(sinkhorn, a, b, M, reg, method=method, return_history=True,
                           max_iter=3000)
                rec = _record(res, *main, "history")
                if method in ("auto", "sns"):
                    rec["counts"] = np.asarray([res.n_sinkhorn_iter, res.n_newton_iter])
                if method == "auto":
                    rec["phases"] = np.asarray(",".join(res.phases))
                out[f"ot_sinkhorn_{method}_{pname}_{reg:g}"] = rec
        res = _run(sinkhorn_newton_sparse, a, b, M, 1e-3, return_history=True)
        out[f"ot_sns_{pname}"] = dict(_record(res, *main, "history"),
                                      counts=np.asarray([res.n_sinkhorn_iter,
                                                         res.n_newton_iter,
                                                         res.n_cg_iter]))
    # a capped run (max_iter) and a float32 cost
    a, b, M = P["clouds"]
    out["ot_sinkhorn_auto_capped"] = _record(_run(sinkhorn, a, b, M, 1e-3, max_iter=30),
                                             *main)
    res = _run(sinkhorn, a, b, M, 1e-4, return_history=True)  # the kernel underflows
    out["ot_sinkhorn_auto_clouds_0.0001"] = dict(
        _record(res, *main, "history"), phases=np.asarray(",".join(res.phases)),
        counts=np.asarray([res.n_sinkhorn_iter, res.n_newton_iter]))
    out["ot_sinkhorn_log_float32"] = _record(
        _run(sinkhorn, a, b, M.astype(np.float32), 5e-2, method="sinkhorn_log"), *main)
    for reg_m, reg in ((0.1, 5e-2), (0.1, 1e-3), (10.0, 5e-2)):
        if True:
            res = _run(sinkhorn_unbalanced, a, b, M, reg, reg_m=reg_m, return_history=True)
            out[f"ot_unbalanced_{reg_m:g}_{reg:g}"] = _record(res, "plan", "f", "g",
                                                              "history")
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((70, 2)), rng.standard_normal((50, 2)) + 1.0
    for reg in (1.0, 0.1):
        res = _run(sinkhorn_sample, X, Y, reg, return_history=True)
        out[f"ot_sample_{reg:g}"] = _record(res, "f", "g", "history")
    return out


@pytest.fixture(scope="module")
def records():
    return _cases()


def _stored_names():
    return sorted(p.stem for p in GOLDEN.glob("ot_*.npz"))


@pytest.mark.parametrize("name", _stored_names())
def test_ot_golden(name, records):
    got = records[name]
    with np.load(GOLDEN / f"{name}.npz") as expected:
        assert sorted(expected.files) == sorted(got)
        for key in expected.files:
            a, b = got[key], expected[key]
            np.testing.assert_array_equal(a, b, err_msg=f"{name}.{key}")


def test_ot_golden_cases_cover_the_solvers(records):
    assert set(records) == set(_stored_names())
    assert len(records) >= 30
    phases = {str(r["phases"]) for r in records.values() if "phases" in r}
    assert {"scaling", "scaling,newton"} <= phases and len(phases) >= 3


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, record in _cases().items():
        np.savez(GOLDEN / f"{name}.npz", **record)
        print("wrote", name, int(record["n_iter"]), int(record["status"]),
              record.get("phases", ""))
