"""Optimizers for the dynamics models: each is a small object with ``step``.

An optimizer declares the model methods it needs (``required``), is reset by
:meth:`Optimizer.start` at the beginning of :func:`~numlearn.dynamics.train`, and maps
``w`` to the next iterate in :meth:`Optimizer.step`, returning it with the effective
step size (the multiple of the gradient actually taken).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from numlearn._validation import check_scalar
from numlearn.dynamics import _namespace as nsp

__all__ = ["Optimizer", "GD", "SGD", "NormalizedGD", "ScaledGD", "SafeStepGD", "PerpGrad"]


class Optimizer(ABC):
    """Base class: ``step(model, w, rng) -> (w_next, step_size)``."""

    #: Model methods the optimizer calls.
    required: tuple[str, ...] = ("grad",)

    def check_model(self, model: Any) -> None:
        """Raise ``TypeError`` if ``model`` lacks a method this optimizer needs."""
        missing = [m for m in self.required if not callable(getattr(model, m, None))]
        if missing:
            raise TypeError(
                f"{type(self).__name__} needs a model with {', '.join(self.required)}; "
                f"{type(model).__name__} lacks {', '.join(missing)}."
            )

    def start(self, model: Any, w: np.ndarray, rng: np.random.Generator) -> None:  # noqa: B027
        """Reset the optimizer's state before a run (a no-op for stateless optimizers)."""

    @abstractmethod
    def step(self, model: Any, w: np.ndarray, rng: np.random.Generator):
        """One update: ``(w_next, step_size)``; ``w`` itself is not modified."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class GD(Optimizer):
    """Full-batch gradient descent ``w ← w - lr ∇L(w)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import GD, LinearRegression
    >>> model = LinearRegression(np.eye(2), np.ones(2))
    >>> GD(lr=1.0).step(model, np.zeros(2), None)[0]
    array([0.5, 0.5])
    """

    def __init__(self, lr: float):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)

    def step(self, model, w, rng):
        return w - self.lr * model.grad(w), self.lr


class SGD(Optimizer):
    """Mini-batch SGD: each step uses ``batch_size`` samples drawn without replacement.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import SGD, LinearRegression
    >>> model = LinearRegression(np.eye(4), np.ones(4))
    >>> w, lr = SGD(lr=0.5, batch_size=2).step(model, np.zeros(4), np.random.default_rng(0))
    >>> int(np.count_nonzero(w))
    2
    """

    def __init__(self, lr: float, batch_size: int = 1):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)
        self.batch_size = check_scalar(batch_size, "batch_size", kind=int, low=1)

    def check_model(self, model):
        super().check_model(model)
        if not getattr(model, "supports_batches", False):
            raise TypeError(f"SGD needs a model that supports mini-batches; "
                            f"{type(model).__name__} does not.")
        if self.batch_size > model.n_samples:
            raise ValueError(f"batch_size={self.batch_size} exceeds the model's "
                             f"n_samples={model.n_samples}.")

    def step(self, model, w, rng):
        batch = rng.choice(model.n_samples, size=self.batch_size, replace=False)
        return w - self.lr * model.grad(w, batch), self.lr


class NormalizedGD(Optimizer):
    """Normalized gradient descent.

    For models with a ``normalizer`` (:class:`~numlearn.dynamics.LogisticRegression`:
    ``mean_i σ(-y_i x_iᵀθ)``), Tyurin's normalized LR+GD
    ``θ ← θ - lr ∇L(θ) / normalizer(θ)``, which separates data in ``O(R²/μ²)`` steps
    instead of LR+GD's ``O(nR²/μ²)``; for other models ``w ← w - lr ∇L / ‖∇L‖``.

    References
    ----------
    .. [1] A. Tyurin, "From logistic regression to the perceptron algorithm: exploring
       gradient descent with large step sizes", AAAI 2025 (arXiv:2412.03886).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, NormalizedGD
    >>> model = LinearRegression(np.eye(2), [3.0, 4.0])
    >>> NormalizedGD(lr=1.0).step(model, np.zeros(2), None)[0]
    array([0.6, 0.8])
    """

    def __init__(self, lr: float):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)

    def step(self, model, w, rng):
        xp, _ = nsp.namespace_of(w)
        g = model.grad(w)
        if callable(getattr(model, "normalizer", None)):
            scale = model.normalizer(w)
        else:
            scale = nsp.norm(xp, g)
        if scale == 0.0:
            return nsp.copy(xp, w), 0.0
        step = self.lr / scale
        return w - step * g, step


class ScaledGD(Optimizer):
    """ScaledGD(λ) for factored matrix sensing: each factor's gradient is
    right-multiplied by ``(OᵀO + λI)⁻¹``, ``O`` the other factor (Tong, Ma and Chi; the
    damped variant of Xu, Shen, Ma and Chi). Insensitive to the condition number.

    Needs a model with ``precondition`` (:class:`~numlearn.dynamics.MatrixSensing`).

    References
    ----------
    .. [1] T. Tong, C. Ma and Y. Chi, "Accelerating ill-conditioned low-rank matrix
       estimation via scaled gradient descent", JMLR 2021.
    .. [2] X. Xu, Y. Shen, Y. Chi and C. Ma, "The power of preconditioning in
       overparameterized low-rank matrix sensing", ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import MatrixSensing, ScaledGD
    >>> model = MatrixSensing(np.diag([4.0, 0.0]), rank=1)
    >>> # gradient 2 (XXᵀ - M) X = (-6, 0), preconditioner (XᵀX)⁻¹ = 1
    >>> ScaledGD(lr=0.5).step(model, np.array([1.0, 0.0]), None)[0]
    array([4., 0.])
    """

    required = ("grad", "precondition")

    def __init__(self, lr: float, damping: float = 0.0):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)
        self.damping = check_scalar(damping, "damping", low=0.0)

    def step(self, model, w, rng):
        d = model.precondition(w, model.grad(w), self.damping)
        return w - self.lr * d, self.lr


class SafeStepGD(Optimizer):
    """Gradient descent whose step length is capped at the softmax radius.

    Along ``d = -∇L/‖∇L‖`` the logits move at rates ``a = J d`` (one JVP); the step
    length ``lr ‖∇L‖`` is capped at ``fraction · ρ`` with ``ρ`` the
    :func:`~numlearn.dynamics.softmax_radius` (Ghosts of Softmax, Sao 2026), which
    keeps training stable through learning-rate spikes (the radius is computed on the host
    from the ``(n_samples, n_classes)`` logits and their rates). Needs a model whose outputs
    are logits (:class:`~numlearn.dynamics.SoftmaxRegression`, or
    :class:`~numlearn.dynamics.LogisticRegression` whose output is the logit gap).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import SafeStepGD, SoftmaxRegression
    >>> model = SoftmaxRegression(np.eye(3), [0, 1, 2])
    >>> w, step = SafeStepGD(lr=1e4).step(model, np.zeros(9), None)
    >>> bool(step < 1e4)  # capped
    True
    """

    required = ("grad", "jvp", "predict")

    def __init__(self, lr: float, fraction: float = 1.0):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)
        self.fraction = check_scalar(fraction, "fraction", low=0.0, include_low=False)

    def step(self, model, w, rng):
        from numlearn.dynamics._tools import softmax_radius

        xp, _ = nsp.namespace_of(w)
        g = model.grad(w)
        gnorm = nsp.norm(xp, g)
        if gnorm == 0.0:
            return nsp.copy(xp, w), 0.0
        d = -g / gnorm
        # the radius is a small host-side computation on the (n_samples, n_classes) logits
        a = np.asarray(nsp.host(model.jvp(w, d)))
        z = np.asarray(nsp.host(model.predict(w)))
        if a.ndim == 1:  # binary: logit gaps against a zero reference class
            a = np.stack([a, np.zeros_like(a)], axis=1)
            z = np.stack([z, np.zeros_like(z)], axis=1)
        radius = softmax_radius(a, z)
        length = min(self.lr * gnorm, self.fraction * radius)
        return w + length * d, length / gnorm


class PerpGrad(Optimizer):
    """⊥Grad: gradient descent on the gradient component orthogonal to the weights,
    rescaled to the gradient's norm (Prieto et al.), which stops the naive loss
    minimization that scales the logits up and leads to softmax collapse.

    References
    ----------
    .. [1] L. Prieto, M. Barsbey, P. A. M. Mediano and T. Birdal, "Grokking at the edge
       of numerical stability", ICLR 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, PerpGrad
    >>> model = LinearRegression(np.eye(2), [2.0, 0.0])
    >>> w, _ = PerpGrad(lr=1.0).step(model, np.array([1.0, 0.0]), None)
    >>> w  # the gradient (-0.5, 0) is parallel to w: nothing is left
    array([1., 0.])
    """

    def __init__(self, lr: float):
        self.lr = check_scalar(lr, "lr", low=0.0, include_low=False)

    def step(self, model, w, rng):
        xp, _ = nsp.namespace_of(w)
        g = model.grad(w)
        ww = float(w @ w)
        if ww == 0.0:
            return w - self.lr * g, self.lr
        perp = g - (float(g @ w) / ww) * w
        pn = nsp.norm(xp, perp)
        gn = nsp.norm(xp, g)
        if pn <= 1e-14 * max(gn, 1e-300):
            return nsp.copy(xp, w), 0.0
        return w - self.lr * (gn / pn) * perp, self.lr
