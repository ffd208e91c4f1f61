"""Per-block forward patching of mmpretrain and timm ViT blocks (and of
every backbone built from timm ``Block``s, such as ``PointTransformer``),
shared by the PEFT methods that add branches or prompt tokens inside the
blocks (Adapter-X, AdaptFormer, Convpass, VPT, IDPT, DAPT).

A patched block computes exactly what its library computes, plus the
method's additions (a :class:`BlockAdditions` attached to the block)::

    x = additions.enter(x)                      # prompt tokens go in
    n = LN1(x)
    f = Attn(n)
    x = x + f
    a = additions.attention_branch(n, f)
    x = additions.add_branch(x, a)              # x + a (a None: x)
    n = LN2(x)
    f = MLP(n)
    x = x + f
    m = additions.mlp_branch(n, f)
    x = additions.add_branch(x, m)
    x = additions.exit(x, BranchOutputs(a, m))  # prompt tokens come out

(``f``: the sublayer's output as the residual stream receives it, after
the block's layer scale and stochastic depth.) A branch reading ``n`` is
parallel to its sublayer (AdaptFormer's position); one reading ``f`` is
sequential, after it (Houlsby's adapter position: ``x + f + a(f)``).

The backbone's own code never sees a prompt token: the block inserts the
current prompts right after the prefix tokens (class token) on entry and
takes them out again on exit, so the backbone's output formatting (class
token, feature maps, ``out_indices``) and the head work on the usual
sequence. The prompts travel from block to block in the wrapper's
:class:`~adapterx.models.peft.forward_context.ForwardContext`, which the
wrapper resets at every forward; after it, the context holds the prompts
that left the last block.
"""
import functools
from typing import List, NamedTuple, Optional, Union

import torch
import torch.nn as nn
from timm.layers import DropPath
from torch import Tensor

from ..vit_anatomy import (MMPRETRAIN_VIT_BLOCK, TIMM_BLOCK, block_anatomy,
                           block_embed_dims, num_prefix_tokens, vit_blocks)
from .forward_context import ForwardContext
from .injected import InjectedModule, added_state_dict
from .wrapper import PeftWrapper


class BranchOutputs(NamedTuple):
    """What the additions' branches of one block returned (None where a
    branch added nothing), handed to :meth:`BlockAdditions.exit`."""
    attention: Optional[Tensor]
    mlp: Optional[Tensor]


class BlockAdditions(InjectedModule):
    """What a PEFT method adds to one transformer block.

    Subclasses override the hooks they need; the defaults add nothing and
    carry the prompts of earlier blocks through unchanged.

    Args:
        num_prefix_tokens (int): Class (and other prefix) tokens before the
            patch or group tokens; prompts go right after them.
        context (ForwardContext): The wrapper's, shared by the blocks of
            one backbone.
        branch_drop_path_rate (float): Stochastic depth of the branches
            (DAPT puts its adapter inside the block's rate); it draws its
            own mask, not the one of the attention or MLP it is parallel
            to. 0: the branches are added as they are.
    """

    def __init__(self,
                 num_prefix_tokens: int,
                 context: ForwardContext,
                 branch_drop_path_rate: float = 0.0):
        super().__init__()
        self.num_prefix_tokens = num_prefix_tokens
        self.context = context
        self.branch_drop_path = DropPath(branch_drop_path_rate) \
            if branch_drop_path_rate > 0 else None

    def entry_prompts(self, x: Tensor,
                      carried: Optional[Tensor]) -> Optional[Tensor]:
        """The prompts this block attends to, (B, P, C) or None, given its
        input sequence (without prompts) and the prompts carried from the
        previous block."""
        return carried

    def exit_prompts(self, prompts: Optional[Tensor],
                     branches: BranchOutputs) -> Optional[Tensor]:
        """The prompts handed to the next block, given this block's output
        at the prompt positions and what its branches returned."""
        return prompts

    def attention_branch(self, normed: Tensor,
                         attention_output: Tensor) -> Optional[Tensor]:
        """A branch beside attention, added to the residual stream: from
        LN1's output (parallel) or from the attention sublayer's output
        (sequential)."""
        return None

    def mlp_branch(self, normed: Tensor,
                   mlp_output: Tensor) -> Optional[Tensor]:
        """A branch beside the MLP, added to the residual stream: from
        LN2's output (parallel) or from the MLP sublayer's output
        (sequential)."""
        return None

    def add_branch(self, x: Tensor, branch: Optional[Tensor]) -> Tensor:
        """The residual stream ``x`` with a branch's output added (None:
        nothing to add), through the branches' stochastic depth if any.
        The prompt generators read the branch's output as it is."""
        if branch is None:
            return x
        if self.branch_drop_path is not None:
            branch = self.branch_drop_path(branch)
        return x + branch

    def enter(self, x: Tensor) -> Tensor:
        prompts = self.entry_prompts(x, self.context.prompts)
        self.context.prompts = prompts
        if prompts is None:
            return x
        prefix = self.num_prefix_tokens
        return torch.cat([x[:, :prefix], prompts, x[:, prefix:]], dim=1)

    def exit(self, x: Tensor, branches: BranchOutputs) -> Tensor:
        prompts = None
        if self.context.prompts is not None:
            prefix = self.num_prefix_tokens
            end = prefix + self.context.prompts.shape[1]
            prompts = x[:, prefix:end]
            x = torch.cat([x[:, :prefix], x[:, end:]], dim=1)
        self.context.prompts = self.exit_prompts(prompts, branches)
        return x


