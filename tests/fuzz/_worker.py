"""Run the fuzz cases of one target in this process; one JSON line per event on stdout.

``python _worker.py TARGET SEED N_CASES CASE_LIMIT_S``. A ``start`` line is flushed before
each call, so that a crash (SIGSEGV, abort) or a hang is attributed to its case by the
parent (``test_fuzz.py``), which runs this in a subprocess with a time limit.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402


def _emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _snapshot(x):
    """Bytes, dtype, shape and flags of every array inside ``x`` (compared after the call)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return ("object", repr(x.tolist()), x.shape)
        return (x.dtype.str, x.shape, x.strides, x.flags.writeable, x.tobytes())
    if sp.issparse(x):
        arrays = [getattr(x, a) for a in ("data", "indices", "indptr", "offsets")
                  if hasattr(x, a)]
        if x.format == "coo":
            arrays += list(x.coords)
        if x.format in ("lil", "dok"):
            return (x.format, repr(x.todok().items() if x.format == "lil" else
                                   sorted(x.items())))
        return (type(x).__name__, x.shape, [_snapshot(np.asarray(a)) for a in arrays])
    if isinstance(x, (list, tuple)):
        return repr(x)
    return None  # LinearOperator and the like: no data of its own


def main(target_name: str, seed_value: int, n_cases: int, case_limit: float) -> None:
    import _targets

    # several targets (comma-separated) run one after the other in this process
    names = target_name.split(";") if target_name not in _targets.TARGETS else [target_name]
    for name in names:
        _run_target(_targets.TARGETS[name], name if len(names) > 1 else "", seed_value,
                    n_cases, case_limit)


def _run_target(target, label, seed_value, n_cases, case_limit):
    counter = [0]

    @settings(max_examples=n_cases, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @seed(seed_value)
    @given(st.data())
    def run(data):
        i = counter[0]
        counter[0] += 1
        case = target(data)
        if label:
            case.desc = f"{label}: {case.desc}"
        _emit(start=i, case=case.desc, expect=case.expect)
        before = [_snapshot(x) for x in case.inputs]
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result, exc = case.call(), None
            except Exception as e:  # noqa: BLE001 - classified below
                result, exc = None, e
        seconds = time.perf_counter() - t0
        _emit(case_id=i, case=case.desc, seconds=round(seconds, 4),
              outcome=_classify(case, result, exc, caught, before, seconds, case_limit))

    run()
    _emit(done=counter[0], target=label)


def _classify(case, result, exc, caught, before, seconds, case_limit):
    after = [_snapshot(x) for x in case.inputs]
    for k, (b, a) in enumerate(zip(before, after)):
        if b != a:
            return f"FAIL: input {k} modified in place"
    if seconds > case_limit:
        return f"FAIL: took {seconds:.1f} s (limit {case_limit} s)"
    conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    if len(caught) > 3:
        kinds = sorted({w.category.__name__ for w in caught})
        return f"FAIL: {len(caught)} warnings ({', '.join(kinds)}): warn once, not per step"
    if exc is not None:
        if isinstance(exc, (ValueError, TypeError)) and str(exc):
            if case.expect == "refuse":
                return "refused"
            return f"FAIL: refused valid input: {type(exc).__name__}: {exc}"
        return f"FAIL: raised {type(exc).__module__}.{type(exc).__name__}: {exc}"
    if case.expect == "refuse":
        return "FAIL: answered malformed or out-of-range input (silent answer)"
    problem = case.check(result)
    converged = getattr(result, "converged", None)
    if converged is False and not conv:
        return "FAIL: converged=False without a ConvergenceWarning"
    if problem is None:
        return "answer checked" if not conv else "answer checked (warned)"
    if conv and converged is not True:
        return "honest non-convergence"
    return f"FAIL: wrong answer: {problem}"


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
