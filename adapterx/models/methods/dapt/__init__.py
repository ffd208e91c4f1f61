from .layers import DAPTBlockAdditions, DynamicAdapter
from .model import DAPT

__all__ = ['DAPT', 'DAPTBlockAdditions', 'DynamicAdapter']
