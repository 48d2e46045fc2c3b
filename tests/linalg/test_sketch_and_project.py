"""Tests for numlearn.linalg.sketch_and_project."""

import importlib
import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status
from numlearn.linalg._sketch_kernels import (
    block_kaczmarz_epoch_csr,
    block_kaczmarz_epoch_dense,
    fill_distinct_blocks,
    kaczmarz_epoch_csr,
    kaczmarz_epoch_dense,
)
from numlearn.linalg.sketch_and_project import (
    SKETCH_AND_PROJECT_SKETCHES,
    _RowSampler,
    _solve_psd,
    sketch_and_project,
)

SKETCHES = SKETCH_AND_PROJECT_SKETCHES
# the package exports a function of the module's name, so fetch the module itself
sap_module = importlib.import_module("numlearn.linalg.sketch_and_project")


def _rel(x, y):
    return np.linalg.norm(x - y) / np.linalg.norm(y)


@pytest.fixture(scope="module")
def underdetermined():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 80))
    b = A @ rng.standard_normal(80)
    return A, b, np.linalg.lstsq(A, b, rcond=None)[0]


@pytest.fixture(scope="module")
def sparse_underdetermined():
    rng = np.random.default_rng(1)
    R = sp.random(60, 90, density=0.08, random_state=1)
    A = sp.hstack([2.0 * sp.eye(60), R]).tocsr()  # full row rank
    b = A @ rng.standard_normal(150)
    return A, b, np.linalg.lstsq(A.toarray(), b, rcond=None)[0]


# --------------------------------------------------------------------------------------
# convergence to the right solution
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sketch", SKETCHES)
@pytest.mark.parametrize("block_size", [1, 4])
def test_underdetermined_least_norm(underdetermined, sketch, block_size):
    A, b, x_ls = underdetermined
    res = sketch_and_project(A, b, sketch=sketch, block_size=block_size, rtol=1e-10, random_state=0)
    assert res.converged and res.status is Status.SUCCESS
    assert res.residual_norm <= 1e-10 * np.linalg.norm(b)
    assert _rel(res.x, x_ls) < 1e-6


@pytest.mark.parametrize("sketch", SKETCHES)
@pytest.mark.parametrize("block_size", [1, 3])
def test_sparse_underdetermined_least_norm(sparse_underdetermined, sketch, block_size):
    A, b, x_ls = sparse_underdetermined
    res = sketch_and_project(A, b, sketch=sketch, block_size=block_size, rtol=1e-10, random_state=1)
    assert res.converged
    assert _rel(res.x, x_ls) < 1e-6


@pytest.mark.parametrize("sketch", SKETCHES)
def test_overdetermined_consistent(sketch):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((100, 20))
    x_true = rng.standard_normal(20)
    res = sketch_and_project(A, A @ x_true, sketch=sketch, block_size=3, rtol=1e-10, random_state=2)
    assert res.converged
    assert _rel(res.x, x_true) < 1e-7


@pytest.mark.parametrize("sketch", ["gaussian", "kaczmarz", "uniform", "sparse_sign"])
def test_symmetric_indefinite_kkt(sketch):
    rng = np.random.default_rng(3)
    n, p = 30, 8
    B = rng.standard_normal((n, n))
    B = B @ B.T / n + np.eye(n)
    G = rng.standard_normal((p, n))
    K = np.block([[B, G.T], [G, np.zeros((p, p))]])
    assert np.linalg.eigvalsh(K).min() < 0 < np.linalg.eigvalsh(K).max()
    z_true = rng.standard_normal(n + p)
    res = sketch_and_project(
        sp.csr_array(K) if sketch == "uniform" else K,
        K @ z_true,
        sketch=sketch,
        block_size=4,
        rtol=1e-10,
        random_state=3,
    )
    assert res.converged
    assert _rel(res.x, z_true) < 1e-7


