"""The three backbone families of partial fine-tuning, tiny, behind a head,
and their block layouts written out by hand for the tests to compare with."""
import torch
import torch.nn as nn
from mmpretrain.models import SwinTransformer

from ..fixtures import tiny_mmpretrain_vit as mmpretrain_vit
from ..fixtures import tiny_timm_vit


def timm_vit(**kwargs):
    return tiny_timm_vit(mlp_ratio=4.0, **kwargs)


def swin():
    return SwinTransformer(
        arch=dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2]),
        img_size=32, window_size=2, out_indices=(1, ))


class Classifier(nn.Module):
    """A backbone under ``backbone.`` and a linear head under ``head.``, the
    names of mmpretrain's classifiers."""

    def __init__(self, backbone, width=32, num_classes=4):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(width, num_classes)


# Per family: the blocks (depth order) and the children of each unit, as
# adapterx/models/partial_ft/units.py documents them.
LAYOUTS = {
    'mmpretrain_vit': dict(
        build=mmpretrain_vit,
        blocks=['layers.0', 'layers.1'],
        attention=('ln1', 'attn'), ffn=('ln2', 'ffn')),
    'timm_vit': dict(
        build=timm_vit,
        blocks=['blocks.0', 'blocks.1'],
        attention=('norm1', 'attn'), ffn=('norm2', 'mlp')),
    'swin': dict(
        build=swin,
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
    return Classifier(LAYOUTS[family]['build']())
