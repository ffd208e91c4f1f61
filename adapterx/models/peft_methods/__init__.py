"""PEFT baselines, one folder per method (as HF peft's tuners/): the
re-parameterisable ones (LoRA, SSF, FacT) share :mod:`.reparam`. BitFit,
full fine-tuning and linear probing need no wrapper: they are freezing
patterns (configs/_base_/peft/)."""
from .fact import FacT
from .lora import LoRA
from .merge import merge_backbone
from .reparam import ReparamWrapper
from .ssf import SSF

__all__ = ['FacT', 'LoRA', 'ReparamWrapper', 'SSF', 'merge_backbone']
