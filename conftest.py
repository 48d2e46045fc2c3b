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
