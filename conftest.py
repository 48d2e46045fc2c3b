"""Test configuration.

The Numba CUDA simulator must be switched on before Numba is first imported, so this
happens here, at the top of the first module pytest loads. On a machine with a real GPU
(CuPy sees a device) the simulator stays off and the ``cudasim`` tests run the kernels on
the GPU itself; set ``NUMBA_ENABLE_CUDASIM`` yourself to override.
"""

import os


def _real_gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


if "NUMBA_ENABLE_CUDASIM" not in os.environ and not _real_gpu():
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    gpu = _real_gpu()
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU visible to CuPy")
    skip_cuda = pytest.mark.skip(reason="numba-cuda (or its simulator) is not usable here")
    from numlearn._backend import numba_cuda_available

    cuda_ok = numba_cuda_available()
    for item in items:
        if "gpu" in item.keywords and not gpu:
            item.add_marker(skip_gpu)
        if "cudasim" in item.keywords and not cuda_ok:
            item.add_marker(skip_cuda)


def _namespaces():
    """(id, namespace) pairs of the array libraries the ``xp`` fixture runs over."""
    import numpy

    out = [pytest.param(numpy, id="numpy")]
    try:
        import array_api_strict

        out.append(pytest.param(array_api_strict, id="array_api_strict"))
    except ImportError:
        out.append(pytest.param(None, id="array_api_strict",
                                marks=pytest.mark.skip(reason="array_api_strict missing")))
    out.append(pytest.param("cupy", id="cupy", marks=pytest.mark.gpu))
    return out


@pytest.fixture(params=_namespaces())
def xp(request):
    """An array namespace to run a test in: NumPy, ``array_api_strict`` and CuPy (marked
    ``gpu``: skipped unless CuPy sees a GPU). Build inputs with ``xp.asarray(...)``; the
    twin ``test_X_array_api.py`` / ``test_X_cuda.py`` files become parametrizations."""
    if request.param == "cupy":
        return pytest.importorskip("cupy")
    return request.param
