"""Tiny backbones of the three families adapterx adapts (mmpretrain's ViT,
timm's ViT, the point transformer), a tiny Swin (a backbone the ViT-only
methods refuse), classifiers around them, and the one tiny MLP of EWA's
expert tests: the tests' only builders of models.

All are 32 wide with 2 heads on 32x32 images in 8x8 patches (the point
transformer on small groups); depth and MLP width are parameters because
tests compare against numbers that follow from their own sizes. None of the
builders of bare backbones seeds: a test that needs fixed initial weights
seeds before building, or builds through ``seeded_builder``.
``pretrained_adapterx_vit`` seeds, so that the adapters' initial weights are
the same in every test that loads a file into it.
"""
import torch
import torch.nn as nn
from mmpretrain.models import SwinTransformer, TIMMBackbone, VisionTransformer
from timm.layers import Mlp
from timm.models.vision_transformer import VisionTransformer as TimmViT

from adapterx.models import (PeftImageClassifier, PointClassifier,
                             PointTransformer)

WIDTH = 32
IMAGE_SIZE = 32
PATCH_SIZE = 8


def vit_arch(num_layers=2, feedforward_channels=64, embed_dims=WIDTH):
    """An mmpretrain ``arch`` dict for a tiny ViT (also for configs)."""
    return dict(embed_dims=embed_dims, num_layers=num_layers, num_heads=2,
                feedforward_channels=feedforward_channels)


def vit_config(num_layers=2, **options):
    """The tiny mmpretrain ViT as a config dict (for registries and
    wrappers that build their backbone)."""
    return dict(type='VisionTransformer', arch=vit_arch(num_layers),
                img_size=IMAGE_SIZE, patch_size=PATCH_SIZE, **options)


def pretrained_adapterx_vit(path, **init):
    """Adapter-X around the tiny ViT whose ``init_cfg`` loads ``path``
    (``init``: the rest of the ``Pretrained`` init_cfg), under adapterx's
    scope, so that the strict ``Pretrained`` initialisation is the one
    built."""
    from mmengine import DefaultScope

    from adapterx.models import AdapterX
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('adapterx'):
        return AdapterX(
            vit_config(init_cfg=dict(type='Pretrained',
                                     checkpoint=str(path), **init)))


def tiny_mmpretrain_vit(num_layers=2, feedforward_channels=64,
                        embed_dims=WIDTH, img_size=IMAGE_SIZE, **options):
    return VisionTransformer(
        arch=vit_arch(num_layers, feedforward_channels, embed_dims),
        img_size=img_size, patch_size=PATCH_SIZE, **options)


def tiny_timm_vit(depth=2, mlp_ratio=2.0, num_classes=0, **options):
    return TimmViT(img_size=IMAGE_SIZE, patch_size=PATCH_SIZE,
                   embed_dim=WIDTH, depth=depth, num_heads=2,
                   mlp_ratio=mlp_ratio, num_classes=num_classes, **options)


def tiny_timm_backbone(depth=2):
    """timm's ViT through mmpretrain's TIMMBackbone, as configs name it."""
    return TIMMBackbone(model_name='vit_tiny_patch16_224', pretrained=False,
                        num_classes=0, img_size=IMAGE_SIZE,
                        patch_size=PATCH_SIZE, depth=depth)


def point_arch(depth=2, group_embed_dims=WIDTH, embed_dims=WIDTH,
               **arch_options):
    return dict(embed_dims=embed_dims, depth=depth, num_heads=2,
                group_embed_dims=group_embed_dims, **arch_options)


def tiny_point_transformer(depth=2, group_embed_dims=WIDTH, num_groups=8,
                           group_size=8, embed_dims=WIDTH, mlp_ratio=None,
                           **options):
    """``mlp_ratio``: None keeps the architecture's default."""
    arch_options = {} if mlp_ratio is None else dict(mlp_ratio=mlp_ratio)
    return PointTransformer(
        arch=point_arch(depth, group_embed_dims, embed_dims, **arch_options),
        num_groups=num_groups, group_size=group_size, **options)


def tiny_swin():
    """Two stages of two blocks, 16 wide, one output (the last stage)."""
    return SwinTransformer(
        arch=dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2]),
        img_size=32, window_size=2, out_indices=(1, ))


def tiny_mlp(dtype=torch.float64):
    """A seeded timm ``Mlp`` (8 -> 16 -> 8) with a hidden LayerNorm, the
    FFN EWA's experts are made from."""
    torch.manual_seed(0)
    return Mlp(8, 16, norm_layer=nn.LayerNorm).to(dtype)


def seeded_builder(build, seed=0, eval_mode=False, **sizes):
    """``build`` with ``sizes`` bound, as a builder that seeds before each
    build (so every build has the same initial weights) and, with
    ``eval_mode``, returns the model in eval mode; for tests that build one
    model several times or take the builder as a parameter."""
    def build_seeded(*args, **options):
        torch.manual_seed(seed)
        model = build(*args, **sizes, **options)
        return in_eval_mode(model) if eval_mode else model
    return build_seeded


class LinearHeadClassifier(nn.Module):
    """A backbone under ``backbone.`` and a linear head under ``head.``, the
    names of mmpretrain's classifiers, without their forward."""

    def __init__(self, backbone, width=WIDTH, num_classes=4):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(width, num_classes)


def vit_classifier(backbone, peft, num_classes=3, in_channels=WIDTH):
    """A ``PeftImageClassifier`` with ViT's class-token head on ``backbone``
    (a config), adapted by ``peft`` (a method's config, or None for full
    fine-tuning)."""
    return PeftImageClassifier(
        backbone=backbone,
        head=dict(type='VisionTransformerClsHead', num_classes=num_classes,
                  in_channels=in_channels,
                  loss=dict(type='CrossEntropyLoss')),
        peft=peft)


def tiny_vit_classifier(peft, num_layers=2):
    """A 3-class ``PeftImageClassifier`` on the tiny mmpretrain ViT."""
    return vit_classifier(vit_config(num_layers), peft)


def tiny_point_classifier(peft, depth=2, width=WIDTH, num_groups=16,
                          train_cfg=None, **head_options):
    """A 3-class ``PointClassifier`` on the tiny point transformer
    (``num_groups`` groups of 8 points), adapted by ``peft``;
    ``head_options`` go to the ``PointClsHead``."""
    return PointClassifier(
        backbone=dict(type='PointTransformer',
                      arch=point_arch(depth, width, width),
                      num_groups=num_groups, group_size=8),
        head=dict(type='PointClsHead', num_classes=3, in_channels=width,
                  loss=dict(type='CrossEntropyLoss'), **head_options),
        peft=peft, train_cfg=train_cfg)


def in_eval_mode(module):
    # mmpretrain's backbones override train() without returning the module,
    # so .eval() cannot be chained.
    module.eval()
    return module


def image_batch(batch=2, seed=2):
    """Seeded images of the tiny ViTs' size."""
    return torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE,
                       generator=torch.Generator().manual_seed(seed))


def first_output(output):
    """mmpretrain backbones and the point transformer return a tuple, timm a
    tensor."""
    return output[0] if isinstance(output, (tuple, list)) else output
