"""The PEFT baselines that work inside the transformer blocks, one folder
per method (the block patching they share is
``adapterx.models.peft.block_patching``)."""
from .adaptformer import AdaptFormer
from .convpass import Convpass
from .dapt import DAPT
from .idpt import IDPT
from .vpt import VPT

__all__ = ['AdaptFormer', 'Convpass', 'DAPT', 'IDPT', 'VPT']
