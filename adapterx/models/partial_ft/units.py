"""Residual units: the granularity of partial fine-tuning (arXiv 2312.15681).

A transformer block computes ``x = x + Attn(Norm1(x))`` then
``x = x + FFN(Norm2(x))``. Each residual branch is one *unit*: the
attention unit of a block is its first norm and its attention, the FFN unit
its second norm and its FFN. The norm belongs to the unit because it lies
inside the branch the residual connection adds: training a unit trains all
of ``f`` in ``x + f(x)``, and the unit's fine-tuned angle is taken over all
of ``f``'s weights.

Which children of a block make each unit is
:mod:`adapterx.models.vit_anatomy`'s (``attention_branch`` and
``mlp_branch`` of mmpretrain's ``TransformerEncoderLayer`` and
``SwinBlock`` and of timm's ``Block``); a layer scale that is a child of
its own (timm's ``ls1`` / ``ls2``) is part of its unit when it has
weights.

Units of one kind in one list of blocks form a *group*: all attention units
of a ViT, all FFN units of a ViT, and for Swin the attention units of one
stage, the FFN units of one stage, and so on (widths differ between stages,
so only units within a stage are alike). Within a group every unit has the
same parameter names and shapes, which is what makes their angles
comparable. Everything outside the blocks belongs to no unit: the patch
embedding, class token and position embedding, Swin's patch merging
(``stages.s.downsample``), the final norm and the head.

Units are found from parameter names, so a model (``named_parameters()``)
and a checkpoint (its state dict) give the same units: a block is a module
path ending in an integer whose children include the norms, attention and
MLP of one of :data:`~adapterx.models.vit_anatomy.RESIDUAL_BLOCKS` (so an
Adapter-X wrapped backbone, whose blocks carry an extra ``adapterx`` child,
still has its units). Only
floating-point tensors count as weights (Swin's integer
``relative_position_index`` buffers are indices, not weights).
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from torch import Tensor

from ..vit_anatomy import RESIDUAL_BLOCKS, BlockAnatomy

UNIT_KINDS = ('attention', 'ffn')


def _unit_children(anatomy: BlockAnatomy, kind: str) -> Tuple[str, ...]:
    return anatomy.attention_branch if kind == 'attention' else \
        anatomy.mlp_branch


def _required_children(anatomy: BlockAnatomy) -> set:
    """The children every block of ``anatomy`` has weights in (a layer
    scale child has none while layer scale is off)."""
    return {anatomy.norm1, anatomy.attn, anatomy.norm2, anatomy.mlp}


@dataclass(frozen=True)
class ResidualUnit:
    """One residual branch of one transformer block.

    Attributes:
        name (str): ``<block>.<kind>``, e.g. ``backbone.layers.3.attention``
            (no module has this name: ``kind`` is the unit's, not a child's).
        kind (str): ``'attention'`` or ``'ffn'``.
        block (str): Module path of the block, e.g. ``backbone.layers.3``.
        block_index (int): Position of the block among all blocks of the
            model, in depth order (Swin counts on across stages).
        group (str): ``<block list>.*.<kind>``, e.g. ``backbone.layers.*.ffn``
            or ``backbone.stages.1.blocks.*.attention``.
        modules (tuple[str]): Module paths that make the unit.
        parameters (tuple[str]): Names of the unit's floating-point tensors.
        norm (str): Module path of the unit's norm (LN1 or LN2).
    """
    name: str
    kind: str
    block: str
    block_index: int
    group: str
    modules: Tuple[str, ...]
    parameters: Tuple[str, ...]
    norm: str

    def parameters_without_norm(self) -> Tuple[str, ...]:
        """The unit's tensors other than its norm's: the attention's, or
        the FFN's (and a layer scale's)."""
        return tuple(name for name in self.parameters
                     if not name.startswith(f'{self.norm}.'))

    @property
    def pattern(self) -> str:
        """A regular expression (for ``re.search``) matching exactly the
        unit's parameter names."""
        children = '|'.join(
            re.escape(module[len(self.block) + 1:]) for module in self.modules)
        return f'^{re.escape(self.block)}\\.(?:{children})\\.'

    def signature(self) -> Tuple:
        """Parameter names relative to the block, for comparing units."""
        return tuple(name[len(self.block):] for name in self.parameters)


