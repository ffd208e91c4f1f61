"""PEFT baselines, one folder per method (as HF peft's tuners/).

The re-parameterisable ones (LoRA, SSF, FacT) share :mod:`.reparam` and can
merge into the backbone's weights; the ones that work inside the
transformer blocks (VPT, AdaptFormer, Convpass, IDPT, DAPT) share
``adapterx.models.peft.block_patching``. BitFit, full fine-tuning and
linear probing add no module: they only choose backbone parameters
(``adapterx.models.peft.backbone_methods``).
"""
from .adaptformer import AdaptFormer
from .convpass import Convpass
from .dapt import DAPT
from .fact import FacT
from .idpt import IDPT
from .lora import LoRA
from .reparam import ReparamWrapper
from .ssf import SSF
from .vpt import VPT

__all__ = [
    'AdaptFormer', 'Convpass', 'DAPT', 'FacT', 'IDPT', 'LoRA',
    'ReparamWrapper', 'SSF', 'VPT'
]
