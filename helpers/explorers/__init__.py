"""Slider explorers: drag a control, see the figure and the key numbers change.

One module per topic, each explorer a list of controls, a `compute` that calls a function of
`helpers.experiments` (no figure needed) and a `draw` that updates one figure in place; the
shared machinery (controls, layout, cached backgrounds, PNG encoding) is in `base`.

  inputs     InputScaleExplorer                notebook 01
  forward    BatchNormExplorer                 notebook 02
             IdentityBlendExplorer             notebook 03
  training   OptimizerExplorer                 notebook 04
  minibatch  MiniBatchNoiseExplorer            notebook 05
             RunningAverageExplorer            notebook 05
  shift      CovariateShiftExplorer            notebook 06
  norms      NormalizationCompanionsExplorer   notebook 08
  practice   ReplicaStatisticsExplorer         notebook 09
"""

from helpers.explorers.base import Explorer
from helpers.explorers.forward import BatchNormExplorer, IdentityBlendExplorer
from helpers.explorers.inputs import InputScaleExplorer
from helpers.explorers.minibatch import MiniBatchNoiseExplorer, RunningAverageExplorer
from helpers.explorers.norms import NormalizationCompanionsExplorer
from helpers.explorers.practice import ReplicaStatisticsExplorer
from helpers.explorers.shift import CovariateShiftExplorer
from helpers.explorers.training import OptimizerExplorer

__all__ = [
    "BatchNormExplorer",
    "CovariateShiftExplorer",
    "Explorer",
    "IdentityBlendExplorer",
    "InputScaleExplorer",
    "MiniBatchNoiseExplorer",
    "NormalizationCompanionsExplorer",
    "OptimizerExplorer",
    "ReplicaStatisticsExplorer",
    "RunningAverageExplorer",
]
