from .vpt import VPT, VPTBlockPrompts

__all__ = ['VPT', 'VPTBlockPrompts']
