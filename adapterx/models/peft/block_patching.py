"""Per-block forward patching of mmpretrain and timm ViT blocks (and of
every backbone built from timm ``Block``s, such as ``PointTransformer``),
shared by the PEFT methods that add branches or prompt tokens inside the
blocks (Adapter-X, AdaptFormer, Convpass, VPT, IDPT, DAPT).

A patched block computes exactly what its library computes, plus the
method's additions (a :class:`BlockAdditions` attached to the block)::

    x = additions.enter(x)                    # prompt tokens go in
    x = x + Attn(LN1(x)) [+ additions.attention_branch(LN1(x))]
    x = x + MLP(LN2(x))  [+ additions.mlp_branch(LN2(x))]
    x = additions.exit(x)                     # prompt tokens come out

The backbone's own code never sees a prompt token: the block inserts the
current prompts right after the prefix tokens (class token) on entry and
takes them out again on exit, so the backbone's output formatting (class
token, feature maps, ``out_indices``) and the head work on the usual
sequence. The prompts travel from block to block in a :class:`PromptStore`
that the wrapper resets at every forward.
"""
import functools
from typing import List, Optional, Union

import torch
import torch.nn as nn
from torch import Tensor

from ..vit_anatomy import (MMPRETRAIN_VIT_BLOCK, TIMM_BLOCK, block_anatomy,
                           block_embed_dims, num_prefix_tokens, vit_blocks)
# The methods import these ViT helpers from here too.
from ..vit_anatomy import block_drop_path_rate, find_vit_blocks  # noqa: F401
from .injected import InjectedModule
from .wrapper import PeftWrapper


class PromptStore:
    """The prompt tokens (B, P, C) in flight in one forward pass, shared by
    the blocks of one backbone. Reset at the start of every forward."""

    def __init__(self):
        self.prompts = None

    def reset(self) -> None:
        self.prompts = None


class BlockAdditions(InjectedModule):
    """What a PEFT method adds to one transformer block.

    Subclasses override the hooks they need; the defaults add nothing and
    carry the prompts of earlier blocks through unchanged.

    Args:
        num_prefix_tokens (int): Class (and other prefix) tokens before the
            patch or group tokens; prompts go right after them.
        prompt_store (PromptStore): Shared by the blocks of one backbone.
    """

    def __init__(self, num_prefix_tokens: int, prompt_store: PromptStore):
        super().__init__()
        self.num_prefix_tokens = num_prefix_tokens
        self.prompt_store = prompt_store
        self._num_prompts = 0

    def entry_prompts(self, x: Tensor,
                      carried: Optional[Tensor]) -> Optional[Tensor]:
        """The prompts this block attends to, (B, P, C) or None, given its
        input sequence (without prompts) and the prompts carried from the
        previous block."""
        return carried

    def exit_prompts(self, prompts: Optional[Tensor]) -> Optional[Tensor]:
        """The prompts handed to the next block, given this block's output
        at the prompt positions."""
        return prompts

    def attention_branch(self, normed: Tensor) -> Optional[Tensor]:
        """A term added to the attention residual, from LN1's output."""
        return None

    def mlp_branch(self, normed: Tensor) -> Optional[Tensor]:
        """A term added to the MLP residual, from LN2's output."""
        return None

    def enter(self, x: Tensor) -> Tensor:
        prompts = self.entry_prompts(x, self.prompt_store.prompts)
        self._num_prompts = 0 if prompts is None else prompts.shape[1]
        if prompts is None:
            return x
        prefix = self.num_prefix_tokens
        return torch.cat([x[:, :prefix], prompts, x[:, prefix:]], dim=1)

    def exit(self, x: Tensor) -> Tensor:
        prompts = None
        if self._num_prompts:
            prefix, end = self.num_prefix_tokens, \
                self.num_prefix_tokens + self._num_prompts
            prompts = x[:, prefix:end]
            x = torch.cat([x[:, :prefix], x[:, end:]], dim=1)
        self.prompt_store.prompts = self.exit_prompts(prompts)
        return x


def _plus(x: Tensor, extra: Optional[Tensor]) -> Tensor:
    return x if extra is None else x + extra


def mmpretrain_block_forward(block, additions: BlockAdditions,
                             x: Tensor) -> Tensor:
    """mmpretrain ``TransformerEncoderLayer`` with ``additions``."""
    x = additions.enter(x)
    normed = block.ln1(x)
    x = _plus(x + block.attn(normed), additions.attention_branch(normed))
    normed = block.ln2(x)
    # mmpretrain's FFN adds its input's residual (and drop path) itself.
    x = _plus(block.ffn(normed, identity=x), additions.mlp_branch(normed))
    return additions.exit(x)


