"""Models: the PEFT core, reusable modules, the PEFT methods, classifiers
and weight converters."""
# Imported for what they register.
from . import converters, merging, modules, peft  # noqa: F401
from .backbones import CLIPVisionTransformer, PointTransformer
from .classifiers import (PeftImageClassifier, PointClassifier,
                          PointDataPreprocessor)
from .dense import PeftViTDense, SimpleFeaturePyramid
from .ewa import MoEViT
from .heads import PointClsHead, ZeroShotClsHead
from .methods import (DAPT, IDPT, SSF, VPT, AdaptFormer, AdapterX, Convpass,
                      FacT, LoRA)

__all__ = [
    'AdaptFormer', 'AdapterX', 'CLIPVisionTransformer', 'Convpass', 'DAPT',
    'FacT', 'IDPT', 'LoRA', 'MoEViT', 'PeftImageClassifier', 'PeftViTDense',
    'PointClassifier', 'PointClsHead', 'PointDataPreprocessor', 'PointTransformer',
    'SimpleFeaturePyramid', 'SSF', 'VPT', 'ZeroShotClsHead'
]
