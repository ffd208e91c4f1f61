"""Which parameters train, and how many there are as the papers count them.

Trainable sets are named by regular expressions matched (``re.search``)
against parameter names of the whole model, e.g. ``r'\\.smoa\\.'`` or
``r'^head\\.'``. Counts are computed from the model, never typed.
"""
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import is_model_wrapper


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


def matching_parameter_names(model: nn.Module, patterns: Sequence[str],
                             kind: str = 'trainable') -> list:
    """The names of ``model``'s parameters that match one of ``patterns``
    (``re.search``), in ``named_parameters`` order.

    Raises:
        ValueError: A pattern matches no parameter (a typo would otherwise
            silently select nothing).
    """
    compiled = compile_patterns(patterns, kind)
    names = [name for name, _ in model.named_parameters()]
    unused = [
        pattern.pattern for pattern in compiled
        if not any(pattern.search(name) for name in names)
    ]
    if unused:
        raise ValueError(
            f'{kind.capitalize()} pattern(s) {unused} match no parameter of '
            f'{type(model).__name__}; parameter names look like '
            f'{names[:4]}')
    return [
        name for name in names
        if any(pattern.search(name) for pattern in compiled)
    ]


def set_trainable(model: nn.Module, names) -> list:
    """Make exactly the parameters ``names`` of ``model`` trainable.

    Applying the same set twice gives the same model, whatever trained
    before. Returns the trainable names in ``named_parameters`` order.
    """
    names = set(names)
    unknown = names - {name for name, _ in model.named_parameters()}
    if unknown:
        raise ValueError(
            f'{type(model).__name__} has no parameter(s) '
            f'{sorted(unknown)[:5]} of its declared trainable set')
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in names)
    return [name for name, _ in model.named_parameters() if name in names]


def declared_trainable_names(model: nn.Module) -> list:
    """The parameters of ``model`` that train by its own declaration.

    A model that declares its set (``trainable_parameter_names()``: the
    classifiers, a PEFT wrapper, :class:`~adapterx.models.PeftViTDense`)
    gives it. In a model of another codebase (a detector or segmentor
    around a ``PeftViTDense`` backbone) each outermost declaring submodule
    decides for its own parameters, and every other parameter keeps what
    the model set (the neck and task heads are new and train).

    Raises:
        ValueError: Nothing in ``model`` declares a trainable set.
    """
    declared = getattr(model, 'trainable_parameter_names', None)
    if callable(declared):
        return declared()
    owners = {}
    for name, module in model.named_modules():
        inside_owner = any(name.startswith(f'{owner}.') for owner in owners)
        if name and not inside_owner and callable(
                getattr(module, 'trainable_parameter_names', None)):
            owners[name] = module.trainable_parameter_names()
    if not owners:
        raise ValueError(
            f'{type(model).__name__} declares no trainable set and holds '
            'no module that does (trainable_parameter_names()): wrap its '
            "backbone in a PEFT method (e.g. type='PeftViTDense' with a "
            "peft=dict(...)), or give ParameterFreezeHook the patterns of "
            "what trains (trainable=[r'...'])")
    chosen = {
        f'{owner}.{name}'
        for owner, names in owners.items() for name in names
    }
    return [
        name for name, parameter in model.named_parameters()
        if name in chosen or (parameter.requires_grad and not any(
            name.startswith(f'{owner}.') for owner in owners))
    ]


def freeze_parameters(model: nn.Module, trainable: Sequence[str]) -> list:
    """Freeze every parameter of ``model`` whose name matches none of the
    ``trainable`` patterns, and unfreeze those that match one.

    Returns:
        list[str]: The names of the trainable parameters.

    Raises:
        ValueError: A pattern matches no parameter (a typo would otherwise
            silently freeze what it was meant to train).
    """
    return set_trainable(model, matching_parameter_names(model, trainable))


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


def task_head(model: nn.Module) -> Optional[nn.Module]:
    """The task head of ``model``, found through the model itself: under a
    DDP wrapper, a classifier's ``head`` (mmpretrain, the point
    classifier) or timm's ``get_classifier()`` (through a PEFT wrapper
    too). None when the model has neither."""
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'head', None)
    if isinstance(head, nn.Module):
        return head
    get_classifier = getattr(model, 'get_classifier', None)
    return get_classifier() if callable(get_classifier) else None


def trainable_parameter_report(model: nn.Module,
                               head_pattern: Optional[str] = None
                               ) -> TrainableParameterReport:
    """Count ``model``'s parameters in both conventions.

    The head is :func:`task_head`'s unless ``head_pattern`` (a regular
    expression on parameter names) names it. Shared parameters (one expert
    pool in many blocks) count once.
    """
    if head_pattern is None:
        head = task_head(model)
        head_ids = set() if head is None else {
            id(parameter) for parameter in head.parameters()}

        def in_head(name, parameter):
            return id(parameter) in head_ids
    else:
        compiled = re.compile(head_pattern)

        def in_head(name, parameter):
            return bool(compiled.search(name))

    total = head_count = trainable = trainable_head = 0
    for name, parameter in model.named_parameters():
        count = parameter.numel()
        counted_in_head = in_head(name, parameter)
        total += count
        head_count += count * counted_in_head
        if parameter.requires_grad:
            trainable += count
            trainable_head += count * counted_in_head
    return TrainableParameterReport(total, head_count, trainable,
                                    trainable_head)
