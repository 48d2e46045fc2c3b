"""numlearn: numerical solvers for machine learning and scientific computing.

The main solvers and estimators of every family are importable from the top level
(``from numlearn import sor, sinkhorn, Lasso``), and every family is reachable as an
attribute (``numlearn.ot``, ``numlearn.linear_model``, ...).

Everything is loaded lazily (PEP 562): ``import numlearn`` imports neither the
subpackages nor NumPy, SciPy, scikit-learn or Numba; the first use of a name imports
the family that defines it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__version__ = "0.1.0.dev0"

#: Subpackages reachable as attributes (``numlearn.ot``); imported on first use.
_SUBMODULES = (
    "completion",
    "datasets",
    "dynamics",
    "linalg",
    "linear_model",
    "optimize",
    "ot",
    "plotting",
    "tuning",
)

#: Top-level name -> module that defines it (imported on first use).
_LAZY_NAMES = {
    # results
    "SolverResult": "numlearn._result",
    "Status": "numlearn._result",
    # threads
    "set_num_threads": "numlearn._threads",
    "get_num_threads": "numlearn._threads",
    "num_threads": "numlearn._threads",
    # linalg
    "cg": "numlearn.linalg",
    "sor": "numlearn.linalg",
    "ssor_cg": "numlearn.linalg",
    "optimal_omega": "numlearn.linalg",
    "lanczos_eigsh": "numlearn.linalg",
    "hutchinson_trace": "numlearn.linalg",
    "spectral_density": "numlearn.linalg",
    "sketch_and_project": "numlearn.linalg",
    "sketch_operator": "numlearn.linalg",
    "SketchOperator": "numlearn.linalg",
    # tuning
    "OmegaTuner": "numlearn.tuning",
    "ChebCB": "numlearn.tuning",
    "TsallisINF": "numlearn.tuning",
    "ParameterTuner": "numlearn.tuning",
    # optimize
    "minimize_eq": "numlearn.optimize",
    "minimize_constrained": "numlearn.optimize",
    # linear_model (its LogisticRegression is the top-level one; the dynamics model of
    # the same name stays at numlearn.dynamics.LogisticRegression)
    "coordinate_descent": "numlearn.linear_model",
    "Lasso": "numlearn.linear_model",
    "ElasticNet": "numlearn.linear_model",
    "LogisticRegression": "numlearn.linear_model",
    "lasso_path": "numlearn.linear_model",
    "enet_path": "numlearn.linear_model",
    "MultiTaskLasso": "numlearn.linear_model",
    "MultiTaskElasticNet": "numlearn.linear_model",
    "LassoCV": "numlearn.linear_model",
    "ElasticNetCV": "numlearn.linear_model",
    "LogisticRegressionCV": "numlearn.linear_model",
    "solve_glm": "numlearn.linear_model",
    "GeneralizedLinearEstimator": "numlearn.linear_model",
    "WeightedL1": "numlearn.linear_model",
    "MCP": "numlearn.linear_model",
    "SCAD": "numlearn.linear_model",
    "GroupLasso": "numlearn.linear_model",
    # ot
    "sinkhorn": "numlearn.ot",
    "sinkhorn_newton_sparse": "numlearn.ot",
    "SinkhornTransport": "numlearn.ot",
    "sinkhorn_unbalanced": "numlearn.ot",
    "sinkhorn_sample": "numlearn.ot",
    "sinkhorn_divergence": "numlearn.ot",
    # completion
    "altmin": "numlearn.completion",
    "AltMinCompletion": "numlearn.completion",
    "predict_entries": "numlearn.completion",
    "ImplicitALS": "numlearn.completion",
    "implicit_als": "numlearn.completion",
    # dynamics
    "train": "numlearn.dynamics",
    "from_jax": "numlearn.dynamics",
    "hessian_density": "numlearn.dynamics",
}

def _exists(name: str) -> bool:
    return importlib.util.find_spec(f"numlearn.{name}") is not None


# A subpackage still being added (``plotting``) is listed once its module exists.
__all__ = ["__version__", *(m for m in _SUBMODULES if _exists(m)), *_LAZY_NAMES]


def __getattr__(name: str) -> Any:
    """Import a subpackage or a top-level name on first access (PEP 562)."""
    if name in _SUBMODULES:
        if not _exists(name):
            raise AttributeError(f"module 'numlearn' has no attribute {name!r}")
        module = importlib.import_module(f"numlearn.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'numlearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
