"""Small models with exact gradients and Hessian-vector products.

Every model holds its training data and works on a flat parameter vector ``w`` of length
``n_params``. The protocol (what optimizers, :func:`~numlearn.dynamics.train` and the
Hessian tools use):

``loss(w, batch=None)``, ``grad(w, batch=None)``, ``hvp(w, v, batch=None)``
    The training loss (mean over the samples of ``batch``, all by default), its gradient
    and the Hessian-vector product, each in ``O(cost of a gradient)``: no dense Hessian is
    formed.
``predict(w, X=None)``
    Outputs on new inputs (the training inputs by default).
``jvp(w, v)`` and ``vjp(w, u)``
    Directional derivative of the training outputs, ``J v``, and its adjoint ``Jᵀ u``
    (``J`` the Jacobian of the outputs with respect to ``w``).
``per_sample_grads(w)``
    The ``(n_samples, n_params)`` gradients of the per-sample losses; their mean is
    ``grad(w)``.
``hessian(w)``
    The dense Hessian from ``n_params`` products (for tests and small models).
``param_blocks`` (optional attribute)
    The ``(start, stop)`` slices of ``w`` holding each parameter tensor (weight matrices
    of a network), used by per-tensor optimizers (:class:`~numlearn.dynamics.PerpGrad`);
    one block when absent.

Any object with ``n_params``, ``loss``, ``grad`` and ``hvp`` (and, for the tools that
need them, ``predict``, ``jvp``, ``per_sample_grads``) can be trained and measured: the
optimizers, :func:`~numlearn.dynamics.train` and the Hessian tools check only for the
methods they call and name what is missing.

Squared-loss models use ``L(w) = 1/(2n) Σ_i (f_i(w) - y_i)²`` (the mean-reduced loss,
whose Hessian at an interpolating minimum is ``JᵀJ / n``); they only define their
outputs, the products with ``J`` and ``Jᵀ``, and the output curvature
``Σ_i u_i ∇²f_i v``, from which loss, gradient and Hessian-vector product follow.

**Array API / GPU.** A model built from arrays of another array-API library than NumPy
(CuPy on a GPU, ``array_api_strict``) keeps its data in that namespace and on that device
(as float64) and computes every method there; parameter vectors must be arrays of the same
namespace (a NumPy ``w`` for a CuPy model raises ``TypeError``), :meth:`Model.init_params`
returns one, ``loss`` returns a Python float, and mini-batch indices may be NumPy
integer arrays (they are moved to the device). NumPy models run the NumPy code unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from numlearn._backend import device_of, non_numpy_namespace
from numlearn._validation import check_array, check_random_state, check_scalar
from numlearn.dynamics import _namespace as nsp

__all__ = [
    "Model",
    "LinearRegression",
    "QuadraticModel",
    "UVModel",
    "SecondOrderRegression",
    "MatrixSensing",
    "LogisticRegression",
    "SoftmaxRegression",
    "DiagonalLinearNetwork",
    "TwoLayerNetwork",
    "TwoLayerReLU",
]


def _data(model, X, y, name_X="X", name_y="y"):
    """Validate ``X``, ``y`` and set ``model``'s namespace from them."""
    xp, device = model._set_namespace(X, y)
    X = check_array(X, name_X, ndim=2, xp=None if xp is np else xp)
    if X.shape[0] == 0:
        raise ValueError(f"{name_X} must have at least one row (sample).")
    y = check_array(y, name_y, ndim=1, xp=None if xp is np else xp)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name_y} must have one entry per row of {name_X} ({X.shape[0]}), got {y.shape[0]}."
        )
    return nsp.as_float(X, xp, device), nsp.as_float(y, xp, device)


def _outer(xp, a, b):
    """``outer(a, b).ravel()``."""
    if xp is np:
        return np.outer(a, b).ravel()
    return nsp.reshape(xp, a[:, None] * b[None, :], (-1,))


def _same(xp, a, b) -> bool:
    if xp is np:
        return np.array_equal(a, b)
    return tuple(a.shape) == tuple(b.shape) and bool(xp.all(a == b))


