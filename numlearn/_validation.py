"""Shared argument checks for numlearn's public functions.

Every check raises a :class:`ValueError` or :class:`TypeError` whose message names the
argument and says what was expected. Public functions call these once, at entry; inner
loops trust their inputs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from numlearn._backend import get_namespace, is_cupy_sparse, is_numpy_namespace

__all__ = [
    "check_random_state",
    "check_scalar",
    "check_option",
    "check_array",
    "check_vector",
    "check_operator",
    "check_callable",
    "check_verbose",
    "check_keywords",
    "suggest_keywords",
]


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` (None, int, Generator or RandomState) into a Generator.

    Examples
    --------
    >>> from numlearn._validation import check_random_state
    >>> rng = check_random_state(0)
    >>> float(rng.random()) == float(check_random_state(0).random())
    True
    """
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # Draw a seed from the legacy generator so that it advances, as users expect.
        return np.random.default_rng(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    raise TypeError(
        "random_state must be None, an int, a numpy.random.Generator or a "
        f"numpy.random.RandomState, got {type(random_state).__name__}."
    )


def check_scalar(
    value: Any,
    name: str,
    *,
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    include_low: bool = True,
    include_high: bool = True,
    allow_none: bool = False,
):
    """Check a real or integer scalar and its range; return it as ``kind``.

    Examples
    --------
    >>> from numlearn._validation import check_scalar
    >>> check_scalar(1e-5, "rtol", low=0)
    1e-05
    >>> check_scalar(-1.0, "rtol", low=0)
    Traceback (most recent call last):
    ValueError: rtol must be >= 0, got -1.0.
    """
    if value is None and allow_none:
        return None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            got = f"{type(value).__name__} ({value!r})"
            raise TypeError(f"{name} must be an integer, got {got}.")
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.integer)):
            got = f"{type(value).__name__} ({value!r})"
            raise TypeError(f"{name} must be a real number, got {got}.")
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}.")
    if low is not None:
        if include_low and value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}.")
        if not include_low and value <= low:
            raise ValueError(f"{name} must be > {low}, got {value}.")
    if high is not None:
        if include_high and value > high:
            raise ValueError(f"{name} must be <= {high}, got {value}.")
        if not include_high and value >= high:
            raise ValueError(f"{name} must be < {high}, got {value}.")
    return value


