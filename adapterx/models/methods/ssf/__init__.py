from .model import SSF

__all__ = ['SSF']
