"""
Inequality constraints through ``scipy.optimize.minimize``
==========================================================

:func:`numlearn.optimize.minimize_constrained` takes SciPy's arguments and is a custom
``method`` of :func:`scipy.optimize.minimize`: code written for SLSQP or trust-constr
switches by changing one word. Inequalities ``g(x) ≥ 0`` (and bounds) become
equalities ``g(x) − s² = 0`` with squared slacks, solved by the sketched exact
augmented-Lagrangian Newton method of :func:`~numlearn.optimize.minimize_eq`.

Here: Hock–Schittkowski problem 22, ``min (x₁ − 2)² + (x₂ − 1)²`` subject to
``x₁ + x₂ ≤ 2`` and ``x₂ ≥ x₁²``, from the infeasible start ``(2, 2)``; both
constraints are active at the solution ``(1, 1)``.
"""

# %%
# Solve it as a SciPy user would
# ------------------------------
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import LinearConstraint, NonlinearConstraint, minimize

from numlearn.optimize import minimize_constrained


def fun(x):
    return (x[0] - 2) ** 2 + (x[1] - 1) ** 2


def jac(x):
    return np.array([2 * (x[0] - 2), 2 * (x[1] - 1)])


def hess(x):
    return 2 * np.eye(2)


constraints = [
    LinearConstraint([[1, 1]], -np.inf, 2),
    NonlinearConstraint(lambda x: [x[1] - x[0] ** 2], 0, np.inf,
                        jac=lambda x: np.array([[-2 * x[0], 1.0]]),
                        hess=lambda x, v: np.array([[-2 * v[0], 0.0], [0.0, 0.0]])),
]
x0 = np.array([2.0, 2.0])

path = [x0]
res = minimize(fun, x0, method=minimize_constrained, jac=jac, hess=hess,
               constraints=constraints, tol=1e-10,
               callback=lambda intermediate_result: path.append(intermediate_result.x))
path = np.array(path)
print(f"x = {res.x}, f = {res.fun:.10f}, KKT residual {res.kkt_norm:.1e}, "
      f"{res.nit} iterations")
print("multipliers (trust-constr's sign):", [np.round(v, 8) for v in res.v])

# %%
# The same call with SLSQP and trust-constr
# -----------------------------------------
# (SLSQP ignores the constraint Hessians and says so; that warning is silenced.)
import warnings  # noqa: E402

from scipy.optimize import OptimizeWarning  # noqa: E402

warnings.filterwarnings("ignore", category=OptimizeWarning)
for method in ("SLSQP", "trust-constr"):
    kwargs = {"hess": hess} if method == "trust-constr" else {}
    other = minimize(fun, x0, method=method, jac=jac, constraints=constraints, **kwargs)
    print(f"{method:13s} x = {other.x}, f = {other.fun:.10f}, {other.nit} iterations")

# %%
# The iterates
# ------------
# The path leaves the infeasible start, crosses the parabola and lands on the corner
# where both constraints are active.
g1, g2 = np.meshgrid(np.linspace(-0.5, 2.5, 300), np.linspace(-0.5, 2.5, 300))
feasible = (g1 + g2 <= 2) & (g2 >= g1**2)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
ax.contour(g1, g2, (g1 - 2) ** 2 + (g2 - 1) ** 2, levels=15, cmap="Greys", linewidths=0.6)
ax.contourf(g1, g2, feasible, levels=[0.5, 1.5], colors=["tab:green"], alpha=0.2)
ax.plot(path[:, 0], path[:, 1], "o-", color="tab:blue", ms=4, label="iterates")
ax.plot(*res.x, "*", color="tab:red", ms=14, label="solution")
ax.set(xlabel="x₁", ylabel="x₂", title="HS22: feasible set (green) and iterates")
ax.legend(loc="lower left")
ax2.semilogy(res.history, "o-")
ax2.set(xlabel="iteration", ylabel="KKT residual of the slack problem",
        title="Convergence")
fig.tight_layout()
plt.show()
