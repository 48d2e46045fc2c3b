"""numlearn.set_num_threads / numlearn.num_threads (Numba and BLAS)."""

import numba
import numpy as np
import pytest

import numlearn
from numlearn.completion import altmin

TWO = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                         reason="Numba started with a single thread")


def _problem():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((120, 4)) @ rng.standard_normal((4, 90))
    rows, cols = np.nonzero(rng.random(M.shape) < 0.3)
    return (rows, cols, M[rows, cols], M.shape)


@TWO
def test_context_manager_sets_and_restores():
    from threadpoolctl import threadpool_info

    before = numlearn.get_num_threads()
    with numlearn.num_threads(1):
        assert numba.get_num_threads() == 1
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert all(p["num_threads"] == 1 for p in blas)
    assert numlearn.get_num_threads() == before


@TWO
def test_restored_after_an_error():
    before = numlearn.get_num_threads()
    with pytest.raises(RuntimeError), numlearn.num_threads(1):
        raise RuntimeError("inside")
    assert numlearn.get_num_threads() == before


@TWO
def test_set_num_threads():
    before = numlearn.get_num_threads()
    try:
        numlearn.set_num_threads(1)
        assert numba.get_num_threads() == 1
    finally:
        numlearn.set_num_threads(before)


@pytest.mark.parametrize("n, error", [(0, ValueError), (10**6, ValueError),
                                      (1.5, TypeError), (True, TypeError)])
def test_bad_thread_counts(n, error):
    with pytest.raises(error, match="n must"):
        numlearn.set_num_threads(n)
    with pytest.raises(error, match="n must"), numlearn.num_threads(n):
        pass


@TWO
@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_altmin_identical_for_one_and_two_threads(solver):
    # the prange kernels solve independent rows, each sequentially: bit-identical results
    obs = _problem()
    results = []
    for n in (1, 2):
        with numlearn.num_threads(n):
            results.append(altmin(obs, 4, solver=solver, tol=1e-10, random_state=0))
    a, b = results
    assert a.n_iter == b.n_iter and a.converged
    np.testing.assert_array_equal(a.U, b.U)
    np.testing.assert_array_equal(a.V, b.V)
