"""The structural check of SciPy sparse input (numlearn._validation.check_sparse_structure)
and the dtype rule (float_dtype)."""

import numpy as np
import pytest
import scipy.sparse as sp

from numlearn._sparse_kernels import compressed_structure
from numlearn._validation import check_operator, check_sparse_structure, float_dtype


def _raw(cls, data, indices, indptr, shape):
    """A compressed matrix whose arrays are set after construction (SciPy checks nothing)."""
    A = cls(shape)
    A.data, A.indices, A.indptr = np.asarray(data), np.asarray(indices), np.asarray(indptr)
    return A


def _snapshot(A):
    return [np.array(a, copy=True) for a in (A.data, A.indices, A.indptr)]


def _same(A, snap):
    return all(np.array_equal(a, b) and a.dtype == b.dtype
               for a, b in zip((A.data, A.indices, A.indptr), snap))


MALFORMED = {
    "index equal to n": ([1.0, 2.0], [0, 3], [0, 1, 2], "in \\[0, 3\\); entry 1 is 3"),
    "index 1e8": ([1.0, 2.0], [0, 10**8], [0, 1, 2], "entry 1 is 100000000"),
    "negative index": ([1.0, 2.0], [0, -1], [0, 1, 2], "entry 1 is -1"),
    "indptr not monotone": ([1.0, 2.0], [0, 1], [0, 2, 1], "drops at position 2"),
    "indptr past data": ([1.0, 2.0], [0, 1], [0, 1, 5], "end at most"),
    "indptr not at 0": ([1.0, 2.0], [0, 1], [1, 1, 2], "start at 0"),
    "indptr too short": ([1.0, 2.0], [0, 1], [0, 2], "length 3"),
    "data shorter": ([1.0], [0, 1], [0, 1, 2], "same length"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("cls", [sp.csr_matrix, sp.csc_array])
def test_malformed_refused_with_the_argument_named(case, cls):
    data, indices, indptr, match = MALFORMED[case]
    A = _raw(cls, data, indices, indptr, (2, 3) if cls is sp.csr_matrix else (3, 2))
    snap = _snapshot(A)
    with pytest.raises(ValueError, match="^M\\.") as info:
        check_sparse_structure(A, "M")
    assert info.match(match)
    assert _same(A, snap)


def test_index_and_data_types():
    A = _raw(sp.csr_matrix, [1.0, 2.0], np.array([0.0, 1.0]), [0, 1, 2], (2, 2))
    with pytest.raises(TypeError, match="A.indices must hold integers"):
        check_sparse_structure(A)
    A = _raw(sp.csr_matrix, [1.0, 2.0], np.array([0, 1], np.uint64), [0, 1, 2], (2, 2))
    assert check_sparse_structure(A).indices.dtype in (np.int32, np.int64)
    # an unsigned index past 2**63 is refused, not wrapped into range
    A = _raw(sp.csr_matrix, [1.0, 2.0], np.array([0, 2**63 + 1], np.uint64), [0, 1, 2], (2, 2))
    with pytest.raises(ValueError, match="A.indices"):
        check_sparse_structure(A)
    with pytest.raises(TypeError, match="X must hold real numbers, got dtype complex128"):
        check_sparse_structure(sp.csr_matrix(np.eye(2) * 1j), "X")


def test_coo_out_of_range_refused():
    A = sp.coo_matrix((2, 2))
    A.data, A.coords = np.ones(1), (np.array([0], np.int32), np.array([2], np.int32))
    with pytest.raises(ValueError, match="A.col must hold indices in \\[0, 2\\)"):
        check_sparse_structure(A)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"])
def test_valid_formats_give_the_same_matrix(fmt):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 6)) * (rng.random((6, 6)) < 0.4)
    A = sp.csr_matrix(D).asformat(fmt)
    B = check_sparse_structure(A)
    assert B.format == "csr" and B.has_canonical_format
    np.testing.assert_array_equal(B.toarray(), D)


