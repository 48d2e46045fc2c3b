"""Numba-CUDA kernels of numlearn.completion against their CPU twins, and the CuPy path.

``cudasim`` tests run the kernels under the Numba CUDA simulator (on a GPU machine, on the
GPU) on a few rows and at most 4 blocks; ``gpu`` tests need CuPy and a real GPU.
"""

import sys

import numpy as np
import pytest

import numlearn.completion  # noqa: F401  (the altmin module, not the function, below)
from numlearn._backend import to_numpy
from numlearn.completion import AltMinCompletion, altmin, predict_entries
from numlearn.completion._altmin_kernels import (
    observed_residuals,
    solve_rows_cg,
    solve_rows_cholesky,
)
from numlearn.completion._observations import row_layout

altmin_module = sys.modules["numlearn.completion.altmin"]


def _rows(m=12, n=16, k=3, density=0.4, seed=0):
    """Row-wise CSR observations with one empty row, and a factor ``V``."""
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    mask[5] = False  # an empty row
    rows, cols = np.nonzero(mask)
    values = rng.standard_normal(rows.shape[0])
    return row_layout(rows, cols, values, m), rng.standard_normal((n, k))


def _normal_reference(layout, V, reg):
    m, k = layout.indptr.shape[0] - 1, V.shape[1]
    G, r = np.empty((m, k, k)), np.empty((m, k))
    for i in range(m):
        sl = slice(layout.indptr[i], layout.indptr[i + 1])
        Vi = V[layout.indices[sl]].astype(np.float64)
        G[i] = Vi.T @ Vi + reg * np.eye(k)
        r[i] = Vi.T @ layout.values[sl].astype(np.float64)
    return G, r


def _tol(dtype):
    return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)


