import torch.nn as nn
from torch import Tensor

from adapterx.registry import ADAPTERS


@ADAPTERS.register_module()
class DynamicTokenScale(nn.Module):
    """DAPT's dynamic scale: one non-negative factor per token,
    ``ReLU(Linear(d, 1)(x))``, computed from the adapter's input."""

    def __init__(self, embed_dims: int):
        super().__init__()
        self.linear = nn.Linear(embed_dims, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, d) -> (B, L, 1)."""
        return self.linear(x).relu()
