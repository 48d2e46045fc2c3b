"""Equality-constrained test problems: Hock–Schittkowski, PDE control, logistic regression.

Each problem is a :class:`ConstrainedProblem`: ``min f(x)`` subject to ``c(x) = 0`` with
exact first and second derivatives, a starting point and (where known) the optimal value.
The Lagrangian is ``L(x, v) = f(x) + vᵀc(x)`` (the sign convention of SciPy's
``trust-constr``), so the KKT conditions read ``∇f + Gᵀv = 0``, ``c = 0`` with
``G = ∇c`` (``m × n``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from numlearn._validation import check_array, check_random_state, check_scalar

__all__ = [
    "ConstrainedProblem",
    "HS_PROBLEM_NAMES",
    "hock_schittkowski",
    "pde_control_problem",
    "constrained_logistic_problem",
    "InequalityProblem",
    "HS_INEQ_PROBLEM_NAMES",
    "hock_schittkowski_ineq",
    "nnls_problem",
    "nonnegative_logistic_problem",
]

_S2 = math.sqrt(2.0)


@dataclass
class ConstrainedProblem:
    """An equality-constrained problem ``min f(x)`` subject to ``c(x) = 0``, exact derivatives.

    Attributes
    ----------
    name : str
        Short name (``"HS40"``, ``"pde_control"``, ...).
    fun, jac, hess : callable
        ``f(x)``, ``∇f(x)`` (shape ``(n,)``) and ``∇²f(x)`` (``(n, n)``, dense or sparse).
    cons_fun, cons_jac : callable
        ``c(x)`` (shape ``(m,)``) and its Jacobian ``G(x)`` (``(m, n)``, dense or sparse).
    cons_hess : callable
        ``(x, v) -> Σ vᵢ ∇²cᵢ(x)`` (``(n, n)``, dense or sparse).
    x0 : ndarray
        The standard starting point.
    f_opt : float or None
        The optimal (best known) objective value, if known.
    multimodal : bool
        Whether the problem has several local minima (any KKT point counts).
    """

    name: str
    fun: Callable[[np.ndarray], float]
    jac: Callable[[np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray], Any]
    cons_fun: Callable[[np.ndarray], np.ndarray]
    cons_jac: Callable[[np.ndarray], Any]
    cons_hess: Callable[[np.ndarray, np.ndarray], Any]
    x0: np.ndarray
    f_opt: float | None = None
    multimodal: bool = False
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of variables."""
        return int(self.x0.shape[0])

    @property
    def m(self) -> int:
        """Number of constraints."""
        return int(np.asarray(self.cons_fun(self.x0)).shape[0])

    @property
    def constraints(self) -> dict:
        """The constraints as a dict accepted by :func:`numlearn.optimize.minimize_eq`."""
        return {"type": "eq", "fun": self.cons_fun, "jac": self.cons_jac,
                "hess": self.cons_hess}

    def nonlinear_constraint(self):
        """The constraints as a :class:`scipy.optimize.NonlinearConstraint` (lb = ub = 0)."""
        from scipy.optimize import NonlinearConstraint

        return NonlinearConstraint(self.cons_fun, 0.0, 0.0, jac=self.cons_jac,
                                   hess=self.cons_hess)

    def kkt_norm(self, x: np.ndarray, v: np.ndarray) -> float:
        """``‖(∇f + Gᵀv, c)‖₂`` at ``(x, v)``."""
        G = self.cons_jac(x)
        grad_l = np.asarray(self.jac(x)) + np.asarray(G.T @ v).ravel()
        return float(np.hypot(np.linalg.norm(grad_l), np.linalg.norm(self.cons_fun(x))))


# --------------------------------------------------------------------------------------
# Hock–Schittkowski: objectives built from terms coef·(aᵀx − b)^p
# --------------------------------------------------------------------------------------
class _PowerSum:
    """``f(x) = Σ_k coef_k (a_kᵀx − b_k)^{p_k}`` with exact derivatives."""

    def __init__(self, n: int, terms: list[tuple[float, dict[int, float], float, int]]):
        self.coef = np.array([t[0] for t in terms], dtype=float)
        self.A = np.zeros((len(terms), n))
        for k, (_, a, _, _) in enumerate(terms):
            for i, ai in a.items():
                self.A[k, i - 1] = ai
        self.b = np.array([t[2] for t in terms], dtype=float)
        self.p = np.array([t[3] for t in terms], dtype=float)

    def fun(self, x):
        r = self.A @ x - self.b
        return float(self.coef @ r**self.p)

    def jac(self, x):
        r = self.A @ x - self.b
        return self.A.T @ (self.coef * self.p * r ** (self.p - 1))

    def hess(self, x):
        r = self.A @ x - self.b
        w = self.coef * self.p * (self.p - 1) * r ** np.maximum(self.p - 2, 0)
        return (self.A.T * w) @ self.A


def _linear_constraints(M, d):
    """``c(x) = M x − d``."""
    M = np.asarray(M, dtype=float)
    d = np.asarray(d, dtype=float)
    n = M.shape[1]
    return (lambda x: M @ x - d, lambda x: M.copy(), lambda x, v: np.zeros((n, n)))


def _from_hessians(cfun, cjac, chess_list):
    """``(c, G, (x, v) -> Σ vᵢ Hᵢ(x))`` from a function returning the ``Hᵢ`` stacked."""

    def cons_hess(x, v):
        return np.tensordot(np.asarray(v, dtype=float), chess_list(x), axes=1)

    return cfun, cjac, cons_hess


def _hs6():
    f = _PowerSum(2, [(1.0, {1: 1.0}, 1.0, 2)])
    cons = _from_hessians(
        lambda x: np.array([10.0 * (x[1] - x[0] ** 2)]),
        lambda x: np.array([[-20.0 * x[0], 10.0]]),
        lambda x: np.array([[[-20.0, 0.0], [0.0, 0.0]]]),
    )
    return f.fun, f.jac, f.hess, cons, [-1.2, 1.0], 0.0, False


def _hs7():
    def fun(x):
        return float(np.log1p(x[0] ** 2) - x[1])

    def jac(x):
        return np.array([2 * x[0] / (1 + x[0] ** 2), -1.0])

    def hess(x):
        return np.array([[2 * (1 - x[0] ** 2) / (1 + x[0] ** 2) ** 2, 0.0], [0.0, 0.0]])

    cons = _from_hessians(
        lambda x: np.array([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4]),
        lambda x: np.array([[4 * x[0] * (1 + x[0] ** 2), 2 * x[1]]]),
        lambda x: np.array([[[4 + 12 * x[0] ** 2, 0.0], [0.0, 2.0]]]),
    )
    return fun, jac, hess, cons, [2.0, 2.0], -math.sqrt(3.0), False


