from .layer import ScaleShift
from .model import SSF

__all__ = ['SSF', 'ScaleShift']
