"""Checkpoints of the trainable tensors alone, applied on top of the
pretrained backbone (an Adapter-X file is ~0.2% of a ViT-B/16 checkpoint;
:func:`~adapterx.checkpoint.loading.load_trainable_state_dict` loads one).
"""
import torch.nn as nn

TRAINABLE_ONLY_KEY = 'adapterx_trainable_only'


def trainable_state_dict(model: nn.Module) -> dict:
    """The parameters that require grad, and the buffers of the modules that
    own such parameters (e.g. the running statistics of a trainable
    BatchNorm in a 3D head)."""
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
        if trainable:
            for name, buffer in module.named_buffers(recurse=False):
                state[prefix + name] = buffer.detach().clone()
    return state
