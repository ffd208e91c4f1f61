"""Models: PEFT wrappers, adapters, classifiers and weight converters."""
from . import classifiers  # noqa: F401 (registers components)
from .classifiers import PeftImageClassifier

__all__ = ['PeftImageClassifier']
