"""The PEFT core that every method in ``adapterx.models.methods`` builds
on: the wrapper base (:mod:`.wrapper`), per-block forward patching and its
per-forward context (:mod:`.block_patching`, :mod:`.forward_context`),
re-parameterised layers that fold into the weights (:mod:`.reparam`),
freezing and parameter counting (:mod:`.freeze`), the methods that only
choose backbone parameters (:mod:`.backbone_methods`), merging into the
weights (:mod:`.merge`) and the Python API (:mod:`.api`)."""
from .api import (METHOD_NAMES, PeftModel, get_peft_model,
                  load_peft_model)
from .backbone_methods import (BackboneMethod, BitFit, FullFineTune,
                               LinearProbe)
from .forward_context import ForwardContext
from .freeze import (TrainableParameterReport, freeze_parameters,
                     trainable_parameter_report)
from .injected import InjectedModule, injected_tensor_names

__all__ = [
    'freeze_parameters', 'trainable_parameter_report',
    'TrainableParameterReport', 'InjectedModule', 'injected_tensor_names',
    'BackboneMethod', 'FullFineTune', 'LinearProbe',
    'BitFit', 'METHOD_NAMES', 'PeftModel', 'get_peft_model',
    'load_peft_model', 'ForwardContext'
]
