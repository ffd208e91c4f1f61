"""Tiny ViTs and MoEs shared by the EWA tests."""
import copy

import torch
import torch.nn as nn
from timm.layers import Mlp

from adapterx.models.ewa import ExpertLinear
from ..fixtures import tiny_mmpretrain_vit, vit_arch
from ..fixtures import tiny_timm_vit as timm_vit

DEPTH = 4
TINY_ARCH = vit_arch(num_layers=DEPTH)


def tiny_vit(**kwargs):
    torch.manual_seed(0)
    return tiny_mmpretrain_vit(num_layers=DEPTH, **kwargs)


def tiny_timm_vit():
    torch.manual_seed(0)
    return timm_vit(depth=DEPTH)


def tiny_mlp(dtype=torch.float64):
    """A timm Mlp with a hidden LayerNorm (shared by the experts)."""
    torch.manual_seed(0)
    return Mlp(8, 16, norm_layer=nn.LayerNorm).to(dtype)


def images(batch=2):
    return torch.randn(batch, 3, 32, 32,
                       generator=torch.Generator().manual_seed(2))


def spread_experts(module, std=0.05):
    """Make the experts of every MoE differ (as after training)."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for linear in module.modules():
            if isinstance(linear, ExpertLinear):
                for stack in linear.stacks():
                    stack.add_(std * torch.randn(
                        stack.shape, generator=generator, dtype=stack.dtype))


def expert_as_dense(moe, expert):
    """The MoE's FFN with expert ``expert``'s weights, as a dense module:
    the reference a token routed to that expert must match."""
    def linear_of(stacked):
        linear = nn.Linear(stacked.in_features, stacked.out_features,
                           bias=stacked.bias is not None,
                           dtype=stacked.weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(stacked.weight[expert])
            if stacked.bias is not None:
                linear.bias.copy_(stacked.bias[expert])
        return linear

    return copy.deepcopy(
        moe.experts,
        {id(m): linear_of(m) for m in moe.expert_linears()})
