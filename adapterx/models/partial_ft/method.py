"""Partial fine-tuning as a method without modules: it only chooses which
residual units of the backbone train (the head always trains)."""
from typing import List, Optional, Sequence

import torch.nn as nn

from adapterx.models.peft.backbone_methods import BackboneMethod
from adapterx.models.peft.freeze import matching_parameter_names
from adapterx.registry import MODELS
from .angle import checkpoint_unit_angles, select_by_angle
from .strategies import get_strategy, norm_and_bias_patterns, strategy_units
from .units import find_residual_units, pick_units

ANGLE_SELECTION_KEYS = {
    'pretrained': True, 'finetuned': True, 'k': True, 'end': False,
    'trust': False
}
# The method reads its two files when the model is built, from its own
# settings: the run's --trust-checkpoint does not reach it.
ANGLE_SELECTION_HOW_TO_TRUST = (
    'model.peft.angle_selection.trust=True (--trust-checkpoint does not '
    "apply to the angle selection's files)")
# Unit names are the classifier's (backbone.layers.3.ffn), as
# tools/analysis_tools/finetuned_angle.py writes them.
BACKBONE_PREFIX = 'backbone.'


@MODELS.register_module()
class PartialFineTune(BackboneMethod):
    """Partial fine-tuning (arXiv 2312.15681): some residual units of the
    backbone train (see :mod:`adapterx.models.partial_ft.units`), with the
    head; ``peft=dict(type='PartialFineTune', strategy='ffn_only')``.

    Give exactly one of:

    Args:
        strategy (str): One of the eight named strategies of
            :data:`adapterx.models.partial_ft.STRATEGIES`
            (``'attention_only'``, ``'ffn_only'`` and six of ours).
        units (list[str]): Unit names as the classifier names them, e.g.
            ``'backbone.layers.11.ffn'``, as
            ``tools/analysis_tools/finetuned_angle.py --emit-config`` writes
            them.
        angle_selection (dict): Select by fine-tuned angle when the model
            is built: ``pretrained`` and ``finetuned`` (a reference run's
            checkpoint file, runner or trainable-only) give the angles; the
            ``k`` units of each group at the ``end`` (``'largest'``, the
            default, or ``'smallest'``) train; ``trust=True`` allows full
            unpickling of the two files.
    """

    def __init__(self,
                 strategy: Optional[str] = None,
                 units: Optional[Sequence[str]] = None,
                 angle_selection: Optional[dict] = None):
        given = [
            name for name, value in (('strategy', strategy), ('units', units),
                                     ('angle_selection', angle_selection))
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                'PartialFineTune needs exactly one of strategy, units or '
                f'angle_selection, got {given or "none"}')
        if strategy is not None:
            get_strategy(strategy)
        if angle_selection is not None:
            _check_angle_selection(angle_selection)
        self.strategy = strategy
        self.units = units
        self.angle_selection = angle_selection

    def trainable_parameter_names(self, backbone: nn.Module) -> List[str]:
        if self.strategy is not None:
            strategy = get_strategy(self.strategy)
            if strategy.norms_and_biases:
                return matching_parameter_names(
                    backbone, norm_and_bias_patterns(backbone))
            if not strategy.kinds:
                return []
        parameters = {
            f'{BACKBONE_PREFIX}{name}': parameter
            for name, parameter in backbone.named_parameters()
        }
        chosen = self._chosen_units(find_residual_units(parameters))
        return [
            name[len(BACKBONE_PREFIX):] for unit in chosen
            for name in unit.parameters
        ]

    def _chosen_units(self, model_units):
        if self.strategy is not None:
            return strategy_units(model_units, self.strategy)
        if self.units is not None:
            return pick_units(model_units, self.units)
        selection = self.angle_selection
        reference_units, angles = checkpoint_unit_angles(
            selection['pretrained'], selection['finetuned'],
            trust=selection.get('trust', False),
            how_to_trust=ANGLE_SELECTION_HOW_TO_TRUST)
        selected = select_by_angle(reference_units, angles, selection['k'],
                                   selection.get('end', 'largest'))
        return pick_units(model_units, [unit.name for unit in selected])


def _check_angle_selection(selection) -> None:
    if not isinstance(selection, dict):
        raise ValueError(
            f'angle_selection must be a dict, got {selection!r}')
    unknown = sorted(set(selection) - set(ANGLE_SELECTION_KEYS))
    missing = sorted(key for key, required in ANGLE_SELECTION_KEYS.items()
                     if required and key not in selection)
    if unknown or missing:
        raise ValueError(
            f'angle_selection: unknown key(s) {unknown}, missing key(s) '
            f'{missing}; it takes {sorted(ANGLE_SELECTION_KEYS)}')