class Model:
    """Base class of the dynamics models (see the module docstring for the protocol).

    Subclasses set ``n_params`` and ``n_samples`` and implement ``_loss``, ``_grad``,
    ``_hvp``, ``_jvp``, ``_vjp`` and ``_predict`` on validated inputs.
    """

    n_params: int
    n_samples: int
    #: The array namespace of the data (``np`` for NumPy data) and its device.
    _xp = np
    _device = None
    #: Number of outputs per sample (1 for scalar regression, the classes for softmax).
    n_outputs: int = 1
    #: Whether a ``batch`` of sample indices may be passed to loss / grad / hvp.
    supports_batches: bool = True

    # ---- namespace ------------------------------------------------------------------
    def _set_namespace(self, *arrays):
        """Take the namespace (and device) of the data ``arrays``; ``np`` for NumPy."""
        xp = non_numpy_namespace(*arrays)  # TypeError when libraries are mixed
        if xp is None:
            self._xp, self._device = np, None
        else:
            first = next(a for a in arrays if hasattr(a, "__array_namespace__")
                         and not isinstance(a, np.ndarray))
            self._xp, self._device = xp, device_of(first)
        return self._xp, self._device

    def _float(self, a):
        """``a`` as a float64 array of the model's namespace and device."""
        if self._xp is not np:
            non_numpy_namespace(a, self._zeros(0))  # TypeError when libraries are mixed
        return nsp.as_float(a, self._xp, self._device)

    def _zeros(self, shape):
        if self._xp is np:
            return np.zeros(shape)
        return self._xp.zeros(shape, dtype=self._xp.float64, device=self._device)

    def _eye(self, n):
        if self._xp is np:
            return np.eye(n)
        return self._xp.eye(n, dtype=self._xp.float64, device=self._device)

    def _to_model(self, a):
        """A host (NumPy) array onto the model's namespace and device."""
        return nsp.as_float(a, self._xp, self._device)

    # ---- validation ---------------------------------------------------------------
    def _check_w(self, w: Any, name: str = "w") -> np.ndarray:
        w = self._float(w)
        if tuple(w.shape) != (self.n_params,):
            raise ValueError(
                f"{name} must be a vector of length n_params={self.n_params}, "
                f"got shape {tuple(w.shape)}."
            )
        return w

    def _check_batch(self, batch: Any):
        if batch is None:
            return None
        if not self.supports_batches:
            raise ValueError(f"{type(self).__name__} does not support mini-batches.")
        idx = np.asarray(nsp.host(batch))
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            raise ValueError("batch must be a non-empty 1-D array of sample indices.")
        if idx.min() < 0 or idx.max() >= self.n_samples:
            raise ValueError(f"batch indices must lie in [0, {self.n_samples}).")
        if self._xp is not np:
            idx = self._xp.asarray(idx.astype(np.int64), device=self._device)
        return idx

    def _take(self, a, idx):
        return nsp.take(self._xp, a, idx)

    def _new_inputs(self, X, n_features: int):
        """Validate new inputs ``X`` for :meth:`predict` (in the model's namespace)."""
        xp = self._xp
        if xp is np:
            return check_array(X, "X", shape=(None, n_features))
        return self._float(check_array(self._float(X), "X", shape=(None, n_features), xp=xp))

    # ---- the protocol ---------------------------------------------------------------
    def loss(self, w: Any, batch: Any = None) -> float:
        """Training loss at ``w`` (mean over ``batch``, all samples by default)."""
        return float(self._loss(self._check_w(w), self._check_batch(batch)))

    def grad(self, w: Any, batch: Any = None) -> np.ndarray:
        """Gradient of :meth:`loss` at ``w``."""
        return self._grad(self._check_w(w), self._check_batch(batch))

    def hvp(self, w: Any, v: Any, batch: Any = None) -> np.ndarray:
        """Hessian-vector product ``∇²L(w) v``, at the cost of about two gradients."""
        return self._hvp(self._check_w(w), self._check_w(v, "v"), self._check_batch(batch))

    def jvp(self, w: Any, v: Any) -> np.ndarray:
        """Directional derivative of the training outputs along ``v`` (``J v``)."""
        return self._jvp(self._check_w(w), self._check_w(v, "v"), None)

    def vjp(self, w: Any, u: Any) -> np.ndarray:
        """Adjoint product ``Jᵀ u`` for ``u`` shaped like the training outputs."""
        return self._vjp(self._check_w(w), self._float(u), None)

    def predict(self, w: Any, X: Any = None) -> np.ndarray:
        """Outputs of the model at ``w`` on ``X`` (the training inputs if None)."""
        return self._predict(self._check_w(w), X)

    def per_sample_grads(self, w: Any) -> np.ndarray:
        """Gradients of the per-sample losses, shape ``(n_samples, n_params)``."""
        return self._per_sample_grads(self._check_w(w))

    def hessian(self, w: Any, batch: Any = None) -> np.ndarray:
        """Dense Hessian from ``n_params`` Hessian-vector products (small models only)."""
        w = self._check_w(w)
        batch = self._check_batch(batch)
        eye = self._eye(self.n_params)
        xp = self._xp
        return xp.stack([self._hvp(w, eye[j, :], batch) for j in range(self.n_params)],
                        axis=1)

    def evaluate(self, w: Any, X: Any, y: Any) -> tuple[float, float]:
        """Loss and accuracy of ``w`` on held-out data ``(X, y)`` (the training loss's
        definition on new samples; accuracy is NaN for regression models).

        Used by :func:`~numlearn.dynamics.train`'s ``eval_data``.
        """
        w = self._check_w(w)
        outputs = self._predict(w, X)
        y = self._eval_targets(y, outputs.shape[0])
        return self._eval_loss(outputs, y), self._eval_accuracy(outputs, y)

    def _eval_targets(self, y, n):
        y = check_array(nsp.host(y), "y")
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},) to match X, got {y.shape}.")
        return y

    def _eval_loss(self, outputs, y) -> float:
        raise TypeError(f"{type(self).__name__} does not define a held-out loss.")

    def _eval_accuracy(self, outputs, y) -> float:
        return math.nan

    @property
    def param_blocks(self) -> tuple[tuple[int, int], ...]:
        """``(start, stop)`` of each parameter tensor in ``w`` (one block by default)."""
        return ((0, self.n_params),)

    def init_params(self, random_state: Any = None, scale: float = 1.0) -> np.ndarray:
        """A random starting point (Gaussian entries times ``scale``), in the namespace
        and on the device of the model's data."""
        scale = check_scalar(scale, "scale", low=0.0)
        rng = check_random_state(random_state)
        return self._to_model(scale * rng.standard_normal(self.n_params))

    def _per_sample_grads(self, w):
        return self._xp.stack([self._grad(w, self._check_batch(np.array([i])))
                               for i in range(self.n_samples)])


class _SquaredLossModel(Model):
    """``L(w) = scale/2 Σ_i (f_i(w) - y_i)²`` from outputs, J, Jᵀ and output curvature.

    ``scale`` is ``1 / n_samples`` (mean reduction) unless ``_mean`` is False. Subclasses
    implement ``_forward(w, idx)``, ``_jvp(w, v, idx)``, ``_vjp(w, u, idx)`` and
    ``_curvature(w, u, v, idx) = Σ_i u_i ∇²f_i(w) v`` (zero for models linear in ``w``).
    """

    _mean = True

    def _targets(self, idx):
        return self._take(self.y, idx)

    def _scale(self, idx):
        if not self._mean:
            return 1.0
        return 1.0 / (self.n_samples if idx is None else idx.shape[0])

    def _eval_loss(self, outputs, y) -> float:
        r = np.asarray(nsp.host(outputs), dtype=np.float64) - y
        return float(0.5 * np.mean(r * r))

    def residual(self, w: Any, batch: Any = None) -> np.ndarray:
        """Residuals ``f(w) - y`` on the training samples (or ``batch``)."""
        batch = self._check_batch(batch)
        return self._forward(self._check_w(w), batch) - self._targets(batch)

    def _loss(self, w, idx):
        r = nsp.flat(self._xp, self._forward(w, idx) - self._targets(idx))
        if self._xp is np:
            return 0.5 * self._scale(idx) * float(np.dot(r, r))
        return 0.5 * self._scale(idx) * float(r @ r)

    def _grad(self, w, idx):
        r = self._forward(w, idx) - self._targets(idx)
        return self._scale(idx) * self._vjp(w, r, idx)

    def _hvp(self, w, v, idx):
        r = self._forward(w, idx) - self._targets(idx)
        gauss_newton = self._vjp(w, self._jvp(w, v, idx), idx)
        return self._scale(idx) * (gauss_newton + self._curvature(w, r, v, idx))

    def _curvature(self, w, u, v, idx):
        return self._zeros(self.n_params)

    def jacobian(self, w: Any) -> np.ndarray:
        """Jacobian of the training outputs, shape ``(n_outputs_total, n_params)``."""
        w = self._check_w(w)
        n_out = math.prod(self._forward(w, None).shape)
        eye = self._eye(n_out)
        return self._xp.stack([self._vjp(w, eye[i, :], None) for i in range(n_out)])

    def _per_sample_grads(self, w):
        r = self._forward(w, None) - self.y
        return r[:, None] * self.jacobian(w)


