import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

from numlearn._validation import (
    check_array,
    check_callable,
    check_operator,
    check_option,
    check_random_state,
    check_scalar,
    check_vector,
)


def test_check_random_state_reproducible_and_typed():
    assert check_random_state(3).random() == check_random_state(3).random()
    gen = np.random.default_rng(1)
    assert check_random_state(gen) is gen
    legacy = np.random.RandomState(0)
    a = check_random_state(legacy).random()
    b = check_random_state(legacy).random()
    assert a != b  # the legacy generator advances
    assert isinstance(check_random_state(None), np.random.Generator)
    with pytest.raises(TypeError, match="random_state"):
        check_random_state("seed")
    with pytest.raises(ValueError, match="random_state"):
        check_random_state(-1)


def test_check_scalar_ranges_and_types():
    assert check_scalar(2, "tol") == 2.0
    assert check_scalar(3, "maxiter", kind=int, low=0) == 3
    with pytest.raises(TypeError, match="maxiter must be an integer"):
        check_scalar(3.5, "maxiter", kind=int)
    with pytest.raises(TypeError, match="tol must be a real number"):
        check_scalar("1", "tol")
    with pytest.raises(TypeError, match="flag"):
        check_scalar(True, "flag")
    with pytest.raises(ValueError, match="tol must be finite"):
        check_scalar(np.nan, "tol")
    with pytest.raises(ValueError, match="omega must be > 0"):
        check_scalar(0.0, "omega", low=0, include_low=False)
    with pytest.raises(ValueError, match="omega must be < 2"):
        check_scalar(2.0, "omega", high=2, include_high=False)
    assert check_scalar(None, "x", allow_none=True) is None


def test_check_option_and_callable():
    assert check_option("a", "kind", ["a", "b"]) == "a"
    with pytest.raises(ValueError, match="kind must be one of 'a', 'b'; got 'c'"):
        check_option("c", "kind", ["a", "b"])
    with pytest.raises(TypeError, match="callback must be callable"):
        check_callable(3, "callback")


def test_check_array_and_vector():
    out = check_array([[1, 2], [3, 4]], "X", ndim=2)
    assert out.dtype == np.float64
    f32 = np.ones(3, dtype=np.float32)
    assert check_array(f32, "x").dtype == np.float32
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        check_array(np.ones(3), "X", ndim=2)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        check_array([1.0, np.inf], "X")
    with pytest.raises(TypeError, match="X must hold real numbers"):
        check_array(np.ones(2, dtype=complex), "X")
    with pytest.raises(ValueError, match=r"X must have shape \(2, 'any'\)"):
        check_array(np.ones((3, 2)), "X", shape=(2, None))
    col = check_vector(np.ones((4, 1)), "b", 4)
    assert col.shape == (4,)
    with pytest.raises(ValueError, match="b must be a vector of length 5"):
        check_vector(np.ones(4), "b", 5)
    x = np.ones(3)
    assert check_vector(x, "x0", 3, copy=True) is not x


def test_check_array_other_namespace():
    xps = pytest.importorskip("array_api_strict")
    arr = check_array(xps.asarray([1, 2]), "x")
    assert arr.dtype == xps.float64
    with pytest.raises(ValueError, match="x contains NaN"):
        check_array(xps.asarray([1.0, float("nan")]), "x")


def test_check_operator_kinds():
    dense, shape = check_operator([[1.0, 0.0], [0.0, 1.0]], "A")
    assert shape == (2, 2) and isinstance(dense, np.ndarray)
    sparse, _ = check_operator(sp.csc_matrix(np.eye(3, dtype=int)), "A")
    assert sp.issparse(sparse) and sparse.format == "csr" and sparse.dtype == np.float64
    op, shape = check_operator(aslinearoperator(np.eye(4)), "A")
    assert shape == (4, 4)
    with pytest.raises(ValueError, match="A must be square"):
        check_operator(np.ones((2, 3)), "A")
    bad = sp.csr_matrix(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="A contains NaN"):
        check_operator(bad, "A")
    rect, shape = check_operator(np.ones((2, 3)), "A", square=False)
    assert shape == (2, 3)
