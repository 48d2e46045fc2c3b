"""
Learning SOR's relaxation parameter across a sequence of systems
================================================================

Successive over-relaxation converges fast only near the right ω, and the right ω depends on
the matrix. When many related systems are solved one after another, an online learner can
find it from the iteration counts alone (:class:`~numlearn.tuning.TsallisINF`, a bandit), or
from a scalar context per system as well (:class:`~numlearn.tuning.ChebCB`, a contextual
bandit), as in Khodak et al., "Learning to Relax" (ICLR 2024).

The sequence is the paper's: ``A_t = L + c_t I`` with ``L`` the 5-point Laplacian on a 10 × 10
grid and random shifts ``c_t`` (the context). We compare the cumulative number of SOR
iterations of

* fixed ω = 1 (Gauss–Seidel) and the best fixed ω in hindsight (grid search over the whole
  sequence, which no online method knows in advance),
* the instance-optimal ω (grid search per system: the lower bound),
* :class:`~numlearn.tuning.OmegaTuner` with Tsallis-INF (the paper's algorithm, and the
  tuner's default, whose loss estimates share plays between neighbouring ω) and with ChebCB.
"""

import matplotlib.pyplot as plt
import numpy as np

from numlearn.datasets import shifted_laplacian_sequence
from numlearn.plotting import plot_omega_tuning
from numlearn.tuning import OmegaTuner, omega_baselines

n_systems = 1000
sequence = shifted_laplacian_sequence(n_systems=n_systems, offset="high", random_state=0)

# Every system solved with every ω of the default grid: the offline baselines.
baselines = omega_baselines(sequence)
best = int(np.argmin(baselines.fixed_totals))

curves = {
    "ω = 1 (Gauss–Seidel)": np.cumsum(baselines.costs[:, 0]),
    f"best fixed ω = {baselines.best_fixed_omega:.2f} (hindsight)":
        np.cumsum(baselines.costs[:, best]),
    "instance-optimal ω": np.cumsum(baselines.costs.min(axis=1)),
}

# %%
# The online learners solve the same systems in order, choosing ω before each solve.
bandit = OmegaTuner(learner="tsallis-inf", random_state=0)
bandit.solve_sequence(sequence)
papers = OmegaTuner(learner="tsallis-inf", random_state=0, learner_options={
    "estimator": "reduced-variance", "learning_rate": 2.0, "smoothing_radius": 0.0})
papers.solve_sequence(sequence)
contextual = OmegaTuner(learner="chebcb", context_range=sequence.context_range, random_state=0)
contextual.solve_sequence(sequence)
curves["Tsallis-INF, paper's (iteration counts)"] = np.cumsum(papers.costs_)
curves["Tsallis-INF, neighbouring ω share plays"] = np.cumsum(bandit.costs_)
curves["ChebCB (counts + shift c_t)"] = np.cumsum(contextual.costs_)

for name, curve in curves.items():
    print(f"{name:42s} {curve[-1] / n_systems:7.1f} iterations per system")

# %%
# Cumulative iterations against the number of systems solved (the paper's figure), and the
# ω each learner chose, against the context (the shift ``c_t``): the contextual bandit
# learns to follow the instance-optimal ω, the others settle near the best fixed ω.
fig = plot_omega_tuning({"Tsallis-INF, paper's": papers,
                         "Tsallis-INF, shared plays": bandit,
                         "ChebCB (counts + shift c_t)": contextual},
                        baselines, contexts=sequence.shifts)
fig.axes[1].set_xlabel("shift $c_t$ (context)")
fig.tight_layout()
plt.show()
