from typing import Union

import torch.nn as nn
from mmengine.model import BaseModule

from adapterx.registry import MODELS


class PeftWrapper(BaseModule):
    """Base of every PEFT wrapper: the backbone it adapts is ``module``.

    A backbone given as a config is built and its ``init_weights`` (the
    pretrained weights) run here, before the method adds its modules, so
    the strict pretrained loading sees the backbone's own keys only.
    Attribute reads the wrapper does not answer go to the backbone, so code
    written for the plain backbone (``out_indices``, ``embed_dims``,
    ``norm``, ...) keeps working on the wrapped one.

    Args:
        module (dict | nn.Module): The backbone (config or module).
    """

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