def _hs26():
    f = _PowerSum(3, [(1.0, {1: 1, 2: -1}, 0, 2), (1.0, {2: 1, 3: -1}, 0, 4)])
    cons = _from_hessians(
        lambda x: np.array([(1 + x[1] ** 2) * x[0] + x[2] ** 4 - 3]),
        lambda x: np.array([[1 + x[1] ** 2, 2 * x[0] * x[1], 4 * x[2] ** 3]]),
        lambda x: np.array([[[0, 2 * x[1], 0], [2 * x[1], 2 * x[0], 0],
                             [0, 0, 12 * x[2] ** 2]]], dtype=float),
    )
    return f.fun, f.jac, f.hess, cons, [-2.6, 2.0, 2.0], 0.0, True


def _hs27():
    f = _PowerSum(3, [(0.01, {1: 1}, 1, 2)])

    def fun(x):
        return f.fun(x) + (x[1] - x[0] ** 2) ** 2

    def jac(x):
        r = x[1] - x[0] ** 2
        return f.jac(x) + np.array([-4 * x[0] * r, 2 * r, 0.0])

    def hess(x):
        H = f.hess(x)
        H[0, 0] += -4 * x[1] + 12 * x[0] ** 2
        H[0, 1] += -4 * x[0]
        H[1, 0] += -4 * x[0]
        H[1, 1] += 2.0
        return H

    cons = _from_hessians(
        lambda x: np.array([x[0] + x[2] ** 2 + 1]),
        lambda x: np.array([[1.0, 0.0, 2 * x[2]]]),
        lambda x: np.array([np.diag([0.0, 0.0, 2.0])]),
    )
    return fun, jac, hess, cons, [2.0, 2.0, 2.0], 0.04, False


def _hs39():
    cons = _from_hessians(
        lambda x: np.array([x[1] - x[0] ** 3 - x[2] ** 2, x[0] ** 2 - x[1] - x[3] ** 2]),
        lambda x: np.array([[-3 * x[0] ** 2, 1.0, -2 * x[2], 0.0],
                            [2 * x[0], -1.0, 0.0, -2 * x[3]]]),
        lambda x: np.array([np.diag([-6 * x[0], 0.0, -2.0, 0.0]),
                            np.diag([2.0, 0.0, 0.0, -2.0])]),
    )
    return (lambda x: float(-x[0]), lambda x: np.array([-1.0, 0.0, 0.0, 0.0]),
            lambda x: np.zeros((4, 4)), cons, [2.0] * 4, -1.0, False)


def _hs40():
    def fun(x):
        return float(-np.prod(x))

    def jac(x):
        return -np.array([x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3],
                          x[0] * x[1] * x[2]])

    def hess(x):
        H = np.zeros((4, 4))
        for i in range(4):
            for j in range(4):
                if i != j:
                    others = [k for k in range(4) if k not in (i, j)]
                    H[i, j] = -x[others[0]] * x[others[1]]
        return H

    def chess(x):
        H = np.zeros((3, 4, 4))
        H[0, 0, 0], H[0, 1, 1] = 6 * x[0], 2.0
        H[1, 0, 0], H[1, 0, 3], H[1, 3, 0] = 2 * x[3], 2 * x[0], 2 * x[0]
        H[2, 3, 3] = 2.0
        return H

    cons = _from_hessians(
        lambda x: np.array([x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2],
                            x[3] ** 2 - x[1]]),
        lambda x: np.array([[3 * x[0] ** 2, 2 * x[1], 0.0, 0.0],
                            [2 * x[0] * x[3], 0.0, -1.0, x[0] ** 2],
                            [0.0, -1.0, 0.0, 2 * x[3]]]),
        chess,
    )
    return fun, jac, hess, cons, [0.8] * 4, -0.25, False


def _hs42():
    f = _PowerSum(4, [(1.0, {i: 1}, i, 2) for i in range(1, 5)])
    cons = _from_hessians(
        lambda x: np.array([x[0] - 2, x[2] ** 2 + x[3] ** 2 - 2]),
        lambda x: np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2 * x[2], 2 * x[3]]]),
        lambda x: np.array([np.zeros((4, 4)), np.diag([0.0, 0.0, 2.0, 2.0])]),
    )
    return f.fun, f.jac, f.hess, cons, [1.0] * 4, 28 - 10 * _S2, False


def _hs46_like_constraints(rhs1, rhs2):
    def chess(x):
        H = np.zeros((2, 5, 5))
        s = math.sin(x[3] - x[4])
        H[0, 0, 0], H[0, 0, 3], H[0, 3, 0] = 2 * x[3], 2 * x[0], 2 * x[0]
        H[0, 3, 3], H[0, 3, 4], H[0, 4, 3], H[0, 4, 4] = -s, s, s, -s
        H[1, 2, 2] = 12 * x[2] ** 2 * x[3] ** 2
        H[1, 2, 3] = H[1, 3, 2] = 8 * x[2] ** 3 * x[3]
        H[1, 3, 3] = 2 * x[2] ** 4
        return H

    def cjac(x):
        cs = math.cos(x[3] - x[4])
        return np.array([[2 * x[0] * x[3], 0.0, 0.0, x[0] ** 2 + cs, -cs],
                         [0.0, 1.0, 4 * x[2] ** 3 * x[3] ** 2, 2 * x[2] ** 4 * x[3], 0.0]])

    return _from_hessians(
        lambda x: np.array([x[0] ** 2 * x[3] + math.sin(x[3] - x[4]) - rhs1,
                            x[1] + x[2] ** 4 * x[3] ** 2 - rhs2]),
        cjac,
        chess,
    )


_HS46_TERMS = [(1.0, {1: 1, 2: -1}, 0, 2), (1.0, {3: 1}, 1, 2), (1.0, {4: 1}, 1, 4),
               (1.0, {5: 1}, 1, 6)]


def _hs46():
    f = _PowerSum(5, _HS46_TERMS)
    x0 = [_S2 / 2, 1.75, 0.5, 2.0, 2.0]
    return f.fun, f.jac, f.hess, _hs46_like_constraints(1.0, 2.0), x0, 0.0, True


def _hs48():
    f = _PowerSum(5, [(1.0, {1: 1}, 1, 2), (1.0, {2: 1, 3: -1}, 0, 2),
                      (1.0, {4: 1, 5: -1}, 0, 2)])
    cons = _linear_constraints([[1, 1, 1, 1, 1], [0, 0, 1, -2, -2]], [5, -3])
    return f.fun, f.jac, f.hess, cons, [3.0, 5.0, -3.0, 2.0, -2.0], 0.0, False


