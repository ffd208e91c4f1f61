"""State dicts and the models they come from: the key prefix of a
DDP-wrapped save, the model inside a wrapper, and averaging."""
from typing import Dict, Mapping, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import Tensor

StateDict = Mapping[str, Tensor]

# What DDP puts before every key of a model saved while it was wrapped.
DDP_PREFIX = 'module.'


def strip_ddp_prefix(state_dict):
    """``state_dict`` with the ``module.`` of a DDP-wrapped save removed
    from each key that has it."""
    return {
        key[len(DDP_PREFIX):] if key.startswith(DDP_PREFIX) else key: value
        for key, value in state_dict.items()
    }


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model that DDP-style wrappers (mmengine's ``is_model_wrapper``)
    and test-time augmentation hold: the one whose state dict files hold,
    and whose parameters the PEFT method owns."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def average_state_dicts(states: Sequence[StateDict],
                        like: Optional[StateDict] = None
                        ) -> Dict[str, Tensor]:
    """The element-wise mean of state dicts with the same keys, computed in
    float64 (so the mean of identical states is that state exactly).

    Args:
        states: The state dicts.
        like: Gives the keys' order and the dtypes of the result; the first
            state if None.

    Raises:
        ValueError: An integer tensor (an index buffer, not a weight)
            differs between the states.
    """
    like = states[0] if like is None else like
    mean = {}
    for key, reference in like.items():
        values = [state[key] for state in states]
        if values[0].is_floating_point():
            average = torch.stack([value.double() for value in values]).mean(0)
            mean[key] = average.to(reference.dtype)
        elif all(torch.equal(value, values[0]) for value in values):
            mean[key] = values[0].clone()
        else:
            raise ValueError(
                f'{key} is a non-floating-point tensor that differs between '
                'the state dicts: it cannot be averaged')
    return mean
