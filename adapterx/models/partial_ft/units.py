"""Residual units: the granularity of partial fine-tuning (arXiv 2312.15681).

A transformer block computes ``x = x + Attn(Norm1(x))`` then
``x = x + FFN(Norm2(x))``. Each residual branch is one *unit*: the
attention unit of a block is its first norm and its attention, the FFN unit
its second norm and its FFN. The norm belongs to the unit because it lies
inside the branch the residual connection adds: training a unit trains all
of ``f`` in ``x + f(x)``, and the unit's fine-tuned angle is taken over all
of ``f``'s weights.

Per backbone (children of the block):

- mmpretrain ``VisionTransformer``, blocks ``layers.i``: attention unit
  ``ln1`` + ``attn``, FFN unit ``ln2`` + ``ffn``.
- timm ``VisionTransformer``, blocks ``blocks.i``: attention unit ``norm1``
  + ``attn`` (+ ``ls1``, its LayerScale, if any), FFN unit ``norm2`` +
  ``mlp`` (+ ``ls2``).
- mmpretrain ``SwinTransformer``, blocks ``stages.s.blocks.b``: attention
  unit ``norm1`` + ``attn`` (window attention with its relative position
  bias table), FFN unit ``norm2`` + ``ffn``.

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
path ending in an integer whose children include the four required ones of
one layout in :data:`BLOCK_LAYOUTS` (so an Adapter-X wrapped backbone, whose
blocks carry an extra ``adapterx`` child, still has its units). Only
floating-point tensors count as weights (Swin's integer
``relative_position_index`` buffers are indices, not weights).
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

from torch import Tensor

UNIT_KINDS = ('attention', 'ffn')


@dataclass(frozen=True)
class BlockLayout:
    """Which children of one library's transformer block make each unit;
    ``optional`` children are part of the unit when the block has them."""
    backbone: str
    attention: Tuple[str, ...]
    ffn: Tuple[str, ...]
    optional: Tuple[str, ...] = ()

    def children_of(self, kind: str) -> Tuple[str, ...]:
        return getattr(self, kind)

    @property
    def required(self) -> set:
        return {
            child
            for child in self.attention + self.ffn
            if child not in self.optional
        }


# Matched in this order; the required sets are disjoint enough that a real
# block matches exactly one.
BLOCK_LAYOUTS = (
    BlockLayout('mmpretrain VisionTransformer (TransformerEncoderLayer)',
                attention=('ln1', 'attn'), ffn=('ln2', 'ffn')),
    BlockLayout('mmpretrain SwinTransformer (SwinBlock)',
                attention=('norm1', 'attn'), ffn=('norm2', 'ffn')),
    BlockLayout('timm VisionTransformer (Block)',
                attention=('norm1', 'attn', 'ls1'),
                ffn=('norm2', 'mlp', 'ls2'),
                optional=('ls1', 'ls2')),
)


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
    """
    name: str
    kind: str
    block: str
    block_index: int
    group: str
    modules: Tuple[str, ...]
    parameters: Tuple[str, ...]

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


def _layout_of(children: Sequence[str]):
    for layout in BLOCK_LAYOUTS:
        if layout.required <= set(children):
            return layout
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
    blocks = [(path, _layout_of(children)) for path, children in
              _children_of_numbered_modules(list(weights)).items()]
    blocks = [(path, layout) for path, layout in blocks if layout is not None]
    for block_index, (block, layout) in enumerate(blocks):
        block_list = block.rsplit('.', 1)[0]
        for kind in UNIT_KINDS:
            modules = tuple(f'{block}.{child}'
                            for child in layout.children_of(kind))
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
                    parameters=parameters))
    if not units:
        layouts = '; '.join(
            f'{layout.backbone} (block children {sorted(layout.required)})'
            for layout in BLOCK_LAYOUTS)
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
