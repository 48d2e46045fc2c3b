"""The root ``xp`` fixture and the backend helpers every public function uses to pick
its path (``non_numpy_namespace``, ``pick_ops``)."""

import numpy as np
import pytest
import scipy.sparse as sp

from numlearn._backend import non_numpy_namespace, pick_ops, to_numpy


def test_non_numpy_namespace(xp):
    a = xp.asarray([1.0, 2.0])
    found = non_numpy_namespace(a, None)
    if xp is np:
        assert found is None
    else:
        assert found is not None
        assert to_numpy(found.sum(a)) == 3.0


def test_pick_ops(xp):
    ops = pick_ops(non_numpy_namespace(xp.asarray([1.0])), numpy="numba",
                   array_api="generic", cuda="cuda")
    expected = {"numpy": "numba", "array_api_strict": "generic", "cupy": "cuda"}
    assert ops == expected[xp.__name__.split(".")[0]]


def test_numpy_path_inputs():
    assert non_numpy_namespace(np.ones(2), sp.eye(2, format="csr"), [1.0], 3.0, None) is None
    assert pick_ops(None, numpy=1, array_api=2) == 1


def test_mixed_libraries_are_refused():
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="single array library"):
        non_numpy_namespace(np.ones(2), xps.ones(2))
