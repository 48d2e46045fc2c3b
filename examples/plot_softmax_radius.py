"""
Ghosts of softmax: capping the step at the softmax radius
=========================================================

Along a direction ``d`` the logits move at rates ``a = J d``; the softmax cross-entropy's
Taylor series in the step length converges only within a radius ``ρ`` set by the
complex singularities of the softmax (Sao, "Ghosts of softmax"). A step longer than ``ρ``
can overshoot wildly. :class:`numlearn.dynamics.SafeStepGD` caps every step at a fraction
of ``ρ`` (one extra Jacobian-vector product per step).

We train a softmax regression with a fixed step far too large for it, and with the same
step capped at the radius, and plot the loss and the step lengths against the radius
(``train(track=("softmax_radius",))``).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np

from numlearn.dynamics import GD, SafeStepGD, SoftmaxRegression, train

rng = np.random.default_rng(0)
n, d, k = 200, 10, 4
centers = 1.0 * rng.standard_normal((k, d))   # overlapping classes
y = rng.integers(0, k, n)
X = centers[y] + rng.standard_normal((n, d))
model = SoftmaxRegression(X, y, n_classes=k)
w0 = np.zeros(model.n_params)
lr = 50.0



def run(optimizer):
    """Train, keeping every iterate to measure the step lengths."""
    iterates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = train(model, w0, optimizer, 60, track=("softmax_radius",), random_state=0,
                     callback=lambda info: iterates.append(info.w))
    lengths = np.linalg.norm(np.diff(np.array(iterates), axis=0), axis=1)
    return traj, lengths


fixed, fixed_len = run(GD(lr=lr))   # 2/sharpness at w0 is about 1.8
safe, safe_len = run(SafeStepGD(lr=lr, fraction=1.0))
print(f"fixed step: final loss {fixed.loss[-1]:.3g}; capped at the radius: "
      f"{safe.loss[-1]:.3g}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.semilogy(fixed.steps, fixed.loss, label=f"GD, η = {lr:g}")
ax1.semilogy(safe.steps, safe.loss, label="SafeStepGD (step ≤ ρ)")
ax1.set_xlabel("step")
ax1.set_ylabel("training loss")
ax1.legend()
ax2.semilogy(fixed.steps[:-1], fixed_len, label="GD step length")
ax2.semilogy(fixed.steps, fixed.softmax_radius, "--", label="radius ρ (GD run)")
ax2.semilogy(safe.steps[:-1], safe_len, label="SafeStepGD step length")
ax2.semilogy(safe.steps, safe.softmax_radius, ":", label="radius ρ (capped run)")
ax2.set_xlabel("step")
ax2.set_ylabel("length in parameter space")
ax2.legend(fontsize=8)
fig.tight_layout()
