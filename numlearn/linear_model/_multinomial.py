"""Coordinate descent for the multinomial (softmax) loss: one coefficient row per update."""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn._result import Status, make_result
from numlearn.linear_model import _cd_kernels as K
from numlearn.linear_model.datafits import Multinomial


def check_labels(y) -> tuple[np.ndarray, int]:
    """Class indices ``0..K-1`` (K ≥ 2) from a float vector."""
    labels = np.asarray(y)
    if not np.all(labels == np.round(labels)) or labels.min() < 0:
        raise ValueError("y must hold class indices 0, 1, ..., K-1 for the Multinomial datafit.")
    labels = labels.astype(np.int64)
    n_classes = int(labels.max()) + 1
    if n_classes < 2:
        raise ValueError("y holds a single class; the multinomial fit needs two or more.")
    return labels, n_classes


class _MultinomialProblem:
    def __init__(self, X, labels, n_classes, penalty, fit_intercept):
        self.X = X
        self.sparse = sp.issparse(X)
        self.n, self.p = X.shape
        self.labels = labels
        self.K = n_classes
        self.penalty = penalty
        self.l1, self.l2 = float(penalty.l1), float(penalty.l2)
        self.fit_intercept = fit_intercept
        self.center = fit_intercept and not self.sparse
        self.mean = (np.asarray(X.mean(axis=0), dtype=np.float64).ravel() if self.center
                     else np.zeros(self.p))
        self.datafit = Multinomial()
        self.lip = self.datafit.lipschitz(X, self.mean)
        self.Y = np.zeros((self.n, self.K))
        self.Y[np.arange(self.n), labels] = 1.0
        self.b = np.zeros(self.K)

    def init_state(self, W):
        Z = np.asarray(self.X @ W, dtype=np.float64)
        if self.center:
            Z -= self.mean @ W
        self.Z = np.ascontiguousarray(Z + self.b)
        self.P = np.empty_like(self.Z)
        K.softmax_rows(self.Z, self.P)
        if self.fit_intercept:
            self.update_intercept()

    def grad(self, rows=None):
        """``X_cᵀ (P - Y) / n``, shape (p, K) (or the rows ``rows`` of it)."""
        R = self.P - self.Y
        X = self.X if rows is None else self.X[:, rows]
        G = np.asarray(X.T @ R, dtype=np.float64)
        if self.center:
            mean = self.mean if rows is None else self.mean[rows]
            G -= np.outer(mean, R.sum(axis=0))
        return G / self.n

    def row_kkt(self, W, G):
        """Largest KKT violation (distance to the subdifferential) of each row."""
        out = np.empty(G.size)
        K.enet_kkt(np.ascontiguousarray(W, dtype=np.float64).ravel(),
                   np.ascontiguousarray(G, dtype=np.float64).ravel(), self.l1, self.l2, out)
        return out.reshape(G.shape).max(axis=1)

    def objective(self, W):
        return self.datafit.value(self.labels, self.Z) + self.penalty.value(W.ravel())

    def update_intercept(self):
        """Newton steps on the unpenalized intercepts (pseudo-inverse of the K×K Hessian,
        which is singular along the all-ones direction), with backtracking."""
        n = self.n
        f0 = self.datafit.value(self.labels, self.Z)
        for _ in range(20):
            g = (self.P - self.Y).sum(axis=0) / n
            if float(np.max(np.abs(g))) < 1e-14:
                break
            H = (np.diag(self.P.sum(axis=0)) - self.P.T @ self.P) / n
            step = -np.linalg.pinv(H, rcond=1e-12) @ g
            for _ in range(30):
                f1 = self.datafit.value(self.labels, self.Z + step)
                if f1 <= f0 + 0.25 * float(g @ step):
                    break
                step *= 0.5
            else:
                break
            self.Z += step
            self.b += step
            f0 = f1
            K.softmax_rows(self.Z, self.P)
            if float(np.max(np.abs(step))) <= 1e-12 * (1.0 + float(np.max(np.abs(self.b)))):
                break

    def gap(self, W, G):
        pen = self.penalty
        primal = self.objective(W)
        theta = (self.Y - self.P) / self.n
        v = -G
        if self.l2 == 0:
            vmax = float(np.max(np.abs(v)))
            if vmax > self.l1:
                theta = theta * (self.l1 / vmax)
                v = v * (self.l1 / vmax)
        dual = -self.datafit.conjugate_neg(self.labels, theta) - pen.conjugate(v.ravel())
        return max(primal - dual, 0.0)

    def epoch(self, W, coords):
        X = self.X
        if self.sparse:
            K.epoch_multinomial_csc(X.indptr, X.indices, X.data, self.labels, self.Z, self.P,
                                    W, coords, self.lip, self.l1, self.l2)
        else:
            K.epoch_multinomial_dense(X, self.labels, self.Z, self.P, W, coords, self.lip,
                                      self.mean, self.l1, self.l2)
        if self.fit_intercept:
            self.update_intercept()

    def greedy_epoch(self, W, rows, rule):
        """``len(rows)`` greedy row updates among ``rows`` (GS, GSL or GSQ)."""
        X = self.X
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if self.sparse:
            K.greedy_multinomial_csc(X.indptr, X.indices, X.data, self.labels, self.Z,
                                     self.P, W, rows, self.lip, self.l1, self.l2, rule,
                                     rows.shape[0])
        else:
            K.greedy_multinomial_dense(X, self.labels, self.Z, self.P, W, rows, self.lip,
                                       self.mean, self.l1, self.l2, rule, rows.shape[0])
        if self.fit_intercept:
            self.update_intercept()


