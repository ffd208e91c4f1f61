from .layers import ConvBypass, ConvpassBlockBypasses
from .model import Convpass

__all__ = ['Convpass', 'ConvBypass', 'ConvpassBlockBypasses']