@pytest.mark.parametrize("sketch", SKETCHES)
def test_from_x0_converges_to_its_projection(underdetermined, sketch):
    A, b, _ = underdetermined
    x0 = np.random.default_rng(4).standard_normal(80)
    expected = x0 - np.linalg.pinv(A) @ (A @ x0 - b)
    res = sketch_and_project(A, b, sketch=sketch, block_size=2, x0=x0, rtol=1e-10, random_state=4)
    assert res.converged
    assert _rel(res.x, expected) < 1e-6
    assert _rel(res.x, np.linalg.lstsq(A, b, rcond=None)[0]) > 0.1  # not the least-norm one


def test_zero_rhs(underdetermined):
    A, _, _ = underdetermined
    res = sketch_and_project(A, np.zeros(30), random_state=0)
    assert res.converged and res.n_iter == 0
    np.testing.assert_array_equal(res.x, np.zeros(80))
    # with x0, b = 0 still iterates, to the projection of x0 onto the null space of A
    x0 = np.random.default_rng(5).standard_normal(80)
    res = sketch_and_project(A, np.zeros(30), x0=x0, sketch="kaczmarz", rtol=1e-10, random_state=0)
    assert res.converged and res.n_iter > 0
    assert _rel(res.x, x0 - np.linalg.pinv(A) @ (A @ x0)) < 1e-6


def test_single_row_is_solved_in_one_step():
    # with one equation every sketch projects exactly: the classic Kaczmarz update
    rng = np.random.default_rng(6)
    a, x0 = rng.standard_normal(7), rng.standard_normal(7)
    expected = x0 + (2.0 - a @ x0) / (a @ a) * a
    for sketch in SKETCHES:
        res = sketch_and_project(
            a[None, :], [2.0], sketch=sketch, x0=x0, rtol=1e-12, random_state=0
        )
        assert res.converged and res.n_iter == 1
        np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sketch", ["kaczmarz", "uniform"])
