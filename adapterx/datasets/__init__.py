"""Datasets of adapterx (VTAB-1k, FGVC, point clouds)."""
from .fgvc import (CUB200, FGVC, FGVC_DATASETS, NABirds555, OxfordFlowers102,
                   StanfordCars196, StanfordDogs120)
from .sklearn_digits import SklearnDigits
from .synthetic_shapes import SyntheticShapes
from .vtab1k import (VTAB1K_ALIASES, VTAB1K_GROUPS, VTAB1K_SPLITS,
                     VTAB1K_TASKS, VTAB1k, resolve_vtab1k_task)

__all__ = [
    'CUB200', 'FGVC', 'FGVC_DATASETS', 'NABirds555', 'OxfordFlowers102',
    'StanfordCars196', 'StanfordDogs120', 'SklearnDigits', 'SyntheticShapes',
    'VTAB1K_ALIASES', 'VTAB1K_GROUPS', 'VTAB1K_SPLITS', 'VTAB1K_TASKS',
    'VTAB1k', 'resolve_vtab1k_task'
]
