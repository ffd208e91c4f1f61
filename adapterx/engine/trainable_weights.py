"""Checkpoints of the trainable tensors alone, applied on top of the
pretrained backbone (an Adapter-X file is ~0.2% of a ViT-B/16 checkpoint).
"""
from typing import Optional

import torch.nn as nn

from adapterx.models.peft.strict_loading import TRAINABLE_ONLY, load_checked

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


def load_trainable_state_dict(model: nn.Module, state: dict, source: str,
                              strict: bool = True,
                              how_to_relax: Optional[str] = None) -> None:
    """Load a :func:`trainable_state_dict` into ``model``, whose other
    tensors are the config's pretrained weights.

    Args:
        strict (bool): Refuse a file made for another backbone or method:
            one that holds tensors the model does not have or of other
            shapes, or lacks some the PEFT method added (see
            :func:`load_checked`).
        how_to_relax (str, optional): See :func:`load_checked`.

    Raises:
        CheckpointMismatchError: ``strict`` and the file does not fit.
    """
    load_checked(model, state, source, TRAINABLE_ONLY, strict, how_to_relax)