def _children_of_numbered_modules(names: Sequence[str]) -> Dict[str, list]:
    """Every module path ending in an integer, with its children's names,
    in order of first appearance (depth order for ``named_parameters``)."""
    children = {}
    for name in names:
        parts = name.split('.')
        # The last part is a tensor name; a block needs a child before it.
        for position in range(len(parts) - 2):
            if parts[position].isdigit():
                path = '.'.join(parts[:position + 1])
                found = children.setdefault(path, [])
                if parts[position + 1] not in found:
                    found.append(parts[position + 1])
    return children


def _anatomy_of(children: Sequence[str]) -> Optional[BlockAnatomy]:
    for anatomy in RESIDUAL_BLOCKS:
        if _required_children(anatomy) <= set(children):
            return anatomy
    return None


def find_residual_units(tensors: Mapping[str, Tensor]) -> List[ResidualUnit]:
    """The residual units of a model or checkpoint, in depth order
    (attention before FFN within a block).

    Args:
        tensors (Mapping[str, Tensor]): Parameter (or state dict) names to
            tensors, e.g. ``dict(model.named_parameters())``.

    Raises:
        ValueError: No transformer block of a known layout is found, or the
            units of one group differ in structure.
    """
    weights = {
        name: tensor
        for name, tensor in tensors.items() if tensor.is_floating_point()
    }
    units = []
    blocks = [(path, _anatomy_of(children)) for path, children in
              _children_of_numbered_modules(list(weights)).items()]
    blocks = [(path, anatomy) for path, anatomy in blocks
              if anatomy is not None]
    for block_index, (block, anatomy) in enumerate(blocks):
        block_list = block.rsplit('.', 1)[0]
        norm_of = dict(attention=anatomy.norm1, ffn=anatomy.norm2)
        for kind in UNIT_KINDS:
            modules = tuple(f'{block}.{child}'
                            for child in _unit_children(anatomy, kind))
            parameters = tuple(
                name for name in weights
                if any(name.startswith(f'{module}.') for module in modules))
            present = tuple(module for module in modules if any(
                name.startswith(f'{module}.') for name in parameters))
            units.append(
                ResidualUnit(
                    name=f'{block}.{kind}',
                    kind=kind,
                    block=block,
                    block_index=block_index,
                    group=f'{block_list}.*.{kind}',
                    modules=present,
                    parameters=parameters,
                    norm=f'{block}.{norm_of[kind]}'))
    if not units:
        layouts = '; '.join(
            f'{anatomy.name} (block children '
            f'{sorted(_required_children(anatomy))})'
            for anatomy in RESIDUAL_BLOCKS)
        raise ValueError(
            'No transformer blocks found (names look like '
            f'{list(tensors)[:4]}); residual units are defined for: '
            f'{layouts}')
    _check_groups_are_uniform(units, weights)
    return units


def _check_groups_are_uniform(units, weights) -> None:
    for group, members in group_units(units).items():
        first = members[0]
        expected = [(relative, weights[name].shape) for relative, name in zip(
            first.signature(), first.parameters)]
        for unit in members[1:]:
            found = [(relative, weights[name].shape) for relative, name in zip(
                unit.signature(), unit.parameters)]
            if found != expected:
                raise ValueError(
                    f'Units of group {group} differ in structure, so their '
                    f'angles do not compare: {first.name} has {expected}, '
                    f'{unit.name} has {found}')


def group_units(units: Sequence[ResidualUnit]
                ) -> Dict[str, List[ResidualUnit]]:
    """The units by group, groups and units in depth order."""
    groups = {}
    for unit in units:
        groups.setdefault(unit.group, []).append(unit)
    return groups


def pick_units(units: Sequence[ResidualUnit],
               names: Sequence[str]) -> List[ResidualUnit]:
    """The units named ``names``, in the order of ``units``.

    Raises:
        ValueError: A name is not a unit of the model (the message lists
            the units it has).
    """
    if isinstance(names, str):
        raise ValueError(f'units must be a list of unit names, got {names!r}')
    by_name = {unit.name: unit for unit in units}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(
            f'Unknown residual unit(s) {unknown}; this model has '
            f'{len(units)} units, e.g. {[unit.name for unit in units[:4]]}')
    chosen = set(names)
    return [unit for unit in units if unit.name in chosen]
