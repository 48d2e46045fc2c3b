"""The test problems of Nutini, Laradji & Schmidt (JMLR 2022) for coordinate descent.

Least squares, binary logistic, multiclass (softmax) logistic and L1-regularized problems
on synthetic designs whose two knobs are the ones greedy and Lipschitz-based rules feed on:
the correlation between features (``correlation``) and the spread of the coordinate-wise
Lipschitz constants (``column_scale``). Label propagation on a 2-D lattice and on a
two-moons k-nearest-neighbour graph, returned both as a least-squares problem for
:func:`numlearn.linear_model.coordinate_descent` and as the Laplacian system it is
equivalent to.

Everything is generated; nothing is downloaded.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from numlearn._validation import check_option, check_random_state, check_scalar

__all__ = [
    "cd_least_squares",
    "cd_logistic",
    "cd_softmax",
    "cd_l1_problem",
    "LabelPropagationProblem",
    "label_propagation_lattice",
    "label_propagation_moons",
]


# ---------------------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------------------
def _design(rng, n_samples, n_features, correlation, column_scale):
    """``X = √(1-ρ) Z + √ρ g 1ᵀ`` (equicorrelated columns), columns scaled log-uniformly
    in ``[1, column_scale]`` (scaling leaves the correlations unchanged)."""
    Z = rng.standard_normal((n_samples, n_features))
    if correlation > 0:
        g = rng.standard_normal((n_samples, 1))
        Z = np.sqrt(1.0 - correlation) * Z + np.sqrt(correlation) * g
    if column_scale > 1:
        Z *= column_scale ** rng.uniform(size=n_features)
    return np.asfortranarray(Z)


def _check_design_args(n_samples, n_features, correlation, column_scale):
    n_samples = check_scalar(n_samples, "n_samples", kind=int, low=1)
    n_features = check_scalar(n_features, "n_features", kind=int, low=1)
    correlation = check_scalar(correlation, "correlation", low=0.0, high=1.0,
                               include_high=False)
    column_scale = check_scalar(column_scale, "column_scale", low=1.0)
    return n_samples, n_features, correlation, column_scale


def _coef(rng, n_features, n_informative):
    if n_informative is None:
        return rng.standard_normal(n_features)
    n_informative = check_scalar(n_informative, "n_informative", kind=int, low=1,
                                 high=n_features)
    coef = np.zeros(n_features)
    support = rng.choice(n_features, n_informative, replace=False)
    coef[support] = rng.standard_normal(n_informative)
    return coef


def cd_least_squares(n_samples: int = 1000, n_features: int = 100, *,
                     correlation: float = 0.0, column_scale: float = 1.0,
                     n_informative: int | None = None, noise: float = 0.1,
                     return_coef: bool = False, random_state: Any = None):
    """Least-squares problem ``min_w ‖y - X w‖² / (2 n)`` on an equicorrelated design.

    ``X = √(1-ρ) Z + √ρ g 1ᵀ`` with ``Z``, ``g`` standard normal, so any two columns have
    correlation ``ρ = correlation``; column ``j`` is then multiplied by
    ``column_scale ** u_j`` (``u_j`` uniform on [0, 1]), which spreads the coordinate
    Lipschitz constants ``L_j = ‖X_j‖² / n`` over ``[1, column_scale²]`` — the setting in
    which Lipschitz sampling and the Gauss–Southwell–Lipschitz rule beat uniform rules.
    ``y = X w* + noise · ε``.

    Parameters
    ----------
    n_samples, n_features : int
    correlation : float in [0, 1), default 0
    column_scale : float ≥ 1, default 1
    n_informative : int, optional
        Number of nonzero entries of ``w*`` (None: all, drawn standard normal).
    noise : float ≥ 0, default 0.1
    return_coef : bool, default False
        Also return ``w*``.
    random_state : None, int or Generator

    Returns
    -------
    X : ndarray, shape (n_samples, n_features), Fortran-ordered
    y : ndarray, shape (n_samples,)
    coef : ndarray, shape (n_features,)
        Only if ``return_coef``.

    Examples
    --------
    >>> from numlearn.datasets import cd_least_squares
    >>> X, y = cd_least_squares(200, 10, correlation=0.5, random_state=0)
    >>> X.shape, y.shape
    ((200, 10), (200,))
    """
    n, p, rho, scale = _check_design_args(n_samples, n_features, correlation, column_scale)
    noise = check_scalar(noise, "noise", low=0.0)
    rng = check_random_state(random_state)
    X = _design(rng, n, p, rho, scale)
    coef = _coef(rng, p, n_informative)
    y = X @ coef + noise * rng.standard_normal(n)
    return (X, y, coef) if return_coef else (X, y)


def cd_logistic(n_samples: int = 1000, n_features: int = 100, *, correlation: float = 0.0,
                column_scale: float = 1.0, n_informative: int | None = None,
                label_noise: float = 0.0, return_coef: bool = False,
                random_state: Any = None):
    """Binary logistic-regression problem with labels in {-1, +1}.

    The design is that of :func:`cd_least_squares`; ``y = sign(X w*)``, then a fraction
    ``label_noise`` of the labels (chosen at random) is flipped. With ``label_noise=0``
    the data are linearly separable by ``w*`` (the unregularized problem has no minimizer:
    use an L1/L2 penalty).

    Parameters
    ----------
    n_samples, n_features, correlation, column_scale, n_informative
        As in :func:`cd_least_squares`.
    label_noise : float in [0, 0.5], default 0
    return_coef : bool, default False
    random_state : None, int or Generator

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray of float, shape (n_samples,), values -1.0 and +1.0
    coef : ndarray, shape (n_features,)
        Only if ``return_coef``.

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import cd_logistic
    >>> X, y, w = cd_logistic(100, 5, return_coef=True, random_state=0)
    >>> sorted(np.unique(y).tolist()), bool(np.all(y * (X @ w) > 0))
    ([-1.0, 1.0], True)
    """
    n, p, rho, scale = _check_design_args(n_samples, n_features, correlation, column_scale)
    label_noise = check_scalar(label_noise, "label_noise", low=0.0, high=0.5)
    rng = check_random_state(random_state)
    X = _design(rng, n, p, rho, scale)
    coef = _coef(rng, p, n_informative)
    y = np.where(X @ coef >= 0, 1.0, -1.0)
    n_flip = int(round(label_noise * n))
    if n_flip:
        flip = rng.choice(n, n_flip, replace=False)
        y[flip] = -y[flip]
    return (X, y, coef) if return_coef else (X, y)


def cd_softmax(n_samples: int = 1000, n_features: int = 100, n_classes: int = 50, *,
               correlation: float = 0.0, column_scale: float = 1.0,
               label_noise: float = 0.0, return_coef: bool = False,
               random_state: Any = None):
    """Multiclass (softmax) logistic-regression problem, 50 classes by default as in the
    paper.

    The design is that of :func:`cd_least_squares`; ``W*`` (``n_features × n_classes``) is
    standard normal and ``y_i = argmax_k (X W*)_ik``; then a fraction ``label_noise`` of
    the labels is replaced by uniformly drawn classes.

    Parameters
    ----------
    n_samples, n_features : int
    n_classes : int ≥ 2, default 50
    correlation, column_scale
        As in :func:`cd_least_squares`.
    label_noise : float in [0, 1], default 0
    return_coef : bool, default False
    random_state : None, int or Generator

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray of int64, shape (n_samples,), values in ``0 .. n_classes - 1``
    coef : ndarray, shape (n_features, n_classes)
        Only if ``return_coef``.

    Examples
    --------
    >>> from numlearn.datasets import cd_softmax
    >>> X, y = cd_softmax(500, 20, n_classes=5, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((500, 20), [0, 1, 2, 3, 4])
    """
    n, p, rho, scale = _check_design_args(n_samples, n_features, correlation, column_scale)
    n_classes = check_scalar(n_classes, "n_classes", kind=int, low=2)
    label_noise = check_scalar(label_noise, "label_noise", low=0.0, high=1.0)
    rng = check_random_state(random_state)
    X = _design(rng, n, p, rho, scale)
    W = rng.standard_normal((p, n_classes))
    y = np.argmax(X @ W, axis=1).astype(np.int64)
    n_noisy = int(round(label_noise * n))
    if n_noisy:
        idx = rng.choice(n, n_noisy, replace=False)
        y[idx] = rng.integers(n_classes, size=n_noisy)
    return (X, y, W) if return_coef else (X, y)


def cd_l1_problem(kind: str = "least_squares", n_samples: int = 500, n_features: int = 1000,
                  *, n_informative: int = 10, alpha_ratio: float = 0.1,
                  correlation: float = 0.0, column_scale: float = 1.0, noise: float = 0.1,
                  label_noise: float = 0.05, random_state: Any = None):
    """An L1-regularized problem ``min_w F(X w) + alpha ‖w‖₁`` with a sparse solution.

    ``kind="least_squares"``: ``F(z) = ‖y - z‖² / (2 n)`` (scikit-learn's ``Lasso``
    scaling, no intercept); ``kind="logistic"``: ``F(z) = Σ log(1 + exp(-y_i z_i)) / n``
    with ``y`` in {-1, +1}. The data come from :func:`cd_least_squares` /
    :func:`cd_logistic` with ``n_informative`` nonzero true coefficients, and
    ``alpha = alpha_ratio · alpha_max``, where ``alpha_max = ‖∇F(0)ᵀ X‖_∞`` is the
    smallest ``alpha`` for which ``w = 0`` is optimal: ``‖Xᵀ y‖_∞ / n`` for least squares,
    ``‖Xᵀ y‖_∞ / (2 n)`` for the logistic loss.

    Parameters
    ----------
    kind : {"least_squares", "logistic"}
    n_samples, n_features : int
        Default ``n_features > n_samples`` (the high-dimensional regime of L1 problems).
    n_informative : int, default 10
    alpha_ratio : float in (0, 1], default 0.1
    correlation, column_scale, noise
        As in :func:`cd_least_squares` (``noise`` for least squares only).
    label_noise : float, default 0.05
        As in :func:`cd_logistic` (logistic only).
    random_state : None, int or Generator

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    alpha : float

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import cd_l1_problem
    >>> X, y, alpha = cd_l1_problem(n_samples=50, n_features=80, alpha_ratio=1.0,
    ...                             random_state=0)
    >>> bool(np.isclose(alpha, np.abs(X.T @ y).max() / 50))
    True
    """
    kind = check_option(kind, "kind", ("least_squares", "logistic"))
    alpha_ratio = check_scalar(alpha_ratio, "alpha_ratio", low=0.0, high=1.0,
                               include_low=False)
    if kind == "least_squares":
        X, y = cd_least_squares(n_samples, n_features, correlation=correlation,
                                column_scale=column_scale, n_informative=n_informative,
                                noise=noise, random_state=random_state)
        alpha_max = float(np.max(np.abs(X.T @ y))) / X.shape[0]
    else:
        X, y = cd_logistic(n_samples, n_features, correlation=correlation,
                           column_scale=column_scale, n_informative=n_informative,
                           label_noise=label_noise, random_state=random_state)
        alpha_max = float(np.max(np.abs(X.T @ y))) / (2 * X.shape[0])
    return X, y, alpha_ratio * alpha_max


# ---------------------------------------------------------------------------------------
# Label propagation
# ---------------------------------------------------------------------------------------
class LabelPropagationProblem(NamedTuple):
    """Label propagation on a weighted graph, as least squares and as a Laplacian system.

    With edge weights ``w_e`` (each undirected edge ``e = (i, j)`` once), labelled values
    ``y_L`` (±1) fixed and unlabelled values ``x`` free, label propagation (the harmonic
    solution of Zhu, Ghahramani & Lafferty 2003) minimizes
    ``f(x) = ½ Σ_e w_e (x_i − x_j)²``. Writing ``B`` for the ``n_edges × n_nodes`` matrix
    with rows ``√w_e (e_i − e_j)``, ``f(x) = ½ ‖B_U x + B_L y_L‖²``:

    - ``X = B_U`` (CSC) and ``y = −B_L y_L`` make it the least-squares problem
      ``min ‖y − X x‖² / (2 n_edges)`` (= ``f / n_edges``, same minimizer) that
      :func:`numlearn.linear_model.coordinate_descent` solves directly with the
      ``Quadratic`` datafit and ``NoPenalty`` (a coordinate update is exactly the
      Gauss–Seidel / label-averaging step ``x_i ← Σ_j w_ij x_j / Σ_j w_ij``);
    - its normal equations are the Laplacian system ``A x = b`` with ``A = L_UU`` and
      ``b = −L_UL y_L = W_UL y_L``, where ``L = BᵀB = D − W`` is the graph Laplacian.

    Every connected component holds a labelled node, so ``A`` is positive definite.

    Attributes
    ----------
    X : scipy.sparse.csc_matrix, shape (n_edges, n_unlabelled)
    y : ndarray, shape (n_edges,)
    A : scipy.sparse.csr_matrix, shape (n_unlabelled, n_unlabelled)
    b : ndarray, shape (n_unlabelled,)
    laplacian : scipy.sparse.csr_matrix, shape (n_nodes, n_nodes)
        ``D − W`` of the whole graph (rows sum to zero, positive semidefinite).
    labels : ndarray of float, shape (n_nodes,)
        The true class (±1) of every node.
    labelled : ndarray of bool, shape (n_nodes,)
    positions : ndarray, shape (n_nodes, 2)
        Node coordinates (lattice cell or moon point).
    """

    X: sp.csc_matrix
    y: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray
    laplacian: sp.csr_matrix
    labels: np.ndarray
    labelled: np.ndarray
    positions: np.ndarray


def _choose_labelled(rng, labels, labelled_fraction):
    """A random labelled set of ``round(fraction · n)`` nodes, at least one per class."""
    n = labels.shape[0]
    k = max(2, int(round(labelled_fraction * n)))
    k = min(k, n - 1)
    labelled = np.zeros(n, dtype=bool)
    for c in (-1.0, 1.0):  # one per class first
        labelled[rng.choice(np.flatnonzero(labels == c))] = True
    rest = np.flatnonzero(~labelled)
    extra = k - int(labelled.sum())
    if extra > 0:
        labelled[rng.choice(rest, extra, replace=False)] = True
    return labelled


def _build_problem(rng, edges, weights, labels, labelled, positions):
    n = labels.shape[0]
    m = edges.shape[0]
    # each connected component needs a labelled node (else L_UU is singular)
    W = sp.coo_matrix((weights, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    W = W + W.T
    n_comp, comp = connected_components(W, directed=False)
    for c in range(n_comp):
        members = np.flatnonzero(comp == c)
        if not labelled[members].any():
            labelled[rng.choice(members)] = True
    if labelled.all():  # keep at least one unknown
        labelled[np.flatnonzero(labelled)[-1]] = False
    sq = np.sqrt(weights)
    rows = np.repeat(np.arange(m), 2)
    cols = edges.ravel()
    vals = np.column_stack([sq, -sq]).ravel()
    B = sp.csc_matrix((vals, (rows, cols)), shape=(m, n))
    unl = np.flatnonzero(~labelled)
    lab = np.flatnonzero(labelled)
    XU = B[:, unl].tocsc()
    XU.sort_indices()
    y = -(B[:, lab] @ labels[lab])
    degree = np.asarray(W.sum(axis=1)).ravel()
    L = (sp.diags(degree) - W).tocsr()
    A = L[unl][:, unl].tocsr()
    b = -(L[unl][:, lab] @ labels[lab])
    return LabelPropagationProblem(X=XU, y=np.asarray(y, dtype=np.float64), A=A,
                                   b=np.asarray(b, dtype=np.float64), laplacian=L,
                                   labels=labels, labelled=labelled, positions=positions)


def label_propagation_lattice(n_grid: int = 50, *, labelled_fraction: float = 0.05,
                              random_state: Any = None) -> LabelPropagationProblem:
    """Label propagation on an ``n_grid × n_grid`` 4-neighbour lattice (unit weights).

    Node ``(r, c)`` (index ``r · n_grid + c``) belongs to class +1 if
    ``c < n_grid / 2`` and to −1 otherwise (left/right halves); a random fraction
    ``labelled_fraction`` of the nodes (at least one per class) is labelled. See
    :class:`LabelPropagationProblem` for the formulation and the returned fields.

    Parameters
    ----------
    n_grid : int ≥ 2, default 50 (the paper's 50 × 50 lattice)
    labelled_fraction : float in (0, 1), default 0.05
    random_state : None, int or Generator

    Returns
    -------
    LabelPropagationProblem

    Examples
    --------
    >>> from numlearn.datasets import label_propagation_lattice
    >>> prob = label_propagation_lattice(10, labelled_fraction=0.1, random_state=0)
    >>> prob.laplacian.shape, prob.X.shape[0], int(prob.labelled.sum())
    ((100, 100), 180, 10)
    """
    n_grid = check_scalar(n_grid, "n_grid", kind=int, low=2)
    labelled_fraction = check_scalar(labelled_fraction, "labelled_fraction", low=0.0,
                                     high=1.0, include_low=False, include_high=False)
    rng = check_random_state(random_state)
    idx = np.arange(n_grid * n_grid).reshape(n_grid, n_grid)
    horizontal = np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])
    vertical = np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()])
    edges = np.vstack([horizontal, vertical]).astype(np.int64)
    r, c = np.divmod(np.arange(n_grid * n_grid), n_grid)
    labels = np.where(c < n_grid / 2, 1.0, -1.0)
    positions = np.column_stack([c, r]).astype(np.float64)
    labelled = _choose_labelled(rng, labels, labelled_fraction)
    return _build_problem(rng, edges, np.ones(edges.shape[0]), labels, labelled, positions)


def label_propagation_moons(n_samples: int = 1000, *, noise: float = 0.1,
                            n_neighbors: int = 10, bandwidth: float | None = None,
                            labelled_fraction: float = 0.02,
                            random_state: Any = None) -> LabelPropagationProblem:
    """Label propagation on a k-nearest-neighbour graph of two interleaved moons.

    Points: ``n_samples // 2`` on the upper moon ``(cos t, sin t)`` (class +1) and the rest
    on the lower moon ``(1 − cos t, 0.5 − sin t)`` (class −1), ``t`` uniform on [0, π],
    plus Gaussian noise of standard deviation ``noise`` (scikit-learn's ``make_moons``
    geometry). Edges join each point to its ``n_neighbors`` nearest neighbours
    (symmetrised), with Gaussian weights ``exp(−d² / (2 σ²))``, ``σ = bandwidth``
    (default: the median neighbour distance). See :class:`LabelPropagationProblem`.

    Parameters
    ----------
    n_samples : int ≥ 4, default 1000
    noise : float ≥ 0, default 0.1
    n_neighbors : int ≥ 1, default 10
    bandwidth : float > 0, optional
    labelled_fraction : float in (0, 1), default 0.02
    random_state : None, int or Generator

    Returns
    -------
    LabelPropagationProblem

    Examples
    --------
    >>> import numpy as np
    >>> from numlearn.datasets import label_propagation_moons
    >>> prob = label_propagation_moons(200, random_state=0)
    >>> prob.positions.shape, bool(np.allclose(prob.laplacian.sum(axis=1), 0))
    ((200, 2), True)
    """
    n_samples = check_scalar(n_samples, "n_samples", kind=int, low=4)
    noise = check_scalar(noise, "noise", low=0.0)
    n_neighbors = check_scalar(n_neighbors, "n_neighbors", kind=int, low=1,
                               high=n_samples - 1)
    bandwidth = check_scalar(bandwidth, "bandwidth", low=0.0, include_low=False,
                             allow_none=True)
    labelled_fraction = check_scalar(labelled_fraction, "labelled_fraction", low=0.0,
                                     high=1.0, include_low=False, include_high=False)
    rng = check_random_state(random_state)
    n_up = n_samples // 2
    t = rng.uniform(0.0, np.pi, size=n_samples)
    pts = np.empty((n_samples, 2))
    pts[:n_up, 0], pts[:n_up, 1] = np.cos(t[:n_up]), np.sin(t[:n_up])
    pts[n_up:, 0], pts[n_up:, 1] = 1.0 - np.cos(t[n_up:]), 0.5 - np.sin(t[n_up:])
    pts += noise * rng.standard_normal(pts.shape)
    labels = np.where(np.arange(n_samples) < n_up, 1.0, -1.0)
    dist, nbr = cKDTree(pts).query(pts, k=n_neighbors + 1)
    i = np.repeat(np.arange(n_samples), n_neighbors)
    j = nbr[:, 1:].ravel()
    d = dist[:, 1:].ravel()
    keep = i != j
    pairs = np.column_stack([np.minimum(i, j), np.maximum(i, j)])[keep]
    pairs, first = np.unique(pairs, axis=0, return_index=True)
    d = d[keep][first]
    sigma = float(np.median(d)) if bandwidth is None else bandwidth
    if sigma <= 0:
        sigma = 1.0
    weights = np.exp(-(d**2) / (2.0 * sigma**2))
    labelled = _choose_labelled(rng, labels, labelled_fraction)
    return _build_problem(rng, pairs.astype(np.int64), weights, labels, labelled, pts)
