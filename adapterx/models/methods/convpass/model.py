from typing import Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...peft.block_patching import BlockPatchedBackbone
from ...vit_anatomy import block_drop_path_rate
from .layers import ConvBypass, ConvpassBlockBypasses

PLACEMENTS = ('both', 'attn')


@MODELS.register_module()
class Convpass(BlockPatchedBackbone):
    """Convpass (arXiv 2207.07039): convolutional bypasses parallel to the
    attention and the MLP of every block of an mmpretrain or timm ViT,
    ``x = x + Attn(LN1 x) + s * CB(LN1 x)``, ``x = x + MLP(LN2 x) + s *
    CB(LN2 x)``. The tokens after the class token must form a square grid
    (no point clouds).

    Args:
        module (dict | nn.Module): The backbone.
        bottleneck_dims (int): r. Defaults to 8.
        scale (float): s; Convpass tunes it per VTAB task in {0.01, 0.1, 1,
            10}. Defaults to 0.01.
        dropout (float): Inside each bypass. Defaults to 0.1.
        xavier_init (bool): Xavier (True) or identity conv init.
        placement (str): ``'both'`` (Convpass) or ``'attn'``
            (Convpass-attn).
    """

    additions_name = 'convpass'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 bottleneck_dims: int = 8,
                 scale: float = 0.01,
                 dropout: float = 0.1,
                 xavier_init: bool = True,
                 placement: str = 'both',
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        if placement not in PLACEMENTS:
            raise ValueError(f'Convpass: placement must be one of '
                             f'{PLACEMENTS}, got {placement!r}')
        prefix = self.num_prefix_tokens

        def bypass(block):
            return ConvBypass(
                self.embed_dims,
                bottleneck_dims,
                scale=scale,
                dropout=dropout,
                drop_path_rate=block_drop_path_rate(block),
                xavier_init=xavier_init,
                num_prefix_tokens=prefix)

        self.patch_blocks([
            ConvpassBlockBypasses(
                bypass(block),
                bypass(block) if placement == 'both' else None,
                num_prefix_tokens=prefix,
                context=self.forward_context) for block in self._blocks
        ])
