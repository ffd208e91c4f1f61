from typing import Optional, Sequence

from adapterx.models.partial_ft import (checkpoint_unit_angles,
                                        find_residual_units, get_strategy,
                                        pick_units, select_by_angle,
                                        strategy_patterns)
from adapterx.registry import HOOKS
from .parameter_freeze_hook import ParameterFreezeHook

ANGLE_SELECTION_KEYS = {
    'pretrained': True, 'finetuned': True, 'k': True, 'end': False,
    'trust': False
}
# The hook reads its two files when the runner freezes the model, from its
# own settings: the run's --trust-checkpoint does not reach it.
ANGLE_SELECTION_HOW_TO_TRUST = (
    'angle_selection=dict(..., trust=True) in the PartialFineTuneHook of '
    "the config's custom_hooks (--trust-checkpoint does not apply to the "
    "hook's files)")


@HOOKS.register_module()
class PartialFineTuneHook(ParameterFreezeHook):
    """Partial fine-tuning (arXiv 2312.15681): train some residual units of
    the backbone (see :mod:`adapterx.models.partial_ft.units`) and the head.

    Give exactly one of:

    Args:
        strategy (str): One of the eight named strategies of
            :data:`adapterx.models.partial_ft.STRATEGIES`
            (``'attention_only'``, ``'ffn_only'`` and six of ours).
        units (list[str]): Unit names, e.g. ``'backbone.layers.11.ffn'``, as
            ``tools/analysis_tools/finetuned_angle.py --emit-config`` writes
            them.
        angle_selection (dict): Select by fine-tuned angle at freezing time:
            ``pretrained`` and ``finetuned`` (a reference run's checkpoint
            file, runner or trainable-only) give the angles; the ``k`` units
            of each group at the ``end`` (``'largest'``, the default, or
            ``'smallest'``) train; ``trust=True`` allows full unpickling of
            the two files.
        head_pattern (str): Names the head, which always trains.
        verify_frozen (bool): As for :class:`ParameterFreezeHook`.

    At freezing time the selection becomes one trainable pattern per unit
    (plus the head's), which ``trainable_parameters.json`` lists.
    """

    def __init__(self,
                 strategy: Optional[str] = None,
                 units: Optional[Sequence[str]] = None,
                 angle_selection: Optional[dict] = None,
                 head_pattern: str = r'^head\.',
                 verify_frozen: bool = True):
        given = [
            name for name, value in (('strategy', strategy), ('units', units),
                                     ('angle_selection', angle_selection))
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                'PartialFineTuneHook needs exactly one of strategy, units or '
                f'angle_selection, got {given or "none"}')
        if strategy is not None:
            get_strategy(strategy)
        if angle_selection is not None:
            _check_angle_selection(angle_selection)
        super().__init__(
            trainable=[head_pattern],
            head_pattern=head_pattern,
            verify_frozen=verify_frozen)
        self.strategy = strategy
        self.units = units
        self.angle_selection = angle_selection

    def freeze(self, model) -> None:
        self.trainable = [self.head_pattern, *self._unit_patterns(model)]
        super().freeze(model)

    def _unit_patterns(self, model) -> list:
        if self.strategy is not None:
            return strategy_patterns(model, self.strategy)
        model_units = find_residual_units(dict(model.named_parameters()))
        if self.units is not None:
            chosen = pick_units(model_units, self.units)
        else:
            selection = self.angle_selection
            reference_units, angles = checkpoint_unit_angles(
                selection['pretrained'], selection['finetuned'],
                trust=selection.get('trust', False),
                how_to_trust=ANGLE_SELECTION_HOW_TO_TRUST)
            selected = select_by_angle(reference_units, angles,
                                       selection['k'],
                                       selection.get('end', 'largest'))
            chosen = pick_units(model_units, [unit.name for unit in selected])
        return [unit.pattern for unit in chosen]


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
