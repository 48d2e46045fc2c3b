"""L-BFGS(-B) for smooth and L1-split generalized linear models with sample weights.

Minimizes ``Σ_i a_i loss(y_i, x_iᵀ W + b) + l1 ‖W‖₁ + l2 ‖W‖² / 2`` with normalized
sample weights ``a = sw / Σ sw`` (scikit-learn's scaling), for the logistic, multinomial
and least-squares losses. Without L1 part this is a smooth problem, solved by
:func:`scipy.optimize.minimize` (``L-BFGS-B``) with scikit-learn's stopping rule
(``gtol = tol`` on the largest projected partial derivative, ``ftol = 64 eps``,
``maxls = 50``); the loss and its derivative with respect to the linear predictor are
one fused Numba pass (:mod:`numlearn.linear_model._loss_kernels`), the products with
``X`` are BLAS / sparse products. With an L1 part, ``W = W⁺ - W⁻`` with ``W^± ≥ 0``
turns the problem into a smooth bound-constrained one (the same optimum: at a solution
``W⁺`` and ``W⁻`` have disjoint supports); ``positive=True`` keeps ``W⁺`` only.

This is the solver the estimators pick for smooth penalties (it matches scikit-learn's
default ``lbfgs`` objective and stopping rule) and for weighted problems that the
coordinate-descent kernels (unweighted) do not cover.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result
from numlearn.linear_model import _loss_kernels as LK
from numlearn.linear_model._sample_weight import check_sample_weight
from numlearn.linear_model.datafits import _xlogx

__all__ = ["check_sample_weight", "lbfgs_glm"]

_KINDS = ("logistic", "multinomial", "quadratic")
_NUMBA_MAX_SIZE = 200_000


def lbfgs_glm(X, y, kind: str, *, n_classes: int = 2, sample_weight=None, l1: float = 0.0,
              l2: float = 0.0, positive: bool = False, fit_intercept: bool = True,
              tol: float = 1e-4, max_iter: int = 1000, warm_start=None,
              verbose: int = 0, ftol: float = 64 * np.finfo(float).eps) -> SolverResult:
    """Fit a (weighted) GLM by L-BFGS-B; see the module docstring for the objective.

    ``X`` is a float64 array or sparse matrix (checked by the caller); ``y`` holds labels
    in {-1, +1} (``"logistic"``), class indices (``"multinomial"``) or targets
    (``"quadratic"``). ``warm_start`` is ``(coef, intercept)`` or None. Returns a
    :class:`~numlearn.SolverResult` with ``coef`` ((p,) or (p, K)), ``intercept``,
    ``n_iter``, ``objective``, ``dual_gap`` (absolute; NaN without penalty),
    ``grad_norm`` (largest projected partial derivative) and the status. ``ftol``:
    L-BFGS-B's relative-decrease stop (scikit-learn's ``64 eps`` by default; 0 stops on
    ``tol`` or a failed line search only).
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
    n, p = X.shape
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    k = n_classes if kind == "multinomial" else 1
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    a = sw / sw.sum()
    if kind == "multinomial":
        target = np.ascontiguousarray(y, dtype=np.int64)
    else:
        target = np.ascontiguousarray(y, dtype=np.float64)
    split = l1 > 0 and not positive  # W = W+ - W-
    nb = 2 if split else 1
    pk = p * k
    nvar = nb * pk + (k if fit_intercept else 0)
    G2 = np.empty((n, k))  # ∇_z F, filled by the loss kernels
    G = G2 if k > 1 else G2[:, 0]
    # small dense X: single-threaded Numba products (waking a BLAS thread pool costs more
    # than the product); large dense X: BLAS
    dense = not sp.issparse(X) and n * p * k <= _NUMBA_MAX_SIZE
    if dense:  # small: Fortran order for the column loops of the kernels
        X = np.asfortranarray(X, dtype=np.float64)
        Z2 = np.empty((n, k))
        GW2 = np.empty((p, k))
    elif not sp.issparse(X):
        X = np.asarray(X, dtype=np.float64)

    def matmul(W):
        if dense:
            LK.dense_matmat(X, W.reshape(p, k), Z2)
            return Z2 if k > 1 else Z2[:, 0]
        return np.asarray(X @ W, dtype=np.float64)

    def rmatmul():
        if dense:
            LK.dense_rmatmat(X, G2, GW2)
            return GW2 if k > 1 else GW2[:, 0]
        return np.asarray(X.T @ G, dtype=np.float64)

    def unpack(x):
        W = x[:pk] - x[pk:2 * pk] if split else x[:pk]
        W = W.reshape(p, k) if k > 1 else W
        b = x[nb * pk:] if fit_intercept else None
        return W, b

    def predictor(W, b):
        Z = matmul(np.ascontiguousarray(W))
        if b is not None:
            Z = Z + (b if k > 1 else b[0])
        return Z

    def loss_and_raw(W, b):
        Z = predictor(W, b)
        if kind == "logistic":
            val = LK.logistic_loss_grad(Z, target, a, G)
        elif kind == "multinomial":
            val = LK.multinomial_loss_grad(np.ascontiguousarray(Z), target, a, G)
        else:
            val = LK.quadratic_loss_grad(Z, target, a, G)
        return val, Z

    def fun(x):
        W, b = unpack(x)
        val, _ = loss_and_raw(W, b)
        gW = rmatmul()
        grad = np.empty(nvar)
        flatW = W.ravel()
        if l2 > 0:
            gW = gW + l2 * W
            val += 0.5 * l2 * float(flatW @ flatW)
        gflat = gW.ravel()
        if split:
            grad[:pk] = gflat + l1
            grad[pk:2 * pk] = l1 - gflat
            val += l1 * float(x[:2 * pk].sum())
        else:
            grad[:pk] = gflat
            if l1 > 0:  # positive: ‖W‖₁ = Σ W on W ≥ 0
                grad[:pk] += l1
                val += l1 * float(x[:pk].sum())
        if fit_intercept:
            grad[nb * pk:] = G.sum(axis=0) if k > 1 else G.sum()
        return val, grad

    x0 = np.zeros(nvar)
    if warm_start is not None:
        coef0, b0 = warm_start
        coef0 = np.asarray(coef0, dtype=np.float64).reshape(-1)
        if split:
            x0[:pk] = np.maximum(coef0, 0.0)
            x0[pk:2 * pk] = np.maximum(-coef0, 0.0)
        else:
            x0[:pk] = np.maximum(coef0, 0.0) if positive else coef0
        if fit_intercept and b0 is not None:
            x0[nb * pk:] = np.asarray(b0, dtype=np.float64).reshape(-1)
    bounds = None
    if split or positive:
        bounds = [(0.0, None)] * (nb * pk) + [(None, None)] * (nvar - nb * pk)
    progress = Progress(f"lbfgs ({kind})", verbose, measure="objective")
    state = {"it": 0}

    def callback(intermediate_result):
        state["it"] += 1
        progress.update(state["it"], float(intermediate_result.fun))

    opt = minimize(fun, x0, method="L-BFGS-B", jac=True, bounds=bounds,
                   callback=callback if progress.verbose else None,
                   options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": ftol})
    if kind == "quadratic":
        opt = _polish_quadratic(X, target, a, fun, opt, p, split, l1, l2, fit_intercept)
    elif bounds is not None and opt.status == 0:
        opt = _polish_support(fun, opt, pk, nb, nvar, tol, max_iter)
    W, b = unpack(opt.x)
    W = np.array(W, dtype=np.float64)
    if opt.status == 0:
        status = Status.SUCCESS
    elif opt.status == 1:
        status = Status.MAX_ITER
    else:
        status = Status.STAGNATION
    obj = float(opt.fun)
    gap = _dual_gap(target, kind, a, W, b, l1, l2, positive, obj, loss_and_raw, rmatmul,
                    G)
    progress.update(int(opt.nit), obj, final=True)
    intercept = (np.array(b, dtype=np.float64) if k > 1 else float(b[0])) if fit_intercept \
        else (np.zeros(k) if k > 1 else 0.0)
    g = opt.jac
    if bounds is not None:  # projected gradient on the bounded variables
        lo = opt.x[:nb * pk] <= 0.0
        g = g.copy()
        g[:nb * pk][lo] = np.minimum(g[:nb * pk][lo], 0.0)
    return make_result(status=status, n_iter=int(opt.nit), coef=W, intercept=intercept,
                       objective=float(obj), dual_gap=gap,
                       grad_norm=float(np.max(np.abs(g))) if g.size else 0.0,
                       solver_message=str(opt.message))


def _polish_quadratic(X, y, a, fun, opt, p, split, l1, l2, fit_intercept, max_support=2000):
    """Least squares: with the support and signs of ``w`` fixed, the optimum solves the
    weighted normal equations ``(X_Sᵀ A X_S + l2 I) w_S = X_Sᵀ A y - l1 sign(w_S)`` (the
    intercept an unpenalized column): solve them exactly. Kept only if no sign changes
    and the objective does not increase."""
    x = opt.x
    w = x[:p] - x[p:2 * p] if split else x[:p].copy()
    S = np.flatnonzero(w)
    if S.size > max_support or (S.size == 0 and not fit_intercept):
        return opt
    XS = X[:, S].toarray() if sp.issparse(X) else np.asarray(X[:, S])
    if fit_intercept:
        XS = np.column_stack([XS, np.ones(X.shape[0])])
    M = XS.T @ (a[:, None] * XS)
    rhs = XS.T @ (a * y)
    m = S.size
    M[np.arange(m), np.arange(m)] += l2
    rhs[:m] -= l1 * np.sign(w[S])
    try:
        sol = np.linalg.solve(M, rhs)
    except np.linalg.LinAlgError:
        return opt
    if not np.all(np.isfinite(sol)) or np.any(sol[:m] * np.sign(w[S]) <= 0):
        return opt
    wn = np.zeros(p)
    wn[S] = sol[:m]
    xn = np.zeros_like(x)
    if split:
        xn[:p] = np.maximum(wn, 0.0)
        xn[p:2 * p] = np.maximum(-wn, 0.0)
    else:
        xn[:p] = wn
    if fit_intercept:
        xn[-1] = sol[m]
    val, grad = fun(xn)
    if val > opt.fun + 1e-15 * max(abs(opt.fun), 1.0):
        return opt
    opt.x, opt.fun, opt.jac = xn, val, grad
    return opt


def _polish_support(fun, opt, pk, nb, nvar, tol, max_iter):
    """Active-set polish of a bound-constrained solution: with the support and the signs
    of ``W`` fixed the objective is smooth and unconstrained, where L-BFGS converges
    fast (bound-constrained L-BFGS-B crawls near a degenerate optimum). Kept only if no
    sign changes and the objective does not increase."""
    x = opt.x
    on = np.flatnonzero(x[:nb * pk] > 0)  # split: W+ then W- variables
    free = np.concatenate([on, np.arange(nb * pk, nvar)])
    if free.size == 0:
        return opt

    def fun_free(v):
        xf = np.zeros(nvar)
        xf[free] = v
        val, grad = fun(xf)
        return val, grad[free]

    # no ftol stop: on the support, stop on the gradient (or a failed line search)
    pol = minimize(fun_free, x[free], method="L-BFGS-B", jac=True,
                   options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 0.0})
    if np.any(pol.x[:on.size] <= 0) or pol.fun > opt.fun:
        return opt
    xf = np.zeros(nvar)
    xf[free] = pol.x
    val, grad = fun(xf)
    opt.x, opt.fun, opt.jac = xf, val, grad
    opt.nit += pol.nit
    return opt


