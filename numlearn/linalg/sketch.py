"""Random sketching operators: Gaussian, sparse sign, CountSketch and SRHT.

A sketch ``S`` of shape ``(n_rows, n_cols)`` maps ``R^n_cols`` to ``R^n_rows`` (the sketch
size ``n_rows`` is usually much smaller than ``n_cols``) and is scaled so that
``E[S^T S] = I``: it preserves squared norms in expectation, and with enough rows it is a
subspace embedding (``||S Q x|| ≈ ||x||`` for every ``x`` when ``Q`` has orthonormal
columns).

The random draw happens once, when the operator is built, so a :class:`SketchOperator`
is a fixed matrix, reproducible given ``random_state``. Applying it costs

===============  =====================  =====================================
kind             dense ``A`` (n × k)    storage
===============  =====================  =====================================
``gaussian``     ``O(n_rows n k)``      dense ``n_rows × n`` matrix
``sparse_sign``  ``O(s n k)``           ``s`` rows and signs per column
``countsketch``  ``O(n k)``             one row and sign per column
``srht``         ``O(N k log N)``       ``n`` signs and ``n_rows`` row indices
===============  =====================  =====================================

where ``N`` is the power of two at or above ``n``. The sparse kinds applied to dense
arrays, and the SRHT's fast Walsh–Hadamard transform, run in Numba kernels
(:mod:`numlearn.linalg._sketch_kernels`); the sparse kinds applied to CuPy arrays run in
their Numba-CUDA twin.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from numlearn._backend import (
    device_of,
    get_namespace,
    is_cupy_array,
    is_numpy_namespace,
    numba_cuda_available,
)
from numlearn._validation import (
    check_array,
    check_operator,
    check_option,
    check_random_state,
    check_scalar,
)
from numlearn.linalg._sketch_kernels import (
    distinct_rows_floyd,
    fwht_inplace,
    sparse_sketch_apply,
    sparse_sketch_apply_csr,
)

__all__ = ["SketchOperator", "sketch_operator", "SKETCH_KINDS"]

#: The kinds of sketch :func:`sketch_operator` can build.
SKETCH_KINDS = ("gaussian", "sparse_sign", "countsketch", "srht")

_KIND_OPTIONS = {
    "gaussian": (),
    "sparse_sign": ("nnz_per_col",),
    "countsketch": (),
    "srht": (),
}

_SPARSE_KINDS = ("sparse_sign", "countsketch")


def _next_power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


class SketchOperator:
    """A fixed random sketching matrix ``S`` of shape ``(n_rows, n_cols)``.

    Build it with :func:`sketch_operator` (same arguments). ``E[S^T S] = I``.

    Parameters
    ----------
    kind : {"gaussian", "sparse_sign", "countsketch", "srht"}
        Distribution of ``S``; see :func:`sketch_operator`.
    n_rows : int
        Sketch size (number of rows of ``S``).
    n_cols : int
        Dimension of the sketched space (number of rows of the ``A`` in ``S @ A``).
    random_state : None, int or numpy.random.Generator, optional
        Seed of the random draw, made once, here.
    **options
        ``nnz_per_col`` for ``kind="sparse_sign"``.

    Attributes
    ----------
    kind : str
        The kind of sketch.
    shape : tuple of int
        ``(n_rows, n_cols)``.
    nnz_per_col : int or None
        Nonzeros per column for the sparse kinds (1 for CountSketch), else None.
    dtype : numpy.dtype
        ``float64``: sketches are drawn, stored and applied in double precision.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linalg import SketchOperator
    >>> S = SketchOperator("gaussian", 2, 5, random_state=0)
    >>> S.shape
    (2, 5)
    >>> bool(np.allclose(S @ np.eye(5), S.toarray()))
    True
    """

    dtype = np.dtype(np.float64)

    def __init__(
        self, kind: str, n_rows: int, n_cols: int, *, random_state: Any = None, **options: Any
    ) -> None:
        kind = check_option(kind, "kind", SKETCH_KINDS)
        n_rows = check_scalar(n_rows, "n_rows", kind=int, low=1)
        n_cols = check_scalar(n_cols, "n_cols", kind=int, low=1)
        unknown = sorted(set(options) - set(_KIND_OPTIONS[kind]))
        if unknown:
            allowed = ", ".join(_KIND_OPTIONS[kind]) or "none"
            raise TypeError(
                f"unexpected option(s) for kind={kind!r}: {', '.join(unknown)} "
                f"(allowed: {allowed})."
            )
        nnz_per_col = None
        if kind == "sparse_sign":
            nnz_per_col = options.get("nnz_per_col")
            if nnz_per_col is None:
                nnz_per_col = min(8, n_rows)
            nnz_per_col = check_scalar(nnz_per_col, "nnz_per_col", kind=int, low=1, high=n_rows)
        elif kind == "countsketch":
            nnz_per_col = 1
        elif kind == "srht" and n_rows > _next_power_of_two(n_cols):
            raise ValueError(
                f"n_rows must be <= {_next_power_of_two(n_cols)} (the power of two at or above "
                f"n_cols={n_cols}) for kind='srht', got {n_rows}."
            )
        self._setup(kind, n_rows, n_cols, nnz_per_col, check_random_state(random_state))

    @classmethod
    def _trusted(
        cls, kind: str, n_rows: int, n_cols: int, rng: np.random.Generator, nnz_per_col=None
    ) -> SketchOperator:
        """Build without validation (for inner loops whose arguments were checked)."""
        self = cls.__new__(cls)
        if kind == "sparse_sign" and nnz_per_col is None:
            nnz_per_col = min(8, n_rows)
        elif kind == "countsketch":
            nnz_per_col = 1
        self._setup(kind, n_rows, n_cols, nnz_per_col, rng)
        return self

    # ----------------------------------------------------------------------------------
    # drawing
    # ----------------------------------------------------------------------------------
    def _setup(self, kind, n_rows, n_cols, nnz_per_col, rng) -> None:
        self.kind = kind
        self.shape = (n_rows, n_cols)
        self.nnz_per_col = nnz_per_col
        self._csc = None
        self._device_cache: dict = {}
        if kind == "gaussian":
            self._matrix = rng.standard_normal((n_rows, n_cols)) / math.sqrt(n_rows)
        elif kind in _SPARSE_KINDS:
            self._row_idx, self._vals = _draw_sparse_columns(rng, n_rows, n_cols, nnz_per_col)
        else:  # srht
            self._n_padded = _next_power_of_two(n_cols)
            self._signs = _random_signs(rng, n_cols)
            self._rows = np.sort(rng.choice(self._n_padded, size=n_rows, replace=False))

    # ----------------------------------------------------------------------------------
    # public API
    # ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        extra = f", nnz_per_col={self.nnz_per_col}" if self.kind == "sparse_sign" else ""
        return f"SketchOperator(kind={self.kind!r}, shape={self.shape}{extra})"

    def __matmul__(self, A: Any):
        return self.apply(A)

    def apply(self, A: Any):
        """Return ``S @ A``.

        Parameters
        ----------
        A : array_like or scipy.sparse matrix
            A vector of length ``n_cols``, or a 2-D array or SciPy sparse matrix with
            ``n_cols`` rows. Arrays of other array-API namespaces (CuPy, ...) are
            sketched in their namespace, on their device.

        Returns
        -------
        SA : ndarray or scipy.sparse CSR matrix
            ``S @ A`` in double precision: a vector of length ``n_rows`` for a vector
            ``A``, an ``(n_rows, k)`` array for a dense ``A``; for a sparse ``A``, a sparse
            CSR result for the sparse kinds and a dense array for ``gaussian`` and
            ``srht``.

        Raises
        ------
        ValueError
            If ``A`` has the wrong number of rows, is not 1-D or 2-D, or holds NaN or
            infinity.
        TypeError
            If ``A`` is not an array or a sparse matrix.
        """
        if isinstance(A, LinearOperator):
            raise TypeError("A must be an array or a SciPy sparse matrix, got a LinearOperator.")
        if sp.issparse(A):
            if A.ndim == 1:
                return self.apply(A.toarray())
            A, _ = check_operator(A, "A", square=False)
            self._check_rows(A.shape)
            return self._apply_sparse(A)
        xp = get_namespace(A) if hasattr(A, "__array_namespace__") else np
        A = check_array(A, "A", xp=xp)
        if A.ndim not in (1, 2):
            raise ValueError(f"A must be 1- or 2-dimensional, got shape {tuple(A.shape)}.")
        self._check_rows(A.shape)
        A2 = xp.reshape(A, (A.shape[0], -1)) if A.ndim == 1 else A
        if is_numpy_namespace(xp):
            out = self._apply_dense(np.asarray(A2))
        else:
            out = self._apply_dense_xp(A2, xp)
        return xp.reshape(out, (self.shape[0],)) if A.ndim == 1 else out

    def toarray(self) -> np.ndarray:
        """Return ``S`` as a dense ``(n_rows, n_cols)`` NumPy array.

        For the SRHT the entries are computed directly,
        ``S[i, j] = (-1)^popcount(r_i & j) d_j / sqrt(n_rows)``, not through the transform.
        """
        if self.kind == "gaussian":
            return self._matrix.copy()
        if self.kind in _SPARSE_KINDS:
            return self._sparse_matrix(sparray=True).toarray()
        n_rows, n_cols = self.shape
        parity = self._rows[:, None] & np.arange(n_cols)[None, :]
        for shift in (32, 16, 8, 4, 2, 1):
            parity ^= parity >> shift
        hadamard = 1.0 - 2.0 * (parity & 1)
        return hadamard * self._signs[None, :] / math.sqrt(n_rows)

    # ----------------------------------------------------------------------------------
    # application, per input type
    # ----------------------------------------------------------------------------------
    def _check_rows(self, shape: tuple) -> None:
        if shape[0] != self.shape[1]:
            raise ValueError(
                f"A must have {self.shape[1]} rows (the sketch's n_cols) to be sketched, "
                f"got shape {tuple(shape)}."
            )

    def _sparse_matrix(self, *, sparray: bool):
        if self._csc is None:
            n_cols, s = self._row_idx.shape
            indptr = np.arange(0, n_cols * s + 1, s, dtype=np.int64)
            self._csc = sp.csc_array(
                (self._vals.ravel(), self._row_idx.ravel(), indptr), shape=self.shape
            )
        return self._csc if sparray else sp.csc_matrix(self._csc)

    def _apply_unchecked(self, A):
        """``S @ A`` as a dense array, for a trusted 2-D float64 array or CSR matrix.

        For inner loops (sketch-and-project): no validation, and a dense result even for
        the sparse kinds on a CSR ``A`` (through a Numba kernel, not SciPy products).
        """
        if not sp.issparse(A):
            return self._apply_dense(A)
        if self.kind in _SPARSE_KINDS:
            out = np.zeros((self.shape[0], A.shape[1]))
            return sparse_sketch_apply_csr(
                self._row_idx, self._vals, A.indptr, A.indices, A.data, out
            )
        return self._apply_sparse(A)

    def _apply_dense(self, A: np.ndarray) -> np.ndarray:
        if self.kind == "gaussian":
            return self._matrix @ A
        if self.kind in _SPARSE_KINDS:
            A = np.ascontiguousarray(A, dtype=np.float64)
            out = np.zeros((self.shape[0], A.shape[1]))
            return sparse_sketch_apply(self._row_idx, self._vals, A, out)
        padded = np.zeros((self._n_padded, A.shape[1]))
        padded[: self.shape[1]] = A * self._signs[:, None]
        fwht_inplace(padded)
        return padded[self._rows] * (1.0 / math.sqrt(self.shape[0]))

    def _apply_sparse(self, A):
        if self.kind == "gaussian":
            return np.ascontiguousarray((A.T @ self._matrix.T).T)
        if self.kind in _SPARSE_KINDS:
            S = self._sparse_matrix(sparray=not isinstance(A, sp.spmatrix))
            return (S @ A).tocsr()
        return self._apply_dense(A.toarray())

    def _on_device(self, name: str, array: np.ndarray, xp, like):
        """``array`` in namespace ``xp`` on ``like``'s device, copied there once."""
        device = device_of(like)
        key = (name, id(xp), str(device))
        cached = self._device_cache.get(key)
        if cached is None:
            cached = self._device_cache[key] = xp.asarray(array, device=device)
        return cached

    def _apply_dense_xp(self, A, xp):
        """``S @ A`` for arrays of another array-API namespace, on their device."""
        A = xp.astype(A, xp.float64)
        if self.kind in _SPARSE_KINDS and is_cupy_array(A) and numba_cuda_available():
            return self._apply_sparse_cuda(A, xp)
        if self.kind == "srht":
            return self._apply_srht_xp(A, xp)
        dense = self._matrix if self.kind == "gaussian" else self.toarray()
        return xp.matmul(self._on_device("dense", dense, xp, A), A)

    def _apply_sparse_cuda(self, A, xp):
        from numlearn.linalg._sketch_kernels import launch_sparse_sketch_apply_cuda

        row_idx = self._on_device("row_idx", self._row_idx, xp, A)
        vals = self._on_device("vals", self._vals, xp, A)
        out = xp.zeros((self.shape[0], A.shape[1]), dtype=xp.float64, device=device_of(A))
        return launch_sparse_sketch_apply_cuda(row_idx, vals, A, out)

    def _apply_srht_xp(self, A, xp):
        n_padded, k = self._n_padded, A.shape[1]
        signs = self._on_device("signs", self._signs, xp, A)
        parts = [A * signs[:, None]]
        if n_padded > self.shape[1]:
            padding = xp.zeros((n_padded - self.shape[1], k), dtype=xp.float64, device=device_of(A))
            parts.append(padding)
        Y = xp.concat(parts, axis=0)
        h = 1
        while h < n_padded:  # one butterfly stage per reshape
            Y = xp.reshape(Y, (n_padded // (2 * h), 2, h, k))
            top, bottom = Y[:, 0, ...], Y[:, 1, ...]
            Y = xp.reshape(xp.stack([top + bottom, top - bottom], axis=1), (n_padded, k))
            h *= 2
        rows = self._on_device("rows", self._rows, xp, A)
        return xp.take(Y, rows, axis=0) * (1.0 / math.sqrt(self.shape[0]))


def _random_signs(rng: np.random.Generator, size) -> np.ndarray:
    return 2.0 * rng.integers(0, 2, size=size) - 1.0


def _draw_sparse_columns(rng: np.random.Generator, n_rows: int, n_cols: int, s: int):
    """Rows (distinct within a column, sorted) and values ``±1/sqrt(s)`` of each column."""
    highs = np.arange(n_rows - s + 1, n_rows + 1)
    draws = rng.integers(0, highs, size=(n_cols, s))
    row_idx = draws.astype(np.int64) if s == 1 else distinct_rows_floyd(draws, n_rows)
    vals = _random_signs(rng, (n_cols, s)) / math.sqrt(s)
    return row_idx, vals


def sketch_operator(
    kind: str, n_rows: int, n_cols: int, *, random_state: Any = None, **options: Any
) -> SketchOperator:
    """Draw a random sketching matrix ``S`` of shape ``(n_rows, n_cols)``.

    ``S`` maps ``R^n_cols`` to ``R^n_rows`` and is scaled so that ``E[S^T S] = I``.

    Parameters
    ----------
    kind : {"gaussian", "sparse_sign", "countsketch", "srht"}
        ``"gaussian"``
            i.i.d. ``N(0, 1/n_rows)`` entries.
        ``"sparse_sign"``
            each column has ``nnz_per_col`` nonzeros ``±1/sqrt(nnz_per_col)`` at distinct
            uniformly random rows, with independent random signs.
        ``"countsketch"``
            each column has a single ``±1`` at a uniformly random row.
        ``"srht"``
            subsampled randomized Hadamard transform
            ``S = sqrt(N/n_rows) R (H/sqrt(N)) D``, restricted to the first ``n_cols``
            columns, where ``N`` is the power of two at or above ``n_cols`` (inputs are
            zero-padded), ``D`` holds random signs, ``H`` is the Walsh–Hadamard matrix
            (applied by a fast transform) and ``R`` keeps ``n_rows`` of the ``N`` rows,
            drawn without replacement.
    n_rows : int
        Sketch size. For ``"srht"``, at most ``N``.
    n_cols : int
        Dimension of the space being sketched.
    random_state : None, int or numpy.random.Generator, optional
        Seed of the draw, which happens once, here: the returned operator is fixed.
    **options
        nnz_per_col : int, optional (``"sparse_sign"`` only)
            Nonzeros per column, ``1 <= nnz_per_col <= n_rows``; default
            ``min(8, n_rows)``.

    Returns
    -------
    S : SketchOperator
        The sketch, with ``apply(A)``/``S @ A`` and ``toarray()``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown, ``n_rows``, ``n_cols`` or ``nnz_per_col`` are out of range,
        or ``n_rows`` exceeds the padded dimension for ``"srht"``.
    TypeError
        If ``n_rows``, ``n_cols`` or ``nnz_per_col`` are not integers, ``random_state`` is
        not a seed, or an option does not belong to ``kind``.

    References
    ----------
    .. [1] D. P. Woodruff, "Sketching as a tool for numerical linear algebra",
       Foundations and Trends in Theoretical Computer Science 10(1–2), 2014.
    .. [2] J. A. Tropp, A. Yurtsever, M. Udell, V. Cevher, "Streaming low-rank matrix
       approximation with an application to scientific simulation", SIAM J. Sci.
       Comput. 41(4), 2019 (sparse sign maps).
    .. [3] J. A. Tropp, "Improved analysis of the subsampled randomized Hadamard
       transform", Advances in Adaptive Data Analysis 3(1–2), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linalg import sketch_operator
    >>> S = sketch_operator("countsketch", 3, 8, random_state=0)
    >>> S
    SketchOperator(kind='countsketch', shape=(3, 8))
    >>> (S.toarray() != 0).sum(axis=0)
    array([1, 1, 1, 1, 1, 1, 1, 1])
    >>> A = np.arange(16.0).reshape(8, 2)
    >>> (S @ A).shape
    (3, 2)
    >>> bool(np.allclose(S @ A, S.toarray() @ A))
    True

    A sketch of 200 rows embeds a 10-dimensional subspace of ``R^2000``:

    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((2000, 10)))
    >>> S = sketch_operator("srht", 200, 2000, random_state=0)
    >>> sv = np.linalg.svd(S @ Q, compute_uv=False)
    >>> bool(0.6 < sv.min() <= sv.max() < 1.4)
    True
    """
    return SketchOperator(kind, n_rows, n_cols, random_state=random_state, **options)
