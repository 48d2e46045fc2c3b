"""
Sketched Newton for equality-constrained problems
=================================================

:func:`numlearn.optimize.minimize_eq` minimizes ``f(x)`` subject to ``c(x) = 0`` by
Newton's method on the KKT conditions, with two twists from Hong, Na, Mahoney and Kolar
(ICML 2023): each Newton–KKT system is solved only *approximately*, by a randomized
iterative sketching method (randomized Kaczmarz, Gaussian or sparse sketch-and-project),
and the steps are globalized by a line search on the *exact augmented Lagrangian*, a
merit function whose stationary points are exactly the KKT points.

Here we watch the KKT residual ``‖(∇ₓL, c)‖`` fall, iteration by iteration, on
Hock–Schittkowski problem 77 for several sketches, with linear (``θ_k = 1``) and
superlinear (``θ_k → 0``) inner accuracy, and count the sketch steps each needs.
"""

# %%
# The problem
# -----------
# HS77 has five variables, two nonlinear equality constraints and the optimal value
# 0.24150513. The problem objects in :mod:`numlearn.datasets` carry exact gradients and
# Hessians of ``f`` and of the constraints.
import matplotlib.pyplot as plt

from numlearn.datasets import hock_schittkowski
from numlearn.optimize import minimize_eq
from numlearn.plotting import plot_convergence

problem = hock_schittkowski("HS77")


def solve(**kwargs):
    return minimize_eq(problem.fun, problem.x0, jac=problem.jac, hess=problem.hess,
                       constraints=problem.constraints, tol=1e-10, random_state=0,
                       **kwargs)


# %%
# KKT residual per iteration for each inner solver
# ------------------------------------------------
# ``"direct"`` solves each KKT system exactly (the exact-Newton baseline); the sketches
# stop as soon as ``‖r‖ ≤ θ_k δ_k ‖rhs‖`` (``δ = 0.1`` by default), so each outer step
# removes only about 90% of the Newton error: the convergence is linear, not quadratic.
# ``superlinear=True`` sets ``θ_k = ‖(∇ₓL, c)‖``, tightening the inner solves as the
# iterates converge.
variants = {
    "exact (direct)": dict(sketch="direct"),
    "randomized Kaczmarz": dict(sketch="kaczmarz"),
    "Gaussian, 1 vector": dict(sketch="gaussian"),
    "CountSketch block": dict(sketch="countsketch", block_size=4),
    "Kaczmarz, superlinear": dict(sketch="kaczmarz", superlinear=True),
}
results = {label: solve(**kwargs) for label, kwargs in variants.items()}

fig, ax = plt.subplots(figsize=(7, 4.5))
plot_convergence({f"{label} ({res.n_inner} sketch steps)": res
                  for label, res in results.items()},
                 ax=ax, line_kws={"marker": "o", "ms": 3},
                 xlabel="outer (Newton) iteration",
                 title="HS77: sketched augmented-Lagrangian Newton")
ax.axhline(1e-10, color="gray", lw=0.8, ls=":")
ax.legend(fontsize=8)
fig.tight_layout()

for label, res in results.items():
    print(f"{label:24s} iterations={res.nit:3d} sketch steps={res.n_inner:6d} "
          f"f={res.fun:.8f} KKT={res.kkt_norm:.1e}")
print(f"known optimum f* = {problem.f_opt}")

# %%
# All variants reach the same KKT point in about the same number of outer iterations:
# far from the solution the merit-function line search, not the inner accuracy, sets the
# pace. Each sketched step costs a few hundred projections onto single rows or small
# blocks of the ``7 × 7`` KKT matrix, and the superlinear option, which tightens the inner
# solves as the iterates converge, finishes first.
plt.show()
