from .peft_image_classifier import PeftImageClassifier

__all__ = ['PeftImageClassifier']
