"""Array-namespace dispatch and device helpers.

This is the only module of numlearn that knows about CuPy. Generic code asks
:func:`get_namespace` for the namespace of its inputs and writes against it; Numba-CUDA
kernels are launched only where :func:`numba_cuda_available` says they can run (a real
GPU, or the Numba CUDA simulator enabled with ``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "get_namespace",
    "non_numpy_namespace",
    "pick_ops",
    "is_numpy_namespace",
    "is_cupy_array",
    "is_cupy_sparse",
    "device_of",
    "to_device",
    "to_numpy",
    "cuda_simulator_enabled",
    "numba_cuda_available",
    "cupy_available",
]


def get_namespace(*arrays: Any):
    """Return the array-API namespace shared by ``arrays``.

    NumPy arrays, Python scalars and lists, SciPy sparse matrices and LinearOperators
    all map to the (array-API compatible wrapper of the) NumPy namespace; CuPy and other array-API
    arrays to their own, and ``cupyx.scipy.sparse`` matrices to CuPy's. Mixing namespaces
    raises ``TypeError``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn._backend import get_namespace, is_numpy_namespace
    >>> is_numpy_namespace(get_namespace(np.ones(3)))
    True
    """
    import array_api_compat

    dense = [
        a.data if is_cupy_sparse(a) else a
        for a in arrays
        if is_cupy_sparse(a)
        or (hasattr(a, "__array_namespace__") and not sp.issparse(a) and not _is_linear_operator(a))
    ]
    if not dense:
        return array_api_compat.array_namespace(np.empty(0))
    try:
        return array_api_compat.array_namespace(*dense)
    except TypeError as exc:
        raise TypeError(f"inputs must come from a single array library: {exc}") from exc


def non_numpy_namespace(*arrays: Any):
    """The array namespace of the inputs when it is not NumPy's, else None.

    None for NumPy arrays, SciPy sparse matrices, LinearOperators, lists, scalars and
    ``None`` (the NumPy path); CuPy's namespace for CuPy arrays and ``cupyx.scipy.sparse``
    matrices; the library's own (array-api-compat) namespace for other array-API arrays
    (``array_api_strict``). Mixing array libraries raises ``TypeError``. This is the one
    question every public function asks to pick its path.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from numlearn._backend import non_numpy_namespace
    >>> non_numpy_namespace(np.ones(3), sp.eye(3), None, [1.0]) is None
    True
    >>> import array_api_strict as xps
    >>> non_numpy_namespace(xps.ones(3), None) is not None
    True
    """
    if all(a is None or isinstance(a, np.ndarray) or sp.issparse(a) for a in arrays):
        return None  # the common case, decided without array-api-compat
    xp = get_namespace(*arrays)
    return None if is_numpy_namespace(xp) else xp


def pick_ops(xp, *, numpy: Any, array_api: Any, cuda: Any = None) -> Any:
    """A family's ops for the namespace ``xp`` (as :func:`non_numpy_namespace` returns).

    ``numpy`` when ``xp`` is None (NumPy / SciPy inputs), ``cuda`` for CuPy when the
    family has a Numba-CUDA implementation and :func:`numba_cuda_available` says its
    kernels can run, ``array_api`` otherwise (generic code against ``xp``). The arguments
    are whatever the family chooses between (``Ops`` classes, instances, factories).

    Examples
    --------
    >>> import array_api_strict as xps
    >>> from numlearn._backend import non_numpy_namespace, pick_ops
    >>> pick_ops(None, numpy="numba", array_api="generic", cuda="cuda")
    'numba'
    >>> pick_ops(non_numpy_namespace(xps.ones(2)), numpy="numba", array_api="generic",
    ...          cuda="cuda")
    'generic'
    """
    if xp is None:
        return numpy
    if cuda is not None and _is_cupy_namespace(xp) and numba_cuda_available():
        return cuda
    return array_api


def _is_cupy_namespace(xp) -> bool:
    import array_api_compat

    return array_api_compat.is_cupy_namespace(xp)


def _is_linear_operator(a: Any) -> bool:
    from scipy.sparse.linalg import LinearOperator

    return isinstance(a, LinearOperator)


def is_numpy_namespace(xp) -> bool:
    """True if ``xp`` is NumPy or array-api-compat's wrapper of it."""
    import array_api_compat

    return xp is np or array_api_compat.is_numpy_namespace(xp)


def is_cupy_array(x: Any) -> bool:
    """True if ``x`` is a CuPy array (without importing CuPy when it is absent)."""
    import array_api_compat

    return array_api_compat.is_cupy_array(x)


def is_cupy_sparse(x: Any) -> bool:
    """True if ``x`` is a ``cupyx.scipy.sparse`` matrix (without importing CuPy).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numlearn._backend import is_cupy_sparse
    >>> is_cupy_sparse(sp.eye(3, format="csr"))
    False
    """
    return type(x).__module__.startswith("cupyx.scipy.sparse")


def device_of(x: Any):
    """The device ``x`` lives on (``"cpu"`` for NumPy)."""
    import array_api_compat

    if is_cupy_sparse(x):
        x = x.data
    return array_api_compat.device(x)


def to_device(x: Any, like: Any):
    """Return ``x`` as an array of ``like``'s namespace, on ``like``'s device."""
    xp = get_namespace(like)
    if is_numpy_namespace(xp):
        return np.asarray(to_numpy(x))
    return xp.asarray(x, device=device_of(like))


def to_numpy(x: Any) -> np.ndarray:
    """Copy ``x`` to host memory as a NumPy array (a no-op for NumPy arrays)."""
    if isinstance(x, np.ndarray):
        return x
    if is_cupy_array(x):
        return x.get()
    if hasattr(x, "__dlpack__") and not isinstance(x, (list, tuple)):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError):
            pass
    return np.asarray(x)


def cuda_simulator_enabled() -> bool:
    """True if the Numba CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@functools.lru_cache(maxsize=1)
def _real_cuda_available() -> bool:
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # numba-cuda missing, driver missing, ...
        return False


def numba_cuda_available() -> bool:
    """Can Numba CUDA kernels run here: a usable GPU, or the simulator?

    This is the single place numlearn asks the question.
    """
    if cuda_simulator_enabled():
        try:
            from numba import cuda  # noqa: F401
        except Exception:
            return False
        return True
    return _real_cuda_available()


@functools.lru_cache(maxsize=1)
def cupy_available() -> bool:
    """True if CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False
