from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from adapterx.registry import ADAPTERS
from .expert_pool import check_sizes


class RoutingResult(NamedTuple):
    """gates and probs are (B, L, H, N); balance_loss is a scalar, None
    when computed without autograd."""
    gates: Tensor
    probs: Tensor
    balance_loss: Optional[Tensor]


def switch_balance_loss(probs: Tensor) -> Tensor:
    """Switch Transformer's load-balancing loss ``N * sum_n f_n * P_n``.

    f_n is the fraction of sub-tokens whose most probable expert is n, P_n
    the mean probability of expert n. It is 1 for perfectly uniform routing
    and grows as tokens crowd onto fewer experts.
    """
    num_experts = probs.shape[-1]
    flat = probs.reshape(-1, num_experts)
    top1 = F.one_hot(flat.argmax(dim=-1), num_experts).to(flat.dtype)
    return num_experts * (top1.mean(dim=0) * flat.mean(dim=0)).sum()


@ADAPTERS.register_module()
class TokenRouter(nn.Module):
    """A block's token-level router, X-MoE style: each sub-token is
    projected to ``routing_dims`` and scored against the L2-normalised
    shared expert embeddings (the projection is not normalised, as in
    X-MoE's code).

    Args:
        embed_dims (int): Token width d.
        num_experts (int): N.
        routing_dims (int): Projection width.
        num_heads (int): Sub-tokens per token (the projection acts on
            ``d // num_heads`` channels).
        top_k (int): Experts kept per sub-token in hard routing.
        soft (bool): Keep every expert, weighted by its probability.
        temperature (float): Divides the logits.
    """

    def __init__(self,
                 embed_dims: int,
                 num_experts: int = 4,
                 routing_dims: int = 8,
                 num_heads: int = 1,
                 top_k: int = 1,
                 soft: bool = False,
                 temperature: float = 1.0):
        super().__init__()
        check_sizes(
            'TokenRouter',
            embed_dims=embed_dims,
            num_heads=num_heads,
            num_experts=num_experts,
            routing_dims=routing_dims)
        if isinstance(top_k, bool) or not isinstance(top_k, int) \
                or not 1 <= top_k <= num_experts:
            raise ValueError(
                f'TokenRouter: top_k must be an integer in [1, num_experts='
                f'{num_experts}], got {top_k!r}')
        if temperature <= 0:
            raise ValueError(
                f'TokenRouter: temperature must be > 0, got {temperature}')
        self.num_experts = num_experts
        self.top_k = top_k
        self.soft = soft
        self.temperature = temperature
        self.projection = nn.Linear(
            embed_dims // num_heads, routing_dims, bias=False)

    def scoring_weight(self, expert_embeddings: Tensor) -> Tensor:
        """(d/H, N): the projection, the L2-normalised expert embeddings and
        the temperature folded into one matrix, so the logits of a
        sub-token are one product (and can share a GEMM with the experts'
        down-projection, see :class:`SMoA`)."""
        return self.projection.weight.T @ (
            F.normalize(expert_embeddings, dim=-1).T / self.temperature)

    def route(self, logits: Tensor) -> RoutingResult:
        """Gates and probabilities from the (B, L, H, N) logits.

        The balance loss is only a training signal: without autograd it is
        left out (None) rather than computed for nothing at inference.
        """
        probs = torch.softmax(logits, dim=-1)
        if self.soft:
            gates = probs
        else:
            top_values, top_indices = probs.topk(self.top_k, dim=-1)
            gates = torch.zeros_like(probs).scatter(-1, top_indices,
                                                    top_values)
        balance_loss = switch_balance_loss(probs) \
            if torch.is_grad_enabled() else None
        return RoutingResult(gates, probs, balance_loss)

    def forward(self, sub_tokens: Tensor,
                expert_embeddings: Tensor) -> RoutingResult:
        """Route sub-tokens to experts.

        Args:
            sub_tokens (Tensor): (B, L, H, d/H).
            expert_embeddings (Tensor): The pool's (N, routing_dims)
                embeddings, raw: they are L2-normalised here.

        Returns:
            RoutingResult: gates and probs (B, L, H, N), balance_loss (None
            without autograd).
        """
        return self.route(sub_tokens @ self.scoring_weight(expert_embeddings))
