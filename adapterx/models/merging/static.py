"""Static merges of T models fine-tuned from the same pretrained weights.

All take state dicts over the same (shared, i.e. head-less) names, compute
in float64 and return tensors of the inputs' dtype. With ``theta_pre`` the
pretrained weights and ``tau_t = theta_t - theta_pre`` the task vectors:

- weight averaging: ``mean_t theta_t``;
- task arithmetic: ``theta_pre + lambda * sum_t tau_t``;
- TIES: trim each ``tau_t`` to its ``density`` fraction of largest
  magnitudes (over the whole task vector, all tensors together), elect per
  entry the sign of ``sum_t`` of the trimmed vectors, average the trimmed
  entries that agree with the elected sign (zeros do not count), and add
  ``lambda`` times that to ``theta_pre``.
"""
import math
from typing import Dict, List, Mapping, Sequence

import torch
from torch import Tensor

from adapterx.checkpoint.state_dicts import average_state_dicts

StateDict = Mapping[str, Tensor]


def _check_same_keys(pretrained: StateDict,
                     finetuned: Sequence[StateDict]) -> None:
    if not finetuned:
        raise ValueError('Merging needs at least one fine-tuned model')
    for index, state in enumerate(finetuned):
        if set(state) != set(pretrained):
            missing = sorted(set(pretrained) - set(state))[:5]
            extra = sorted(set(state) - set(pretrained))[:5]
            raise ValueError(
                f'Fine-tuned model {index} does not have the pretrained '
                f'tensors: missing {missing}, extra {extra}')


def task_vectors(pretrained: StateDict,
                 finetuned: Sequence[StateDict]) -> List[Dict[str, Tensor]]:
    """``theta_t - theta_pre`` per model, in float64."""
    _check_same_keys(pretrained, finetuned)
    return [{
        name: state[name].double() - value.double()
        for name, value in pretrained.items()
    } for state in finetuned]


def _cast_like(merged: Mapping[str, Tensor],
               like: StateDict) -> Dict[str, Tensor]:
    return {name: merged[name].to(like[name].dtype) for name in like}


def weight_average(pretrained: StateDict,
                   finetuned: Sequence[StateDict]) -> Dict[str, Tensor]:
    """``mean_t theta_t`` (``pretrained`` gives names and dtypes only)."""
    _check_same_keys(pretrained, finetuned)
    return average_state_dicts(finetuned, like=pretrained)


def task_arithmetic(pretrained: StateDict, finetuned: Sequence[StateDict],
                    scaling: float = 0.3) -> Dict[str, Tensor]:
    """``theta_pre + scaling * sum_t tau_t`` (0.3 is the usual choice of
    the task-arithmetic paper's validation search)."""
    vectors = task_vectors(pretrained, finetuned)
    return _cast_like({
        name: value.double() + scaling * sum(vector[name]
                                             for vector in vectors)
        for name, value in pretrained.items()
    }, pretrained)


def _trim(vector: Mapping[str, Tensor], density: float) -> Dict[str, Tensor]:
    """Keep the ``density`` fraction of largest-magnitude entries of the
    whole vector (at least one), zero the rest."""
    flat = torch.cat([value.reshape(-1) for value in vector.values()])
    keep = max(1, math.ceil(density * flat.numel()))
    kept = torch.zeros_like(flat)
    indices = flat.abs().topk(keep).indices
    kept[indices] = flat[indices]
    trimmed, offset = {}, 0
    for name, value in vector.items():
        trimmed[name] = kept[offset:offset + value.numel()].view_as(value)
        offset += value.numel()
    return trimmed


def ties_vectors(pretrained: StateDict, finetuned: Sequence[StateDict],
                 density: float = 0.2) -> List[Dict[str, Tensor]]:
    """TIES' trim and sign election: each task vector trimmed to its
    ``density`` fraction of largest magnitudes, then every entry whose sign
    disagrees with the elected one zeroed (float64). TIES averages them;
    AdaMerging++ weights them.

    Raises:
        ValueError: ``density`` is not in (0, 1].
    """
    if not 0 < density <= 1:
        raise ValueError(f'TIES density must be in (0, 1], got {density}')
    trimmed = [_trim(vector, density)
               for vector in task_vectors(pretrained, finetuned)]
    elected = {}
    for name in pretrained:
        stacked = torch.stack([vector[name] for vector in trimmed])
        elected[name] = torch.sign(stacked.sum(0))
    return [{
        name: value * (torch.sign(value) == elected[name])
        for name, value in vector.items()
    } for vector in trimmed]


def ties_merge(pretrained: StateDict, finetuned: Sequence[StateDict],
               density: float = 0.2, scaling: float = 1.0
               ) -> Dict[str, Tensor]:
    """TIES merging (trim, elect sign, disjoint mean); see the module
    docstring.

    Raises:
        ValueError: ``density`` is not in (0, 1].
    """
    selected = ties_vectors(pretrained, finetuned, density)
    merged = {}
    for name, value in pretrained.items():
        stacked = torch.stack([vector[name] for vector in selected])
        # Zeros (trimmed or of the other sign) do not count in the mean.
        count = (stacked != 0).sum(0).clamp(min=1)
        merged[name] = value.double() + scaling * stacked.sum(0) / count
    return _cast_like(merged, pretrained)


STATIC_MERGES = {
    'weight_average': weight_average,
    'task_arithmetic': task_arithmetic,
    'ties': ties_merge,
}


def static_merge(method: str, pretrained: StateDict,
                 finetuned: Sequence[StateDict], **options
                 ) -> Dict[str, Tensor]:
    """Merge with the method named ``method`` (a key of
    :data:`STATIC_MERGES`) and its ``options``.

    Raises:
        ValueError: Unknown method.
    """
    if method not in STATIC_MERGES:
        raise ValueError(f'Unknown static merge {method!r}; known: '
                         f'{sorted(STATIC_MERGES)}')
    return STATIC_MERGES[method](pretrained, finetuned, **options)
