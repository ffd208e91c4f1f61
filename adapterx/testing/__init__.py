"""Small data written in the real on-disk formats, for tests and demos."""
from .image_folder import make_image_folder
from .vtab_folder import make_vtab1k_task

__all__ = ['make_image_folder', 'make_vtab1k_task']
