"""Dense prediction (segmentation, detection): a PEFT-wrapped ViT as an
mmsegmentation / mmdetection backbone and a simple feature pyramid neck."""
from .peft_vit_dense import PeftViTDense
from .simple_feature_pyramid import SimpleFeaturePyramid

__all__ = ['PeftViTDense', 'SimpleFeaturePyramid']
