import math
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from torch import Tensor

from ...modules import DynamicTokenScale, PromptGenerator
from ...peft.block_patching import BlockAdditions, BranchOutputs
from ...peft.forward_context import ForwardContext


class DynamicAdapter(nn.Module):
    """DAPT's Dynamic Adapter: its own LayerNorm, then a bottleneck (down,
    GELU, dropout, up) whose output each token scales by its own
    non-negative factor ``ReLU(Linear(d, 1))`` of the normalised input.

    Initialisation as DAPT's code: down and scale weights Kaiming uniform
    (a = sqrt 5), their biases zero; up weight and bias zero, so the adapter
    outputs zero at step 0.

    Args:
        embed_dims (int): d.
        bottleneck_dims (int): r. Defaults to 64 (DAPT's Point-MAE configs).
        dropout (float): On the hidden activations.
        act_cfg (dict): Defaults to GELU.
    """

    def __init__(self,
                 embed_dims: int,
                 bottleneck_dims: int = 64,
                 dropout: float = 0.0,
                 act_cfg: dict = dict(type='GELU')):
        super().__init__()
        self.norm = nn.LayerNorm(embed_dims)
        self.down = nn.Linear(embed_dims, bottleneck_dims)
        self.activation = build_activation_layer(act_cfg)
        self.dropout = nn.Dropout(dropout)
        self.up = nn.Linear(bottleneck_dims, embed_dims)
        self.scale = DynamicTokenScale(embed_dims)
        for linear in (self.down, self.scale.linear):
            nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5))
            nn.init.zeros_(linear.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        normed = self.norm(x)
        hidden = self.dropout(self.activation(self.down(normed)))
        return self.up(hidden) * self.scale(normed)


class DAPTBlockAdditions(BlockAdditions):
    """One block's DAPT parts, attached as ``block.dapt``: the dynamic
    adapter parallel to the MLP (on LN2's scaled-and-shifted output, inside
    the block's stochastic depth rate), the internal prompt generator (one
    prompt from the adapter's output, appended to the prompts of earlier
    blocks), and the block's scale-and-shift vectors.
    """

    def __init__(self, adapter: DynamicAdapter, drop_path_rate: float,
                 prompt_generator: PromptGenerator, scale_shifts: dict,
                 num_prefix_tokens: int, context: ForwardContext):
        super().__init__(num_prefix_tokens, context,
                         branch_drop_path_rate=drop_path_rate)
        self.adapter = adapter
        self.prompt_generator = prompt_generator
        self.scale_shifts = nn.ModuleDict(scale_shifts)

    def mlp_branch(self, normed: Tensor, mlp_output: Tensor) -> Tensor:
        return self.adapter(normed)

    def exit_prompts(self, prompts: Optional[Tensor],
                     branches: BranchOutputs) -> Tensor:
        new_prompt = self.prompt_generator(branches.mlp)
        return new_prompt if prompts is None else torch.cat(
            [prompts, new_prompt], dim=1)
