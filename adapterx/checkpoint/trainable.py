"""Checkpoints of the trainable tensors alone, applied on top of the
pretrained backbone (an Adapter-X file is ~0.2% of a ViT-B/16 checkpoint;
:func:`~adapterx.checkpoint.loading.load_trainable_state_dict` loads one).
"""
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

TRAINABLE_ONLY_KEY = 'adapterx_trainable_only'


def trainable_state_dict(model: nn.Module) -> dict:
    """What training changes: the parameters that require grad, the buffers
    of the modules that own such parameters, and the running statistics of
    every BatchNorm, frozen or not (in training mode they move whether or
    not the weights train: the point transformer's frozen group encoder's
    do)."""
    state = {}
    for module_name, module in model.named_modules():
        prefix = f'{module_name}.' if module_name else ''
        own_parameters = dict(module.named_parameters(recurse=False))
        trainable = {
            name: parameter
            for name, parameter in own_parameters.items()
            if parameter.requires_grad
        }
        for name, parameter in trainable.items():
            state.setdefault(prefix + name, parameter.detach().clone())
        if trainable or isinstance(module, _BatchNorm):
            for name, buffer in module.named_buffers(recurse=False):
                state[prefix + name] = buffer.detach().clone()
    return state
