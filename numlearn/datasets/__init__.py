"""Problem generators for tests, benchmarks, examples and the tour.

Everything is generated; nothing is downloaded.
"""

from numlearn.datasets._poisson import poisson_1d, poisson_2d

__all__ = ["poisson_1d", "poisson_2d"]
