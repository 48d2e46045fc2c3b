"""
SGD's linear-stability threshold against observed divergence
============================================================

At an interpolating minimum, SGD with step ``η`` and batch size ``B`` is stable in mean
square iff ``η`` is below the threshold of Mulayoff and Michaeli (COLT 2024), computed by
:func:`numlearn.dynamics.sgd_linear_stability`. Full-batch GD's threshold is ``2/λ_max``;
smaller batches are unstable at smaller steps.

For single-sample SGD (``B = 1``) on an over-parameterized least-squares problem we
follow the expected loss ``E[L(w_t)]`` exactly (the second-moment recursion, averaging
over the ``n`` possible samples at each step) at steps 10% below and above the threshold,
and compare it with the mean of SGD runs of :func:`numlearn.dynamics.train`. The exact
expected loss decays below the threshold and grows above it; the sample mean of a few
dozen runs follows it until rare, large excursions (the heavy tail that makes the mean
diverge) are no longer sampled: a typical run can look stable beyond the mean-square
threshold.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np

from numlearn.dynamics import SGD, LinearRegression, sgd_linear_stability, train

rng = np.random.default_rng(0)
n, d = 12, 30                                # fewer samples than parameters
X = rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d)
y = rng.standard_normal(n)
model = LinearRegression(X, y)
w_star = np.linalg.lstsq(X, y, rcond=None)[0]    # an interpolating minimum

batch_sizes = [1, 2, 3, 4, 6, 12]
thresholds = [sgd_linear_stability(model, w_star, None, B).threshold for B in batch_sizes]
for B, t in zip(batch_sizes, thresholds):
    print(f"B = {B:2d}: mean-square stable for η <= {t:.4f}")

# ---- B = 1: the exact expected loss and the mean of sampled runs ----------------------
eta1 = thresholds[0]
H = X.T @ X / n
steps = 400
delta0 = 1e-3 * np.eye(d)                    # E[(w0 - w*)(w0 - w*)ᵀ] of the perturbation


def expected_loss(eta):
    """E[L(w_t)] - L(w*) = ½ tr(H Σ_t), Σ_{t+1} = mean_i (I - η x_i x_iᵀ) Σ_t (I - η x_i x_iᵀ)."""
    S = delta0.copy()
    out = []
    for _ in range(steps):
        out.append(0.5 * np.trace(H @ S))
        S = np.mean([(np.eye(d) - eta * np.outer(x, x)) @ S @ (np.eye(d) - eta * np.outer(x, x))
                     for x in X], axis=0)
    return np.array(out)


def sampled_mean_loss(eta, runs=48):
    losses = []
    for seed in range(runs):
        w0 = w_star + np.sqrt(1e-3) * np.random.default_rng(seed).standard_normal(d)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            traj = train(model, w0, SGD(lr=eta, batch_size=1), steps - 1, track=(),
                         random_state=seed)
        losses.append(traj.loss)
    return np.mean(losses, axis=0)


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.plot(batch_sizes, thresholds, "o-", label="mean-square threshold η*")
ax1.axhline(2 / np.linalg.eigvalsh(H).max(), ls="--", c="gray", label="GD: 2/λ_max(H)")
ax1.set_xlabel("batch size B")
ax1.set_ylabel("largest stable step")
ax1.legend()
for factor, color in ((0.9, "tab:green"), (1.1, "tab:red")):
    exact = expected_loss(factor * eta1)
    ax2.semilogy(exact, c=color, label=f"exact E[L], η = {factor} η*")
    ax2.semilogy(sampled_mean_loss(factor * eta1), c=color, ls=":", alpha=0.8,
                 label=f"mean of 48 SGD runs, η = {factor} η*")
    print(f"η = {factor} η*: exact E[L] went from {exact[0]:.2e} to {exact[-1]:.2e}")
ax2.set_xlabel("step")
ax2.set_ylabel("loss above the minimum")
ax2.set_title("B = 1")
ax2.legend(fontsize=7)
fig.tight_layout()
