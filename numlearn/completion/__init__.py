"""Low-rank matrix completion by alternating minimization.

:func:`altmin` is the solver (exact, CG or sketch-and-precondition row updates, Numba
kernels parallel over rows); :class:`AltMinCompletion` is the scikit-learn estimator.
"""

from numlearn.completion._estimator import AltMinCompletion
from numlearn.completion.altmin import altmin, predict_entries

__all__ = ["altmin", "predict_entries", "AltMinCompletion"]