@pytest.mark.parametrize("cls", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_duplicates_summed_and_order_fixed_on_a_copy(cls):
    # row 0: columns 2, 0, 2 (unsorted, one duplicate); row 1: column 1
    A = _raw(cls, [1.0, 2.0, 4.0, 3.0], [2, 0, 2, 1], [0, 3, 4], (2, 3) if cls is not
             sp.csc_matrix else (3, 2))
    snap = _snapshot(A)
    B = check_sparse_structure(A, format=None)
    assert _same(A, snap)
    assert type(B) is cls and B.has_canonical_format
    expected = np.array([[2.0, 0.0, 5.0], [0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(B.toarray(), expected if cls is not sp.csc_matrix
                                  else expected.T)
    # canonical=False keeps the stored entries (for callers that refuse duplicates)
    C = check_sparse_structure(A, format=None, canonical=False)
    assert C.nnz == 4 and _same(A, snap)


def test_canonical_input_is_not_copied():
    A = sp.random(50, 40, density=0.1, format="csr", random_state=0)
    B = check_sparse_structure(A)
    assert all(np.shares_memory(b, a) for a, b in ((A.data, B.data), (A.indices, B.indices),
                                                  (A.indptr, B.indptr)))


def test_kernel_canonical_flag_matches_scipy():
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(1, 8))
        nnz = int(rng.integers(0, 12))
        rows = rng.integers(0, n, nnz)
        cols = rng.integers(0, n, nnz)
        A = sp.coo_matrix((np.ones(nnz), (rows, cols)), shape=(n, n))
        order = rng.permutation(nnz)  # build a CSR with entries in a random order
        A = _raw(sp.csr_matrix, np.ones(nnz), cols[order][np.argsort(rows[order],
                                                                    kind="stable")],
                 np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]), (n, n))
        code, _, canon = compressed_structure(A.indptr, A.indices, n, True)
        assert code == 0
        ref = A.copy()
        ref.has_canonical_format = False
        # canonical: every row strictly increasing
        expected = all(np.all(np.diff(A.indices[A.indptr[i]:A.indptr[i + 1]]) > 0)
                       for i in range(n))
        assert canon == expected


def _reference_verdict(indptr, indices, n_minor, want_order):
    """compressed_structure's (code, where, canonical), written out in plain Python."""
    indptr, indices = [int(v) for v in indptr], [int(v) for v in indices]
    if indptr[0] != 0:
        return 1, 0, False
    for i in range(len(indptr) - 1):
        if indptr[i + 1] < indptr[i]:
            return 2, i + 1, False
    nnz = indptr[-1]
    if nnz > len(indices):
        return 3, len(indptr) - 1, False
    if nnz == 0:
        return 0, -1, True
    for k in range(nnz):
        if not 0 <= indices[k] < n_minor:
            return 4, k, False
    if not want_order:
        return 0, -1, False
    canon = all(indices[k - 1] < indices[k] for i in range(len(indptr) - 1)
                for k in range(indptr[i] + 1, indptr[i + 1]))
    return 0, -1, canon


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_kernel_verdicts_match_a_plain_reference(dtype):
    """The one-pass kernel's code, position and canonical flag on random, often
    malformed, arrays (entries past indptr[-1] included) equal the plain reference's."""
    rng = np.random.default_rng(7)
    for _ in range(3000):
        n_major, n_minor = int(rng.integers(0, 6)), int(rng.integers(1, 6))
        indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 4, n_major))])
        indices = rng.integers(0, n_minor, int(indptr[-1]) + int(rng.integers(0, 3)))
        if rng.random() < 0.5:  # mostly sorted rows: canonical is often True
            for i in range(n_major):
                indices[indptr[i]:indptr[i + 1]].sort()
        corruption = int(rng.integers(0, 6))
        if corruption == 1 and indices.size:
            indices[rng.integers(indices.size)] = rng.choice([-1, n_minor, 10**8])
        elif corruption == 2 and n_major:
            indptr[rng.integers(1, n_major + 1)] += rng.integers(-3, 4)
        elif corruption == 3:
            indptr[0] = rng.integers(-1, 2)
        elif corruption == 4:
            indptr[-1] += rng.integers(0, 4)
        indptr, indices = indptr.astype(dtype), indices.astype(dtype)
        for want_order in (True, False):
            got = compressed_structure(indptr, indices, n_minor, want_order)
            assert tuple(int(v) for v in got) == _reference_verdict(
                indptr, indices, n_minor, want_order), (indptr, indices, n_minor)


