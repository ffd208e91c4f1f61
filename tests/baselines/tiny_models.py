"""Tiny backbones of the three kinds the block methods patch, and the PEFT
base configs they are tested with."""
import torch
from mmengine.config import Config

from ..fixtures import (in_eval_mode, tiny_mmpretrain_vit,
                        tiny_point_transformer, tiny_timm_vit)
from ..utils import REPO_ROOT

PEFT_BASES = REPO_ROOT / 'configs' / '_base_' / 'peft'
# method -> (base config, kinds of backbone it applies to).
METHODS = {
    'vpt_shallow': ('mmpretrain', 'timm', 'point'),
    'vpt_deep': ('mmpretrain', 'timm', 'point'),
    'adaptformer': ('mmpretrain', 'timm', 'point'),
    'convpass': ('mmpretrain', 'timm'),
    'idpt': ('point', ),
    'dapt': ('point', ),
}
CASES = [(method, kind) for method, kinds in METHODS.items()
         for kind in kinds]


def peft_base(method):
    """The peft config dict of a PEFT base config."""
    return Config.fromfile(str(PEFT_BASES / f'{method}.py')).peft.to_dict()


def tiny_backbone(kind, **kwargs):
    """A 3-block backbone of ``kind``, seeded, in eval mode; ``kwargs``
    go to mmpretrain's ViT."""
    torch.manual_seed(0)
    if kind == 'mmpretrain':
        return in_eval_mode(tiny_mmpretrain_vit(num_layers=3, **kwargs))
    if kind == 'timm':
        return in_eval_mode(tiny_timm_vit(depth=3))
    backbone = tiny_point_transformer(depth=3, num_groups=16, group_size=8)
    backbone.init_weights()
    return in_eval_mode(backbone)


def tiny_input(kind, batch=2):
    generator = torch.Generator().manual_seed(2)
    if kind == 'point':
        return torch.randn(batch, 128, 3, generator=generator)
    return torch.randn(batch, 3, 32, 32, generator=generator)
