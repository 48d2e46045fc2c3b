"""The shared GPU plumbing: cupyx.scipy.sparse matrices through validation, namespace
inference and the Krylov methods (cg, lanczos_eigsh, hutchinson_trace).

The ``gpu`` tests run only where CuPy sees a device; the rest prove on the CPU that the
plumbing recognises sparse GPU matrices without importing CuPy.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from numlearn._backend import get_namespace, is_cupy_sparse, is_numpy_namespace
from numlearn.datasets import poisson_2d
from numlearn.linalg import cg, hutchinson_trace, lanczos_eigsh


def test_scipy_sparse_is_not_cupy_sparse_and_maps_to_numpy():
    A = poisson_2d(4)
    assert not is_cupy_sparse(A) and not is_cupy_sparse(np.ones(3))
    assert is_numpy_namespace(get_namespace(A, np.ones(16)))


def test_an_object_from_cupyx_sparse_is_recognised_by_module():
    # a stand-in with cupyx's module name: recognised without importing CuPy, and its
    # namespace is that of its ``data`` array
    fake_type = type("csr_matrix", (), {"__module__": "cupyx.scipy.sparse._csr"})
    fake = fake_type()
    fake.data = np.ones(3)
    assert is_cupy_sparse(fake)
    assert is_numpy_namespace(get_namespace(fake))


@pytest.mark.gpu
def test_cg_lanczos_trace_on_cupyx_sparse():
    cupy = pytest.importorskip("cupy")
    import cupyx.scipy.sparse as csp

    A = poisson_2d(30)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    A_gpu, b_gpu = csp.csr_matrix(A), cupy.asarray(b)

    ref = cg(A, b, rtol=1e-10)
    res = cg(A_gpu, b_gpu, rtol=1e-10)
    assert isinstance(res.x, cupy.ndarray)
    assert res.n_iter == ref.n_iter
    np.testing.assert_allclose(res.x.get(), ref.x, rtol=1e-8, atol=1e-10)

    eig_ref = lanczos_eigsh(A, A.shape[0], k=3, random_state=0)
    eig = lanczos_eigsh(A_gpu, A.shape[0], k=3, random_state=0)
    assert isinstance(eig.eigenvalues, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(eig.eigenvalues), eig_ref.eigenvalues, rtol=1e-9)

    t_ref = hutchinson_trace(A, A.shape[0], n_samples=30, random_state=0)
    t = hutchinson_trace(A_gpu, A.shape[0], n_samples=30, random_state=0)
    assert float(t.trace) == pytest.approx(float(t_ref.trace), rel=1e-10)


@pytest.mark.gpu
def test_nan_in_cupyx_sparse_is_rejected():
    pytest.importorskip("cupy")
    import cupyx.scipy.sparse as csp

    A = sp.csr_matrix(poisson_2d(4))
    A.data[3] = np.nan
    with pytest.raises(ValueError, match="A contains NaN"):
        cg(csp.csr_matrix(A), np.ones(16))


@pytest.mark.gpu
@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
def test_sketch_and_project_on_cupy(sketch):
    cupy = pytest.importorskip("cupy")
    import cupyx.scipy.sparse as csp

    from numlearn.linalg import sketch_and_project

    rng = np.random.default_rng(0)
    A = rng.standard_normal((80, 30))
    b = A @ rng.standard_normal(30)
    kw = dict(sketch=sketch, block_size=4, random_state=0, rtol=1e-10)
    ref = sketch_and_project(A, b, **kw)
    res = sketch_and_project(cupy.asarray(A), cupy.asarray(b), **kw)
    assert isinstance(res.x, cupy.ndarray) and res.n_iter == ref.n_iter
    np.testing.assert_allclose(res.x.get(), ref.x, atol=1e-10)
    A_sparse = sp.random(80, 30, density=0.3, random_state=1, format="csr")
    b_sparse = A_sparse @ rng.standard_normal(30)
    ref = sketch_and_project(A_sparse, b_sparse, **kw)
    res = sketch_and_project(csp.csr_matrix(A_sparse), cupy.asarray(b_sparse), **kw)
    assert isinstance(res.x, cupy.ndarray)
    np.testing.assert_allclose(res.x.get(), ref.x, atol=1e-12)