# ---------------------------------------------------------------------------------
class LinearRegression(_SquaredLossModel):
    """Least squares ``L(w) = 1/(2n) ‖X w - y‖²``: the NTK-regime (linear) baseline.

    Its Hessian ``XᵀX / n`` does not depend on ``w``, so gradient descent converges for
    every start if and only if ``lr < 2 / λ_max(XᵀX / n)``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LinearRegression
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]]); y = np.array([1.0, 2.0])
    >>> model = LinearRegression(X, y)
    >>> model.loss(np.zeros(2))
    1.25
    >>> model.hvp(np.zeros(2), np.array([0.0, 1.0]))
    array([0., 2.])
    """

    def __init__(self, X: Any, y: Any):
        self.X, self.y = _data(self, X, y)
        self.n_samples, self.n_params = self.X.shape

    def _rows(self, idx):
        return self._take(self.X, idx)

    def _forward(self, w, idx):
        return self._rows(idx) @ w

    def _jvp(self, w, v, idx):
        return self._rows(idx) @ v

    def _vjp(self, w, u, idx):
        return self._rows(idx).T @ u

    def jacobian(self, w: Any) -> np.ndarray:
        self._check_w(w)
        return nsp.copy(self._xp, self.X)

    def _predict(self, w, X):
        if X is None:
            return self.X @ w
        return self._new_inputs(X, self.n_params) @ w


# ---------------------------------------------------------------------------------
class QuadraticModel(_SquaredLossModel):
    """The neural quadratic model: outputs quadratic in the parameters, squared loss.

    ``f_i(w) = f0_i + J_i·(w - w0) + ½ (w - w0)ᵀ H_i (w - w0)`` and
    ``L(w) = 1/(2n) Σ_i (f_i(w) - y_i)²``: the second-order Taylor expansion of a network
    around its initialization ``w0`` (Zhu, Liu, Radhakrishnan and Belkin), which, unlike
    the linear (NTK) model, reproduces the catapult phase of large learning rates.

    Parameters
    ----------
    J : array of shape (n_samples, n_params)
        Output gradients at ``w0`` (a 1-D array is one sample).
    H : array of shape (n_params, n_params) or (n_samples, n_params, n_params)
        Symmetric output Hessians: one shared by every sample, or one per sample.
    f0 : array of shape (n_samples,), optional
        Outputs at ``w0`` (zeros by default).
    w0 : array of shape (n_params,), optional
        Expansion point (zeros by default).
    y : array of shape (n_samples,), optional
        Targets (zeros by default).

    References
    ----------
    .. [1] L. Zhu, C. Liu, A. Radhakrishnan and M. Belkin, "Quadratic models for
       understanding catapult dynamics of neural networks", ICLR 2024.

    Examples
    --------
    The two-layer linear ("uv") network is a quadratic model with ``J = 0`` at ``w0 = 0``:

    >>> import numpy as np
    >>> from numlearn.dynamics import QuadraticModel
    >>> m = 3
    >>> H = np.block([[np.zeros((m, m)), np.eye(m)], [np.eye(m), np.zeros((m, m))]])
    >>> model = QuadraticModel(np.zeros(2 * m), H / np.sqrt(m))
    >>> w = np.ones(2 * m)
    >>> float(model.predict(w)[0]) == float(np.ones(m) @ np.ones(m) / np.sqrt(m))
    True
    """

    def __init__(self, J: Any, H: Any, f0: Any = None, w0: Any = None, y: Any = None):
        xp, _ = self._set_namespace(J, H, f0, w0, y)
        ax = None if xp is np else xp
        J = check_array(J, "J", xp=ax)
        if J.ndim == 1:
            J = J[None, :]
        if J.ndim != 2:
            raise ValueError(f"J must be 1- or 2-dimensional, got shape {tuple(J.shape)}.")
        self.J = self._float(J)
        self.n_samples, self.n_params = self.J.shape
        n, p = self.J.shape
        H = self._float(check_array(H, "H", xp=ax))
        if tuple(H.shape) == (p, p):
            self._shared = True
        elif tuple(H.shape) == (n, p, p):
            self._shared = False
        else:
            raise ValueError(
                f"H must have shape ({p}, {p}) or ({n}, {p}, {p}) to match J, "
                f"got {tuple(H.shape)}."
            )
        self.H = H
        self.f0 = (self._zeros(n) if f0 is None
                   else self._float(check_array(f0, "f0", shape=(n,), xp=ax)))
        self.w0 = (self._zeros(p) if w0 is None
                   else self._float(check_array(w0, "w0", shape=(p,), xp=ax)))
        self.y = (self._zeros(n) if y is None
                  else self._float(check_array(y, "y", shape=(n,), xp=ax)))

    def _H(self, idx):
        return self.H if self._shared or idx is None else self._take(self.H, idx)

    def _rows(self, A, idx):
        return self._take(A, idx)

    def _Hd(self, d, idx):
        """``H_i d`` for every selected sample: shape (p,) if shared else (b, p)."""
        H = self._H(idx)
        if self._shared:
            return H @ d
        return np.einsum("ipq,q->ip", H, d) if self._xp is np else H @ d

    def _forward(self, w, idx):
        d = w - self.w0
        J = self._rows(self.J, idx)
        Hd = self._Hd(d, idx)
        quad = 0.5 * (Hd @ d)
        return self._rows(self.f0, idx) + J @ d + quad

    def _jvp(self, w, v, idx):
        d = w - self.w0
        return self._rows(self.J, idx) @ v + self._Hd(d, idx) @ v

    def _vjp(self, w, u, idx):
        d = w - self.w0
        Hd = self._Hd(d, idx)
        out = self._rows(self.J, idx).T @ u
        return out + (self._xp.sum(u) * Hd if self._shared else Hd.T @ u)

    def _curvature(self, w, u, v, idx):
        if self._shared:
            return self._xp.sum(u) * (self.H @ v)
        if self._xp is np:
            return np.einsum("i,ipq,q->p", u, self._H(idx), v)
        return u @ (self._H(idx) @ v)

    def _predict(self, w, X):
        if X is not None:
            raise ValueError(f"{type(self).__name__} has no inputs: X must be None.")
        return self._forward(w, None)


