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
    "check_sparse_structure",
    "check_symmetric",
    "float_dtype",
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

def float_dtype(dtype: Any, name: str) -> np.dtype:
    """The floating dtype numlearn computes in for input of ``dtype`` (one rule, everywhere).

    - ``float32`` and ``float64`` are kept;
    - ``float16`` becomes ``float64``: half precision is a storage format (there are no
      half-precision kernels, and its 3 digits could not meet any default tolerance);
      so do longer floats (``longdouble``), which the compiled kernels do not take;
    - integers and booleans become ``float64``;
    - complex, object, string and time dtypes raise a ``TypeError`` naming the argument
      (numlearn's solvers are real: a complex input would lose its imaginary part).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn._validation import float_dtype
    >>> float_dtype(np.float32, "b"), float_dtype(np.float16, "b"), float_dtype(bool, "b")
    (dtype('float32'), dtype('float64'), dtype('float64'))
    >>> float_dtype(np.complex128, "b")
    Traceback (most recent call last):
    TypeError: b must hold real numbers, got dtype complex128.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float32 or dtype == np.float64:
        return dtype
    if dtype.kind in "fiub":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must hold real numbers, got dtype {dtype}.")


def _index_array(arr: Any, name: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}.")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}.")
    if arr.dtype != np.int32 and arr.dtype != np.int64:
        # small types to int32 (the kernels' usual signature, no new compilation); wider
        # unsigned ones to int64, where values past 2**63 wrap negative: refused below
        arr = arr.astype(np.int32 if arr.dtype.itemsize < 4 else np.int64)
    return arr


def _compressed(A, name: str, canonical: bool):
    """Check the CSR/CSC/BSR arrays of ``A``; return them (index dtypes made int32/int64),
    whether they are canonical and whether ``A.indptr[-1] < len(A.indices)``."""
    from numlearn._sparse_kernels import compressed_structure

    fmt = A.format
    n_rows, n_cols = A.shape
    if fmt == "bsr":
        r, c = A.blocksize
        major, minor, unit = n_rows // r, n_cols // c, "n_rows / blocksize[0] + 1"
    elif fmt == "csr":
        major, minor, unit = n_rows, n_cols, "n_rows + 1"
    else:
        major, minor, unit = n_cols, n_rows, "n_cols + 1"
    indptr = _index_array(A.indptr, f"{name}.indptr")
    indices = _index_array(A.indices, f"{name}.indices")
    data = np.asarray(A.data)
    if indptr.shape[0] != major + 1:
        raise ValueError(
            f"{name}.indptr must have length {major + 1} ({unit}, {fmt.upper()} format), got "
            f"{indptr.shape[0]}.")
    if data.shape[:1] != indices.shape:
        raise ValueError(
            f"{name}.data and {name}.indices must have the same length, got "
            f"{data.shape[0] if data.ndim else 0} and {indices.shape[0]}.")
    if fmt != "bsr" and data.ndim != 1:
        raise ValueError(f"{name}.data must be 1-dimensional, got shape {data.shape}.")
    if fmt == "bsr" and data.shape[1:] != tuple(A.blocksize):
        raise ValueError(f"{name}.data must hold blocks of shape {A.blocksize}, got "
                         f"{data.shape[1:]}.")
    code, where, canon = compressed_structure(indptr, indices, minor, canonical)
    if code == 1:
        raise ValueError(f"{name}.indptr must start at 0, got {int(indptr[0])}.")
    if code == 2:
        raise ValueError(
            f"{name}.indptr must be non-decreasing; it drops at position {where} "
            f"({int(indptr[where - 1])} then {int(indptr[where])}).")
    if code == 3:
        raise ValueError(
            f"{name}.indptr must end at most at len({name}.indices) = {indices.shape[0]}, "
            f"got {int(indptr[-1])}.")
    if code == 4:
        kind = "column" if fmt in ("csr", "bsr") else "row"
        raise ValueError(
            f"{name}.indices must be {kind} indices in [0, {minor}); entry {where} is "
            f"{int(indices[where])}.")
    return indptr, indices, bool(canon), int(indptr[-1]) < indices.shape[0]


def _first(mask, xp) -> int:
    """Position of the first True of a 1-D device boolean array (one transfer)."""
    return int(xp.argmax(xp.astype(mask, xp.int8)))


def _device_index_array(arr: Any, name: str, xp) -> Any:
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {tuple(arr.shape)}.")
    if not xp.isdtype(arr.dtype, "integral"):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}.")
    return arr


def _device_structure(A: Any, name: str, canonical: bool):
    """The checks of :func:`_compressed` for a ``cupyx.scipy.sparse`` CSR/CSC matrix, as
    whole-array operations on its device (a few scalars come back to the host); returns
    ``(nnz, canonical, trailing)``."""
    xp = get_namespace(A.data)
    fmt = A.format
    major, minor = (A.shape[0], A.shape[1]) if fmt == "csr" else (A.shape[1], A.shape[0])
    indptr = _device_index_array(A.indptr, f"{name}.indptr", xp)
    indices = _device_index_array(A.indices, f"{name}.indices", xp)
    data = A.data
    if indptr.shape[0] != major + 1:
        raise ValueError(f"{name}.indptr must have length {major + 1} "
                         f"({'n_rows' if fmt == 'csr' else 'n_cols'} + 1, {fmt.upper()} "
                         f"format), got {indptr.shape[0]}.")
    if data.ndim != 1 or data.shape[0] != indices.shape[0]:
        raise ValueError(f"{name}.data and {name}.indices must have the same length, got "
                         f"{data.shape[0] if data.ndim else 0} and {indices.shape[0]}.")
    if int(indptr[0]) != 0:
        raise ValueError(f"{name}.indptr must start at 0, got {int(indptr[0])}.")
    drops = indptr[1:] < indptr[:-1]
    if bool(xp.any(drops)):
        where = _first(drops, xp) + 1
        raise ValueError(
            f"{name}.indptr must be non-decreasing; it drops at position {where} "
            f"({int(indptr[where - 1])} then {int(indptr[where])}).")
    nnz, cap = int(indptr[-1]), indices.shape[0]
    if nnz > cap:
        raise ValueError(f"{name}.indptr must end at most at len({name}.indices) = {cap}, "
                         f"got {nnz}.")
    if nnz == 0:
        return 0, True, cap > 0
    stored = indices[:nnz]
    bad = (stored < 0) | (stored >= minor)
    if bool(xp.any(bad)):
        where = _first(bad, xp)
        kind = "column" if fmt == "csr" else "row"
        raise ValueError(f"{name}.indices must be {kind} indices in [0, {minor}); entry "
                         f"{where} is {int(stored[where])}.")
    canon = False
    if canonical:
        # the kernel's rule: every descent of the flat sequence is at a row's first entry
        descents = xp.sum(xp.astype(stored[:-1] >= stored[1:], xp.int64))
        start, stop = indptr[:-1], indptr[1:]
        s = xp.clip(start, 1, max(nnz - 1, 1)) if nnz > 1 else xp.ones_like(start)
        at = (start > 0) & (start < stop)
        if nnz > 1:
            at = at & (xp.take(stored, s - 1) >= xp.take(stored, s))
        else:
            at = at & xp.zeros_like(at)
        canon = bool(descents == xp.sum(xp.astype(at, xp.int64)))
    return nnz, canon, nnz < cap


def _check_device_sparse(A: Any, name: str, format: str | None, canonical: bool,
                         check_input: bool):
    """:func:`check_sparse_structure` for ``cupyx.scipy.sparse`` matrices (on the GPU)."""
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {A.shape}.")
    dtype = float_dtype(A.dtype, name)
    B = A
    if check_input and A.format in ("csr", "csc"):
        nnz, canon, trailing = _device_structure(A, name, canonical)
        if trailing:  # entries past indptr[-1]: a matrix of the stored ones (copies)
            xp = get_namespace(A.data)
            B = A.__class__(tuple(xp.asarray(a, copy=True) for a in
                                  (A.data[:nnz], A.indices[:nnz], A.indptr)), shape=A.shape)
        if canonical and not canon:
            B = B.copy() if B is A else B
            B.has_canonical_format = False  # a stale flag would make the sum a no-op
            B.sum_duplicates()
    elif check_input and A.format == "coo":
        xp = get_namespace(A.data)
        for axis, (c, n) in enumerate(zip((A.row, A.col), A.shape)):
            what = f"{name}.{'row' if axis == 0 else 'col'}"
            _device_index_array(c, what, xp)
            if c.shape[0] != A.data.shape[0]:
                raise ValueError(f"{what} must have the length of {name}.data "
                                 f"({A.data.shape[0]}), got {c.shape[0]}.")
            if c.shape[0] and (int(xp.min(c)) < 0 or int(xp.max(c)) >= n):
                raise ValueError(f"{what} must hold indices in [0, {n}); got values in "
                                 f"[{int(xp.min(c))}, {int(xp.max(c))}].")
    target = format if format is not None else (
        B.format if B.format in ("csr", "csc", "coo") else "csr")
    if B.format != target:
        B = getattr(B, "to" + target)()
        if canonical and target != "coo" and not B.has_canonical_format:
            B.sum_duplicates()
    if B.dtype != dtype:
        B = B.astype(dtype)
    return B


def check_sparse_structure(A: Any, name: str = "A", *, format: str | None = "csr",
                           canonical: bool = True, check_input: bool = True):
    """Check the structure of a SciPy sparse matrix before any kernel or C++ routine
    reads it, and return a safe matrix to hand them; ``A`` itself is never modified.

    Numba kernels (compiled without bounds checks) and SciPy's C++ conversions trust
    ``indptr``/``indices``: a malformed matrix would crash the interpreter or give a
    silent wrong answer. This check is O(nnz): one Numba kernel reading ``indptr`` once
    (and, for the order check asked by ``canonical``, the index at each row start) and
    ``indices`` once, about 12% of one SciPy product ``A @ x`` at 10^6 nonzeros and 10
    per row (asv ``linalg.SparseStructureCheck``). It raises a ``ValueError`` naming
    the argument for:

    - ``indptr`` of the wrong length (``n_rows + 1`` for CSR, ``n_cols + 1`` for CSC),
      not starting at 0, decreasing, or pointing past ``indices``;
    - ``indices`` and ``data`` of different lengths; an index outside ``[0, n)``;
    - COO ``row``/``col`` outside the shape or of another length than ``data``;

    and a ``TypeError`` for non-integer index arrays or a dtype :func:`float_dtype`
    refuses. Index arrays of other integer dtypes become int32 (narrower ones) or int64.

    Parameters
    ----------
    A : scipy.sparse matrix or array, or cupyx.scipy.sparse matrix
        A CuPy matrix (CSR, CSC, COO) is checked by whole-array operations on its device
        (the same rules; its index dtypes are kept) and returned on it.
    name : str
        The argument's name, for messages.
    format : {"csr", "csc", None}
        Format of the returned matrix (None: CSR, CSC and COO are kept, others become
        CSR).
    canonical : bool, default True
        Return a canonical matrix: indices sorted in every row (column) and duplicate
        entries summed, as kernels that look entries up (a diagonal, a coordinate) need.
        A copy is made only when ``A`` is not already so. With False, duplicates and
        order are kept (as they are for a product, or for callers that refuse
        duplicates themselves).
    check_input : bool, default True
        False skips the structural check, for callers that checked ``A`` already (as
        scikit-learn's ``check_input``); never the default.

    Returns
    -------
    sparse matrix
        Of the same kind (``spmatrix`` or ``sparray``) as ``A``, data in the dtype of
        :func:`float_dtype`: ``A`` itself when nothing had to change, else a new matrix
        (whose arrays are copies wherever they differ from ``A``'s).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from numlearn._validation import check_sparse_structure
    >>> bad = sp.csr_matrix((2, 2)); bad.indices = np.array([0, 3], dtype=np.int32)
    >>> bad.data = np.ones(2); bad.indptr = np.array([0, 1, 2], dtype=np.int32)
    >>> check_sparse_structure(bad)
    Traceback (most recent call last):
    ValueError: A.indices must be column indices in [0, 2); entry 1 is 3.
    >>> dup = sp.coo_matrix(([1.0, 2.0], ([0, 0], [1, 1])), shape=(2, 2)).tocsr()
    >>> check_sparse_structure(dup).toarray()
    array([[0., 3.],
           [0., 0.]])
    """
    if is_cupy_sparse(A):  # cupyx.scipy.sparse: the same checks, on the device
        return _check_device_sparse(A, name, format, canonical, check_input)
    if not sp.issparse(A):
        raise TypeError(f"{name} must be a SciPy sparse matrix, got {type(A).__name__}.")
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {A.shape}.")
    dtype = float_dtype(A.dtype, name)
    fmt = A.format
    if not check_input:
        B = A
    elif fmt in ("csr", "csc", "bsr"):
        indptr, indices, canon, trailing = _compressed(A, name, canonical)
        if indptr is A.indptr and indices is A.indices and not trailing:
            # a new matrix on the same arrays, its flags set to what the kernel found
            # (SciPy's in-place sort_indices / sum_duplicates are then no-ops on it)
            B = A.__class__((A.data, indices, indptr), shape=A.shape, copy=False)
            B.has_canonical_format = canon
            if not canon:
                B.has_sorted_indices = False
            owned = False  # B's arrays are views of A's
        else:  # copies: another index dtype, or entries past indptr[-1] (pruned)
            nnz = int(indptr[-1])
            cls = A.__class__
            B = cls((np.array(A.data[:nnz]), indices[:nnz].copy(), indptr.copy()),
                    shape=A.shape, **({"blocksize": A.blocksize} if fmt == "bsr" else {}))
            B.has_canonical_format = canon
            if not canon:
                B.has_sorted_indices = False
            owned = True
        if canonical and not canon:
            B = B if owned else B.copy()
            B.sum_duplicates()  # on a copy: sorts the indices and sums duplicates
    elif fmt == "coo":
        coords = [_index_array(c, f"{name}.coords") for c in A.coords]
        data = np.asarray(A.data)
        for axis, (c, n) in enumerate(zip(coords, A.shape)):
            what = f"{name}.{'row' if axis == 0 else 'col'}"
            if c.shape != data.shape[:1]:
                raise ValueError(f"{what} must have the length of {name}.data "
                                 f"({data.shape[0]}), got {c.shape[0]}.")
            if c.size and (int(c.min()) < 0 or int(c.max()) >= n):
                raise ValueError(f"{what} must hold indices in [0, {n}); got values in "
                                 f"[{int(c.min())}, {int(c.max())}].")
        B = A.__class__((data, tuple(coords)), shape=A.shape)
        if canonical:
            B = B.tocsr()  # sums the duplicates (on new arrays)
    elif fmt == "dia":
        offsets = _index_array(A.offsets, f"{name}.offsets")
        data = np.asarray(A.data)
        if data.ndim != 2 or data.shape[0] != offsets.shape[0]:
            raise ValueError(f"{name}.data must have one row per offset ({offsets.shape[0]}),"
                             f" got shape {data.shape}.")
        B = A
    else:  # lil, dok: Python structures that SciPy converts safely
        B = A
    if format is None:
        if B.format not in ("csr", "csc", "coo"):
            B = B.tocsr()
    elif B.format != format:
        B = B.asformat(format)
    if canonical and B.format != "coo" and not B.has_canonical_format:  # after a conversion
        B = B.copy() if B is A else B
        B.sum_duplicates()
    if B.dtype != dtype:
        B = B.astype(dtype)
    return B


def check_symmetric(A: Any, name: str = "A", *, rtol: float | None = None) -> None:
    """Raise a ``ValueError`` if an explicit matrix is not symmetric.

    ``max |A - Aᵀ| <= rtol · max |A|``, with ``rtol`` the square root of the machine
    epsilon of ``A``'s dtype by default (``B Bᵀ`` computed in floating point passes). NumPy
    arrays and SciPy sparse matrices are checked, at the cost of about one product (``A
    - Aᵀ`` for a sparse matrix, O(nnz)); LinearOperators, callables and arrays of other
    namespaces are not (that would cost products, or a device transfer): the caller's
    documentation says so.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn._validation import check_symmetric
    >>> check_symmetric(np.array([[2.0, 1.0], [0.0, 2.0]]))
    Traceback (most recent call last):
    ValueError: A must be symmetric: max |A - Aᵀ| = 1 is 0.5 of max |A| (tolerance 1.5e-08).
    """
    if sp.issparse(A):
        if A.nnz == 0:
            return
        gap = abs(A - A.T).max()
        scale = abs(A).max()
    elif isinstance(A, np.ndarray):
        if A.size == 0:
            return
        gap = float(np.max(np.abs(A - A.T)))
        scale = float(np.max(np.abs(A)))
    else:
        return
    if rtol is None:
        rtol = float(np.sqrt(np.finfo(A.dtype).eps))
    if gap > rtol * scale:
        raise ValueError(
            f"{name} must be symmetric: max |{name} - {name}ᵀ| = {float(gap):.3g} is "
            f"{float(gap / scale):.3g} of max |{name}| (tolerance {rtol:.2g}).")


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

    NumPy inputs (and lists) take the dtype of :func:`float_dtype` (float32 and float64
    kept, float16, integers and booleans become float64, complex and object refused); arrays of other namespaces (CuPy, array_api_strict) stay in
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
        arr = arr.astype(float_dtype(arr.dtype, name), copy=copy)
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


def check_operator(A: Any, name: str = "A", *, square: bool = True, finite: bool = True,
                   check_input: bool = True):
    """Check a matrix given as a dense array, a SciPy (or ``cupyx.scipy``) sparse matrix or a
    LinearOperator.

    A SciPy sparse matrix goes through :func:`check_sparse_structure` (its structure
    checked, duplicates summed and indices sorted on a copy) unless ``check_input`` is
    False; dtypes follow :func:`float_dtype`.

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
        A = check_sparse_structure(A, name, format="csr", canonical=True,
                                   check_input=check_input)
        if finite and not np.all(np.isfinite(A.data)):
            raise ValueError(f"{name} contains NaN or infinity; all entries must be finite.")
        shape = tuple(A.shape)
    elif is_cupy_sparse(A):  # cupyx.scipy.sparse: the same checks, on the GPU
        A = check_sparse_structure(A, name, format="csr", canonical=True,
                                   check_input=check_input)
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
