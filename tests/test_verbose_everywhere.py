"""``verbose`` accepts bool or int in every solver and estimator that takes it."""

import inspect

import numpy as np
import pytest

import numlearn


def _spd():
    from numlearn.datasets import poisson_2d

    A = poisson_2d(6)
    return A, np.ones(A.shape[0])


def _regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 8))
    return X, X @ rng.standard_normal(8) + 0.1 * rng.standard_normal(40)


def _cg(v):
    return numlearn.cg(*_spd(), verbose=v)


def _sor(v):
    return numlearn.sor(*_spd(), 1.5, verbose=v)


def _ssor_cg(v):
    return numlearn.ssor_cg(*_spd(), 1.2, verbose=v)


def _lanczos(v):
    A, _ = _spd()
    return numlearn.lanczos_eigsh(A, A.shape[0], k=1, random_state=0, verbose=v)


def _sketch_and_project(v):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((20, 40))
    return numlearn.sketch_and_project(M, M @ rng.standard_normal(40), block_size=5,
                                       random_state=0, verbose=v)


def _minimize_eq(v):
    from numlearn.datasets import hock_schittkowski

    p = hock_schittkowski("HS77")
    return numlearn.minimize_eq(p.fun, p.x0, jac=p.jac, hess=p.hess,
                                constraints=p.constraints, random_state=0, verbose=v)


def _minimize_constrained(v):
    from scipy.optimize import NonlinearConstraint

    return numlearn.minimize_constrained(
        lambda x: (x[0] - 1) ** 2 + (x[1] - 2) ** 2, [0.0, 0.0],
        jac=lambda x: np.array([2 * (x[0] - 1), 2 * (x[1] - 2)]),
        hess=lambda x: 2 * np.eye(2),
        constraints=NonlinearConstraint(lambda x: x[0] + x[1], -np.inf, 1.0,
                                        jac=lambda x: np.array([[1.0, 1.0]]),
                                        hess=lambda x, v: np.zeros((2, 2))),
        verbose=v)


def _coordinate_descent(v):
    from numlearn.linear_model import L1, Quadratic

    X, y = _regression()
    return numlearn.coordinate_descent(X, y, Quadratic(), L1(0.1), verbose=v)


def _lasso(v):
    return numlearn.Lasso(alpha=0.1, verbose=v).fit(*_regression())


def _enet(v):
    return numlearn.ElasticNet(alpha=0.1, verbose=v).fit(*_regression())


def _logistic(v):
    X, y = _regression()
    return numlearn.LogisticRegression(verbose=v).fit(X, y > 0)


def _solve_glm(v):
    from numlearn.linear_model import MCP, Quadratic

    X, y = _regression()
    return numlearn.solve_glm(X, y, Quadratic(), MCP(0.1), verbose=v)


def _glm_estimator(v):
    return numlearn.GeneralizedLinearEstimator(verbose=v).fit(*_regression())


def _ot():
    from numlearn.datasets import ot_gaussian_clouds

    return ot_gaussian_clouds(30, random_state=0)


def _sinkhorn(v):
    return numlearn.sinkhorn(*_ot(), reg=0.05, verbose=v)


def _sns(v):
    return numlearn.sinkhorn_newton_sparse(*_ot(), reg=0.05, verbose=v)


def _unbalanced(v):
    return numlearn.sinkhorn_unbalanced(*_ot(), reg=0.05, reg_m=1.0, verbose=v)


def _clouds():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 2)), rng.standard_normal((25, 2)) + 1.0


def _sample(v):
    return numlearn.sinkhorn_sample(*_clouds(), reg=0.5, verbose=v)


def _divergence(v):
    return numlearn.sinkhorn_divergence(*_clouds(), reg=0.5, verbose=v)


def _implicit_als(v):
    import scipy.sparse as sp

    R = sp.random(30, 20, density=0.3, random_state=0, format="csr")
    return numlearn.implicit_als(R, 3, max_iter=3, verbose=v)


def _transport(v):
    rng = np.random.default_rng(0)
    return numlearn.SinkhornTransport(reg=0.5, verbose=v).fit(
        rng.standard_normal((20, 2)), rng.standard_normal((25, 2)))


def _altmin(v):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 25))
    rows, cols = np.nonzero(rng.random(M.shape) < 0.5)
    return numlearn.altmin((rows, cols, M[rows, cols], M.shape), 2, random_state=0,
                           verbose=v)


def _train(v):
    from numlearn.dynamics import GD, LinearRegression

    model = LinearRegression(np.diag([1.0, 2.0]), np.ones(2))
    return numlearn.train(model, np.zeros(2), GD(0.5), 20, verbose=v)


CASES = {
    "cg": _cg, "sor": _sor, "ssor_cg": _ssor_cg, "lanczos_eigsh": _lanczos,
    "sketch_and_project": _sketch_and_project, "minimize_eq": _minimize_eq,
    "minimize_constrained": _minimize_constrained,
    "coordinate_descent": _coordinate_descent, "Lasso": _lasso, "ElasticNet": _enet,
    "solve_glm": _solve_glm, "GeneralizedLinearEstimator": _glm_estimator,
    "LogisticRegression": _logistic, "sinkhorn": _sinkhorn, "implicit_als": _implicit_als,
    "sinkhorn_unbalanced": _unbalanced, "sinkhorn_sample": _sample,
    "sinkhorn_divergence": _divergence,
    "sinkhorn_newton_sparse": _sns, "SinkhornTransport": _transport, "altmin": _altmin,
    "train": _train,
}


def _multitask(v):
    X, y = _regression()
    return numlearn.MultiTaskLasso(alpha=0.1, verbose=v).fit(X, np.c_[y, -y])


def _multitask_enet(v):
    X, y = _regression()
    return numlearn.MultiTaskElasticNet(alpha=0.1, verbose=v).fit(X, np.c_[y, -y])


def _lasso_cv(v):
    return numlearn.LassoCV(alphas=5, cv=3, verbose=v).fit(*_regression())


def _enet_cv(v):
    return numlearn.ElasticNetCV(alphas=5, cv=3, verbose=v).fit(*_regression())


def _logistic_cv(v):
    X, y = _regression()
    return numlearn.LogisticRegressionCV(Cs=3, cv=3, verbose=v).fit(X, y > 0)


CASES.update({"MultiTaskLasso": _multitask, "MultiTaskElasticNet": _multitask_enet,
              "LassoCV": _lasso_cv, "ElasticNetCV": _enet_cv,
              "LogisticRegressionCV": _logistic_cv})


def test_every_top_level_verbose_is_covered():
    takes_verbose = {name for name in numlearn.__all__
                     if callable(getattr(numlearn, name))
                     and not inspect.ismodule(getattr(numlearn, name))
                     and "verbose" in _parameters(getattr(numlearn, name))}
    assert takes_verbose == set(CASES)


def _parameters(obj):
    try:
        return inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return {}


@pytest.mark.parametrize("name", sorted(CASES))
def test_verbose_true_talks_and_false_is_silent(name, capsys, monkeypatch):
    monkeypatch.setenv("NUMLEARN_PROGRESS_BAR", "0")
    CASES[name](True)
    out = capsys.readouterr().out
    assert ": iter " in out
    assert len(out.splitlines()) == len(set(out.splitlines()))  # no line twice
    CASES[name](False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", ["cg", "sinkhorn", "Lasso", "train"])
def test_bad_verbose(name):
    with pytest.raises(ValueError, match="verbose"):
        CASES[name](5)
