from .layers import VPTBlockPrompts
from .model import VPT

__all__ = ['VPT', 'VPTBlockPrompts']
