"""Multicolor SOR: coloring, CPU sweeps against dense references, CUDA kernels under the
simulator against their CPU twins, Young's rate in red-black order, and real-GPU tests."""

import warnings

import array_api_compat.numpy as cnp
import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn import Status
from numlearn.datasets import poisson_1d, poisson_2d
from numlearn.linalg._sor_array_api import _KernelOps, _MulticolorSSOR, solve_sor, solve_ssor_cg
from numlearn.linalg._sor_multicolor import (
    MulticolorSplit,
    color_csr,
    greedy_coloring,
    launch_color_sweep_cuda,
    launch_multicolor_sweep_cuda,
    launch_multicolor_sweep_residual_cuda,
    launch_sor_residual_cuda,
    multicolor_ordering,
    multicolor_sweep,
    multicolor_sweep_residual,
    sor_residual,
)
from numlearn.linalg.sor import optimal_omega, sor, ssor_cg


def random_matrix(n, density, seed, symmetric=False):
    """Sparse, diagonally dominant, nonsymmetric (or symmetric) test matrix."""
    R = sp.random(n, n, density=density, random_state=seed, format="csr")
    if symmetric:
        R = R + R.T
    d = np.asarray(abs(R).sum(axis=1)).ravel() + 1.0
    return (R + sp.diags(d)).tocsr()


def assert_proper(A, colors):
    """No edge of A (either direction) joins two different unknowns of one color."""
    C = sp.coo_matrix(A)
    off = (C.row != C.col) & (C.data != 0)
    assert not np.any(colors[C.row[off]] == colors[C.col[off]])


