from .dapt import DAPT, DAPTBlockAdditions
from .modules import DynamicAdapter

__all__ = ['DAPT', 'DAPTBlockAdditions', 'DynamicAdapter']
