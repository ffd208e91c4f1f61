"""Tiny backbones of the three kinds the block methods patch, and the PEFT
base configs they are tested with."""
import torch
from mmengine.config import Config
from mmpretrain.models import VisionTransformer
from timm.models.vision_transformer import VisionTransformer as TimmViT

from adapterx.models import PointTransformer
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


def in_eval_mode(module):
    module.eval()  # mmpretrain's train() returns nothing to chain
    return module


def tiny_backbone(kind, **kwargs):
    torch.manual_seed(0)
    if kind == 'mmpretrain':
        options = dict(dict(img_size=32, patch_size=8), **kwargs)
        return in_eval_mode(
            VisionTransformer(
                arch=dict(embed_dims=32, num_layers=3, num_heads=2,
                          feedforward_channels=64), **options))
    if kind == 'timm':
        return in_eval_mode(
            TimmViT(img_size=32, patch_size=8, embed_dim=32, depth=3,
                    num_heads=2, mlp_ratio=2.0, num_classes=0))
    backbone = PointTransformer(
        arch=dict(embed_dims=32, depth=3, num_heads=2, group_embed_dims=32),
        num_groups=16, group_size=8)
    backbone.init_weights()
    return in_eval_mode(backbone)


def tiny_input(kind, batch=2):
    generator = torch.Generator().manual_seed(2)
    if kind == 'point':
        return torch.randn(batch, 128, 3, generator=generator)
    return torch.randn(batch, 3, 32, 32, generator=generator)


def first_tensor(output):
    return output[0] if isinstance(output, (tuple, list)) else output
