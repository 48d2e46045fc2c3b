"""Every public callable of numlearn has a fuzz target, or a reason on a short list.

The public names are those of ``numlearn.__all__`` and of every subpackage's ``__all__``;
a target name covers the public object(s) it names: ``"Lasso.fit"`` covers ``Lasso``,
``"sinkhorn[auto]"`` covers ``sinkhorn``, ``"penalties[L1,L2]"`` covers ``L1`` and ``L2``,
``"dynamics:LogisticRegression"`` the one of :mod:`numlearn.dynamics` (the bare name is
taken by the estimator of :mod:`numlearn.linear_model`). Objects are compared by identity,
so a name re-exported at the top level is one object.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets import TARGETS  # noqa: E402

SUBPACKAGES = ("linalg", "tuning", "optimize", "linear_model", "ot", "completion",
               "dynamics", "datasets", "metrics", "plotting")

#: public callables without a fuzz target of their own, and why
EXEMPT = {
    # result and record types: built by the solvers (which are fuzzed), not from user data
    "SolverResult": "result type", "Status": "enumeration of outcomes",
    "optimize.ConstrainedResult": "result type of minimize_constrained",
    "ot.LazyPlan": "result type of sinkhorn_sample (fuzzed)",
    "dynamics.Trajectory": "result type of train (fuzzed)",
    "dynamics.Catapult": "result type of detect_catapult (fuzzed)",
    "dynamics.EdgeOfStability": "result type of detect_edge_of_stability (fuzzed)",
    "dynamics.JaxModel": "built by from_jax (fuzzed where jax is installed)",
    "datasets.ModularArithmetic": "record returned by modular_arithmetic (fuzzed)",
    "datasets.LinearSystem": "record (A, b, context, x0) of the generators (fuzzed)",
    "datasets.ShiftedLaplacianSequence": "returned by shifted_laplacian_sequence (fuzzed)",
    "datasets.ConstrainedProblem": "record returned by the problem generators (fuzzed)",
    "datasets.InequalityProblem": "record returned by the problem generators (fuzzed)",
    "datasets.LabelPropagationProblem": "record returned by label_propagation_* (fuzzed)",
    # abstract base classes: not instantiable
    "dynamics.Model": "abstract base class", "dynamics.Optimizer": "abstract base class",
    "dynamics.Schedule": "abstract base class",
    # process-wide settings without array input (tests/test_threads.py checks them)
    "set_num_threads": "thread setting", "get_num_threads": "thread setting",
    "num_threads": "thread setting (context manager)",
}


def _public():
    """``{qualified name: object}`` of every public callable (first name wins per object)."""
    import numlearn

    out, seen = {}, set()
    modules = [("", numlearn)] + [(s + ".", importlib.import_module(f"numlearn.{s}"))
                                  for s in SUBPACKAGES]
    for prefix, mod in modules:
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            out[prefix + name] = obj
    return out


def _covered():
    """Ids of the public objects the fuzz targets name."""
    import numlearn

    ids = set()
    for key in TARGETS:
        if ":" in key:
            sub, rest = key.split(":", 1)
            mods = [importlib.import_module(f"numlearn.{sub}")]
        else:
            rest = key
            mods = [numlearn] + [importlib.import_module(f"numlearn.{s}") for s in SUBPACKAGES]
        if "[" in rest and rest.endswith("]") and "," in rest:
            names = rest[rest.index("[") + 1:-1].split(",")
        else:
            names = [rest.split("[")[0].split(".")[0]]
        for name in names:
            found = [getattr(m, name) for m in mods if name in getattr(m, "__all__", ())]
            assert found, f"fuzz target {key!r} names no public object {name!r}"
            ids.update(id(o) for o in found)
    return ids


def _bare(qualified: str) -> str:
    return qualified.rsplit(".", 1)[-1]


def test_every_public_callable_has_a_fuzz_target_or_a_reason():
    public, covered = _public(), _covered()
    exempt = {k for k in EXEMPT}
    missing = [q for q, obj in public.items()
               if id(obj) not in covered and q not in exempt and _bare(q) not in exempt]
    if importlib.util.find_spec("jax") is None:
        missing = [q for q in missing if _bare(q) != "from_jax"]
    assert not missing, ("public callables without a fuzz target (add one to "
                         "tests/fuzz/_targets.py or _specs.py, or a reason to EXEMPT): "
                         + ", ".join(sorted(missing)))


def test_the_exemption_list_names_only_public_uncovered_callables():
    public, covered = _public(), _covered()
    by_bare = {}
    for q, obj in public.items():
        by_bare.setdefault(_bare(q), []).append((q, obj))
    for name in EXEMPT:
        matches = [(q, o) for q, o in public.items() if q == name] or by_bare.get(name, [])
        assert matches, f"EXEMPT names {name!r}, which is not public (drop it)"
        assert all(id(o) not in covered for _, o in matches), \
            f"EXEMPT names {name!r}, which has a fuzz target now (drop it)"
