"""Tiny versions of the three backbone families the methods adapt, and
the methods' wrappers as configs."""
import torch

from ..fixtures import (tiny_mmpretrain_vit, tiny_point_transformer,
                        tiny_timm_vit)

METHODS = {
    'lora': dict(type='LoRA'),
    'lora_whole_qkv': dict(type='LoRA', qkv_parts=None, rank=4, alpha=8),
    'ssf': dict(type='SSF'),
    'fact_tt': dict(type='FacT', mode='tt', rank=4),
    'fact_tk': dict(type='FacT', mode='tk', rank=4, scale=0.5),
}
BACKBONES = ('mmpretrain', 'timm', 'point')


def tiny_backbone(kind: str):
    """(backbone in eval mode, an input batch)."""
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
    backbone.eval()  # mmpretrain's ViT.train() returns None
    return backbone, inputs


def features(backbone, inputs):
    """The backbone's output as one tensor (mmpretrain and the point
    transformer return tuples)."""
    output = backbone(inputs)
    return output[-1] if isinstance(output, tuple) else output


@torch.no_grad()
def perturb(module, pattern_words):
    """Move every parameter whose name holds one of ``pattern_words`` away
    from its initial value (as training would), deterministically."""
    generator = torch.Generator().manual_seed(1)
    for name, parameter in module.named_parameters():
        if any(word in name for word in pattern_words):
            parameter.add_(0.1 *
                           torch.randn(parameter.shape, generator=generator))
