"""The shared iteration skeleton (numlearn._monitor.Monitor)."""

import math

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn._monitor import Monitor
from numlearn._result import Status


def _run(values, *, tol=None, divergence=None, callback=None, **kwargs):
    mon = Monitor("toy", callback=callback, **kwargs)
    status = Status.MAX_ITER
    for value in values:
        verdict = mon.step(value, value, tol=tol, divergence=divergence)
        if verdict is not None:
            status = verdict
            break
    return mon, status


def test_success_history_and_count():
    mon, status = _run([4.0, 2.0, 1.0, 0.5, 0.25], tol=0.6, return_history=True)
    assert status is Status.SUCCESS and mon.n_iter == 4
    res = mon.result(status, x=1)
    assert res.converged and res.n_iter == 4 and res.x == 1
    np.testing.assert_array_equal(res.history, [4.0, 2.0, 1.0, 0.5])
    assert res.history.dtype == np.float64


def test_no_history_unless_asked():
    mon, status = _run([1.0, 0.1], tol=0.5)
    assert "history" not in mon.result(status)


def test_callback_stop_and_arguments():
    seen = []

    def callback(v):
        seen.append(v)
        if len(seen) == 2:
            raise StopIteration

    mon, status = _run([3.0, 2.0, 1.0], tol=0.0, callback=callback)
    assert status is Status.CALLBACK_STOP and seen == [3.0, 2.0] and mon.n_iter == 2
    res = mon.result(status)  # no warning: the user asked to stop
    assert not res.converged and res.status is Status.CALLBACK_STOP


def test_tolerance_wins_over_callback_stop():
    def callback(v):
        raise StopIteration

    _, status = _run([0.1], tol=0.5, callback=callback)
    assert status is Status.SUCCESS


@pytest.mark.parametrize("bad", [math.nan, math.inf, 1e12])
def test_divergence_is_not_recorded(bad):
    seen = []
    mon, status = _run([1.0, bad, 0.1], tol=1e-3, divergence=1e10, callback=seen.append,
                       return_history=True)
    assert status is Status.DIVERGED and mon.n_iter == 2
    assert mon.history == [1.0] and seen == [1.0]


def test_warning_points_at_the_callers_caller():
    def solver():
        mon, status = _run([1.0, 0.9], tol=1e-3)
        return mon.result(status)

    with pytest.warns(ConvergenceWarning, match="toy did not converge after 2 iterations") \
            as record:
        res = solver()
    assert res.status is Status.MAX_ITER
    assert record[0].filename == __file__


def test_progress_lines_and_final_once(capsys):
    mon, status = _run([1.0, 0.5, 0.25], tol=0.3, verbose=2, measure="gap")
    mon.finish(0.25)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "toy: iter 1", "toy: iter 2", "toy: iter 3"]
    assert "gap 2.500e-01" in lines[-1]


def test_record_and_notify_for_custom_loops(capsys):
    mon = Monitor("custom", return_history=True, verbose=2)
    mon.record(5.0, n_iter=0)
    mon.record(math.nan, n_iter=3)  # a placeholder, as SOR's unchecked sweeps
    assert mon.history[0] == 5.0 and math.isnan(mon.history[1]) and mon.n_iter == 3
    assert mon.notify("anything") is False
    res = mon.result(Status.SUCCESS, n_iter=7)
    assert res.n_iter == 7 and len(res.history) == 2
    assert capsys.readouterr().out.count("custom: iter") == 2


def test_convergence_warning_skips_the_keyword_wrapper():
    # @suggest_keywords adds a frame between the user and the solver: the warning must
    # still point at the user's line, not at numlearn/_validation.py
    from numlearn.datasets import poisson_2d
    from numlearn.dynamics import GD, LinearRegression, train
    from numlearn.linalg import cg

    A = poisson_2d(6)
    with pytest.warns(ConvergenceWarning) as record:
        cg(A, np.ones(A.shape[0]), maxiter=2)
        train(LinearRegression(np.eye(2), np.ones(2)), np.zeros(2), GD(5.0), 50)
    assert [w.filename for w in record] == [__file__, __file__]
