from typing import Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...vit_anatomy import vit_blocks
from ...peft.reparam import ReparamWrapper
from .layers import FacTFactors, FacTIncrement


@MODELS.register_module()
class FacT(ReparamWrapper):
    """FacT (arXiv 2212.03145), FacT-TT or FacT-TK, on an mmpretrain or timm
    ViT or the point transformer.

    Every linear layer of every transformer block (qkv, proj, fc1, fc2) is
    cut into d x d matrices (12 per block), and all their increments come
    from one set of factors (see :mod:`.layers`), held here as ``factors``.
    Each layer gets a :class:`FacTIncrement` (``<layer>.fact``, no tensors
    of its own).

    Args:
        module (dict | nn.Module): The backbone (config or module).
        mode (str): ``'tt'`` (FacT-TT) or ``'tk'`` (FacT-TK).
        rank (int): r. The paper's code picks it per VTAB task (TT from
            {8, 16}, TK from {8, 16, 32}).
        scale (float): s, per task too (the code's CIFAR-100: TT 1.0,
            TK 0.1).
        dropout (float): Dropout on the r-dimensional middle, 0.1 in the
            paper's code.
    """

    injected_attribute = 'fact'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 mode: str = 'tt',
                 rank: int = 8,
                 scale: float = 1.0,
                 dropout: float = 0.1,
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        blocks = vit_blocks(self.module, 'FacT')
        layers = [(f'block {index} {name}', layer)
                  for index, block in enumerate(blocks)
                  for name, layer in block.named_modules()
                  if isinstance(layer, nn.Linear)]
        embed_dims = layers[0][1].in_features
        grids = []
        for name, layer in layers:
            if layer.in_features % embed_dims or \
                    layer.out_features % embed_dims:
                raise ValueError(
                    f'FacT tensorises weights into {embed_dims} x '
                    f'{embed_dims} matrices, but {name} is '
                    f'{layer.in_features} -> {layer.out_features}')
            grids.append((layer.out_features // embed_dims,
                          layer.in_features // embed_dims))
        self.factors = FacTFactors(mode, embed_dims, rank,
                                   sum(rows * cols for rows, cols in grids))
        start = 0
        for (_, layer), grid in zip(layers, grids):
            self.adapt(
                layer, FacTIncrement(self.factors, start, grid, scale,
                                     dropout))
            start += grid[0] * grid[1]