class SecondOrderRegression(QuadraticModel):
    """Outputs quadratic in the parameters: ``f(θ) = J θ + ½ Q(θ, θ)``, squared loss.

    The model of Agarwala, Pedregosa and Pennington: a quadratic model expanded at
    ``θ = 0`` (:class:`QuadraticModel` with ``w0 = 0``, ``f0 = 0``), with, from
    :meth:`random`, Gaussian ``J`` and ``Q``. Full-batch gradient descent on it shows
    progressive sharpening and then an edge-of-stability-like regime; the paper finds that
    the sharpness settles at a value close to, but not exactly at, ``2/η`` (its limit
    is predicted by a low-dimensional model of the dynamics, not by ``2/η`` itself).

    Parameters
    ----------
    J : array of shape (n_samples, n_params)
    Q : array of shape (n_samples, n_params, n_params) or (n_params, n_params)
        Symmetric output Hessians.
    y : array of shape (n_samples,)

    References
    ----------
    .. [1] A. Agarwala, F. Pedregosa and J. Pennington, "Second-order regression models
       exhibit progressive sharpening to the edge of stability", ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import SecondOrderRegression
    >>> model = SecondOrderRegression.random(10, 20, random_state=0)
    >>> model.n_params, model.n_samples
    (20, 10)
    """

    def __init__(self, J: Any, Q: Any, y: Any):
        super().__init__(J, Q, y=y)

    @classmethod
    def random(cls, n_samples: int, n_params: int, *, curvature: float = 1.0,
               target_scale: float = 1.0, random_state: Any = None) -> SecondOrderRegression:
        """Gaussian ``J`` (entries of variance ``1/n_params``), symmetric Gaussian ``Q_i``
        (entries of variance ``curvature² / n_params``) and Gaussian targets."""
        n_samples = check_scalar(n_samples, "n_samples", kind=int, low=1)
        n_params = check_scalar(n_params, "n_params", kind=int, low=1)
        curvature = check_scalar(curvature, "curvature", low=0.0)
        target_scale = check_scalar(target_scale, "target_scale", low=0.0)
        rng = check_random_state(random_state)
        J = rng.standard_normal((n_samples, n_params)) / np.sqrt(n_params)
        G = rng.standard_normal((n_samples, n_params, n_params))
        Q = curvature * (G + G.transpose(0, 2, 1)) / np.sqrt(2 * n_params)
        y = target_scale * rng.standard_normal(n_samples)
        return cls(J, Q, y)


# ---------------------------------------------------------------------------------
class UVModel(_SquaredLossModel):
    """Two-layer linear network ``f(x) = m^{-1/2} vᵀ U x`` with squared loss.

    Parameters are ``w = [U.ravel(), v]`` with ``U`` of shape ``(width, n_features)``.
    With one example ``‖x‖ = 1``, ``y = 0``, ``f = m^{-1/2} vᵀu`` and the NTK is
    ``λ = (‖u‖² + ‖v‖²)/m``; gradient descent with step ``η`` follows
    ``f' = f (1 - ηλ + η² f²/m)``, ``λ' = λ + (η f²/m)(ηλ - 4)``: lazy for
    ``η < 2/λ₀``, a catapult for ``2/λ₀ < η < 4/λ₀``, divergence beyond.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    width : int
        Hidden width ``m``.

    References
    ----------
    .. [1] A. Lewkowycz, Y. Bahri, E. Dyer, J. Sohl-Dickstein and G. Gur-Ari, "The large
       learning rate phase of deep learning: the catapult mechanism", arXiv:2003.02218.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import UVModel
    >>> model = UVModel([[1.0]], [0.0], width=4)
    >>> w = model.init_params(random_state=0)
    >>> model.n_params
    8
    """

    def __init__(self, X: Any, y: Any, width: int):
        self.X, self.y = _data(self, X, y)
        self.width = check_scalar(width, "width", kind=int, low=1)
        self.n_samples, self.n_features = self.X.shape
        self.n_params = self.width * (self.n_features + 1)
        self._s = 1.0 / math.sqrt(self.width)

    @property
    def param_blocks(self):
        """The first-layer matrix and the output weights."""
        k = self.width * self.n_features
        return ((0, k), (k, self.n_params))

    def _split(self, w):
        m, d = self.width, self.n_features
        return nsp.reshape(self._xp, w[: m * d], (m, d)), w[m * d :]

    def _rows(self, idx):
        return self._take(self.X, idx)

    def _forward(self, w, idx):
        U, v = self._split(w)
        return self._s * ((self._rows(idx) @ U.T) @ v)

    def _jvp(self, w, dw, idx):
        U, v = self._split(w)
        dU, dv = self._split(dw)
        X = self._rows(idx)
        return self._s * ((X @ dU.T) @ v + (X @ U.T) @ dv)

    def _vjp(self, w, u, idx):
        U, v = self._split(w)
        c = self._rows(idx).T @ u
        return self._s * nsp.concat(self._xp, [_outer(self._xp, v, c), U @ c])

    def _curvature(self, w, u, dw, idx):
        dU, dv = self._split(dw)
        c = self._rows(idx).T @ u
        return self._s * nsp.concat(self._xp, [_outer(self._xp, dv, c), dU @ c])

    def ntk(self, w: Any) -> float:
        """``‖∇f‖²`` summed over samples divided by ``n``: the NTK's trace over ``n``."""
        w = self._check_w(w)
        J = self.jacobian(w)
        return float(self._xp.sum(J * J)) / self.n_samples

    def _predict(self, w, X):
        X = self.X if X is None else self._new_inputs(X, self.n_features)
        U, v = self._split(w)
        return self._s * ((X @ U.T) @ v)


