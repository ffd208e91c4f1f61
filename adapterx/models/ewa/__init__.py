"""EWA (arXiv 2308.06093): ViTs trained with random-partition MoE FFNs and
Experts Weights Averaging, converted back to the plain ViT."""
from .conversion import convert_to_dense
from .dispatch import (TokenDispatch, partition_generator, random_partition,
                       top1_dispatch)
from .expert_linear import ExpertLinear, expert_spread
from .moe_ffn import MoEFFN, RandomPartitionMoE, Top1MoE
from .moe_vit import MoEViT

__all__ = [
    'convert_to_dense', 'TokenDispatch', 'partition_generator',
    'random_partition', 'top1_dispatch', 'ExpertLinear', 'expert_spread',
    'MoEFFN', 'RandomPartitionMoE', 'Top1MoE', 'MoEViT'
]
