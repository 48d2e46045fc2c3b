"""Coordinate descent for sparse and regularized linear models.

A composable engine, :func:`coordinate_descent`, minimizes ``datafit + penalty`` with a
choice of coordinate selection rules (cyclic, random, Lipschitz sampling, greedy
Gauss–Southwell variants); the scikit-learn estimators are thin wrappers around it.
"""

from numlearn.linear_model._coordinate_descent import SELECTIONS, coordinate_descent
from numlearn.linear_model._estimators import (
    ElasticNet,
    Lasso,
    LogisticRegression,
    enet_path,
    lasso_path,
)
from numlearn.linear_model._cv import ElasticNetCV, LassoCV
from numlearn.linear_model._logistic_cv import LogisticRegressionCV
from numlearn.linear_model._multitask import MultiTaskElasticNet, MultiTaskLasso
from numlearn.linear_model.datafits import Logistic, Multinomial, Quadratic
from numlearn.linear_model._glm import solve_glm
from numlearn.linear_model._glm_estimator import GeneralizedLinearEstimator
from numlearn.linear_model.penalties import L1, L2, MCP, SCAD, GroupLasso, NoPenalty, WeightedL1
from numlearn.linear_model.penalties import ElasticNet as ElasticNetPenalty

__all__ = [
    "Lasso",
    "ElasticNet",
    "LogisticRegression",
    "MultiTaskLasso",
    "LassoCV",
    "ElasticNetCV",
    "LogisticRegressionCV",
    "MultiTaskElasticNet",
    "lasso_path",
    "enet_path",
    "SELECTIONS",
    "coordinate_descent",
    "Quadratic",
    "Logistic",
    "Multinomial",
    "L1",
    "L2",
    "ElasticNetPenalty",
    "NoPenalty",
    "solve_glm",
    "GeneralizedLinearEstimator",
    "WeightedL1",
    "MCP",
    "SCAD",
    "GroupLasso",
]
