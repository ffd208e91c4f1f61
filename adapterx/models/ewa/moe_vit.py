from typing import List, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from adapterx.registry import MODELS
from ..vit_anatomy import token_mlp_place, vit_blocks
from .moe_ffn import MoEFFN


def _dense_ffn_place(block: nn.Module, index: int):
    """(parent module, attribute name) of a block's token-wise MLP."""
    try:
        return token_mlp_place(block)
    except ValueError as error:
        raise ValueError(
            f"MoEViT: block {index}: {error}; MoEViT turns mmcv FFNs "
            "(mmpretrain's ffn_type='origin') and timm Mlps into "
            'MoEs') from error


def _block_indices(moe_blocks, num_blocks: int) -> List[int]:
    if moe_blocks == 'every_other':
        indices = list(range(1, num_blocks, 2))
    elif moe_blocks == 'all':
        indices = list(range(num_blocks))
    elif isinstance(moe_blocks, str):
        raise ValueError("moe_blocks must be 'every_other', 'all' or a "
                         f'list of block indices, got {moe_blocks!r}')
    else:
        indices = list(moe_blocks)
        invalid = [i for i in indices if isinstance(i, bool)
                   or not isinstance(i, int) or not 0 <= i < num_blocks]
        if invalid:
            raise ValueError(f'moe_blocks {invalid} are not block indices '
                             f'0..{num_blocks - 1}')
        if len(set(indices)) != len(indices):
            raise ValueError(f'moe_blocks {indices} name a block twice')
    if not indices:
        raise ValueError(f'moe_blocks={moe_blocks!r} selects no block of '
                         f'a {num_blocks}-block backbone')
    return indices


def _dense_ffn_places(module: nn.Module, moe_blocks):
    """(parent, attribute name) of the FFN of each block ``moe_blocks``
    selects."""
    blocks = vit_blocks(module, 'MoEViT', purpose='turn their FFNs into '
                        'MoEs')
    return [_dense_ffn_place(blocks[index], index)
            for index in _block_indices(moe_blocks, len(blocks))]


@MODELS.register_module()
class MoEViT(BaseModule):
    """Turns chosen FFNs of an mmpretrain or timm ViT into MoE FFNs: EWA's
    random-partition MoE (arXiv 2308.06093), or the naive top-1 MoE it is
    compared with.

    The MoE takes the place of the block's token-wise MLP (timm's ``mlp``,
    the ``layers`` of mmpretrain's FFN) and nothing else changes; every
    other parameter keeps its name under ``module.``. Training with
    ``EWAHook`` (the engine's hooks) averages the experts
    after each step; :func:`~adapterx.models.ewa.convert_to_dense` gives
    back the plain ViT.

    Args:
        module (dict | nn.Module): The backbone (config or module):
            mmpretrain ``VisionTransformer``, timm ``VisionTransformer`` or
            mmpretrain's ``TIMMBackbone`` around one. An mmengine module
            not yet initialised is initialised first (``init_weights``,
            which loads its pretrained checkpoint), because the experts
            start from its FFNs: once they are MoEs, neither mmpretrain's
            FFN initialisation (of ``nn.Linear`` layers) nor a dense
            checkpoint reaches them.
        moe (dict): Config of the MoE FFN (``RandomPartitionMoE``,
            ``Top1MoE``); the dense FFN is passed as ``ffn``.
        moe_blocks (str | Sequence[int]): Blocks whose FFN becomes an MoE:
            ``'every_other'`` (1, 3, 5, ...: every second block, ending
            with the last of an even depth), ``'all'``, or block indices.
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 moe: dict = dict(type='RandomPartitionMoE', num_experts=4),
                 moe_blocks: Union[str, Sequence[int]] = 'every_other',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(module, dict):
            module = MODELS.build(module)
        if isinstance(module, BaseModule) and not module.is_init:
            module.init_weights()
        self.module = module
        for parent, name in _dense_ffn_places(module, moe_blocks):
            setattr(parent, name,
                    MODELS.build(dict(moe, ffn=getattr(parent, name))))

    def trainable_parameter_names(self) -> List[str]:
        """Every parameter trains: the MoE is fine-tuned as a whole (the EWA
        paper's setting)."""
        return [name for name, _ in self.named_parameters()]

    def moe_layers(self) -> List[MoEFFN]:
        return [m for m in self.module.modules() if isinstance(m, MoEFFN)]

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def auxiliary_losses(self) -> dict:
        """The MoEs' weighted auxiliary losses of the last forward, averaged
        (the top-1 MoE's load balancing; the random partition has none)."""
        losses = [
            loss for loss in (moe.auxiliary_loss()
                              for moe in self.moe_layers())
            if loss is not None
        ]
        return dict(loss_balance=torch.stack(losses).mean()) if losses else {}
