import math
from typing import Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...peft.block_patching import BlockPatchedBackbone
from ...vit_anatomy import patch_size
from .layers import VPTBlockPrompts


@MODELS.register_module()
class VPT(BlockPatchedBackbone):
    """Visual Prompt Tuning (arXiv 2203.12119), shallow or deep, on
    mmpretrain ViTs, timm ViTs and ``PointTransformer``.

    Learned prompt tokens join the sequence right after the class token.
    Shallow: one set before the first block, carried through all blocks.
    Deep: every block gets its own set, replacing the previous block's
    prompt outputs. The prompts leave the sequence after the last block, so
    the class token, feature maps and ``out_indices`` are the plain
    backbone's; ``forward_context.prompts`` holds them.

    The prompts change the backbone's output from step 0 (they take part in
    attention); with ``num_prompts=0`` the model is the plain backbone.

    Args:
        module (dict | nn.Module): The backbone (see
            :class:`BlockPatchedBackbone`).
        num_prompts (int): Prompt tokens (per block in deep). VPT picks it
            per task from {1, 5, 10, 50, 100, 200}. Defaults to 10.
        deep (bool): VPT-deep. Defaults to False.
        dropout (float): Dropout on the prompts. Defaults to 0 (VPT's
            default config).
        init (str): ``'xavier_uniform'`` (VPT's: U(-b, b) with
            ``b = sqrt(6 / (3 * patch_h * patch_w + d))``, the patch size
            read from the backbone's patch embedding), ``'trunc_normal'``
            (std 0.02, IDPT's point-cloud VPT) or ``'auto'`` (the first when
            the backbone has a patch embedding, else the second).
    """

    additions_name = 'vpt'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 num_prompts: int = 10,
                 deep: bool = False,
                 dropout: float = 0.0,
                 init: str = 'auto',
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        if isinstance(num_prompts, bool) or not isinstance(
                num_prompts, int) or num_prompts < 0:
            raise ValueError(f'VPT: num_prompts must be an integer >= 0, '
                             f'got {num_prompts!r}')
        inits = ('auto', 'xavier_uniform', 'trunc_normal')
        if init not in inits:
            raise ValueError(f'VPT: init must be one of {inits}, got '
                             f'{init!r}')
        patch = patch_size(self.module)
        if init == 'xavier_uniform' and patch is None:
            raise ValueError(
                f"VPT: init='xavier_uniform' needs a patch embedding, and "
                f'{type(self.module).__name__} has none; use '
                "init='trunc_normal'")
        bound = None
        if init != 'trunc_normal' and patch is not None:
            bound = math.sqrt(6. / (3 * patch[0] * patch[1] +
                                    self.embed_dims))
        self.deep = deep
        self.patch_blocks([
            VPTBlockPrompts(
                num_prompts if (deep or index == 0) else 0,
                self.embed_dims,
                init_bound=bound,
                dropout=dropout,
                num_prefix_tokens=self.num_prefix_tokens,
                context=self.forward_context)
            for index in range(len(self._blocks))
        ])
