"""Tiny backbones of the three families the baseline methods adapt, their
input batches, and the methods' configs they are tested with.

Two sizes, because the tests compare against numbers that follow from them:
the re-parameterising methods (LoRA, SSF, FacT) on 2 blocks with a 4x
MLP, the block methods (VPT, AdaptFormer, Convpass, IDPT, DAPT) on 3
seeded blocks."""
import torch

from ..fixtures import (in_eval_mode, tiny_mmpretrain_vit,
                        tiny_point_transformer, tiny_timm_vit)

BACKBONE_KINDS = ('mmpretrain', 'timm', 'point')
REPARAM_METHODS = {
    'lora': dict(type='LoRA'),
    'lora_whole_qkv': dict(type='LoRA', qkv_parts=None, rank=4, alpha=8),
    'ssf': dict(type='SSF'),
    'fact_tt': dict(type='FacT', mode='tt', rank=4),
    'fact_tk': dict(type='FacT', mode='tk', rank=4, scale=0.5),
}
# block method (its PEFT base config's name) -> the kinds of backbone it
# applies to.
BLOCK_METHOD_KINDS = {
    'vpt_shallow': ('mmpretrain', 'timm', 'point'),
    'vpt_deep': ('mmpretrain', 'timm', 'point'),
    'adaptformer': ('mmpretrain', 'timm', 'point'),
    'convpass': ('mmpretrain', 'timm'),
    'idpt': ('point', ),
    'dapt': ('point', ),
}
BLOCK_METHOD_CASES = [(method, kind)
                      for method, kinds in BLOCK_METHOD_KINDS.items()
                      for kind in kinds]


def two_block_backbone_and_batch(kind):
    """(a 2-block backbone of ``kind`` in eval mode, an input batch of 2);
    the backbone is not seeded, the batch is."""
    generator = torch.Generator().manual_seed(0)
    if kind == 'mmpretrain':
        backbone = tiny_mmpretrain_vit(feedforward_channels=128,
                                       out_type='raw')
        inputs = torch.randn(2, 3, 32, 32, generator=generator)
    elif kind == 'timm':
        backbone = tiny_timm_vit(mlp_ratio=4.0)
        inputs = torch.randn(2, 3, 32, 32, generator=generator)
    else:
        backbone = tiny_point_transformer(num_groups=8, group_size=4)
        inputs = torch.randn(2, 64, 3, generator=generator)
    return in_eval_mode(backbone), inputs


def three_block_backbone(kind, **kwargs):
    """A 3-block backbone of ``kind``, seeded, in eval mode; ``kwargs``
    go to mmpretrain's ViT."""
    torch.manual_seed(0)
    if kind == 'mmpretrain':
        return in_eval_mode(tiny_mmpretrain_vit(num_layers=3, **kwargs))
    if kind == 'timm':
        return in_eval_mode(tiny_timm_vit(depth=3))
    backbone = tiny_point_transformer(depth=3, num_groups=16, group_size=8)
    backbone.init_weights()
    return in_eval_mode(backbone)


def three_block_batch(kind, batch=2):
    """A seeded input batch for ``three_block_backbone(kind)`` (16 groups of
    8 points need 128 points)."""
    generator = torch.Generator().manual_seed(2)
    if kind == 'point':
        return torch.randn(batch, 128, 3, generator=generator)
    return torch.randn(batch, 3, 32, 32, generator=generator)


@torch.no_grad()
def perturb(module, pattern_words):
    """Move every parameter whose name holds one of ``pattern_words`` away
    from its initial value (as training would), deterministically."""
    generator = torch.Generator().manual_seed(1)
    for name, parameter in module.named_parameters():
        if any(word in name for word in pattern_words):
            parameter.add_(0.1 *
                           torch.randn(parameter.shape, generator=generator))