# ---------------------------------------------------------------------------------
class DiagonalLinearNetwork(_SquaredLossModel):
    """Diagonal linear network ``f(x) = xᵀ(u ⊙ v)`` with squared loss.

    Parameters ``w = [u, v]``. Small initializations bias gradient descent towards sparse
    ``β = u ⊙ v`` (Woodworth et al.).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)

    References
    ----------
    .. [1] B. Woodworth, S. Gunasekar, J. D. Lee, E. Moroshko, P. Savarese, I. Golan,
       D. Soudry and N. Srebro, "Kernel and rich regimes in overparametrized models",
       COLT 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import DiagonalLinearNetwork
    >>> model = DiagonalLinearNetwork(np.eye(2), [1.0, -1.0])
    >>> model.predict(np.array([1.0, 2.0, 1.0, -0.5]))
    array([ 1., -1.])
    """

    def __init__(self, X: Any, y: Any):
        self.X, self.y = _data(self, X, y)
        self.n_samples, self.n_features = self.X.shape
        self.n_params = 2 * self.n_features

    def _rows(self, idx):
        return self._take(self.X, idx)

    @property
    def param_blocks(self):
        """``u`` and ``v``."""
        d = self.n_features
        return ((0, d), (d, 2 * d))

    def _split(self, w):
        d = self.n_features
        return w[:d], w[d:]

    def coef(self, w: Any) -> np.ndarray:
        """The linear predictor ``β = u ⊙ v``."""
        u, v = self._split(self._check_w(w))
        return u * v

    def _forward(self, w, idx):
        u, v = self._split(w)
        return self._rows(idx) @ (u * v)

    def _jvp(self, w, dw, idx):
        u, v = self._split(w)
        du, dv = self._split(dw)
        return self._rows(idx) @ (du * v + u * dv)

    def _vjp(self, w, c, idx):
        u, v = self._split(w)
        g = self._rows(idx).T @ c
        return nsp.concat(self._xp, [g * v, g * u])

    def _curvature(self, w, c, dw, idx):
        du, dv = self._split(dw)
        g = self._rows(idx).T @ c
        return nsp.concat(self._xp, [g * dv, g * du])

    def _predict(self, w, X):
        X = self.X if X is None else self._new_inputs(X, self.n_features)
        u, v = self._split(w)
        return X @ (u * v)

    def init_params(self, random_state: Any = None, scale: float = 1.0) -> np.ndarray:
        """``u = v = scale`` (the deterministic small-initialization of the literature)."""
        scale = check_scalar(scale, "scale", low=0.0)
        return self._to_model(np.full(self.n_params, scale))


# ---------------------------------------------------------------------------------
_ACTIVATIONS = ("relu", "tanh")


class TwoLayerNetwork(_SquaredLossModel):
    """Two-layer network ``f(x) = m^{-1/2} aᵀ σ(W x)`` with squared loss.

    Parameters ``w = [W.ravel(), a]`` with ``W`` of shape ``(width, n_features)``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    width : int
        Hidden width ``m``.
    activation : {"tanh", "relu"}, default="tanh"
        ``σ``; for ReLU the second derivative is taken as 0 (almost everywhere).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> model = TwoLayerNetwork(rng.standard_normal((5, 3)), rng.standard_normal(5), 8)
    >>> w = model.init_params(random_state=0)
    >>> model.grad(w).shape
    (32,)
    """

    def __init__(self, X: Any, y: Any, width: int, activation: str = "tanh"):
        self.X, self.y = _data(self, X, y)
        self.width = check_scalar(width, "width", kind=int, low=1)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}; got {activation!r}.")
        self.activation = activation
        self.n_samples, self.n_features = self.X.shape
        self.n_params = self.width * (self.n_features + 1)
        self._s = 1.0 / math.sqrt(self.width)

    @property
    def param_blocks(self):
        """The first-layer matrix and the output weights."""
        k = self.width * self.n_features
        return ((0, k), (k, self.n_params))

    def _split(self, w):
        m, d = self.width, self.n_features
        return nsp.reshape(self._xp, w[: m * d], (m, d)), w[m * d :]

    def _rows(self, idx):
        return self._take(self.X, idx)

    def _act(self, Z, order=0):
        xp = self._xp
        if self.activation == "tanh":
            T = xp.tanh(Z)
            if order == 0:
                return T
            if order == 1:
                return 1.0 - T * T
            return -2.0 * T * (1.0 - T * T)
        if order == 0:
            return np.maximum(Z, 0.0) if xp is np else xp.maximum(Z, xp.zeros_like(Z))
        if order == 1:
            return xp.astype(Z > 0, xp.float64)
        return xp.zeros_like(Z)

    def _features(self, w, idx):
        """``X``, ``σ(XWᵀ)``, ``σ'(XWᵀ)``, ``σ''(XWᵀ)`` at ``w``; the last full-batch
        evaluation is cached, so a Hessian-vector product at a fixed ``w`` (as in a
        Lanczos run) evaluates the activations once, not five times."""
        cache = getattr(self, "_cache", None)
        if idx is None and cache is not None and _same(self._xp, cache[0], w):
            return cache[1]
        W, _ = self._split(w)
        X = self._rows(idx)
        Z = X @ W.T
        S2 = None if self.activation == "relu" else self._act(Z, 2)
        out = (X, self._act(Z), self._act(Z, 1), S2)
        if idx is None:
            self._cache = (nsp.copy(self._xp, w), out)
        return out

    def _forward(self, w, idx):
        _, a = self._split(w)
        return self._s * (self._features(w, idx)[1] @ a)

    def _jvp(self, w, dw, idx):
        _, a = self._split(w)
        dW, da = self._split(dw)
        X, S0, S1, _ = self._features(w, idx)
        return self._s * (S0 @ da + (S1 * (X @ dW.T)) @ a)

    def _vjp(self, w, c, idx):
        _, a = self._split(w)
        X, S0, S1, _ = self._features(w, idx)
        gW = ((S1 * c[:, None]) * a[None, :]).T @ X
        return self._s * nsp.concat(self._xp, [nsp.flat(self._xp, gW), S0.T @ c])

    def _curvature(self, w, c, dw, idx):
        _, a = self._split(w)
        dW, da = self._split(dw)
        X, _, S1, S2 = self._features(w, idx)
        dZ = X @ dW.T
        S1c = S1 * c[:, None]
        P = S1c * dZ
        ga = P.sum(axis=0) if self._xp is np else self._xp.sum(P, axis=0)
        inner = S1c * da[None, :]
        if self.activation != "relu":
            inner = inner + S2 * dZ * c[:, None] * a[None, :]
        return self._s * nsp.concat(self._xp, [nsp.flat(self._xp, inner.T @ X), ga])

    def _predict(self, w, X):
        X = self.X if X is None else self._new_inputs(X, self.n_features)
        W, a = self._split(w)
        return self._s * (self._act(X @ W.T) @ a)

    def init_params(self, random_state: Any = None, scale: float = 1.0) -> np.ndarray:
        """``W`` with entries ``N(0, 1/n_features)``, ``a`` with entries ``N(0, 1)``, both
        times ``scale``."""
        scale = check_scalar(scale, "scale", low=0.0)
        rng = check_random_state(random_state)
        W = rng.standard_normal((self.width, self.n_features)) / np.sqrt(self.n_features)
        a = rng.standard_normal(self.width)
        return self._to_model(scale * np.concatenate([W.ravel(), a]))


