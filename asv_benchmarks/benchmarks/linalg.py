"""numlearn.linalg against SciPy on the 2-D Poisson matrix (10^5 and 10^6 unknowns).

Same problem, same accuracy: both CG solvers stop at ‖r‖ < 1e-6 ‖b‖ (they run the same
recurrences, so the iteration counts agree); both eigensolvers stop when every wanted
Ritz pair has residual ≤ tol·|θ| (ARPACK's criterion, which lanczos_eigsh uses too).
"""

import numpy as np
import scipy.sparse.linalg as spla

from numlearn._validation import check_operator
from numlearn.datasets import poisson_2d
from numlearn.linalg import cg, lanczos_eigsh

from .common import quiet, relative_error


class ConjugateGradient:
    """``numlearn.linalg.cg`` vs ``scipy.sparse.linalg.cg``."""

    params = [320, 1000]
    param_names = ["n_grid"]
    timeout = 300
    rtol = 1e-6

    def setup(self, n_grid):
        self.A = poisson_2d(n_grid)
        self.b = np.random.default_rng(0).standard_normal(self.A.shape[0])
        quiet(cg, self.A, self.b, maxiter=1)  # Numba compilation is not what we time

    def time_numlearn_cg(self, n_grid):
        cg(self.A, self.b, rtol=self.rtol)

    def time_scipy_cg(self, n_grid):
        spla.cg(self.A, self.b, rtol=self.rtol)

    def track_numlearn_iterations(self, n_grid):
        return cg(self.A, self.b, rtol=self.rtol).n_iter

    def track_scipy_iterations(self, n_grid):
        count = [0]

        def count_iterations(xk):
            count[0] += 1

        spla.cg(self.A, self.b, rtol=self.rtol, callback=count_iterations)
        return count[0]

    def track_solution_difference(self, n_grid):
        ours = cg(self.A, self.b, rtol=self.rtol).x
        theirs, _ = spla.cg(self.A, self.b, rtol=self.rtol)
        return relative_error(ours, theirs)


class LanczosTopEigenvalue:
    """``numlearn.linalg.lanczos_eigsh`` vs ``scipy.sparse.linalg.eigsh`` (k=1, largest)."""

    params = [320, 1000]
    param_names = ["n_grid"]
    timeout = 600
    tol = 1e-8

    def setup(self, n_grid):
        self.A = poisson_2d(n_grid)
        self.n = self.A.shape[0]
        self.v0 = np.random.default_rng(0).standard_normal(self.n)
        h = 1.0 / (n_grid + 1)
        self.exact = 4.0 - 4.0 * np.cos(n_grid * np.pi * h)

    def time_numlearn_lanczos(self, n_grid):
        lanczos_eigsh(self.A, self.n, k=1, which="LA", tol=self.tol, v0=self.v0)

    def time_scipy_eigsh(self, n_grid):
        spla.eigsh(self.A, k=1, which="LA", tol=self.tol, v0=self.v0)

    def track_numlearn_matvecs(self, n_grid):
        return lanczos_eigsh(self.A, self.n, k=1, which="LA", tol=self.tol, v0=self.v0).n_matvec

    def track_scipy_matvecs(self, n_grid):
        count = [0]

        def matvec(v):
            count[0] += 1
            return self.A @ v

        op = spla.LinearOperator(self.A.shape, matvec=matvec, dtype=np.float64)
        spla.eigsh(op, k=1, which="LA", tol=self.tol, v0=self.v0)
        return count[0]

    def track_numlearn_eigenvalue_error(self, n_grid):
        res = lanczos_eigsh(self.A, self.n, k=1, which="LA", tol=self.tol, v0=self.v0)
        return abs(float(res.eigenvalues[-1]) - self.exact) / self.exact

    def track_scipy_eigenvalue_error(self, n_grid):
        w = spla.eigsh(self.A, k=1, which="LA", tol=self.tol, v0=self.v0,
                       return_eigenvectors=False)
        return abs(float(w[-1]) - self.exact) / self.exact


class SparseStructureCheck:
    """The structural check every sparse entry point runs (issue #22) beside the one
    sparse product it protects: ``check_sparse_structure`` (the validity pass alone, as
    products need; and with the order check that decides on canonicalizing) vs SciPy's
    ``A @ x``, on a random CSR matrix with 10 nonzeros per row (10^4 and 10^6 nonzeros)."""

    params = [1_000, 100_000]
    param_names = ["n_rows"]

    def setup(self, n_rows):
        from numlearn._validation import check_sparse_structure

        rng = np.random.default_rng(0)
        rows = np.repeat(np.arange(n_rows), 10)
        cols = rng.integers(0, n_rows, rows.shape[0])
        import scipy.sparse as sp

        self.A = sp.csr_matrix((rng.standard_normal(rows.shape[0]), (rows, cols)),
                               shape=(n_rows, n_rows))
        self.x = rng.standard_normal(n_rows)
        self.check = check_sparse_structure
        self.check(self.A)  # Numba compilation (or cache loading) is not what we time

    def time_check_validity(self, n_rows):
        self.check(self.A, canonical=False)

    def time_check_with_order(self, n_rows):
        self.check(self.A)

    def time_check_operator(self, n_rows):
        # what cg and the other sparse entry points run: structure, order and finiteness
        check_operator(self.A)

    def time_scipy_spmv(self, n_rows):
        self.A @ self.x