def mmpretrain_block_forward(block, additions: BlockAdditions,
                             x: Tensor) -> Tensor:
    """mmpretrain ``TransformerEncoderLayer`` with ``additions``."""
    x = additions.enter(x)
    normed = block.ln1(x)
    attention_output = block.attn(normed)
    x = x + attention_output
    attention = additions.attention_branch(normed, attention_output)
    x = additions.add_branch(x, attention)
    normed = block.ln2(x)
    # mmcv's FFN adds the residual it is given after its layer scale and
    # drop path; given 0 it returns the sublayer's output alone, which a
    # sequential branch reads (x + (0 + f) is x + f, bit for bit).
    mlp_output = block.ffn(normed, identity=0)
    x = x + mlp_output
    mlp = additions.mlp_branch(normed, mlp_output)
    x = additions.add_branch(x, mlp)
    return additions.exit(x, BranchOutputs(attention, mlp))


def timm_block_forward(block, additions: BlockAdditions, x: Tensor,
                       attn_mask=None, is_causal: bool = False) -> Tensor:
    """timm ``vision_transformer.Block`` with ``additions``."""
    x = additions.enter(x)
    normed = block.norm1(x)
    attended = block.attn(normed, attn_mask=attn_mask, is_causal=is_causal)
    attention_output = block.drop_path1(block.ls1(attended))
    x = x + attention_output
    attention = additions.attention_branch(normed, attention_output)
    x = additions.add_branch(x, attention)
    normed = block.norm2(x)
    mlp_output = block.drop_path2(block.ls2(block.mlp(normed)))
    x = x + mlp_output
    mlp = additions.mlp_branch(normed, mlp_output)
    x = additions.add_branch(x, mlp)
    return additions.exit(x, BranchOutputs(attention, mlp))


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
        self.forward_context = ForwardContext()
        # Forward hooks the method puts on backbone modules (DAPT's
        # scale-and-shifts); unwrap removes them.
        self.backbone_hooks = []

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
        own = {k: v.clone() for k, v in added_state_dict(self).items()}
        super().init_weights()
        self.load_state_dict(own, strict=False)

    def forward(self, *args, **kwargs):
        self.forward_context.reset()
        return self.module(*args, **kwargs)

    def unwrap(self):
        """Remove the method from the backbone.

        Returns:
            tuple[nn.Module, dict]: The plain backbone (the same module
            object, its blocks restored) and the tensors of the method's
            modules (:func:`~adapterx.models.peft.injected.added_state_dict`).
        """
        adapter_state = added_state_dict(self)
        for hook in self.backbone_hooks:
            hook.remove()
        self.backbone_hooks = []
        for block in self._blocks:
            del block.forward
            delattr(block, self.additions_name)
        self._blocks = []
        return self.module, adapter_state