class TwoLayerReLU(TwoLayerNetwork):
    """Two-layer ReLU network ``f(x) = m^{-1/2} aᵀ relu(W x)`` with squared loss.

    :class:`TwoLayerNetwork` with ``activation="relu"``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import TwoLayerReLU
    >>> model = TwoLayerReLU(np.eye(2), [1.0, 0.0], width=1)
    >>> model.predict(np.array([1.0, -1.0, 2.0]))  # W = [1, -1], a = 2
    array([2., 0.])
    """

    def __init__(self, X: Any, y: Any, width: int):
        super().__init__(X, y, width, activation="relu")


# ---------------------------------------------------------------------------------
class MatrixSensing(_SquaredLossModel):
    """Low-rank matrix sensing with a factored parameterization.

    Symmetric: ``P = X Xᵀ`` with ``X`` of shape ``(d, rank)``; asymmetric: ``P = F Gᵀ``
    with ``F`` of shape ``(d1, rank)`` and ``G`` of shape ``(d2, rank)``; ``w`` is the
    flattened ``X`` or ``[F, G]``. With measurement matrices ``A_i`` the loss is
    ``1/(2m) Σ_i (<A_i, P> - <A_i, M>)²``; without (``A=None``, full observation) it is
    ``½ ‖P - M‖_F²``. Over-parameterization (``rank`` above the rank of ``M``) slows the
    symmetric parameterization down to a sublinear rate, while the exact rank, and the
    asymmetric parameterization at any rank, converge linearly (Xiong, Ding and Du).

    Parameters
    ----------
    M : array of shape (d1, d2)
        The target matrix (symmetric when ``symmetric``).
    rank : int
        The factor width ``k``.
    symmetric : bool, default=True
    A : array of shape (n_measurements, d1, d2), optional
        Measurement matrices; full observation if None.

    References
    ----------
    .. [1] N. Xiong, L. Ding and S. S. Du, "How over-parameterization slows down gradient
       descent in matrix sensing: the curses of symmetry and initialization", ICLR 2024.
    .. [2] T. Tong, C. Ma and Y. Chi, "Accelerating ill-conditioned low-rank matrix
       estimation via scaled gradient descent", JMLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import MatrixSensing
    >>> model = MatrixSensing(np.diag([1.0, 0.0]), rank=1)
    >>> model.loss(np.array([1.0, 0.0]))
    0.0
    """

    def __init__(self, M: Any, rank: int, *, symmetric: bool = True, A: Any = None):
        xp, _ = self._set_namespace(M, A)
        ax = None if xp is np else xp
        M = self._float(check_array(M, "M", ndim=2, xp=ax))
        self.rank = check_scalar(rank, "rank", kind=int, low=1)
        self.symmetric = bool(symmetric)
        self.d1, self.d2 = M.shape
        if self.symmetric:
            if self.d1 != self.d2 or not np.allclose(nsp.host(M), nsp.host(M).T):
                raise ValueError("M must be a symmetric matrix when symmetric=True.")
            self.n_params = self.d1 * self.rank
        else:
            self.n_params = (self.d1 + self.d2) * self.rank
        self.M = M
        if A is None:
            self.A = None
            self._mean = False
            self.supports_batches = False
            self.n_samples = self.d1 * self.d2
            self.y = nsp.copy(xp, nsp.flat(xp, M))
        else:
            A = self._float(check_array(A, "A", ndim=3, xp=ax))
            if tuple(A.shape[1:]) != tuple(M.shape):
                raise ValueError(f"A must have shape (m, {self.d1}, {self.d2}), "
                                 f"got {tuple(A.shape)}.")
            self.A = A
            self._Aflat = nsp.reshape(xp, A, (A.shape[0], -1))
            self.n_samples = A.shape[0]
            self.y = self._Aflat @ nsp.flat(xp, M)

    # measurement operator and its adjoint
    def _meas(self, P, idx):
        if self.A is None:
            return nsp.flat(self._xp, P)
        A = self._take(self._Aflat, idx)
        return A @ nsp.flat(self._xp, P)

    def _adj(self, u, idx):
        if self.A is None:
            return nsp.reshape(self._xp, u, (self.d1, self.d2))
        A = self._take(self._Aflat, idx)
        return nsp.reshape(self._xp, A.T @ u, (self.d1, self.d2))

    def factors(self, w: Any):
        """``X`` (symmetric) or ``(F, G)`` (asymmetric) as matrices (views of ``w``)."""
        return self._factors(self._check_w(w))

    @property
    def param_blocks(self):
        """One factor (symmetric) or the two factors ``F`` and ``G``."""
        if self.symmetric:
            return ((0, self.n_params),)
        k = self.d1 * self.rank
        return ((0, k), (k, self.n_params))

    def _factors(self, w):
        k, xp = self.rank, self._xp
        if self.symmetric:
            return nsp.reshape(xp, w, (self.d1, k))
        return (nsp.reshape(xp, w[: self.d1 * k], (self.d1, k)),
                nsp.reshape(xp, w[self.d1 * k :], (self.d2, k)))

    def _matrix(self, w):
        if self.symmetric:
            X = self._factors(w)
            return X @ X.T
        F, G = self._factors(w)
        return F @ G.T

    def _forward(self, w, idx):
        return self._meas(self._matrix(w), idx)

    def _jvp(self, w, dw, idx):
        if self.symmetric:
            X, dX = self._factors(w), self._factors(dw)
            dP = dX @ X.T
            return self._meas(dP + dP.T, idx)
        (F, G), (dF, dG) = self._factors(w), self._factors(dw)
        return self._meas(dF @ G.T + F @ dG.T, idx)

    def _vjp(self, w, u, idx):
        S, xp = self._adj(u, idx), self._xp
        if self.symmetric:
            return nsp.flat(xp, (S + S.T) @ self._factors(w))
        F, G = self._factors(w)
        return nsp.concat(xp, [nsp.flat(xp, S @ G), nsp.flat(xp, S.T @ F)])

    def _curvature(self, w, u, dw, idx):
        S, xp = self._adj(u, idx), self._xp
        if self.symmetric:
            return nsp.flat(xp, (S + S.T) @ self._factors(dw))
        dF, dG = self._factors(dw)
        return nsp.concat(xp, [nsp.flat(xp, S @ dG), nsp.flat(xp, S.T @ dF)])

    def _predict(self, w, X):
        if X is not None:
            raise ValueError("MatrixSensing has no inputs: X must be None.")
        return self._matrix(w)

    def distance(self, w: Any) -> float:
        """``‖P(w) - M‖_F``, the recovery error."""
        D = self._matrix(self._check_w(w)) - self.M
        if self._xp is np:
            return float(np.linalg.norm(D))
        return float(self._xp.linalg.matrix_norm(D))

    def precondition(self, w: Any, g: Any, damping: float = 0.0) -> np.ndarray:
        """ScaledGD's preconditioned direction: each factor's gradient times
        ``(OᵀO + λI)⁻¹``, ``O`` the other factor (``X`` itself when symmetric)."""
        w = self._check_w(w)
        g = self._check_w(g, "g")
        xp = self._xp
        eye = damping * self._eye(self.rank)
        if self.symmetric:
            X = self._factors(w)
            gX = self._factors(g)
            return nsp.flat(xp, xp.linalg.solve(X.T @ X + eye, gX.T).T)
        F, G = self._factors(w)
        gF, gG = self._factors(g)
        pF = xp.linalg.solve(G.T @ G + eye, gF.T).T
        pG = xp.linalg.solve(F.T @ F + eye, gG.T).T
        return nsp.concat(xp, [nsp.flat(xp, pF), nsp.flat(xp, pG)])


