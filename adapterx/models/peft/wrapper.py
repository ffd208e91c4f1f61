from typing import List, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule

from adapterx.registry import MODELS
from .freeze import matching_parameter_names


class InjectedModule(nn.Module):
    """Base of the modules a PEFT method adds *inside* a backbone (e.g.
    Adapter-X's per-block adapters).

    The backbone's pretrained checkpoints cannot hold their tensors, so the
    strict loading (:mod:`adapterx.checkpoint.loading`) expects them
    to be missing from such files, and only them.
    """


class PeftWrapper(BaseModule):
    """Base of every PEFT wrapper: the backbone it adapts is ``module``.

    A backbone given as a config is built and its ``init_weights`` (the
    pretrained weights) run here, before the method adds its modules, so
    the strict pretrained loading sees the backbone's own keys only.
    Attribute reads the wrapper does not answer go to the backbone, so code
    written for the plain backbone (``out_indices``, ``embed_dims``,
    ``norm``, ...) keeps working on the wrapped one.

    The method declares what trains (:meth:`trainable_parameter_names`):
    every parameter of the modules it adds (its own beside the backbone and
    the :class:`InjectedModule` s inside it) and the backbone tensors that
    :attr:`retrained_backbone_parameters` names.

    Args:
        module (dict | nn.Module): The backbone (config or module).
    """

    #: Regular expressions (``re.search`` on this wrapper's parameter
    #: names) of backbone tensors the method trains besides its own modules
    #: (e.g. Adapter-X's block norms and class token).
    retrained_backbone_parameters: Sequence[str] = ()

    def __init__(self, module: Union[dict, nn.Module], init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(module, dict):
            module = MODELS.build(module)
            module.init_weights()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__('module'), name)

    def trainable_parameter_names(self) -> List[str]:
        """The names (under this wrapper) of the parameters the method
        trains, in ``named_parameters`` order."""
        injected = [
            f'module.{name}.'
            for name, submodule in self.module.named_modules()
            if isinstance(submodule, InjectedModule)
        ]
        retrained = set(
            matching_parameter_names(self, self.retrained_backbone_parameters,
                                     'retrained backbone'))
        return [
            name for name, _ in self.named_parameters()
            if not name.startswith('module.') or name in retrained
            or name.startswith(tuple(injected))
        ]
