"""Which parameters train, and how many there are as the papers count them.

Trainable sets are named by regular expressions matched (``re.search``)
against parameter names of the whole model, e.g. ``r'\\.smoa\\.'`` or
``r'^head\\.'``. Counts are computed from the model, never typed.
"""
import re
from dataclasses import dataclass
from typing import Sequence

import torch.nn as nn


def compile_patterns(patterns: Sequence[str], kind: str = 'trainable'):
    """Compile regular expressions from a config; an invalid one is an
    error naming it (``kind`` says what the patterns select)."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as error:
            raise ValueError(
                f'Invalid {kind} pattern {pattern!r}: {error}') from error
    return compiled


def freeze_parameters(model: nn.Module, trainable: Sequence[str]) -> list:
    """Freeze every parameter of ``model`` whose name matches none of the
    ``trainable`` patterns, and unfreeze those that match one.

    Returns:
        list[str]: The names of the trainable parameters.

    Raises:
        ValueError: A pattern matches no parameter (a typo would otherwise
            silently freeze what it was meant to train).
    """
    compiled = compile_patterns(trainable)
    used = [False] * len(compiled)
    trainable_names = []
    for name, parameter in model.named_parameters():
        matches = [bool(pattern.search(name)) for pattern in compiled]
        used = [was or now for was, now in zip(used, matches)]
        parameter.requires_grad_(any(matches))
        if any(matches):
            trainable_names.append(name)
    unused = [pattern.pattern for pattern, hit in zip(compiled, used)
              if not hit]
    if unused:
        raise ValueError(
            f'Trainable pattern(s) {unused} match no parameter of '
            f'{type(model).__name__}; parameter names look like '
            f'{[name for name, _ in model.named_parameters()][:4]}')
    return trainable_names


@dataclass(frozen=True)
class TrainableParameterReport:
    """Parameter counts in the two conventions of the PEFT literature.

    2D papers (VPT, NOAH, Adapter-X's 0.20%) count the trainable parameters
    without the task head, as a share of the backbone; 3D papers (IDPT,
    DAPT, Adapter-X's 1.88%) count them with the head, as a share of the
    whole model.
    """
    total: int
    head: int
    trainable: int
    trainable_head: int

    @property
    def backbone(self) -> int:
        return self.total - self.head

    @property
    def trainable_without_head(self) -> int:
        return self.trainable - self.trainable_head

    @property
    def percent_of_backbone_without_head(self) -> float:
        return 100.0 * self.trainable_without_head / self.backbone

    @property
    def percent_of_model_with_head(self) -> float:
        return 100.0 * self.trainable / self.total

    def summary(self) -> str:
        return (
            f'trainable without head: {self.trainable_without_head:,} = '
            f'{self.percent_of_backbone_without_head:.2f}% of the '
            f'{self.backbone:,}-parameter backbone (2D convention); '
            f'with head: {self.trainable:,} = '
            f'{self.percent_of_model_with_head:.2f}% of all '
            f'{self.total:,} (3D convention)')


def trainable_parameter_report(model: nn.Module,
                               head_pattern: str = r'^head\.'
                               ) -> TrainableParameterReport:
    """Count ``model``'s parameters; ``head_pattern`` names the task head.

    Shared parameters (one expert pool in many blocks) count once.
    """
    head = re.compile(head_pattern)
    total = head_count = trainable = trainable_head = 0
    for name, parameter in model.named_parameters():
        count = parameter.numel()
        in_head = bool(head.search(name))
        total += count
        head_count += count * in_head
        if parameter.requires_grad:
            trainable += count
            trainable_head += count * in_head
    return TrainableParameterReport(total, head_count, trainable,
                                    trainable_head)
