from typing import Optional

import torch
import torch.nn as nn
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from ...peft.block_patching import BlockAdditions
from ...peft.forward_context import ForwardContext


class VPTBlockPrompts(BlockAdditions):
    """One block's VPT prompts, attached as ``block.vpt``.

    A block that owns prompts (the first block; every block in VPT-deep)
    attends to them in place of whatever earlier blocks handed on; a block
    without (VPT-shallow after the first) attends to the prompts carried
    from the block before. Either way the prompts leave the sequence again
    on exit.

    Args:
        num_prompts (int): Prompt tokens this block owns; 0 for none.
        embed_dims (int): Token width.
        init_bound (float, optional): Prompts ~ U(-bound, bound); None:
            truncated normal, std 0.02.
        dropout (float): Dropout on the prompts (each sample its own mask).
        num_prefix_tokens (int), context (ForwardContext): See
            :class:`BlockAdditions`.
    """

    def __init__(self, num_prompts: int, embed_dims: int,
                 init_bound: Optional[float], dropout: float,
                 num_prefix_tokens: int, context: ForwardContext):
        super().__init__(num_prefix_tokens, context)
        self.prompts = nn.Parameter(torch.empty(num_prompts, embed_dims)) \
            if num_prompts else None
        self.dropout = nn.Dropout(dropout)
        if self.prompts is not None:
            if init_bound is None:
                trunc_normal_(self.prompts, std=.02)
            else:
                nn.init.uniform_(self.prompts, -init_bound, init_bound)

    def entry_prompts(self, x: Tensor,
                      carried: Optional[Tensor]) -> Optional[Tensor]:
        if self.prompts is None:
            return carried
        return self.dropout(self.prompts.expand(x.shape[0], -1, -1))
