from typing import Optional, Union

import torch.nn as nn
from torch import Tensor

from adapterx.registry import MODELS
from ...peft.block_patching import BlockAdditions, BlockPatchedBackbone
from .layers import EdgeConvPromptGenerator, IDPTPrompt


@MODELS.register_module()
class IDPT(BlockPatchedBackbone):
    """Instance-aware Dynamic Prompt Tuning (arXiv 2304.07221) for point
    transformers (any backbone of timm or mmpretrain blocks works).

    Before block ``prompt_block`` (IDPT: the last), an EdgeConv module
    turns that block's input tokens into one prompt token per sample,
    inserted after the class token. The prompt leaves the sequence after
    the last block and reaches IDPT's head through
    ``forward_context.prompts`` (``PointClsHead`` pooling
    ``('cls', 'prompt_mean', 'max')``: class token, prompt, max over
    groups).

    On a backbone that adds its position embeddings before every block
    (``add_positions_every_block``), a forward hook on its position module
    (``pos_embed``) records them in the forward's context: the backbone
    adds them before calling the block, so the block cannot tell them
    apart otherwise.

    IDPT's code also adds a fixed random position (std 0.02, never
    trained) to the prompt; ours adds none, since a frozen random tensor
    could not be restored from a trainable-only checkpoint.

    Args:
        module (dict | nn.Module): The backbone.
        prompt_block (int): Index of the block the prompt is generated
            for (negative counts from the end). Defaults to -1.
        generator (dict): Options of :class:`EdgeConvPromptGenerator`
            (``k``, ``num_layers``).
    """

    additions_name = 'idpt'
    # As the method's code: every parameter named 'cls' trains.
    retrained_backbone_parameters = (r'\.cls_(token|pos)$', )

    def __init__(self,
                 module: Union[dict, nn.Module],
                 prompt_block: int = -1,
                 generator: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        num_blocks = len(self._blocks)
        if not -num_blocks <= prompt_block < num_blocks:
            raise ValueError(f'IDPT: prompt_block {prompt_block} is not a '
                             f'block index of the {num_blocks} blocks')
        prompt_block %= num_blocks
        position_module = getattr(self.module, 'pos_embed', None)
        self._position_hook = None
        if isinstance(position_module, nn.Module) and getattr(
                self.module, 'add_positions_every_block', False):
            self._position_hook = position_module.register_forward_hook(
                self._record_positions)
        prefix = self.num_prefix_tokens
        additions = [None] * prompt_block + [
            IDPTPrompt(
                EdgeConvPromptGenerator(self.embed_dims, **(generator or {})),
                prefix, self.forward_context)
        ] + [
            BlockAdditions(prefix, self.forward_context)
            for _ in range(prompt_block + 1, num_blocks)
        ]
        self.patch_blocks(additions)

    def _record_positions(self, position_module: nn.Module, inputs,
                          positions: Tensor) -> None:
        self.forward_context.positions = positions

    def unwrap(self):
        if self._position_hook is not None:
            self._position_hook.remove()
        return super().unwrap()
