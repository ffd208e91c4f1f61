from .layers import AdapterXBlockAdapters
from .model import AdapterX

__all__ = ['AdapterX', 'AdapterXBlockAdapters']
