from .layers import LoRABranch
from .model import LoRA

__all__ = ['LoRA', 'LoRABranch']
