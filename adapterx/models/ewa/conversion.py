"""MoE model to plain ViT: every MoE FFN becomes one FFN with its experts'
mean weights, every :class:`MoEViT` wrapper its backbone."""
import copy

import torch.nn as nn

from .moe_ffn import MoEFFN
from .moe_vit import MoEViT


def convert_to_dense(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which every MoE FFN is the dense FFN with its
    experts' mean weights and every :class:`MoEViT` is the backbone it
    wraps: the unmodified architecture, with its state-dict keys and
    parameter count. Its output equals ``model``'s in evaluation with
    ``eval_mode='averaged'``. ``model`` itself is not changed.
    """
    # deepcopy's memo puts the converted modules where the MoE ones were.
    memo = {
        id(moe): moe.to_dense()
        for moe in model.modules() if isinstance(moe, MoEFFN)
    }
    for wrapper in model.modules():
        if isinstance(wrapper, MoEViT):
            memo[id(wrapper)] = copy.deepcopy(wrapper.module, memo)
    return copy.deepcopy(model, memo)
