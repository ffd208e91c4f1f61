import math

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from torch import Tensor

from adapterx.registry import ADAPTERS


def check_sizes(owner: str, embed_dims: int, num_heads: int,
                **sizes: int) -> None:
    """Raise a ValueError naming the value unless every size is a positive
    integer and ``embed_dims`` splits evenly into ``num_heads`` sub-tokens."""
    sizes = dict(embed_dims=embed_dims, num_heads=num_heads, **sizes)
    for name, value in sizes.items():
        # bool is an int subclass; True as a size is a config mistake.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{owner}: {name} must be a positive integer, '
                             f'got {value!r}')
    if embed_dims % num_heads:
        raise ValueError(f'{owner}: embed_dims={embed_dims} is not divisible '
                         f'by num_heads={num_heads}')


@ADAPTERS.register_module()
class SharedExpertPool(nn.Module):
    """N bottleneck adapter experts (down, activation, up) and their N
    routing embeddings, shared by every block that routes to the pool.

    Sharing means one set of tensors: the blocks hold references to this
    module, not copies. The experts act on sub-tokens of ``embed_dims //
    num_heads`` channels (the router's multi-head split).

    All experts are evaluated as two GEMMs of width ``N * r``: the hidden
    activations of every expert are computed at once, each expert's hidden
    slice is multiplied by that expert's gate, and one up-projection sums
    the gated experts. With r small this costs less than gathering tokens
    per expert, has no Python loop, and gives every expert a (possibly
    zero) gradient, which DDP needs.

    Args:
        embed_dims (int): Token width d.
        num_experts (int): N. Defaults to 4.
        bottleneck_dims (int): Expert width r. Defaults to 8.
        routing_dims (int): Width of the expert embeddings the routers score
            against. Defaults to 8. Unused with one expert (no routing).
        num_heads (int): Sub-tokens per token. Defaults to 1.
        act_cfg (dict): Activation between down and up. Defaults to ReLU
            (AdaptFormer's).
        dropout (float): Dropout on the hidden activations.

    Initialisation [AdaptFormer / DAPT lineage]: down-projections as
    ``nn.Linear`` (Kaiming uniform), up-projections and their biases zero,
    so the pool outputs exactly zero before training; expert embeddings
    orthogonal with gain 0.32 [X-MoE].
    """

    def __init__(self,
                 embed_dims: int,
                 num_experts: int = 4,
                 bottleneck_dims: int = 8,
                 routing_dims: int = 8,
                 num_heads: int = 1,
                 act_cfg: dict = dict(type='ReLU'),
                 dropout: float = 0.0):
        super().__init__()
        check_sizes(
            'SharedExpertPool',
            embed_dims=embed_dims,
            num_heads=num_heads,
            num_experts=num_experts,
            bottleneck_dims=bottleneck_dims,
            routing_dims=routing_dims)
        self.embed_dims = embed_dims
        self.num_experts = num_experts
        self.bottleneck_dims = bottleneck_dims
        self.routing_dims = routing_dims
        self.num_heads = num_heads
        head_dims = embed_dims // num_heads

        self.down_weight = nn.Parameter(
            torch.empty(num_experts, head_dims, bottleneck_dims))
        self.down_bias = nn.Parameter(torch.empty(num_experts,
                                                  bottleneck_dims))
        self.up_weight = nn.Parameter(
            torch.zeros(num_experts, bottleneck_dims, head_dims))
        self.up_bias = nn.Parameter(torch.zeros(num_experts, head_dims))
        # A single expert needs no routing (AdaptFormer, DAPT): no
        # embeddings to score against, so none to store or train.
        self.expert_embeddings = nn.Parameter(
            torch.empty(num_experts, routing_dims)) if num_experts > 1 \
            else None
        self.activation = build_activation_layer(act_cfg)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.down_weight.shape[1])
        for expert in range(self.num_experts):
            # The same scheme as nn.Linear(head_dims, r), weight stored
            # transposed: fan_in is head_dims.
            nn.init.kaiming_uniform_(
                self.down_weight.data[expert].T, a=math.sqrt(5))
        nn.init.uniform_(self.down_bias, -bound, bound)
        nn.init.zeros_(self.up_weight)
        nn.init.zeros_(self.up_bias)
        if self.expert_embeddings is not None:
            nn.init.orthogonal_(self.expert_embeddings, gain=0.32)

    def down_projection(self) -> Tensor:
        """Every expert's down-projection side by side, (d/H, N * r): one
        GEMM computes all the hidden activations."""
        num_experts, head_dims, rank = self.down_weight.shape
        return self.down_weight.permute(1, 0, 2).reshape(
            head_dims, num_experts * rank)

    def expert_hidden(self, projected: Tensor) -> Tensor:
        """(..., N * r) down-projected sub-tokens (without bias) -> the
        experts' hidden activations."""
        hidden = self.activation(projected + self.down_bias.flatten())
        # nn.Dropout(0) still dispatches an op per call in training.
        return self.dropout(hidden) if self.dropout.p else hidden

    def combine(self, hidden: Tensor, gates: Tensor) -> Tensor:
        """Gate each expert's hidden slice and sum the experts through one
        up-projection: (..., N * r), gates (..., N) -> (..., d/H)."""
        num_experts, rank, head_dims = self.up_weight.shape
        # Broadcasting the gate over its expert's r units is the same
        # product as a repeat_interleave'd gate, without the copy.
        gated = (hidden.unflatten(-1, (num_experts, rank)) *
                 gates.unsqueeze(-1)).flatten(-2)
        up = self.up_weight.reshape(num_experts * rank, head_dims)
        return gated @ up + gates @ self.up_bias

    def forward(self, tokens: Tensor, gates: Tensor) -> Tensor:
        """Mix the experts' outputs per sub-token.

        Args:
            tokens (Tensor): Sub-tokens, (B, L, H, d/H).
            gates (Tensor): Combine weights, (B, L, H, N); zero for the
                experts a sub-token is not routed to.

        Returns:
            Tensor: (B, L, H, d/H), sum_n gates[..., n] * expert_n(tokens).
        """
        return self.combine(
            self.expert_hidden(tokens @ self.down_projection()), gates)
