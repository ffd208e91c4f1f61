"""Experts made to differ, as after training, for the EWA tests."""
import torch

from adapterx.models.ewa import ExpertLinear


def spread_experts(module, std=0.05):
    """Make the experts of every MoE differ (as after training)."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for linear in module.modules():
            if isinstance(linear, ExpertLinear):
                for stack in linear.stacks():
                    stack.add_(std * torch.randn(
                        stack.shape, generator=generator, dtype=stack.dtype))