@pytest.mark.cudasim
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_normal_equations_kernel(k, dtype):
    from numlearn.completion._cuda_engine import launch_normal_equations_cuda

    layout, V = _rows(k=k, seed=k)
    V, values = V.astype(dtype), layout.values.astype(dtype)
    m = layout.indptr.shape[0] - 1
    G, r = np.full((m, k, k), np.nan), np.full((m, k), np.nan)
    launch_normal_equations_cuda(layout.indptr, layout.indices, values, V, 0.25, G, r,
                                 max_blocks=4)
    G_ref, r_ref = _normal_reference(layout._replace(values=values), V, 0.25)
    np.testing.assert_allclose(G, G_ref, rtol=1e-13, atol=1e-13)  # float64 sums either way
    np.testing.assert_allclose(r, r_ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(G, np.swapaxes(G, 1, 2))  # exactly symmetric
    np.testing.assert_array_equal(G[5], 0.25 * np.eye(k))  # the empty row: reg I


@pytest.mark.cudasim
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_cholesky_kernel_matches_cpu_twin_and_solve(k, dtype):
    from numlearn.completion._cuda_engine import (
        launch_cholesky_solve_cuda,
        launch_normal_equations_cuda,
    )

    layout, V = _rows(k=k, seed=10 + k)
    m = layout.indptr.shape[0] - 1
    G, r = np.empty((m, k, k)), np.empty((m, k))
    launch_normal_equations_cuda(layout.indptr, layout.indices, layout.values, V, 0.1, G, r,
                                 max_blocks=4)
    G[3] = 0.0  # a singular system: flagged, its row zero
    out, failed = np.full((m, k), np.nan, dtype=dtype), np.full(m, -1, dtype=np.int32)
    launch_cholesky_solve_cuda(G, r, out, failed, threads_per_block=8)
    assert out.dtype == dtype
    np.testing.assert_array_equal(failed, np.arange(m) == 3)
    ok = failed == 0
    np.testing.assert_allclose(out[ok], np.linalg.solve(G[ok], r[ok][:, :, None])[:, :, 0],
                               **_tol(dtype))
    np.testing.assert_array_equal(out[3], 0.0)
    # the CPU twin (assembly + Cholesky of one row per prange iteration) on the same rows
    twin = np.empty((m, k))
    assert solve_rows_cholesky(layout.indptr, layout.indices, layout.values, V, 0.1, twin) == 0
    np.testing.assert_allclose(out[ok], twin[ok], **_tol(dtype))


@pytest.mark.cudasim
def test_cholesky_kernel_flags_rank_deficient_rows_like_cpu():
    from numlearn.completion._cuda_engine import (
        launch_cholesky_solve_cuda,
        launch_normal_equations_cuda,
    )

    layout, V = _rows(m=8, n=10, k=4, density=0.2, seed=3)  # rows with < 4 observations
    m, k = 8, 4
    G, r = np.empty((m, k, k)), np.empty((m, k))
    launch_normal_equations_cuda(layout.indptr, layout.indices, layout.values, V, 0.0, G, r)
    out, failed = np.empty((m, k)), np.zeros(m, dtype=np.int32)
    launch_cholesky_solve_cuda(G, r, out, failed, threads_per_block=4)
    twin = np.empty((m, k))
    n_fail = solve_rows_cholesky(layout.indptr, layout.indices, layout.values, V, 0.0, twin)
    assert n_fail > 0 and failed.sum() == n_fail
    np.testing.assert_array_equal(out[failed == 1], 0.0)
    np.testing.assert_allclose(out, twin, rtol=1e-10, atol=1e-12)


@pytest.mark.cudasim
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_cg_kernel_matches_cpu_twin(k, dtype):
    from numlearn.completion._cuda_engine import launch_cg_rows_cuda

    layout, V = _rows(k=k, seed=20 + k)
    m = layout.indptr.shape[0] - 1
    x0 = np.random.default_rng(k).standard_normal((m, k))
    out = x0.astype(dtype)
    launch_cg_rows_cuda(layout.indptr, layout.indices, layout.values.astype(dtype),
                        V.astype(dtype), 0.2, out, 2, threads_per_block=8)
    twin = x0.copy()
    solve_rows_cg(layout.indptr, layout.indices, layout.values, V, 0.2, twin, 2)
    np.testing.assert_allclose(out, twin, **(_tol(dtype) if dtype == np.float64
                                           else dict(rtol=1e-4, atol=1e-4)))
    # k steps of CG solve the k x k system exactly
    full = x0.copy()
    launch_cg_rows_cuda(layout.indptr, layout.indices, layout.values, V, 0.2, full, k)
    G, r = _normal_reference(layout, V, 0.2)
    np.testing.assert_allclose(full, np.linalg.solve(G, r[:, :, None])[:, :, 0], rtol=1e-8,
                               atol=1e-9)


@pytest.mark.cudasim
def test_residuals_kernel_matches_cpu_twin():
    from numlearn.completion._cuda_engine import launch_residuals_cuda

    layout, V = _rows(k=3, seed=30)
    U = np.random.default_rng(1).standard_normal((12, 3))
    out = np.full(layout.values.shape, np.nan)
    launch_residuals_cuda(layout.indptr, layout.indices, layout.values, U, V, out,
                          threads_per_block=4)
    twin = np.empty_like(out)
    observed_residuals(layout.indptr, layout.indices, layout.values, U, V, twin)
    np.testing.assert_allclose(out, twin, rtol=1e-14, atol=1e-14)


@pytest.mark.cudasim
def test_launchers_reject_large_rank():
    from numlearn.completion._cuda_engine import launch_cg_rows_cuda, launch_cholesky_solve_cuda

    with pytest.raises(ValueError, match="k <= 32"):
        launch_cholesky_solve_cuda(np.zeros((1, 33, 33)), np.zeros((1, 33)), np.zeros((1, 33)),
                                   np.zeros(1, np.int32))
    with pytest.raises(ValueError, match="k <= 32"):
        launch_cg_rows_cuda(np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros(0),
                            np.zeros((3, 33)), 0.1, np.zeros((1, 33)), 1)


@pytest.mark.cudasim
@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_cuda_engine_end_to_end_under_simulator(solver, monkeypatch):
    """altmin with the kernel engine on host arrays equals the NumPy path."""
    import array_api_compat.numpy as cnp

    xps = pytest.importorskip("array_api_strict")
    from numlearn.completion._observations import ArrayObservations
    from numlearn.completion._cuda_engine import CudaEngine

    def kernel_engine(obs, rank, **options):  # plain AltMin: no recommender options
        assert not any(options.values())
        host = tuple(np.asarray(to_numpy(a)) for a in obs[:3])
        return CudaEngine(ArrayObservations(*host, obs.shape, cnp, "cpu"))

    monkeypatch.setattr(altmin_module, "make_engine", kernel_engine)
    rng = np.random.default_rng(0)
    M = rng.standard_normal((16, 2)) @ rng.standard_normal((2, 12))
    rows, cols = np.nonzero(rng.random(M.shape) < 0.6)
    obs = (rows, cols, M[rows, cols], M.shape)
    kw = dict(reg=0.01, solver=solver, random_state=0, max_iter=2, tol=0.0, cg_steps=2)
    with pytest.warns(Warning):
        ref = altmin(obs, 2, **kw)
    with pytest.warns(Warning):
        res = altmin(tuple(xps.asarray(a) for a in obs[:3]) + (M.shape,), 2, **kw)
    assert res.n_iter == ref.n_iter == 2
    np.testing.assert_allclose(res.U, ref.U, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.V, ref.V, rtol=1e-12, atol=1e-12)
    assert res.rmse == pytest.approx(ref.rmse, rel=1e-12)


# ----------------------------------------------------------------------------- real GPU


def _gpu_problem(m=300, n=200, k=4, frac=0.3, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    rows, cols = np.nonzero(rng.random((m, n)) < frac)
    return (rows, cols, M[rows, cols], (m, n)), M


@pytest.mark.gpu
@pytest.mark.parametrize("solver", ["cholesky", "cg", "sketch"])
def test_cupy_altmin_matches_numpy(solver):
    cp = pytest.importorskip("cupy")
    obs, M = _gpu_problem()
    kw = dict(reg=0.05, solver=solver, random_state=0, tol=1e-6, max_iter=300)
    ref = altmin(obs, 4, **kw)
    res = altmin(tuple(cp.asarray(a) for a in obs[:3]) + (obs[3],), 4, **kw)
    assert isinstance(res.U, cp.ndarray) and isinstance(res.V, cp.ndarray)
    assert res.n_iter == ref.n_iter
    # fused multiply-adds on the GPU: agreement to rounding, amplified a little
    np.testing.assert_allclose(res.U.get(), ref.U, atol=1e-9)
    np.testing.assert_allclose(res.V.get(), ref.V, atol=1e-9)


@pytest.mark.gpu
def test_cupy_float32_large_rank_sparse_and_estimator():
    cp = pytest.importorskip("cupy")
    cpx_sparse = pytest.importorskip("cupyx.scipy.sparse")
    obs, M = _gpu_problem(k=3)
    rows, cols, values, shape = obs
    res = altmin((cp.asarray(rows), cp.asarray(cols), cp.asarray(values, dtype=cp.float32),
                  shape), 3, tol=1e-5, random_state=0)
    assert res.U.dtype == cp.float32
    assert float(cp.abs(res.U @ res.V.T - cp.asarray(M)).max()) < 1e-3 * np.abs(M).max()
    # rank > 32: the generic CuPy engine
    obs40, _ = _gpu_problem(m=120, n=100, k=3, frac=0.8)
    ref = altmin(obs40, 40, reg=1.0, random_state=0, max_iter=3, tol=0.5)
    res = altmin(tuple(cp.asarray(a) for a in obs40[:3]) + (obs40[3],), 40, reg=1.0,
                 random_state=0, max_iter=3, tol=0.5)
    np.testing.assert_allclose(res.U.get(), ref.U, atol=1e-9)
    # cupyx sparse input and the estimator
    A = cpx_sparse.coo_matrix((cp.asarray(values), (cp.asarray(rows), cp.asarray(cols))),
                              shape=shape)
    res_sp = altmin(A, 3, random_state=0, tol=1e-8)
    ref_sp = altmin(obs, 3, random_state=0, tol=1e-8)
    np.testing.assert_allclose(res_sp.U.get(), ref_sp.U, atol=1e-9)
    X = M.copy()
    X[np.random.default_rng(1).random(M.shape) < 0.3] = np.nan
    model = AltMinCompletion(rank=3, reg=0.0, random_state=0, tol=1e-8).fit(cp.asarray(X))
    filled = model.transform(cp.asarray(X))
    assert isinstance(filled, cp.ndarray)
    np.testing.assert_allclose(filled.get(), M, atol=1e-6)
    got = predict_entries(model.U_, model.V_, cp.asarray([0, 1]), cp.asarray([2, 3]))
    np.testing.assert_allclose(got.get(), M[[0, 1], [2, 3]], atol=1e-6)


@pytest.mark.gpu
def test_cuda_kernels_on_cupy_arrays():
    cp = pytest.importorskip("cupy")
    from numlearn.completion._cuda_engine import (
        launch_cholesky_solve_cuda,
        launch_normal_equations_cuda,
    )

    layout, V = _rows(m=500, n=300, k=16, density=0.2, seed=4)
    m = 500
    G, r = cp.empty((m, 16, 16)), cp.empty((m, 16))
    d = [cp.asarray(a) for a in (layout.indptr, layout.indices, layout.values, V)]
    launch_normal_equations_cuda(*d, 0.1, G, r)
    out, failed = cp.empty((m, 16)), cp.zeros(m, dtype=cp.int32)
    launch_cholesky_solve_cuda(G, r, out, failed)
    twin = np.empty((m, 16))
    solve_rows_cholesky(layout.indptr, layout.indices, layout.values, V, 0.1, twin)
    assert int(failed.sum()) == 0
    np.testing.assert_allclose(out.get(), twin, rtol=1e-9, atol=1e-11)


def test_importing_completion_does_not_import_cuda():
    import subprocess

    code = ("import sys, numlearn.completion; "
            "sys.exit(int(any(m.startswith('numba.cuda') for m in sys.modules)))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
