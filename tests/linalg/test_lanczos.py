import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
from numlearn.linalg import lanczos_eigsh


def _random_symmetric(n, seed):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    return (B + B.T) / 2


def _reference(A, k, which):
    """The wanted eigenpairs of ``A`` by dense eigh, eigenvalues ascending."""
    w, U = np.linalg.eigh(A)
    if which == "LA":
        idx = np.argsort(-w)[:k]
    elif which == "SA":
        idx = np.argsort(w)[:k]
    else:
        idx = np.argsort(-np.abs(w))[:k]
    idx = idx[np.argsort(w[idx])]
    return w, w[idx], U[:, idx]


def _poisson_rect(nx, ny):
    """5-point Laplacian on an nx-by-ny grid: distinct eigenvalues when nx != ny."""

    def lap1(m):
        return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])

    A = sp.kron(lap1(nx), sp.identity(ny)) + sp.kron(sp.identity(nx), lap1(ny))
    i = np.arange(1, nx + 1)[:, None]
    j = np.arange(1, ny + 1)[None, :]
    lam = 4 - 2 * np.cos(i * np.pi / (nx + 1)) - 2 * np.cos(j * np.pi / (ny + 1))
    return A.tocsr(), np.sort(lam.ravel())


@pytest.fixture(scope="module")
def goe():
    return _random_symmetric(150, seed=0)


@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_random_symmetric_matches_eigh(goe, k, which):
    A = goe
    n = A.shape[0]
    tol = 1e-10
    w, ref_vals, ref_vecs = _reference(A, k, which)
    # The test is only meaningful if the wanted eigenvalues are well separated.
    gaps = np.abs(ref_vals[:, None] - w[None, :])
    gaps[gaps == 0] = np.inf
    assert gaps.min() > 1e-3

    res = lanczos_eigsh(A, n, k, which=which, tol=tol, random_state=0)

    assert res.converged and res.status is Status.SUCCESS
    assert res.eigenvalues.shape == (k,) and res.eigenvectors.shape == (n, k)
    np.testing.assert_allclose(res.eigenvalues, ref_vals, rtol=1e-10, atol=0)
    assert np.all(np.diff(res.eigenvalues) > 0)  # ascending, like eigsh
    V = res.eigenvectors
    overlaps = np.abs(np.sum(V * ref_vecs, axis=0))
    assert np.all(overlaps > 1 - 1e-8), overlaps
    np.testing.assert_allclose(V.T @ V, np.eye(k), atol=1e-12)
    # Residuals checked independently of the solver's own report.
    resid = np.linalg.norm(A @ V - V * res.eigenvalues, axis=0)
    assert np.all(resid <= tol * np.abs(res.eigenvalues)), resid
    np.testing.assert_allclose(res.residual_norms, resid, rtol=1e-6, atol=1e-13)
    assert np.all(res.residual_estimates <= tol * np.abs(res.eigenvalues))


def test_operator_forms_agree(goe):
    A = goe
    n = A.shape[0]
    forms = [
        A,
        sp.csr_matrix(A),
        spla.aslinearoperator(A),
        lambda v: A @ v,
        A.tolist(),
    ]
    values = [lanczos_eigsh(f, n, 3, tol=1e-10, random_state=1).eigenvalues for f in forms]
    for v in values[1:]:
        np.testing.assert_allclose(v, values[0], rtol=1e-12)


@pytest.mark.parametrize(("k", "which"), [(1, "LA"), (4, "LA"), (3, "SA")])
def test_poisson_against_closed_form_and_eigsh(k, which):
    A, lam = _poisson_rect(50, 43)
    n = A.shape[0]
    ref = lam[-k:] if which == "LA" else lam[:k]
    assert np.min(np.diff(lam[-8:])) > 1e-3 and np.min(np.diff(lam[:8])) > 1e-3
    v0 = np.random.default_rng(0).standard_normal(n)

    res = lanczos_eigsh(A, n, k, which=which, tol=1e-8, v0=v0)

    assert res.converged
    np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-10)
    count = [0]

    def counted(v):
        count[0] += 1
        return A @ v

    op = spla.LinearOperator(A.shape, matvec=counted, dtype=np.float64)
    theirs = np.sort(spla.eigsh(op, k=k, which=which, tol=1e-8, v0=v0)[0])
    np.testing.assert_allclose(res.eigenvalues, theirs, rtol=1e-10)
    # Measured: 201 vs 201 (k=1), 329 vs 326 (k=4 LA), 423 vs 422 (k=3 SA), including
    # our k products for the true residuals: the same restart rule as ARPACK.
    assert res.n_matvec <= 1.25 * count[0], (res.n_matvec, count[0])


