"""Optimizers for the dynamics models: each is a small object with ``step``.

An optimizer declares the model methods it needs (``required``), is reset by
:meth:`Optimizer.start` at the beginning of :func:`~numlearn.dynamics.train`, and maps
``w`` to the next iterate in :meth:`Optimizer.step`, returning it with the effective
step size (the multiple of the gradient actually taken).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import math

import numpy as np

from numlearn._backend import non_numpy_namespace
from numlearn._validation import check_scalar
from numlearn.dynamics import _namespace as nsp
from numlearn.dynamics._schedules import check_learning_rate

__all__ = [
    "Optimizer", "GD", "SGD", "NormalizedGD", "ScaledGD", "SafeStepGD", "PerpGrad",
    "Momentum", "Adam",
]


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

    def start(self, model: Any, w: np.ndarray, rng: np.random.Generator) -> None:
        """Reset the optimizer's state before a run (the step counter of a schedule)."""
        self._t = 0

    def _rate(self) -> float:
        """The learning rate of this step (``lr``, or the schedule at the step count)."""
        t = getattr(self, "_t", 0)
        self._t = t + 1
        lr = self.lr
        if not callable(lr):
            return lr
        value = float(lr(t))
        if not (value >= 0.0 and math.isfinite(value)):
            raise ValueError(f"lr schedule must give finite non-negative rates, got lr({t}) "
                             f"= {value}.")
        return value

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

    def __init__(self, lr: Any):
        self.lr = check_learning_rate(lr)

    def step(self, model, w, rng):
        lr = self._rate()
        return w - lr * model.grad(w), lr


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

    def __init__(self, lr: Any, batch_size: int = 1):
        self.lr = check_learning_rate(lr)
        self.batch_size = check_scalar(batch_size, "batch_size", kind=int, low=1)

    def check_model(self, model):
        super().check_model(model)
        _check_batches(self, model, self.batch_size)

    def step(self, model, w, rng):
        batch = rng.choice(model.n_samples, size=self.batch_size, replace=False)
        lr = self._rate()
        return w - lr * model.grad(w, batch), lr


class NormalizedGD(Optimizer):
    """Normalized gradient descent.

    For models with a ``normalizer`` (:class:`~numlearn.dynamics.LogisticRegression`:
    ``mean_i σ(-y_i x_iᵀθ)``), Tyurin's normalized LR+GD
    ``θ ← θ - lr ∇L(θ) / normalizer(θ)``, which separates data in ``O(R²/μ²)`` steps
    instead of LR+GD's ``O(nR²/μ²)``; for other models ``w ← w - lr ∇L / ‖∇L‖``.

    References
    ----------
    .. [1] A. Tyurin, "From logistic regression to the perceptron algorithm: exploring
       gradient descent with large step sizes", AAAI 2025 (arXiv:2412.08424).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, NormalizedGD
    >>> model = LinearRegression(np.eye(2), [3.0, 4.0])
    >>> NormalizedGD(lr=1.0).step(model, np.zeros(2), None)[0]
    array([0.6, 0.8])
    """

    def __init__(self, lr: Any):
        self.lr = check_learning_rate(lr)

    def step(self, model, w, rng):
        xp = non_numpy_namespace(w) or np
        g = model.grad(w)
        if callable(getattr(model, "normalizer", None)):
            scale = model.normalizer(w)
        else:
            scale = nsp.norm(xp, g)
        lr = self._rate()
        if scale == 0.0:
            return nsp.copy(xp, w), 0.0
        step = lr / scale
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

    def __init__(self, lr: Any, damping: float = 0.0):
        self.lr = check_learning_rate(lr)
        self.damping = check_scalar(damping, "damping", low=0.0)

    def step(self, model, w, rng):
        d = model.precondition(w, model.grad(w), self.damping)
        lr = self._rate()
        return w - lr * d, lr


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

    def __init__(self, lr: Any, fraction: float = 1.0):
        self.lr = check_learning_rate(lr)
        self.fraction = check_scalar(fraction, "fraction", low=0.0, include_low=False)

    def step(self, model, w, rng):
        from numlearn.dynamics._tools import softmax_radius

        xp = non_numpy_namespace(w) or np
        g = model.grad(w)
        gnorm = nsp.norm(xp, g)
        lr = self._rate()
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
        length = min(lr * gnorm, self.fraction * radius)
        return w + length * d, length / gnorm


