"""Thread control: Numba's thread pool and, when threadpoolctl is installed, BLAS.

Where numlearn uses threads
---------------------------
* **Numba ``parallel=True`` kernels** (the threads :func:`set_num_threads` sets):
  :func:`numlearn.completion.altmin` (and :class:`~numlearn.completion.AltMinCompletion`)
  solves its per-row ridge problems in four ``prange`` kernels of
  ``numlearn/completion/_altmin_kernels.py`` (``solve_rows_cholesky``,
  ``solve_rows_cg`` and the implicit-feedback twins). Rows are independent and each
  row's arithmetic is sequential, so the result does not depend on the thread count.
* **BLAS** (NumPy/SciPy matrix products and factorizations, limited through
  threadpoolctl): dense products in :func:`numlearn.optimize.minimize_eq`,
  :func:`numlearn.ot.sinkhorn` on dense cost matrices, :func:`numlearn.linalg.lanczos_eigsh`,
  :func:`numlearn.linalg.sketch_and_project` and the dense paths of the estimators
  (multithreaded BLAS may sum in another order: the last digits can change).
* **Single-threaded by design**: the CG, SOR/SSOR and coordinate-descent Numba kernels
  (memory-bound; a parallel region cost a scheduler tick per call on a loaded machine).
* **Single-threaded BLAS for small dense systems**: :func:`numlearn.optimize.minimize_constrained`
  runs dense reformulations of order ``≤ 1000`` inside :func:`single_threaded_blas`.

Examples
--------
>>> import numlearn
>>> with numlearn.num_threads(1):
...     numlearn.get_num_threads()
1
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from numlearn._validation import check_scalar

__all__ = ["set_num_threads", "get_num_threads", "num_threads"]


def _numba():
    import numba

    return numba


def _threadpool_limits(limit: int | None):
    """A threadpoolctl ``threadpool_limits`` context for BLAS, or a null context."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


_CONTROLLER: list = []  # a cached threadpoolctl.ThreadpoolController (its scan is slow)


def single_threaded_blas():
    """A context running BLAS/LAPACK on one thread, for solvers of small dense systems.

    Factorizations of order ~10–500 gain nothing from BLAS threads, and on a loaded
    machine their synchronization costs far more than the arithmetic (a ``100 × 100``
    LU took 50× longer with two OpenBLAS threads than with one on the 2-core CI box).
    The controller is built once, so entering the context costs microseconds (a plain
    ``threadpool_limits`` rescans the loaded libraries each time, milliseconds). A null
    context when threadpoolctl is not installed.
    """
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            return contextlib.nullcontext()
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def get_num_threads() -> int:
    """Number of threads Numba's ``parallel=True`` kernels use now.

    Returns
    -------
    int
        :func:`numba.get_num_threads`.

    Examples
    --------
    >>> import numlearn
    >>> numlearn.get_num_threads() >= 1
    True
    """
    return int(_numba().get_num_threads())


def _check_n(n: int) -> int:
    numba = _numba()
    return check_scalar(n, "n", kind=int, low=1, high=int(numba.config.NUMBA_NUM_THREADS))


def set_num_threads(n: int) -> None:
    """Set the threads used by Numba's parallel kernels and by BLAS, from now on.

    Parameters
    ----------
    n : int
        Number of threads, ``1 <= n <=`` the number of threads Numba started with
        (``numba.config.NUMBA_NUM_THREADS``, by default the number of cores).

    Raises
    ------
    ValueError
        If ``n`` is out of that range.

    See Also
    --------
    num_threads : the same for a ``with`` block only.

    Notes
    -----
    Numba's setting is per calling thread. BLAS is limited through threadpoolctl
    (installed with scikit-learn); the limit stays until changed again.

    Examples
    --------
    >>> import numlearn
    >>> before = numlearn.get_num_threads()
    >>> numlearn.set_num_threads(1)
    >>> numlearn.get_num_threads()
    1
    >>> numlearn.set_num_threads(before)
    """
    n = _check_n(n)
    _numba().set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(limits=n, user_api="blas")


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Context manager: use ``n`` threads (Numba and BLAS) inside the ``with`` block.

    Parameters
    ----------
    n : int
        Number of threads, ``1 <= n <= numba.config.NUMBA_NUM_THREADS``.

    Raises
    ------
    ValueError
        If ``n`` is out of that range.

    Examples
    --------
    >>> import numlearn
    >>> before = numlearn.get_num_threads()
    >>> with numlearn.num_threads(1):
    ...     numlearn.get_num_threads()
    1
    >>> numlearn.get_num_threads() == before
    True
    """
    n = _check_n(n)
    numba = _numba()
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with _threadpool_limits(n):
            yield
    finally:
        numba.set_num_threads(previous)
