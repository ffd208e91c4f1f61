"""Small data written in the real on-disk formats, for tests and demos."""
from .image_folder import make_image_folder

__all__ = ['make_image_folder']