class PerpGrad(Optimizer):
    """⊥Grad: gradient descent on the gradient component orthogonal to the weights,
    rescaled to the gradient's norm (Prieto et al.), which stops the naive loss
    minimization that scales the logits up and leads to softmax collapse.

    As in the authors' optimizer, the projection is taken per parameter tensor: for each
    block ``b`` of ``model.param_blocks`` (the weight matrices of a network; one block for
    single-tensor models), ``g_b ← g_b - (g_bᵀw_b / w_bᵀw_b) w_b``, then rescaled to
    ``‖g_b‖``. ``per_tensor=False`` projects the whole parameter vector at once.

    Parameters
    ----------
    lr : float or schedule
    per_tensor : bool, default=True
        Project each parameter tensor separately (Prieto et al.); False projects the
        whole vector.

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

    def __init__(self, lr: Any, per_tensor: bool = True):
        self.lr = check_learning_rate(lr)
        self.per_tensor = bool(per_tensor)

    @staticmethod
    def _step(xp, g, w, lr):
        """``lr`` times the component of ``g`` orthogonal to ``w`` rescaled to ``‖g‖``
        (``lr g`` when ``w = 0``; zero when ``g`` is parallel to ``w``)."""
        ww = float(w @ w)
        if ww == 0.0:
            return lr * g
        perp = g - (float(g @ w) / ww) * w
        pn = nsp.norm(xp, perp)
        gn = nsp.norm(xp, g)
        if pn <= 1e-14 * max(gn, 1e-300):
            return 0.0 * g
        return lr * (gn / pn) * perp

    def step(self, model, w, rng):
        xp = non_numpy_namespace(w) or np
        g = model.grad(w)
        lr = self._rate()
        blocks = param_blocks(model) if self.per_tensor else ((0, int(w.shape[0])),)
        if len(blocks) == 1:
            d = self._step(xp, g, w, lr)
        else:
            d = nsp.concat(xp, [self._step(xp, g[a:b], w[a:b], lr) for a, b in blocks])
        if nsp.norm(xp, d) == 0.0:
            return nsp.copy(xp, w), 0.0
        return w - d, lr


def param_blocks(model) -> tuple[tuple[int, int], ...]:
    """The ``(start, stop)`` slices of ``w`` holding each parameter tensor of ``model``
    (``model.param_blocks`` when it says, else one block)."""
    blocks = getattr(model, "param_blocks", None)
    if blocks is None:
        return ((0, int(model.n_params)),)
    return tuple((int(a), int(b)) for a, b in blocks)


class _OptionalBatches(Optimizer):
    """Full batch by default; mini-batches of ``batch_size`` samples (drawn without
    replacement) when it is given."""

    batch_size: int | None = None

    def check_model(self, model):
        super().check_model(model)
        if self.batch_size is not None:
            _check_batches(self, model, self.batch_size)

    def _gradient(self, model, w, rng):
        if self.batch_size is None:
            return model.grad(w)
        batch = rng.choice(model.n_samples, size=self.batch_size, replace=False)
        return model.grad(w, batch)


class Momentum(_OptionalBatches):
    """Heavy-ball (Polyak) or Nesterov momentum:
    ``v ← β v + ∇L(w)``, ``w ← w - lr v`` (Nesterov: ``w ← w - lr (∇L(w) + β v)``),
    the form of ``torch.optim.SGD(momentum=β, nesterov=...)``. With ``batch_size``, each
    gradient is a mini-batch one (samples drawn without replacement).

    For a quadratic with curvature ``λ`` heavy-ball GD is stable for
    ``lr λ < 2 (1 + β)`` (the edge of stability moves from ``2/lr`` to ``2(1+β)/lr``).

    Parameters
    ----------
    lr : float or schedule
    momentum : float, default=0.9
        ``β`` in ``[0, 1)``.
    nesterov : bool, default=False
    batch_size : int, optional
        Full batch when None.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression, Momentum
    >>> model = LinearRegression(np.eye(1), [1.0])   # L = (w - 1)² / 2
    >>> opt = Momentum(lr=0.5, momentum=0.5)
    >>> opt.start(model, np.zeros(1), None)
    >>> w, _ = opt.step(model, np.zeros(1), None); w    # v = -1
    array([0.5])
    >>> opt.step(model, w, None)[0]                      # v = 0.5 (-1) - 0.5 = -1
    array([1.])
    """

    def __init__(self, lr: Any, momentum: float = 0.9, nesterov: bool = False,
                 batch_size: int | None = None):
        self.lr = check_learning_rate(lr)
        self.momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0,
                                     include_high=False)
        self.nesterov = bool(nesterov)
        self.batch_size = check_scalar(batch_size, "batch_size", kind=int, low=1,
                                       allow_none=True)

    def start(self, model, w, rng):
        super().start(model, w, rng)
        self._velocity = None

    def step(self, model, w, rng):
        g = self._gradient(model, w, rng)
        lr = self._rate()
        v = getattr(self, "_velocity", None)
        v = g if v is None else self.momentum * v + g
        self._velocity = v
        d = g + self.momentum * v if self.nesterov else v
        return w - lr * d, lr


class Adam(_OptionalBatches):
    """Adam (Kingma and Ba), with bias correction; ``weight_decay`` > 0 gives AdamW
    (decoupled decay, Loshchilov and Hutter):
    ``m ← β₁m + (1-β₁)g``, ``s ← β₂s + (1-β₂)g²``,
    ``w ← w - lr (m̂ / (√ŝ + ε) + weight_decay · w)``.

    The step size recorded by :func:`~numlearn.dynamics.train` is ``lr`` of that step
    (the update is not a multiple of the gradient).

    Parameters
    ----------
    lr : float or schedule
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0.0
    batch_size : int, optional
        Full batch when None.
    orthogonal : bool, default=False
        ⊥Adam(W) of Prieto et al.: the moments are fed the ⊥Grad direction (per parameter
        tensor, the gradient's component orthogonal to the weights, rescaled to the
        gradient's norm) instead of the gradient.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
    .. [2] I. Loshchilov and F. Hutter, "Decoupled weight decay regularization", ICLR 2019.
    .. [3] L. Prieto, M. Barsbey, P. A. M. Mediano and T. Birdal, "Grokking at the edge
       of numerical stability", ICLR 2025 (⊥AdamW).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import Adam, LinearRegression
    >>> model = LinearRegression(np.eye(2), [1.0, -4.0])
    >>> opt = Adam(lr=0.1)
    >>> opt.start(model, np.zeros(2), None)
    >>> opt.step(model, np.zeros(2), None)[0]   # first step: lr · sign(-g)
    array([ 0.1, -0.1])
    """

    def __init__(self, lr: Any, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, batch_size: int | None = None,
                 orthogonal: bool = False):
        self.lr = check_learning_rate(lr)
        self.orthogonal = bool(orthogonal)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}.")
        self.betas = (check_scalar(betas[0], "betas[0]", low=0.0, high=1.0, include_high=False),
                      check_scalar(betas[1], "betas[1]", low=0.0, high=1.0, include_high=False))
        self.eps = check_scalar(eps, "eps", low=0.0, include_low=False)
        self.weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
        self.batch_size = check_scalar(batch_size, "batch_size", kind=int, low=1,
                                       allow_none=True)

    def start(self, model, w, rng):
        super().start(model, w, rng)
        self._m = self._s = None

    def step(self, model, w, rng):
        xp = non_numpy_namespace(w) or np
        g = self._gradient(model, w, rng)
        if self.orthogonal:
            g = nsp.concat(xp, [PerpGrad._step(xp, g[a:b], w[a:b], 1.0)
                                for a, b in param_blocks(model)])
        lr = self._rate()
        t = self._t  # 1 at the first step
        b1, b2 = self.betas
        m = getattr(self, "_m", None)
        s = getattr(self, "_s", None)
        m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
        s = (1 - b2) * g * g if s is None else b2 * s + (1 - b2) * g * g
        self._m, self._s = m, s
        m_hat = m / (1 - b1**t)
        s_hat = s / (1 - b2**t)
        update = m_hat / (xp.sqrt(s_hat) + self.eps)
        if self.weight_decay:
            update = update + self.weight_decay * w
        return w - lr * update, lr


def _check_batches(optimizer, model, batch_size: int) -> None:
    if not getattr(model, "supports_batches", False):
        raise TypeError(f"{type(optimizer).__name__} needs a model that supports "
                        f"mini-batches; {type(model).__name__} does not.")
    if batch_size > model.n_samples:
        raise ValueError(f"batch_size={batch_size} exceeds the model's "
                         f"n_samples={model.n_samples}.")
