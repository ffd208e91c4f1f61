from .layers import FacTFactors, FacTIncrement
from .model import FacT

__all__ = ['FacT', 'FacTFactors', 'FacTIncrement']
