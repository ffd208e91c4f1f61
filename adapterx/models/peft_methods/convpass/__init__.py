from .convpass import Convpass, ConvBypass

__all__ = ['Convpass', 'ConvBypass']