def _hs49():
    f = _PowerSum(5, _HS46_TERMS)
    cons = _linear_constraints([[1, 1, 1, 4, 0], [0, 0, 1, 0, 5]], [7, 6])
    return f.fun, f.jac, f.hess, cons, [10.0, 7.0, 2.0, -3.0, 0.8], 0.0, False


def _hs50():
    f = _PowerSum(5, [(1.0, {1: 1, 2: -1}, 0, 2), (1.0, {2: 1, 3: -1}, 0, 2),
                      (1.0, {3: 1, 4: -1}, 0, 4), (1.0, {4: 1, 5: -1}, 0, 2)])
    cons = _linear_constraints([[1, 2, 3, 0, 0], [0, 1, 2, 3, 0], [0, 0, 1, 2, 3]], [6, 6, 6])
    return f.fun, f.jac, f.hess, cons, [35.0, -31.0, 11.0, 5.0, -5.0], 0.0, False


def _hs51():
    f = _PowerSum(5, [(1.0, {1: 1, 2: -1}, 0, 2), (1.0, {2: 1, 3: 1}, 2, 2),
                      (1.0, {4: 1}, 1, 2), (1.0, {5: 1}, 1, 2)])
    cons = _linear_constraints([[1, 3, 0, 0, 0], [0, 0, 1, 1, -2], [0, 1, 0, 0, -1]], [4, 0, 0])
    return f.fun, f.jac, f.hess, cons, [2.5, 0.5, 2.0, -1.0, 0.5], 0.0, False


def _hs52():
    f = _PowerSum(5, [(1.0, {1: 4, 2: -1}, 0, 2), (1.0, {2: 1, 3: 1}, 2, 2),
                      (1.0, {4: 1}, 1, 2), (1.0, {5: 1}, 1, 2)])
    cons = _linear_constraints([[1, 3, 0, 0, 0], [0, 0, 1, 1, -2], [0, 1, 0, 0, -1]], [0, 0, 0])
    return f.fun, f.jac, f.hess, cons, [2.0] * 5, 1859 / 349, False


def _hs56():
    def fun(x):
        return float(-x[0] * x[1] * x[2])

    def jac(x):
        g = np.zeros(7)
        g[:3] = -np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])
        return g

    def hess(x):
        H = np.zeros((7, 7))
        H[0, 1] = H[1, 0] = -x[2]
        H[0, 2] = H[2, 0] = -x[1]
        H[1, 2] = H[2, 1] = -x[0]
        return H

    def cfun(x):
        s2 = np.sin(x[3:]) ** 2
        return np.array([x[0] - 4.2 * s2[0], x[1] - 4.2 * s2[1], x[2] - 4.2 * s2[2],
                         x[0] + 2 * x[1] + 2 * x[2] - 7.2 * s2[3]])

    def cjac(x):
        d = np.sin(2 * x[3:])  # d/dt sin²t
        G = np.zeros((4, 7))
        for i in range(3):
            G[i, i] = 1.0
            G[i, 3 + i] = -4.2 * d[i]
        G[3, :3] = [1.0, 2.0, 2.0]
        G[3, 6] = -7.2 * d[3]
        return G

    def chess(x):
        d2 = 2 * np.cos(2 * x[3:])
        H = np.zeros((4, 7, 7))
        for i in range(3):
            H[i, 3 + i, 3 + i] = -4.2 * d2[i]
        H[3, 6, 6] = -7.2 * d2[3]
        return H

    a = math.asin(math.sqrt(1 / 4.2))
    b = math.asin(math.sqrt(5 / 7.2))
    return fun, jac, hess, _from_hessians(cfun, cjac, chess), [1, 1, 1, a, a, a, b], -3.456, True


def _hs61():
    f = _PowerSum(3, [(4.0, {1: 1}, 0, 2), (2.0, {2: 1}, 0, 2), (2.0, {3: 1}, 0, 2)])
    lin = np.array([-33.0, 16.0, -24.0])
    cons = _from_hessians(
        lambda x: np.array([3 * x[0] - 2 * x[1] ** 2 - 7, 4 * x[0] - x[2] ** 2 - 11]),
        lambda x: np.array([[3.0, -4 * x[1], 0.0], [4.0, 0.0, -2 * x[2]]]),
        lambda x: np.array([np.diag([0.0, -4.0, 0.0]), np.diag([0.0, 0.0, -2.0])]),
    )
    return (lambda x: f.fun(x) + float(lin @ x), lambda x: f.jac(x) + lin, f.hess, cons,
            [0.0, 0.0, 0.0], -143.646142, True)


def _hs77():
    f = _PowerSum(5, [(1.0, {1: 1}, 1, 2)] + _HS46_TERMS)
    x0 = [2.0] * 5
    return (f.fun, f.jac, f.hess, _hs46_like_constraints(2 * _S2, 8 + _S2), x0, 0.24150513,
            True)


def _hs78():
    def fun(x):
        return float(np.prod(x))

    def jac(x):
        return np.array([np.prod(np.delete(x, i)) for i in range(5)])

    def hess(x):
        H = np.zeros((5, 5))
        for i in range(5):
            for j in range(5):
                if i != j:
                    H[i, j] = np.prod(np.delete(x, [i, j]))
        return H

    def chess(x):
        H = np.zeros((3, 5, 5))
        H[0] = 2 * np.eye(5)
        H[1, 1, 2] = H[1, 2, 1] = 1.0
        H[1, 3, 4] = H[1, 4, 3] = -5.0
        H[2, 0, 0], H[2, 1, 1] = 6 * x[0], 6 * x[1]
        return H

    cons = _from_hessians(
        lambda x: np.array([x @ x - 10, x[1] * x[2] - 5 * x[3] * x[4],
                            x[0] ** 3 + x[1] ** 3 + 1]),
        lambda x: np.array([2 * x,
                            [0.0, x[2], x[1], -5 * x[4], -5 * x[3]],
                            [3 * x[0] ** 2, 3 * x[1] ** 2, 0.0, 0.0, 0.0]]),
        chess,
    )
    return fun, jac, hess, cons, [-2.0, 1.5, 2.0, -1.0, -1.0], -2.91970041, True


def _hs79():
    f = _PowerSum(5, [(1.0, {1: 1}, 1, 2), (1.0, {1: 1, 2: -1}, 0, 2),
                      (1.0, {2: 1, 3: -1}, 0, 2), (1.0, {3: 1, 4: -1}, 0, 4),
                      (1.0, {4: 1, 5: -1}, 0, 4)])

    def chess(x):
        H = np.zeros((3, 5, 5))
        H[0, 1, 1], H[0, 2, 2] = 2.0, 6 * x[2]
        H[1, 2, 2] = -2.0
        H[2, 0, 4] = H[2, 4, 0] = 1.0
        return H

    cons = _from_hessians(
        lambda x: np.array([x[0] + x[1] ** 2 + x[2] ** 3 - 2 - 3 * _S2,
                            x[1] - x[2] ** 2 + x[3] + 2 - 2 * _S2, x[0] * x[4] - 2]),
        lambda x: np.array([[1.0, 2 * x[1], 3 * x[2] ** 2, 0.0, 0.0],
                            [0.0, 1.0, -2 * x[2], 1.0, 0.0],
                            [x[4], 0.0, 0.0, 0.0, x[0]]]),
        chess,
    )
    return f.fun, f.jac, f.hess, cons, [2.0] * 5, 0.0787768, True


