from typing import Optional, Union

import torch.nn as nn
from torch import Tensor

from adapterx.registry import MODELS
from ...peft.block_patching import (BlockAdditions, BlockPatchedBackbone,
                                    PromptStore)
from .edgeconv_prompt import EdgeConvPromptGenerator


class _Positions:
    """The position embeddings of the last forward's group tokens, caught
    from the backbone's position module (shared like a PromptStore)."""

    def __init__(self):
        self.value = None


class IDPTPrompt(BlockAdditions):
    """The dynamic prompt of the block it is attached to (as
    ``block.idpt``): generated from the block's input tokens after the
    prefix, inserted after the class token for this block (and carried
    through any later ones).

    Backbones that add position embeddings before every block
    (``PointTransformer``) hand the block ``tokens + positions``; IDPT
    generates from the tokens alone, so the caught positions are taken off
    first.
    """

    def __init__(self, generator: nn.Module, positions: _Positions,
                 num_prefix_tokens: int, prompt_store: PromptStore):
        super().__init__(num_prefix_tokens, prompt_store)
        self.generator = generator
        self._positions = positions

    def entry_prompts(self, x: Tensor,
                      carried: Optional[Tensor]) -> Tensor:
        tokens = x[:, self.num_prefix_tokens:]
        if self._positions.value is not None:
            tokens = tokens - self._positions.value
        return self.generator(tokens)


@MODELS.register_module()
class IDPT(BlockPatchedBackbone):
    """Instance-aware Dynamic Prompt Tuning (arXiv 2304.07221) for point
    transformers (any backbone of timm or mmpretrain blocks works).

    Before block ``prompt_block`` (IDPT: the last), an EdgeConv module
    turns that block's input tokens into one prompt token per sample,
    inserted after the class token. The prompt leaves the sequence after
    the last block and reaches IDPT's head through :attr:`last_prompts`
    (``PointClsHead`` pooling ``('cls', 'prompt_mean', 'max')``: class
    token, prompt, max over groups).

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
        positions = _Positions()
        self._positions = positions
        position_module = getattr(self.module, 'pos_embed', None)
        self._position_hook = None
        if isinstance(position_module, nn.Module) and getattr(
                self.module, 'add_positions_every_block', False):
            self._position_hook = position_module.register_forward_hook(
                lambda module, inputs, output: setattr(
                    positions, 'value', output))
        prefix = self.num_prefix_tokens
        additions = [None] * prompt_block + [
            IDPTPrompt(
                EdgeConvPromptGenerator(self.embed_dims, **(generator or {})),
                positions, prefix, self._prompt_store)
        ] + [
            BlockAdditions(prefix, self._prompt_store)
            for _ in range(prompt_block + 1, num_blocks)
        ]
        self.patch_blocks(additions)

    def unwrap(self):
        if self._position_hook is not None:
            self._position_hook.remove()
        return super().unwrap()