@pytest.mark.parametrize("block_size", [1, 2])
def test_row_sampling_probabilities(sketch, block_size):
    # A diagonal system: one step from x0 = 0 sets x_i = 1 exactly for the sampled rows i,
    # so the first iterate shows which rows were drawn.
    scales = np.array([1.0, 2.0, 3.0, 1.0])
    A, b = np.diag(scales), scales.copy()
    n_runs = 1000
    counts = np.zeros(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(n_runs):
            res = sketch_and_project(
                A,
                b,
                sketch=sketch,
                block_size=block_size,
                maxiter=1,
                check_every=1,
                random_state=seed,
            )
            drawn = np.flatnonzero(res.x)
            assert drawn.size == block_size
            np.testing.assert_allclose(res.x[drawn], 1.0, rtol=1e-15)
            counts[drawn] += 1
    p = scales**2 / np.sum(scales**2) if sketch == "kaczmarz" else np.full(4, 0.25)
    expected = _successive_inclusion(p, block_size)
    sd = np.sqrt(expected * (1 - expected) / n_runs)
    assert np.all(np.abs(counts / n_runs - expected) <= 5 * sd)


@pytest.mark.parametrize("sketch", ["kaczmarz", "uniform"])
def test_zero_rows_and_repeated_rows(sketch):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((6, 10))
    A[2] = 0.0
    A[4] = A[1]  # dependent rows: the block Gram matrix is singular
    b = A @ rng.standard_normal(10)
    for block_size in (1, 3, 6):
        res = sketch_and_project(
            A, b, sketch=sketch, block_size=block_size, rtol=1e-10, random_state=block_size
        )
        assert res.converged
        assert _rel(res.x, np.linalg.lstsq(A, b, rcond=None)[0]) < 1e-7


def test_zero_matrix_breaks_down():
    with pytest.warns(ConvergenceWarning, match="Breakdown"):
        res = sketch_and_project(np.zeros((3, 4)), np.ones(3))
    assert res.status is Status.BREAKDOWN and not res.converged
    res = sketch_and_project(np.zeros((3, 4)), np.zeros(3), x0=np.ones(4))
    assert res.converged  # every x solves 0 x = 0: x0 is its own projection
    np.testing.assert_array_equal(res.x, np.ones(4))


def test_inconsistent_system_hits_maxiter(underdetermined):
    rng = np.random.default_rng(8)
    A = rng.standard_normal((40, 10))  # overdetermined with a generic b: inconsistent
    b = rng.standard_normal(40)
    with pytest.warns(ConvergenceWarning, match="did not converge after 400 iterations"):
        res = sketch_and_project(A, b, sketch="kaczmarz", maxiter=400, random_state=0)
    assert not res.converged and res.status is Status.MAX_ITER and res.n_iter == 400
    with pytest.warns(ConvergenceWarning):
        res = sketch_and_project(A, b, sketch="gaussian", block_size=2, maxiter=50, random_state=0)
    assert res.status is Status.MAX_ITER and res.n_iter == 50


def test_diverged_iterates_are_reported(underdetermined, monkeypatch):
    A, b, _ = underdetermined
    monkeypatch.setattr(sap_module, "_solve_psd", lambda M, z: np.full_like(z, np.nan))
    with pytest.warns(ConvergenceWarning, match="Diverged"):
        res = sketch_and_project(A, b, sketch="gaussian", random_state=0)
    assert res.status is Status.DIVERGED and res.n_iter == 1


# --------------------------------------------------------------------------------------
# options: random_state, callback, history, check_every, namespaces
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sketch", SKETCHES)
def test_random_state_reproducible(underdetermined, sketch):
    A, b, _ = underdetermined
    kwargs = dict(sketch=sketch, block_size=2, maxiter=7, check_every=7)
    with pytest.warns(ConvergenceWarning):
        first = sketch_and_project(A, b, random_state=11, **kwargs)
    with pytest.warns(ConvergenceWarning):
        again = sketch_and_project(A, b, random_state=np.random.default_rng(11), **kwargs)
    with pytest.warns(ConvergenceWarning):
        other = sketch_and_project(A, b, random_state=12, **kwargs)
    np.testing.assert_array_equal(first.x, again.x)
    assert not np.allclose(first.x, other.x)


def test_callback_stop_and_read_only_iterate(underdetermined):
    A, b, _ = underdetermined
    seen = []

    def callback(x):
        seen.append(x.copy())
        with pytest.raises(ValueError):
            x[0] = 1.0  # the callback gets a read-only view
        if len(seen) == 3:
            raise StopIteration

    res = sketch_and_project(
        A, b, sketch="uniform", rtol=1e-12, callback=callback, check_every=5, random_state=0
    )
    assert res.status is Status.CALLBACK_STOP and not res.converged
    assert res.n_iter == 15 and len(seen) == 3
    np.testing.assert_array_equal(seen[-1], res.x)


def test_history_and_default_check_every(underdetermined):
    A, b, _ = underdetermined
    res = sketch_and_project(
        A, b, sketch="kaczmarz", block_size=4, rtol=1e-8, random_state=0, return_history=True
    )
    per_pass = math.ceil(30 / 4)  # default check_every for row sketches: one pass
    assert res.n_iter % per_pass == 0
    assert len(res.history) == res.n_iter // per_pass + 1
    assert res.history[0] == pytest.approx(np.linalg.norm(b))
    assert res.history[-1] == res.residual_norm
    assert res.history[-2] > 1e-8 * np.linalg.norm(b) >= res.history[-1]
    res = sketch_and_project(
        A, b, sketch="gaussian", rtol=1e-3, random_state=0, return_history=True
    )
    assert len(res.history) == res.n_iter + 1  # dense sketches check every iteration
    assert "history" not in sketch_and_project(A, b, rtol=1e-3, random_state=0)


def test_verbose_reports_checks(underdetermined, capsys):
    A, b, _ = underdetermined
    res = sketch_and_project(A, b, sketch="uniform", rtol=1e-3, verbose=2, random_state=0)
    lines = capsys.readouterr().out.splitlines()
    # every check (each 30 iterations), and the end once (not again when it was a check)
    assert len(lines) == len(range(30, res.n_iter + 1, 30)) + (res.n_iter % 30 != 0)
    assert lines[-1].startswith(f"sketch_and_project: iter {res.n_iter} ")
    assert all(line.startswith("sketch_and_project: iter ") for line in lines)
    sketch_and_project(A, b, sketch="uniform", rtol=1e-3, random_state=0)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="verbose"):
        sketch_and_project(A, b, verbose=3)


