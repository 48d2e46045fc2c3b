"""Tests of the coordinate-descent problem generators (numlearn/datasets/_cd_problems.py)."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components
from sklearn import linear_model as sklm

from numlearn.datasets import (
    LabelPropagationProblem,
    cd_l1_problem,
    cd_least_squares,
    cd_logistic,
    cd_softmax,
    label_propagation_lattice,
    label_propagation_moons,
)
from numlearn.linear_model import L1, Logistic, NoPenalty, Quadratic, coordinate_descent

GENERATORS = [
    (cd_least_squares, dict(n_samples=40, n_features=7)),
    (cd_logistic, dict(n_samples=40, n_features=7)),
    (cd_softmax, dict(n_samples=40, n_features=7, n_classes=3)),
    (cd_l1_problem, dict(n_samples=30, n_features=50)),
    (cd_l1_problem, dict(kind="logistic", n_samples=30, n_features=50)),
]


# ---------------------------------------------------------------------------------------
# Shapes, reproducibility
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("gen, kw", GENERATORS)
def test_shapes_and_reproducibility(gen, kw):
    a = gen(**kw, random_state=0)
    b = gen(**kw, random_state=0)
    c = gen(**kw, random_state=1)
    X, y = a[0], a[1]
    assert X.shape == (kw["n_samples"], kw["n_features"]) and y.shape == (kw["n_samples"],)
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    # a Generator is accepted and advanced
    rng = np.random.default_rng(5)
    assert not np.array_equal(gen(**kw, random_state=rng)[0], gen(**kw, random_state=rng)[0])


@pytest.mark.parametrize("make", [
    lambda s: label_propagation_lattice(8, labelled_fraction=0.1, random_state=s),
    lambda s: label_propagation_moons(120, random_state=s),
])
def test_label_propagation_reproducible(make):
    a, b, c = make(0), make(0), make(1)
    assert isinstance(a, LabelPropagationProblem)
    for u, v in zip(a, b):
        if sp.issparse(u):
            assert (u != v).nnz == 0
        else:
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.labelled, c.labelled)


# ---------------------------------------------------------------------------------------
# What makes each problem what it is
# ---------------------------------------------------------------------------------------
def test_least_squares_correlation_scales_and_noise():
    X, y, w = cd_least_squares(20000, 6, correlation=0.7, n_informative=3, noise=0.5,
                               return_coef=True, random_state=0)
    C = np.corrcoef(X, rowvar=False)
    off = C[~np.eye(6, dtype=bool)]
    np.testing.assert_allclose(off, 0.7, atol=0.03)
    assert np.count_nonzero(w) == 3
    assert np.std(y - X @ w) == pytest.approx(0.5, rel=0.03)
    # column scales log-uniform in [1, 10]: Lipschitz constants spread over [~1, ~100]
    X2, _ = cd_least_squares(5000, 200, column_scale=10.0, random_state=1)
    lip = (X2**2).mean(axis=0)
    assert lip.min() > 0.8 and lip.max() < 125 and lip.max() / lip.min() > 40
    X3, _ = cd_least_squares(5000, 50, random_state=1)  # defaults: i.i.d. N(0, 1)
    np.testing.assert_allclose((X3**2).mean(axis=0), 1.0, atol=0.1)
    assert np.abs(np.corrcoef(X3, rowvar=False)[~np.eye(50, dtype=bool)]).max() < 0.07


def test_logistic_separable_and_label_noise():
    X, y, w = cd_logistic(500, 10, correlation=0.3, return_coef=True, random_state=0)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert np.all(y * (X @ w) > 0)  # separable by w*
    Xn, yn, wn = cd_logistic(500, 10, label_noise=0.1, return_coef=True, random_state=0)
    assert np.sum(yn * (Xn @ wn) < 0) == 50


def test_softmax_labels_are_argmax():
    X, y, W = cd_softmax(3000, 100, return_coef=True, random_state=0)  # 50 classes
    assert W.shape == (100, 50) and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.argmax(X @ W, axis=1))
    assert len(np.unique(y)) >= 45
    _, yn = cd_softmax(3000, 100, label_noise=0.2, random_state=0)
    frac = np.mean(yn != y)  # 20% redrawn, 1/50 of those land on the same class
    assert frac == pytest.approx(0.2 * 49 / 50, abs=0.02)


def test_l1_least_squares_alpha_max_and_solution_vs_sklearn():
    X, y, alpha_max = cd_l1_problem(n_samples=80, n_features=150, alpha_ratio=1.0,
                                    correlation=0.5, random_state=0)
    # w = 0 is optimal at alpha_max and not below it
    res = coordinate_descent(X, y, Quadratic(), L1(alpha_max), selection="cyclic",
                             tol=1e-12)
    assert np.all(res.coef == 0)
    res = coordinate_descent(X, y, Quadratic(), L1(0.99 * alpha_max), selection="cyclic",
                             tol=1e-12)
    assert np.count_nonzero(res.coef) >= 1
    # the default problem (alpha = alpha_max / 10): sparse, equal to sklearn's Lasso
    X, y, alpha = cd_l1_problem(n_samples=80, n_features=150, correlation=0.5,
                                random_state=0)
    assert alpha == pytest.approx(0.1 * alpha_max)
    res = coordinate_descent(X, y, Quadratic(), L1(alpha), selection="gsl", tol=1e-14,
                             max_iter=100000)
    ref = sklm.Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8 * np.abs(ref.coef_).max())
    assert 1 <= np.count_nonzero(res.coef) < 80


def test_l1_logistic_alpha_max_and_kkt():
    X, y, alpha_max = cd_l1_problem("logistic", n_samples=100, n_features=60,
                                    alpha_ratio=1.0, random_state=0)
    n = X.shape[0]
    res = coordinate_descent(X, y, Logistic(), L1(alpha_max), selection="cyclic", tol=1e-10)
    assert np.all(res.coef == 0)
    X, y, alpha = cd_l1_problem("logistic", n_samples=100, n_features=60, alpha_ratio=0.2,
                                random_state=0)
    res = coordinate_descent(X, y, Logistic(), L1(alpha), selection="cyclic",
                             update="newton", tol=1e-12, max_iter=10000)
    w = res.coef
    # optimality conditions checked in NumPy: ∇F(w) + alpha ∂‖w‖₁ ∋ 0
    z = X @ w
    grad = -X.T @ (y / (1.0 + np.exp(y * z))) / n
    nz = w != 0
    assert 1 <= nz.sum() < 60
    np.testing.assert_allclose(grad[nz], -alpha * np.sign(w[nz]), atol=1e-6 * alpha)
    assert np.all(np.abs(grad[~nz]) <= alpha * (1 + 1e-6))


def _check_graph(prob):
    L = prob.laplacian
    n = L.shape[0]
    np.testing.assert_allclose(np.asarray(L.sum(axis=1)).ravel(), 0.0, atol=1e-12)
    assert abs(L - L.T).max() < 1e-14
    Ld = L.toarray()
    assert np.all(np.diag(Ld) >= 0) and np.all(Ld[~np.eye(n, dtype=bool)] <= 0)
    assert np.linalg.eigvalsh(Ld)[0] > -1e-10  # positive semidefinite
    unl = ~prob.labelled
    assert prob.X.shape == (prob.y.shape[0], unl.sum()) and sp.isspmatrix_csc(prob.X)
    # least squares and Laplacian system agree: XᵀX = L_UU, Xᵀy = -L_UL y_L
    np.testing.assert_allclose((prob.X.T @ prob.X).toarray(), prob.A.toarray(), atol=1e-13)
    np.testing.assert_allclose(prob.A.toarray(), Ld[np.ix_(unl, unl)], atol=1e-14)
    np.testing.assert_allclose(prob.X.T @ prob.y, prob.b, atol=1e-12)
    np.testing.assert_allclose(
        prob.b, -Ld[np.ix_(unl, prob.labelled)] @ prob.labels[prob.labelled], atol=1e-12)
    assert np.linalg.eigvalsh(prob.A.toarray())[0] > 1e-10  # positive definite
    # ½ Σ_e w_e (x_i - x_j)² = ½ xᵀ L x for any x
    x = np.random.default_rng(0).standard_normal(n)
    r = prob.X @ x[unl] - prob.y  # = B x with the labelled entries fixed to y_L
    xx = np.where(prob.labelled, prob.labels, x)
    assert 0.5 * r @ r == pytest.approx(0.5 * xx @ Ld @ xx, rel=1e-12)


def test_lattice_graph_properties():
    prob = label_propagation_lattice(9, labelled_fraction=0.1, random_state=0)
    _check_graph(prob)
    n_grid = 9
    assert prob.X.shape[0] == 2 * n_grid * (n_grid - 1)  # lattice edges
    deg = prob.laplacian.diagonal()
    assert deg.min() == 2 and deg.max() == 4 and np.sum(deg == 2) == 4  # corners
    assert prob.labelled.sum() == 8  # round(0.1 * 81)
    assert set(prob.labels[prob.labelled]) == {-1.0, 1.0}
    np.testing.assert_array_equal(prob.labels.reshape(9, 9)[:, :5], 1.0)
    np.testing.assert_array_equal(prob.labels.reshape(9, 9)[:, 5:], -1.0)


def test_moons_graph_properties_and_disconnected_components():
    prob = label_propagation_moons(150, noise=0.05, n_neighbors=6, random_state=0)
    _check_graph(prob)
    assert np.sum(prob.labels == 1) == 75
    # kNN: every node has at least n_neighbors neighbours after symmetrisation
    W = -prob.laplacian.tolil()
    W.setdiag(0)
    assert (sp.csr_matrix(W) > 0).sum(axis=1).min() >= 6
    # a 1-NN graph is disconnected: every component still gets a labelled node
    prob = label_propagation_moons(60, n_neighbors=1, labelled_fraction=0.05,
                                   random_state=0)
    n_comp, comp = connected_components(-prob.laplacian, directed=False)
    assert n_comp > 1
    assert all(prob.labelled[comp == c].any() for c in range(n_comp))
    assert np.linalg.eigvalsh(prob.A.toarray())[0] > 1e-12


# ---------------------------------------------------------------------------------------
# Solving the generated problems with the coordinate-descent engine
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["lattice", "moons"])
def test_label_propagation_solved_by_coordinate_descent(which):
    if which == "lattice":
        prob = label_propagation_lattice(12, labelled_fraction=0.1, random_state=0)
        kw = dict(selection="gsl", precompute=True)
    else:
        prob = label_propagation_moons(300, random_state=0)
        kw = dict(selection="cyclic", working_set=False)
    ref = spla.spsolve(prob.A.tocsc(), prob.b)  # the Laplacian system L_UU x = W_UL y_L
    res = coordinate_descent(prob.X, prob.y, Quadratic(), NoPenalty(), tol=1e-10,
                             max_iter=100000, **kw)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref, atol=1e-7)
    # harmonic solution: maximum principle and the classes it recovers
    assert np.all(np.abs(ref) <= 1 + 1e-12)
    acc = np.mean(np.sign(ref) == prob.labels[~prob.labelled])
    assert acc > (0.9 if which == "lattice" else 0.97)


def test_softmax_problem_solved_by_coordinate_descent():
    from numlearn.linear_model import L2, Multinomial

    X, y = cd_softmax(200, 6, n_classes=4, label_noise=0.2, random_state=0)
    C = 1.0
    res = coordinate_descent(X, y, Multinomial(), L2(1.0 / (C * 200)), selection="cyclic",
                             tol=1e-12, max_iter=20000)
    ref = sklm.LogisticRegression(C=C, fit_intercept=False, tol=1e-12, max_iter=10000).fit(X, y)
    W = res.coef - res.coef.mean(axis=1, keepdims=True)  # softmax is shift-invariant
    np.testing.assert_allclose(W, ref.coef_.T, atol=1e-5 * np.abs(ref.coef_).max())


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------
def test_bad_input():
    with pytest.raises(ValueError, match="correlation"):
        cd_least_squares(10, 3, correlation=1.0)
    with pytest.raises(ValueError, match="column_scale"):
        cd_least_squares(10, 3, column_scale=0.5)
    with pytest.raises(ValueError, match="n_informative"):
        cd_least_squares(10, 3, n_informative=4)
    with pytest.raises(ValueError, match="noise"):
        cd_least_squares(10, 3, noise=-1.0)
    with pytest.raises(ValueError, match="n_samples"):
        cd_logistic(0, 3)
    with pytest.raises(ValueError, match="label_noise"):
        cd_logistic(10, 3, label_noise=0.6)
    with pytest.raises(ValueError, match="n_classes"):
        cd_softmax(10, 3, n_classes=1)
    with pytest.raises(ValueError, match="kind"):
        cd_l1_problem("hinge")
    with pytest.raises(ValueError, match="alpha_ratio"):
        cd_l1_problem(alpha_ratio=0.0)
    with pytest.raises(ValueError, match="n_grid"):
        label_propagation_lattice(1)
    with pytest.raises(ValueError, match="labelled_fraction"):
        label_propagation_lattice(5, labelled_fraction=1.0)
    with pytest.raises(ValueError, match="n_neighbors"):
        label_propagation_moons(10, n_neighbors=10)
    with pytest.raises(ValueError, match="bandwidth"):
        label_propagation_moons(20, bandwidth=0.0)
    with pytest.raises(TypeError):
        cd_least_squares(10, 3, random_state="a")
