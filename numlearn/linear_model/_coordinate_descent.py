"""The coordinate-descent engine: datafit x penalty x selection rule."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import non_numpy_namespace
from numlearn._progress import Progress
from numlearn._result import SolverResult, Status, make_result
from numlearn._validation import (
    suggest_keywords,
    check_array,
    check_sparse_structure,
    check_callable,
    check_option,
    check_random_state,
    check_scalar,
    check_vector,
)
from numlearn.linear_model import _cd_kernels as K
from numlearn.linear_model._sample_weight import check_sample_weight
from numlearn.linear_model._multinomial import solve_multinomial
from numlearn.linear_model.datafits import Logistic, Multinomial, Quadratic, _col_sums
from numlearn.linear_model.penalties import _ElasticNetBase

__all__ = ["coordinate_descent", "SELECTIONS"]

SELECTIONS = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsq")
_GREEDY = {"gs": K.RULE_GS, "gsl": K.RULE_GSL, "gsq": K.RULE_GSQ}
# greedy rules on sparse X without centring: from this many coordinates in play on, keep
# the gradient up to date through the rows of the updated column and pick with a max-heap
# (below, least squares uses the working set's Gram matrix, O(|ws|) per update)
_NEIGHBOUR_MIN = 512
_USE_HEAP = True  # False: pick by a scan of the stored scores (same choices, O(|ws|))
_NEIGHBOURS = True  # False: never use the neighbour kernel (tests, comparisons)
_BOUNDS = True  # least squares: skip the gradients that bounds show cannot matter


@suggest_keywords
def coordinate_descent(
    X: Any,
    y: Any,
    datafit: Any,
    penalty: Any,
    *,
    selection: str = "gsl",
    block_size: int = 1,
    update: str = "gradient",
    max_iter: int = 1000,
    tol: float = 1e-4,
    fit_intercept: bool = False,
    precompute: bool = False,
    working_set: bool = True,
    anderson: bool = True,
    screening: bool = True,
    warm_start: Any = None,
    random_state: Any = None,
    callback: Callable | None = None,
    return_history: bool = False,
    verbose: int = 0,
    sample_weight: Any = None,
    _prepared: Any = None,
) -> SolverResult:
    """Minimize ``F(X w + b) + Σ_j g(w_j)`` by coordinate descent.

    ``F`` is a datafit (:class:`~numlearn.linear_model.datafits.Quadratic`,
    :class:`~numlearn.linear_model.datafits.Logistic`) and ``g`` a separable penalty
    (:class:`~numlearn.linear_model.penalties.L1`, ``L2``, ``ElasticNet``, ``NoPenalty``).
    One *epoch* is as many coordinate updates as there are coordinates in play; each
    update is the proximal gradient step ``w_j ← prox_{g/L_j}(w_j - ∂_j F / L_j)`` (for
    least squares, the exact coordinate minimizer). Coordinates are picked by the
    selection rule, of Nutini, Laradji and Schmidt [1]_:

    ``"cyclic"``
        0, 1, ..., p-1 in turn (scikit-learn's default).
    ``"random"``
        uniformly at random, with replacement.
    ``"lipschitz"``
        at random with probability ∝ ``L_j``.
    ``"gs"``
        Gauss–Southwell: the largest violation of the optimality condition,
        ``dist(-∂_j F, ∂g(w_j))``.
    ``"gsl"``
        Gauss–Southwell–Lipschitz: the same divided by ``√L_j``.
    ``"gsq"``
        the largest decrease of the prox-linear model (GS-q, the rule for L1).

    The greedy rules keep the gradient up to date incrementally: for least squares on
    the Gram matrix of the coordinates in play (O(p) per update), for the logistic loss
    through the margins (a full gradient over the coordinates in play per update). On
    sparse ``X`` without centring (no intercept, or the logistic loss) and many coordinates
    in play, an update changes only the partial derivatives of the columns that share a
    row with the updated one: those are updated through the CSR rows and the best
    coordinate is kept at the top of an indexed max-heap, O(neighbourhood · log p) per
    update instead of O(p) (same choices as a scan).

    With ``working_set=True`` (as skglm) the solver alternates between picking a working
    set (the support plus the coordinates that violate optimality most, twice the size
    of the support, at least 10) and solving the problem restricted to it, until the
    duality gap over all coordinates is small; with ``anderson=True`` the restricted
    solves are sped up by Anderson extrapolation of the last 5 epochs (kept only when it
    lowers the objective).

    Parameters
    ----------
    X : array or scipy.sparse matrix, shape (n_samples, n_features)
        Design. Dense arrays (C- or F-ordered; C-ordered ones are copied to Fortran order
        once) and sparse matrices (converted to CSC once) in float32 or float64; the
        iterates use the same precision.
    y : array, shape (n_samples,)
        Targets (least squares) or labels in {-1, +1} (logistic).
    datafit : Quadratic, Logistic or Multinomial
        For ``Multinomial``, ``y`` holds class indices ``0..K-1``, the coefficients are a
        ``(n_features, K)`` matrix updated one row at a time (every selection rule; the
        greedy ones score a row by the norm of its minimum-norm subgradient, divided by
        ``√L_j`` for GSL, or by its prox-linear decrease for GSQ, and recompute the
        gradient of the rows in play after each update; working sets of rows, no
        Anderson extrapolation, no screening) and ``intercept`` has shape ``(K,)``.
    penalty : L1, L2, ElasticNet or NoPenalty
    selection : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsq"}, default "gsl"
    block_size : int, default 1
        Coordinates per block. With cyclic/random/lipschitz selection, *fixed* blocks of
        consecutive coordinates (of the working set), picked with probability ∝ their
        Lipschitz constant ``L_b = λ_max(X_bᵀX_b)/n`` for ``"lipschitz"``; with the greedy
        rules, *variable* blocks: the ``block_size`` best-scored coordinates, updated
        jointly with step ``1/λ_max(G_bb)`` (least squares only; implies ``precompute``).
    update : {"gradient", "newton"}, default "gradient"
        ``"gradient"``: the ``1/L_b`` proximal gradient step. ``"newton"``: the proximal
        Newton step with the exact second derivative and Armijo backtracking (logistic
        loss, single coordinates, non-greedy rules; for least squares the gradient step
        with ``1/L_j`` already is the exact coordinate minimizer, so both coincide).
        With ``block_size > 1`` (fixed blocks, dense or sparse ``X``, Quadratic or
        Logistic, ``precompute=False``): block Newton. Without L1 part the block Newton system
        (block Hessian of the datafit plus ``l2 I``) is solved — for least squares the
        exact block minimizer; with L1 part the proximal-Newton subproblem is solved by
        coordinate descent on the block's quadratic model and, once the support has been
        the same for two epochs, started from the Newton step restricted to the nonzero
        coordinates (active-set Newton: superlinear convergence). Logistic steps take
        an Armijo line search on the objective (falling back to the block gradient step
        where rounding defeats it).
    max_iter : int, default 1000
        Maximum number of epochs.
    tol : float, default 1e-4
        Stop when the duality gap is at most ``tol`` times the datafit's unit
        (``‖y‖²/n`` for least squares as scikit-learn, ``log 2`` for the logistic loss).
        Without penalty (no dual), stop when the largest partial derivative is at most
        ``tol`` times its value at the start.
    fit_intercept : bool, default False
        Fit an unpenalized intercept ``b`` (least squares: by implicit centring of ``X``
        and ``y``, which keeps sparse ``X`` sparse; logistic: by a Newton step on ``b``
        after every epoch).
    precompute : bool, default False
        Least squares only: work on the Gram matrix ``X_cᵀX_c / n`` (computed once, p×p)
        instead of the residual, so an epoch costs O(p · coordinates) instead of
        O(nnz(X)). Pays when ``n ≫ p`` and for many solves on the same data (paths).
    working_set : bool, default True
    anderson : bool, default True
    screening : bool, default True
        Gap safe screening (Fercoq, Gramfort and Salmon [3]_; Ndiaye et al. [4]_) for the
        L1 and elastic-net penalties with the Quadratic datafit and for the L1-penalized
        Logistic datafit without intercept: at every duality-gap check, coordinates
        certified to be zero at the optimum (``|x_jᵀθ| + r ‖x_j‖ < 1`` with the safe
        radius ``r = √(2 gap γ) / l1`` of the ``γ``-strongly concave dual) are set to
        zero and left out of the rest of the fit (working sets, epochs and gradients),
        and the gap is that of the problem restricted to the other coordinates (the
        same optimum). Independently of it, least-squares checks compute the gradient
        only where a Cauchy–Schwarz bound cannot rule out a KKT violation (the gap and
        KKT values stay exact) and, along sparse paths, move it incrementally through
        the rows of the columns that changed.
    warm_start : array, shape (n_features,) (or (n_features, K)), optional
        Initial coefficients (zeros by default). Not modified.
    random_state : None, int or numpy.random.Generator
        Seeds ``"random"`` and ``"lipschitz"`` selection.
    callback : callable, optional
        Called as ``callback(coef)`` after every epoch; raising ``StopIteration`` stops.
    return_history : bool, default False
        Record the objective after every epoch (``objective_history``, with the number of
        coordinate updates so far in ``updates_history``) and the stopping measure at each
        check (``history``).
    verbose : int, default 0
    sample_weight : array, shape (n_samples,), optional
        Non-negative weights, not all zero (Quadratic datafit; NumPy / SciPy inputs):
        minimizes ``Σ s_i (y_i - x_iᵀ w - b)² / (2 Σ s_i) + penalty`` as scikit-learn
        does, by its reduction: weighted centring (dense ``X``, when fitting an
        intercept) and rows scaled by ``√(n s_i / Σ s)``, so that the duality gap and
        its unit ``‖y‖²/n`` are those of the rescaled problem, as in scikit-learn.
        Integer weights give the fit of the rows repeated. Sparse ``X`` with an
        intercept is not supported here (use the estimators, which fall back to
        L-BFGS-B there).

    Returns
    -------
    SolverResult
        ``coef`` (shape (n_features,), or (n_features, K) for ``Multinomial``),
        ``intercept`` (float, or shape (K,)), ``n_iter`` (epochs), ``n_updates``
        (coordinate updates), ``dual_gap`` (absolute, in the objective's units; NaN
        without penalty), ``tol_abs`` (the absolute target), ``objective``,
        ``converged``, ``status``, ``message`` and the histories if asked.

    Raises
    ------
    ValueError
        Shapes disagree, NaN/inf in the data, empty ``X``, labels not in {-1, +1} for
        the logistic loss, options out of range.
    TypeError
        ``datafit``/``penalty`` are not of the supported classes.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If ``max_iter`` epochs do not reach the tolerance; the message gives the achieved
        and the target gap, relative (the units of ``tol``) and absolute.

    Notes
    -----
    CuPy arrays, ``cupyx.scipy.sparse`` matrices and other array-API inputs run a
    *parallel* variant instead (sequential coordinate descent does not map to a GPU):
    every coordinate is updated at once with a safe ESO step (Richtárik–Takáč; β by power
    iteration, enforced by backtracking) and FISTA momentum with monotone restart, stopped
    on the same duality gap in the same units; the per-coordinate step is one Numba-CUDA
    kernel on CuPy. There ``selection`` other than ``"cyclic"``/``"gsl"``, ``block_size > 1``,
    ``update="newton"`` and ``precompute=True`` raise ``ValueError``; ``working_set``,
    ``anderson``, ``screening`` and ``random_state`` are ignored; ``n_iter`` counts full
    passes. See :mod:`numlearn.linear_model._cd_parallel`.

    References
    ----------
    .. [1] J. Nutini, I. Laradji, M. Schmidt, "Let's Make Block Coordinate Descent
       Converge Faster: Faster Greedy Rules, Message-Passing, Active-Set Complexity, and
       Superlinear Convergence", JMLR 23 (2022).
    .. [2] Q. Bertrand, Q. Klopfenstein, P.-A. Bannier, G. Gidel, M. Massias, "Beyond L1:
       Faster and Better Sparse Models with skglm", NeurIPS 2022.
    .. [3] O. Fercoq, A. Gramfort, J. Salmon, "Mind the duality gap: safer rules for the
       Lasso", ICML 2015.
    .. [4] E. Ndiaye, O. Fercoq, A. Gramfort, J. Salmon, "Gap Safe screening rules for
       sparsity enforcing penalties", JMLR 18 (2017).

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.linear_model import coordinate_descent, Quadratic, L1
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20))
    >>> y = X[:, :3] @ np.array([1.0, -2.0, 3.0])
    >>> res = coordinate_descent(X, y, Quadratic(), L1(0.1), tol=1e-10)
    >>> res.converged, np.flatnonzero(res.coef).tolist()
    (True, [0, 1, 2])
    """
    if _prepared is None and not isinstance(X, np.ndarray):
        # CuPy / cupyx.scipy.sparse / other array-API inputs: parallel CD (_cd_parallel.py)
        from numlearn.linear_model._cd_parallel import solve_parallel

        xp = non_numpy_namespace(X, y)
        if xp is not None:
            return solve_parallel(
                X, y, datafit, penalty, xp=xp, selection=selection, block_size=block_size,
                update=update, max_iter=max_iter, tol=tol, fit_intercept=fit_intercept,
                precompute=precompute, working_set=working_set, anderson=anderson,
                warm_start=warm_start, random_state=random_state, callback=callback,
                return_history=return_history, verbose=verbose)
    if _prepared is None:
        X, y, _, p = _check_data(X, y)
    else:
        p = _prepared.p
    if sample_weight is not None:
        if not isinstance(datafit, Quadratic):
            raise ValueError(
                "sample_weight is supported for the Quadratic datafit; for weighted "
                "logistic fits use LogisticRegression (solver='lbfgs').")
        sw = check_sample_weight(sample_weight, X.shape[0])
        Xs, ys, x_off, y_off = weighted_rescale(X, y, sw, bool(fit_intercept))
        res = coordinate_descent(
            Xs, ys, datafit, penalty, selection=selection, block_size=block_size,
            update=update, max_iter=max_iter, tol=tol, fit_intercept=False,
            precompute=precompute, working_set=working_set, anderson=anderson,
            screening=screening, warm_start=warm_start, random_state=random_state,
            callback=callback, return_history=return_history, verbose=verbose)
        if fit_intercept:
            res.intercept = float(y_off - x_off @ res.coef)
        return res
    if not isinstance(datafit, (Quadratic, Logistic, Multinomial)):
        raise TypeError(
            "datafit must be Quadratic, Logistic or Multinomial, got "
            f"{type(datafit).__name__}."
        )
    if not isinstance(penalty, _ElasticNetBase):
        raise TypeError(
            f"penalty must be L1, L2, ElasticNet or NoPenalty, got {type(penalty).__name__}."
        )
    selection = check_option(selection, "selection", SELECTIONS)
    block_size = check_scalar(block_size, "block_size", kind=int, low=1)
    check_option(update, "update", ("gradient", "newton"))
    newton = update == "newton" and isinstance(datafit, Logistic) and block_size == 1
    newton_blocks = update == "newton" and block_size > 1
    if newton and selection in _GREEDY:
        raise ValueError(
            "update='newton' for the Logistic datafit is implemented for block_size=1 with "
            "cyclic, random or lipschitz selection."
        )
    if newton_blocks:
        if selection in _GREEDY or not isinstance(datafit, (Quadratic, Logistic)):
            raise ValueError(
                "update='newton' with block_size > 1 (block Newton) needs the Quadratic or "
                "Logistic datafit and fixed blocks (selection='cyclic', 'random' or "
                f"'lipschitz'), got selection={selection!r} and "
                f"{type(datafit).__name__}."
            )
        if precompute:
            raise ValueError(
                "update='newton' with block_size > 1 (block Newton) needs precompute=False."
            )
    if block_size > 1 and selection in _GREEDY:
        if not isinstance(datafit, Quadratic):
            raise ValueError(
                f"selection={selection!r} with block_size > 1 (greedy variable blocks) needs "
                "the Quadratic datafit."
            )
        precompute = True
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=0)
    tol = check_scalar(tol, "tol", low=0.0)
    check_callable(callback, "callback", allow_none=True)
    rng = check_random_state(random_state)
    if isinstance(datafit, Multinomial):
        if block_size > 1 or update != "gradient":
            raise ValueError(
                "The Multinomial datafit supports block_size=1 and update='gradient' (its "
                "blocks are the coefficient rows)."
            )
        return solve_multinomial(
            X, y, penalty, selection=selection, max_iter=max_iter, tol=tol,
            fit_intercept=bool(fit_intercept), warm_start=warm_start, rng=rng,
            callback=callback, return_history=return_history,
            progress=Progress("coordinate_descent", verbose, measure="dual gap"),
            working_set=bool(working_set),
        )
    if isinstance(datafit, Logistic):
        labels = np.unique(y)
        if not np.all(np.isin(labels, (-1.0, 1.0))):
            raise ValueError("y must hold labels -1 and +1 for the Logistic datafit.")
        if labels.shape[0] < 2 and fit_intercept:
            raise ValueError("y holds a single class; the logistic fit needs two.")

    if _prepared is None:
        prob = _Problem(X, y, datafit, penalty, bool(fit_intercept), bool(precompute))
    else:  # lasso/enet paths: same data and datafit, new penalty
        prob = _prepared
        prob.penalty = penalty
        prob.l1, prob.l2 = float(penalty.l1), float(penalty.l2)
        prob.intercept = 0.0
    w = np.zeros(p, dtype=prob.dtype)
    if warm_start is not None:
        w[:] = check_vector(warm_start, "warm_start", p)
    # along a path, the least-squares state (residual or Gram gradient) of the previous
    # solution is still valid: it depends on w only, not on the penalty
    # (so is its gradient, which the first check of the next alpha needs)
    solver = _Solver(prob, selection, rng, bool(working_set), bool(anderson), block_size)
    reuse = (_prepared is not None and prob.quadratic and warm_start is not None
             and warm_start is getattr(prob, "last_coef", None))
    if reuse and getattr(prob, "last_grad", None) is not None:
        solver.initial_grad = prob.last_grad
    elif not (reuse and getattr(prob, "bound_ref", None) is not None):
        prob.init_state(w)
        prob.bound_ref = None  # gradient bounds of another residual
    solver.newton = newton
    solver.newton_blocks = newton_blocks
    solver.on_path = _prepared is not None
    # gap safe screening where the gap is the elastic net's (least squares) or the L1
    # logistic one (the intercept's dual constraint Σθ = 0 is not enforced by that gap)
    solver.screening = bool(screening) and prob.l1 > 0 and (
        prob.quadratic or (prob.l2 == 0 and not prob.fit_intercept))
    result = solver.run(w, max_iter, tol, callback, return_history,
                        Progress("coordinate_descent", verbose, measure="dual gap"))
    prob.last_coef = result.coef
    return result


def weighted_rescale(X, y, sw, fit_intercept):
    """scikit-learn's reduction of weighted least squares to an unweighted problem.

    With ``s = n sw / Σ sw`` (weights summing to ``n``): ``X`` and ``y`` centred by their
    ``s``-weighted means when fitting an intercept (dense ``X`` only), then rows scaled
    by ``√s``. Returns ``(Xs, ys, x_offset, y_offset)``; the intercept of the weighted
    problem is ``y_offset - x_offsetᵀ w``. ``X`` and ``y`` are not modified.
    """
    n = X.shape[0]
    s = sw * (n / float(sw.sum()))
    root = np.sqrt(s)
    p = X.shape[1]
    if fit_intercept:
        if sp.issparse(X):
            raise ValueError(
                "sample_weight with fit_intercept=True needs dense X in the "
                "coordinate-descent engine (centring would densify sparse X).")
        x_off = (s @ X) / n
        y_off = float(s @ y) / n
        Xs = np.asfortranarray((X - x_off) * root[:, None], dtype=X.dtype)
        ys = ((y - y_off) * root).astype(X.dtype)
        return Xs, ys, x_off, y_off
    if sp.issparse(X):
        Xs = sp.csc_matrix(sp.diags(root) @ X, dtype=X.dtype)
    else:
        Xs = np.asfortranarray(X * root[:, None], dtype=X.dtype)
    return Xs, (y * root).astype(X.dtype), np.zeros(p), 0.0


def _check_data(X, y):
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}.")
        # structure checked, duplicates summed and indices sorted (on a copy)
        X = sp.csc_matrix(check_sparse_structure(X, "X", format="csc"))
        if not np.all(np.isfinite(X.data)):
            raise ValueError("X contains NaN or infinity; all entries must be finite.")
    else:
        X = check_array(X, "X", ndim=2)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        X = np.asfortranarray(X)
    n, p = X.shape
    if n == 0 or p == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}.")
    y = check_vector(y, "y", n).astype(X.dtype, copy=False)
    return X, y, n, p


class _Problem:
    """Data, datafit, penalty and the state vector (residual or margin)."""

    def __init__(self, X, y, datafit, penalty, fit_intercept, precompute=False):
        self.X = X
        self.sparse = sp.issparse(X)
        self.n, self.p = X.shape
        self.datafit = datafit
        self.penalty = penalty
        self.l1, self.l2 = float(penalty.l1), float(penalty.l2)
        self.quadratic = isinstance(datafit, Quadratic)
        self.fit_intercept = fit_intercept
        dtype = X.dtype
        # Centre X implicitly when fitting an intercept (for the logistic loss only when
        # X is dense: centring sparse columns would cost O(n) per logistic update).
        self.center = fit_intercept and (self.quadratic or not self.sparse)
        self.colsum = _col_sums(X, 1) if self.sparse else None
        if not self.center:
            self.mean = np.zeros(self.p)
        elif self.sparse:
            self.mean = self.colsum / self.n
        else:
            self.mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        if self.quadratic and fit_intercept:
            self.y_offset = float(np.mean(y, dtype=np.float64))
            self.y = (y - self.y_offset).astype(dtype)
        else:
            self.y_offset = 0.0
            self.y = y
        self.lip = datafit.lipschitz(X, self.mean)
        self.intercept = 0.0
        self.scale = datafit.gap_scale(self.y)
        self.dtype = dtype
        self.use_gram = bool(precompute) and self.quadratic
        if self.use_gram:
            # least squares in feature space: G = X_cᵀX_c / n, c = X_cᵀy_c / n, yy = ‖y_c‖²/n
            n = self.n
            self.c = self.rmatvec(self.y.astype(np.float64)) / n
            self.yy = float(self.y.astype(np.float64) @ self.y) / n
            if self.sparse:
                G = np.asarray((X.T @ X).toarray(), dtype=np.float64)
                if self.center:
                    G -= n * np.outer(self.mean, self.mean)
                self.gram = G / n
                self._gram_done = None
                self.lip = np.maximum(np.diag(self.gram).copy(), 0.0)
            else:
                # dense: Gram columns on demand (ensure_gram), only for the coordinates
                # that enter a working set. With a sparse solution that is a small part
                # of the O(n p²) a full Gram matrix costs; the kernels read the columns
                # (and, by symmetry, the rows) of those coordinates only.
                self._X64 = np.asarray(X, dtype=np.float64)
                self.gram = np.zeros((self.p, self.p))
                self._gram_done = np.zeros(self.p, dtype=bool)
                self._gram_calls = 0
                self.lip = np.maximum(np.asarray(self.lip, dtype=np.float64), 0.0)

    def ensure_gram(self, cols):
        """Fill the Gram columns (and rows) of ``cols`` that are not computed yet.

        Each call is a pass over ``X``, so it also computes a few likely next columns
        (the coordinates with the largest gradient: ``max(16, |missing|)`` more); once a
        quarter of the columns would be in, it computes the whole matrix at once (one
        symmetric product, half the work per column).
        """
        done = self._gram_done
        if done is None:
            return
        cols = np.asarray(cols, dtype=np.int64)
        need = np.unique(cols[~done[cols]])
        if need.size == 0:
            return
        n_done = int(done.sum())
        want = min(2 * need.size + 16, self.p - n_done)
        if n_done + want > self.p // 4:
            X = self._X64
            G = X.T @ X  # NumPy calls syrk for XᵀX
            if self.center:
                G -= self.n * np.outer(self.mean, self.mean)
            G /= self.n
            self.gram = G
            self._gram_done = None
            self._gram_calls += 1
            return
        if want > need.size:
            score = np.abs(self.state) if getattr(self, "state", None) is not None \
                else np.abs(self.c)
            score = np.where(done, -1.0, score)
            score[need] = -1.0
            extra = np.argpartition(-score, want - need.size)[:want - need.size]
            need = np.union1d(need, extra[score[extra] >= 0])
        X = self._X64
        GJ = X.T @ X[:, need]  # p × |J|: one pass over X
        if self.center:
            GJ -= self.n * np.outer(self.mean, self.mean[need])
        GJ /= self.n
        self.gram[:, need] = GJ
        self.gram[need, :] = GJ.T
        done[need] = True
        self._gram_calls += 1
        if done.all():
            self._gram_done = None

    # --- products with the (implicitly centred) design -----------------------------
    def columns(self, cols):
        """``X[:, cols]``, cached for the current working set (sliced once, not per epoch)."""
        cache = getattr(self, "_cols_cache", None)
        if cache is not None and cache[0].shape == cols.shape and np.array_equal(cache[0], cols):
            return cache[1]
        sub = self.X[:, cols]
        self._cols_cache = (cols.copy(), sub)
        return sub

    def _all_cols(self):
        cols = getattr(self, "_all", None)
        if cols is None:
            cols = self._all = np.arange(self.p, dtype=np.int64)
        return cols

    def matvec(self, w, cols=None):
        """``X_c[:, cols] w`` (float64)."""
        if self.sparse:  # Numba on the CSC arrays: no scipy slicing/checks per call
            X = self.X
            c = self._all_cols() if cols is None else np.asarray(cols, dtype=np.int64)
            w64 = np.ascontiguousarray(w, dtype=np.float64)
            out = K.csc_matvec_cols(X.indptr, X.indices, X.data, w64, c, np.zeros(self.n))
            if self.center:
                mean = self.mean if cols is None else self.mean[cols]
                out -= float(mean @ w64)
            return out
        X = self.X if cols is None else self.columns(cols)
        mean = self.mean if cols is None else self.mean[cols]
        out = np.asarray(X @ w, dtype=np.float64).ravel()
        if self.center:
            out -= float(mean @ w)
        return out

    def rmatvec(self, v, cols=None):
        """``X_c[:, cols]ᵀ v`` (float64)."""
        if self.sparse:
            X = self.X
            c = self._all_cols() if cols is None else np.asarray(cols, dtype=np.int64)
            out = K.csc_rmatvec_cols(X.indptr, X.indices, X.data,
                                     np.ascontiguousarray(v, dtype=np.float64), c,
                                     np.empty(c.shape[0]))
        else:
            X = self.X if cols is None else self.columns(cols)
            out = np.asarray(X.T @ v, dtype=np.float64).ravel()
        if self.center:
            mean = self.mean if cols is None else self.mean[cols]
            out -= mean * float(np.sum(v))
        return out

    def init_state(self, w):
        if self.use_gram:  # the state is the gradient G w - c
            support = np.flatnonzero(w)
            self.state = None
            self.ensure_gram(support)
            w64 = w.astype(np.float64, copy=False)
            self.state = self.gram[:, support] @ w64[support] - self.c
        elif self.quadratic:
            self.state = (self.y - self.matvec(w)).astype(self.dtype, copy=False)
        else:
            self.state = self.matvec(w).astype(self.dtype, copy=False)
            if self.fit_intercept:
                self.update_intercept()

    # --- quantities of the current iterate -----------------------------------------
    def z(self):
        return self.y - self.state if self.quadratic else self.state

    def raw_grad(self):
        return self.datafit.raw_grad(self.y, self.z())

    def grad(self, cols=None):
        if self.use_gram:
            return self.state.copy() if cols is None else self.state[cols]
        if self.quadratic:  # raw gradient (z - y) / n = -r / n
            out = self.rmatvec(self.state.astype(np.float64, copy=False), cols)
            out *= -1.0 / self.n
            return out
        return self.rmatvec(self.raw_grad(), cols)

    def csr_arrays(self):
        """CSR arrays of sparse ``X`` (built once; greedy rules walk its rows)."""
        csr = getattr(self, "_csr", None)
        if csr is None:
            csr = self.X.tocsr()
            csr.sort_indices()
            self._csr = csr
        return csr.indptr, csr.indices, csr.data

    def grad_subset(self, cols):
        """Datafit gradient on the columns ``cols`` (dense ``X``: by dot products with
        its columns in place, where :meth:`grad` would copy them)."""
        if self.use_gram or self.sparse:
            return self.grad(cols)
        v = self.state.astype(np.float64) if self.quadratic else self.raw_grad()
        v = np.ascontiguousarray(v, dtype=np.float64)
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        out = K.dense_rmatvec_cols(self.X, v, cols, np.empty(cols.shape[0]))
        if self.center:
            out -= self.mean[cols] * float(np.sum(v))
        if self.quadratic:
            out *= -1.0 / self.n
        return out

    def kkt(self, w, grad):
        """Per-coordinate KKT violation (``penalty.subdiff_distance``) in one Numba pass."""
        grad = np.ascontiguousarray(grad, dtype=np.float64)
        out = np.empty(grad.shape[0])
        K.enet_kkt(np.ascontiguousarray(w, dtype=np.float64), grad, self.l1, self.l2, out)
        return out

    def residual_stats(self, w):
        """``‖r‖² / n`` and ``rᵀy / n`` of the least-squares residual ``r = y_c - X_c w``."""
        if self.use_gram:
            w64 = w.astype(np.float64, copy=False)
            wc = float(w64 @ self.c)
            return self.yy - 2 * wc + float(w64 @ (self.state + self.c)), self.yy - wc
        R = self.state.astype(np.float64, copy=False)
        return float(R @ R) / self.n, float(R @ self.y) / self.n

    def objective(self, w):
        if self.quadratic:
            return 0.5 * self.residual_stats(w)[0] + self.penalty.value(w)
        return self.datafit.value(self.y, self.z()) + self.penalty.value(w)

    def shift_state(self, delta, cols):
        """Account for ``w[cols] += delta`` in the state vector."""
        if self.use_gram:
            self.ensure_gram(cols)
            self.state += self.gram[:, cols] @ delta
        elif self.quadratic:
            self.state -= self.matvec(delta, cols).astype(self.dtype, copy=False)
        else:
            self.state += self.matvec(delta, cols).astype(self.dtype, copy=False)

    def update_intercept(self):
        """Newton steps on the logistic intercept (with halving), to convergence."""
        y = self.y.astype(np.float64)
        z = self.state.astype(np.float64)
        n = self.n
        f0 = self.datafit.value(y, z)
        for _ in range(20):
            s = 1.0 / (1.0 + np.exp(y * z))  # σ(-y z)
            g = -float(y @ s) / n
            h = float(s @ (1 - s)) / n
            step = -g / max(h, 1e-12)
            for _ in range(30):
                f1 = self.datafit.value(y, z + step)
                if f1 <= f0 + 0.25 * g * step:
                    break
                step *= 0.5
            else:
                break
            z = z + step
            f0 = f1
            self.intercept += step
            if abs(step) <= 1e-12 * (1.0 + abs(self.intercept)):
                break
        self.state = z.astype(self.dtype)

    def gap(self, w, grad=None):
        """Duality gap (absolute); NaN if the penalty has no dual (no penalty)."""
        pen = self.penalty
        if not pen.has_gap:
            return float("nan")
        if grad is None:
            grad = self.grad()
        l1, l2 = self.l1, self.l2
        w64 = w.astype(np.float64, copy=False)
        if self.quadratic:
            # scikit-learn's gap for the elastic net (cd_fast.pyx), divided by n
            r2, ry = self.residual_stats(w)
            v = -grad - l2 * w64  # X_cᵀ r / n - l2 w
            w2 = float(w64 @ w64)
            if l1 > 0:
                dual_norm = float(np.max(np.abs(v)))
                if dual_norm > l1:
                    const = l1 / dual_norm
                    gap = 0.5 * (r2 + r2 * const**2)
                else:
                    const = 1.0
                    gap = r2
                gap += (l1 * float(np.abs(w64).sum()) - const * ry
                        + 0.5 * l2 * (1 + const**2) * w2)
                return max(gap, 0.0)
            # ridge: Fenchel gap at θ = r / n
            dual = -0.5 * r2 + ry - pen.conjugate(-grad)
            return max(self.objective(w) - dual, 0.0)
        primal = self.objective(w)
        theta = -self.raw_grad()
        v = -grad
        if l2 == 0:
            vmax = float(np.max(np.abs(v)))
            if vmax > l1:
                theta = theta * (l1 / vmax)
                v = v * (l1 / vmax)
        dual = -self.datafit.conjugate_neg(self.y, theta) - pen.conjugate(v)
        return max(primal - dual, 0.0)


class _Solver:
    def __init__(self, prob, selection, rng, working_set, anderson, block_size=1):
        self.prob = prob
        self.block_size = block_size
        self.block_cache = None
        self.selection = selection
        self.rng = rng
        self.working_set = working_set
        self.anderson = anderson
        self.gram_cache = None
        self.newton = False
        self.newton_blocks = False
        self.n_inner = 50  # coordinate-descent passes on the block Newton model (L1)
        self.support_hist = []  # supports of the last epochs (active-set Newton)
        self.active_newton = True
        self.initial_grad = None
        self.screening = False
        self.heap = _USE_HEAP
        self.bounds = _BOUNDS
        self.on_path = False  # solving one of several problems on the same data
        prob = self.prob
        self.fused_inner = (prob.sparse and prob.quadratic and not prob.use_gram
                            and block_size == 1 and selection == "cyclic" and working_set)

    # --- one epoch over the coordinates ``ws`` -------------------------------------
    def epoch(self, w, ws):
        if self.block_size > 1:
            return self._epoch_blocks(w, ws)
        prob = self.prob
        sel = self.selection
        X = prob.X
        if prob.use_gram:
            prob.ensure_gram(ws)
        if sel in _GREEDY:
            rule = _GREEDY[sel]
            if prob.use_gram:
                K.greedy_gram_cols(prob.gram, prob.state, w, ws, prob.lip, prob.l1, prob.l2,
                                   rule, ws.shape[0])
            elif prob.sparse and not prob.center and _NEIGHBOURS and (
                    ws.shape[0] >= _NEIGHBOUR_MIN or (
                        not prob.quadratic and ws.shape[0] >= 2 * prob.X.nnz / prob.n)):
                # (logistic: the alternative recomputes the gradient on ws per update,
                # O(nnz(X_ws)), more than the O(Σ row lengths) of the column's rows)
                self._greedy_neighbours(w, ws, rule)
            elif prob.quadratic:
                gram = self._gram(ws)
                grad = prob.grad(ws)
                w_ws = w[ws].astype(np.float64)
                old = w_ws.copy()
                K.greedy_gram(gram, grad, w_ws, prob.lip[ws], prob.l1, prob.l2, rule,
                              ws.shape[0])
                delta = w_ws - old
                nz = np.flatnonzero(delta)
                if nz.size:
                    cols = ws[nz]
                    prob.shift_state(delta[nz], cols)
                    w[cols] = w_ws[nz]
            else:
                w_ws = w[ws].astype(np.float64)
                lip = prob.lip[ws]
                if prob.sparse:
                    K.greedy_logistic_csc(X.indptr, X.indices, X.data, prob.y, prob.state,
                                          w_ws, ws, lip, prob.l1, prob.l2, rule, ws.shape[0])
                else:
                    K.greedy_logistic_dense(X, prob.y, prob.state, w_ws, ws, lip, prob.mean,
                                            prob.l1, prob.l2, rule, ws.shape[0])
                w[ws] = w_ws
        else:
            if sel == "cyclic":
                coords = ws
            elif sel == "random":
                coords = self.rng.choice(ws, size=ws.shape[0])
            else:
                lip = prob.lip[ws]
                total = lip.sum()
                coords = ws if total <= 0 else self.rng.choice(ws, size=ws.shape[0],
                                                               p=lip / total)
            coords = np.ascontiguousarray(coords, dtype=np.int64)
            code = prob.datafit.code
            if self.newton and prob.sparse:
                K.epoch_newton_logistic_csc(X.indptr, X.indices, X.data, prob.y, prob.state, w,
                                            coords, prob.l1, prob.l2)
            elif self.newton:
                K.epoch_newton_logistic_dense(X, prob.y, prob.state, w, coords, prob.mean,
                                              prob.l1, prob.l2)
            elif prob.use_gram:
                K.epoch_gram(prob.gram, prob.state, w, coords, prob.lip, prob.l1, prob.l2)
            elif prob.sparse and prob.quadratic:
                K.epoch_csc_quadratic(X.indptr, X.indices, X.data, prob.colsum, prob.state, w,
                                      coords, prob.lip, prob.mean, prob.l1, prob.l2)
            elif prob.sparse:
                K.epoch_csc(X.indptr, X.indices, X.data, prob.colsum, prob.y, prob.state, w,
                            coords, prob.lip, prob.mean, prob.l1, prob.l2, code)
            else:
                K.epoch_dense(X, prob.y, prob.state, w, coords, prob.lip, prob.mean,
                              prob.l1, prob.l2, code)
        if prob.fit_intercept and not prob.quadratic:
            prob.update_intercept()

    def _greedy_neighbours(self, w, ws, rule, trace=None):
        """One greedy epoch (``|ws|`` updates) by :func:`K.greedy_csc_neighbours`."""
        prob = self.prob
        X = prob.X
        rptr, rcols, rdata = prob.csr_arrays()
        cols = np.ascontiguousarray(ws, dtype=np.int64)
        pos = np.full(prob.p, -1, dtype=np.int64)
        pos[cols] = np.arange(cols.shape[0])
        grad = np.ascontiguousarray(prob.grad(cols), dtype=np.float64)
        if trace is None:
            trace = np.zeros(0, dtype=np.int64)
        return K.greedy_csc_neighbours(
            X.indptr, X.indices, X.data, rptr, rcols, rdata, prob.y, prob.state, w, cols,
            pos, grad, prob.lip, prob.l1, prob.l2, rule, prob.datafit.code, cols.shape[0],
            bool(self.heap), trace)

    def _blocks(self, ws):
        """Fixed blocks: consecutive chunks of ``ws``, with their Lipschitz constants."""
        if self.block_cache is not None and np.array_equal(self.block_cache[0], ws):
            return self.block_cache[1:]
        prob = self.prob
        b = self.block_size
        bcols = np.ascontiguousarray(ws, dtype=np.int64)
        bptr = np.append(np.arange(0, ws.shape[0], b), ws.shape[0]).astype(np.int64)
        lipb = np.empty(bptr.shape[0] - 1)
        factor = 0.25 if not prob.quadratic else 1.0
        hblocks = []
        for k in range(lipb.shape[0]):
            cols = bcols[bptr[k]:bptr[k + 1]]
            if prob.use_gram:
                G = prob.gram[np.ix_(cols, cols)]
            else:
                Xb = prob.X[:, cols]
                G = (Xb.T @ Xb).toarray() if prob.sparse else Xb.T @ Xb
                G = np.asarray(G, dtype=np.float64)
                if prob.center:
                    G = G - prob.n * np.outer(prob.mean[cols], prob.mean[cols])
                G /= prob.n
            lipb[k] = factor * float(np.linalg.eigvalsh(G)[-1])
            hblocks.append(np.ascontiguousarray(G).ravel())
        # block Hessians of the least-squares datafit (constant), packed row-major
        self.hpack = np.concatenate(hblocks) if hblocks else np.zeros(0)
        self.hptr = np.concatenate(([0], np.cumsum([h.shape[0] for h in hblocks]))).astype(
            np.int64)
        self.block_cache = (ws.copy(), bptr, bcols, lipb)
        return bptr, bcols, lipb

    def _epoch_blocks(self, w, ws):
        prob = self.prob
        if prob.use_gram:
            prob.ensure_gram(ws)
        sel = self.selection
        X = prob.X
        if sel in _GREEDY:  # variable blocks of the best-scored coordinates (Gram mode)
            n_steps = -(-ws.shape[0] // self.block_size)
            K.greedy_gram_blocks(prob.gram, prob.state, w, ws, prob.lip, prob.l1, prob.l2,
                                 _GREEDY[sel], n_steps, self.block_size)
            return
        bptr, bcols, lipb = self._blocks(ws)
        nb = lipb.shape[0]
        if sel == "cyclic":
            order = np.arange(nb)
        elif sel == "random":
            order = self.rng.integers(nb, size=nb)
        else:
            total = lipb.sum()
            order = np.arange(nb) if total <= 0 else self.rng.choice(nb, size=nb,
                                                                     p=lipb / total)
        order = order.astype(np.int64)
        code = prob.datafit.code
        if self.newton_blocks:
            # active-set Newton once the support has been the same for two epochs
            support = w != 0
            hist = self.support_hist
            if hist and hist[-1].shape != support.shape:
                hist.clear()
            hist.append(support)
            del hist[:-3]
            active = (self.active_newton and prob.l1 > 0 and len(hist) == 3
                      and all(np.array_equal(h, support) for h in hist[:-1]))
            if prob.sparse:
                K.epoch_newton_blocks_csc(X.indptr, X.indices, X.data, prob.colsum, prob.y,
                                          prob.state, w, bptr, bcols, order, self.hpack,
                                          self.hptr, lipb, prob.mean, prob.l1, prob.l2, code,
                                          self.n_inner, active)
            else:
                K.epoch_newton_blocks_dense(X, prob.y, prob.state, w, bptr, bcols, order,
                                            self.hpack, self.hptr, lipb, prob.mean, prob.l1,
                                            prob.l2, code, self.n_inner, active)
        elif prob.use_gram:
            K.epoch_blocks_gram(prob.gram, prob.state, w, bptr, bcols, order, lipb, prob.l1,
                                prob.l2)
        elif prob.sparse:
            K.epoch_blocks_csc(X.indptr, X.indices, X.data, prob.colsum, prob.y, prob.state, w,
                               bptr, bcols, order, lipb, prob.mean, prob.l1, prob.l2, code)
        else:
            K.epoch_blocks_dense(X, prob.y, prob.state, w, bptr, bcols, order, lipb, prob.mean,
                                 prob.l1, prob.l2, code)
        if prob.fit_intercept and not prob.quadratic:
            prob.update_intercept()

    def _gram(self, ws):
        prob = self.prob
        if self.gram_cache is not None and self.gram_cache[0].shape == ws.shape and \
                np.array_equal(self.gram_cache[0], ws):
            return self.gram_cache[1]
        Xw = prob.columns(ws)
        if prob.sparse:
            G = np.asarray((Xw.T @ Xw).toarray(), dtype=np.float64)
        else:
            Xw = np.asarray(Xw, dtype=np.float64)
            G = Xw.T @ Xw
        if prob.center:
            m = prob.mean[ws]
            G -= prob.n * np.outer(m, m)
        G /= prob.n
        self.gram_cache = (ws.copy(), G)
        return G

    def _fused_inner(self, w, ws, max_epochs, inner_tol, iterates):
        """Inner loop of a working-set solve by :func:`K.ws_epochs_csc_quadratic`, with
        Anderson extrapolation every ``k + 1 = 6`` epochs as in the Python loop. Sets
        ``self._fused_epochs``; returns the gradient on ``ws`` at the final ``w`` if the
        loop stopped on its KKT check (else None)."""
        prob = self.prob
        X = prob.X
        coords = np.ascontiguousarray(ws, dtype=np.int64)
        grad = np.empty(coords.shape[0])
        done_total = 0
        while done_total < max_epochs:
            room = max_epochs - done_total
            if self.anderson:
                room = min(room, 6 - len(iterates))
            hist = np.empty((room, coords.shape[0]))
            done, kmax = K.ws_epochs_csc_quadratic(
                X.indptr, X.indices, X.data, prob.colsum, prob.state, w, coords, prob.lip,
                prob.mean, prob.l1, prob.l2, room, inner_tol, hist, grad, 1.0)
            done_total += done
            moved = False
            if self.anderson:
                for e in range(done):
                    moved = self._anderson(w, ws, iterates, current=hist[e]) or moved
            if kmax <= inner_tol and not moved:
                self._fused_epochs = done_total
                return grad
        self._fused_epochs = done_total
        return None

    # --- the outer loop -----------------------------------------------------------------
    def run(self, w, max_iter, tol, callback, return_history, progress):
        prob = self.prob
        p = prob.p
        all_cols = np.arange(p)
        has_gap = prob.penalty.has_gap
        # least squares with l1 > 0 (lasso, enet, their paths): gap and KKT in one kernel
        fused = prob.quadratic and not prob.use_gram and prob.l1 > 0
        # ... from gradients computed only where they can matter (see _bounded_grad)
        bounded = fused and self.bounds
        bound = None
        if bounded:
            grad = None
        else:
            grad = prob.grad() if self.initial_grad is None else self.initial_grad
        if has_gap:
            target = tol * prob.scale
        else:
            g0 = prob.penalty.subdiff_distance(np.zeros(p), prob.rmatvec(
                prob.datafit.raw_grad(prob.y, np.zeros(prob.n)) if not prob.quadratic
                else -prob.y / prob.n))
            target = tol * max(float(np.max(g0)), np.finfo(float).tiny)
        history = [] if return_history else None
        obj_hist = [prob.objective(w)] if return_history else None
        upd_hist = [0] if return_history else None
        n_epochs = 0
        n_updates = 0
        status = Status.MAX_ITER
        measure = np.inf
        # gap safe screening: coordinates certified zero leave the fit for good; `grad`
        # stays of length p, zero on them (so the gap is the restricted problem's)
        screened = np.zeros(p, dtype=np.bool_) if self.screening else None
        keep = all_cols
        while True:
            if grad is None:
                grad, bound = self._bounded_grad(w, screened)
            if fused:
                kkt = np.empty(p)
                measure = K.enet_gap_kkt(prob.state, prob.y, w,
                                         np.ascontiguousarray(grad, dtype=np.float64),
                                         prob.l1, prob.l2, kkt)[0]
            else:
                kkt = prob.kkt(w, grad)
                measure = prob.gap(w, grad) if has_gap else float(np.max(kkt))
            if history is not None:
                history.append(measure)
            progress.update(n_epochs, measure)
            if measure <= target:
                status = Status.SUCCESS
                break
            if not math.isfinite(measure):
                status = Status.DIVERGED
                break
            if n_epochs >= max_iter:
                break
            if screened is not None:
                keep, grad, kkt = self._screen(w, grad, kkt, measure, screened, keep, bound)
            ws = self._working_set(w, kkt, keep) if self.working_set else keep
            # Inner epochs on the working set are cheap next to the full gradient of an outer
            # check, so solve the subproblem well (skglm uses 0.3; 0.03 saves ~25% of the
            # outer checks along a sparse lasso path).
            inner_tol = 0.03 * float(np.max(kkt))
            grad_ws = None
            full = not self.working_set
            stop = False
            iterates = []
            use_fused = (self.fused_inner and not full and callback is None
                         and obj_hist is None)
            if use_fused:
                # sparse least squares, cyclic: epochs and their KKT checks in one kernel
                grad_ws = self._fused_inner(w, ws, max_iter - n_epochs, inner_tol, iterates)
                n_epochs += self._fused_epochs
                n_updates += self._fused_epochs * ws.shape[0]
            while not use_fused and n_epochs < max_iter:
                self.epoch(w, ws)
                n_epochs += 1
                n_updates += ws.shape[0]
                if self.anderson and not full:
                    self._anderson(w, ws, iterates)
                if obj_hist is not None:
                    obj_hist.append(prob.objective(w))
                    upd_hist.append(n_updates)
                if callback is not None:
                    try:
                        callback(w.copy())
                    except StopIteration:
                        stop = True
                        break
                if full:
                    break
                grad_ws = prob.grad(ws)
                kkt_ws = prob.kkt(w[ws], grad_ws)
                if float(np.max(kkt_ws)) <= inner_tol:
                    break
                grad_ws = None
            # the working set's gradient is the full one when it holds every coordinate
            if bounded:
                grad = None  # computed at the check
            elif keep.shape[0] == p:
                grad = grad_ws if grad_ws is not None and ws.shape[0] == p else prob.grad()
            else:
                grad_keep = (grad_ws if grad_ws is not None and ws.shape[0] == keep.shape[0]
                             else prob.grad_subset(keep))
                grad = np.zeros(p)
                grad[keep] = grad_keep
            if stop:
                status = Status.CALLBACK_STOP
                if grad is None:
                    grad, bound = self._bounded_grad(w, screened)
                measure = prob.gap(w, grad) if has_gap else float(
                    np.max(prob.kkt(w, grad)))
                break
        progress.update(n_epochs, measure, final=True)
        # the gradient at the returned coef (reused along a path; unknown on screened ones)
        prob.last_grad = grad if keep.shape[0] == p and not bounded else None
        gap = measure if has_gap else float("nan")
        w64 = w.astype(np.float64, copy=False)
        intercept = prob.intercept + prob.y_offset - float(prob.mean @ w64)
        result = make_result(
            status=status, n_iter=n_epochs, coef=w, intercept=float(intercept),
            n_updates=int(n_updates), dual_gap=float(gap), objective=prob.objective(w),
            tol_abs=float(target),
            screened=np.flatnonzero(screened) if screened is not None else np.zeros(0, int),
        )
        if history is not None:
            result.history = np.asarray(history)
            result.objective_history = np.asarray(obj_hist)
            result.updates_history = np.asarray(upd_hist)
        if status is Status.MAX_ITER or status is Status.DIVERGED:
            what = "duality gap" if has_gap else "largest KKT violation"
            unit = prob.scale if has_gap else target / max(tol, np.finfo(float).tiny)
            warnings.warn(
                f"coordinate_descent did not converge after {n_epochs} epochs: {what} "
                f"{measure:.3e} ({measure / unit:.3e} relative) is above the target "
                f"{target:.3e} (tol={tol:g} relative). Increase max_iter or tol.",
                ConvergenceWarning, stacklevel=3,
            )
        return result

    def _working_set(self, w, kkt, keep):
        """The support and the most violating coordinates among ``keep`` (the unscreened
        ones, sorted)."""
        m = keep.shape[0]
        support = w != 0
        n_supp = int(support.sum())
        size = min(m, max(10, 2 * n_supp))
        if size >= m:
            return keep
        score = np.where(support, np.inf, kkt)
        if m < w.shape[0]:
            ws = keep[np.argpartition(-score[keep], size - 1)[:size]]
        else:
            ws = np.argpartition(-score, size - 1)[:size]
        return np.sort(ws)

    def _bounded_grad(self, w, screened):
        """Least squares: the datafit gradient ``g`` where it can matter, exactly.

        ``prob.bound_ref`` holds, for a reference residual ``r_ref`` (coefficients
        ``w_ref``), bounds ``B_j ≥ |g_j|`` and, after a full pass, ``g`` itself.

        * Sparse ``X`` with ``g`` at hand: ``g`` is moved to the current coefficients
          exactly, ``Δg = Xᵀ X Δw / n - m (mᵀ Δw)`` through the rows of the columns that
          moved (:func:`K.csc_gram_update`), when that is much cheaper than a full pass.
        * Otherwise, at the residual ``r``, ``|g_j| ≤ B_j + √L_j ‖r - r_ref‖ / √n``
          (Cauchy–Schwarz, ``L_j = ‖x_j - m_j‖² / n``). A coordinate with ``w_j = 0``
          whose bound is below ``l1`` has no KKT violation and cannot change the dual
          scaling of the gap (``|g_j| < l1``), so its gradient is skipped (left 0): the gap
          and the KKT violations computed from the returned ``grad`` are the full ones.

        The bounds then move to the current residual (skipped ones grow, computed ones
        become exact); they depend on the residual only, so they stay valid along a path.
        Screened coordinates are left at 0 in ``grad`` (the restricted problem's gap).
        Returns ``grad`` and, for screening, the bounds with the signed gradient where it
        is known.
        """
        prob = self.prob
        p = prob.p
        r = prob.state.astype(np.float64)
        w64 = w.astype(np.float64)
        ref = getattr(prob, "bound_ref", None)
        sqrt_lip = getattr(prob, "_sqrt_lip", None)
        if sqrt_lip is None:
            sqrt_lip = prob._sqrt_lip = np.sqrt(prob.lip)
        g_full = None
        # (building the CSR copy of X costs about a full pass: only for paths, or if built)
        incremental = prob.sparse and (self.on_path or getattr(prob, "_csr", None) is not None)
        if ref is not None and ref["g"] is not None and incremental and ref["n_inc"] < 50:
            dw = w64 - ref["w"]
            moved = np.flatnonzero(dw)
            X = prob.X
            colnnz = np.diff(X.indptr)
            cost = float(colnnz[moved].sum()) * X.nnz / prob.n
            if cost < 0.25 * X.nnz:
                rptr, rcols, rdata = prob.csr_arrays()
                delta = np.zeros(p)
                v = getattr(self, "_work_n", None)
                if v is None or v.shape[0] != prob.n:
                    v = self._work_n = np.zeros(prob.n)
                K.csc_gram_update(X.indptr, X.indices, X.data, rptr, rcols, rdata,
                                  moved.astype(np.int64), dw[moved], v, delta)
                delta /= prob.n
                if prob.center:
                    delta -= prob.mean * float(prob.mean @ dw)
                g_full = ref["g"] + delta
                n_inc = ref["n_inc"] + 1
        if g_full is not None:
            cols = None
            ub = np.abs(g_full)
        elif ref is None:
            cols = np.arange(p)
            ub = np.zeros(p)
        else:
            diff = r - ref["r"]
            delta = math.sqrt(float(diff @ diff) / prob.n)
            ub = ref["B"] + sqrt_lip * delta
            need = (ub >= prob.l1 * (1.0 - 1e-9)) | (w != 0)
            if screened is not None:
                need &= ~screened
            cols = np.flatnonzero(need)
            n_keep = p if screened is None else p - int(screened.sum())
            if cols.shape[0] > 0.5 * n_keep:  # most are needed: one pass over all
                # (the screened ones too where the full gradient is moved incrementally)
                cols = (np.arange(p) if incremental or screened is None
                        else np.flatnonzero(~screened))
        if cols is not None and cols.shape[0] == p:
            g_full = prob.grad()
            n_inc = 0
            ub = np.abs(g_full)
        if g_full is not None:
            grad = g_full.copy()
            if screened is not None:
                grad[screened] = 0.0
            bound = g_full
        else:
            g = prob.grad_subset(cols)
            grad = np.zeros(p)
            grad[cols] = g
            ub[cols] = np.abs(g)
            bound = ub.copy()
            bound[cols] = g
            n_inc = 0
        prob.bound_ref = dict(r=r, w=w64, B=ub, g=g_full, n_inc=n_inc)
        return grad, bound

    def _screen(self, w, grad, kkt, gap, screened, keep, bound=None):
        """Gap safe screening at the current check (see :func:`K.gap_safe_screen`): new
        screened coordinates are set to zero (their state contribution removed) and
        leave ``keep``; returns the new ``keep``, ``grad`` and ``kkt``. ``bound`` (from
        :meth:`_bounded_grad`) replaces ``grad`` in the test where it was skipped."""
        prob = self.prob
        if not math.isfinite(gap):
            return keep, grad, kkt
        # margin for rounding in the computed gap (in the units of tol)
        gap_s = gap + 16 * float(np.finfo(prob.dtype).eps) * prob.scale
        grad = np.array(grad, dtype=np.float64)  # a copy: `grad` may be shared (paths)
        test = grad if bound is None else np.ascontiguousarray(bound, dtype=np.float64)
        if K.gap_safe_screen(w, test, prob.lip, prob.l1, prob.l2, gap_s, screened) == 0:
            return keep, grad, kkt
        new = keep[screened[keep]]
        nz = new[w[new] != 0]
        if nz.size:
            prob.shift_state(-w[nz].astype(np.float64), nz)
            w[nz] = 0
        grad[new] = 0.0
        kkt = np.array(kkt, dtype=np.float64)
        kkt[new] = 0.0
        return np.flatnonzero(~screened), grad, kkt

    def _anderson(self, w, ws, iterates, k=5, current=None):
        """Anderson extrapolation of the last ``k + 1`` epochs on ``ws``; kept if better
        (then returns True). ``current`` is ``w[ws]`` if already at hand."""
        iterates.append(w[ws].astype(np.float64) if current is None else current)
        if len(iterates) < k + 1:
            return False
        prob = self.prob
        W = np.asarray(iterates)
        iterates.clear()
        U = np.diff(W, axis=0)
        C = U @ U.T
        try:
            z = np.linalg.solve(C + 1e-10 * np.trace(C) * np.eye(k) + 1e-300 * np.eye(k),
                                np.ones(k))
        except np.linalg.LinAlgError:
            return False
        if not np.all(np.isfinite(z)) or np.sum(z) == 0:
            return False
        c = z / np.sum(z)
        w_acc = c @ W[1:]
        cur = W[-1]
        old_obj = prob.objective(w)
        old_state = prob.state.copy()
        old_b = prob.intercept
        delta = w_acc - cur
        prob.shift_state(delta, ws)
        w_new = w.copy()
        w_new[ws] = w_acc
        if prob.fit_intercept and not prob.quadratic:
            prob.update_intercept()
        if prob.objective(w_new) < old_obj:
            w[ws] = w_acc
            return True
        prob.state = old_state
        prob.intercept = old_b
        return False
