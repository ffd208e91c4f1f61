from typing import Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...peft.block_patching import BlockPatchedBackbone
from .layers import AdaptFormerAdapter


@MODELS.register_module()
class AdaptFormer(BlockPatchedBackbone):
    """AdaptFormer (arXiv 2205.13535): a scaled bottleneck parallel to the
    MLP of every block of an mmpretrain or timm ViT or ``PointTransformer``,
    ``x = x + MLP(LN2(x)) + s * up(ReLU(down(LN2(x))))``.

    Each block gets its own :class:`AdaptFormerAdapter`
    (``block.adaptformer``), whose bottleneck is a one-expert pool of the
    reusable SMoA module: per block ``2 d r + r + d`` parameters (r=8 on
    ViT-B/16: 0.16 M), and only these train.

    Args:
        module (dict | nn.Module): The backbone (see
            :class:`BlockPatchedBackbone`).
        bottleneck_dims (int): r. AdaptFormer's VTAB-1k tables use 8 (its
            video experiments 64). Defaults to 8.
        scale (float): s. Defaults to 0.1 (the paper's).
        dropout (float): Dropout inside the bottleneck. Defaults to 0.
    """

    additions_name = 'adaptformer'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 bottleneck_dims: int = 8,
                 scale: float = 0.1,
                 dropout: float = 0.0,
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        self.patch_blocks([
            AdaptFormerAdapter(
                self.embed_dims,
                bottleneck_dims,
                scale=scale,
                dropout=dropout,
                num_prefix_tokens=self.num_prefix_tokens,
                context=self.forward_context) for _ in self._blocks
        ])
