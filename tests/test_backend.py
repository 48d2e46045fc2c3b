import numpy as np
import pytest
import scipy.sparse as sp

from numlearn._backend import (
    cuda_simulator_enabled,
    device_of,
    get_namespace,
    is_cupy_array,
    is_numpy_namespace,
    numba_cuda_available,
    to_device,
    to_numpy,
)


def test_numpy_like_inputs_map_to_numpy():
    assert is_numpy_namespace(get_namespace(np.ones(2)))
    assert is_numpy_namespace(get_namespace(sp.eye(2), None, 3.0))
    assert is_numpy_namespace(get_namespace())
    assert not is_cupy_array(np.ones(2))
    assert device_of(np.ones(2)) == "cpu"


def test_array_api_strict_namespace_and_moves():
    xps = pytest.importorskip("array_api_strict")
    x = xps.asarray([1.0, 2.0])
    xp = get_namespace(x)
    assert not is_numpy_namespace(xp)
    back = to_numpy(x)
    assert isinstance(back, np.ndarray) and back.tolist() == [1.0, 2.0]
    moved = to_device(np.array([3.0]), like=x)
    assert get_namespace(moved) is xp
    with pytest.raises(TypeError, match="single array library"):
        get_namespace(x, np.ones(2))


def test_cuda_simulator_is_on_in_tests():
    # conftest.py switches the simulator on when there is no GPU; the single
    # "can Numba CUDA run here" answer must follow.
    if cuda_simulator_enabled():
        assert numba_cuda_available()
