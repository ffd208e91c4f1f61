"""The training strategies that add no module to the backbone: they only
choose which of its parameters train. They are named like the PEFT
wrappers (``peft=dict(type='BitFit')``) so that every config names its
method the same way, but leave the backbone (and its parameter names, so
the trained backbone is a plain one) as it is."""
from typing import List

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