_HS = {
    "HS6": _hs6, "HS7": _hs7, "HS26": _hs26, "HS27": _hs27, "HS39": _hs39, "HS40": _hs40,
    "HS42": _hs42, "HS46": _hs46, "HS48": _hs48, "HS49": _hs49, "HS50": _hs50,
    "HS51": _hs51, "HS52": _hs52, "HS56": _hs56, "HS61": _hs61, "HS77": _hs77,
    "HS78": _hs78, "HS79": _hs79,
}

#: Names of the Hock–Schittkowski equality problems :func:`hock_schittkowski` builds.
HS_PROBLEM_NAMES = tuple(_HS)


def hock_schittkowski(name: str) -> ConstrainedProblem:
    """A Hock–Schittkowski problem with equality constraints only (CUTEst SIF form).

    Parameters
    ----------
    name : str
        One of :data:`HS_PROBLEM_NAMES` (``"HS6"``, ``"HS7"``, ..., ``"HS79"``),
        case-insensitive.

    Returns
    -------
    problem : ConstrainedProblem
        With exact gradients and Hessians, the standard ``x0`` and the known optimal
        value ``f_opt`` (to about 7 digits; for problems with several local minima,
        flagged ``multimodal``, the best known value).

    References
    ----------
    .. [1] W. Hock and K. Schittkowski, "Test Examples for Nonlinear Programming Codes",
       Lecture Notes in Economics and Mathematical Systems 187, Springer, 1981.

    Examples
    --------
    >>> from numlearn.datasets import hock_schittkowski
    >>> p = hock_schittkowski("HS42")
    >>> p.n, p.m, round(p.f_opt, 6)
    (4, 2, 13.857864)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    key = name.upper()
    if key not in _HS:
        raise ValueError(f"name must be one of {HS_PROBLEM_NAMES}, got {name!r}.")
    fun, jac, hess, (cfun, cjac, chess), x0, f_opt, multimodal = _HS[key]()
    return ConstrainedProblem(key, fun, jac, hess, cfun, cjac, chess,
                              np.asarray(x0, dtype=float), f_opt, multimodal)


# --------------------------------------------------------------------------------------
# PDE-constrained control
# --------------------------------------------------------------------------------------
def pde_control_problem(n_grid: int, *, alpha: float = 0.1) -> ConstrainedProblem:
    """Distributed control of the 2-D Poisson equation (linear constraints, sparse).

    State ``w`` and control ``z`` on an ``N × N`` interior grid with zero Dirichlet
    boundary, ``h = 2/(N+1)``::

        minimize ½‖w − w*‖² + (α/2)‖z‖²   subject to   Δ_h w + z = 0,

    with the 5-point Laplacian ``Δ_h`` and target
    ``w*_ij = sin(4 + (0.1/√15)(i − (N+1)/2)) + cos(3 + (0.1/√15)(j − (N+1)/2))``.
    Variables are ``x = (w, z)``: ``n = 2N²``, ``m = N²``; the Jacobian and the Hessian
    are sparse CSR matrices. ``x0 = 0``; ``f_opt`` is computed by a sparse direct
    solve of the KKT system.

    Parameters
    ----------
    n_grid : int
        Grid size ``N >= 1``.
    alpha : float, optional
        Control cost (default 0.1).

    Examples
    --------
    >>> from numlearn.datasets import pde_control_problem
    >>> p = pde_control_problem(8)
    >>> p.n, p.m, p.cons_jac(p.x0).shape
    (128, 64, (64, 128))
    """
    from numlearn.datasets._poisson import poisson_2d

    N = check_scalar(n_grid, "n_grid", kind=int, low=1)
    alpha = check_scalar(alpha, "alpha", low=0.0, include_low=False)
    h = 2.0 / (N + 1)
    lap = (-poisson_2d(N) / h**2).tocsr()  # Δ_h (negative definite)
    nn = N * N
    G = sp.hstack([lap, sp.identity(nn, format="csr")], format="csr")
    idx = np.arange(1, N + 1) - (N + 1) / 2
    s = 0.1 / math.sqrt(15.0)
    target = (np.sin(4 + s * idx)[:, None] + np.cos(3 + s * idx)[None, :]).ravel()
    H = sp.diags(np.r_[np.ones(nn), alpha * np.ones(nn)], format="csr")
    zero_h = sp.csr_matrix((2 * nn, 2 * nn))

    def fun(x):
        w, z = x[:nn], x[nn:]
        return float(0.5 * np.sum((w - target) ** 2) + 0.5 * alpha * (z @ z))

    def jac(x):
        return np.r_[x[:nn] - target, alpha * x[nn:]]

    # optimum by a direct KKT solve (the problem is a convex QP)
    from scipy.sparse.linalg import spsolve

    K = sp.bmat([[H, G.T], [G, None]], format="csc")
    sol = spsolve(K, np.r_[target, np.zeros(nn), np.zeros(nn)])
    return ConstrainedProblem(
        "pde_control", fun, jac, lambda x: H, lambda x: G @ x, lambda x: G,
        lambda x, v: zero_h, np.zeros(2 * nn), fun(sol[: 2 * nn]), False,
        info={"n_grid": N, "x_opt": sol[: 2 * nn], "v_opt": sol[2 * nn:]},
    )


# --------------------------------------------------------------------------------------
# equality-constrained logistic regression
# --------------------------------------------------------------------------------------
def constrained_logistic_problem(
    X: Any, y: Any, *, n_linear: int = 10, random_state: Any = None
) -> ConstrainedProblem:
    """Logistic regression with linear equality constraints and a unit-norm constraint.

    ``minimize (1/N) Σᵢ log(1 + exp(−yᵢ xᵢᵀw))`` subject to ``A w = b`` and ``‖w‖² = 1``,
    where ``A`` (``n_linear × d``) and ``b`` have i.i.d. standard normal entries, so
    ``m = n_linear + 1``. Start ``w0 = 1/√d · 1``. Labels in ``{0, 1}`` are mapped to
    ``{−1, +1}``.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Features (dense).
    y : array_like, shape (N,)
        Labels, ``±1`` or ``{0, 1}``.
    n_linear : int, optional
        Number of linear constraints (default 10, ``< d``).
    random_state : None, int or numpy.random.Generator, optional
        Seed of ``A`` and ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import constrained_logistic_problem
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((50, 20)), rng.integers(0, 2, 50)
    >>> p = constrained_logistic_problem(X, y, random_state=0)
    >>> p.n, p.m
    (20, 11)
    """
    X = np.asarray(check_array(X, "X", ndim=2), dtype=float)  # real, finite (one rule)
    N, d = X.shape
    y = np.asarray(check_array(y, "y", finite=False), dtype=float).ravel()
    if y.shape != (N,):
        raise ValueError(f"y must have shape ({N},), got {y.shape}.")
    labels = set(np.unique(y).tolist())
    if labels <= {0.0, 1.0}:
        y = 2 * y - 1
    elif not labels <= {-1.0, 1.0}:
        raise ValueError("y must hold labels in {-1, 1} or {0, 1}.")
    n_linear = check_scalar(n_linear, "n_linear", kind=int, low=0, high=d - 1)
    rng = check_random_state(random_state)
    A = rng.standard_normal((n_linear, d))
    b = rng.standard_normal(n_linear)
    Z = y[:, None] * X  # margins are Z @ w

    def fun(w):
        return float(np.mean(np.logaddexp(0.0, -(Z @ w))))

    def jac(w):
        s = -0.5 * (1 - np.tanh(0.5 * (Z @ w)))  # −σ(−t), overflow-free
        return Z.T @ s / N

    def hess(w):
        t = Z @ w
        q = 0.25 / np.cosh(0.5 * t) ** 2  # σ(t)σ(−t)
        return (Z.T * (q / N)) @ Z

    def cfun(w):
        return np.r_[A @ w - b, w @ w - 1.0]

    def cjac(w):
        return np.vstack([A, 2 * w])

    def chess(w, v):
        return 2.0 * float(v[-1]) * np.eye(d)

    return ConstrainedProblem("constrained_logistic", fun, jac, hess, cfun, cjac, chess,
                              np.full(d, 1.0 / math.sqrt(d)), None, False,
                              info={"A": A, "b": b})


# --------------------------------------------------------------------------------------
# problems with inequality constraints and bounds
# --------------------------------------------------------------------------------------
@dataclass
class InequalityProblem:
    """``min f(x)`` s.t. ``lb ≤ c(x) ≤ ub`` and bounds, exact derivatives, SciPy objects.

    Attributes
    ----------
    name : str
        Short name (``"HS71"``, ``"nnls"``, ...).
    fun, jac, hess : callable
        ``f(x)``, ``∇f(x)`` and ``∇²f(x)``.
    constraints : list
        :class:`~scipy.optimize.NonlinearConstraint` (with callable ``jac`` and ``hess``)
        and :class:`~scipy.optimize.LinearConstraint` objects (possibly empty).
    bounds : scipy.optimize.Bounds or None
        Bounds on the variables.
    x0 : ndarray
        The standard starting point (not always feasible).
    f_opt : float or None
        The optimal (best known) objective value.
    """

    name: str
    fun: Callable[[np.ndarray], float]
    jac: Callable[[np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray], Any]
    constraints: list
    bounds: Any
    x0: np.ndarray
    f_opt: float | None = None
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of variables."""
        return int(self.x0.shape[0])

    def slsqp_constraints(self) -> list:
        """The constraints as SLSQP dicts (``"eq"``/``"ineq"`` with exact Jacobians)."""
        from scipy.optimize import LinearConstraint

        out = []
        for con in self.constraints:
            if isinstance(con, LinearConstraint):
                A = np.atleast_2d(np.asarray(con.A, dtype=float))
                fun, jac = (lambda x, A=A: A @ x), (lambda x, A=A: A)
            else:
                fun, jac = con.fun, con.jac
            k = np.atleast_1d(fun(self.x0)).shape[0]
            lb = np.broadcast_to(np.asarray(con.lb, dtype=float), (k,))
            ub = np.broadcast_to(np.asarray(con.ub, dtype=float), (k,))
            eq = lb == ub
            for rows, sign, side, kind in ((eq, 1.0, lb, "eq"),
                                           (~eq & np.isfinite(lb), 1.0, lb, "ineq"),
                                           (~eq & np.isfinite(ub), -1.0, ub, "ineq")):
                idx = np.flatnonzero(rows)
                if idx.size:
                    out.append({"type": kind,
                                "fun": lambda x, f=fun, i=idx, s=sign, b=side:
                                    s * (np.atleast_1d(f(x))[i] - b[i]),
                                "jac": lambda x, j=jac, i=idx, s=sign:
                                    s * np.atleast_2d(j(x))[i]})
        return out

    def kkt_norm(self, x, v) -> float:
        """KKT residual with complementarity at ``x`` for multipliers ``v`` in the layout
        of :func:`numlearn.optimize.minimize_constrained` (and SciPy's ``trust-constr``):
        one array per constraint, the bounds' ``(n,)`` array last, ``∇f + Σ Jᵀv = 0``,
        ``v ≤ 0`` at an active lower side and ``≥ 0`` at an active upper side."""
        from scipy.optimize import LinearConstraint

        x = np.asarray(x, dtype=float)
        grad = np.array(self.jac(x), dtype=float)
        parts = []
        items = [(con, vi) for con, vi in zip(self.constraints, v)]
        for con, vi in items:
            if isinstance(con, LinearConstraint):
                A = np.atleast_2d(np.asarray(con.A, dtype=float))
                c, J = A @ x, A
            else:
                c, J = np.atleast_1d(con.fun(x)), np.atleast_2d(con.jac(x))
            grad += J.T @ vi
            parts.append((c, con.lb, con.ub, vi))
        if self.bounds is not None:
            vb = v[len(self.constraints)]
            grad += vb
            parts.append((x, self.bounds.lb, self.bounds.ub, vb))
        res = [grad]
        for c, lb, ub, vi in parts:
            lb = np.broadcast_to(np.asarray(lb, dtype=float), c.shape)
            ub = np.broadcast_to(np.asarray(ub, dtype=float), c.shape)
            res.append(np.maximum(np.maximum(lb - c, c - ub), 0.0))
            eq = lb == ub
            lo_gap = np.where(np.isfinite(lb), c - lb, np.inf)
            up_gap = np.where(np.isfinite(ub), ub - c, np.inf)
            lower = ~eq & (vi < 0)  # the multiplier acts on the lower side
            res.append(np.where(lower, np.abs(vi) * np.where(np.isfinite(lo_gap),
                                                             lo_gap, 1.0), 0.0))
            upper = ~eq & (vi > 0)
            res.append(np.where(upper, vi * np.where(np.isfinite(up_gap), up_gap, 1.0), 0.0))
        return float(np.linalg.norm(np.concatenate(res)))


