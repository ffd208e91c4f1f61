import torch.nn as nn
from torch import Tensor

from ...modules import SharedExpertPool
from ...peft.block_patching import BlockAdditions
from ...peft.forward_context import ForwardContext


class AdaptFormerAdapter(BlockAdditions):
    """One block's AdaptFormer bottleneck, attached as
    ``block.adaptformer``: ``s * up(ReLU(down(LN2 x)))`` added parallel to
    the MLP.

    The bottleneck is a one-expert :class:`SharedExpertPool` that this
    block alone owns, every token going to its one expert with gate 1: the
    pool's fused expert computation without a router.

    Initialisation as AdaptFormer's code ("lora" option): down weight
    Kaiming uniform, down bias, up weight and up bias zero, so the block is
    unchanged at step 0.

    Args:
        embed_dims (int): Token width d.
        bottleneck_dims (int): r.
        scale (float): s.
        dropout (float): Dropout on the hidden activations.
        num_prefix_tokens (int), context (ForwardContext): See
            :class:`BlockAdditions`.
    """

    def __init__(self, embed_dims: int, bottleneck_dims: int, scale: float,
                 dropout: float, num_prefix_tokens: int,
                 context: ForwardContext):
        super().__init__(num_prefix_tokens, context)
        self.adapter = SharedExpertPool(
            embed_dims,
            num_experts=1,
            bottleneck_dims=bottleneck_dims,
            act_cfg=dict(type='ReLU'),
            dropout=dropout)
        nn.init.zeros_(self.adapter.down_bias)
        self.scale = scale

    def extra_repr(self) -> str:
        return f'scale={self.scale}'

    def mlp_branch(self, normed: Tensor, mlp_output: Tensor) -> Tensor:
        # The pool works on (B, L, sub-tokens, d / sub-tokens): one
        # sub-token, one expert.
        tokens = normed.unsqueeze(2)
        gates = normed.new_ones(*tokens.shape[:3], 1)
        return self.adapter(tokens, gates).squeeze(2) * self.scale
