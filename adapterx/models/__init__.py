"""Models: PEFT wrappers, adapters, classifiers and weight converters."""
from . import adapters, peft  # noqa: F401 (registers components)
from .adapterx import AdapterX
from .backbones import PointTransformer
from .classifiers import (PeftImageClassifier, PointClassifier,
                          PointDataPreprocessor)
from .ewa import MoEViT
from .heads import PointClsHead

__all__ = [
    'AdapterX', 'MoEViT', 'PeftImageClassifier', 'PointClassifier',
    'PointDataPreprocessor', 'PointClsHead', 'PointTransformer'
]
from .dense import PeftViTDense, SimpleFeaturePyramid  # noqa: E402

__all__ += ['PeftViTDense', 'SimpleFeaturePyramid']
