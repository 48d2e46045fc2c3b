"""Unknown keywords get a "did you mean" answer; ``verbose`` takes bools."""

import numpy as np
import pytest

from numlearn._validation import check_keywords, check_verbose, suggest_keywords
from numlearn.datasets import poisson_2d
from numlearn.linalg import cg, lanczos_eigsh, sor
from numlearn.ot import sinkhorn


def test_check_keywords_maps_pot_names():
    with pytest.raises(TypeError, match="did you mean 'max_iter'"):
        check_keywords({"numItermax": 3}, ["max_iter", "tol"], "f()")
    with pytest.raises(TypeError, match="'stopThr'; did you mean 'tol'"):
        check_keywords({"stopThr": 3}, ["max_iter", "tol"], "f()")
    with pytest.raises(TypeError, match="did you mean 'return_history'"):
        check_keywords({"log": True}, ["return_history"], "f()")
    check_keywords({"tol": 1}, ["tol"], "f()")  # known keywords pass


def test_unknown_keyword_lists_accepted_names_when_nothing_is_close():
    with pytest.raises(TypeError, match=r"'zzz' \(accepted: a, b\)"):
        check_keywords({"zzz": 1}, ["a", "b"], "f()")


@pytest.mark.parametrize("call, expected", [
    (lambda A, b: cg(A, b, tol=1e-3), "did you mean 'rtol'"),
    (lambda A, b: cg(A, b, max_iter=3), "did you mean 'maxiter'"),
    (lambda A, b: sor(A, b, 1.5, tol=1e-3), "did you mean 'rtol'"),
    (lambda A, b: lanczos_eigsh(A, k=1, seed=0), "did you mean 'random_state'"),
    (lambda A, b: sinkhorn(None, None, np.ones((3, 3)), 0.1, numItermax=3),
     "did you mean 'max_iter'"),
    (lambda A, b: sinkhorn(None, None, np.ones((3, 3)), 0.1, method="sns", stopThr=1e-3),
     "did you mean 'tol'"),
])
def test_public_functions_suggest(call, expected):
    A = poisson_2d(4)
    b = np.ones(A.shape[0])
    with pytest.raises(TypeError, match=expected):
        call(A, b)


def test_decorator_keeps_signature_and_inner_type_errors():
    import inspect

    @suggest_keywords
    def f(x, *, rtol=1.0):
        raise TypeError("inner")

    assert list(inspect.signature(f).parameters) == ["x", "rtol"]
    with pytest.raises(TypeError, match="inner"):
        f(1, rtol=2.0)
    assert list(inspect.signature(cg).parameters)[:2] == ["A", "b"]


def test_verbose_accepts_bool(capsys):
    assert check_verbose(True) == 1 and check_verbose(False) == 0
    with pytest.raises(ValueError, match="verbose"):
        check_verbose(3)
    A = poisson_2d(4)
    res = cg(A, np.ones(A.shape[0]), verbose=True)
    assert res.converged
    assert "cg: iter" in capsys.readouterr().out
