from .layers import AdaptFormerAdapter
from .model import AdaptFormer

__all__ = ['AdaptFormer', 'AdaptFormerAdapter']
