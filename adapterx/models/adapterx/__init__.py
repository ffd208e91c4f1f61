from ..peft.block_patching import find_vit_blocks, num_prefix_tokens
from .adapterx_model import AdapterX

__all__ = ['AdapterX', 'find_vit_blocks', 'num_prefix_tokens']
