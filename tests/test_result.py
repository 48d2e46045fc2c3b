import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn import SolverResult, Status
from numlearn._result import make_result, warn_if_not_converged


def test_result_attribute_and_key_access():
    res = SolverResult(x=1.5, n_iter=2)
    assert res.x == 1.5 and res["n_iter"] == 2
    res.extra = "y"
    assert res["extra"] == "y"
    with pytest.raises(AttributeError):
        res.missing  # noqa: B018
    assert "n_iter" in repr(res) and "extra" in dir(res)


def test_make_result_fills_common_fields():
    ok = make_result(status=Status.SUCCESS, n_iter=4, x=0)
    assert ok.converged is True and ok.message == Status.SUCCESS.message
    bad = make_result(status=Status.MAX_ITER, n_iter=4)
    assert bad.converged is False and "maximum number of iterations" in bad.message
    assert make_result(status=2, n_iter=0).status is Status.BREAKDOWN


def test_every_status_has_a_message():
    assert len({s.message for s in Status}) == len(Status)


def test_warn_if_not_converged():
    with pytest.warns(ConvergenceWarning, match="mysolver did not converge after 7"):
        warn_if_not_converged(make_result(status=Status.MAX_ITER, n_iter=7), "mysolver")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_not_converged(make_result(status=Status.SUCCESS, n_iter=7), "s")
        warn_if_not_converged(make_result(status=Status.CALLBACK_STOP, n_iter=7), "s")
