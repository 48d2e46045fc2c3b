"""Online learners over solver parameters: bandits that learn SOR's ω across a sequence.

:class:`OmegaTuner` solves a sequence of related linear systems, choosing the relaxation
parameter of each solve with :class:`TsallisINF` (from iteration counts alone) or
:class:`ChebCB` (from a scalar context per system as well); :func:`omega_baselines`
computes the grid-search baselines it is judged against. :class:`ParameterTuner` learns
any one parameter of any solver (a polynomial degree, a block size) the same way;
``OmegaTuner`` is its specialization to ω.
"""

from numlearn.tuning._chebcb import ChebCB
from numlearn.tuning._kernelcb import KernelCB
from numlearn.tuning._omega import OmegaTuner, default_omegas, omega_baselines
from numlearn.tuning._parameter import ParameterTuner, parameter_baselines
from numlearn.tuning._tsallis import TsallisINF, tsallis_weights

__all__ = [
    "TsallisINF",
    "tsallis_weights",
    "ChebCB",
    "KernelCB",
    "ParameterTuner",
    "parameter_baselines",
    "OmegaTuner",
    "omega_baselines",
    "default_omegas",
]
