from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from torch import Tensor

from adapterx.registry import ADAPTERS


@ADAPTERS.register_module()
class PromptGenerator(nn.Module):
    """Adapter-X's per-block Prompt Generator: one prompt token from the
    block's adapter output, ``p = mean_tokens(act(a)) * gamma + beta``.

    An affine map, no MLP [figure]; GELU before the mean and the
    initialisation gamma ~ N(1, 0.02), beta ~ N(0, 0.02) follow DAPT
    [lineage].

    Args:
        embed_dims (int): Token width d.
        act_cfg (dict, optional): Activation before the mean; None for none.
        gamma_init_std (float): Std of gamma around 1.
        beta_init_std (float): Std of beta around 0.
    """

    def __init__(self,
                 embed_dims: int,
                 act_cfg: Optional[dict] = dict(type='GELU'),
                 gamma_init_std: float = 0.02,
                 beta_init_std: float = 0.02):
        super().__init__()
        self.activation = nn.Identity() if act_cfg is None \
            else build_activation_layer(act_cfg)
        self.gamma = nn.Parameter(
            torch.empty(embed_dims).normal_(1.0, gamma_init_std))
        self.beta = nn.Parameter(
            torch.empty(embed_dims).normal_(0.0, beta_init_std))

    def forward(self, adapter_out: Tensor) -> Tensor:
        """(B, L, d) -> (B, 1, d)."""
        summary = self.activation(adapter_out).mean(dim=1, keepdim=True)
        return summary * self.gamma + self.beta
