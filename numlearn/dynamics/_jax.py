"""Adapter: any JAX loss as a :mod:`numlearn.dynamics` model.

``from_jax(loss_fn, params, data)`` flattens the parameter pytree into one vector ``w``
and compiles the loss, its gradient and the Hessian-vector product by forward-over-reverse
differentiation (``jvp`` of ``grad``: about the cost of two gradients), so every optimizer,
:func:`~numlearn.dynamics.train` and every Hessian tool (sharpness, density, trace,
overlap) runs on a user's own network. JAX is an optional dependency
(``pip install "numlearn[jax]"``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from numlearn._validation import check_option

__all__ = ["from_jax", "JaxModel"]


def _import_jax():
    try:
        import jax
        from jax.flatten_util import ravel_pytree
    except ImportError as exc:  # pragma: no cover - exercised where JAX is absent
        raise ImportError(
            'from_jax needs JAX: pip install "numlearn[jax]" (or pip install jax).'
        ) from exc
    return jax, ravel_pytree


class JaxModel:
    """A JAX loss wrapped in the model protocol (see :func:`from_jax`).

    Attributes
    ----------
    n_params, n_samples : int
    param_blocks : tuple of (start, stop)
        One block per leaf of the parameter pytree (used by per-tensor ⊥Grad).
    w0 : ndarray of shape (n_params,)
        The flattened initial parameters (float64 NumPy).
    """

    supports_batches = True

    def __init__(self, loss_fn, params, data, predict_fn, inputs, dtype):
        jax, ravel_pytree = _import_jax()
        self._jax = jax
        self.dtype = dtype
        jnp = jax.numpy
        with self._precision():
            float_dtype = jnp.float64 if dtype == "float64" else jnp.float32

            def cast(a):
                a = jnp.asarray(a)
                return a.astype(float_dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a

            params = jax.tree_util.tree_map(cast, params)
            flat, self._unravel = ravel_pytree(params)
            self._data = jax.tree_util.tree_map(cast, data)
            self._inputs = None if inputs is None else jax.tree_util.tree_map(cast, inputs)
        leaves = jax.tree_util.tree_leaves(self._data)
        if not leaves:
            raise ValueError("data must hold at least one array (samples on axis 0).")
        sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) else -1 for leaf in leaves}
        if len(sizes) != 1 or -1 in sizes:
            raise ValueError(f"every array of data must have the samples on axis 0 with "
                             f"one common length; got leading sizes {sorted(sizes)}.")
        self.n_samples = sizes.pop()
        self.n_params = int(flat.shape[0])
        self.w0 = np.asarray(flat, dtype=np.float64)
        bounds = np.cumsum([0] + [int(np.size(leaf))
                                  for leaf in jax.tree_util.tree_leaves(params)])
        self.param_blocks = tuple((int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]))
        self._float_dtype = float_dtype
        unravel = self._unravel

        def flat_loss(w, d):
            return loss_fn(unravel(w), d)

        grad = jax.grad(flat_loss)
        self._loss_fn = jax.jit(flat_loss)
        self._grad_fn = jax.jit(grad)
        self._hvp_fn = jax.jit(lambda w, v, d: jax.jvp(lambda x: grad(x, d), (w,), (v,))[1])
        self._per_sample_fn = jax.jit(jax.vmap(
            lambda w, d: grad(w, jax.tree_util.tree_map(lambda a: a[None], d)),
            in_axes=(None, 0)))
        self._predict_fn = None
        if predict_fn is not None:
            def flat_predict(w, X):
                return predict_fn(unravel(w), X)

            self._predict_fn = jax.jit(flat_predict)
            self._jvp_fn = jax.jit(
                lambda w, v, X: jax.jvp(lambda x: flat_predict(x, X), (w,), (v,))[1])
            self._vjp_fn = jax.jit(
                lambda w, u, X: jax.vjp(lambda x: flat_predict(x, X), w)[1](u)[0])

    # ---- helpers -------------------------------------------------------------------
    def _precision(self):
        if self.dtype == "float64":
            return self._jax.enable_x64(True)
        return contextlib.nullcontext()

    def _w(self, w, name="w"):
        w = np.asarray(w)
        if w.shape != (self.n_params,):
            raise ValueError(f"{name} must be a vector of length n_params={self.n_params}, "
                             f"got shape {w.shape}.")
        return self._jax.numpy.asarray(w, dtype=self._float_dtype)

    def _batch(self, batch):
        if batch is None:
            return self._data
        idx = np.asarray(batch)
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            raise ValueError("batch must be a non-empty 1-D array of sample indices.")
        if idx.min() < 0 or idx.max() >= self.n_samples:
            raise ValueError(f"batch indices must lie in [0, {self.n_samples}).")
        return self._jax.tree_util.tree_map(lambda a: a[idx], self._data)

    @staticmethod
    def _out(a):
        return np.asarray(a, dtype=np.float64)

    def _require_predict(self, what):
        if self._predict_fn is None:
            raise TypeError(f"{what} needs predict_fn: pass from_jax(..., predict_fn=...).")

    # ---- the protocol --------------------------------------------------------------
    def loss(self, w: Any, batch: Any = None) -> float:
        with self._precision():
            return float(self._loss_fn(self._w(w), self._batch(batch)))

    def grad(self, w: Any, batch: Any = None) -> np.ndarray:
        with self._precision():
            return self._out(self._grad_fn(self._w(w), self._batch(batch)))

    def hvp(self, w: Any, v: Any, batch: Any = None) -> np.ndarray:
        with self._precision():
            return self._out(self._hvp_fn(self._w(w), self._w(v, "v"), self._batch(batch)))

    def hessian(self, w: Any, batch: Any = None) -> np.ndarray:
        eye = np.eye(self.n_params)
        return np.stack([self.hvp(w, eye[j], batch) for j in range(self.n_params)], axis=1)

    def per_sample_grads(self, w: Any) -> np.ndarray:
        with self._precision():
            return self._out(self._per_sample_fn(self._w(w), self._data))

    def predict(self, w: Any, X: Any = None) -> np.ndarray:
        self._require_predict("predict")
        with self._precision():
            X = self._training_inputs() if X is None else self._jax.numpy.asarray(X)
            # outputs keep the working precision, so that softmax collapse is judged
            # in it (train's collapse_fraction)
            return np.asarray(self._predict_fn(self._w(w), X))

    def jvp(self, w: Any, v: Any) -> np.ndarray:
        self._require_predict("jvp")
        with self._precision():
            return self._out(self._jvp_fn(self._w(w), self._w(v, "v"),
                                          self._training_inputs()))

    def vjp(self, w: Any, u: Any) -> np.ndarray:
        self._require_predict("vjp")
        with self._precision():
            u = self._jax.numpy.asarray(u, dtype=self._float_dtype)
            return self._out(self._vjp_fn(self._w(w), u, self._training_inputs()))

    def _training_inputs(self):
        if self._inputs is None:
            raise TypeError("the training inputs are unknown: pass from_jax(..., inputs=X) "
                            "or data as a tuple (X, y, ...).")
        return self._inputs

    def evaluate(self, w: Any, X: Any, y: Any) -> tuple[float, float]:
        """Loss on held-out ``(X, y)`` (``loss_fn(params, (X, y))``) and, with a
        ``predict_fn`` giving class scores ``(n, n_classes)``, the accuracy."""
        with self._precision():
            loss = float(self._loss_fn(self._w(w), (self._jax.numpy.asarray(X),
                                                    self._jax.numpy.asarray(y))))
        accuracy = math.nan
        if self._predict_fn is not None:
            scores = self.predict(w, X)
            if scores.ndim == 2 and scores.shape[1] > 1:
                accuracy = float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))
        return loss, accuracy

    def init_params(self, random_state: Any = None, scale: float = 1.0) -> np.ndarray:
        """The initial parameters given to :func:`from_jax`, flattened (a copy)."""
        return self.w0.copy()


def from_jax(
    loss_fn: Callable,
    params: Any,
    data: Any,
    *,
    predict_fn: Callable | None = None,
    inputs: Any = None,
    dtype: str = "float64",
) -> JaxModel:
    """Wrap a JAX loss as a :mod:`numlearn.dynamics` model.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params, data) -> scalar``: the mean loss over the samples of ``data``
        (mini-batches are ``data`` indexed on axis 0).
    params : pytree
        Initial parameters (any nesting of dicts, lists and arrays); ``model.w0`` is its
        flattened vector and ``model.param_blocks`` the slice of each leaf.
    data : pytree
        The training data, samples on axis 0 of every array.
    predict_fn : callable, optional
        ``predict_fn(params, X) -> outputs``, for ``predict``, ``jvp``, ``vjp`` (NTK,
        softmax radius, collapse tracking) and accuracy. ``predict`` returns the outputs
        in the working precision (float32 for ``dtype="float32"``).
    inputs : pytree, optional
        The training inputs ``X`` for ``predict``/``jvp``; ``data[0]`` when ``data`` is a
        tuple or list.
    dtype : {"float64", "float32"}, default="float64"
        Precision of every JAX computation (float64 runs inside ``jax.enable_x64``
        without changing the global setting); ``"float32"`` for float32 runs such as
        softmax collapse.

    Returns
    -------
    model : JaxModel
        With ``loss``, ``grad``, ``hvp`` (forward-over-reverse), ``per_sample_grads``
        (``vmap``), ``predict``/``jvp``/``vjp`` (with ``predict_fn``), ``evaluate`` and
        ``param_blocks``; NumPy float64 in and out.

    Examples
    --------
    >>> import numpy as np
    >>> import jax.numpy as jnp
    >>> from numlearn.dynamics import GD, from_jax, sharpness, train
    >>> X = np.random.default_rng(0).standard_normal((20, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> def loss(p, d):
    ...     X, y = d
    ...     return 0.5 * jnp.mean((X @ p["w"] - y) ** 2)
    >>> model = from_jax(loss, {"w": np.zeros(3)}, (X, y))
    >>> traj = train(model, model.w0, GD(lr=0.5), 200)
    >>> bool(np.allclose(traj.w, [1.0, -2.0, 0.5]))
    True
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}.")
    if predict_fn is not None and not callable(predict_fn):
        raise TypeError(f"predict_fn must be callable, got {type(predict_fn).__name__}.")
    check_option(dtype, "dtype", ("float64", "float32"))
    if inputs is None and isinstance(data, (tuple, list)) and len(data) > 0:
        inputs = data[0]
    return JaxModel(loss_fn, params, data, predict_fn, inputs, dtype)
