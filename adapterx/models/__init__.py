"""Models: PEFT wrappers, adapters, classifiers and weight converters."""
from . import adapters, peft  # noqa: F401 (registers components)
from .adapterx import AdapterX
from .classifiers import PeftImageClassifier

__all__ = ['AdapterX', 'PeftImageClassifier']