# ---------------------------------------------------------------------------------
class LogisticRegression(Model):
    """Binary logistic regression ``L(θ) = 1/n Σ_i log(1 + exp(-y_i x_iᵀθ))``.

    Labels in ``{-1, +1}`` (``{0, 1}`` are mapped to them). The output is the logit
    ``x_iᵀθ`` (the logit gap between the classes).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)

    References
    ----------
    .. [1] A. Tyurin, "From logistic regression to the perceptron algorithm: exploring
       gradient descent with large step sizes", AAAI 2025 (arXiv:2412.08424).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import LogisticRegression
    >>> model = LogisticRegression([[1.0], [-1.0]], [1, -1])
    >>> bool(np.isclose(model.loss(np.zeros(1)), np.log(2)))
    True
    """

    def __init__(self, X: Any, y: Any):
        xp, _ = self._set_namespace(X, y)
        ax = None if xp is np else xp
        X = self._float(check_array(X, "X", ndim=2, xp=ax))
        y = self._float(check_array(y, "y", shape=(X.shape[0],), xp=ax))
        labels = set(np.unique(nsp.host(y)).tolist())
        if labels <= {0.0, 1.0}:
            y = 2.0 * y - 1.0
        elif not labels <= {-1.0, 1.0}:
            raise ValueError(f"y must hold labels in {{-1, +1}} or {{0, 1}}, got {labels}.")
        self.X, self.y = X, y
        self.n_samples, self.n_params = X.shape

    def _rows(self, idx):
        return self._take(self.X, idx), self._take(self.y, idx)

    def margins(self, w: Any) -> np.ndarray:
        """``y_i x_iᵀθ``: positive where a sample is classified correctly."""
        return self.y * (self.X @ self._check_w(w))

    def _loss(self, w, idx):
        X, y = self._rows(idx)
        return float(self._xp.mean(nsp.softplus_neg(self._xp, y * (X @ w))))

    def _grad(self, w, idx):
        X, y = self._rows(idx)
        return -(X.T @ (y * nsp.expit(self._xp, -y * (X @ w)))) / X.shape[0]

    def _hvp(self, w, v, idx):
        X, _ = self._rows(idx)
        s = nsp.expit(self._xp, X @ w)
        return X.T @ (s * (1.0 - s) * (X @ v)) / X.shape[0]

    def _jvp(self, w, v, idx):
        return self._rows(idx)[0] @ v

    def _vjp(self, w, u, idx):
        return self._rows(idx)[0].T @ u

    def _predict(self, w, X):
        X = self.X if X is None else self._new_inputs(X, self.n_params)
        return X @ w

    def _per_sample_grads(self, w):
        return -(self.y * nsp.expit(self._xp, -self.y * (self.X @ w)))[:, None] * self.X

    def _eval_targets(self, y, n):
        y = super()._eval_targets(y, n)
        labels = set(np.unique(y).tolist())
        if labels <= {0.0, 1.0}:
            return 2.0 * y - 1.0
        if not labels <= {-1.0, 1.0}:
            raise ValueError(f"y must hold labels in {{-1, +1}} or {{0, 1}}, got {labels}.")
        return y

    def _eval_loss(self, outputs, y) -> float:
        return float(np.mean(nsp.softplus_neg(np, y * np.asarray(nsp.host(outputs)))))

    def _eval_accuracy(self, outputs, y) -> float:
        return float(np.mean(np.asarray(nsp.host(outputs)) * y > 0))

    def normalizer(self, w: Any) -> float:
        """``mean_i σ(-y_i x_iᵀθ)``: the step scale of normalized LR+GD (Tyurin)."""
        return float(self._xp.mean(nsp.expit(self._xp, -self.margins(w))))


