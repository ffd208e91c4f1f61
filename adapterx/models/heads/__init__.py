from .point_cls_head import PointClsHead
from .zero_shot_head import ZeroShotClsHead

__all__ = ['PointClsHead', 'ZeroShotClsHead']
