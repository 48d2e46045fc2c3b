"""numlearn: numerical solvers for machine learning and scientific computing.

The most used names are importable from the top level; every solver family lives in
its own subpackage (``numlearn.linalg``, ...).
"""

__version__ = "0.1.0.dev0"

from numlearn._result import SolverResult, Status
from numlearn.linalg import (
    cg,
    hutchinson_trace,
    lanczos_eigsh,
    sketch_and_project,
    sketch_operator,
)

__all__ = [
    "__version__",
    "SolverResult",
    "Status",
    "cg",
    "hutchinson_trace",
    "lanczos_eigsh",
    "sketch_and_project",
    "sketch_operator",
]
