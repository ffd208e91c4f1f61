import torch.nn as nn

from adapterx.registry import MODELS
from ..adapterx import AdapterX


@MODELS.register_module()
class AdaptFormer(AdapterX):
    """AdaptFormer (arXiv 2205.13535): a scaled bottleneck parallel to the
    MLP of every block,
    ``x = x + MLP(LN2(x)) + s * up(ReLU(down(LN2(x))))``.

    Exactly Adapter-X with one expert per block: a single expert needs no
    router (SMoA then has no routing parameters and gate 1), there is no
    sharing and no prompt generator. The parameters are those of AdaptFormer
    (per block ``2 d r + r + d``; r=8 on ViT-B/16: 0.16 M) under Adapter-X's
    names (``expert_pools.mlp_<block>``).

    Initialisation as AdaptFormer's code ("lora" option): down weight
    Kaiming uniform, down bias, up weight and up bias zero, so the backbone
    is unchanged at step 0.

    Args:
        module (dict | nn.Module): The backbone (see :class:`AdapterX`).
        bottleneck_dims (int): r. AdaptFormer's VTAB-1k tables use 8 (its
            video experiments 64). Defaults to 8.
        scale (float): s. Defaults to 0.1 (the paper's).
        dropout (float): Dropout inside the bottleneck. Defaults to 0.
    """

    # AdaptFormer trains its bottlenecks alone: no block norm, no token.
    retrained_backbone_parameters = ()

    def __init__(self,
                 module,
                 bottleneck_dims: int = 8,
                 scale: float = 0.1,
                 dropout: float = 0.0,
                 init_cfg=None):
        super().__init__(
            module,
            num_experts=1,
            bottleneck_dims=bottleneck_dims,
            scale=scale,
            expert_act_cfg=dict(type='ReLU'),
            expert_dropout=dropout,
            placement='mlp',
            sharing_groups='per_block',
            prompt_generator=None,
            balance_loss_weight=0.0,
            init_cfg=init_cfg)
        for pool in self.expert_pools.values():
            nn.init.zeros_(pool.down_bias)
