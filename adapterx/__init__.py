"""adapterx: parameter-efficient adaptation of 2D and 3D vision transformers
on OpenMMLab (mmengine, mmpretrain) and timm."""
from .utils import register_all_modules
from .version import __version__

__all__ = ['__version__', 'register_all_modules']
