from .backbone_methods import (BackboneMethod, BitFit, FullFineTune,
                               LinearProbe)
from .freeze import (TrainableParameterReport, freeze_parameters,
                     trainable_parameter_report)
from .injected import InjectedModule, injected_tensor_names

__all__ = [
    'freeze_parameters', 'trainable_parameter_report',
    'TrainableParameterReport', 'InjectedModule', 'injected_tensor_names',
    'BackboneMethod', 'FullFineTune', 'LinearProbe',
    'BitFit'
]
