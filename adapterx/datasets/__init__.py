"""Datasets of adapterx (VTAB-1k, FGVC, class-folder tasks, point clouds)."""
from .digit_domains import DIGIT_DOMAINS, DigitDomains
from .fgvc import (CUB200, FGVC, FGVC_DATASETS, NABirds555, OxfordFlowers102,
                   StanfordCars196, StanfordDogs120)
from .modelnet40 import MODELNET40_CLASSES, ModelNet40, ModelNet40H5
from .proxy_vtab import PROXY_VTAB_TASKS, write_proxy_vtab
from .point_transforms import (NormalizePoints, PackPointInputs,
                               RandomPointDropout, RandomRotatePoints,
                               RandomScaleTranslate, ResamplePoints,
                               ShufflePoints)
from .scanobjectnn import (SCANOBJECTNN_CLASSES, SCANOBJECTNN_VARIANTS,
                           ScanObjectNN)
from .sklearn_digits import SklearnDigits
from .synthetic_point_clouds import POINT_CLOUD_SHAPES, SyntheticPointClouds
from .synthetic_shapes import SyntheticShapes
from .synthetic_tasks import SYNTHETIC_TASKS, SyntheticTaskImages
from .task_folders import (EIGHT_TASK_NAMES, EIGHT_TASKS, BenchmarkTask,
                           ImageFolderTask, benchmark_task, read_class_names,
                           read_templates)
from .vtab1k import (VTAB1K_ALIASES, VTAB1K_GROUPS, VTAB1K_SPLITS,
                     VTAB1K_TASKS, VTAB1k, resolve_vtab1k_task, task_groups,
                     vtab1k_task_table)

__all__ = [
    'CUB200', 'FGVC', 'FGVC_DATASETS', 'NABirds555', 'OxfordFlowers102',
    'StanfordCars196', 'StanfordDogs120', 'SklearnDigits', 'SyntheticShapes',
    'VTAB1K_ALIASES', 'VTAB1K_GROUPS', 'VTAB1K_SPLITS', 'VTAB1K_TASKS',
    'VTAB1k', 'resolve_vtab1k_task', 'MODELNET40_CLASSES', 'ModelNet40',
    'ModelNet40H5', 'NormalizePoints', 'PackPointInputs',
    'RandomPointDropout', 'RandomRotatePoints', 'RandomScaleTranslate',
    'ResamplePoints', 'ShufflePoints', 'SCANOBJECTNN_CLASSES',
    'SCANOBJECTNN_VARIANTS', 'ScanObjectNN', 'POINT_CLOUD_SHAPES',
    'SyntheticPointClouds', 'SYNTHETIC_TASKS', 'SyntheticTaskImages',
    'EIGHT_TASK_NAMES', 'EIGHT_TASKS', 'BenchmarkTask', 'ImageFolderTask',
    'benchmark_task', 'read_class_names', 'read_templates', 'DIGIT_DOMAINS',
    'DigitDomains',
    'PROXY_VTAB_TASKS', 'write_proxy_vtab', 'task_groups', 'vtab1k_task_table'
]