def _nlc(parts, lb, ub):
    """One NonlinearConstraint from scalar pieces ``(c_i, ∇c_i, ∇²c_i)``."""
    from scipy.optimize import NonlinearConstraint

    def fun(x):
        return np.array([p[0](x) for p in parts], dtype=float)

    def jac(x):
        return np.array([p[1](x) for p in parts], dtype=float)

    def hess(x, v):
        return sum(float(vi) * np.asarray(p[2](x), dtype=float) for vi, p in zip(v, parts))

    return NonlinearConstraint(fun, lb, ub, jac=jac, hess=hess)


def _lin(A, lb, ub):
    from scipy.optimize import LinearConstraint

    return LinearConstraint(np.atleast_2d(np.asarray(A, dtype=float)), lb, ub)


def _bounds(lb, ub):
    from scipy.optimize import Bounds

    return Bounds(np.asarray(lb, dtype=float), np.asarray(ub, dtype=float))


_INF = math.inf
_Z2, _Z3 = np.zeros((2, 2)), np.zeros((3, 3))


def _hs4():
    return (lambda x: (x[0] + 1) ** 3 / 3 + x[1],
            lambda x: np.array([(x[0] + 1) ** 2, 1.0]),
            lambda x: np.array([[2 * (x[0] + 1), 0.0], [0.0, 0.0]]),
            [], _bounds([1, 0], [_INF, _INF]), [1.125, 0.125], 8 / 3)