def timm_block_forward(block, additions: BlockAdditions, x: Tensor,
                       attn_mask=None, is_causal: bool = False) -> Tensor:
    """timm ``vision_transformer.Block`` with ``additions``."""
    x = additions.enter(x)
    normed = block.norm1(x)
    attended = block.attn(normed, attn_mask=attn_mask, is_causal=is_causal)
    x = _plus(x + block.drop_path1(block.ls1(attended)),
              additions.attention_branch(normed))
    normed = block.norm2(x)
    x = _plus(x + block.drop_path2(block.ls2(block.mlp(normed))),
              additions.mlp_branch(normed))
    return additions.exit(x)


# The forwards above mirror their library's block forward, keyed by the
# block's anatomy.
BLOCK_FORWARDS = {
    MMPRETRAIN_VIT_BLOCK: mmpretrain_block_forward,
    TIMM_BLOCK: timm_block_forward,
}

class BlockPatchedBackbone(PeftWrapper):
    """Base of the PEFT wrappers that attach a :class:`BlockAdditions` to
    every transformer block of a backbone and patch its forward.

    The backbone's source is not edited: its blocks get a submodule named
    :attr:`additions_name` and a replacement ``forward``; :meth:`unwrap`
    takes both away again. The backbone's own parameter names are
    unchanged, so its pretrained checkpoints load as they are.

    Subclasses call :meth:`patch_blocks` with one additions module (or
    None) per block.

    Args:
        module (dict | nn.Module): The backbone (config or module):
            mmpretrain ``VisionTransformer``, a timm ``VisionTransformer``,
            mmpretrain's ``TIMMBackbone`` around one, or a backbone of timm
            ``Block``s such as ``PointTransformer``. A config is built and
            its ``init_weights`` (pretrained weights) run before the
            additions are made.
    """

    additions_name = 'peft'

    def __init__(self, module: Union[dict, nn.Module], init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        self._blocks = vit_blocks(self.module, type(self).__name__)
        self._prompt_store = PromptStore()

    @property
    def embed_dims(self) -> int:
        return block_embed_dims(self._blocks[0])

    @property
    def num_prefix_tokens(self) -> int:
        return num_prefix_tokens(self.module)

    def patch_blocks(self, additions: List[Optional[BlockAdditions]]):
        """Attach ``additions[i]`` to block i (None: leave it as it is)."""
        patched = []
        for block, block_additions in zip(self._blocks, additions):
            if block_additions is None:
                continue
            setattr(block, self.additions_name, block_additions)
            block.forward = functools.partial(
                BLOCK_FORWARDS[block_anatomy(block)], block, block_additions)
            patched.append(block)
        self._blocks = patched

    def init_weights(self) -> None:
        # The backbone's own init_weights re-initialises layers of the kinds
        # it contains wherever they are, the injected ones included
        # (PointTransformer: every Linear and LayerNorm; mmpretrain's ViT:
        # every Conv2d); the methods' initialisation (zero up-projections)
        # is put back afterwards.
        own = {k: v.clone() for k, v in self.adapter_state_dict().items()}
        super().init_weights()
        self.load_state_dict(own, strict=False)

    def forward(self, *args, **kwargs):
        self._prompt_store.reset()
        return self.module(*args, **kwargs)

    @property
    def last_prompts(self) -> Optional[Tensor]:
        """The prompt tokens that left the last block in the last forward,
        (B, P, C), for heads that pool them (IDPT / DAPT 3D heads)."""
        return self._prompt_store.prompts

    def adapter_state_dict(self) -> dict:
        """The method's tensors alone, under this module's state-dict keys
        (not the backbone's own tensors)."""
        marker = f'.{self.additions_name}.'
        return {
            key: value
            for key, value in self.state_dict().items()
            if not key.startswith('module.') or marker in key
        }

    def unwrap(self):
        """Remove the method from the backbone.

        Returns:
            tuple[nn.Module, dict]: The plain backbone (the same module
            object, its blocks restored) and :meth:`adapter_state_dict`.
        """
        adapter_state = self.adapter_state_dict()
        for block in self._blocks:
            del block.forward
            delattr(block, self.additions_name)
        self._blocks = []
        return self.module, adapter_state