def test_trailing_entries_past_indptr_pruned():
    A = _raw(sp.csr_matrix, [1.0, 2.0, 99.0], [0, 1, 5], [0, 1, 2], (2, 2))
    B = check_sparse_structure(A)
    assert B.nnz == 2 and B.indices.shape == (2,)
    np.testing.assert_array_equal(B.toarray(), np.diag([1.0, 2.0]))


def test_check_input_false_skips_the_check():
    A = _raw(sp.csr_matrix, [1.0, 2.0], [0, 1], [0, 1, 2], (2, 2))
    assert check_sparse_structure(A, check_input=False) is A


def test_check_operator_uses_the_structural_check():
    A = _raw(sp.csc_matrix, [1.0, 2.0], [0, 7], [0, 1, 2], (2, 2))
    with pytest.raises(ValueError, match="M.indices must be row indices in \\[0, 2\\)"):
        check_operator(A, "M")


def test_dtype_rule():
    assert float_dtype(np.float16, "b") == np.float64
    assert float_dtype(np.float32, "b") == np.float32
    assert float_dtype(np.int8, "b") == np.float64
    assert float_dtype(np.bool_, "b") == np.float64
    for bad in (np.complex64, object, "U3", "M8[s]"):
        with pytest.raises(TypeError, match="^b must hold real numbers"):
            float_dtype(bad, "b")
    A, _ = check_operator(np.eye(3, dtype=np.float16))
    assert A.dtype == np.float64
    S, _ = check_operator(sp.csr_matrix(np.eye(3, dtype=np.int8)))
    assert S.dtype == np.float64


# --------------------------------------------------------------------------------------
# cupyx.scipy.sparse input: the same checks as whole-array operations on the device.
# Without a GPU a stand-in runs them: a CSR/CSC class carrying cupyx's module name whose
# arrays are array_api_strict arrays (no NumPy conversion in the checked path).
# --------------------------------------------------------------------------------------
class _DeviceCompressed:
    """Just what check_sparse_structure uses of a cupyx.scipy.sparse CSR/CSC matrix."""

    def __init__(self, arg, shape, fmt="csr"):
        self.data, self.indices, self.indptr = arg
        self.shape, self.format, self.ndim = tuple(shape), fmt, 2
        self.has_canonical_format = True  # cupyx trusts its flag: stale after edits

    @property
    def dtype(self):
        return np.dtype(str(self.data.dtype).rsplit(".", 1)[-1])

    def _scipy(self):
        cls = sp.csr_matrix if self.format == "csr" else sp.csc_matrix
        arrays = [np.from_dlpack(a) for a in (self.data, self.indices, self.indptr)]
        return cls(tuple(arrays), shape=self.shape)

    @classmethod
    def _from_scipy(cls, S, like):
        import array_api_strict as xps

        return cls(tuple(xps.asarray(np.array(a)) for a in (S.data, S.indices, S.indptr)),
                   S.shape, S.format)

    def copy(self):
        return self._from_scipy(self._scipy(), self)

    def sum_duplicates(self):
        if self.has_canonical_format:
            return
        S = self._scipy()
        S.sum_duplicates()
        new = self._from_scipy(S, self)
        self.data, self.indices, self.indptr = new.data, new.indices, new.indptr
        self.has_canonical_format = True

    def tocsr(self):
        return self if self.format == "csr" else self._from_scipy(self._scipy().tocsr(), self)

    def tocsc(self):
        return self if self.format == "csc" else self._from_scipy(self._scipy().tocsc(), self)

    def astype(self, dtype):
        import array_api_strict as xps

        return type(self)((xps.astype(self.data, getattr(xps, np.dtype(dtype).name)),
                           self.indices, self.indptr), self.shape, self.format)

    def toarray(self):
        return self._scipy().toarray()


_DeviceCompressed.__module__ = "cupyx.scipy.sparse._compressed"