def _hs5():
    def hess(x):
        s = math.sin(x[0] + x[1])
        return np.array([[2 - s, -2 - s], [-2 - s, 2 - s]])

    return (lambda x: math.sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1]
            + 1,
            lambda x: np.array([math.cos(x[0] + x[1]) + 2 * (x[0] - x[1]) - 1.5,
                                math.cos(x[0] + x[1]) - 2 * (x[0] - x[1]) + 2.5]),
            hess, [], _bounds([-1.5, -3], [4, 3]), [0.0, 0.0],
            -math.sqrt(3) / 2 - math.pi / 3)


def _hs10():
    c = _nlc([(lambda x: -3 * x[0] ** 2 + 2 * x[0] * x[1] - x[1] ** 2 + 1,
               lambda x: [-6 * x[0] + 2 * x[1], 2 * x[0] - 2 * x[1]],
               lambda x: [[-6, 2], [2, -2]])], 0, _INF)
    return (lambda x: x[0] - x[1], lambda x: np.array([1.0, -1.0]), lambda x: _Z2,
            [c], None, [-10.0, 10.0], -1.0)


def _hs11():
    c = _nlc([(lambda x: -x[0] ** 2 + x[1], lambda x: [-2 * x[0], 1.0],
               lambda x: [[-2, 0], [0, 0]])], 0, _INF)
    return (lambda x: (x[0] - 5) ** 2 + x[1] ** 2 - 25,
            lambda x: np.array([2 * (x[0] - 5), 2 * x[1]]), lambda x: 2 * np.eye(2),
            [c], None, [4.9, 0.1], -8.498464223)


def _hs12():
    c = _nlc([(lambda x: 25 - 4 * x[0] ** 2 - x[1] ** 2, lambda x: [-8 * x[0], -2 * x[1]],
               lambda x: [[-8, 0], [0, -2]])], 0, _INF)
    return (lambda x: 0.5 * x[0] ** 2 + x[1] ** 2 - x[0] * x[1] - 7 * x[0] - 7 * x[1],
            lambda x: np.array([x[0] - x[1] - 7, 2 * x[1] - x[0] - 7]),
            lambda x: np.array([[1.0, -1.0], [-1.0, 2.0]]), [c], None, [0.0, 0.0], -30.0)


def _hs14():
    c = _nlc([(lambda x: -x[0] ** 2 / 4 - x[1] ** 2 + 1, lambda x: [-x[0] / 2, -2 * x[1]],
               lambda x: [[-0.5, 0], [0, -2]])], 0, _INF)
    return (lambda x: (x[0] - 2) ** 2 + (x[1] - 1) ** 2,
            lambda x: np.array([2 * (x[0] - 2), 2 * (x[1] - 1)]), lambda x: 2 * np.eye(2),
            [_lin([[1, -2]], -1, -1), c], None, [2.0, 2.0], 9 - 2.875 * math.sqrt(7))


def _hs21():
    return (lambda x: 0.01 * x[0] ** 2 + x[1] ** 2 - 100,
            lambda x: np.array([0.02 * x[0], 2 * x[1]]),
            lambda x: np.diag([0.02, 2.0]), [_lin([[10, -1]], 10, _INF)],
            _bounds([2, -50], [50, 50]), [-1.0, -1.0], -99.96)


def _hs22():
    c = _nlc([(lambda x: -x[0] ** 2 + x[1], lambda x: [-2 * x[0], 1.0],
               lambda x: [[-2, 0], [0, 0]])], 0, _INF)
    return (lambda x: (x[0] - 2) ** 2 + (x[1] - 1) ** 2,
            lambda x: np.array([2 * (x[0] - 2), 2 * (x[1] - 1)]), lambda x: 2 * np.eye(2),
            [_lin([[-1, -1]], -2, _INF), c], None, [2.0, 2.0], 1.0)


def _hs23():
    c = _nlc([(lambda x: x[0] ** 2 + x[1] ** 2 - 1, lambda x: [2 * x[0], 2 * x[1]],
               lambda x: [[2, 0], [0, 2]]),
              (lambda x: 9 * x[0] ** 2 + x[1] ** 2 - 9, lambda x: [18 * x[0], 2 * x[1]],
               lambda x: [[18, 0], [0, 2]]),
              (lambda x: x[0] ** 2 - x[1], lambda x: [2 * x[0], -1.0],
               lambda x: [[2, 0], [0, 0]]),
              (lambda x: x[1] ** 2 - x[0], lambda x: [-1.0, 2 * x[1]],
               lambda x: [[0, 0], [0, 2]])], 0, _INF)
    return (lambda x: x[0] ** 2 + x[1] ** 2, lambda x: 2 * np.asarray(x, dtype=float),
            lambda x: 2 * np.eye(2), [_lin([[1, 1]], 1, _INF), c],
            _bounds([-50, -50], [50, 50]), [3.0, 1.0], 2.0)


