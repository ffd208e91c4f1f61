from .dapt import DAPT, DAPTBlockAdditions
from .modules import DynamicAdapter, ScaleShift

__all__ = ['DAPT', 'DAPTBlockAdditions', 'DynamicAdapter', 'ScaleShift']
