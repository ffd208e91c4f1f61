"""Which parameters of a ViT classifier play which part in merging.

Merging sorts a classifier's parameters into:

- ``embeddings``: class / register tokens, position embedding, patch
  embedding (merged dynamically at every m);
- ``norms``: every LayerNorm (merged dynamically at every m);
- ``attention`` and ``mlp``: per block, the weights of the attention and of
  the MLP without their norms (the units whose similarity is measured; the
  m least similar of each kind are merged dynamically);
- ``head``: the classifier, one per task (selected or mixed, never merged
  statically);
- ``other``: anything else shared (merged statically).

Blocks come from :func:`adapterx.models.partial_ft.find_residual_units`;
the norms and embeddings are named by
:mod:`adapterx.models.vit_anatomy`.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Tuple

from adapterx.models.partial_ft import find_residual_units
from adapterx.models.vit_anatomy import MMPRETRAIN_VIT, TIMM_VIT, ViTAnatomy

KINDS = ('attention', 'mlp')
# partial_ft calls the MLP unit 'ffn'.
_UNIT_KIND = {'attention': 'attention', 'ffn': 'mlp'}


@dataclass(frozen=True)
class ViTNaming:
    """One library's ViT classifier as merging sees it.

    Attributes:
        anatomy (ViTAnatomy): Where the backbone's blocks, norms and
            embeddings are.
        forward_kwargs (tuple): Keyword arguments that make the
            classifier's ``forward`` return logits.
        head (str): Prefix of the classifier head's parameters.
    """
    anatomy: ViTAnatomy
    forward_kwargs: Tuple[Tuple[str, object], ...] = ()
    head: str = 'head.'

    @property
    def library(self) -> str:
        return self.anatomy.library


VIT_NAMINGS = (
    ViTNaming(MMPRETRAIN_VIT, forward_kwargs=(('mode', 'tensor'), )),
    ViTNaming(TIMM_VIT),
)


@dataclass(frozen=True)
class ParameterGroups:
    """The parameter names of a classifier by their part in merging.

    Attributes:
        naming (ViTNaming): The library mapping that matched.
        embeddings, norms, head, other (tuple[str]): Parameter names.
        units (dict[str, tuple]): Per block unit (``<block>.attention`` or
            ``<block>.mlp``, depth order) its parameter names.
        unit_kinds (dict[str, str]): Per unit ``'attention'`` or ``'mlp'``.
    """
    naming: ViTNaming
    embeddings: Tuple[str, ...]
    norms: Tuple[str, ...]
    units: Dict[str, Tuple[str, ...]]
    unit_kinds: Dict[str, str]
    head: Tuple[str, ...]
    other: Tuple[str, ...]

    @property
    def shared(self) -> Tuple[str, ...]:
        """Every parameter the tasks' models share (all but the head)."""
        return self.embeddings + self.norms + tuple(
            name for names in self.units.values()
            for name in names) + self.other

    def units_of(self, kind: str) -> Tuple[str, ...]:
        return tuple(unit for unit, unit_kind in self.unit_kinds.items()
                     if unit_kind == kind)


def _has_component(name: str, components: Iterable[str]) -> bool:
    parts = set(name.split('.')[:-1]) | {name.split('.')[-1]}
    return bool(parts & set(components))


def _naming_of(names) -> ViTNaming:
    for naming in VIT_NAMINGS:
        if any(f'{naming.anatomy.block_list}.0.' in name for name in names):
            return naming
    raise ValueError(
        f'Not a known ViT: no parameter under '
        f'{[naming.anatomy.block_list + ".0." for naming in VIT_NAMINGS]} '
        f'(names look like {list(names)[:4]}); known libraries: '
        f'{[naming.library for naming in VIT_NAMINGS]}')


def group_parameters(tensors) -> ParameterGroups:
    """Sort the parameters of a ViT classifier (``dict(named_parameters())``
    or a state dict of parameters) into :class:`ParameterGroups`.

    Raises:
        ValueError: Not an mmpretrain or timm ViT.
    """
    names = list(tensors)
    naming = _naming_of(names)
    head = tuple(name for name in names if name.startswith(naming.head))
    body = [name for name in names if name not in head]
    norms = tuple(name for name in body
                  if _has_component(name, naming.anatomy.norms))
    embeddings = tuple(name for name in body if name not in norms
                       and _has_component(name, naming.anatomy.embeddings))
    taken = set(norms) | set(embeddings) | set(head)
    units, unit_kinds = {}, {}
    for unit in find_residual_units({name: tensors[name] for name in body}):
        kind = _UNIT_KIND[unit.kind]
        name = f'{unit.block}.{kind}'
        units[name] = tuple(parameter for parameter in unit.parameters
                            if parameter not in taken)
        unit_kinds[name] = kind
        taken.update(units[name])
    other = tuple(name for name in body if name not in taken)
    return ParameterGroups(naming, embeddings, norms, units, unit_kinds, head,
                           other)
