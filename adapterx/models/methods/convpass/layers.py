import math
from typing import Optional

import torch
import torch.nn as nn
from timm.layers import DropPath
from torch import Tensor

from ...peft.block_patching import BlockAdditions
from ...peft.forward_context import ForwardContext


class QuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, the activation of Convpass's code."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


class ConvBypass(nn.Module):
    """One convolutional bypass: 1x1 down to r channels, QuickGELU, 3x3
    convolution over the patch grid, QuickGELU, dropout, 1x1 up, times s.

    The prefix tokens (class token) are not on the grid: each goes through
    the same 3x3 convolution as a 1x1 map (only the kernel's centre
    touches it), as Convpass's code does.

    Initialisation as Convpass's code: down Xavier uniform, bias zero; conv
    Xavier uniform (``xavier_init=True``, its VTAB setting for most tasks)
    or the identity at the kernel's centre; conv bias zero; up weight and
    bias zero, so the bypass outputs zero at step 0.

    Args:
        embed_dims (int): Token width d.
        bottleneck_dims (int): r. Defaults to 8 (the paper's).
        scale (float): s. Defaults to 0.01.
        dropout (float): After the second activation. Defaults to 0.1.
        drop_path_rate (float): Stochastic depth of the bypass (Convpass
            drops it with its block's rate, independently of the block's
            own branch).
        xavier_init (bool): Xavier conv init, else identity.
        num_prefix_tokens (int): Tokens before the grid.
    """

    def __init__(self,
                 embed_dims: int,
                 bottleneck_dims: int = 8,
                 scale: float = 0.01,
                 dropout: float = 0.1,
                 drop_path_rate: float = 0.0,
                 xavier_init: bool = True,
                 num_prefix_tokens: int = 1):
        super().__init__()
        self.down = nn.Linear(embed_dims, bottleneck_dims)
        self.conv = nn.Conv2d(bottleneck_dims, bottleneck_dims, 3, 1, 1)
        self.up = nn.Linear(bottleneck_dims, embed_dims)
        self.activation = QuickGELU()
        self.dropout = nn.Dropout(dropout)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 \
            else nn.Identity()
        self.scale = scale
        self.num_prefix_tokens = num_prefix_tokens
        nn.init.xavier_uniform_(self.down.weight)
        nn.init.zeros_(self.down.bias)
        if xavier_init:
            nn.init.xavier_uniform_(self.conv.weight)
        else:
            nn.init.zeros_(self.conv.weight)
            with torch.no_grad():
                self.conv.weight[:, :, 1, 1] = torch.eye(bottleneck_dims)
        nn.init.zeros_(self.conv.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, P + H*W, d) -> (B, P + H*W, d), with a square H x W grid."""
        batch, length, _ = x.shape
        prefix = self.num_prefix_tokens
        side = math.isqrt(length - prefix)
        if side * side != length - prefix:
            raise ValueError(
                f'Convpass: {length - prefix} tokens after the {prefix} '
                'prefix token(s) form no square patch grid')
        down = self.activation(self.down(x))
        rank = down.shape[-1]
        grid = down[:, prefix:].transpose(1, 2).reshape(batch, rank, side,
                                                        side)
        grid = self.conv(grid).flatten(2).transpose(1, 2)
        singles = down[:, :prefix].reshape(batch * prefix, rank, 1, 1)
        singles = self.conv(singles).reshape(batch, prefix, rank)
        hidden = self.dropout(
            self.activation(torch.cat([singles, grid], dim=1)))
        return self.drop_path(self.up(hidden) * self.scale)


class ConvpassBlockBypasses(BlockAdditions):
    """One block's bypasses, attached as ``block.convpass``: one parallel
    to attention, one (unless attention-only) parallel to the MLP, each on
    the LayerNorm output its branch reads."""

    def __init__(self, attn_bypass: ConvBypass,
                 mlp_bypass: Optional[ConvBypass], num_prefix_tokens: int,
                 context: ForwardContext):
        super().__init__(num_prefix_tokens, context)
        self.attn_bypass = attn_bypass
        self.mlp_bypass = mlp_bypass

    def attention_branch(self, normed: Tensor,
                         attention_output: Tensor) -> Tensor:
        return self.attn_bypass(normed)

    def mlp_branch(self, normed: Tensor,
                   mlp_output: Tensor) -> Optional[Tensor]:
        return None if self.mlp_bypass is None else self.mlp_bypass(normed)