# ---------------------------------------------------------------------------------------
# coloring
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 5, 8, 11])
def test_poisson_2d_gets_the_red_black_coloring(m):
    A = poisson_2d(m)
    A0 = A.copy()
    perm, color_ptr, colors = multicolor_ordering(A)
    assert (A != A0).nnz == 0 and A.nnz == A0.nnz  # not modified (m = 2 stores zeros)
    i, j = np.divmod(np.arange(m * m), m)
    n_colors = 1 if m == 1 else 2
    assert color_ptr.shape[0] - 1 == n_colors
    np.testing.assert_array_equal(colors, (i + j) % 2)  # the checkerboard
    assert_proper(A, colors)
    np.testing.assert_array_equal(color_ptr, [0, (m * m + 1) // 2, m * m][: n_colors + 1])
    # stable: red unknowns first, each color in natural order
    np.testing.assert_array_equal(perm, np.r_[np.flatnonzero(colors == 0),
                                             np.flatnonzero(colors == 1)])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("symmetric", [False, True])
def test_greedy_coloring_is_proper_on_general_csr(seed, symmetric):
    A = random_matrix(60, 0.08, seed, symmetric)
    perm, color_ptr, colors = multicolor_ordering(A)
    assert_proper(A, colors)
    pattern = (abs(A) + abs(A.T)).tocsr()
    max_degree = int(np.diff(pattern.indptr).max()) - 1  # minus the diagonal
    n_colors = color_ptr.shape[0] - 1
    assert 2 <= n_colors <= max_degree + 1
    assert sorted(perm) == list(range(60))
    np.testing.assert_array_equal(np.diff(color_ptr), np.bincount(colors))
    # greedy: every unknown of color k > 0 has a neighbour of each smaller color
    for i in range(60):
        nb = pattern.indices[pattern.indptr[i]:pattern.indptr[i + 1]]
        nb_colors = set(colors[nb[nb != i]].tolist())
        assert set(range(colors[i])) <= nb_colors


@pytest.mark.parametrize("seed", range(3))
def test_color_csr_equals_greedy_on_the_symmetrized_pattern(seed):
    A = random_matrix(70, 0.05, seed + 10)  # nonsymmetric pattern
    A.data[::7] = 0.0  # explicit zeros are not edges
    colors, k = color_csr(A.indptr, A.indices, A.data, 70)
    P = A.copy()
    P.eliminate_zeros()
    G = (abs(P) + abs(P.T)).tocsr()
    ref, k_ref = greedy_coloring(G.indptr, G.indices, 70)
    np.testing.assert_array_equal(colors, ref)
    assert k == k_ref


def test_coloring_of_simple_graphs():
    assert multicolor_ordering(poisson_1d(9))[1].tolist() == [0, 5, 9]  # 1-D: red-black
    colors, k = greedy_coloring(*(lambda D: (D.indptr, D.indices))(sp.csr_matrix(np.ones((5, 5)))),
                                5)
    assert k == 5 and colors.tolist() == [0, 1, 2, 3, 4]  # complete graph
    colors, k = greedy_coloring(sp.eye(4, format="csr").indptr, sp.eye(4, format="csr").indices, 4)
    assert k == 1 and colors.tolist() == [0, 0, 0, 0]  # diagonal: Jacobi is exact SOR
    # a one-directional coupling still separates the two rows
    A = sp.csr_matrix(np.array([[2.0, 0.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 2.0]]))
    perm, color_ptr, colors = multicolor_ordering(A)
    assert colors.tolist() == [0, 1, 0] and color_ptr.tolist() == [0, 2, 3]


# ---------------------------------------------------------------------------------------
# CPU sweep against a dense reference of SOR in the permuted order
# ---------------------------------------------------------------------------------------
def dense_permuted_sor(A, b, omega, x0, n_iter, perm, backward=False):
    """Iterates of x ← x + (D/ω + L_P)⁻¹ (b_P − A_P x) for A_P = P A Pᵀ (U_P if backward)."""
    Ap = A.toarray()[np.ix_(perm, perm)]
    D = np.diag(np.diag(Ap))
    T = D / omega + (np.triu(Ap, 1) if backward else np.tril(Ap, -1))
    x = x0[perm].copy()
    out = [x.copy()]
    for _ in range(n_iter):
        x = x + sla.solve_triangular(T, b[perm] - Ap @ x, lower=not backward)
        out.append(x.copy())
    return out


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("omega", [0.7, 1.0, 1.6])
@pytest.mark.parametrize("matrix", ["poisson", "random"])
def test_multicolor_sweep_is_sor_in_the_permuted_order(matrix, omega, backward):
    A = poisson_2d(7) if matrix == "poisson" else random_matrix(50, 0.1, 3)
    n = A.shape[0]
    rng = np.random.default_rng(0)
    b, x0 = rng.standard_normal((2, n))
    split = MulticolorSplit(A, omega)
    ref = dense_permuted_sor(A, b, omega, x0, 6, split.perm, backward)
    bptr, bind, bdata, diag = split.arrays()
    c = omega * b[split.perm] / diag
    x = x0[split.perm].copy()
    for k in range(1, 7):
        multicolor_sweep(bptr, bind, bdata, c, x, 1.0 - omega, split.color_ptr, backward)
        np.testing.assert_allclose(x, ref[k], rtol=1e-12, atol=1e-12)
    # the residual twin: b − A x in the permuted order, and its squared norm
    r = np.empty(n)
    rr = sor_residual(bptr, bind, bdata, c, diag / omega, omega, x, r)
    expected = b[split.perm] - A.toarray()[np.ix_(split.perm, split.perm)] @ x
    np.testing.assert_allclose(r, expected, rtol=1e-12, atol=1e-12)
    assert rr == pytest.approx(expected @ expected, rel=1e-12)


@pytest.mark.parametrize("matrix", ["poisson", "random"])
def test_fused_sweep_returns_the_residual_of_the_incoming_iterate(matrix):
    A = poisson_2d(7) if matrix == "poisson" else random_matrix(50, 0.1, 8)
    n, omega = A.shape[0], 1.3
    rng = np.random.default_rng(9)
    b, x0 = rng.standard_normal((2, n))
    split = MulticolorSplit(A, omega)
    assert matrix == "poisson" or split.n_colors >= 3
    bptr, bind, bdata, diag = split.arrays()
    c = omega * b[split.perm] / diag
    x_plain = x0[split.perm].copy()
    multicolor_sweep(bptr, bind, bdata, c, x_plain, 1.0 - omega, split.color_ptr, False)
    x, xold, r = x0[split.perm].copy(), np.full(n, np.nan), np.full(n, np.nan)
    rr = multicolor_sweep_residual(bptr, bind, bdata, c, diag / omega, x, xold, r, 1.0 - omega,
                                   omega, split.color_ptr)
    np.testing.assert_array_equal(x, x_plain)  # the same sweep, the same rounding
    np.testing.assert_array_equal(xold, x0[split.perm])
    expected = (b - A @ x0)[split.perm]
    np.testing.assert_allclose(r, expected, rtol=1e-12, atol=1e-12)
    assert rr == pytest.approx(expected @ expected, rel=1e-12)


def test_zero_diagonal_names_the_original_row():
    A = poisson_2d(3).tolil()
    A[4, 4] = 0.0
    with pytest.raises(ValueError, match="row 4"):
        MulticolorSplit(A.tocsr(), 1.0)
    A = poisson_2d(3).tolil()
    A[1, 1] = 0.0  # permuted position 5 (row 1 is black)
    with pytest.raises(ValueError, match="row 1;"):
        MulticolorSplit(A.tocsr(), 1.0)


def test_multicolor_ssor_preconditioner_matches_dense_formula():
    A = random_matrix(40, 0.1, 5, symmetric=True)
    omega = 1.3
    ops = _KernelOps(A, omega, cnp.float64, cnp, device=False)
    r = np.random.default_rng(1).standard_normal(40)
    z = _MulticolorSSOR(ops)(r)
    perm = np.asarray(ops.perm)
    Ap = A.toarray()[np.ix_(perm, perm)]
    D = np.diag(np.diag(Ap))
    M = (D + omega * np.tril(Ap, -1)) @ np.linalg.solve(D, D + omega * np.triu(Ap, 1))
    M /= omega * (2 - omega)
    expected = np.empty(40)
    expected[perm] = np.linalg.solve(M, r[perm])
    np.testing.assert_allclose(z, expected, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(M, M.T, atol=1e-12)  # symmetric, as CG needs
    assert np.all(np.linalg.eigvalsh(M) > 0)


# ---------------------------------------------------------------------------------------
# Young's theory holds in red-black order (consistently ordered)
# ---------------------------------------------------------------------------------------
def _twin(A, b, omega, **kw):
    args = dict(x0=None, rtol=1e-8, atol=0.0, maxiter=10000, symmetric=False, callback=None,
                return_history=False, check_every=1, verbose=0)
    args.update(kw)
    return solve_sor(A, b, omega, xp=cnp, backend="twin", **args)


@pytest.mark.parametrize("omega, tol", [(1.0, 1e-4), (1.5, 1e-4), ("opt", 0.02)])
def test_red_black_sor_converges_at_young_rate(omega, tol):
    m = 32
    mu = np.cos(np.pi / (m + 1))
    w_opt = 2.0 / (1.0 + np.sin(np.pi / (m + 1)))
    omega = w_opt if omega == "opt" else omega
    if omega >= w_opt:
        expected = omega - 1.0
    else:
        expected = 0.25 * (omega * mu + np.sqrt(omega**2 * mu**2 - 4.0 * (omega - 1.0))) ** 2
    A = poisson_2d(m)
    b = np.random.default_rng(0).standard_normal(m * m)
    res = _twin(A, b, omega, rtol=1e-13, return_history=True)
    h = res.history
    k1, k2 = res.n_iter // 2, res.n_iter - 2
    rate = (h[k2] / h[k1]) ** (1.0 / (k2 - k1))
    assert rate == pytest.approx(expected, rel=tol)
    np.testing.assert_allclose(A @ res.x, b, atol=1e-11 * np.linalg.norm(b))


def test_red_black_at_optimal_omega_is_as_fast_as_natural_order():
    A = poisson_2d(32)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    w = optimal_omega(A)
    natural, red_black = sor(A, b, w), _twin(A, b, w)
    assert red_black.converged and natural.converged
    assert abs(red_black.n_iter - natural.n_iter) <= 0.1 * natural.n_iter
    assert _twin(A, b, 1.0).n_iter > 5 * red_black.n_iter  # ω* beats Gauss-Seidel
    np.testing.assert_allclose(red_black.x, natural.x, rtol=0, atol=1e-7 * np.abs(natural.x).max())


# ---------------------------------------------------------------------------------------
# CUDA kernels under the simulator, against their CPU twins
# ---------------------------------------------------------------------------------------
@pytest.mark.cudasim
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-14), (np.float32, 1e-6)])
@pytest.mark.parametrize("backward", [False, True])
def test_multicolor_sweep_kernel_matches_cpu_twin(dtype, rtol, backward):
    A = random_matrix(48, 0.08, 11)  # several colors, 3 blocks of 16 threads
    omega = 1.2
    split = MulticolorSplit(A, omega)
    assert split.n_colors >= 3
    bptr, bind, bdata, diag = split.arrays(dtype)
    rng = np.random.default_rng(4)
    c = rng.standard_normal(48).astype(dtype)
    x = rng.standard_normal(48).astype(dtype)
    x_cpu = x.copy()
    for _ in range(2):
        multicolor_sweep(bptr, bind, bdata, c, x_cpu, 1.0 - omega, split.color_ptr, backward)
        launch_multicolor_sweep_cuda(bptr, bind, bdata, c, x, 1.0 - omega,
                                     split.color_ptr.tolist(), backward, threads_per_block=16)
    assert x.dtype == dtype
    np.testing.assert_allclose(x, x_cpu, rtol=rtol, atol=rtol)
    # one color alone touches only its rows
    y = x.copy()
    s, e = int(split.color_ptr[1]), int(split.color_ptr[2])
    launch_color_sweep_cuda(bptr, bind, bdata, c, y, 1.0 - omega, s, e, threads_per_block=16)
    np.testing.assert_array_equal(np.r_[y[:s], y[e:]], np.r_[x[:s], x[e:]])
    assert not np.allclose(y[s:e], x[s:e])


