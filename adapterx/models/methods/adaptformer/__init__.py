from .model import AdaptFormer

__all__ = ['AdaptFormer']
