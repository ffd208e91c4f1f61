import math

import torch.nn as nn
from mmcv.cnn import build_activation_layer
from torch import Tensor

from ...adapters import DynamicTokenScale


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
