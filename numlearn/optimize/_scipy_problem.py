"""SciPy-style problem descriptions, normalized once for :func:`minimize_constrained`.

The objective (``fun``, ``args``, ``jac`` as a callable, ``True`` or a finite-difference
string, ``hess`` as a callable, a finite-difference string or a
:class:`~scipy.optimize.HessianUpdateStrategy`, ``hessp``), the constraints (dicts,
:class:`~scipy.optimize.NonlinearConstraint`, :class:`~scipy.optimize.LinearConstraint`
or a list of them) and the bounds (:class:`~scipy.optimize.Bounds` or ``(min, max)``
pairs) become one :class:`Objective` and one :class:`StackedConstraints`
``lb ≤ C(x) ≤ ub`` whose last rows are the bounded variables.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import scipy.sparse as sp
from scipy.optimize import (
    Bounds,
    HessianUpdateStrategy,
    LinearConstraint,
    NonlinearConstraint,
)
from scipy.optimize._numdiff import approx_derivative

from numlearn._validation import check_callable, check_option

__all__ = ["Objective", "StackedConstraints", "parse_bounds", "FD_METHODS",
           "FD_RELATIVE_ERROR"]

#: finite-difference schemes accepted for ``jac`` and ``hess`` (SciPy's names)
FD_METHODS = ("2-point", "3-point", "cs")


def _as_tuple(args) -> tuple:
    return args if isinstance(args, tuple) else (args,)


class Objective:
    """``f``, ``∇f`` and (exact, finite-difference or none) ``∇²f`` with ``args`` bound.

    ``hess_kind`` is ``"exact"`` (a callable ``hess``, or ``hessp`` assembled column by
    column), ``"fd"`` (finite differences of ``∇f``) or ``"qn"`` (a quasi-Newton
    strategy; :attr:`strategy` is a private copy of it).
    """

    def __init__(self, fun, x0: np.ndarray, args, jac, hess, hessp):
        self.fun_raw = check_callable(fun, "fun")
        self.args = _as_tuple(args)
        self.n = x0.shape[0]
        self._memo_x = None
        self._memo_fg = None
        self.nfev = self.njev = self.nhev = 0
        if jac is True:
            self.jac_kind = "memo"
        elif jac is None or (isinstance(jac, str) and jac in FD_METHODS):
            self.jac_kind = jac or "2-point"
        elif callable(jac):
            self.jac_kind = "callable"
            self.jac_raw = jac
        else:
            raise TypeError("jac must be a callable, True, None or one of "
                            f"{FD_METHODS}, got {jac!r}.")
        self.strategy = None
        self.hessp_raw = check_callable(hessp, "hessp", allow_none=True)
        if callable(hess):
            self.hess_kind, self.hess_raw = "exact", hess
        elif isinstance(hess, str):
            self.hess_fd = check_option(hess, "hess", FD_METHODS)
            self.hess_kind = "fd"
        elif isinstance(hess, HessianUpdateStrategy):
            self.hess_kind, self.strategy = "qn", copy.deepcopy(hess)
        elif hess is None and self.hessp_raw is not None:
            self.hess_kind = "hessp"
        elif hess is None:
            from scipy.optimize import BFGS

            # BFGS with Powell's damping: the Lagrangian Hessian is often indefinite
            self.hess_kind, self.strategy = "qn", BFGS(exception_strategy="damp_update")
        else:
            raise TypeError("hess must be a callable, one of "
                            f"{FD_METHODS}, a HessianUpdateStrategy (BFGS(), SR1()) or "
                            f"None, got {hess!r}.")

    def _call(self, x):
        try:
            return self.fun_raw(x, *self.args)
        except TypeError as exc:
            if self.nfev <= 1 and self.njev <= 1:
                raise TypeError(f"fun(x0, *args) failed with args={self.args!r} "
                                f"(do args fit fun?): {exc}") from exc
            raise

    def _fg(self, x):
        if self._memo_x is None or not np.array_equal(x, self._memo_x):
            out = self._call(x)
            self.nfev += 1
            self.njev += 1
            try:
                f, g = out
            except (TypeError, ValueError):
                raise ValueError("with jac=True, fun must return (f, grad).") from None
            self._memo_x = np.array(x)
            self._memo_fg = (f, np.asarray(g, dtype=np.float64).ravel())
        return self._memo_fg

    def fun(self, x):
        if self.jac_kind == "memo":
            return self._fg(x)[0]
        self.nfev += 1
        return self._call(x)

    def jac(self, x):
        kind = self.jac_kind
        if kind == "memo":
            return self._fg(x)[1]
        self.njev += 1
        if kind == "callable":
            return np.asarray(self.jac_raw(x, *self.args), dtype=np.float64).ravel()
        return approx_derivative(lambda y: float(self._call(y)), x, method=kind)

    def hess(self, x):
        """The exact or finite-difference ``∇²f(x)`` (``hess_kind`` ``"exact"``, ``"fd"``,
        ``"hessp"``)."""
        self.nhev += 1
        if self.hess_kind == "exact":
            return self.hess_raw(x, *self.args)
        if self.hess_kind == "hessp":
            eye = np.eye(self.n)
            H = np.stack([np.asarray(self.hessp_raw(x, eye[i], *self.args),
                                     dtype=np.float64).ravel() for i in range(self.n)],
                         axis=1)
            return 0.5 * (H + H.T)
        H = approx_derivative(self.jac, x, method=self.hess_fd)
        return 0.5 * (H + H.T)


class _Block:
    """One constraint object: ``lb ≤ c(x) ≤ ub`` with its derivatives."""

    def __init__(self, fun, jac, hess, lb, ub, name, linear_matrix=None):
        self.fun, self.jac, self.hess = fun, jac, hess
        self.lb, self.ub, self.name = lb, ub, name
        self.A = linear_matrix  # constant Jacobian of a linear constraint

    @property
    def exact_hess(self) -> bool:
        return self.A is not None or callable(self.hess)


def _fd_jac(fun, method):
    def jac(x):
        return approx_derivative(lambda y: np.atleast_1d(np.asarray(fun(y), dtype=float)),
                                 x, method=method)
    jac.fd_method = method  # read by StackedConstraints.fd_methods
    return jac


#: relative error of SciPy's finite differences with their default steps: forward
#: differences √ε (step √ε·max(1, |x|)), central ε^(2/3) (step ε^(1/3)·max(1, |x|)),
#: complex step ~ε
FD_RELATIVE_ERROR = {
    "2-point": float(np.finfo(np.float64).eps) ** 0.5,
    "3-point": float(np.finfo(np.float64).eps) ** (2.0 / 3.0),
    "cs": float(np.finfo(np.float64).eps),
}


def _bind(f, args):
    if f is None or not args:
        return f
    return lambda *a: f(*a, *args)


def _parse_one(con, i: int, n: int) -> _Block:
    name = f"constraints[{i}]"
    if isinstance(con, LinearConstraint):
        A = con.A
        A = sp.csr_matrix(A, dtype=np.float64) if sp.issparse(A) else \
            np.atleast_2d(np.asarray(A, dtype=np.float64))
        if A.shape[1] != n:
            raise ValueError(f"{name}.A must have {n} columns (the size of x0), got "
                             f"shape {A.shape}.")
        return _Block(lambda x, A=A: A @ x, lambda x, A=A: A, None, con.lb, con.ub, name,
                      linear_matrix=A)
    if isinstance(con, NonlinearConstraint):
        fun = check_callable(con.fun, f"{name}.fun")
        jac = con.jac
        if isinstance(jac, str):
            jac = _fd_jac(fun, check_option(jac, f"{name}.jac", FD_METHODS))
        elif not callable(jac):
            raise TypeError(f"{name}.jac must be a callable or one of {FD_METHODS}, "
                            f"got {jac!r}.")
        hess = con.hess if callable(con.hess) else None
        return _Block(fun, jac, hess, con.lb, con.ub, name)
    if isinstance(con, dict):
        unknown = set(con) - {"type", "fun", "jac", "hess", "args"}
        if unknown:
            raise ValueError(f"{name} has unknown keys {sorted(unknown)} (expected "
                             "'type', 'fun', 'jac', 'args', 'hess').")
        kind = check_option(con.get("type"), f"{name}['type']", ("eq", "ineq"))
        args = _as_tuple(con.get("args", ()))
        fun = _bind(check_callable(con.get("fun"), f"{name}['fun']"), args)
        jac = con.get("jac")
        if jac is None or isinstance(jac, str):
            jac = _fd_jac(fun, check_option(jac or "2-point", f"{name}['jac']",
                                            FD_METHODS))
        else:
            jac = _bind(check_callable(jac, f"{name}['jac']"), args)
        hess = _bind(check_callable(con.get("hess"), f"{name}['hess']", allow_none=True),
                     args)
        ub = 0.0 if kind == "eq" else math.inf
        return _Block(fun, jac, hess, 0.0, ub, name)
    raise TypeError(f"{name} must be a dict, NonlinearConstraint or LinearConstraint, "
                    f"got {type(con).__name__}.")


def parse_bounds(bounds, n: int):
    """``(lb, ub)`` arrays of shape ``(n,)`` (``±inf`` where unbounded), or None."""
    if bounds is None:
        return None
    if isinstance(bounds, Bounds):
        lb, ub = bounds.lb, bounds.ub
    else:
        try:
            pairs = [(-math.inf if lo is None else lo, math.inf if hi is None else hi)
                     for lo, hi in bounds]
        except (TypeError, ValueError):
            raise TypeError("bounds must be a scipy.optimize.Bounds or a sequence of "
                            "(min, max) pairs.") from None
        if len(pairs) != n:
            raise ValueError(f"bounds must have {n} (min, max) pairs (the size of x0), "
                             f"got {len(pairs)}.")
        lb, ub = zip(*pairs) if pairs else ((), ())
    try:
        lb = np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy()
        ub = np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy()
    except ValueError:
        raise ValueError(f"bounds must give {n} lower and upper bounds.") from None
    if np.any(np.isnan(lb)) or np.any(np.isnan(ub)):
        raise ValueError("bounds contain NaN.")
    if np.any(lb > ub):
        i = int(np.flatnonzero(lb > ub)[0])
        raise ValueError(f"bounds must have lb <= ub; variable {i} has lb={lb[i]} > "
                         f"ub={ub[i]}.")
    if np.all(np.isinf(lb) & np.isinf(ub)):
        return None
    return lb, ub


class StackedConstraints:
    """All constraints as ``lb ≤ C(x) ≤ ub``; the bounded variables are the last rows.

    ``C`` and its Jacobian ``J`` are evaluated once per point (memoized), the Jacobian
    dense unless a constraint returns a SciPy sparse matrix.
    """

    def __init__(self, constraints, bounds, x0: np.ndarray):
        n = x0.shape[0]
        self.n = n
        if isinstance(constraints, (dict, NonlinearConstraint, LinearConstraint)):
            constraints = [constraints]
        elif constraints is None:
            constraints = []
        try:
            constraints = list(constraints)
        except TypeError:
            raise TypeError("constraints must be a dict, NonlinearConstraint, "
                            "LinearConstraint or a sequence of them, got "
                            f"{type(constraints).__name__}.") from None
        self.blocks = [_parse_one(con, i, n) for i, con in enumerate(constraints)]
        self.nfev = self.njev = self.nhev = 0
        # sizes, bounds and the shape checks from one evaluation at x0
        sizes, lbs, ubs, self.sparse = [], [], [], False
        for b in self.blocks:
            c0 = np.atleast_1d(np.asarray(b.fun(x0.copy()), dtype=np.float64))
            if c0.ndim != 1:
                raise ValueError(f"{b.name} fun must return a 1-d array, got shape "
                                 f"{c0.shape}.")
            if not np.all(np.isfinite(c0)):
                raise ValueError(f"{b.name} fun(x0) contains NaN or infinity.")
            k = c0.shape[0]
            J0 = b.jac(x0.copy())
            shape = J0.shape if sp.issparse(J0) else np.atleast_2d(np.asarray(J0)).shape
            if k == 1 and not sp.issparse(J0) and np.asarray(J0).ndim == 1:
                shape = (1, np.asarray(J0).shape[0])
            if shape != (k, n):
                raise ValueError(f"{b.name} jac must return shape ({k}, {n}), got "
                                 f"{shape}.")
            self.sparse |= sp.issparse(J0)
            lb, ub = _side(b.lb, k, b.name), _side(b.ub, k, b.name)
            if np.any(np.isnan(lb) | np.isnan(ub)) or np.any(lb > ub):
                raise ValueError(f"{b.name} must have lb <= ub (no NaN).")
            if np.any(np.isinf(lb) & (lb == ub)):
                raise ValueError(f"{b.name} has an infinite equality bound.")
            sizes.append(k)
            lbs.append(lb)
            ubs.append(ub)
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=int)])
        self.m_cons = int(self.offsets[-1])
        parsed = parse_bounds(bounds, n)
        if parsed is None:
            self.bound_index = np.zeros(0, dtype=int)
        else:
            blb, bub = parsed
            self.bound_index = np.flatnonzero(np.isfinite(blb) | np.isfinite(bub))
            lbs.append(blb[self.bound_index])
            ubs.append(bub[self.bound_index])
        self.has_bounds = parsed is not None
        self.lb = np.concatenate(lbs) if lbs else np.zeros(0)
        self.ub = np.concatenate(ubs) if ubs else np.zeros(0)
        self.m = self.lb.shape[0]
        nb = self.bound_index.shape[0]
        E = np.zeros((nb, n))
        E[np.arange(nb), self.bound_index] = 1.0
        self.bound_rows = sp.csr_matrix(E) if self.sparse else E
        self._key = None
        # linear constraints and bounds only: J is constant, stacked once
        self._all_linear = all(b.A is not None for b in self.blocks)
        self._J_const = None

    def _eval(self, x):
        key = x.tobytes()
        if key != self._key:
            self._key = key
            self._C = None
            self._J = None
        return key

    def values(self, x):
        """``C(x)``, shape ``(m,)``."""
        self._eval(x)
        if self._C is None:
            parts = []
            for b, k in zip(self.blocks, self.sizes):
                c = np.asarray(b.fun(x.copy()), dtype=np.float64).ravel()
                if c.shape != (k,):
                    raise ValueError(f"{b.name} fun must return shape ({k},), got "
                                     f"{c.shape}.")
                parts.append(c)
            parts.append(x[self.bound_index])
            self.nfev += 1
            self._C = np.concatenate(parts)
        return self._C

    def jacobian(self, x):
        """``J(x)``, shape ``(m, n)``, dense or CSR."""
        self._eval(x)
        if self._J is None and self._J_const is not None:  # counted as an evaluation
            self._J = self._J_const
            self.njev += 1
        if self._J is None:
            parts = []
            for b, k in zip(self.blocks, self.sizes):
                J = b.A if b.A is not None else b.jac(x.copy())
                if sp.issparse(J):
                    J = J if self.sparse else J.toarray()
                else:
                    J = np.asarray(J, dtype=np.float64).reshape(k, self.n)
                parts.append(J)
            parts.append(self.bound_rows)
            self.njev += 1
            self._J = sp.vstack(parts, format="csr") if self.sparse else np.vstack(parts)
            if self._all_linear:
                self._J_const = self._J
        return self._J

    @property
    def fd_methods(self) -> list:
        """The finite-difference schemes of the blocks' Jacobians (empty if all exact)."""
        return [b.jac.fd_method for b in self.blocks if hasattr(b.jac, "fd_method")]

    @property
    def all_exact_hess(self) -> bool:
        return all(b.exact_hess for b in self.blocks)

    def hessian(self, x, y, *, exact_only: bool):
        """``Σᵢ yᵢ∇²Cᵢ(x)`` over the blocks with exact second derivatives (None if
        there are none with curvature); ``y`` has one entry per row of ``C``."""
        H = None
        for b, lo, hi in zip(self.blocks, self.offsets[:-1], self.offsets[1:]):
            if b.A is not None or (exact_only and not b.exact_hess):
                continue
            if b.exact_hess:
                Hb = b.hess(x.copy(), y[lo:hi].copy())
                Hb = Hb if sp.issparse(Hb) and self.sparse else \
                    (Hb.toarray() if sp.issparse(Hb) else np.asarray(Hb, dtype=np.float64))
            else:
                yb = y[lo:hi].copy()
                Hb = approx_derivative(lambda z, b=b, yb=yb: _jtv(b.jac(z), yb), x,
                                       method="2-point")
                Hb = 0.5 * (Hb + Hb.T)
            self.nhev += 1
            H = Hb if H is None else H + Hb
        return H

    @property
    def inexact_rows(self):
        """1.0 on the rows of the blocks without exact second derivatives, else 0.0."""
        mask = np.zeros(self.m)
        for b, lo, hi in zip(self.blocks, self.offsets[:-1], self.offsets[1:]):
            if not b.exact_hess:
                mask[lo:hi] = 1.0
        return mask

    def split(self, y):
        """Per-constraint pieces of a vector over the rows of ``C`` (bounds: an
        ``(n,)`` vector last, when bounds were given)."""
        out = [y[lo:hi] for lo, hi in zip(self.offsets[:-1], self.offsets[1:])]
        if self.has_bounds:
            full = np.zeros(self.n)
            full[self.bound_index] = y[self.m_cons:]
            out.append(full)
        return out


def _side(value, k: int, name: str):
    """A constraint's ``lb`` or ``ub`` as a float vector of length ``k``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(k, float(arr))
    if arr.shape == (k,):
        return arr
    if arr.size == 1:
        return np.full(k, float(arr.reshape(())))
    raise ValueError(f"{name} lb and ub must broadcast to the {k} constraint values, "
                     f"got shape {arr.shape}.")


def _jtv(J, v):
    if not sp.issparse(J):  # a one-row Jacobian may come back 1-d (finite differences)
        J = np.asarray(J, dtype=np.float64).reshape(v.shape[0], -1)
    return np.asarray(J.T @ v).ravel()
