"""Problem generators for tests, benchmarks, examples and the tour.

Everything is generated; nothing is downloaded.
"""

from numlearn.datasets._cd_problems import (
    LabelPropagationProblem,
    cd_l1_problem,
    cd_least_squares,
    cd_logistic,
    cd_softmax,
    label_propagation_lattice,
    label_propagation_moons,
)
from numlearn.datasets._constrained import (
    HS_INEQ_PROBLEM_NAMES,
    HS_PROBLEM_NAMES,
    ConstrainedProblem,
    InequalityProblem,
    constrained_logistic_problem,
    hock_schittkowski,
    hock_schittkowski_ineq,
    nnls_problem,
    nonnegative_logistic_problem,
    pde_control_problem,
)
from numlearn.datasets._modular import ModularArithmetic, modular_arithmetic
from numlearn.datasets._ot import ot_gaussian_clouds, ot_grid_1d, ot_random_assignment
from numlearn.datasets._poisson import poisson_1d, poisson_2d
from numlearn.datasets._sequences import (
    Heat2D,
    LinearSystem,
    ShiftedLaplacianSequence,
    shifted_laplacian_sequence,
)

__all__ = [
    "ModularArithmetic",
    "modular_arithmetic",
    "poisson_1d",
    "poisson_2d",
    "LinearSystem",
    "ShiftedLaplacianSequence",
    "shifted_laplacian_sequence",
    "Heat2D",
    "ConstrainedProblem",
    "HS_PROBLEM_NAMES",
    "hock_schittkowski",
    "pde_control_problem",
    "constrained_logistic_problem",
    "InequalityProblem",
    "HS_INEQ_PROBLEM_NAMES",
    "hock_schittkowski_ineq",
    "nnls_problem",
    "nonnegative_logistic_problem",
    "ot_gaussian_clouds",
    "ot_random_assignment",
    "ot_grid_1d",
    "cd_least_squares",
    "cd_logistic",
    "cd_softmax",
    "cd_l1_problem",
    "LabelPropagationProblem",
    "label_propagation_lattice",
    "label_propagation_moons",
]
