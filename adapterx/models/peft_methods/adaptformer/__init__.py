from .adaptformer import AdaptFormer

__all__ = ['AdaptFormer']
