"""Datafits for coordinate descent: ``F(X w + b)`` with a per-sample loss.

Each datafit is a small class with the few methods the engine needs (as skglm splits
them): its value, its gradient with respect to the linear predictor, the coordinate-wise
Lipschitz constants, the Fenchel conjugate (for the duality gap) and the kernel code.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from numlearn.linear_model._cd_kernels import LOGISTIC, MULTINOMIAL, QUADRATIC
from numlearn.linear_model._glm_jit import LogisticJit, QuadraticJit

__all__ = ["Quadratic", "Logistic", "Multinomial"]


def _col_sums(X, power: int) -> np.ndarray:
    """Column sums of ``X ** power`` for a CSC matrix, in one pass over its data."""
    data = X.data.astype(np.float64) ** power
    out = np.zeros(X.shape[1])
    nonempty = np.flatnonzero(np.diff(X.indptr))
    if nonempty.size:
        out[nonempty] = np.add.reduceat(data, X.indptr[nonempty])
    return out


def _col_sq_norms(X) -> np.ndarray:
    if sp.issparse(X):
        if X.format == "csc":
            return _col_sums(X, 2)
        return np.asarray(X.multiply(X).sum(axis=0)).ravel().astype(np.float64)
    return np.einsum("ij,ij->j", X, X, dtype=np.float64)


class Quadratic:
    """Least squares ``F(z) = ‖y - z‖² / (2 n)``.

    The duality gap is stopped at ``tol · ‖y‖² / n`` (``y`` centred when an intercept is
    fitted): scikit-learn's scaling of ``tol`` for ``Lasso``/``ElasticNet``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model.datafits import Quadratic
    >>> Quadratic().value(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    1.0
    """

    code = QUADRATIC
    name = "quadratic"
    curvature = 1.0

    def compiled(self, sample_weight=None, n_samples=None):
        """The compiled scalar pieces (``loss``, ``deriv``) for :func:`solve_glm`, with
        the sample weights (checked; rescaled to mean 1) or unit weights."""
        return QuadraticJit(_mean_one_weights(sample_weight, n_samples))

    def value(self, y, z) -> float:
        """``‖y - z‖² / (2 n)``."""
        r = np.asarray(y, dtype=np.float64) - z
        return float(r @ r) / (2 * r.shape[0])

    def raw_grad(self, y, z) -> np.ndarray:
        """Gradient of ``F`` with respect to ``z``: ``(z - y) / n``."""
        return (np.asarray(z, dtype=np.float64) - y) / y.shape[0]

    def lipschitz(self, X, mean=None) -> np.ndarray:
        """Coordinate Lipschitz constants ``‖X_j - m_j‖² / n``."""
        n = X.shape[0]
        sq = _col_sq_norms(X)
        if mean is not None:
            sq = np.maximum(sq - n * np.asarray(mean, dtype=np.float64) ** 2, 0.0)
        return sq / n

    def conjugate_neg(self, y, theta) -> float:
        """``F*(-θ) = n ‖θ‖² / 2 - θᵀ y``."""
        n = y.shape[0]
        return float(n * (theta @ theta) / 2 - theta @ y)

    def gap_scale(self, y) -> float:
        """Unit of ``tol``: ``‖y‖² / n``."""
        y = np.asarray(y, dtype=np.float64)
        return float(y @ y) / y.shape[0]


class Logistic:
    """Logistic loss ``F(z) = Σ log(1 + exp(-y_i z_i)) / n`` for labels ``y ∈ {-1, +1}``.

    The duality gap is stopped at ``tol · log 2`` (the loss of ``w = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model.datafits import Logistic
    >>> round(Logistic().value(np.array([1.0, -1.0]), np.zeros(2)), 6)
    0.693147
    """

    code = LOGISTIC
    name = "logistic"
    curvature = 0.25

    def compiled(self, sample_weight=None, n_samples=None):
        """The compiled scalar pieces (``loss``, ``deriv``) for :func:`solve_glm`, with
        the sample weights (checked; rescaled to mean 1) or unit weights."""
        return LogisticJit(_mean_one_weights(sample_weight, n_samples))

    def value(self, y, z) -> float:
        """``Σ log(1 + exp(-y_i z_i)) / n``."""
        return float(np.mean(np.logaddexp(0.0, -y * np.asarray(z, dtype=np.float64))))

    def raw_grad(self, y, z) -> np.ndarray:
        """``-y σ(-y z) / n``."""
        yz = y * np.asarray(z, dtype=np.float64)
        return -y * _expit(-yz) / y.shape[0]

    def lipschitz(self, X, mean=None) -> np.ndarray:
        """``‖X_j - m_j‖² / (4 n)``."""
        return Quadratic().lipschitz(X, mean) / 4

    def conjugate_neg(self, y, theta) -> float:
        """``F*(-θ) = Σ [s log s + (1 - s) log(1 - s)] / n`` with ``s = n θ y ∈ [0, 1]``."""
        n = y.shape[0]
        s = np.clip(n * theta * y, 0.0, 1.0)
        return float(np.sum(_xlogx(s) + _xlogx(1.0 - s)) / n)

    def gap_scale(self, y) -> float:
        """Unit of ``tol``: ``log 2``."""
        return float(np.log(2.0))


class Multinomial:
    """Softmax cross-entropy ``F(Z) = Σ_i [log Σ_k exp Z_ik - Z_{i, y_i}] / n``.

    ``y`` holds class indices ``0, ..., K-1``; the coefficients are a ``(p, K)`` matrix
    (one column per class, the symmetric parametrization of scikit-learn's multinomial
    ``LogisticRegression``). Coordinate descent updates one row ``W[j, :]`` at a time with
    the bound ``L_j = ‖X_j‖² / (2 n)`` (Böhning). The duality gap is stopped at
    ``tol · log K`` (the loss of ``W = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model.datafits import Multinomial
    >>> round(Multinomial().value(np.array([0, 2]), np.zeros((2, 3))), 6)
    1.098612
    """

    code = MULTINOMIAL
    name = "multinomial"

    def value(self, labels, Z) -> float:
        """Mean cross-entropy of the logits ``Z`` (n, K)."""
        Z = np.asarray(Z, dtype=np.float64)
        zmax = Z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(Z - zmax).sum(axis=1)) + zmax[:, 0]
        return float(np.mean(lse - Z[np.arange(Z.shape[0]), labels]))

    def raw_grad(self, labels, Z) -> np.ndarray:
        """``(softmax(Z) - Y) / n`` with ``Y`` the one-hot labels."""
        Z = np.asarray(Z, dtype=np.float64)
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        P[np.arange(Z.shape[0]), labels] -= 1.0
        return P / Z.shape[0]

    def lipschitz(self, X, mean=None) -> np.ndarray:
        """``‖X_j - m_j‖² / (2 n)`` (bound for the whole row ``W[j, :]``)."""
        return Quadratic().lipschitz(X, mean) / 2

    def conjugate_neg(self, labels, theta) -> float:
        """``F*(-θ) = Σ_ik q_ik log q_ik / n`` with ``q = Y - n θ`` (rows in the simplex)."""
        n = theta.shape[0]
        q = -n * theta
        q[np.arange(n), labels] += 1.0
        q = np.clip(q, 0.0, 1.0)
        return float(np.sum(_xlogx(q)) / n)

    def gap_scale(self, n_classes) -> float:
        """Unit of ``tol``: ``log K``."""
        return float(np.log(n_classes))


def _mean_one_weights(sample_weight, n_samples):
    from numlearn.linear_model._sample_weight import check_sample_weight

    if sample_weight is None:
        return np.ones(n_samples)
    sw = check_sample_weight(sample_weight, n_samples)
    return sw * (sw.shape[0] / sw.sum())


def _expit(t):
    out = np.empty_like(t)
    pos = t >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-t[pos]))
    e = np.exp(t[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _xlogx(s):
    out = np.zeros_like(s)
    pos = s > 0
    out[pos] = s[pos] * np.log(s[pos])
    return out