def _device(data, indices, indptr, shape, fmt="csr", dtype="float64"):
    import array_api_strict as xps

    return _DeviceCompressed((xps.asarray(np.asarray(data, dtype=dtype)),
                              xps.asarray(np.asarray(indices, dtype=np.int32)),
                              xps.asarray(np.asarray(indptr, dtype=np.int32))), shape, fmt)


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_device_sparse_malformed_refused_like_scipy(case, fmt):
    """The device path refuses every malformed structure with SciPy's path's message."""
    pytest.importorskip("array_api_strict")
    data, indices, indptr, match = MALFORMED[case]
    shape = (2, 3) if fmt == "csr" else (3, 2)
    A = _device(data, indices, indptr, shape, fmt)
    with pytest.raises(ValueError, match="^M\\.") as dev:
        check_sparse_structure(A, "M")
    assert dev.match(match)
    with pytest.raises(ValueError) as host:
        check_sparse_structure(_raw(sp.csr_matrix if fmt == "csr" else sp.csc_matrix,
                                    data, indices, indptr, shape), "M")
    assert str(dev.value) == str(host.value)
    with pytest.raises(ValueError, match="M\\."):
        check_operator(A, "M", square=False)


def test_device_sparse_canonical_verdicts_and_copies():
    pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(1, 6))
        lens = rng.integers(0, 4, n)
        indptr = np.concatenate([[0], np.cumsum(lens)])
        indices = rng.integers(0, n, int(indptr[-1]))
        if rng.random() < 0.5:
            for i in range(n):
                row = np.unique(indices[indptr[i]:indptr[i + 1]])
                indices[indptr[i]:indptr[i] + row.size] = row
                indices[indptr[i] + row.size:indptr[i + 1]] = -7  # refilled below
            keep = indices != -7
            indices = indices[keep]
            indptr = np.concatenate([[0], np.cumsum([np.sum(keep[indptr[i]:indptr[i + 1]])
                                                     for i in range(n)])])
        data = rng.standard_normal(indices.size)
        A = _device(data, indices, indptr, (n, n))
        before = [np.from_dlpack(a).copy() for a in (A.data, A.indices, A.indptr)]
        _, _, canon = compressed_structure(indptr.astype(np.int32),
                                           indices.astype(np.int32), n, True)
        B = check_sparse_structure(A)
        assert (B is A) == bool(canon)  # a copy only when the order had to change
        ref = check_sparse_structure(_raw(sp.csr_matrix, data, indices, indptr, (n, n)))
        np.testing.assert_array_equal(B.toarray(), ref.toarray())
        assert all(np.array_equal(np.from_dlpack(a), b)
                   for a, b in zip((A.data, A.indices, A.indptr), before))
    # entries past indptr[-1] are left out; integer data becomes float64 (the dtype rule)
    A = _device([1, 2, 99], [0, 1, 5], [0, 1, 2], (2, 2), dtype="int64")
    B = check_sparse_structure(A)
    assert B.dtype == np.float64 and B.indices.shape[0] == 2
    np.testing.assert_array_equal(B.toarray(), np.diag([1.0, 2.0]))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        check_sparse_structure(_device([1.0], [0], [0, 1], (1, 1), dtype="complex128"), "X")


@pytest.mark.gpu
def test_cupyx_sparse_structure_on_the_gpu():
    cupy = pytest.importorskip("cupy")
    import cupyx.scipy.sparse as csp

    for case in sorted(MALFORMED):
        data, indices, indptr, match = MALFORMED[case]
        A = csp.csr_matrix((2, 3))
        A.data, A.indices = cupy.asarray(data, dtype=cupy.float64), \
            cupy.asarray(indices, dtype=cupy.int32)
        A.indptr = cupy.asarray(indptr, dtype=cupy.int32)
        with pytest.raises(ValueError, match=match):
            check_sparse_structure(A, "M")
    # duplicates summed and order fixed on a copy, on the device
    A = csp.csr_matrix((2, 3))
    A.data = cupy.asarray([1.0, 2.0, 4.0, 3.0])
    A.indices = cupy.asarray([2, 0, 2, 1], dtype=cupy.int32)
    A.indptr = cupy.asarray([0, 3, 4], dtype=cupy.int32)
    B = check_sparse_structure(A)
    assert isinstance(B, csp.csr_matrix)
    np.testing.assert_array_equal(cupy.asnumpy(B.toarray()),
                                  [[2.0, 0.0, 5.0], [0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(cupy.asnumpy(A.indices), [2, 0, 2, 1])
