"""The fine-tuned angle of a residual unit, and the selection it drives.

The angle of a unit is ``arccos(<W_pre, W_ft> / (|W_pre| |W_ft|))`` between
the unit's pretrained and fine-tuned weights, each flattened and
concatenated over the unit's tensors (in degrees here), its norm included
unless ``include_norm=False`` (the attention's or FFN's weights alone, so
that a retrained LayerNorm does not dominate a unit's angle). Units are
ranked
within their group (units of identical structure, see :mod:`.units`); the
paper's two knobs are which end of the ranking trains (large angles suit
hard tasks, small angles easy ones) and how many units per group.
"""
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from adapterx.checkpoint.comparison import (align_keys, complete_state,
                                            load_checkpoint_weights)
from .units import ResidualUnit, find_residual_units, group_units

ENDS = ('largest', 'smallest')


def weight_angle(first: Sequence[Tensor], second: Sequence[Tensor],
                 label: str = 'weights') -> float:
    """The angle in degrees between two weight vectors, each the
    concatenation of its tensors, flattened.

    Computed as ``2 atan2(|a/|a| - b/|b||, |a/|a| + b/|b||)``, which equals
    ``arccos(<a, b> / (|a| |b|))`` but keeps its precision for the small
    angles fine-tuning produces (arccos of a cosine near 1 does not), in
    float64.

    Raises:
        ValueError: The vectors differ in size, or one is all zeros (the
            angle is undefined); ``label`` names them in the message.
    """
    vectors = [
        torch.cat([tensor.detach().reshape(-1).double() for tensor in side])
        for side in (first, second)
    ]
    if vectors[0].numel() != vectors[1].numel():
        raise ValueError(
            f'{label}: {vectors[0].numel()} vs {vectors[1].numel()} values; '
            'an angle needs weights of the same size')
    norms = [vector.norm() for vector in vectors]
    if min(norms) == 0:
        raise ValueError(f'{label}: all-zero weights have no angle')
    first_unit, second_unit = (vector / norm
                               for vector, norm in zip(vectors, norms))
    return math.degrees(2 * math.atan2((first_unit - second_unit).norm(),
                                       (first_unit + second_unit).norm()))


def unit_angles(pretrained: Mapping[str, Tensor],
                finetuned: Mapping[str, Tensor],
                units: Sequence[ResidualUnit],
                include_norm: bool = True) -> Dict[str, float]:
    """The fine-tuned angle of each unit, by unit name: over all its
    tensors, or with ``include_norm=False`` over those of its attention or
    FFN only (:meth:`ResidualUnit.parameters_without_norm`).

    Both mappings must hold every parameter of every unit
    (:func:`~adapterx.checkpoint.comparison.complete_state` fills a
    trainable-only checkpoint).
    """
    angles = {}
    for unit in units:
        names = unit.parameters if include_norm else \
            unit.parameters_without_norm()
        angles[unit.name] = weight_angle([pretrained[name] for name in names],
                                         [finetuned[name] for name in names],
                                         label=unit.name)
    return angles


def rank_units(units: Sequence[ResidualUnit], angles: Mapping[str, float]
               ) -> Dict[str, List[Tuple[ResidualUnit, float]]]:
    """Each group's units with their angles, largest angle first (ties in
    depth order)."""
    return {
        group: sorted(((unit, angles[unit.name]) for unit in members),
                      key=lambda pair: -pair[1])
        for group, members in group_units(units).items()
    }


def select_by_angle(units: Sequence[ResidualUnit],
                    angles: Mapping[str, float], k: int,
                    end: str = 'largest') -> List[ResidualUnit]:
    """The ``k`` largest- or smallest-angle units of every group, in depth
    order.

    Raises:
        ValueError: ``end`` is not one of :data:`ENDS`, ``k`` is not a
            positive integer, or ``k`` exceeds a group's size.
    """
    if end not in ENDS:
        raise ValueError(f'end must be one of {ENDS}, got {end!r}')
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f'k must be a positive integer, got {k!r}')
    chosen = set()
    for group, ranked in rank_units(units, angles).items():
        if k > len(ranked):
            raise ValueError(
                f'k={k} exceeds the {len(ranked)} units of group {group}')
        ends = ranked[:k] if end == 'largest' else ranked[-k:]
        chosen.update(unit.name for unit, _ in ends)
    return [unit for unit in units if unit.name in chosen]


def checkpoint_unit_angles(pretrained_path: str, finetuned_path: str,
                           trust: bool = False,
                           how_to_trust: Optional[str] = None,
                           include_norm: bool = True
                           ) -> Tuple[List[ResidualUnit], Dict[str, float]]:
    """The units (named as in the fine-tuned checkpoint) and their angles
    between two checkpoint files.

    The pretrained file may be a bare backbone's state dict or hold keys
    under ``backbone.``; a trainable-only fine-tuned file
    (``trainable_epoch_N.safetensors``) leaves its frozen units at the
    pretrained weights, so their angle is 0. ``trust`` and ``how_to_trust``:
    see :func:`load_checkpoint_weights`; ``include_norm``: see
    :func:`unit_angles`.
    """
    finetuned = load_checkpoint_weights(finetuned_path, trust, how_to_trust)
    pretrained = load_checkpoint_weights(pretrained_path, trust,
                                         how_to_trust)
    pretrained_state = align_keys(pretrained.state_dict,
                                  finetuned.state_dict, pretrained_path)
    units = find_residual_units(pretrained_state)
    finetuned_state = complete_state(
        finetuned, pretrained_state,
        [name for unit in units for name in unit.parameters])
    if not finetuned.trainable_only:
        extra = sorted({unit.name for unit in find_residual_units(
            finetuned.state_dict)} - {unit.name for unit in units})
        if extra:
            raise ValueError(
                f'{finetuned_path} has residual units that {pretrained_path} '
                f'lacks, e.g. {extra[:4]}: the two files are not one '
                'architecture')
    return units, unit_angles(pretrained_state, finetuned_state, units,
                              include_norm)
