import numpy as np
import pytest
import scipy.sparse as sp

from numlearn.linalg._cg_kernels import (
    cg_direction,
    cg_update,
    csr_matvec_dot,
    launch_cg_update_cuda,
)
from numlearn.linalg._csr_kernels import (
    csr_matvec,
    csr_matvec_reference,
    launch_csr_matvec_cuda,
)
from numlearn.linalg._operators import as_matvec


@pytest.fixture
def random_csr():
    return sp.random(60, 60, density=0.1, random_state=0, format="csr") + sp.eye(60)


def test_csr_matvec_matches_scipy(random_csr):
    A = random_csr.tocsr()
    x = np.random.default_rng(0).standard_normal(60)
    out = csr_matvec(A.indptr, A.indices, A.data, x, np.empty(60))
    np.testing.assert_allclose(out, A @ x, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(
        csr_matvec_reference(A.indptr, A.indices, A.data, x), A @ x, rtol=1e-14, atol=1e-14
    )


def test_fused_cg_kernels_match_numpy(random_csr):
    A = random_csr.tocsr()
    rng = np.random.default_rng(1)
    p, x, r, z = rng.standard_normal((4, 60))
    q = np.empty(60)
    pq = csr_matvec_dot(A.indptr, A.indices, A.data, p, q)
    np.testing.assert_allclose(q, A @ p, rtol=1e-14, atol=1e-14)
    assert pq == pytest.approx(p @ (A @ p), rel=1e-13)
    x_ref, r_ref = x + 0.3 * p, r - 0.3 * q
    rr = cg_update(x, r, p, q, 0.3)
    np.testing.assert_allclose(x, x_ref, rtol=1e-14, atol=1e-15)  # FMA may round once
    np.testing.assert_allclose(r, r_ref, rtol=1e-14, atol=1e-15)
    assert rr == pytest.approx(r_ref @ r_ref, rel=1e-13)
    expected = z + 0.7 * p
    np.testing.assert_allclose(cg_direction(p, z, 0.7), expected, rtol=1e-15)


def test_as_matvec_variants(random_csr):
    x = np.arange(60.0)
    expected = random_csr @ x
    dense = random_csr.toarray()
    from scipy.sparse.linalg import aslinearoperator

    for operator in (random_csr, dense, aslinearoperator(dense), lambda v: dense @ v):
        np.testing.assert_allclose(as_matvec(operator)(x), expected, rtol=1e-12)
    f32 = random_csr.astype(np.float32)
    np.testing.assert_allclose(as_matvec(f32)(x.astype(np.float32)), expected, rtol=1e-5)


@pytest.mark.cudasim
def test_csr_matvec_cuda_matches_cpu(random_csr):
    A = random_csr.tocsr()
    x = np.random.default_rng(2).standard_normal(60)
    out = np.zeros(60)
    launch_csr_matvec_cuda(A.indptr, A.indices, A.data, x, out, threads_per_block=32)
    np.testing.assert_allclose(out, csr_matvec(A.indptr, A.indices, A.data, x, np.empty(60)),
                               rtol=1e-14, atol=1e-14)


@pytest.mark.cudasim
def test_cg_update_cuda_matches_cpu():
    rng = np.random.default_rng(3)
    x, r, p, q = rng.standard_normal((4, 50))
    x_cpu, r_cpu = x.copy(), r.copy()
    rr_cpu = cg_update(x_cpu, r_cpu, p, q, 0.25)
    rr_gpu = launch_cg_update_cuda(x, r, p, q, 0.25, threads_per_block=16)
    np.testing.assert_allclose(x, x_cpu, rtol=1e-15)
    np.testing.assert_allclose(r, r_cpu, rtol=1e-15)
    assert rr_gpu == pytest.approx(rr_cpu, rel=1e-12)
