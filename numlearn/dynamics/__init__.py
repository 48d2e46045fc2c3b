"""Gradient-descent dynamics: exact small models, optimizers, Hessian tools and detectors.

Framework-independent models with analytic gradients and Hessian-vector products (no
autodiff), used to reproduce and measure the phenomena of large-step-size training: the
catapult, progressive sharpening and the edge of stability, slow over-parameterized matrix
sensing, the perceptron limit of logistic regression, SGD's linear stability, and the
softmax radius. Models hold NumPy data, or data of any array-API library: built from CuPy
arrays, training, Lanczos sharpness and Hutchinson traces run on the GPU.

Models
    :class:`LinearRegression`, :class:`QuadraticModel`, :class:`UVModel`,
    :class:`SecondOrderRegression`, :class:`MatrixSensing`, :class:`LogisticRegression`,
    :class:`SoftmaxRegression`, :class:`DiagonalLinearNetwork`, :class:`TwoLayerNetwork`,
    :class:`TwoLayerReLU`.
Optimizers
    :class:`GD`, :class:`SGD`, :class:`NormalizedGD`, :class:`ScaledGD`,
    :class:`SafeStepGD`, :class:`PerpGrad`, :class:`Momentum`, :class:`Adam`; learning-rate
    schedules :class:`ConstantLR`, :class:`WarmupCosine` (any callable of the step count).
Any model
    :func:`from_jax` wraps a JAX loss (forward-over-reverse Hessian-vector products);
    any object with ``n_params``, ``loss``, ``grad`` and ``hvp`` works too.
Training
    :func:`train` returns a :class:`Trajectory`; detectors :func:`detect_divergence`,
    :func:`detect_catapult`, :func:`detect_edge_of_stability`.
Tools
    :func:`sharpness`, :func:`hessian_density`, :func:`gradient_overlap`, :func:`hessian_trace`, :func:`ntk_eigenvalue`,
    :func:`sgd_linear_stability`, :func:`softmax_radius`, :func:`stablemax`,
    :func:`softmax_collapse_fraction`.
"""

from numlearn.dynamics._models import (
    DiagonalLinearNetwork,
    LinearRegression,
    LogisticRegression,
    MatrixSensing,
    Model,
    QuadraticModel,
    SecondOrderRegression,
    SoftmaxRegression,
    TwoLayerNetwork,
    TwoLayerReLU,
    UVModel,
)
from numlearn.dynamics._optimizers import (
    GD,
    SGD,
    Adam,
    Momentum,
    NormalizedGD,
    Optimizer,
    PerpGrad,
    SafeStepGD,
    ScaledGD,
)
from numlearn.dynamics._schedules import ConstantLR, Schedule, WarmupCosine
from numlearn.dynamics._jax import JaxModel, from_jax
from numlearn.dynamics._spectrum import gradient_overlap, hessian_density
from numlearn.dynamics._tools import (
    hessian_trace,
    ntk_eigenvalue,
    sgd_linear_stability,
    sharpness,
    softmax_collapse_fraction,
    softmax_radius,
    stablemax,
)
from numlearn.dynamics._train import (
    Catapult,
    EdgeOfStability,
    Trajectory,
    detect_catapult,
    detect_divergence,
    detect_edge_of_stability,
    train,
)

__all__ = [
    "Model",
    "LinearRegression",
    "QuadraticModel",
    "UVModel",
    "SecondOrderRegression",
    "MatrixSensing",
    "LogisticRegression",
    "SoftmaxRegression",
    "DiagonalLinearNetwork",
    "TwoLayerNetwork",
    "TwoLayerReLU",
    "Optimizer",
    "GD",
    "SGD",
    "NormalizedGD",
    "ScaledGD",
    "SafeStepGD",
    "PerpGrad",
    "Momentum",
    "Adam",
    "Schedule",
    "ConstantLR",
    "WarmupCosine",
    "train",
    "from_jax",
    "JaxModel",
    "Trajectory",
    "Catapult",
    "EdgeOfStability",
    "detect_divergence",
    "detect_catapult",
    "detect_edge_of_stability",
    "sharpness",
    "hessian_density",
    "gradient_overlap",
    "hessian_trace",
    "ntk_eigenvalue",
    "sgd_linear_stability",
    "softmax_radius",
    "stablemax",
    "softmax_collapse_fraction",
]
