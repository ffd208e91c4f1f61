"""Checkpoints of the trainable tensors alone, applied on top of the
pretrained backbone (an Adapter-X file is ~0.2% of a ViT-B/16 checkpoint).
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


def load_trainable_state_dict(model: nn.Module, state: dict,
                              source: str) -> None:
    """Load a :func:`trainable_state_dict` into ``model``.

    Raises:
        ValueError: The file holds tensors the model does not have, or of
            other shapes: it was made for another backbone or method.
    """
    model_state = model.state_dict()
    unexpected = [key for key in state if key not in model_state]
    mismatched = [
        f'{key}: file {tuple(state[key].shape)} vs model '
        f'{tuple(model_state[key].shape)}' for key in state
        if key in model_state and state[key].shape != model_state[key].shape
    ]
    if unexpected or mismatched:
        raise ValueError(
            f'{source} does not fit this model (made for another backbone '
            f'or PEFT method?). Unexpected keys: {unexpected[:10]}'
            f'{" ..." if len(unexpected) > 10 else ""}; shape mismatches: '
            f'{mismatched[:10]}')
    model.load_state_dict(state, strict=False)