def _dual_gap(target, kind, a, W, b, l1, l2, positive, primal, loss_and_raw, rmatmul, G):
    """Fenchel duality gap at ``θ = -∇_z F`` (scaled into the dual domain when the
    penalty is a pure L1); NaN without penalty. With an intercept the dual constraint
    ``Σ θ = 0`` holds at the optimum only (as in the coordinate-descent engine)."""
    if l1 <= 0 and l2 <= 0:
        return float("nan")
    loss_and_raw(W, b)  # fills G = ∇_z F at the returned point
    theta = -G
    V = -rmatmul()
    c = 1.0
    if l2 <= 0:
        vmax = float(np.max(V)) if positive else float(np.max(np.abs(V)))
        if vmax > l1:
            c = l1 / vmax
    theta = c * theta
    V = c * V
    pos = a > 0
    if kind == "quadratic":
        conj = float(np.sum(-theta * target) + np.sum(theta[pos] ** 2 / (2 * a[pos])))
    elif kind == "logistic":  # s = θ y / a ∈ [0, 1]
        s = np.clip(theta[pos] * target[pos] / a[pos], 0.0, 1.0)
        conj = float(a[pos] @ (_xlogx(s) + _xlogx(1.0 - s)))
    else:  # q = e_y - θ / a: rows in the simplex
        q = -theta[pos] / a[pos, None]
        q[np.arange(q.shape[0]), target[pos]] += 1.0
        q = np.clip(q, 0.0, 1.0)
        conj = float(a[pos] @ _xlogx(q).sum(axis=1))
    excess = (np.maximum(V - l1, 0.0) if positive
              else np.maximum(np.abs(V) - l1, 0.0))
    pen_conj = float((excess.ravel() @ excess.ravel()) / (2 * l2)) if l2 > 0 else 0.0
    return max(primal - (-conj - pen_conj), 0.0)

