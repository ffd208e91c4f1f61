from .api import (METHOD_NAMES, PeftModel, get_peft_model,
                  load_peft_model)
from .backbone_methods import (BackboneMethod, BitFit, FullFineTune,
                               LinearProbe)
from .freeze import (TrainableParameterReport, freeze_parameters,
                     trainable_parameter_report)
from .injected import InjectedModule, injected_tensor_names

__all__ = [
    'freeze_parameters', 'trainable_parameter_report',
    'TrainableParameterReport', 'InjectedModule', 'injected_tensor_names',
    'BackboneMethod', 'FullFineTune', 'LinearProbe',
    'BitFit', 'METHOD_NAMES', 'PeftModel', 'get_peft_model',
    'load_peft_model'
]
