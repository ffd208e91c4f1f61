"""The training strategies that add no module to the backbone: they only
choose which of its parameters train. They are named like the PEFT
wrappers (``peft=dict(type='BitFit')``) so that every config names its
method the same way, but leave the backbone (and its parameter names, so
the trained backbone is a plain one) as it is."""
from typing import List, Optional, Tuple

import torch.nn as nn

from adapterx.registry import MODELS


class BackboneMethod:
    """Base of the methods without modules: :meth:`trainable_parameter_names`
    gives the names (under the backbone) of the backbone's parameters that
    train."""

    def trainable_parameter_names(self, backbone: nn.Module) -> List[str]:
        raise NotImplementedError


@MODELS.register_module()
class FullFineTune(BackboneMethod):
    """Every parameter of the backbone trains."""

    def trainable_parameter_names(self, backbone: nn.Module) -> List[str]:
        return [name for name, _ in backbone.named_parameters()]


@MODELS.register_module()
class LinearProbe(BackboneMethod):
    """The backbone stays frozen (only the head trains)."""

    def trainable_parameter_names(self, backbone: nn.Module) -> List[str]:
        return []


@MODELS.register_module()
class BitFit(BackboneMethod):
    """BitFit (arXiv 2106.10199): every bias of the backbone trains (linear
    layers, norms, the patch or group embedding)."""

    def trainable_parameter_names(self, backbone: nn.Module) -> List[str]:
        return [
            name for name, _ in backbone.named_parameters()
            if name.endswith('.bias')
        ]


def apply_method(peft: Optional[dict], backbone: nn.Module
                 ) -> Tuple[nn.Module, Optional[BackboneMethod]]:
    """Build the method ``peft`` names (None: full fine-tuning) for
    ``backbone``: a wrapper replaces the backbone, a method without modules
    leaves it as it is.

    Returns:
        tuple: The backbone to use and the method without modules (None
        for a wrapper, which declares its own set).
    """
    peft = dict(peft or dict(type='FullFineTune'))
    method_type = peft['type']
    method_class = method_type if isinstance(
        method_type, type) else MODELS.get(method_type)
    if isinstance(method_class, type) and issubclass(method_class,
                                                     BackboneMethod):
        return backbone, MODELS.build(peft)
    return MODELS.build(dict(peft, module=backbone)), None


def method_trainable_names(backbone: nn.Module,
                           backbone_method: Optional[BackboneMethod]
                           ) -> List[str]:
    """The names (under ``backbone``) the method trains: the wrapper's
    declared set, or the method without modules' choice."""
    if backbone_method is not None:
        return backbone_method.trainable_parameter_names(backbone)
    declared = getattr(backbone, 'trainable_parameter_names', None)
    if declared is None:
        raise ValueError(
            f'{type(backbone).__name__} declares no trainable set '
            '(trainable_parameter_names()): wrap it in a PEFT method or name '
            "a method without modules (peft=dict(type='FullFineTune'))")
    return declared()
