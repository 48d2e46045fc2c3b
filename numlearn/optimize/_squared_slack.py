"""Inequalities as equalities with squared slacks, for the augmented-Lagrangian engine.

Every inequality side of ``lb ≤ C(x) ≤ ub`` gets a slack ``s``:

* a lower side ``Cᵢ(x) − lbᵢ − s² = 0``,
* an upper side ``ubᵢ − Cᵢ(x) − s² = 0``,
* an equality row (``lbᵢ = ubᵢ``) stays ``Cᵢ(x) − lbᵢ = 0``.

In ``z = (x, s)`` the problem is equality constrained and smooth, and its Lagrangian
Hessian in ``s`` is ``diag(−2w)``: at a minimizer the slack multipliers ``w ≤ 0`` (the
original multipliers are ``≥ 0``), and the engine's reduced-Hessian test sees the
"wrong sign" stationary points of the reformulation (``s = 0``, ``w > 0``) as saddle
points with negative curvature and shifts away from them. Bertsekas (1982, §3.3.2) and
Fukuda & Fukushima (2017) show that the KKT points of the reformulation with ``w ≤ 0``
are the KKT points of the original problem, and that second-order sufficiency carries
over under strict complementarity.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["SquaredSlackProblem"]


class SquaredSlackProblem:
    """``min f(x)`` s.t. ``lb ≤ C(x) ≤ ub`` as ``min f`` s.t. ``c(x, s) = 0``.

    Parameters
    ----------
    obj : Objective
    cons : StackedConstraints
    """

    def __init__(self, obj, cons):
        self.obj, self.cons = obj, cons
        n, lb, ub = obj.n, cons.lb, cons.ub
        self.n = n
        self.E = np.flatnonzero(lb == ub)
        self.L = np.flatnonzero(np.isfinite(lb) & (lb < ub))
        self.U = np.flatnonzero(np.isfinite(ub) & (lb < ub))
        self.nE, self.nL, self.nU = len(self.E), len(self.L), len(self.U)
        self.ineq_rows = (lb < ub).astype(np.float64)
        self.all_eq = self.nE == cons.m  # only equalities: c(z) = C(x) − lb, no slacks
        self.lb_finite, self.ub_finite = np.isfinite(lb), np.isfinite(ub)
        self.p = self.nL + self.nU
        self.N = n + self.p
        self.mz = self.nE + self.p
        self.sparse = cons.sparse
        self.qn = obj.hess_kind == "qn"
        # rows of C in the order of c(z) (E, L, U), their signs and offsets, and the
        # slack entries of the dense Jacobian: cfun and cjac are one gather each
        self._rows = np.concatenate([self.E, self.L, self.U])
        self._sign = np.concatenate([np.ones(self.nE + self.nL), -np.ones(self.nU)])
        self._offset = np.concatenate([lb[self.E], lb[self.L], -ub[self.U]])
        d = np.arange(self.p)
        self._slack_rows, self._slack_cols = self.nE + d, n + d
        self._qn_prev = None  # (x, inexact Lagrangian gradient part) for the QN update
        if self.qn:
            obj.strategy.initialize(n, "hess")

    # -- the point of z-space from x ----------------------------------------------
    def start(self, x0):
        """``z0 = (x0, s0)`` with ``s0 = √max(gap, 1)``, ``gap`` the side's slack at
        ``x0`` (a slack far from 0 keeps the reformulation away from its spurious
        stationary points at the start)."""
        C = self.cons.values(x0)
        gaps = np.concatenate([C[self.L] - self.cons.lb[self.L],
                               self.cons.ub[self.U] - C[self.U]])
        s0 = np.sqrt(np.maximum(gaps, 1.0))
        return np.concatenate([x0, s0])

    def split(self, z):
        n = self.n
        return z[:n], z[n:n + self.nL], z[n + self.nL:]

    def row_multipliers(self, w):
        """Multipliers ``y`` of the rows of ``C`` (SciPy's sign: ``∇f + Jᵀy = 0``) from
        the multipliers ``w`` of the reformulated equalities."""
        if self.all_eq:
            return w.copy()
        y = np.zeros(self.cons.m)
        nE, nL = self.nE, self.nL
        y[self.E] = w[:nE]
        y[self.L] += w[nE:nE + nL]  # E, L and U each hold distinct rows
        y[self.U] -= w[nE + nL:]
        return y

    # -- the reformulated problem's callables --------------------------------------
    def fun(self, z):
        return self.obj.fun(z[:self.n])

    def jac(self, z):
        g = np.asarray(self.obj.jac(z[:self.n]), dtype=np.float64).ravel()
        if self.p:
            g = np.concatenate([g, np.zeros(self.p)])
        return g

    def cfun(self, z):
        if self.all_eq:
            return self.cons.values(z) - self.cons.lb
        n = self.n
        c = self._sign * self.cons.values(z[:n])[self._rows] - self._offset
        s = z[n:]
        c[self.nE:] -= s * s
        return c

    def cjac(self, z):
        if self.all_eq:
            return self.cons.jacobian(z)
        x, sL, sU = self.split(z)
        J = self.cons.jacobian(x)
        if self.sparse:
            Jx = sp.vstack([J[self.E], J[self.L], -J[self.U]], format="csr")
            S = sp.vstack([sp.csr_matrix((self.nE, self.p)),
                           sp.diags(-2.0 * np.concatenate([sL, sU]))], format="csr")
            return sp.hstack([Jx, S], format="csr")
        n = self.n
        G = np.zeros((self.mz, self.N))
        np.multiply(J[self._rows], self._sign[:, None], out=G[:, :n])
        G[self._slack_rows, self._slack_cols] = -2.0 * z[n:]
        return G

    def hess(self, z):
        """The objective's Hessian in ``z`` (zero where it is approximated with the
        constraints by the quasi-Newton matrix, see :meth:`chess`)."""
        if self.qn:
            Hf = None
        else:
            Hf = self.obj.hess(z[:self.n])
        return self._pad(Hf, None)

    def chess(self, z, w):
        """``Σ wᵢ∇²cᵢ(z)``: the constraints' curvature in ``x`` (exact, finite
        differences, or with the objective in the quasi-Newton matrix) and
        ``diag(−2w)`` in the slacks."""
        x = z[:self.n]
        y = self.row_multipliers(w)
        cons = self.cons
        if self.qn:
            Hx = cons.hessian(x, y, exact_only=True)
            B = self._qn_matrix(x, y)
            Hx = B if Hx is None else (Hx + B if not sp.issparse(Hx) else Hx + B)
        else:
            Hx = cons.hessian(x, y, exact_only=False)
        ws = -2.0 * w[self.nE:]
        return self._pad(Hx, ws)

    def reduced_hessian_pd(self, z, w, H, tol: float = 1e-6) -> bool:
        """A structural proof that ``Zᵀ∇²L Z`` is positive definite on ``null(G)``.

        ``∇²L = diag(Hₓ, −2w_s)`` and a null-space direction ``(dx, ds)`` has
        ``2sᵢdsᵢ = Jᵢdx`` on every slack row, so ``dᵀ∇²L d = dxᵀHₓdx + Σ(−2wᵢ)dsᵢ²`` is
        positive if ``Hₓ`` is (Gershgorin), every ``−2wᵢ ≥ 0``, and ``−2wᵢ ≥ tol`` where
        ``sᵢ = 0`` (there ``dsᵢ`` is free). When it holds the engine skips its Hessian
        shift and its null-space eigenvalue test (the only test above ``dense_max``
        variables is Gershgorin's on the whole Hessian, which the zero curvature of
        inactive slacks always fails).
        """
        if self.p == 0:
            return False
        n = self.n
        ws = -2.0 * np.asarray(w[self.nE:])
        if ws.min() < 0.0:
            return False
        s = np.asarray(z[n:])
        if np.any((np.abs(s) <= 1e-12) & (ws < tol)):
            return False
        Hx = H[:n, :n]
        if sp.issparse(Hx):
            d = Hx.diagonal()
            rows = np.asarray(abs(Hx).sum(axis=1)).ravel()
        else:
            d = np.diagonal(Hx)
            rows = np.abs(Hx).sum(axis=1)
        return bool(np.min(d - (rows - np.abs(d))) >= tol)

    def _qn_matrix(self, x, y):
        """The quasi-Newton matrix of ``f + Σ_{inexact blocks} yᵀC``, updated with the
        change of that part's gradient (at the current ``y``) since the last iterate."""
        obj, cons = self.obj, self.cons
        g = np.asarray(obj.jac(x), dtype=np.float64).ravel()
        J = cons.jacobian(x)
        mask = cons.inexact_rows
        if self._qn_prev is not None:
            x_prev, g_prev, J_prev = self._qn_prev
            dx = x - x_prev
            if np.any(dx != 0):
                my = mask * y
                dgrad = g - g_prev + np.asarray(J.T @ my - J_prev.T @ my).ravel()
                obj.strategy.update(dx, dgrad)
        self._qn_prev = (x.copy(), g, J)
        return obj.strategy.get_matrix()

    def _pad(self, Hx, ws):
        n, N = self.n, self.N
        if self.sparse or sp.issparse(Hx):
            Hx = sp.csr_matrix((n, n)) if Hx is None else sp.csr_matrix(Hx)
            Hs = sp.diags(ws) if ws is not None else sp.csr_matrix((self.p, self.p))
            return sp.block_diag([Hx, Hs], format="csr")
        H = np.zeros((N, N))
        if Hx is not None:
            H[:n, :n] = Hx
        if ws is not None:
            d = np.arange(self.p)
            H[n + d, n + d] = ws
        return H
