"""Models: PEFT wrappers, adapters, classifiers and weight converters."""
from . import adapters, peft  # noqa: F401 (registers components)
from .adapterx import AdapterX
from .backbones import PointTransformer
from .classifiers import (PeftImageClassifier, PointClassifier,
                          PointDataPreprocessor)
from .ewa import MoEViT
from .heads import PointClsHead
from .peft_methods import (DAPT, IDPT, SSF, VPT, AdaptFormer, Convpass,
                           FacT, LoRA)

__all__ = [
    'AdapterX', 'MoEViT', 'PeftImageClassifier', 'PointClassifier',
    'PointDataPreprocessor', 'PointClsHead', 'PointTransformer', 'LoRA', 'SSF',
    'FacT'
]
__all__ += ['AdaptFormer', 'Convpass', 'DAPT', 'IDPT', 'VPT']
from . import merging  # noqa: F401,E402 (registers TaskGate)
