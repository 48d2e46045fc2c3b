"""
Lanczos vs. dense eigendecomposition
====================================

A dense eigendecomposition (:func:`numpy.linalg.eigh`) computes *all* ``n`` eigenpairs
in ``O(n^3)`` time and needs the matrix itself. When only a few extreme eigenvalues are
wanted, :func:`numlearn.linalg.lanczos_eigsh` needs nothing but products ``v -> A v``:
it builds a small Krylov basis, keeps it orthonormal by full reorthogonalization, and
restarts from its best Ritz vectors (thick restart).

Here we watch its Ritz values converge on a 2-D Poisson matrix, compare its cost with
:func:`scipy.sparse.linalg.eigsh` (ARPACK) and dense ``eigh``, and finally use it
matrix-free, on a Hessian that is never formed.
"""

# %%
# The problem: a 2-D Laplacian with known eigenvalues
# ---------------------------------------------------
# The 5-point Laplacian on an ``nx x ny`` grid has eigenvalues
# ``4 - 2 cos(i pi / (nx + 1)) - 2 cos(j pi / (ny + 1))``. With ``nx != ny`` they are
# all distinct (a square grid has double eigenvalues, which a single-vector Krylov
# method sees only once), and the largest ones are tightly clustered, which makes them
# a slow target for Krylov methods.
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from numlearn.linalg import lanczos_eigsh


def laplacian_1d(m):
    return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])


nx, ny = 36, 30
A = (sp.kron(laplacian_1d(nx), sp.identity(ny)) + sp.kron(sp.identity(nx), laplacian_1d(ny)))
A = A.tocsr()
n = A.shape[0]
t0 = time.perf_counter()
exact, _ = np.linalg.eigh(A.toarray())  # the dense reference: all n pairs, ascending
t_dense = time.perf_counter() - t0
print(f"n = {n}, four largest eigenvalues: {exact[-4:]}")

# %%
# Watching the Ritz values converge
# ---------------------------------
# The callback receives the current Ritz values of the wanted pairs after every
# Rayleigh-Ritz step, together with the number of mat-vecs spent so far.
k, tol = 4, 1e-10
history = []
res = lanczos_eigsh(A, n, k, tol=tol, random_state=0, callback=history.append)
print(res.message, f"after {res.n_iter} restarts and {res.n_matvec} mat-vecs")
print("eigenvalues:", res.eigenvalues)
print("true residual norms:", res.residual_norms)

matvecs = np.array([h.n_matvec for h in history])
errors = np.array([np.abs(h.eigenvalues - exact[-k:]) / exact[-k:] for h in history])
estimates = np.array([h.residual_estimates / np.abs(h.eigenvalues) for h in history])

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
for i in range(k):
    label = rf"$\lambda_{{{n - k + i + 1}}}$ = {exact[n - k + i]:.5f}"
    ax0.semilogy(matvecs, np.maximum(errors[:, i], 1e-17), "o-", ms=3, label=label)
    ax1.semilogy(matvecs, np.maximum(estimates[:, i], 1e-17), "o-", ms=3)
ax0.set(xlabel="mat-vecs", ylabel="relative eigenvalue error",
        title="Ritz values vs numpy.linalg.eigh")
ax1.axhline(tol, color="k", ls="--", lw=1, label=f"tol = {tol:g}")
ax1.set(xlabel="mat-vecs", ylabel=r"residual estimate $|\beta s_m| / |\theta|$",
        title="Stopping test (ARPACK's criterion)")
ax0.legend(fontsize=8)
ax1.legend(fontsize=8)
fig.tight_layout()

# %%
# The eigenvalue error falls roughly as the *square* of the residual (for a symmetric
# matrix, ``|theta - lambda| <= ||r||^2 / gap``), so by the time the residuals meet
# ``tol`` the eigenvalues are accurate to rounding. The largest eigenvalue, the best
# separated, converges first; the fourth, whose neighbour below is only 0.06% away,
# stalls until the basis resolves that neighbour, then converges superlinearly (the
# restart keeps more Ritz vectors than the ``k`` wanted ones for this reason).
#
# Cost: Lanczos, ARPACK and dense eigh
# ------------------------------------
# Same problem, same ``tol`` (both solvers use ARPACK's stopping test), same start
# vector. Dense ``eigh`` (timed above) computes all ``n`` eigenpairs; the Krylov
# methods only the four we want.


def best_time(f, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


v0 = np.random.default_rng(1).standard_normal(n)
count = [0]


def counted_matvec(v):
    count[0] += 1
    return A @ v


t_ours, ours = best_time(lambda: lanczos_eigsh(A, n, k, tol=tol, v0=v0))
op = spla.LinearOperator(A.shape, matvec=counted_matvec, dtype=np.float64)
t_arpack, theirs = best_time(lambda: spla.eigsh(op, k=k, which="LA", tol=tol, v0=v0)[0])
print(f"lanczos_eigsh : {t_ours * 1e3:8.1f} ms, {ours.n_matvec} mat-vecs")
print(f"scipy eigsh   : {t_arpack * 1e3:8.1f} ms, {count[0] // 3} mat-vecs")  # 3 runs
print(f"numpy eigh    : {t_dense * 1e3:8.1f} ms (all {n} eigenpairs)")
print("max difference to eigsh:", np.max(np.abs(ours.eigenvalues - np.sort(theirs))))

# %%
# At this size the Krylov solvers spend their time in Python and small BLAS calls,
# and ``eigh`` is still affordable; the gap grows as ``n^3`` against ``n`` times the
# number of mat-vecs.
#
# Matrix-free: the top eigenvalue of a Hessian
# --------------------------------------------
# The largest eigenvalue ``L`` of the Hessian of the logistic loss bounds the step
# size of gradient descent (``2 / L`` is the edge of stability). The Hessian
# ``X^T D X / m`` is never formed: a Hessian-vector product is two products with
# ``X``.
rng = np.random.default_rng(0)
m, d = 4000, 600
X = rng.standard_normal((m, d)) * np.linspace(0.2, 2.0, d)
w = rng.standard_normal(d) / np.sqrt(d)
p = 1.0 / (1.0 + np.exp(-X @ w))
D = p * (1.0 - p)


def hessian_vector_product(v):
    return X.T @ (D * (X @ v)) / m


res = lanczos_eigsh(hessian_vector_product, d, k=1, tol=1e-8, random_state=0)
H = X.T @ (D[:, None] * X) / m  # formed only to check the answer
L = np.linalg.eigvalsh(H)[-1]
print(f"Lanczos L = {res.eigenvalues[0]:.10f} with {res.n_matvec} Hessian-vector products")
print(f"eigh    L = {L:.10f}; largest stable GD step 2/L = {2 / L:.4f}")

plt.show()