def test_repeated_eigenvalue_small_n():
    rng = np.random.default_rng(3)
    n = 12
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = np.array([5.0, 5.0, 5.0, 3.0, 2.0, 1.0, 0.5, 0.2, -1.0, -2.0, -3.0, -3.0])
    A = Q @ np.diag(lam) @ Q.T

    res = lanczos_eigsh(A, n, 3, random_state=0)  # ncv defaults to n here
    assert res.converged
    np.testing.assert_allclose(res.eigenvalues, [5.0, 5.0, 5.0], rtol=1e-12)
    V = res.eigenvectors
    np.testing.assert_allclose(V.T @ V, np.eye(3), atol=1e-12)
    # The returned vectors span the whole eigenspace of 5.
    P = Q[:, :3] @ Q[:, :3].T
    np.testing.assert_allclose(P @ V, V, atol=1e-10)
    assert res.n_breakdown >= 1  # a single Krylov sequence sees only one copy

    res = lanczos_eigsh(A, n, 4, which="SA", random_state=0)
    np.testing.assert_allclose(res.eigenvalues, [-3.0, -3.0, -2.0, -1.0], rtol=1e-12)


def test_small_n_with_full_basis_is_exact():
    A = _random_symmetric(8, seed=5)
    res = lanczos_eigsh(A, 8, 3, ncv=8, random_state=0)
    assert res.converged and res.n_iter == 1
    assert res.n_matvec == 8 + 3  # one basis filling, then the true residuals
    np.testing.assert_allclose(res.eigenvalues, np.linalg.eigvalsh(A)[-3:], rtol=1e-12)
    assert np.all(res.residual_norms < 1e-12)


def test_breakdown_from_invariant_start_vector():
    # v0 = e_1 spans an invariant subspace of a diagonal matrix: breakdown at once.
    D = np.diag(np.arange(1.0, 31.0))
    e1 = np.zeros(30)
    e1[0] = 1.0
    res = lanczos_eigsh(D, 30, 2, v0=e1, random_state=0)
    assert res.converged and res.n_breakdown >= 1
    np.testing.assert_allclose(res.eigenvalues, [29.0, 30.0], rtol=1e-12)


def test_zero_operator():
    res = lanczos_eigsh(np.zeros((5, 5)), 5, 2, random_state=0)
    assert res.converged
    np.testing.assert_array_equal(res.eigenvalues, [0.0, 0.0])


def test_maxiter_too_small_warns():
    A, _ = _poisson_rect(30, 27)
    with pytest.warns(ConvergenceWarning, match="lanczos_eigsh did not converge"):
        res = lanczos_eigsh(A, A.shape[0], 1, maxiter=2, random_state=0)
    assert not res.converged
    assert res.status is Status.MAX_ITER and res.n_iter == 2
    assert res.eigenvalues.shape == (1,) and np.isfinite(res.eigenvalues).all()


def test_callback_sees_progress_and_can_stop(goe):
    seen = []

    def callback(info):
        seen.append(info)
        if len(seen) == 2:
            raise StopIteration

    n = goe.shape[0]
    res = lanczos_eigsh(goe, n, 3, tol=1e-14, ncv=8, callback=callback, random_state=0)
    assert res.status is Status.CALLBACK_STOP and not res.converged
    assert res.n_iter == 2 and len(seen) == 2
    assert seen[0].n_matvec < seen[1].n_matvec
    assert seen[1].eigenvalues.shape == (3,) and seen[1].residual_estimates.shape == (3,)

    # Without stopping, the callback is called once per outer iteration.
    calls = []
    res = lanczos_eigsh(goe, n, 3, callback=calls.append, random_state=0)
    assert res.converged and len(calls) == res.n_iter
    np.testing.assert_array_equal(calls[-1].eigenvalues, res.eigenvalues)


def test_reproducible_with_random_state(goe):
    n = goe.shape[0]
    a = lanczos_eigsh(goe, n, 3, random_state=42)
    b = lanczos_eigsh(goe, n, 3, random_state=np.random.default_rng(42))
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.eigenvectors, b.eigenvectors)
    assert a.n_matvec == b.n_matvec
    c = lanczos_eigsh(goe, n, 3, random_state=7)
    np.testing.assert_allclose(c.eigenvalues, a.eigenvalues, rtol=1e-10)


def test_float32_start_vector_keeps_dtype(goe):
    n = goe.shape[0]
    v0 = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    res = lanczos_eigsh(goe.astype(np.float32), n, 2, v0=v0, tol=1e-5)
    assert res.converged and res.eigenvectors.dtype == np.float32
    np.testing.assert_allclose(res.eigenvalues, np.linalg.eigvalsh(goe)[-2:], rtol=1e-5)


