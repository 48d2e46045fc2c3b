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

from numlearn._validation import check_random_state, check_scalar

__all__ = [
    "ConstrainedProblem",
    "HS_PROBLEM_NAMES",
    "hock_schittkowski",
    "pde_control_problem",
    "constrained_logistic_problem",
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
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise ValueError("X must be a finite 2-D array.")
    N, d = X.shape
    y = np.asarray(y, dtype=float).ravel()
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
