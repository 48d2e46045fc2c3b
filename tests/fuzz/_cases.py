"""Fuzz cases for numlearn's public functions and estimators (used by ``_worker.py``).

A case is drawn by hypothesis: a small well-posed problem (its meaning, in float64), then
the *form* it is handed over in (dense in several dtypes/layouts/flags, every SciPy sparse
format, a LinearOperator) and possibly a *corruption* (a malformed sparse structure,
NaN/inf, complex or object data, a wrong length, a parameter out of range).

Each target returns what it expects (``"refuse"`` for corrupted input, ``"answer"`` for
valid input) and a check of the answer: the same result as on the canonical float64
problem, or a residual / a reference library's answer. A valid answer must pass its
check, or say ``converged=False`` and warn. Nothing here imports the worker's machinery.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

# --------------------------------------------------------------------------------------
# forms of a matrix
# --------------------------------------------------------------------------------------
SPARSE_FORMS = ["csr", "csr_array", "csc", "coo", "lil", "bsr"]
DENSE_FORMS = ["dense", "dense_F", "dense_readonly", "dense_strided", "dense_f32",
               "dense_f16", "dense_int", "list"]
#: corruptions of a compressed (CSR/CSC) structure that leave the matrix valid
VALID_STRUCTURE = ["duplicate", "unsorted", "index_int64", "index_uint16",
                   "explicit_zero", "trailing"]
#: corruptions that make it malformed
BAD_STRUCTURE = ["index_n", "index_neg", "index_huge", "indptr_drop", "indptr_past",
                 "indptr_start", "indptr_short", "data_short", "indices_2d"]
BAD_VALUES = ["nan", "inf", "complex", "object"]


def _compressed_arrays(D, by_col, rng, corruption):
    """indptr, indices, data of ``D`` (CSR, or CSC with ``by_col``), corrupted."""
    M = D.T if by_col else D
    n_major, n_minor = M.shape
    rows = []
    for i in range(n_major):
        cols = list(np.flatnonzero(M[i]))
        entries = [(int(j), float(M[i, j])) for j in cols]
        rows.append(entries)
    nonempty = [i for i in range(n_major) if rows[i]]
    if corruption == "duplicate" and nonempty:
        i = nonempty[int(rng.integers(len(nonempty)))]
        j, v = rows[i][int(rng.integers(len(rows[i])))]
        rows[i] = [(jj, vv / 2 if jj == j else vv) for jj, vv in rows[i]] + [(j, v / 2)]
        rng.shuffle(rows[i])
    if corruption == "unsorted":
        for r in rows:
            rng.shuffle(r)
    if corruption == "explicit_zero":
        i = int(rng.integers(n_major))
        present = {j for j, _ in rows[i]}
        free = [j for j in range(n_minor) if j not in present]
        if free:
            rows[i] = sorted(rows[i] + [(free[0], 0.0)])
    indptr = np.zeros(n_major + 1, dtype=np.int32)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.array([j for r in rows for j, _ in r], dtype=np.int32)
    data = np.array([v for r in rows for _, v in r], dtype=np.float64)
    nnz = len(data)
    if corruption == "index_int64":
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    elif corruption == "index_uint16":
        indptr, indices = indptr.astype(np.uint16), indices.astype(np.uint16)
    elif corruption == "trailing":  # entries past indptr[-1] (SciPy allows them)
        indices = np.concatenate([indices, [n_minor + 5]]).astype(np.int32)
        data = np.concatenate([data, [np.nan]])
    elif corruption in ("index_n", "index_neg", "index_huge") and nnz:
        k = int(rng.integers(nnz))
        indices[k] = {"index_n": n_minor, "index_neg": -1, "index_huge": 10**8}[corruption]
    elif corruption == "indptr_drop" and n_major >= 2 and nnz:
        indptr[1] = indptr[2] + 1
    elif corruption in ("indptr_past", "index_n", "index_neg", "index_huge", "indptr_drop"):
        indptr[-1] = nnz + 3  # (also the fallback when there is no entry to corrupt)
    elif corruption == "indptr_start":
        indptr[0] = 1 if nnz else -1
    elif corruption == "indptr_short":
        indptr = indptr[:-1]
    elif corruption == "data_short":
        data = data[:-1] if nnz else np.ones(1)
    elif corruption == "indices_2d":
        indices = indices.reshape(1, -1)
    return indptr, indices, data


def _raw_compressed(cls, shape, arrays):
    """A compressed matrix whose arrays are set after construction: SciPy checks nothing,
    as when arrays are edited in place or shared with C code."""
    A = cls(shape)
    A.indptr, A.indices, A.data = arrays
    return A


def make_matrix(D, form, corruption, rng):
    """``D`` (float64, the meaning) handed over in ``form`` with ``corruption``."""
    if corruption in BAD_VALUES:
        D = D.copy()
        if corruption in ("complex", "object"):
            if form.startswith("dense") or form == "list":
                return D.astype(np.complex128) + 1j if corruption == "complex" \
                    else D.astype(object)
            return sp.csr_matrix(D.astype(np.complex128) + 1j * (D != 0))
        nz = np.argwhere(D != 0)
        i, j = nz[int(rng.integers(len(nz)))] if len(nz) else (0, 0)
        D[i, j] = np.nan if corruption == "nan" else np.inf
    if form == "dense":
        return D
    if form == "dense_F":
        return np.asfortranarray(D)
    if form == "dense_readonly":
        A = D.copy()
        A.flags.writeable = False
        return A
    if form == "dense_strided":
        big = np.zeros((D.shape[0], 2 * D.shape[1]))
        big[:, ::2] = D
        return big[:, ::2]
    if form == "dense_f32":
        return D.astype(np.float32)
    if form == "dense_f16":
        return D.astype(np.float16)
    if form == "dense_int":
        return np.rint(D).astype(np.int64) if np.all(np.isfinite(D)) else D
    if form == "list":
        return D.tolist()
    if form == "linop":
        return aslinearoperator(D)
    if form in ("csr", "csr_array", "csc") and corruption not in BAD_VALUES:
        by_col = form == "csc"
        arrays = _compressed_arrays(D, by_col, rng, corruption)
        cls = {"csr": sp.csr_matrix, "csr_array": sp.csr_array, "csc": sp.csc_matrix}[form]
        return _raw_compressed(cls, D.shape, arrays)
    A = sp.csr_matrix(D)
    if form == "coo":
        A = A.tocoo()
        if corruption in BAD_STRUCTURE:
            A.col[0 if A.nnz else slice(None)] = D.shape[1] if A.nnz else 0
            if not A.nnz:
                A.data = np.ones(1)
        return A
    if form == "bsr":
        return A.tobsr(blocksize=(1, 1))
    if form == "csr_array":
        return sp.csr_array(A)
    return A.asformat(form)


def effective(D, form):
    """What ``D`` means once handed over in ``form`` (a lossy dtype rounds it)."""
    if form == "dense_f32":
        return D.astype(np.float32).astype(np.float64)
    if form == "dense_f16":
        return D.astype(np.float16).astype(np.float64)
    if form == "dense_int":
        return np.rint(D)
    return D


def low_precision(*forms):
    return any(f in ("dense_f32", "vec_f32") for f in forms)


VEC_FORMS = ["vec", "vec_f32", "vec_f16", "vec_int", "vec_readonly", "vec_strided",
             "vec_list", "vec_column"]
BAD_VEC = ["vec_nan", "vec_inf", "vec_complex", "vec_short", "vec_object"]


def make_vector(v, form):
    if form == "vec":
        return v.copy()
    if form == "vec_f32":
        return v.astype(np.float32)
    if form == "vec_f16":
        return v.astype(np.float16)
    if form == "vec_int":
        return np.rint(v).astype(np.int32)
    if form == "vec_readonly":
        w = v.copy()
        w.flags.writeable = False
        return w
    if form == "vec_strided":
        big = np.zeros(2 * v.shape[0])
        big[::2] = v
        return big[::2]
    if form == "vec_list":
        return v.tolist()
    if form == "vec_column":
        return v.reshape(-1, 1).copy()
    if form == "vec_nan":
        w = v.copy()
        w[0] = np.nan
        return w
    if form == "vec_inf":
        w = v.copy()
        w[-1] = -np.inf
        return w
    if form == "vec_complex":
        return v + 1j
    if form == "vec_short":
        return v[:-1].copy()
    if form == "vec_object":
        return v.astype(object)
    raise AssertionError(form)


def vec_effective(v, form):
    if form == "vec_f32":
        return v.astype(np.float32).astype(np.float64)
    if form == "vec_f16":
        return v.astype(np.float16).astype(np.float64)
    if form == "vec_int":
        return np.rint(v)
    return v


# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------
def matrix_form(dense=True, sparse=True, linop=False, wide=False):
    # sparse forms weigh as much as the dense ones, and a third of the sparse draws
    # are malformed: the kernels' structural trust is the crash risk
    forms = (DENSE_FORMS if dense else []) + (SPARSE_FORMS * 2 if sparse else []) + \
        (["linop"] if linop else [])
    corruptions = ["none"] * 12 + (VALID_STRUCTURE * 2 + BAD_STRUCTURE * 2 if sparse
                                   else []) + BAD_VALUES
    return st.tuples(st.sampled_from(forms), st.sampled_from(corruptions))


def is_bad_matrix(form, corruption):
    if corruption in BAD_VALUES:
        return True
    if corruption in BAD_STRUCTURE:
        return form in ("csr", "csr_array", "csc", "coo")
    return False


def normalize_corruption(form, corruption):
    """Structure corruptions only apply to compressed forms (and COO for the bad ones)."""
    if corruption in VALID_STRUCTURE and form not in ("csr", "csr_array", "csc"):
        return "none"
    if corruption in BAD_STRUCTURE and form not in ("csr", "csr_array", "csc", "coo"):
        return "none"
    if form == "linop" and corruption in BAD_VALUES:
        return "none"
    return corruption


def spd(n, rng):
    """Symmetric, strictly diagonally dominant (Jacobi and SOR converge on it)."""
    B = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.5)
    S = np.round(B @ B.T, 3)
    np.fill_diagonal(S, 0.0)
    return S + np.diag(np.abs(S).sum(axis=1) + 1.0 + np.round(rng.random(n), 3))


def rect(m, n, rng):
    X = rng.standard_normal((m, n)) * (rng.random((m, n)) < 0.6)
    return np.round(X, 3)


def vec_form():
    return st.sampled_from(VEC_FORMS * 3 + BAD_VEC)