def check_option(value: Any, name: str, options: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``options``."""
    options = tuple(options)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_verbose(verbose: Any) -> int:
    """Turn ``verbose`` (bool or int 0, 1, 2) into an int, as scikit-learn and SciPy accept.

    ``True`` means 1 (a line every few seconds), ``False`` means 0.

    Examples
    --------
    >>> from numlearn._validation import check_verbose
    >>> check_verbose(True), check_verbose(2)
    (1, 2)
    """
    if isinstance(verbose, (bool, np.bool_)):
        return int(bool(verbose))
    return check_scalar(verbose, "verbose", kind=int, low=0, high=2)


#: Names that users bring from SciPy, scikit-learn and POT, mapped to candidates of ours.
#: Only the candidates that the called function really accepts are suggested.
KEYWORD_ALIASES: dict[str, tuple[str, ...]] = {
    "tol": ("rtol", "tol"),
    "rtol": ("tol", "rtol"),
    "gtol": ("tol", "rtol"),
    "stopThr": ("tol",),
    "stop_thr": ("tol",),
    "maxiter": ("max_iter", "maxiter"),
    "max_iter": ("maxiter", "max_iter"),
    "numItermax": ("max_iter", "maxiter"),
    "num_iter_max": ("max_iter", "maxiter"),
    "n_iter": ("max_iter", "maxiter"),
    "niter": ("max_iter", "maxiter"),
    "log": ("return_history",),
    "disp": ("verbose",),
    "seed": ("random_state",),
    "rng": ("random_state",),
    "random_seed": ("random_state",),
    "lambda_": ("reg", "alpha"),
    "lam": ("reg", "alpha"),
    "regParam": ("reg",),
    "maxIter": ("max_iter",),
    "epsilon": ("reg",),
    "x_init": ("x0",),
    "warmstart": ("init", "warm_start"),
}


def _suggestions(name: str, valid: Iterable[str]) -> list[str]:
    import difflib

    valid = list(valid)
    out = [c for c in KEYWORD_ALIASES.get(name, ()) if c in valid and c != name]
    for c in difflib.get_close_matches(name, valid, n=3, cutoff=0.6):
        if c not in out:
            out.append(c)
    lowered = {v.lower().replace("_", ""): v for v in valid}
    key = name.lower().replace("_", "")
    if key in lowered and lowered[key] not in out:
        out.append(lowered[key])
    return out


def check_keywords(options: dict, valid: Iterable[str], where: str) -> None:
    """Raise a ``TypeError`` with a "did you mean" hint for keywords not in ``valid``.

    ``where`` names the function (or method) in the message. Known names from SciPy,
    scikit-learn and POT (``tol``, ``numItermax``, ``stopThr``, ``log``, ...) are mapped
    to ours.

    Examples
    --------
    >>> from numlearn._validation import check_keywords
    >>> check_keywords({"numItermax": 10}, ["max_iter", "tol"], "sinkhorn()")
    Traceback (most recent call last):
    TypeError: sinkhorn() got an unexpected keyword argument 'numItermax'; did you mean 'max_iter'?
    """
    valid = list(valid)
    unknown = [k for k in options if k not in valid]
    if not unknown:
        return
    parts = []
    for name in unknown:
        hint = _suggestions(name, valid)
        if hint:
            shown = " or ".join(repr(h) for h in hint)
            parts.append(f"unexpected keyword argument {name!r}; did you mean {shown}?")
        else:
            parts.append(
                f"unexpected keyword argument {name!r} (accepted: {', '.join(sorted(valid))})"
            )
    raise TypeError(f"{where} got an " + "; and an ".join(parts))


def suggest_keywords(func: Callable) -> Callable:
    """Decorate a public function so an unknown keyword gets a "did you mean" answer.

    Nothing is checked on a successful call (no overhead); only when the call raises a
    ``TypeError`` is the call bound against the signature, and an unknown keyword is then
    reported with close matches and SciPy/scikit-learn/POT names mapped to ours.

    Examples
    --------
    >>> from numlearn._validation import suggest_keywords
    >>> @suggest_keywords
    ... def solve(A, b, *, rtol=1e-5, maxiter=None):
    ...     return rtol
    >>> solve(1, 2, tol=1e-3)
    Traceback (most recent call last):
    TypeError: solve() got an unexpected keyword argument 'tol'; did you mean 'rtol'?
    """
    import functools
    import inspect

    signature = inspect.signature(func)
    params = signature.parameters
    takes_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    names = [
        n for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    qualname = getattr(func, "__qualname__", getattr(func, "__name__", "function"))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TypeError as exc:
            if takes_var_kw or not kwargs:
                raise
            unknown = {k: v for k, v in kwargs.items() if k not in names}
            if not unknown:
                raise
            try:
                check_keywords(unknown, names, f"{qualname}()")
            except TypeError as better:
                raise better from None
            raise exc  # pragma: no cover

    return wrapper


def _wrapper_code():
    """The code object shared by every :func:`suggest_keywords` wrapper."""
    return suggest_keywords(lambda: None).__code__


_SUGGEST_WRAPPER_CODE = _wrapper_code()


def user_stacklevel(stacklevel: int, *, depth: int = 1) -> int:
    """``stacklevel`` for ``warnings.warn`` in the function ``depth`` frames above this
    call, plus one for every :func:`suggest_keywords` wrapper frame on the way, so that the
    warning still points at the user's line."""
    import sys

    frame = sys._getframe(depth)
    level, target = 1, stacklevel
    while level < target and frame.f_back is not None:
        frame = frame.f_back
        level += 1
        if frame.f_code is _SUGGEST_WRAPPER_CODE:
            target += 1
    return target


def check_callable(value: Any, name: str, *, allow_none: bool = False) -> Callable | None:
    """Check that ``value`` is callable (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}.")
    return value


def _ensure_finite(x, name: str, xp) -> None:
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinity; all entries must be finite.")


def check_array(
    x: Any,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple | None = None,
    xp=None,
    finite: bool = True,
    copy: bool = False,
):
    """Check a real floating array: dimensions, shape, finiteness.

    NumPy inputs (and lists) become float64 NumPy arrays unless already floating
    (float32 stays float32); arrays of other namespaces (CuPy, array_api_strict) stay in
    their namespace and on their device.
    """
    if xp is None:
        xp = get_namespace(x) if hasattr(x, "__array_namespace__") else np
    if is_numpy_namespace(xp):
        if sp.issparse(x) or isinstance(x, LinearOperator):
            raise TypeError(f"{name} must be a dense array, got {type(x).__name__}.")
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be array-like: {exc}") from exc
        if arr.dtype.kind in "iub":
            arr = arr.astype(np.float64)
        elif arr.dtype.kind == "f":
            arr = arr.astype(arr.dtype, copy=copy)
        else:
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
    else:
        arr = xp.asarray(x)
        if not xp.isdtype(arr.dtype, "real floating"):
            if xp.isdtype(arr.dtype, ("integral", "bool")):
                arr = xp.astype(arr, xp.float64)
            else:
                raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
        elif copy:
            arr = xp.asarray(arr, copy=True)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {tuple(arr.shape)}.")
    if shape is not None:
        expected = tuple(shape)
        if len(expected) != arr.ndim or any(
            e is not None and e != s for e, s in zip(expected, arr.shape)
        ):
            shown = tuple("any" if e is None else e for e in expected)
            raise ValueError(f"{name} must have shape {shown}, got {tuple(arr.shape)}.")
    if finite:
        _ensure_finite(arr, name, xp)
    return arr


def check_vector(x: Any, name: str, n: int, *, xp=None, copy: bool = False):
    """Check a finite real 1-D array of length ``n`` (an ``(n, 1)`` column is flattened)."""
    if xp is None:
        xp = get_namespace(x) if hasattr(x, "__array_namespace__") else np
    arr = check_array(x, name, xp=xp, copy=copy)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = xp.reshape(arr, (arr.shape[0],))
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be a vector of length {n}, got shape {tuple(arr.shape)}.")
    return arr


def check_operator(A: Any, name: str = "A", *, square: bool = True, finite: bool = True):
    """Check a matrix given as a dense array, a SciPy (or ``cupyx.scipy``) sparse matrix or a
    LinearOperator.

    Returns
    -------
    A : array, sparse matrix or LinearOperator
        Dense inputs as a floating array (lists become NumPy arrays); sparse inputs in
        CSR format (CSC and other formats are converted once); operators unchanged.
    shape : tuple of int
    """
    if isinstance(A, LinearOperator):
        shape = tuple(A.shape)
        if len(shape) != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {shape}.")
    elif sp.issparse(A):
        if A.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {A.shape}.")
        if A.dtype.kind not in "fiub":
            raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}.")
        A = A.tocsr()
        if A.dtype.kind != "f":
            A = A.astype(np.float64)
        if finite and not np.all(np.isfinite(A.data)):
            raise ValueError(f"{name} contains NaN or infinity; all entries must be finite.")
        shape = tuple(A.shape)
    elif is_cupy_sparse(A):  # cupyx.scipy.sparse: the same checks, on the GPU
        if A.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {A.shape}.")
        if A.dtype.kind not in "fiub":
            raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}.")
        A = A.tocsr()
        if A.dtype.kind != "f":
            A = A.astype("float64")
        xp = get_namespace(A)
        if finite and not bool(xp.all(xp.isfinite(A.data))):
            raise ValueError(f"{name} contains NaN or infinity; all entries must be finite.")
        shape = tuple(A.shape)
    else:
        A = check_array(A, name, ndim=2, finite=finite)
        shape = tuple(A.shape)
    if square and shape[0] != shape[1]:
        raise ValueError(f"{name} must be square, got shape {shape}.")
    return A, shape
