from .point_transformer import MiniPointNet, PointGrouper, PointTransformer

__all__ = ['MiniPointNet', 'PointGrouper', 'PointTransformer']
