from typing import Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from adapterx.registry import ADAPTERS
from .expert_pool import SharedExpertPool
from .router import RoutingResult, TokenRouter, switch_balance_loss


@ADAPTERS.register_module()
class SMoA(nn.Module):
    """Sharing Mixture of Adapters, the part of one block: the block's own
    router over a pool of experts that other blocks share.

    ``x (B, L, d)`` is split into H sub-tokens (a parameter-free reshape),
    each routed to its top-k experts (or all, soft), the gated expert
    outputs are merged back to (B, L, d) and scaled.

    The pool is *not* a submodule: its owner (e.g. :class:`AdapterX`)
    registers it once, so its tensors are saved, counted and reduced once
    however many blocks route to it.

    Args:
        expert_pool (SharedExpertPool): The shared experts.
        top_k (int): Experts per sub-token. Defaults to 1 (the paper's).
        soft (bool): Weight every expert by its probability instead.
        temperature (float): Router temperature.
        scale (float | dict): A fixed output scale s (AdaptFormer), or the
            config of a per-token scale module such as
            ``dict(type='DynamicTokenScale', embed_dims=d)`` (DAPT).
    """

    def __init__(self,
                 expert_pool: SharedExpertPool,
                 top_k: int = 1,
                 soft: bool = False,
                 temperature: float = 1.0,
                 scale: Union[float, dict] = 0.1):
        super().__init__()
        self._pool = [expert_pool]  # a reference, not a submodule
        # One expert takes every token with gate 1: the mixture is a plain
        # bottleneck adapter (AdaptFormer's), with no router parameters.
        self.router = None if expert_pool.num_experts == 1 else TokenRouter(
            embed_dims=expert_pool.embed_dims,
            num_experts=expert_pool.num_experts,
            routing_dims=expert_pool.routing_dims,
            num_heads=expert_pool.num_heads,
            top_k=top_k,
            soft=soft,
            temperature=temperature)
        if isinstance(scale, dict):
            self.scale = ADAPTERS.build(scale)
        else:
            self.scale = float(scale)

    @property
    def expert_pool(self) -> SharedExpertPool:
        return self._pool[0]

    def extra_repr(self) -> str:
        # The pool is no submodule, so without this a printed model would
        # not show which blocks share one.
        pool = self.expert_pool
        text = (f'expert_pool=<SharedExpertPool at {id(pool):#x}: '
                f'{pool.num_experts} experts>')
        if not isinstance(self.scale, nn.Module):
            text += f', scale={self.scale}'
        return text

    def forward(self, x: Tensor, return_routing: bool = False
                ) -> Union[Tensor, Tuple[Tensor, RoutingResult]]:
        """(B, L, d) -> (B, L, d), scaled; with ``return_routing``, also the
        call's :class:`RoutingResult` (its load-balancing loss None when run
        without autograd)."""
        pool = self.expert_pool
        batch, length, dims = x.shape
        sub_tokens = x.reshape(batch, length, pool.num_heads,
                               dims // pool.num_heads)
        down = pool.down_projection()
        if self.router is None:
            ones = x.new_ones(batch, length, pool.num_heads, 1)
            routing = RoutingResult(
                ones, ones,
                switch_balance_loss(ones) if torch.is_grad_enabled() else None)
            projected = sub_tokens @ down
        else:
            # The router's logits and the experts' down-projection read the
            # same sub-tokens: one GEMM of width N * r + N computes both.
            scoring = self.router.scoring_weight(pool.expert_embeddings)
            projected, logits = (
                sub_tokens @ torch.cat([down, scoring], dim=1)).split(
                    [down.shape[1], scoring.shape[1]], dim=-1)
            routing = self.router.route(logits)
        mixed = pool.combine(pool.expert_hidden(projected),
                             routing.gates).reshape(batch, length, dims)
        scale = self.scale(x) if isinstance(self.scale,
                                            nn.Module) else self.scale
        output = mixed * scale
        return (output, routing) if return_routing else output
