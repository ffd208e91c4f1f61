from .adapterx_model import AdapterX, find_vit_blocks, num_prefix_tokens

__all__ = ['AdapterX', 'find_vit_blocks', 'num_prefix_tokens']
