"""
The catapult phase of large learning rates
==========================================

Gradient descent on the two-layer linear "uv" network ``f = m^{-1/2} vᵀu`` fitted to one
example (``x = 1``, ``y = 0``, squared loss) has three regimes, set by the learning rate
``η`` relative to the initial tangent kernel ``λ₀ = (‖u‖² + ‖v‖²)/m`` (Lewkowycz et al.,
2020):

* ``η < 2/λ₀`` — *lazy*: the loss decreases monotonically and the kernel barely moves;
* ``2/λ₀ < η < 4/λ₀`` — *catapult*: the loss first grows (the iterate is unstable
  along the top curvature direction), the kernel ``λ`` shrinks until it falls below
  ``2/η``, and then the loss converges;
* ``η > 4/λ₀`` — divergence.

The exact dynamics are ``f' = f(1 - ηλ + η²f²/m)`` and ``λ' = λ + (ηf²/m)(ηλ - 4)``;
:class:`numlearn.dynamics.UVModel` reproduces them to rounding, and
:func:`numlearn.dynamics.train` records the loss and the kernel's top eigenvalue
(which at ``f = 0`` is the sharpness) at every step.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numlearn.dynamics import GD, UVModel, ntk_eigenvalue, train
from numlearn.plotting import plot_trajectory

m = 100
model = UVModel([[1.0]], [0.0], width=m)
w0 = model.init_params(random_state=0)
lam0 = ntk_eigenvalue(model, w0).eigenvalue
print(f"width m = {m}, initial kernel λ₀ = {lam0:.3f}, 2/λ₀ = {2 / lam0:.3f}")

runs = {}
for c in (1.5, 2.5, 3.5, 4.2):
    lr = c / lam0
    with warnings.catch_warnings():  # the last run diverges, on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs[c] = train(model, w0, GD(lr), 60, track=("loss", "ntk", "sharpness"),
                        random_state=0)
    traj = runs[c]
    event = traj.detect_catapult()
    outcome = "diverged" if traj.diverged else ("catapult" if event else "lazy")
    print(f"η = {c}/λ₀: {outcome:8s} peak loss {event.peak_loss:9.3g}, "
          f"final λ·η = {traj.ntk[-1] * lr if not traj.diverged else np.nan:.3f}")

# %%
# Loss and kernel against the step
# --------------------------------
# The dashed lines are ``2/η`` for each learning rate: a catapult run ends with its
# kernel (and sharpness) below its own line.
fig = plot_trajectory({f"η = {c}/λ₀": traj for c, traj in runs.items()},
                      lr=[c / lam0 for c in runs], curvature="ntk",
                      colors=plt.cm.viridis(np.linspace(0, 0.9, len(runs))))
ax_loss, ax_lam = fig.axes
ax_lam.set_ylim(0, 1.5 * lam0)
ax_loss.set_ylim(1e-16, None)
fig.tight_layout()
plt.show()
