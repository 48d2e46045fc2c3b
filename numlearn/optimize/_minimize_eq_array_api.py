"""The array-API backend of the sketched augmented-Lagrangian Newton method.

The backend :func:`numlearn.optimize.minimize_eq` takes when ``x0`` comes from another
array library than NumPy (CuPy on a GPU, ``array_api_strict`` in the tests). The
iterations -- Newton–KKT systems, the descent test and penalty adaptation, the Armijo
search on the exact augmented Lagrangian, the rank and reduced-Hessian checks
(``xp.linalg.svd``, ``qr``, ``eigvalsh``) -- are those of
:mod:`numlearn.optimize._minimize_eq_core`, shared with the NumPy path; here every vector
and matrix is in the namespace of ``x0``:

* the callables ``fun``, ``jac``, ``hess`` / ``hessp`` and the constraint functions are
  called with arrays of that namespace and should return arrays of it (NumPy arrays and
  Python scalars are moved onto ``x0``'s device; SciPy or ``cupyx`` sparse matrices are
  made dense: this path forms the ``(n + m) × (n + m)`` KKT matrix densely);
* ``sketch="direct"`` solves the KKT systems with ``xp.linalg.solve`` (``xp.linalg.pinv``
  when ``G`` is rank deficient or ``solve`` fails);
* the sketches call :func:`~numlearn.linalg.sketch_and_project` with arrays of the
  namespace; it returns its iterate in that namespace (it currently computes on the host:
  the KKT matrix is copied there for each inner solve).

Everything is float64. ``x`` and ``v`` are returned in ``x0``'s namespace and device;
the scalar diagnostics are Python floats and ``history`` is a NumPy array. Given the same
``random_state``, the iterates equal those of the NumPy path up to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from numlearn._backend import device_of
from numlearn._validation import check_vector
from numlearn.optimize._minimize_eq_core import Backend, _all_finite

__all__ = ["ArrayAPIBackend"]


def _to_xp(value, xp, device):
    """``value`` (an array of ``xp``, NumPy, a scalar or a sparse matrix) as float64 ``xp``."""
    if sp.issparse(value):
        value = value.toarray()
    elif hasattr(value, "toarray") and not hasattr(value, "__array_namespace__"):
        value = value.toarray()  # cupyx.scipy.sparse
    if isinstance(value, np.ndarray) or not hasattr(value, "__array_namespace__"):
        return xp.asarray(np.asarray(value, dtype=np.float64), device=device)
    value = xp.asarray(value)
    return value if value.dtype == xp.float64 else xp.astype(value, xp.float64)


class ArrayAPIBackend(Backend):
    """Arrays of the namespace ``xp`` on ``x0``'s device; dense KKT systems."""

    def __init__(self, xp):
        self.xp = xp
        self.device = None

    def start(self, x0):
        xp = self.xp
        shape = tuple(x0.shape)
        size = math.prod(shape) if shape else 1
        x = check_vector(x0, "x0", size, xp=xp)
        x = xp.astype(x, xp.float64, copy=True)
        self.device = device_of(x)
        return x

    def lambda0(self, lambda0, m: int):
        xp = self.xp
        if not hasattr(lambda0, "__array_namespace__"):
            lambda0 = xp.asarray(np.asarray(lambda0, dtype=np.float64), device=self.device)
        return xp.astype(check_vector(lambda0, "lambda0", m, xp=xp), xp.float64, copy=True)

    def from_host(self, a):
        return self.xp.asarray(a, device=self.device)

    def flat(self, value):
        return self.xp.reshape(_to_xp(value, self.xp, self.device), (-1,))

    def vec(self, value, n: int, name: str):
        xp = self.xp
        arr = _to_xp(value, xp, self.device)
        if arr.ndim == 2 and 1 in arr.shape:
            arr = xp.reshape(arr, (-1,))
        if arr.ndim == 0 and n == 1:
            arr = xp.reshape(arr, (1,))
        if tuple(arr.shape) != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {tuple(arr.shape)}.")
        if not _all_finite(arr, xp):
            raise ValueError(f"{name} contains NaN or infinity.")
        return arr

    def mat(self, value, shape: tuple[int, int], name: str, check: bool = True):
        xp = self.xp
        M = _to_xp(value, xp, self.device)
        if M.ndim == 1 and shape[0] == 1:
            M = xp.reshape(M, (1, M.shape[0]))
        if tuple(M.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(M.shape)}.")
        if check and not _all_finite(M, xp):
            raise ValueError(f"{name} contains NaN or infinity.")
        return M

    def jacobian(self, value, m: int, n: int):
        return self.xp.reshape(_to_xp(value, self.xp, self.device), (m, n))

    def hessian(self, value, n: int, name: str):
        return self.mat(value, (n, n), name, check=False)

    def add(self, H, Hc):
        return H + Hc

    def dense(self, M):
        return M

    def diagonal(self, H):
        return self.xp.linalg.diagonal(H)

    def row_abs_sums(self, H):
        xp = self.xp
        return xp.sum(xp.abs(H), axis=1)

    def kkt_matrix(self, B, G, shift: float):
        xp, device = self.xp, self.device
        m, n = G.shape
        if shift:
            B = B + shift * xp.eye(n, dtype=xp.float64, device=device)
        top = xp.concat([B, G.T], axis=1)
        bottom = xp.concat([G, xp.zeros((m, m), dtype=xp.float64, device=device)], axis=1)
        return xp.concat([top, bottom], axis=0)

    def direct_solve(self, K, rhs, singular: bool):
        """``K⁻¹ rhs`` by ``xp.linalg.solve``; the pseudo-inverse when ``K`` is singular."""
        xp = self.xp
        if not singular:
            try:
                z = xp.linalg.solve(K, rhs[:, None])[:, 0]
                if _all_finite(z, xp):
                    return z
            except Exception:  # LinAlgError of the namespace: exactly singular
                pass
        return xp.linalg.pinv(K) @ rhs

    def fro_norm(self, K) -> float:
        return float(self.xp.linalg.matrix_norm(K))