def _hs24():
    k = 1 / (27 * math.sqrt(3))
    r3 = math.sqrt(3)
    return (lambda x: k * ((x[0] - 3) ** 2 - 9) * x[1] ** 3,
            lambda x: k * np.array([2 * (x[0] - 3) * x[1] ** 3,
                                    3 * ((x[0] - 3) ** 2 - 9) * x[1] ** 2]),
            lambda x: k * np.array([[2 * x[1] ** 3, 6 * (x[0] - 3) * x[1] ** 2],
                                    [6 * (x[0] - 3) * x[1] ** 2,
                                     6 * ((x[0] - 3) ** 2 - 9) * x[1]]]),
            [_lin([[1 / r3, -1], [1, r3], [-1, -r3]], [0, 0, -6], _INF)],
            _bounds([0, 0], [_INF, _INF]), [1.0, 0.5], -1.0)


def _hs29():
    c = _nlc([(lambda x: 48 - x[0] ** 2 - 2 * x[1] ** 2 - 4 * x[2] ** 2,
               lambda x: [-2 * x[0], -4 * x[1], -8 * x[2]],
               lambda x: np.diag([-2.0, -4.0, -8.0]))], 0, _INF)
    return (lambda x: -x[0] * x[1] * x[2],
            lambda x: -np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]]),
            lambda x: -np.array([[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]]),
            [c], None, [1.0, 1.0, 1.0], -16 * math.sqrt(2))


def _hs31():
    c = _nlc([(lambda x: x[0] * x[1] - 1, lambda x: [x[1], x[0], 0.0],
               lambda x: [[0, 1, 0], [1, 0, 0], [0, 0, 0]])], 0, _INF)
    return (lambda x: 9 * x[0] ** 2 + x[1] ** 2 + 9 * x[2] ** 2,
            lambda x: np.array([18 * x[0], 2 * x[1], 18 * x[2]]),
            lambda x: np.diag([18.0, 2.0, 18.0]), [c],
            _bounds([-10, 1, -10], [10, 10, 1]), [1.0, 1.0, 1.0], 6.0)


def _hs34():
    c = _nlc([(lambda x: x[1] - math.exp(x[0]), lambda x: [-math.exp(x[0]), 1.0, 0.0],
               lambda x: np.diag([-math.exp(x[0]), 0.0, 0.0])),
              (lambda x: x[2] - math.exp(x[1]), lambda x: [0.0, -math.exp(x[1]), 1.0],
               lambda x: np.diag([0.0, -math.exp(x[1]), 0.0]))], 0, _INF)
    return (lambda x: -x[0], lambda x: np.array([-1.0, 0.0, 0.0]), lambda x: _Z3, [c],
            _bounds([0, 0, 0], [100, 100, 10]), [0.0, 1.05, 2.9],
            -math.log(math.log(10.0)))


def _hs35():
    H = np.array([[4.0, 2, 2], [2, 4, 0], [2, 0, 2]])
    g0 = np.array([-8.0, -6, -4])
    return (lambda x: 9 + g0 @ x + 0.5 * x @ H @ x, lambda x: g0 + H @ x, lambda x: H,
            [_lin([[-1, -1, -2]], -3, _INF)], _bounds([0, 0, 0], [_INF] * 3),
            [0.5, 0.5, 0.5], 1 / 9)


def _hs43():
    def piece(q, l0, c0):
        q, l0 = np.asarray(q, dtype=float), np.asarray(l0, dtype=float)
        return (lambda x: c0 - q @ x ** 2 + l0 @ x, lambda x: -2 * q * x + l0,
                lambda x: np.diag(-2 * q))

    c = _nlc([piece([1, 1, 1, 1], [-1, 1, -1, 1], 8), piece([1, 2, 1, 2], [1, 0, 0, 1], 10),
              piece([2, 1, 1, 0], [-2, 1, 0, 1], 5)], 0, _INF)
    q = np.array([1.0, 1, 2, 1])
    l0 = np.array([-5.0, -5, -21, 7])
    return (lambda x: q @ x ** 2 + l0 @ x, lambda x: 2 * q * x + l0,
            lambda x: np.diag(2 * q), [c], None, [0.0] * 4, -44.0)


def _hs65():
    H = np.array([[2 + 2 / 9, -2 + 2 / 9, 0], [-2 + 2 / 9, 2 + 2 / 9, 0], [0, 0, 2]])
    c = _nlc([(lambda x: 48 - x @ x, lambda x: -2 * np.asarray(x, dtype=float),
               lambda x: -2 * np.eye(3))], 0, _INF)
    return (lambda x: (x[0] - x[1]) ** 2 + (x[0] + x[1] - 10) ** 2 / 9 + (x[2] - 5) ** 2,
            lambda x: np.array([2 * (x[0] - x[1]) + 2 * (x[0] + x[1] - 10) / 9,
                                -2 * (x[0] - x[1]) + 2 * (x[0] + x[1] - 10) / 9,
                                2 * (x[2] - 5)]),
            lambda x: H, [c], _bounds([-4.5, -4.5, -5], [4.5, 4.5, 5]), [-5.0, 5.0, 0.0],
            0.9535288567)


def _hs71():
    def h1(x):
        a, b, c, d = x
        return np.array([[0, c * d, b * d, b * c], [c * d, 0, a * d, a * c],
                         [b * d, a * d, 0, a * b], [b * c, a * c, a * b, 0]])

    prod = _nlc([(lambda x: x[0] * x[1] * x[2] * x[3] - 25,
                  lambda x: [x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3],
                             x[0] * x[1] * x[2]], h1)], 0, _INF)
    sphere = _nlc([(lambda x: x @ x - 40, lambda x: 2 * np.asarray(x, dtype=float),
                    lambda x: 2 * np.eye(4))], 0, 0)

    def hess(x):
        a, b, c, d = x
        return np.array([[2 * d, d, d, 2 * a + b + c], [d, 0, 0, a], [d, 0, 0, a],
                         [2 * a + b + c, a, a, 0]])

    return (lambda x: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2],
            lambda x: np.array([x[3] * (2 * x[0] + x[1] + x[2]), x[0] * x[3],
                                x[0] * x[3] + 1, x[0] * (x[0] + x[1] + x[2])]),
            hess, [prod, sphere], _bounds([1] * 4, [5] * 4), [1.0, 5.0, 5.0, 1.0],
            17.0140173)


def _hs76():
    H = np.array([[2.0, 0, -1, 0], [0, 1, 0, 0], [-1, 0, 2, 1], [0, 0, 1, 1]])
    g0 = np.array([-1.0, -3, 1, -1])
    A = [[-1, -2, -1, -1], [-3, -1, -2, 1], [0, 1, 4, 0]]
    return (lambda x: g0 @ x + 0.5 * x @ H @ x, lambda x: g0 + H @ x, lambda x: H,
            [_lin(A, [-5, -4, 1.5], _INF)], _bounds([0] * 4, [_INF] * 4), [0.5] * 4,
            -4.681818181)


