"""Models: PEFT wrappers, adapters, classifiers and weight converters."""
# Imported for what they register.
from . import adapters, converters, merging, peft  # noqa: F401
from .adapterx import AdapterX
from .backbones import PointTransformer
from .classifiers import (PeftImageClassifier, PointClassifier,
                          PointDataPreprocessor)
from .dense import PeftViTDense, SimpleFeaturePyramid
from .ewa import MoEViT
from .heads import PointClsHead
from .peft_methods import (DAPT, IDPT, SSF, VPT, AdaptFormer, Convpass,
                           FacT, LoRA)

__all__ = [
    'AdaptFormer', 'AdapterX', 'Convpass', 'DAPT', 'FacT', 'IDPT', 'LoRA',
    'MoEViT', 'PeftImageClassifier', 'PeftViTDense', 'PointClassifier',
    'PointClsHead', 'PointDataPreprocessor', 'PointTransformer',
    'SimpleFeaturePyramid', 'SSF', 'VPT'
]
