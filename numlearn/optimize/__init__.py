"""Constrained optimization.

:func:`minimize_eq`
    equality-constrained minimization by exact augmented-Lagrangian Newton, with the
    Newton–KKT systems solved inexactly by randomized iterative sketching.
:func:`minimize_constrained`
    the same engine behind SciPy's interface (a ``scipy.optimize.minimize`` method):
    equalities, inequalities (squared slacks) and bounds.
"""

from numlearn.optimize._minimize_eq import (
    MINIMIZE_EQ_DEFAULT_OPTIONS,
    MINIMIZE_EQ_SKETCHES,
    minimize_eq,
)

from numlearn.optimize._minimize_constrained import (
    MINIMIZE_CONSTRAINED_DEFAULT_OPTIONS,
    ConstrainedResult,
    minimize_constrained,
)

__all__ = ["minimize_constrained", "ConstrainedResult", "MINIMIZE_CONSTRAINED_DEFAULT_OPTIONS",
           "minimize_eq", "MINIMIZE_EQ_SKETCHES", "MINIMIZE_EQ_DEFAULT_OPTIONS"]
