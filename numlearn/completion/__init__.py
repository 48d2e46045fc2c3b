"""Low-rank matrix completion by alternating minimization.

:func:`altmin` is the solver (exact, CG or sketch-and-precondition row updates, Numba
kernels parallel over rows); :class:`AltMinCompletion` is the scikit-learn estimator.
Observations given as CuPy arrays run on the GPU (Numba-CUDA kernels: batched per-row
normal equations and k × k Cholesky, or per-row CG) and return CuPy factors; other array-API
libraries run the same iteration with whole-array operations.
"""

from numlearn.completion._datasets import make_ratings
from numlearn.completion._estimator import AltMinCompletion
from numlearn.completion.altmin import altmin, predict_entries

__all__ = ["altmin", "predict_entries", "AltMinCompletion", "make_ratings"]
