"""The dense backbone's config on the tiny ViT, and a minimal segmentation
model around it laid out as mmseg's (``backbone``, ``neck``,
``decode_head``), so the downstream configs' trainable patterns apply to it
unchanged."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from adapterx.registry import MODELS
from ..fixtures import WIDTH, vit_config


def tiny_vit(out_type='featmap', **options) -> dict:
    """The tiny mmpretrain ViT with 4 blocks, giving feature maps."""
    return vit_config(num_layers=4, out_type=out_type, **options)


def dense_backbone(peft, vit=None, out_indices=(0, 1, 2, 3)) -> dict:
    return dict(
        type='adapterx.PeftViTDense',
        vit=vit or tiny_vit(),
        out_indices=out_indices,
        peft=peft)


class TinySegmentor(BaseModel):
    """Dense backbone, simple feature pyramid (strides 4 to 32) and a
    minimal decode head: the levels upsampled to stride 4 and summed, a 1x1
    convolution to class logits, upsampled to the input, per-pixel cross
    entropy. Like mmseg's models, its losses are the head's only."""

    def __init__(self, backbone: dict, num_classes: int = 3):
        super().__init__()
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(
            dict(
                type='adapterx.SimpleFeaturePyramid',
                in_channels=WIDTH,
                out_channels=16,
                scale_factors=(4, 2, 1, 0.5)))
        self.decode_head = nn.Conv2d(16, num_classes, 1)

    def forward(self, images, labels=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss_seg=self.loss(images, labels))
        levels = self.neck(self.backbone(images))
        size = levels[0].shape[-2:]
        fused = sum(
            F.interpolate(level, size, mode='bilinear', align_corners=False)
            for level in levels)
        return F.interpolate(
            self.decode_head(fused), images.shape[-2:], mode='bilinear',
            align_corners=False)

    def loss(self, images, labels):
        return F.cross_entropy(self(images), labels)


def segmentation_batch(seed=0, size=(64, 48), num_classes=3):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(2, 3, *size, generator=generator)
    labels = torch.randint(0, num_classes, (2, *size), generator=generator)
    return images, labels
