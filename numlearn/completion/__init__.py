"""Low-rank matrix completion by alternating minimization.

:func:`altmin` is the solver (exact, CG or sketch-and-precondition row updates, Numba
kernels parallel over rows); :class:`AltMinCompletion` is the scikit-learn estimator.
:func:`implicit_als` / :class:`ImplicitALS` factorize implicit feedback (Hu, Koren, Volinsky).
Both estimators fit long-format ``(user, item, rating)`` data with arbitrary ids and
recommend (``recommend``, ``similar_items``, ``similar_users``); :func:`make_ratings`
generates ratings shaped like public movie-ratings data.
Observations given as CuPy arrays run on the GPU (Numba-CUDA kernels: batched per-row
normal equations and k × k Cholesky, or per-row CG) and return CuPy factors; other array-API
libraries run the same iteration with whole-array operations.
"""

from numlearn.completion._datasets import make_ratings
from numlearn.completion._estimator import AltMinCompletion
from numlearn.completion._implicit_estimator import ImplicitALS
from numlearn.completion.altmin import altmin, predict_entries
from numlearn.completion.implicit_als import implicit_als, implicit_loss

__all__ = ["altmin", "predict_entries", "AltMinCompletion", "make_ratings", "implicit_als",
           "implicit_loss", "ImplicitALS"]
