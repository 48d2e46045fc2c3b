"""The top-level API: lazy (PEP 562) names and subpackages of ``numlearn``."""

import importlib
import subprocess
import sys

import pytest

import numlearn

MAIN_NAMES = [
    "cg", "sor", "ssor_cg", "optimal_omega", "lanczos_eigsh", "hutchinson_trace",
    "sketch_and_project", "sketch_operator", "OmegaTuner", "minimize_eq",
    "coordinate_descent", "Lasso", "ElasticNet", "LogisticRegression", "lasso_path",
    "enet_path", "sinkhorn", "sinkhorn_newton_sparse", "SinkhornTransport", "altmin",
    "AltMinCompletion", "predict_entries", "train", "SolverResult", "Status",
    "set_num_threads", "num_threads",
]
SUBPACKAGES = [
    "linalg", "tuning", "optimize", "linear_model", "ot", "completion", "dynamics",
    "datasets",
]


@pytest.mark.parametrize("name", numlearn.__all__)
def test_every_name_in_all_resolves(name):
    assert getattr(numlearn, name) is not None
    assert name in dir(numlearn)


@pytest.mark.parametrize("name", MAIN_NAMES + SUBPACKAGES)
def test_main_names_listed(name):
    assert name in numlearn.__all__


@pytest.mark.parametrize("name", MAIN_NAMES)
def test_top_level_name_is_the_family_object(name):
    module = importlib.import_module(numlearn._LAZY_NAMES[name])
    assert getattr(numlearn, name) is getattr(module, name)


def test_subpackages_are_attributes():
    for name in SUBPACKAGES:
        assert getattr(numlearn, name) is importlib.import_module(f"numlearn.{name}")


def test_logistic_regression_is_the_estimator():
    from numlearn.linear_model import LogisticRegression

    assert numlearn.LogisticRegression is LogisticRegression


def test_from_import_and_star_import():
    namespace = {}
    exec("from numlearn import sor, sinkhorn, Lasso, minimize_eq, AltMinCompletion, "
         "OmegaTuner", namespace)
    assert namespace["sinkhorn"] is numlearn.ot.sinkhorn
    exec("from numlearn import *", namespace)
    assert namespace["ot"] is numlearn.ot


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'not_a_solver'"):
        numlearn.not_a_solver  # noqa: B018
    with pytest.raises(ImportError):
        exec("from numlearn import not_a_solver", {})


def _fresh_python(code: str) -> str:
    """Standard output of ``code`` run by a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_is_lazy():
    code = (
        "import sys, numlearn\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'sklearn', 'scipy') or m.startswith('numlearn.')]\n"
        "print(heavy)\n"
    )
    assert _fresh_python(code) == "[]"


def test_first_use_loads_only_its_family():
    code = (
        "import sys, numlearn\n"
        "numlearn.sinkhorn\n"
        "print(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('numlearn.') and not m.split('.')[1].startswith('_')}))\n"
    )
    loaded = set(eval(_fresh_python(code)))
    assert "ot" in loaded
    assert not loaded & {"completion", "dynamics", "linear_model", "optimize", "tuning"}
