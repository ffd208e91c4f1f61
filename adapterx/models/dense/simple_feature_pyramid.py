from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.utils import build_norm_layer
from torch import Tensor

from adapterx.registry import MODELS


def _rescale(scale: float, channels: int, norm_cfg: dict) -> nn.Module:
    if scale == 4:
        return nn.Sequential(
            nn.ConvTranspose2d(channels, channels // 2, 2, stride=2),
            build_norm_layer(norm_cfg, channels // 2), nn.GELU(),
            nn.ConvTranspose2d(channels // 2, channels // 4, 2, stride=2))
    if scale == 2:
        return nn.ConvTranspose2d(channels, channels // 2, 2, stride=2)
    if scale == 1:
        return nn.Identity()
    if scale == 0.5:
        return nn.MaxPool2d(kernel_size=2, stride=2)
    raise ValueError(
        f'SimpleFeaturePyramid scale_factors must be 4, 2, 1 or 0.5, got '
        f'{scale}')


def _rescaled_channels(scale: float, channels: int) -> int:
    return {4: channels // 4, 2: channels // 2}.get(scale, channels)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """ViTDet's simple feature pyramid (Li et al., ECCV 2022): multi-scale
    maps from a plain ViT's single-scale ones.

    Each level rescales a stride-16 map by its factor (4: two stride-2
    deconvolutions, 2: one, 1: identity, 0.5: 2x2 max pooling), then maps
    it to ``out_channels`` with a 1x1 and a 3x3 convolution, each followed
    by ``norm_cfg``. From one input map (the last block's, ViTDet) every
    level is made from that map; from one map per level (several
    ``out_indices``, as ViT + UPerNet setups do) level i from map i.
    Levels beyond the scale factors (``num_outs``) subsample the last one
    (1x1 max pooling, stride 2), e.g. the stride-64 level of Mask R-CNN's
    RPN.

    Args:
        in_channels (int): Channels of the input maps (the ViT's width).
        out_channels (int): Channels of every output level.
        scale_factors (Sequence[float]): One per level; (4, 2, 1, 0.5) gives
            strides 4, 8, 16, 32 from a stride-16 ViT.
        num_outs (int, optional): Output levels; defaults to
            ``len(scale_factors)``.
        norm_cfg (dict): Normalization after each convolution (and between
            the two deconvolutions); channel-first LayerNorm by default.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 scale_factors: Sequence[float] = (4, 2, 1, 0.5),
                 num_outs: Optional[int] = None,
                 norm_cfg: dict = dict(type='LN2d', eps=1e-6),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.scale_factors = tuple(scale_factors)
        self.num_outs = num_outs or len(self.scale_factors)
        if self.num_outs < len(self.scale_factors):
            raise ValueError(
                f'num_outs={self.num_outs} is fewer than the '
                f'{len(self.scale_factors)} scale_factors {scale_factors}')
        self.levels = nn.ModuleList()
        for scale in self.scale_factors:
            channels = _rescaled_channels(scale, in_channels)
            self.levels.append(
                nn.Sequential(
                    _rescale(scale, in_channels, norm_cfg),
                    nn.Conv2d(channels, out_channels, 1, bias=False),
                    build_norm_layer(norm_cfg, out_channels),
                    nn.Conv2d(
                        out_channels, out_channels, 3, padding=1,
                        bias=False),
                    build_norm_layer(norm_cfg, out_channels)))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(inputs) == 1:
            inputs = list(inputs) * len(self.levels)
        elif len(inputs) != len(self.levels):
            raise ValueError(
                f'SimpleFeaturePyramid got {len(inputs)} input maps for '
                f'{len(self.levels)} scale_factors {self.scale_factors}: '
                'give one map (ViTDet) or one per scale factor (the '
                "backbone's out_indices).")
        outs = [level(x) for level, x in zip(self.levels, inputs)]
        for _ in range(self.num_outs - len(outs)):
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
