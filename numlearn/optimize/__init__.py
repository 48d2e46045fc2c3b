"""Constrained optimization.

:func:`minimize_eq`
    equality-constrained minimization by exact augmented-Lagrangian Newton, with the
    Newton–KKT systems solved inexactly by randomized iterative sketching.
"""

from numlearn.optimize._minimize_eq import (
    MINIMIZE_EQ_DEFAULT_OPTIONS,
    MINIMIZE_EQ_SKETCHES,
    minimize_eq,
)

__all__ = ["minimize_eq", "MINIMIZE_EQ_SKETCHES", "MINIMIZE_EQ_DEFAULT_OPTIONS"]