class SoftmaxRegression(Model):
    """Multinomial logistic regression: mean cross-entropy of ``softmax(X W)`` (or of
    ``stablemax(X W)``).

    Parameters are ``W.ravel()`` with ``W`` of shape ``(n_features, n_classes)``; the
    outputs are the logits ``X W``. With ``loss="stablemax"`` the probabilities are
    :func:`~numlearn.dynamics.stablemax` of the logits (``s(z) = z + 1`` for ``z >= 0``,
    ``1/(1 - z)`` otherwise, normalized), the StableMax cross-entropy of Prieto et al.,
    which grows only linearly in the logits and so does not collapse to an exact one-hot
    (softmax collapse) as the logits scale up; its gradient and Hessian-vector product
    are exact too.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of int of shape (n_samples,)
        Class labels in ``0, ..., n_classes - 1``.
    n_classes : int, optional
        Defaults to ``max(y) + 1``.
    loss : {"softmax", "stablemax"}, default="softmax"
        Cross-entropy of the softmax or of the StableMax probabilities.

    References
    ----------
    .. [1] L. Prieto, M. Barsbey, P. A. M. Mediano and T. Birdal, "Grokking at the edge
       of numerical stability", ICLR 2025 (StableMax).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.dynamics import SoftmaxRegression
    >>> model = SoftmaxRegression(np.eye(3), [0, 1, 2])
    >>> bool(np.isclose(model.loss(np.zeros(9)), np.log(3)))
    True
    """

    def __init__(self, X: Any, y: Any, n_classes: int | None = None, loss: str = "softmax"):
        if loss not in ("softmax", "stablemax"):
            raise ValueError(f"loss must be 'softmax' or 'stablemax', got {loss!r}.")
        self.loss_name = loss
        xp, _ = self._set_namespace(X, y)
        X = self._float(check_array(X, "X", ndim=2, xp=None if xp is np else xp))
        y = np.asarray(nsp.host(y))
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}.")
        if y.dtype.kind not in "iu" and not (
            y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
        ):
            raise ValueError("y must hold integer class labels.")
        y = y.astype(np.int64)
        if y.min() < 0:
            raise ValueError("y must hold non-negative class labels.")
        if n_classes is None:
            n_classes = int(y.max()) + 1
        self.n_classes = check_scalar(n_classes, "n_classes", kind=int, low=2)
        if y.max() >= self.n_classes:
            raise ValueError(f"y holds a label >= n_classes={self.n_classes}.")
        self.n_samples, self.n_features = X.shape
        self.n_outputs = self.n_classes
        self.n_params = self.n_features * self.n_classes
        Y = np.eye(self.n_classes)[y]
        if xp is not np:
            y = xp.asarray(y, device=self._device)
            Y = self._to_model(Y)
        self.X, self.y, self._Y = X, y, Y

    def _rows(self, idx):
        if idx is None:
            return self.X, self.y, self._Y
        return self._take(self.X, idx), self._take(self.y, idx), self._take(self._Y, idx)

    def _W(self, w):
        return nsp.reshape(self._xp, w, (self.n_features, self.n_classes))

    def _softmax(self, Z):
        xp = self._xp
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        return E / xp.sum(E, axis=1, keepdims=True)

    def _stable(self, Z):
        """StableMax's ``s``, ``s'``, ``s''`` of the logits and the row sums of ``s``."""
        xp = self._xp
        neg = 1.0 / (1.0 - xp.minimum(Z, xp.zeros_like(Z)))  # 1/(1 - z) where z < 0
        pos = Z >= 0
        S0 = xp.where(pos, Z + 1.0, neg)
        S1 = xp.where(pos, xp.ones_like(Z), neg * neg)
        S2 = xp.where(pos, xp.zeros_like(Z), 2.0 * neg * neg * neg)
        return S0, S1, S2, xp.sum(S0, axis=1, keepdims=True)

    def _loss(self, w, idx):
        xp = self._xp
        X, y, Y = self._rows(idx)
        Z = X @ self._W(w)
        if self.loss_name == "stablemax":
            S0, _, _, total = self._stable(Z)
            return float(xp.mean(xp.log(total[:, 0]) - xp.log(xp.sum(S0 * Y, axis=1))))
        zmax = xp.max(Z, axis=1)
        lse = zmax + xp.log(xp.sum(xp.exp(Z - zmax[:, None]), axis=1))
        if xp is np:
            return float(np.mean(lse - Z[np.arange(len(y)), y]))
        return float(xp.mean(lse - xp.sum(Z * Y, axis=1)))

    def _logit_grad(self, Z, Y):
        """``∂ loss_i / ∂ z_i`` for every sample (rows)."""
        if self.loss_name == "stablemax":
            S0, S1, _, total = self._stable(Z)
            return S1 / total - Y * (S1 / S0)
        return self._softmax(Z) - Y

    def _grad(self, w, idx):
        X, _, Y = self._rows(idx)
        G = self._logit_grad(X @ self._W(w), Y)
        return nsp.flat(self._xp, X.T @ G) / X.shape[0]

    def _hvp(self, w, v, idx):
        X, _, Y = self._rows(idx)
        if self.loss_name == "stablemax":
            xp = self._xp
            S0, S1, S2, total = self._stable(X @ self._W(w))
            dZ = X @ self._W(v)
            dG = (S2 * dZ / total
                  - S1 * xp.sum(S1 * dZ, axis=1, keepdims=True) / (total * total)
                  - Y * ((S2 * S0 - S1 * S1) / (S0 * S0)) * dZ)
            return nsp.flat(xp, X.T @ dG) / X.shape[0]
        P = self._softmax(X @ self._W(w))
        dZ = X @ self._W(v)
        dP = P * (dZ - self._xp.sum(P * dZ, axis=1, keepdims=True))
        return nsp.flat(self._xp, X.T @ dP) / X.shape[0]

    def _jvp(self, w, v, idx):
        return self._rows(idx)[0] @ self._W(v)

    def _vjp(self, w, u, idx):
        X, xp = self._rows(idx)[0], self._xp
        return nsp.flat(xp, X.T @ nsp.reshape(xp, u, (X.shape[0], self.n_classes)))

    def _predict(self, w, X):
        X = self.X if X is None else self._new_inputs(X, self.n_features)
        return X @ self._W(w)

    def _eval_targets(self, y, n):
        y = super()._eval_targets(y, n)
        if not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= self.n_classes:
            raise ValueError(f"y must hold class labels in 0..{self.n_classes - 1}.")
        return y.astype(np.int64)

    def _eval_loss(self, outputs, y) -> float:
        Z = np.asarray(nsp.host(outputs), dtype=np.float64)
        rows = np.arange(len(y))
        if self.loss_name == "stablemax":
            S = np.where(Z >= 0, Z + 1.0, 1.0 / (1.0 - np.minimum(Z, 0.0)))
            return float(np.mean(np.log(S.sum(axis=1)) - np.log(S[rows, y])))
        zmax = Z.max(axis=1)
        lse = zmax + np.log(np.exp(Z - zmax[:, None]).sum(axis=1))
        return float(np.mean(lse - Z[rows, y]))

    def _eval_accuracy(self, outputs, y) -> float:
        return float(np.mean(np.argmax(np.asarray(nsp.host(outputs)), axis=1) == y))

    def _per_sample_grads(self, w):
        G = self.X[:, :, None] * self._logit_grad(self.X @ self._W(w), self._Y)[:, None, :]
        return nsp.reshape(self._xp, G, (self.n_samples, -1))