_GREEDY = {"gs": K.RULE_GS, "gsl": K.RULE_GSL, "gsq": K.RULE_GSQ}


def _working_set(W, kkt):
    """The rows in the support and the most violating others (twice the support, ≥ 10),
    as the engine's working sets."""
    p = W.shape[0]
    support = np.any(W != 0, axis=1)
    size = min(p, max(10, 2 * int(support.sum())))
    if size >= p:
        return np.arange(p)
    score = np.where(support, np.inf, kkt)
    return np.sort(np.argpartition(-score, size - 1)[:size])


def solve_multinomial(X, y, penalty, *, selection, max_iter, tol, fit_intercept, warm_start,
                      rng, callback, return_history, progress, working_set=False):
    labels, n_classes = check_labels(y)
    prob = _MultinomialProblem(X, labels, n_classes, penalty, fit_intercept)
    p = prob.p
    W = np.zeros((p, n_classes))
    if warm_start is not None:
        warm = np.asarray(warm_start, dtype=np.float64)
        if warm.shape != (p, n_classes):
            raise ValueError(f"warm_start must have shape ({p}, {n_classes}), got {warm.shape}.")
        W[:] = warm
    prob.init_state(W)
    has_gap = penalty.has_gap
    if has_gap:
        target = tol * prob.datafit.gap_scale(n_classes)
    else:
        kkt0 = float(np.max(np.abs(prob.grad()))) if not np.any(W) else None
        if kkt0 is None:
            W0 = np.zeros_like(W)
            tmp = _MultinomialProblem(X, labels, n_classes, penalty, fit_intercept)
            tmp.init_state(W0)
            kkt0 = float(np.max(np.abs(tmp.grad())))
        target = tol * max(kkt0, np.finfo(float).tiny)
    history = [] if return_history else None
    obj_hist = [prob.objective(W)] if return_history else None
    upd_hist = [0] if return_history else None
    lip = prob.lip
    n_epochs = 0
    n_updates = 0
    status = Status.MAX_ITER
    all_rows = np.arange(p)
    stop = False
    while True:
        G = prob.grad()
        if has_gap:
            measure = prob.gap(W, G)
        else:
            measure = float(np.max(np.abs(G + penalty.l2 * W)))
        if history is not None:
            history.append(measure)
        progress.update(n_epochs, measure)
        if stop:
            status = Status.CALLBACK_STOP
            break
        if measure <= target:
            status = Status.SUCCESS
            break
        if not math.isfinite(measure):
            status = Status.DIVERGED
            break
        if n_epochs >= max_iter:
            break
        kkt = prob.row_kkt(W, G)
        rows = _working_set(W, kkt) if working_set else all_rows
        inner_tol = 0.03 * float(np.max(kkt))  # the working-set subproblem's target
        while n_epochs < max_iter:
            m = rows.shape[0]
            if selection in _GREEDY:
                prob.greedy_epoch(W, rows, _GREEDY[selection])
            else:
                if selection == "cyclic":
                    coords = rows
                elif selection == "random":
                    coords = rows[rng.integers(m, size=m)]
                else:
                    lw = lip[rows]
                    total = lw.sum()
                    coords = rows if total <= 0 else rows[rng.choice(m, size=m,
                                                                     p=lw / total)]
                prob.epoch(W, coords.astype(np.int64))
            n_epochs += 1
            n_updates += m
            if obj_hist is not None:
                obj_hist.append(prob.objective(W))
                upd_hist.append(n_updates)
            if callback is not None:
                try:
                    callback(W.copy())
                except StopIteration:
                    stop = True
                    break
            if m == p:
                break
            if float(np.max(prob.row_kkt(W[rows], prob.grad(rows)))) <= inner_tol:
                break
    progress.update(n_epochs, measure, final=True)
    intercept = prob.b - prob.mean @ W
    result = make_result(
        status=status, n_iter=n_epochs, coef=W, intercept=intercept, n_updates=n_updates,
        dual_gap=float(measure) if has_gap else float("nan"), objective=prob.objective(W),
        tol_abs=float(target),
    )
    if history is not None:
        result.history = np.asarray(history)
        result.objective_history = np.asarray(obj_hist)
        result.updates_history = np.asarray(upd_hist)
    if status is Status.MAX_ITER or status is Status.DIVERGED:
        what = "duality gap" if has_gap else "largest KKT violation"
        unit = prob.datafit.gap_scale(n_classes) if has_gap else target / max(tol, 1e-300)
        warnings.warn(
            f"coordinate_descent did not converge after {n_epochs} epochs: {what} "
            f"{measure:.3e} ({measure / unit:.3e} relative) is above the target "
            f"{target:.3e} (tol={tol:g} relative). Increase max_iter or tol.",
            ConvergenceWarning, stacklevel=4,
        )
    return result
