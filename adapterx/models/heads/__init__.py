from .point_cls_head import PointClsHead

__all__ = ['PointClsHead']
