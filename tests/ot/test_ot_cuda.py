"""The Numba-CUDA kernels of numlearn.ot against their CPU twins and SciPy.

``cudasim`` tests run the kernels under the CUDA simulator (switched on by the root
conftest when no GPU is visible) on a few small blocks: the simulator runs every thread
in Python. ``gpu`` tests use real CuPy arrays and are skipped without a GPU.
"""

import subprocess
import sys

import numpy as np
import pytest
from scipy.special import logsumexp

from numlearn.datasets import ot_gaussian_clouds
from numlearn.ot import _kernels as K
from numlearn.ot import sinkhorn, sinkhorn_newton_sparse


def _problem(n, m, reg, dtype, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.random((n, m)).astype(dtype)
    f, g = rng.standard_normal(n) * 0.3, rng.standard_normal(m) * 0.3
    L = (f[:, None] + g[None, :] - M.astype(np.float64)) / reg
    return M, f, g, L


def _topk_reference(Y, threshold, cap):
    """Independent NumPy reference of the sparsifier: a stable sort by decreasing value
    (ties by increasing column), the first ``cap`` of the entries passing the threshold."""
    indptr, indices, data = [0], [], []
    for y in Y:
        cand = np.flatnonzero(y >= threshold * y.max())
        order = cand[np.lexsort((cand, -y[cand]))][:cap]
        keep = np.sort(order)
        indices.extend(keep)
        data.extend(y[keep])
        indptr.append(len(indices))
    return np.array(indptr), np.array(indices, dtype=np.int64), np.array(data, dtype=Y.dtype)


def _tied_matrix(n, m, dtype, seed=0):
    rng = np.random.default_rng(seed)
    Y = (np.round(rng.random((n, m)) * 4) / 4).astype(dtype)  # values in {0, .25, ..., 1}
    Y[1] = 0.5  # a constant row: every entry ties
    Y[2, :5] = 0.0  # zeros at the start of a row
    return Y


# --------------------------------------------------------------------------------------
# CPU twins (no CUDA)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("threshold, cap", [(0.0, 3), (0.5, 2), (0.3, 40), (1.0, 1), (0.0, 24)])
def test_cpu_topk_matches_reference(threshold, cap):
    Y = _tied_matrix(6, 24, np.float64)
    got = K.row_topk(Y, threshold, cap)
    for r, x in zip(_topk_reference(Y, threshold, cap), got):
        np.testing.assert_array_equal(x, r)


def test_plan_stats_sparse_uses_the_top_k_rule():
    # the fused SNS pass sparsifies its exp'd rows exactly as row_topk does
    rng = np.random.default_rng(1)
    n, m, reg = 9, 30, 0.05
    M = np.round(rng.random((n, m)) * 8) / 8  # tied costs give tied plan entries
    f, g = np.zeros(n), np.zeros(m)
    for threshold, cap in [(1e-3, 4), (0.0, 7), (0.5, 30)]:
        r, c = np.empty(n), np.empty(m)
        indptr = np.zeros(n + 1, dtype=np.int64)
        indices, data = np.empty(n * m, dtype=np.int64), np.empty(n * m)
        _, nnz = K.plan_stats_sparse(M, f, g, 1.0 / reg, threshold, cap, r, c, indptr,
                                     indices, data)
        Y = np.empty((n, m))
        for i in range(n):  # the same vectorized exp as the fused pass
            K.vexp(((f[i] + g - M[i]) / reg).copy(), Y[i])
        ref = K.row_topk(Y, threshold, cap)
        np.testing.assert_array_equal(indptr, ref[0])
        np.testing.assert_array_equal(indices[:nnz], ref[1])
        np.testing.assert_array_equal(data[:nnz], ref[2])


def test_importing_ot_does_not_import_cuda():
    code = "import sys, numlearn.ot; print('numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------------------
# kernels under the simulator
# --------------------------------------------------------------------------------------
@pytest.mark.cudasim
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reg", [1.0, 1e-4])
def test_lse_kernels_match_scipy(dtype, reg):
    # rows (40) longer than a block (16): every thread folds several entries before the
    # shared-memory reduction; reg = 1e-4 makes exp overflow without the max shift
    n, m = 7, 40
    M, f, g, L = _problem(n, m, reg, dtype)
    f[3] = -np.inf  # a row outside the support: -inf out, no mass in the columns
    L[3] = -np.inf
    out_r, out_c = np.empty(n), np.empty(m)
    K.launch_row_logsumexp_cuda(M, f, g, 1.0 / reg, out_r, threads_per_block=16)
    K.launch_col_logsumexp_cuda(M, f, g, 1.0 / reg, out_c, threads_per_block=16,
                                rows_per_chunk=3)  # three chunks, the last one short
    with np.errstate(invalid="ignore"):
        ref_r, ref_c = logsumexp(L, axis=1), logsumexp(L, axis=0)
    assert np.isneginf(out_r[3])
    np.testing.assert_allclose(out_r, ref_r, rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(out_c, ref_c, rtol=1e-14, atol=1e-12)
    # and the CPU twins agree (they compute the same float64 sums)
    cpu_c = np.empty(m)
    K.col_logsumexp(M, f, g, 1.0 / reg, np.empty(m), cpu_c)
    np.testing.assert_allclose(out_c, cpu_c, rtol=1e-13, atol=1e-12)


@pytest.mark.cudasim
@pytest.mark.parametrize(
    "dtype, threshold, cap",
    [
        (np.float64, 0.0, 3),  # top-k with ties at the cut-off
        (np.float32, 0.0, 5),  # 32-bit keys: four radix digits
        (np.float64, 0.6, 24),  # k >= row length: the relative threshold alone
        (np.float64, 0.0, 30),  # k > row length, threshold 0: every entry
    ],
)
def test_topk_kernel_matches_cpu_twin(dtype, threshold, cap):
    # rows of 24 entries, blocks of 8 threads: the fill kernel scans three chunks per row
    Y = _tied_matrix(4, 24, dtype)
    n = Y.shape[0]
    tval, nties, counts = np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64)
    K.row_topk_select(Y, threshold, min(cap, 24), tval, nties, counts)
    got = K.launch_row_topk_cuda(Y, threshold, min(cap, 24), threads_per_block=8)
    ref = K.row_topk(Y, threshold, min(cap, 24))
    for r, x in zip(ref, got):
        np.testing.assert_array_equal(x, r)
    assert got[2].dtype == dtype
    np.testing.assert_array_equal(np.diff(got[0]), counts)
    for r, x in zip(_topk_reference(Y, threshold, cap), got):
        np.testing.assert_array_equal(x, r)


@pytest.mark.cudasim
def test_launch_helpers_check_block_size():
    M, f, g, _ = _problem(3, 4, 1.0, np.float64)
    with pytest.raises(ValueError, match="threads_per_block must be a power of two"):
        K.launch_row_logsumexp_cuda(M, f, g, 1.0, np.empty(3), threads_per_block=24)
    with pytest.raises(ValueError, match="threads_per_block must be a power of two"):
        K.launch_row_topk_cuda(M, 0.0, 2, threads_per_block=512)


def _kernel_path(a, b, M, reg, method, tol, max_iter, sns_options=None):
    """The solver on the CuPy path's kernels, with host arrays under the simulator."""
    import array_api_compat.numpy as xnp

    from numlearn.ot._ops import CudaOps
    from numlearn.ot._sinkhorn import _check_sns_options, _solve

    ops = CudaOps(xnp, threads_per_block=4, rows_per_chunk=3)
    sns_options = None if sns_options is None else _check_sns_options(**sns_options)
    return _solve(a, b, M, reg, method=method, tol=tol, max_iter=max_iter, init=None,
                  return_history=False, verbose=0, callback=None, name="test",
                  ops=ops, sns_options=sns_options)


@pytest.mark.cudasim
def test_kernel_path_end_to_end_sinkhorn_log():
    a, b, M = ot_gaussian_clouds(8, 6, random_state=7)
    ref = sinkhorn(a, b, M, 0.1, method="sinkhorn_log")
    res = _kernel_path(a, b, M, 0.1, "sinkhorn_log", 1e-9, 1000)
    assert res.n_iter == ref.n_iter and res.converged
    np.testing.assert_allclose(res.plan, ref.plan, rtol=0, atol=1e-14)


@pytest.mark.cudasim
def test_kernel_path_end_to_end_auto_scaling_then_log():
    # the auto loop (one text) on the CUDA ops: a weight of 1e-280 drives a scaling out of
    # range, so the log phase runs on the CUDA log-sum-exp kernels
    a, b, M = ot_gaussian_clouds(8, 6, random_state=7)
    a = a.copy()
    a[0] = 1e-280
    a /= a.sum()
    ref = sinkhorn(a, b, M, 0.1)
    res = _kernel_path(a, b, M, 0.1, "auto", 1e-9, 10000, sns_options={})
    assert res.phases == ref.phases == ("scaling", "log")
    assert res.phase_iters == ref.phase_iters and res.converged
    np.testing.assert_allclose(res.plan, ref.plan, rtol=0, atol=1e-14)


@pytest.mark.slow
@pytest.mark.cudasim
def test_kernel_path_end_to_end_sns():
    # the top-k kernel and SciPy CSR products in the Newton step (~20 s in the simulator)
    a, b, M = ot_gaussian_clouds(8, 6, random_state=7)
    options = dict(density=0.5, reg_schedule=(), n_sinkhorn=20, cg_rtol=1e-8)
    ref = sinkhorn_newton_sparse(a, b, M, 0.05, **options)
    res = _kernel_path(a, b, M, 0.05, "sns", 1e-10, 100, sns_options=options)
    assert ref.n_newton_iter > 0 and res.converged
    assert (res.n_newton_iter, res.n_cg_iter) == (ref.n_newton_iter, ref.n_cg_iter)
    np.testing.assert_allclose(res.plan, ref.plan, rtol=0, atol=1e-13)


# --------------------------------------------------------------------------------------
# real GPU
# --------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cupy_kernels_match_cpu(dtype):
    cupy = pytest.importorskip("cupy")
    n, m, reg = 300, 1000, 1e-3
    M, f, g, L = _problem(n, m, reg, dtype)
    dM, df, dg = cupy.asarray(M), cupy.asarray(f), cupy.asarray(g)
    out_r, out_c = cupy.empty(n), cupy.empty(m)
    K.launch_row_logsumexp_cuda(dM, df, dg, 1.0 / reg, out_r)
    K.launch_col_logsumexp_cuda(dM, df, dg, 1.0 / reg, out_c)
    np.testing.assert_allclose(out_r.get(), logsumexp(L, axis=1), rtol=1e-13, atol=1e-10)
    np.testing.assert_allclose(out_c.get(), logsumexp(L, axis=0), rtol=1e-13, atol=1e-10)
    Y = _tied_matrix(n, m, dtype)
    for threshold, cap in [(0.0, 10), (0.5, m), (1e-3, 200)]:
        got = K.launch_row_topk_cuda(cupy.asarray(Y), threshold, cap)
        for r, x in zip(K.row_topk(Y, threshold, cap), got):
            np.testing.assert_array_equal(x.get(), r)


@pytest.mark.gpu
def test_cupy_sns_top_k_path():
    cupy = pytest.importorskip("cupy")
    a, b, M = ot_gaussian_clouds(200, 150, random_state=3)
    ref = sinkhorn_newton_sparse(a, b, M, 1e-3, density=0.05)
    res = sinkhorn_newton_sparse(cupy.asarray(a), cupy.asarray(b), cupy.asarray(M), 1e-3,
                                 density=0.05)
    assert isinstance(res.plan, cupy.ndarray) and res.converged
    assert abs(res.n_newton_iter - ref.n_newton_iter) <= 2
    np.testing.assert_allclose(res.plan.get(), ref.plan, rtol=0, atol=1e-10)