def _hs118():
    lin = np.tile([2.3, 1.7, 2.2], 5)
    quad = np.tile([1e-4, 1e-4, 1.5e-4], 5)
    rows, lo, hi = [], [], []
    for j in range(1, 5):
        for i, up in enumerate((6.0, 7.0, 6.0)):
            r = np.zeros(15)
            r[3 * j + i], r[3 * j + i - 3] = 1.0, -1.0
            rows.append(r)
            lo.append(-7.0)
            hi.append(up)
    for k, rhs in enumerate((60.0, 50.0, 70.0, 85.0, 100.0)):
        r = np.zeros(15)
        r[3 * k:3 * k + 3] = 1.0
        rows.append(r)
        lo.append(rhs)
        hi.append(_INF)
    lb = [8, 43, 3] + [0, 0, 0] * 4
    ub = [21, 57, 16] + [90, 120, 60] * 4
    x0 = [20.0, 55, 15] + [20, 60, 20] * 4
    return (lambda x: lin @ x + quad @ x ** 2, lambda x: lin + 2 * quad * x,
            lambda x: np.diag(2 * quad), [_lin(rows, lo, hi)], _bounds(lb, ub), x0,
            664.8204500)


_HS_INEQ = {
    "HS4": _hs4, "HS5": _hs5, "HS10": _hs10, "HS11": _hs11, "HS12": _hs12, "HS14": _hs14,
    "HS21": _hs21, "HS22": _hs22, "HS23": _hs23, "HS24": _hs24, "HS29": _hs29,
    "HS31": _hs31, "HS34": _hs34, "HS35": _hs35, "HS43": _hs43, "HS65": _hs65,
    "HS71": _hs71, "HS76": _hs76, "HS118": _hs118,
}

#: Names of the Hock–Schittkowski problems with inequalities or bounds that
#: :func:`hock_schittkowski_ineq` builds.
HS_INEQ_PROBLEM_NAMES = tuple(_HS_INEQ)


def hock_schittkowski_ineq(name: str) -> InequalityProblem:
    """A Hock–Schittkowski problem with inequality constraints and/or bounds.

    Parameters
    ----------
    name : str
        One of :data:`HS_INEQ_PROBLEM_NAMES`, case-insensitive.

    Returns
    -------
    problem : InequalityProblem
        Exact derivatives, the constraints as SciPy objects, the standard ``x0`` and
        the published optimal value ``f_opt`` (Hock and Schittkowski 1981; each checked
        against SciPy's SLSQP and trust-constr in the tests).

    References
    ----------
    .. [1] W. Hock and K. Schittkowski, "Test Examples for Nonlinear Programming Codes",
       Lecture Notes in Economics and Mathematical Systems 187, Springer, 1981.

    Examples
    --------
    >>> from numlearn.datasets import hock_schittkowski_ineq
    >>> p = hock_schittkowski_ineq("HS71")
    >>> p.n, round(p.f_opt, 6)
    (4, 17.014017)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    key = name.upper()
    if key not in _HS_INEQ:
        raise ValueError(f"name must be one of {HS_INEQ_PROBLEM_NAMES}, got {name!r}.")
    fun, jac, hess, cons, bounds, x0, f_opt = _HS_INEQ[key]()
    return InequalityProblem(key, fun, jac, hess, cons, bounds,
                             np.asarray(x0, dtype=float), float(f_opt))


def nnls_problem(n_samples: int = 30, n_features: int = 10, *,
                 random_state: Any = None) -> InequalityProblem:
    """Nonnegative least squares ``min ½‖Ax − b‖²`` s.t. ``x ≥ 0`` (Gaussian ``A``, ``b``).

    ``f_opt`` is computed with :func:`scipy.optimize.nnls`; start ``x0 = 1``.

    Examples
    --------
    >>> from numlearn.datasets import nnls_problem
    >>> p = nnls_problem(random_state=0)
    >>> p.n, p.f_opt > 0
    (10, True)
    """
    from scipy.optimize import nnls

    n_samples = check_scalar(n_samples, "n_samples", kind=int, low=1)
    n_features = check_scalar(n_features, "n_features", kind=int, low=1)
    rng = check_random_state(random_state)
    A = rng.standard_normal((n_samples, n_features))
    b = rng.standard_normal(n_samples)
    AtA, Atb = A.T @ A, A.T @ b
    x_opt, rnorm = nnls(A, b)
    return InequalityProblem(
        "nnls", lambda x: 0.5 * float(np.sum((A @ x - b) ** 2)), lambda x: AtA @ x - Atb,
        lambda x: AtA, [], _bounds(np.zeros(n_features), np.full(n_features, _INF)),
        np.ones(n_features), 0.5 * rnorm**2, info={"A": A, "b": b, "x_opt": x_opt})


def nonnegative_logistic_problem(n_samples: int = 100, n_features: int = 10, *,
                                 alpha: float = 0.01,
                                 random_state: Any = None) -> InequalityProblem:
    """Logistic regression with nonnegative weights: ``min (1/N) Σ log(1 + exp(−yᵢxᵢᵀw))
    + (α/2)‖w‖²`` s.t. ``w ≥ 0``, Gaussian features, labels from a planted ``w`` with
    mixed signs (so some bounds are active). Start ``w0 = 1``; ``f_opt`` from
    L-BFGS-B run to a projected gradient of 1e-12.

    Examples
    --------
    >>> from numlearn.datasets import nonnegative_logistic_problem
    >>> p = nonnegative_logistic_problem(random_state=0)
    >>> p.n
    10
    """
    from scipy.optimize import minimize

    n_samples = check_scalar(n_samples, "n_samples", kind=int, low=1)
    n_features = check_scalar(n_features, "n_features", kind=int, low=1)
    alpha = check_scalar(alpha, "alpha", low=0.0)
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w_true = rng.standard_normal(n_features)
    y = np.where(X @ w_true + 0.5 * rng.standard_normal(n_samples) > 0, 1.0, -1.0)
    Z = y[:, None] * X
    N = n_samples

    def fun(w):
        return float(np.mean(np.logaddexp(0.0, -(Z @ w)))) + 0.5 * alpha * float(w @ w)

    def jac(w):
        s = -0.5 * (1 - np.tanh(0.5 * (Z @ w)))
        return Z.T @ s / N + alpha * w

    def hess(w):
        q = 0.25 / np.cosh(0.5 * (Z @ w)) ** 2
        return (Z.T * (q / N)) @ Z + alpha * np.eye(n_features)

    bounds = _bounds(np.zeros(n_features), np.full(n_features, _INF))
    ref = minimize(fun, np.ones(n_features), jac=jac, method="L-BFGS-B", bounds=bounds,
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
    return InequalityProblem("nonnegative_logistic", fun, jac, hess, [], bounds,
                             np.ones(n_features), float(ref.fun),
                             info={"X": X, "y": y, "x_opt": ref.x})
