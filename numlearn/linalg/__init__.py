"""Linear-algebra building blocks shared by numlearn's solvers.

Krylov methods
    :func:`cg` (conjugate gradients), :func:`lanczos_eigsh` (thick-restart Lanczos with
    full reorthogonalization), :func:`hutchinson_trace` (stochastic trace estimation).
Stationary methods
    :func:`sor` (SOR / SSOR), :func:`ssor_cg` (SSOR-preconditioned CG) and
    :func:`optimal_omega` (Young's optimal relaxation from the Jacobi spectral radius).
Randomized sketching
    :func:`sketch_operator` (Gaussian, sparse sign, CountSketch, SRHT) and
    :func:`sketch_and_project` (block Kaczmarz / Gaussian sketch-and-project).
"""

from numlearn.linalg.cg import cg
from numlearn.linalg.density import spectral_density
from numlearn.linalg.lanczos import lanczos_eigsh
from numlearn.linalg.sketch import SketchOperator, sketch_operator
from numlearn.linalg.sketch_and_project import sketch_and_project
from numlearn.linalg.sor import optimal_omega, sor, ssor_cg
from numlearn.linalg.trace import hutchinson_trace

__all__ = [
    "cg",
    "lanczos_eigsh",
    "hutchinson_trace",
    "spectral_density",
    "SketchOperator",
    "sketch_operator",
    "sketch_and_project",
    "sor",
    "ssor_cg",
    "optimal_omega",
]
