"""The PEFT methods, one folder each, with the same files in every folder:
``model.py`` holds the registered wrapper and ``layers.py`` (where the
method has any) the modules it adds to the backbone.

The re-parameterisable ones (LoRA, SSF, FacT) share
``adapterx.models.peft.reparam`` and can merge into the backbone's weights;
the ones that work inside the transformer blocks (Adapter-X, VPT,
AdaptFormer, Convpass, IDPT, DAPT) share
``adapterx.models.peft.block_patching``. BitFit, full fine-tuning and
linear probing add no module: they only choose backbone parameters
(``adapterx.models.peft.backbone_methods``).
"""
from .adapterx import AdapterX
from .adaptformer import AdaptFormer
from .convpass import Convpass
from .dapt import DAPT
from .fact import FacT
from .idpt import IDPT
from .lora import LoRA
from .ssf import SSF
from .vpt import VPT

__all__ = [
    'AdapterX', 'AdaptFormer', 'Convpass', 'DAPT', 'FacT', 'IDPT', 'LoRA',
    'SSF', 'VPT'
]
