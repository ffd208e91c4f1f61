from typing import Optional, Sequence, Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...peft.reparam import ReparamWrapper, find_layers
from .layers import LoRABranch

QKV_PARTS = ('q', 'k', 'v')


@MODELS.register_module()
class LoRA(ReparamWrapper):
    """LoRA (arXiv 2106.09685) on the named linear layers of a backbone
    (mmpretrain or timm ViT, the point transformer, any module).

    Each target gets a trainable low-rank update ``(alpha / r) B A`` of its
    weight (:class:`LoRABranch`, attached as ``<layer>.lora``); the weights
    themselves stay as they are, under their own names.

    Args:
        module (dict | nn.Module): The backbone (config or module).
        target_modules (Sequence[str]): Regular expressions (``re.search``)
            on the backbone's module names; every matching ``nn.Linear`` is
            adapted. Defaults to the fused qkv projection of every block.
        rank (int): r. Defaults to 8.
        alpha (float): Scale numerator. Defaults to 8 (scale 1).
        dropout (float): Dropout on the LoRA branch input. Defaults to 0.
        qkv_parts (Sequence[str], optional): For fused qkv projections
            (out = 3 x in): which of ``'q'``, ``'k'``, ``'v'`` get their own
            update; the paper adapts W_q and W_v. None adapts the whole
            output of every target as one matrix (as HF peft does).
    """

    injected_attribute = 'lora'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 target_modules: Sequence[str] = (r'attn\.qkv$', ),
                 rank: int = 8,
                 alpha: float = 8,
                 dropout: float = 0.0,
                 qkv_parts: Optional[Sequence[str]] = ('q', 'v'),
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        if rank < 1:
            raise ValueError(f'LoRA rank must be >= 1, got {rank}')
        if qkv_parts is not None and (not qkv_parts
                                      or not set(qkv_parts) <= set(QKV_PARTS)):
            raise ValueError(f'qkv_parts must be a non-empty subset of '
                             f'{QKV_PARTS}, got {qkv_parts!r}')
        for name, layer in find_layers(self.module, target_modules,
                                       (nn.Linear, )):
            self.adapt(
                layer,
                LoRABranch(layer.in_features,
                           self._slices(name, layer, qkv_parts), rank, alpha,
                           dropout))

    @staticmethod
    def _slices(name, layer, qkv_parts):
        if qkv_parts is None:
            return [(0, layer.out_features)]
        if layer.out_features != 3 * layer.in_features:
            raise ValueError(
                f'LoRA qkv_parts={qkv_parts!r} needs fused qkv projections '
                f'(out = 3 x in), but {name} is {layer.in_features} -> '
                f'{layer.out_features}; set qkv_parts=None to adapt whole '
                'layers')
        width = layer.in_features
        return [(QKV_PARTS.index(part) * width,
                 (QKV_PARTS.index(part) + 1) * width) for part in qkv_parts]
