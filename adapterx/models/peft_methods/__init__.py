"""PEFT baselines, one folder per method (as HF peft's tuners/).

The re-parameterisable ones (LoRA, SSF, FacT) share :mod:`.reparam` and can
merge into the backbone's weights; the ones that work inside the
transformer blocks (VPT, AdaptFormer, Convpass, IDPT, DAPT) share
``adapterx.models.peft.block_patching``. BitFit, full fine-tuning and
linear probing need no wrapper: they are freezing patterns
(configs/_base_/peft/).
"""
from .adaptformer import AdaptFormer
from .convpass import Convpass
from .dapt import DAPT
from .fact import FacT
from .idpt import IDPT
from .lora import LoRA
from .merge import merge_backbone
from .reparam import ReparamWrapper
from .ssf import SSF
from .vpt import VPT

__all__ = [
    'AdaptFormer', 'Convpass', 'DAPT', 'FacT', 'IDPT', 'LoRA',
    'ReparamWrapper', 'SSF', 'VPT', 'merge_backbone'
]
