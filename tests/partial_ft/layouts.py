"""The block layouts of the three backbone families of partial fine-tuning,
written out by hand for the tests to compare with, and the tiny classifier
of each family."""
import functools

import torch

from ..fixtures import (LinearHeadClassifier, tiny_mmpretrain_vit, tiny_swin,
                        tiny_timm_vit)

# Per family: the tiny backbone, the blocks (depth order) and the children of
# each unit, as adapterx/models/partial_ft/units.py documents them.
LAYOUTS = {
    'mmpretrain_vit': dict(
        build=tiny_mmpretrain_vit,
        blocks=['layers.0', 'layers.1'],
        attention=('ln1', 'attn'), ffn=('ln2', 'ffn')),
    'timm_vit': dict(
        build=functools.partial(tiny_timm_vit, mlp_ratio=4.0),
        blocks=['blocks.0', 'blocks.1'],
        attention=('norm1', 'attn'), ffn=('norm2', 'mlp')),
    'swin': dict(
        build=tiny_swin,
        blocks=['stages.0.blocks.0', 'stages.0.blocks.1',
                'stages.1.blocks.0', 'stages.1.blocks.1'],
        attention=('norm1', 'attn'), ffn=('norm2', 'ffn')),
}


def names_under(names, prefixes):
    """The names that start with one of ``prefixes`` followed by a dot."""
    return {
        name for name in names
        if any(name.startswith(f'{prefix}.') for prefix in prefixes)
    }


def unit_parameter_names(names, block, children):
    return names_under(names, [f'{block}.{child}' for child in children])


def build_classifier(family, seed=0):
    torch.manual_seed(seed)
    return LinearHeadClassifier(LAYOUTS[family]['build']())
