"""Golden results of the optimize loop (``minimize_eq`` and ``minimize_constrained``, NumPy
path) recorded before it moved onto the shared skeleton ``numlearn._monitor.Monitor``:
``n_iter``, status, iterates, multipliers, KKT history and evaluation counts must come
out the same after the move (``tests/golden/optimize_*.npz``).

Integers and statuses are compared exactly; floats to 1e-13 relative (bit-identical on
the machine that recorded them; the tolerance only absorbs another BLAS). Regenerate
with ``python tests/optimize/test_optimize_golden.py`` only for an intended change of numbers,
and say so in the commit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import LinearConstraint
from sklearn.exceptions import ConvergenceWarning

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

_EQ_CASES = {  # name: (problem, keywords)
    "eq_hs26_direct": ("HS26", {"sketch": "direct"}),
    "eq_hs46_kaczmarz": ("HS46", {"sketch": "kaczmarz"}),
    "eq_hs77_gaussian": ("HS77", {"sketch": "gaussian"}),
    "eq_hs56_countsketch": ("HS56", {"sketch": "countsketch"}),
    "eq_hs49_maxiter": ("HS49", {"sketch": "direct", "maxiter": 5}),
}
_CON_CASES = ("HS21", "HS71", "HS76", "HS118", "nnls")


def _record(res) -> dict:
    rec = {key: np.asarray(res[key]) for key in ("x", "v", "history", "fun", "kkt_norm",
                                                 "nfev", "njev", "nhev", "n_inner")
           if not isinstance(res[key], list)}
    if isinstance(res["v"], list):
        rec["v"] = np.concatenate([np.ravel(v) for v in res["v"]])
    rec["n_iter"] = np.asarray(res.n_iter)
    rec["status"] = np.asarray(int(res.status))
    return rec


def _eq_case(name: str) -> dict:
    from numlearn.datasets import hock_schittkowski
    from numlearn.optimize import minimize_eq

    problem, kwargs = _EQ_CASES[name]
    p = hock_schittkowski(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = minimize_eq(p.fun, p.x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                          random_state=0, **kwargs)
    return _record(res)


def _eq_callback_case() -> dict:
    from numlearn.datasets import hock_schittkowski
    from numlearn.optimize import minimize_eq

    p = hock_schittkowski("HS46")
    seen = []

    def stop(info):
        seen.append(info["kkt_norm"])
        if len(seen) == 7:
            raise StopIteration

    res = minimize_eq(p.fun, p.x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                      sketch="direct", callback=stop)
    rec = _record(res)
    rec["seen"] = np.asarray(seen)
    return rec


def _con_case(name: str) -> dict:
    from numlearn.datasets import hock_schittkowski_ineq, nnls_problem
    from numlearn.optimize import minimize_constrained

    p = nnls_problem(random_state=0) if name == "nnls" else hock_schittkowski_ineq(name)
    res = minimize_constrained(p.fun, p.x0, jac=p.jac, hess=p.hess,
                               constraints=p.constraints, bounds=p.bounds, random_state=0)
    return _record(res)


def _con_infeasible_case() -> dict:
    from numlearn.optimize import minimize_constrained

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = minimize_constrained(lambda x: x @ x, [0.3, 0.2], jac=lambda x: 2 * x,
                                   hess=lambda x: 2 * np.eye(2),
                                   constraints=LinearConstraint([[1, 1]], 3, np.inf),
                                   bounds=[(0, 1), (0, 1)])
    return _record(res)


def _records() -> dict[str, dict]:
    out = {f"optimize_{k}": _eq_case(k) for k in _EQ_CASES}
    out["optimize_eq_callback"] = _eq_callback_case()
    out.update({f"optimize_con_{k.lower()}": _con_case(k) for k in _CON_CASES})
    out["optimize_con_infeasible"] = _con_infeasible_case()
    return out


def _compare(name: str, got: dict) -> None:
    with np.load(GOLDEN / f"{name}.npz") as expected:
        assert sorted(expected.files) == sorted(got)
        for key in expected.files:
            a, b = got[key], expected[key]
            if np.issubdtype(b.dtype, np.floating):
                np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, equal_nan=True,
                                           err_msg=f"{name}.{key}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{name}.{key}")


@pytest.mark.parametrize("case", list(_EQ_CASES))
def test_minimize_eq_golden(case):
    _compare(f"optimize_{case}", _eq_case(case))


def test_minimize_eq_callback_golden():
    got = _eq_callback_case()
    _compare("optimize_eq_callback", got)
    assert got["n_iter"] == 7 and got["seen"].shape == (7,)


@pytest.mark.parametrize("case", _CON_CASES)
def test_minimize_constrained_golden(case):
    _compare(f"optimize_con_{case.lower()}", _con_case(case))


def test_minimize_constrained_infeasible_golden():
    _compare("optimize_con_infeasible", _con_infeasible_case())


def test_golden_cases_mean_something():
    from numlearn._result import Status

    with np.load(GOLDEN / "optimize_eq_hs49_maxiter.npz") as rec:
        assert int(rec["status"]) == int(Status.MAX_ITER) and int(rec["n_iter"]) == 5
    with np.load(GOLDEN / "optimize_eq_callback.npz") as rec:
        assert int(rec["status"]) == int(Status.CALLBACK_STOP)
    with np.load(GOLDEN / "optimize_con_infeasible.npz") as rec:
        assert int(rec["status"]) == int(Status.INFEASIBLE)
    with np.load(GOLDEN / "optimize_con_hs118.npz") as rec:
        assert int(rec["status"]) == int(Status.SUCCESS)


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, record in _records().items():
        np.savez(GOLDEN / f"{name}.npz", **record)
        print("wrote", GOLDEN / f"{name}.npz")