@pytest.mark.cudasim
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_residual_kernel_matches_cpu_twin(dtype, rtol):
    A = poisson_2d(7)  # 49 rows: 4 blocks of 16
    omega = 1.4
    split = MulticolorSplit(A, omega)
    bptr, bind, bdata, diag = split.arrays(dtype)
    rng = np.random.default_rng(5)
    c = rng.standard_normal(49).astype(dtype)
    x = rng.standard_normal(49).astype(dtype)
    dscale = (diag / omega).astype(dtype)
    r_cpu, r_gpu = np.empty(49), np.full(49, np.nan)
    rr = sor_residual(bptr, bind, bdata, c, dscale, omega, x, r_cpu)
    launch_sor_residual_cuda(bptr, bind, bdata, c, dscale, omega, x, r_gpu, threads_per_block=16)
    np.testing.assert_allclose(r_gpu, r_cpu, rtol=rtol, atol=rtol)
    assert float(r_gpu @ r_gpu) == pytest.approx(rr, rel=rtol)


@pytest.mark.cudasim
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_fused_sweep_residual_kernel_matches_cpu_twin(dtype, rtol):
    A = random_matrix(40, 0.1, 12)
    omega = 0.9
    split = MulticolorSplit(A, omega)
    assert split.n_colors >= 3  # earlier colors read from xold, later ones from x
    bptr, bind, bdata, diag = split.arrays(dtype)
    dscale = (diag / omega).astype(dtype)
    rng = np.random.default_rng(13)
    c = rng.standard_normal(40).astype(dtype)
    x = rng.standard_normal(40).astype(dtype)
    x_cpu, xold_cpu, r_cpu = x.copy(), np.empty(40, dtype), np.empty(40)
    xold, r = np.full(40, np.nan, dtype), np.full(40, np.nan)
    rr = multicolor_sweep_residual(bptr, bind, bdata, c, dscale, x_cpu, xold_cpu, r_cpu,
                                   1.0 - omega, omega, split.color_ptr)
    launch_multicolor_sweep_residual_cuda(bptr, bind, bdata, c, dscale, x, xold, r, 1.0 - omega,
                                          omega, split.color_ptr.tolist(), threads_per_block=8)
    np.testing.assert_allclose(x, x_cpu, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(xold, xold_cpu)
    np.testing.assert_allclose(r, r_cpu, rtol=rtol, atol=rtol)
    assert float(r @ r) == pytest.approx(rr, rel=rtol)


@pytest.mark.cudasim
def test_kernel_solver_path_end_to_end_matches_cpu_twin():
    # the whole CuPy code path (kernels, stopping test, roll of statuses) on host arrays
    A = poisson_2d(5)
    b = np.random.default_rng(6).standard_normal(25)
    kw = dict(x0=np.ones(25), rtol=1e-3, atol=0.0, maxiter=200, symmetric=True,
              callback=None, return_history=True, check_every=2, verbose=0, xp=cnp)
    twin = solve_sor(A, b, 1.3, backend="twin", **kw)
    cuda = solve_sor(A, b, 1.3, backend="cuda", threads_per_block=8, **kw)
    assert twin.converged and cuda.converged and cuda.n_iter == twin.n_iter
    np.testing.assert_allclose(cuda.x, twin.x, rtol=1e-13)
    np.testing.assert_allclose(cuda.history, twin.history, rtol=1e-12)
    assert np.linalg.norm(b - A @ cuda.x) <= 1e-3 * np.linalg.norm(b - A @ np.ones(25))
    pc = solve_ssor_cg(A, b, 1.3, x0=None, rtol=1e-8, atol=0.0, maxiter=None, callback=None,
                       return_history=False, verbose=0, xp=cnp, backend="cuda")
    ref = solve_ssor_cg(A, b, 1.3, x0=None, rtol=1e-8, atol=0.0, maxiter=None, callback=None,
                        return_history=False, verbose=0, xp=cnp, backend="twin")
    assert pc.converged and pc.n_iter == ref.n_iter
    np.testing.assert_allclose(pc.x, np.linalg.solve(A.toarray(), b), rtol=1e-6)


# ---------------------------------------------------------------------------------------
# real GPU (CuPy), skipped without one
# ---------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-8), ("float32", 1e-5)])
@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_cupy_sor_matches_numpy(kind, dtype, rtol):
    cupy = pytest.importorskip("cupy")
    cpsp = pytest.importorskip("cupyx.scipy.sparse")
    A = poisson_2d(40)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    w = optimal_omega(A)
    ref = sor(A, b, w, rtol=rtol)
    Ad = cpsp.csr_matrix(A.astype(dtype)) if kind == "sparse" else cupy.asarray(A.toarray(), dtype)
    bd = cupy.asarray(b, dtype=dtype)
    res = sor(Ad, bd, w, rtol=rtol)
    assert isinstance(res.x, cupy.ndarray) and res.x.dtype == dtype
    assert res.converged and abs(res.n_iter - ref.n_iter) <= 0.1 * ref.n_iter
    x = cupy.asnumpy(res.x).astype(np.float64)
    slack = 2 if dtype == "float64" else 20  # float32 B = ωD⁻¹(L+U) rounds its entries
    assert np.linalg.norm(b - A @ x) <= slack * rtol * np.linalg.norm(b)
    # same iterates as the CPU twin of the kernels (FMA contraction may move one sweep)
    twin = _twin(A.astype(dtype), b.astype(dtype), w, rtol=rtol)
    assert abs(res.n_iter - twin.n_iter) <= (0 if dtype == "float64" else 1)
    np.testing.assert_allclose(x, twin.x, rtol=0, atol=10 * rtol * np.abs(twin.x).max())
    assert optimal_omega(Ad) == pytest.approx(w, rel=1e-10)


@pytest.mark.gpu
def test_cupy_ssor_cg_and_warnings():
    cupy = pytest.importorskip("cupy")
    cpsp = pytest.importorskip("cupyx.scipy.sparse")
    A = poisson_2d(40)
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    Ad, bd = cpsp.csr_matrix(A), cupy.asarray(b)
    res = ssor_cg(Ad, bd, 1.5)
    assert isinstance(res.x, cupy.ndarray) and res.converged
    np.testing.assert_allclose(cupy.asnumpy(res.x), ssor_cg(A, b, 1.5).x, rtol=1e-6, atol=1e-8)
    with pytest.warns(ConvergenceWarning, match="sor did not converge after 3"):
        res = sor(Ad, bd, 1.5, maxiter=3)
    assert res.status is Status.MAX_ITER
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sor(Ad, bd, 1.5, symmetric=True, check_every=5)


def test_kernel_argument_cache_stays_small():
    # the SSOR preconditioner hands new vectors to the kernels at every CG iteration
    ops = _KernelOps(poisson_2d(3), 1.2, cnp.float64, cnp, device=True)
    vectors = [np.zeros(9) for _ in range(10)]
    for v in vectors:
        assert ops._arg(v) is v  # host arrays go to the simulator as they are
        assert ops._arg(v) is v and len(ops._args) <= 4
