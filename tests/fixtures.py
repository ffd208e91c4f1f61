"""Tiny backbones of the three families adapterx adapts (mmpretrain's ViT,
timm's ViT, the point transformer) and 3-class classifiers around them,
shared by the tests.

All are 32 wide with 2 heads on 32x32 images in 8x8 patches (the point
transformer on small groups); depth and MLP width are parameters because
tests compare against numbers that follow from their own sizes. None of the
builders of bare backbones seeds: a test that needs fixed initial weights
seeds before building, as it did when it wrote its own builder.
``pretrained_adapterx_vit`` seeds, so that the adapters' initial weights are
the same in every test that loads a file into it.
"""
import torch
from mmpretrain.models import TIMMBackbone, VisionTransformer
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


def point_arch(depth=2, group_embed_dims=WIDTH, embed_dims=WIDTH):
    return dict(embed_dims=embed_dims, depth=depth, num_heads=2,
                group_embed_dims=group_embed_dims)


def tiny_point_transformer(depth=2, group_embed_dims=WIDTH, num_groups=8,
                           group_size=8, **options):
    return PointTransformer(arch=point_arch(depth, group_embed_dims),
                            num_groups=num_groups, group_size=group_size,
                            **options)


def tiny_vit_classifier(peft, num_layers=2):
    """A 3-class ``PeftImageClassifier`` on the tiny mmpretrain ViT, adapted
    by ``peft`` (a method's config, or None for full fine-tuning)."""
    return PeftImageClassifier(
        backbone=vit_config(num_layers),
        head=dict(type='VisionTransformerClsHead', num_classes=3,
                  in_channels=WIDTH, loss=dict(type='CrossEntropyLoss')),
        peft=peft)


def tiny_point_classifier(peft, depth=2, **head_options):
    """A 3-class ``PointClassifier`` on the tiny point transformer (16
    groups of 8 points), adapted by ``peft``; ``head_options`` go to the
    ``PointClsHead``."""
    return PointClassifier(
        backbone=dict(type='PointTransformer', arch=point_arch(depth),
                      num_groups=16, group_size=8),
        head=dict(type='PointClsHead', num_classes=3, in_channels=WIDTH,
                  loss=dict(type='CrossEntropyLoss'), **head_options),
        peft=peft)


def in_eval_mode(module):
    # mmpretrain's backbones override train() without returning the module,
    # so .eval() cannot be chained.
    module.eval()
    return module


def first_output(output):
    """mmpretrain backbones and the point transformer return a tuple, timm a
    tensor."""
    return output[0] if isinstance(output, (tuple, list)) else output
