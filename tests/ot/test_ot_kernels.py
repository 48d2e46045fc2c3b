"""The Numba kernels of numlearn.ot against plain NumPy / SciPy references."""

import numpy as np
import pytest
from scipy.special import logsumexp

from numlearn.ot import _kernels as K


def _problem(n=37, m=23, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, m)), rng.standard_normal(n) * 0.1, rng.standard_normal(m) * 0.1


def _logplan(M, f, g, reg):
    return (f[:, None] + g[None, :] - M) / reg


def test_vexp_matches_numpy_to_rounding():
    x = np.concatenate([np.linspace(-708, 709, 20001), np.random.default_rng(0).normal(0, 5, 999)])
    y = np.empty_like(x)
    K.vexp(x.copy(), y)
    assert np.max(np.abs(y - np.exp(x)) / np.exp(x)) < 1e-15
    # below the clamp the result is exp(-708) (harmless in sums), never a denormal or NaN
    z = np.array([-1e4, -750.0, np.nan])
    out = np.empty(3)
    K.vexp(z.copy(), out)
    assert out[0] == out[1] == pytest.approx(np.exp(-708.0), rel=1e-14)
    assert np.isnan(out[2])


@pytest.mark.parametrize("reg", [1.0, 1e-2, 1e-4])
def test_row_and_col_logsumexp_match_scipy(reg):
    M, f, g = _problem()
    L = _logplan(M, f, g, reg)
    out_r, out_c, work = np.empty(M.shape[0]), np.empty(M.shape[1]), np.empty(M.shape[1])
    K.row_logsumexp(M, f, g, 1.0 / reg, out_r)
    K.col_logsumexp(M, f, g, 1.0 / reg, work, out_c)
    np.testing.assert_allclose(out_r, logsumexp(L, axis=1), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(out_c, logsumexp(L, axis=0), rtol=1e-13, atol=1e-12)


def test_logsumexp_fallback_on_underflow_and_overflow():
    # potentials far off: every entry underflows (rows) or overflows (columns) in one pass
    M, f, g = _problem()
    reg = 1e-3
    for shift in (-5.0, +5.0):
        fs = f + shift
        L = _logplan(M, fs, g, reg)
        out_r, out_c, work = np.empty(M.shape[0]), np.empty(M.shape[1]), np.empty(M.shape[1])
        K.row_logsumexp(M, fs, g, 1.0 / reg, out_r)
        K.col_logsumexp(M, fs, g, 1.0 / reg, work, out_c)
        np.testing.assert_allclose(out_r, logsumexp(L, axis=1), rtol=1e-13)
        np.testing.assert_allclose(out_c, logsumexp(L, axis=0), rtol=1e-13)


def test_logsumexp_float32_cost():
    M, f, g = _problem()
    M32 = M.astype(np.float32)
    out = np.empty(M.shape[0])
    K.row_logsumexp(M32, f, g, 10.0, out)
    np.testing.assert_allclose(out, logsumexp(_logplan(M32.astype(np.float64), f, g, 0.1),
                                              axis=1), rtol=1e-13)


def test_fill_plan():
    M, f, g = _problem()
    P = np.empty_like(M)
    K.fill_plan(M, f, g, 1 / 0.05, P)
    np.testing.assert_allclose(P, np.exp(_logplan(M, f, g, 0.05)), rtol=1e-14)


def _run_stats(M, f, g, reg, threshold, cap, size=None):
    n, m = M.shape
    r, c = np.empty(n), np.empty(m)
    indptr = np.zeros(n + 1, dtype=np.int64)
    size = n * m if size is None else size
    indices, data = np.empty(size, dtype=np.int64), np.empty(size)
    total, nnz = K.plan_stats_sparse(M, f, g, 1.0 / reg, threshold, cap, r, c, indptr,
                                     indices, data)
    return total, nnz, r, c, indptr, indices, data


@pytest.mark.parametrize("threshold,cap", [(1e-2, 23), (0.0, 23), (1e-3, 3), (1.0, 23)])
def test_plan_stats_sparse_matches_numpy(threshold, cap):
    M, f, g = _problem()
    reg = 0.05
    P = np.exp(_logplan(M, f, g, reg))
    total, nnz, r, c, indptr, indices, data = _run_stats(M, f, g, reg, threshold, cap)
    np.testing.assert_allclose(r, P.sum(1), rtol=1e-13)
    np.testing.assert_allclose(c, P.sum(0), rtol=1e-13)
    assert total == pytest.approx(P.sum(), rel=1e-13)
    for i in range(M.shape[0]):
        row = P[i]
        keep = np.flatnonzero(row >= threshold * row.max())
        if keep.size > cap:  # top-k: the cap largest
            keep = np.sort(np.argsort(row)[::-1][:cap])
        got = indices[indptr[i]:indptr[i + 1]]
        np.testing.assert_array_equal(got, keep)
        np.testing.assert_allclose(data[indptr[i]:indptr[i + 1]], row[keep], rtol=1e-14)
    assert nnz == indptr[-1]
    if threshold == 0.0:
        assert nnz == M.size
    if threshold == 1.0:
        assert nnz == M.shape[0]


def test_plan_stats_sparse_reports_short_buffers():
    M, f, g = _problem()
    P = np.exp(_logplan(M, f, g, 0.05))
    total, nnz, r, c, *_ = _run_stats(M, f, g, 0.05, 0.0, M.shape[1], size=10)
    assert nnz == -M.size  # minus the size needed
    np.testing.assert_allclose(r, P.sum(1), rtol=1e-13)  # marginals still exact
    np.testing.assert_allclose(c, P.sum(0), rtol=1e-13)


def _sparse_problem(n, m, seed=1):
    M, f, g = _problem(n, m, seed)
    _, nnz, r, c, indptr, indices, data = _run_stats(M, f, g, 0.05, 0.05, m)
    S = np.zeros((n, m))
    for i in range(n):
        S[i, indices[indptr[i]:indptr[i + 1]]] = data[indptr[i]:indptr[i + 1]]
    return (indptr, indices[:nnz], data[:nnz]), S, r, c


@pytest.mark.parametrize("shape", [(37, 23), (23, 37)])
def test_schur_matvecs_and_diagonals_match_dense(shape):
    n, m = shape
    csr, S, r, c = _sparse_problem(n, m)
    rng = np.random.default_rng(2)
    v, u = rng.standard_normal(m), rng.standard_normal(n)
    Tg = np.diag(c) - S.T @ np.diag(1 / r) @ S
    Tf = np.diag(r) - S @ np.diag(1 / c) @ S.T
    np.testing.assert_allclose(K.schur_matvec_g(*csr, 1 / r, c, v, np.empty(m)), Tg @ v,
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(K.schur_matvec_f(*csr, 1 / c, r, u, np.empty(m), np.empty(n)),
                               Tf @ u, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(K.schur_diag_g(*csr, 1 / r, c, np.empty(m)), np.diag(Tg),
                               rtol=1e-12)
    np.testing.assert_allclose(K.schur_diag_f(*csr, 1 / c, r, np.empty(n)), np.diag(Tf),
                               rtol=1e-12)
    # the Schur complement is PSD: the kept block never exceeds the exact marginals
    assert np.linalg.eigvalsh(Tg).min() > -1e-12


def test_csr_products_match_dense():
    n, m = 37, 23
    csr, S, r, c = _sparse_problem(n, m)
    rng = np.random.default_rng(4)
    v, u = rng.standard_normal(m), rng.standard_normal(n)
    np.testing.assert_allclose(K.csr_matvec(*csr, v, np.empty(n)), S @ v, rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(K.csr_rmatvec(*csr, u, np.full(m, np.nan)), S.T @ u,
                               rtol=1e-12, atol=1e-15)


def test_sparse_hessian_matvec_matches_dense():
    n, m = 37, 23
    csr, S, r, c = _sparse_problem(n, m)
    H = np.block([[np.diag(r), S], [S.T, np.diag(c)]])
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    ox, oy = np.empty(n), np.empty(m)
    K.sparse_hessian_matvec(*csr, r, c, x, y, ox, oy)
    np.testing.assert_allclose(np.concatenate([ox, oy]), H @ np.concatenate([x, y]),
                               rtol=1e-12, atol=1e-15)
    # diagonal dominance: H is PSD, and exactly singular along (1, -1) when S = P
    assert np.linalg.eigvalsh(H).min() > -1e-12


def test_plan_stats_sparse_capped_rows_fit_a_capped_buffer():
    # every row passes the threshold entirely, but the cap keeps 3: n * 3 slots suffice
    M, f, g = _problem()
    n = M.shape[0]
    total, nnz, *_ , indptr, indices, data = _run_stats(M, f, g, 10.0, 0.0, 3, size=3 * n)
    assert nnz == 3 * n
    np.testing.assert_array_equal(np.diff(indptr), 3)


def test_gibbs_kernel_fill_plan_fast_and_scale_plan_stats():
    M, f, g = _problem()
    Kmat = K.gibbs_kernel(M, 0.1, 1 / 0.05, np.empty(M.shape))
    np.testing.assert_allclose(Kmat, np.exp((0.1 - M) / 0.05), rtol=1e-13)
    np.testing.assert_allclose(K.gibbs_kernel(M.astype(np.float32), 0.0, 2.0,
                                              np.empty(M.shape)),
                               np.exp(-2.0 * M.astype(np.float32).astype(float)), rtol=1e-13)
    P = K.fill_plan_fast(M, f, g, 1 / 0.05, np.empty(M.shape))
    np.testing.assert_allclose(P, np.exp(_logplan(M, f, g, 0.05)), rtol=1e-13)
    u, v = np.exp(f), np.exp(g)
    r, c = np.empty(M.shape[0]), np.empty(M.shape[1])
    ref = u[:, None] * Kmat * v[None, :]
    cost = K.scale_plan_stats(Kmat, u, v, M, r, c)
    np.testing.assert_allclose(Kmat, ref, rtol=1e-13)
    np.testing.assert_allclose(r, ref.sum(1), rtol=1e-14)
    np.testing.assert_allclose(c, ref.sum(0), rtol=1e-14)
    assert cost == pytest.approx(float((ref * M).sum()), rel=1e-14)
