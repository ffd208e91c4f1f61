from .clip_vit import CLIPVisionTransformer
from .point_transformer import MiniPointNet, PointGrouper, PointTransformer

__all__ = [
    'CLIPVisionTransformer', 'MiniPointNet', 'PointGrouper',
    'PointTransformer'
]
