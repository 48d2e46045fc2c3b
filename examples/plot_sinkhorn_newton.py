"""
Sinkhorn vs. Sinkhorn–Newton–Sparse
===================================

Entropic optimal transport between histograms ``a`` and ``b`` with cost ``M`` is solved
by Sinkhorn's algorithm: alternately rescale the rows and the columns of the Gibbs
kernel ``exp(-M / reg)``. Each iteration is cheap, but for small ``reg`` the iteration
converges slowly (linearly, with a rate that tends to 1 as ``reg`` goes to 0).

Sinkhorn–Newton–Sparse (SNS, Tang et al., ICLR 2024) runs a few Sinkhorn iterations and
then takes Newton steps on the dual. The Hessian of the dual is built from the transport
plan itself, which for small ``reg`` is nearly sparse: keeping its largest entries gives
a sparse linear system, solved by conjugate gradients, and the iteration count drops from
thousands to tens. (numlearn's SNS also warm-starts through larger ``reg`` values first,
"epsilon scaling", which is what keeps the Newton phase fast for very small ``reg``.)

Here we watch the marginal error ``‖P1 - a‖₁ + ‖Pᵀ1 - b‖₁`` of both methods on the random
assignment problem of the paper, then look at a plan.
"""

# %%
# Marginal error vs. iteration
# ----------------------------
# The random assignment problem: i.i.d. uniform costs, uniform weights, ``n = 500``,
# ``reg = 1/1200`` (the paper's ``η = 1200``).
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numlearn.datasets import ot_gaussian_clouds, ot_random_assignment
from numlearn.ot import sinkhorn, sinkhorn_newton_sparse
from numlearn.plotting import plot_convergence, plot_plan

a, b, M = ot_random_assignment(500, random_state=0)
reg = 1 / 1200

# the paper's algorithm: 20 Sinkhorn iterations, then Newton (no epsilon scaling)
start = time.perf_counter()
sns = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-10, reg_schedule=(), return_history=True)
t_sns = time.perf_counter() - start

# numlearn's default: first solve at reg = 1e-2 (loosely), then warm-start at 1/1200
sns_eps = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-10, return_history=True)

start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # we stop it on purpose
    sk = sinkhorn(a, b, M, reg, tol=1e-10, max_iter=1000, return_history=True)
t_sk = time.perf_counter() - start

print(f"SNS:      {sns.n_iter} iterations ({sns.n_sinkhorn_iter} Sinkhorn + "
      f"{sns.n_newton_iter} Newton), marginal error {sns.marginal_error:.1e}, "
      f"{t_sns:.2f} s")
print(f"SNS with epsilon scaling: {sns_eps.n_iter} iterations, marginal error "
      f"{sns_eps.marginal_error:.1e}")
print(f"Sinkhorn: {sk.n_iter} iterations, marginal error {sk.marginal_error:.1e}, "
      f"{t_sk:.2f} s")

fig, ax = plt.subplots(figsize=(6.5, 4))
plot_convergence({"Sinkhorn (log domain)": sk, "Sinkhorn–Newton–Sparse": sns,
                  "SNS, epsilon scaling (reg = 1e-2 first)": sns_eps},
                 ax=ax, title="Random assignment, n = 500, reg = 1/1200")
ax.lines[1].set(marker="o", ms=3)
ax.axvline(sns.n_sinkhorn_iter, color="gray", ls=":", lw=1)
ax.text(sns.n_sinkhorn_iter + 5, 1e-2, "Newton phase starts", color="gray")
ax.set_xscale("log")
fig.tight_layout()

# %%
# The plan
# --------
# Two point clouds in the plane, ``n = 200`` and ``m = 150`` (a rectangular problem),
# squared Euclidean cost scaled to a maximum of 1. At ``reg = 1e-3`` the plan is close
# to the unregularized optimal plan: each source point sends its mass to a few nearby
# target points. Sorting the points along the direction between the clouds makes the
# plan's near-monotone structure visible.
a2, b2, M2 = ot_gaussian_clouds(200, 150, random_state=1)
res = sinkhorn_newton_sparse(a2, b2, M2, 1e-3, tol=1e-10)
print(f"plan: {res.n_iter} iterations, cost {res.cost:.5f}, "
      f"entries > 1e-6 * max: {np.mean(res.plan > 1e-6 * res.plan.max()):.1%}")

# the same clouds as ot_gaussian_clouds draws them, to order rows and columns
rng = np.random.default_rng(1)
xs = rng.standard_normal((200, 2))
xt = rng.standard_normal((150, 2)) + 2.0
rows = np.argsort(xs.sum(axis=1))
cols = np.argsort(xt.sum(axis=1))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
plot_plan(res, ax=ax1, rows=rows, cols=cols, title="entropic plan (points sorted along (1, 1))")
ax2.scatter(*xs.T, s=8, label="source")
ax2.scatter(*xt.T, s=8, label="target")
i, j = np.nonzero(res.plan > 0.2 * res.plan.max(axis=1, keepdims=True))
for k in range(0, len(i), 2):
    ax2.plot([xs[i[k], 0], xt[j[k], 0]], [xs[i[k], 1], xt[j[k], 1]], color="gray",
             lw=0.4, alpha=0.6)
ax2.set_title("largest plan entries as lines")
ax2.legend()
fig.tight_layout()

# %%
# The same plan, sparse view: only the entries above 1% of the largest, the ones a
# Sinkhorn–Newton–Sparse Hessian keeps.
ax = plot_plan(res, rows=rows, cols=cols, threshold=0.01)
ax.figure.tight_layout()
plt.show()
