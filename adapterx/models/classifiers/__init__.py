from .peft_image_classifier import PeftImageClassifier
from .point_classifier import PointClassifier, PointDataPreprocessor

__all__ = ['PeftImageClassifier', 'PointClassifier', 'PointDataPreprocessor']
