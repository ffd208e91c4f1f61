"""Datasets of adapterx (VTAB-1k, FGVC, point clouds)."""
from .sklearn_digits import SklearnDigits
from .synthetic_shapes import SyntheticShapes