def test_atol_stops_early(underdetermined):
    A, b, _ = underdetermined
    loose = sketch_and_project(A, b, sketch="uniform", rtol=0.0, atol=1e-2, random_state=0)
    tight = sketch_and_project(A, b, sketch="uniform", rtol=0.0, atol=1e-8, random_state=0)
    assert loose.converged and loose.residual_norm <= 1e-2
    assert loose.n_iter < tight.n_iter
    # resuming from the loose solution, the tight tolerance is reached
    resumed = sketch_and_project(
        A, b, sketch="uniform", x0=loose.x, rtol=0.0, atol=1e-8, random_state=1
    )
    assert resumed.converged and resumed.residual_norm <= 1e-8


def test_other_array_namespace_and_float32(underdetermined):
    xps = pytest.importorskip("array_api_strict")
    A, b, x_ls = underdetermined
    res = sketch_and_project(
        xps.asarray(A), xps.asarray(b), sketch="kaczmarz", rtol=1e-10, random_state=0
    )
    assert type(res.x) is type(xps.asarray(b))
    assert _rel(np.asarray(res.x), x_ls) < 1e-6
    res = sketch_and_project(
        A.astype(np.float32), b.astype(np.float32), sketch="uniform", rtol=1e-5, random_state=0
    )
    assert res.converged and res.x.dtype == np.float64