def test_array_api_strict(goe):
    xps = pytest.importorskip("array_api_strict")
    n = goe.shape[0]
    A = xps.asarray(goe)
    v0 = np.random.default_rng(0).standard_normal(n)

    res = lanczos_eigsh(lambda v: A @ v, n, 3, v0=xps.asarray(v0), tol=1e-10)
    ref = lanczos_eigsh(goe, n, 3, v0=v0, tol=1e-10)

    assert res.converged
    assert type(res.eigenvectors) is type(A) and type(res.eigenvalues) is type(A)
    values = np.asarray(res.eigenvalues)
    np.testing.assert_allclose(values, np.linalg.eigvalsh(goe)[-3:], rtol=1e-10)
    np.testing.assert_allclose(values, ref.eigenvalues, rtol=1e-12)
    V = np.asarray(res.eigenvectors)
    np.testing.assert_allclose(np.abs(np.sum(V * ref.eigenvectors, axis=0)), 1.0, atol=1e-8)
    # A dense array_api_strict matrix without v0 works too, on its namespace.
    res = lanczos_eigsh(A, n, 1, random_state=0, tol=1e-10)
    assert type(res.eigenvectors) is type(A)


def test_verbose_prints(goe, capsys):
    lanczos_eigsh(goe, goe.shape[0], 1, verbose=2, random_state=0)
    out = capsys.readouterr().out
    assert "lanczos_eigsh: iter 1" in out


_A = np.diag(np.arange(1.0, 11.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 10.0}, TypeError, "n must be an integer"),
        ({"k": 10}, ValueError, "k must be < n"),
        ({"k": 0}, ValueError, "k must be >= 1"),
        ({"tol": -1.0}, ValueError, "tol must be >= 0"),
        ({"which": "BE"}, ValueError, "which must be one of"),
        ({"maxiter": 0}, ValueError, "maxiter must be >= 1"),
        ({"ncv": 2}, ValueError, "ncv must satisfy"),
        ({"ncv": 11}, ValueError, "ncv must satisfy"),
        ({"v0": np.ones(9)}, ValueError, "v0 must be a vector of length 10"),
        ({"v0": np.full(10, np.nan)}, ValueError, "v0 contains NaN"),
        ({"v0": np.zeros(10)}, ValueError, "v0 must be a nonzero"),
        ({"callback": 3}, TypeError, "callback must be callable"),
        ({"random_state": "seed"}, TypeError, "random_state must be"),
        ({"matvec": np.ones((10, 9))}, ValueError, "matvec must be square"),
        ({"matvec": np.ones((9, 9))}, ValueError, r"matvec must have shape \(10, 10\)"),
        ({"matvec": "A"}, TypeError, "matvec must be a callable"),
        ({"matvec": lambda v: v[:5]}, ValueError, r"matvec must return a vector of shape \(10,\)"),
        ({"matvec": lambda v: np.full(10, np.inf)}, ValueError, "matvec returned NaN or inf"),
        ({"matvec": lambda v: v * np.nan}, ValueError, "matvec returned NaN or inf"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    args = {"matvec": _A, "n": 10, "k": 3}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        lanczos_eigsh(args.pop("matvec"), args.pop("n"), args.pop("k"), **args)


def test_compute_residuals_off_saves_k_products():
    from numlearn.datasets import poisson_2d

    A = poisson_2d(20)
    on = lanczos_eigsh(A, A.shape[0], k=3, tol=1e-10, random_state=0)
    off = lanczos_eigsh(A, A.shape[0], k=3, tol=1e-10, random_state=0, compute_residuals=False)
    assert off.n_matvec == on.n_matvec - 3
    np.testing.assert_array_equal(off.eigenvalues, on.eigenvalues)
    assert np.all(np.isnan(off.residual_norms)) and np.all(on.residual_norms < 1e-8)


def test_callable_operator_in_another_namespace_via_xp():
    # a matvec that only accepts array_api_strict vectors: xp= puts the start vector there,
    # drawn from the same stream as on NumPy, so the run is the same
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(4)
    B = rng.standard_normal((40, 40))
    A = (B + B.T) / 2
    A_x = xps.asarray(A)

    def matvec(v):
        assert type(v) is type(A_x)
        return A_x @ v

    ref = lanczos_eigsh(A, 40, k=2, random_state=0)
    res = lanczos_eigsh(matvec, 40, k=2, random_state=0, xp=xps)
    assert type(res.eigenvalues) is type(A_x)
    assert res.n_matvec == ref.n_matvec
    np.testing.assert_allclose(np.asarray(res.eigenvalues), ref.eigenvalues, rtol=1e-12)
