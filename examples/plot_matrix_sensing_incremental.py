"""
Incremental learning in over-parameterized matrix sensing
=========================================================

Gradient descent on a symmetric factorization ``P = X Xᵀ`` with a wide factor
(``rank`` above the target's) from a small initialization learns the target's
eigen-directions one at a time, largest first: the eigenvalues of ``X Xᵀ`` rise in a
staircase, each after a plateau whose length grows like ``log(1/scale) / σ_i``
(Arora et al. 2019; Jin et al. 2023). The last, unneeded directions stay near zero.
"""

import matplotlib.pyplot as plt
import numpy as np

from numlearn.dynamics import GD, MatrixSensing, train

rng = np.random.default_rng(0)
d, true_rank, rank = 20, 3, 8
U, _ = np.linalg.qr(rng.standard_normal((d, true_rank)))
sigmas = np.array([4.0, 2.0, 1.0])
M = (U * sigmas) @ U.T
model = MatrixSensing(M, rank=rank)
w0 = model.init_params(random_state=1, scale=1e-4)

iterates = []
traj = train(model, w0, GD(lr=0.05), 300, track=(), every=5, random_state=0,
             callback=lambda info: iterates.append(info.w))
eigs = np.array([np.linalg.eigvalsh(model.factors(w) @ model.factors(w).T)[::-1][:4]
                 for w in iterates])
print("eigenvalues of XXᵀ at the end:", np.round(eigs[-1], 4), " target:", sigmas)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for i in range(4):
    label = f"λ{i + 1}" + (f" (target {sigmas[i]:g})" if i < true_rank else " (target 0)")
    ax1.plot(traj.steps, eigs[:, i], label=label)
ax1.set_xlabel("step")
ax1.set_ylabel("eigenvalue of X Xᵀ")
ax1.legend(fontsize=8)
ax2.semilogy(traj.steps, traj.loss)
ax2.set_xlabel("step")
ax2.set_ylabel("loss ½‖XXᵀ − M‖²")
ax2.set_title("plateaus between the learned directions")
fig.tight_layout()
