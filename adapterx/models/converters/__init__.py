"""Converters from third-party pretrained weights to adapterx models."""
from .clip import (clip_visual_to_mmpretrain, convert_clip_checkpoint,
                   find_visual_prefix)
from .point_transformer import (convert_point_checkpoint,
                                convert_point_transformer,
                                detect_point_format)
from .vit_timm import (convert_vit_checkpoint, npz_to_timm_state_dict,
                       timm_vit_to_mmpretrain)

__all__ = [
    'npz_to_timm_state_dict', 'timm_vit_to_mmpretrain', 'convert_vit_checkpoint',
    'convert_point_checkpoint', 'convert_point_transformer',
    'detect_point_format', 'clip_visual_to_mmpretrain',
    'convert_clip_checkpoint', 'find_visual_prefix'
]