# --------------------------------------------------------------------------------------
# validation, and inputs left alone
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(A=aslinearoperator(np.eye(3))), TypeError, "A must be a dense array"),
        (dict(A=np.array([[1.0, np.nan, 0.0]] * 3)), ValueError, "A contains NaN"),
        (dict(A=np.ones(3)), ValueError, "A must be 2-dimensional"),
        (dict(b=np.ones(4)), ValueError, "b must be a vector of length 3"),
        (dict(b=[1.0, np.inf, 0.0]), ValueError, "b contains NaN"),
        (dict(x0=np.ones(2)), ValueError, "x0 must be a vector of length 3"),
        (dict(sketch="srht"), ValueError, "sketch must be one of"),
        (dict(block_size=0), ValueError, "block_size"),
        (dict(block_size=4), ValueError, "block_size"),
        (dict(block_size=1.0), TypeError, "block_size"),
        (dict(rtol=-1.0), ValueError, "rtol"),
        (dict(atol=-1e-3), ValueError, "atol"),
        (dict(maxiter=-1), ValueError, "maxiter"),
        (dict(check_every=0), ValueError, "check_every"),
        (dict(callback=3), TypeError, "callback"),
        (dict(random_state="seed"), TypeError, "random_state"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    args = dict(A=np.eye(3), b=np.ones(3))
    args.update(kwargs)
    A, b = args.pop("A"), args.pop("b")
    with pytest.raises(error, match=match):
        sketch_and_project(A, b, **args)


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
def test_inputs_not_modified(sparse_underdetermined, sketch):
    A, b, _ = sparse_underdetermined
    # a CSR matrix with duplicate entries must not be canonicalized in place
    indptr = A.indptr + 1
    indptr[0] = 0
    indices = np.insert(A.indices, 0, A.indices[0])  # row 0 stores its first entry twice
    A_dup = sp.csr_array((np.insert(A.data, 0, 0.5), indices, indptr), shape=A.shape)
    assert not A_dup.has_canonical_format
    A_dense = A.toarray()
    x0 = np.ones(150)
    copies = [A_dup.data.copy(), A_dup.indices.copy(), A_dense.copy(), b.copy(), x0.copy()]
    for operator in (A_dup, A_dense):
        sketch_and_project(operator, b, sketch=sketch, x0=x0, rtol=1e-6, random_state=0)
    for before, after in zip(copies, [A_dup.data, A_dup.indices, A_dense, b, x0], strict=True):
        np.testing.assert_array_equal(before, after)
    assert not A_dup.has_canonical_format


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def test_solve_psd_is_a_safe_pseudo_inverse():
    rng = np.random.default_rng(9)
    C = rng.standard_normal((4, 6))
    C[3] = C[0] + C[1]  # rank 3
    M = C @ C.T
    z = C @ rng.standard_normal(6)  # in the range of M, as in a consistent system
    np.testing.assert_allclose(_solve_psd(M, z), np.linalg.pinv(M) @ z, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(_solve_psd(np.zeros((1, 1)), np.ones(1)), np.zeros(1))
    np.testing.assert_array_equal(_solve_psd(np.zeros((2, 2)), np.ones(2)), np.zeros(2))


def test_row_sampler_probabilities_and_distinct_blocks():
    weights = np.array([1.0, 0.0, 3.0, 4.0, 2.0, 1.0, 1.0, 2.0, 3.0, 3.0])
    sampler = _RowSampler(10, 1, weights, np.random.default_rng(0))
    counts = np.bincount(sampler.independent(100_000), minlength=10)
    # multinomial: each count within 5 standard deviations of 100000 p_i
    p = weights / weights.sum()
    assert np.all(np.abs(counts - 1e5 * p) <= 5 * np.sqrt(1e5 * p * (1 - p)) + 1e-9)
    for block_size, by_rejection in ((2, True), (3, False), (4, False)):
        # successive sampling by rejection while block_size * max(p) = block_size/5 <= 1/2
        sampler = _RowSampler(10, block_size, weights, np.random.default_rng(1))
        assert sampler.by_rejection is by_rejection
        blocks = sampler.blocks(500)
        assert blocks.shape == (500, block_size)
        assert all(len(set(row)) == block_size for row in blocks.tolist())
        assert not np.any(blocks == 1)  # a zero row is never drawn
    uniform = _RowSampler(50, 5, None, np.random.default_rng(2))
    counts = np.bincount(uniform.blocks(2000).ravel(), minlength=50)
    assert np.all(np.abs(counts - 200) < 5 * np.sqrt(200))


def _successive_inclusion(p, block_size):
    """P(row i in a block) under successive sampling without replacement, by enumeration."""
    inclusion = np.zeros(len(p))
    for order in itertools.permutations(range(len(p)), block_size):
        prob, left = 1.0, 1.0
        for i in order:
            prob *= p[i] / left if left > 0 else 0.0
            left -= p[i]
        inclusion[list(order)] += prob
    return inclusion


@pytest.mark.parametrize("block_size", [2, 3])  # by rejection, and through rng.choice
def test_weighted_blocks_are_successive_sampling(block_size):
    weights = np.array([1.0, 0.0, 3.0, 4.0, 2.0, 1.0, 1.0, 2.0, 3.0, 3.0])
    p = weights / weights.sum()
    expected = _successive_inclusion(p, block_size)
    assert expected.sum() == pytest.approx(block_size)
    n_blocks = 20_000
    sampler = _RowSampler(10, block_size, weights, np.random.default_rng(3))
    freq = np.bincount(sampler.blocks(n_blocks).ravel(), minlength=10) / n_blocks
    sd = np.sqrt(expected * (1 - expected) / n_blocks)
    assert np.all(np.abs(freq - expected) <= 5 * sd + 1e-12)


def _block_steps_reference(A, b, blocks, x):
    for idx in blocks:
        C = A[idx]
        x = x - C.T @ np.linalg.pinv(C @ C.T) @ (C @ x - b[idx])
    return x


def test_kaczmarz_kernels_match_numpy():
    rng = np.random.default_rng(10)
    A = rng.standard_normal((12, 9)) * (rng.random((12, 9)) < 0.4)
    A[5] = A[3]  # a repeated row: a singular block Gram matrix
    A_csr = sp.csr_array(A)
    b, x0 = rng.standard_normal(12), rng.standard_normal(9)
    blocks = np.array([[0, 3, 5], [7, 2, 11], [4, 8, 1], [3, 5, 6]])
    expected = _block_steps_reference(A, b, blocks, x0)
    out = block_kaczmarz_epoch_dense(A, b, blocks, x0.copy(), 100.0)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    out = block_kaczmarz_epoch_csr(
        A_csr.indptr, A_csr.indices, A_csr.data, b, blocks, x0.copy(), 100.0
    )
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    rows = np.array([0, 4, 4, 9, 3, 11])
    expected = _block_steps_reference(A, b, rows[:, None], x0)
    norms2 = np.sum(A**2, axis=1)
    out = kaczmarz_epoch_dense(A, b, norms2, rows, x0.copy())
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    out = kaczmarz_epoch_csr(A_csr.indptr, A_csr.indices, A_csr.data, b, norms2, rows, x0.copy())
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_fill_distinct_blocks_kernel():
    out = np.full((2, 3), -1, dtype=np.int64)
    block, pos = fill_distinct_blocks(np.array([4, 4, 1, 4, 2, 2]), out, 0, 0)
    assert (block, pos) == (1, 1)
    np.testing.assert_array_equal(out[0], [4, 1, 2])
    assert out[1, 0] == 2
    block, pos = fill_distinct_blocks(np.array([2, 0, 5, 7]), out, block, pos)
    assert (block, pos) == (2, 0)
    np.testing.assert_array_equal(out[1], [2, 0, 5])


def test_weighted_blocks_have_the_law_of_successive_sampling():
    # τ·p_max > 1/2 takes the exponential-race path; its inclusion frequencies must match
    # NumPy's successive sampling without replacement
    weights = np.array([5.0, 1.0, 1.0, 2.0, 0.5, 3.0])
    sampler = _RowSampler(6, 3, weights, np.random.default_rng(0))
    assert not sampler.by_rejection
    blocks = sampler.blocks(40000)
    assert all(len(set(b)) == 3 for b in blocks[:200])
    ours = np.bincount(blocks.ravel(), minlength=6) / 40000
    rng = np.random.default_rng(1)
    ref = np.zeros(6)
    for _ in range(40000):
        ref[rng.choice(6, 3, replace=False, p=weights / weights.sum())] += 1
    np.testing.assert_allclose(ours, ref / 40000, atol=0.01)


# ---- dense matrices of another array library (CuPy on a GPU; array_api_strict here) ----
@pytest.mark.parametrize(
    "sketch, block_size",
    [("gaussian", 4), ("kaczmarz", 1), ("kaczmarz", 4), ("uniform", 3), ("countsketch", 4),
     ("sparse_sign", 5)],
)
def test_array_api_matrix_stays_in_its_namespace_with_the_same_iterates(sketch, block_size):
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 25))
    b = A @ rng.standard_normal(25)
    kw = dict(sketch=sketch, block_size=block_size, random_state=1, rtol=1e-10,
              return_history=True)
    ref = sketch_and_project(A, b, **kw)
    res = sketch_and_project(xps.asarray(A), xps.asarray(b), **kw)
    assert type(res.x) is type(xps.asarray(0.0)) and res.x.dtype == xps.float64
    assert res.converged and res.n_iter == ref.n_iter
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(res.x), np.linalg.lstsq(A, b, rcond=None)[0],
                               atol=1e-8)


def test_array_api_matrix_x0_callback_and_bad_input():
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(1)
    A = rng.standard_normal((30, 40))  # underdetermined: converges to the point closest to x0
    b = A @ rng.standard_normal(40)
    x0 = rng.standard_normal(40)
    seen = []
    res = sketch_and_project(xps.asarray(A), xps.asarray(b), x0=xps.asarray(x0),
                             sketch="gaussian", block_size=6, rtol=1e-11, random_state=0,
                             callback=lambda x: seen.append(type(x)))
    closest = x0 - np.linalg.pinv(A) @ (A @ x0 - b)
    np.testing.assert_allclose(np.asarray(res.x), closest, atol=1e-8)
    assert seen and all(t is type(xps.asarray(0.0)) for t in seen)
    b_bad = np.array(b)
    b_bad[2] = np.nan
    with pytest.raises(ValueError, match="b contains NaN"):
        sketch_and_project(xps.asarray(A), xps.asarray(b_bad))
    with pytest.raises(ValueError, match="b"):
        sketch_and_project(xps.asarray(A), xps.asarray(b[:-1]))
