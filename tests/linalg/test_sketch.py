"""Tests for numlearn.linalg.sketch and its Numba kernels."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from numlearn.linalg._sketch_kernels import (
    distinct_rows_floyd,
    fwht_inplace,
    launch_sparse_sketch_apply_cuda,
    sparse_sketch_apply,
    sparse_sketch_apply_csr,
    sparse_sketch_apply_reference,
)
from numlearn.linalg.sketch import SKETCH_KINDS, SketchOperator, sketch_operator

SHAPES = [(3, 6), (5, 17), (1, 1), (8, 8), (4, 33)]


def _dense(M):
    return M.toarray() if sp.issparse(M) else np.asarray(M)


# --------------------------------------------------------------------------------------
# S @ A agrees with the dense S, for every kind and input type
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SKETCH_KINDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_toarray_matches_apply_dense(kind, shape):
    n_rows, n_cols = shape
    S = sketch_operator(kind, n_rows, n_cols, random_state=1)
    D = S.toarray()
    assert D.shape == shape and D.dtype == np.float64
    np.testing.assert_allclose(S.apply(np.eye(n_cols)), D, rtol=1e-13, atol=1e-14)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n_cols, 4))
    for operand in (A, np.asfortranarray(A), A.astype(np.float32), A[:, 0], A.tolist()):
        out = S @ operand
        expected = D @ np.asarray(operand, dtype=np.float64)
        assert isinstance(out, np.ndarray) and out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", SKETCH_KINDS)
@pytest.mark.parametrize("fmt", [sp.csr_array, sp.csr_matrix, sp.csc_array, sp.coo_matrix])
def test_toarray_matches_apply_sparse(kind, fmt):
    n_rows, n_cols = 5, 17
    S = sketch_operator(kind, n_rows, n_cols, random_state=2)
    A = fmt(sp.random(n_cols, 6, density=0.4, random_state=3))
    out = S @ A
    np.testing.assert_allclose(_dense(out), S.toarray() @ A.toarray(), rtol=1e-12, atol=1e-12)
    if kind in ("sparse_sign", "countsketch"):
        assert sp.issparse(out) and out.format == "csr"
        # the result has the flavour (sparse array or matrix) of its input
        assert isinstance(out, sp.spmatrix) == isinstance(A, sp.spmatrix)
    else:
        assert isinstance(out, np.ndarray)


@pytest.mark.parametrize("kind", SKETCH_KINDS)
def test_apply_in_other_array_namespace(kind):
    xps = pytest.importorskip("array_api_strict")
    S = sketch_operator(kind, 4, 11, random_state=4)
    A = np.random.default_rng(5).standard_normal((11, 3))
    out = S @ xps.asarray(A)
    assert type(out) is type(xps.asarray(A))
    np.testing.assert_allclose(np.asarray(out), S.toarray() @ A, rtol=1e-12, atol=1e-12)
    out = S @ xps.asarray(A[:, 0], dtype=xps.float32)
    assert out.shape == (4,)
    np.testing.assert_allclose(np.asarray(out), S.toarray() @ A[:, 0], rtol=1e-5, atol=1e-5)


def test_repr_and_attributes():
    S = sketch_operator("sparse_sign", 4, 10, random_state=0, nnz_per_col=2)
    assert repr(S) == "SketchOperator(kind='sparse_sign', shape=(4, 10), nnz_per_col=2)"
    assert (S.kind, S.shape, S.nnz_per_col) == ("sparse_sign", (4, 10), 2)
    assert repr(sketch_operator("srht", 3, 5)) == "SketchOperator(kind='srht', shape=(3, 5))"
    assert sketch_operator("countsketch", 3, 5).nnz_per_col == 1
    assert sketch_operator("gaussian", 3, 5).nnz_per_col is None
    assert sketch_operator("sparse_sign", 3, 5).nnz_per_col == 3  # default min(8, n_rows)
    assert sketch_operator("sparse_sign", 30, 5).nnz_per_col == 8
    assert isinstance(SketchOperator("gaussian", 2, 3), SketchOperator)


# --------------------------------------------------------------------------------------
# distribution: E[SᵀS] = I, and exact structure
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SKETCH_KINDS)
def test_expected_gram_is_identity(kind):
    # The largest variance of an entry of SᵀS over the four kinds (n_rows = 3) is 2/3
    # (Gaussian diagonal: a sum of 3 squares of N(0, 1/3)); the others are <= 1/3. The
    # mean of 2000 draws thus has a standard error <= sqrt(2/3 / 2000) = 0.0183, and the
    # tolerance 0.1 is >= 5.4 standard errors for each of the 36 entries. A wrong scale
    # (e.g. 1/n_cols instead of 1/n_rows) moves the diagonal by >= 0.5.
    n_rows, n_cols, n_draws = 3, 6, 2000
    mean = np.zeros((n_cols, n_cols))
    for seed in range(n_draws):
        D = sketch_operator(kind, n_rows, n_cols, random_state=seed).toarray()
        mean += D.T @ D
    mean /= n_draws
    assert np.abs(mean - np.eye(n_cols)).max() < 0.1


def test_countsketch_structure():
    D = sketch_operator("countsketch", 7, 50, random_state=0).toarray()
    assert np.all((D != 0).sum(axis=0) == 1)
    np.testing.assert_array_equal(np.abs(D).sum(axis=0), np.ones(50))
    # both signs and many rows are used
    assert set(np.unique(D[D != 0])) == {-1.0, 1.0}
    assert len(np.unique(np.nonzero(D)[0])) >= 5


@pytest.mark.parametrize("nnz_per_col", [1, 3, 7])
def test_sparse_sign_structure(nnz_per_col):
    D = sketch_operator("sparse_sign", 7, 60, random_state=1, nnz_per_col=nnz_per_col).toarray()
    assert np.all((D != 0).sum(axis=0) == nnz_per_col)
    np.testing.assert_allclose(np.abs(D[D != 0]), 1 / math.sqrt(nnz_per_col), rtol=1e-15)
    np.testing.assert_allclose((D**2).sum(axis=0), 1.0, rtol=1e-14)
    assert set(np.sign(D[D != 0])) == {-1.0, 1.0}


@pytest.mark.parametrize("n_rows", [1, 5, 16])
def test_srht_rows_orthogonal(n_rows):
    n_cols = 16  # a power of two: no padding
    D = sketch_operator("srht", n_rows, n_cols, random_state=2).toarray()
    np.testing.assert_allclose(D @ D.T, (n_cols / n_rows) * np.eye(n_rows), atol=1e-12)
    np.testing.assert_allclose(np.abs(D), 1 / math.sqrt(n_rows), rtol=1e-15)
    if n_rows == n_cols:  # all rows kept: S is sqrt(N/n_rows) times an orthogonal matrix
        np.testing.assert_allclose(D.T @ D, np.eye(n_cols), atol=1e-12)


def test_srht_rows_are_random():
    # For n_cols = N, row r of S is h_{R_r} * d / sqrt(n_rows) (h: Hadamard rows, d: the
    # signs), so the product of the two rows of a 2-row SRHT, times 2, is the Hadamard
    # row h_{R_0 xor R_1}, whatever d is. With R drawn at random all 7 nonzero xors occur.
    H = scipy.linalg.hadamard(8)
    seen = set()
    for seed in range(100):
        D = sketch_operator("srht", 2, 8, random_state=seed).toarray()
        matches = np.flatnonzero(np.all(np.isclose(H, 2 * D[0] * D[1]), axis=1))
        assert matches.size == 1
        seen.add(int(matches[0]))
    assert seen == set(range(1, 8))


@pytest.mark.parametrize("kind", SKETCH_KINDS)
def test_subspace_embedding(kind):
    # A 200-row sketch of a 10-dimensional subspace of R^2000. For the Gaussian sketch
    # the singular values concentrate in 1 ± sqrt(10/200) = 1 ± 0.22 (plus O(1/sqrt(200))
    # fluctuations); over 200 seeds the largest deviation seen for any kind was 0.30
    # (median 0.20), so eps = 0.35 is strict but safe for this fixed seed.
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((2000, 10)))
    S = sketch_operator(kind, 200, 2000, random_state=0)
    sv = np.linalg.svd(S @ Q, compute_uv=False)
    assert 1 - 0.35 <= sv.min() <= sv.max() <= 1 + 0.35


# --------------------------------------------------------------------------------------
# reproducibility and validation
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SKETCH_KINDS)
def test_random_state_reproducible(kind):
    first = sketch_operator(kind, 4, 20, random_state=7).toarray()
    np.testing.assert_array_equal(first, sketch_operator(kind, 4, 20, random_state=7).toarray())
    assert not np.array_equal(first, sketch_operator(kind, 4, 20, random_state=8).toarray())
    rng = np.random.default_rng(7)
    a = sketch_operator(kind, 4, 20, random_state=rng).toarray()
    b = sketch_operator(kind, 4, 20, random_state=rng).toarray()  # the generator advanced
    assert not np.array_equal(a, b)
    # the operator is fixed: applying it twice gives the same result
    S = sketch_operator(kind, 4, 20, random_state=0)
    x = np.arange(20.0)
    np.testing.assert_array_equal(S @ x, S @ x)


@pytest.mark.parametrize(
    "args, options, error, match",
    [
        (("fourier", 3, 5), {}, ValueError, "kind"),
        (("gaussian", 0, 5), {}, ValueError, "n_rows"),
        (("gaussian", 2.5, 5), {}, TypeError, "n_rows"),
        (("gaussian", 3, -1), {}, ValueError, "n_cols"),
        (("countsketch", 3, "5"), {}, TypeError, "n_cols"),
        (("sparse_sign", 3, 5), {"nnz_per_col": 0}, ValueError, "nnz_per_col"),
        (("sparse_sign", 3, 5), {"nnz_per_col": 4}, ValueError, "nnz_per_col"),
        (("sparse_sign", 3, 5), {"nnz_per_col": 1.5}, TypeError, "nnz_per_col"),
        (("gaussian", 3, 5), {"nnz_per_col": 2}, TypeError, "nnz_per_col"),
        (("countsketch", 3, 5), {"density": 0.1}, TypeError, "density"),
        (("srht", 9, 8), {}, ValueError, "n_rows"),
        (("srht", 17, 9), {}, ValueError, "n_rows"),
        (("gaussian", 3, 5), {"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_constructor_errors(args, options, error, match):
    with pytest.raises(error, match=match):
        sketch_operator(*args, **options)


@pytest.mark.parametrize("kind", SKETCH_KINDS)
def test_apply_errors(kind):
    S = sketch_operator(kind, 3, 5, random_state=0)
    with pytest.raises(ValueError, match="A must have 5 rows"):
        S @ np.ones((4, 2))
    with pytest.raises(ValueError, match="A must have 5 rows"):
        S @ np.ones(6)
    with pytest.raises(ValueError, match="A must have 5 rows"):
        S @ sp.eye(4, format="csr")
    with pytest.raises(ValueError, match="A contains NaN"):
        S @ np.array([1.0, 2.0, np.nan, 0.0, 1.0])
    with pytest.raises(ValueError, match="A contains NaN"):
        S @ sp.csr_array(np.diag([1.0, np.inf, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="A must be 1- or 2-dimensional"):
        S @ np.ones((5, 2, 2))
    with pytest.raises(TypeError, match="A must hold real numbers"):
        S @ np.ones(5, dtype=complex)
    from scipy.sparse.linalg import aslinearoperator

    with pytest.raises(TypeError, match="A must be"):
        S @ aslinearoperator(np.eye(5))


# --------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 8, 64, 256])
@pytest.mark.parametrize("k", [1, 3])
def test_fwht_matches_scipy_hadamard(n, k):
    a = np.random.default_rng(n + k).standard_normal((n, k))
    expected = scipy.linalg.hadamard(n) @ a
    out = fwht_inplace(a)
    assert out is a  # in place
    np.testing.assert_allclose(a, expected, rtol=1e-12, atol=1e-12)


def test_distinct_rows_floyd_is_uniform_over_subsets():
    n, s, n_cols = 5, 2, 20000
    rng = np.random.default_rng(0)
    draws = rng.integers(0, np.arange(n - s + 1, n + 1), size=(n_cols, s))
    rows = distinct_rows_floyd(draws, n)
    assert rows.shape == (n_cols, s) and rows.min() >= 0 and rows.max() < n
    assert np.all(np.diff(rows, axis=1) > 0)  # distinct and sorted
    codes = rows[:, 0] * n + rows[:, 1]
    counts = np.unique(codes, return_counts=True)[1]
    # 10 subsets, each with probability 1/10: counts 2000 ± 5 sd (sd = 42.4)
    assert counts.size == 10 and np.all(np.abs(counts - n_cols / 10) < 5 * 42.5)
    full = distinct_rows_floyd(rng.integers(0, np.arange(1, 6), size=(3, 5)), 5)
    np.testing.assert_array_equal(full, np.tile(np.arange(5), (3, 1)))


@pytest.fixture
def sparse_sketch_arrays():
    S = sketch_operator("sparse_sign", 6, 40, random_state=3, nnz_per_col=3)
    A = np.random.default_rng(4).standard_normal((40, 5))
    return S, A


def test_sparse_sketch_kernels_match_reference(sparse_sketch_arrays):
    S, A = sparse_sketch_arrays
    row_idx, vals = S._row_idx, S._vals
    expected = sparse_sketch_apply_reference(row_idx, vals, A, 6)
    np.testing.assert_allclose(expected, S.toarray() @ A, rtol=1e-13, atol=1e-13)
    out = np.ones((6, 5))  # the kernel accumulates: out += S @ A
    sparse_sketch_apply(row_idx, vals, A, out)
    np.testing.assert_allclose(out, expected + 1, rtol=1e-13, atol=1e-13)
    A_csr = sp.csr_array(np.where(np.abs(A) > 0.8, A, 0.0))
    out = sparse_sketch_apply_csr(
        row_idx, vals, A_csr.indptr, A_csr.indices, A_csr.data, np.zeros((6, 5))
    )
    np.testing.assert_allclose(out, S.toarray() @ A_csr.toarray(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(S._apply_unchecked(A_csr), out, rtol=1e-13, atol=1e-13)


@pytest.mark.cudasim
def test_sparse_sketch_cuda_matches_cpu():
    # tiny: the simulator runs every thread in Python. 20 × 3 entries, 4 blocks of 16.
    S = sketch_operator("sparse_sign", 5, 20, random_state=5, nnz_per_col=2)
    A = np.random.default_rng(6).standard_normal((20, 3))
    out = np.zeros((5, 3))
    launch_sparse_sketch_apply_cuda(S._row_idx, S._vals, A, out, threads_per_block=16)
    expected = sparse_sketch_apply(S._row_idx, S._vals, A, np.zeros((5, 3)))
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.gpu
@pytest.mark.parametrize("kind", SKETCH_KINDS)
def test_apply_cupy_matches_numpy(kind):
    cupy = pytest.importorskip("cupy")
    S = sketch_operator(kind, 50, 3000, random_state=0)
    A = np.random.default_rng(1).standard_normal((3000, 7))
    out = S @ cupy.asarray(A)
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_allclose(out.get(), S @ A, rtol=1e-10, atol=1e-10)
