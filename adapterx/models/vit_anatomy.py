"""Where the parts of a vision transformer are: the one place that knows
the block types of mmpretrain, timm and the point transformer, and the
names of their norms, attention, MLP, residual branches, stochastic depth,
layer scale and prefix tokens.

Block patching, the PEFT methods, partial fine-tuning, merging and EWA ask
this module instead of spelling module names themselves, so supporting a
new ViT means adding its anatomy here.

A transformer block computes::

    x = x + LS1(Attn(Norm1(x)))      # attention residual branch
    x = x + LS2(MLP(Norm2(x)))       # MLP residual branch

(each branch inside the block's stochastic depth). Supported:

- mmpretrain ``VisionTransformer``: ``TransformerEncoderLayer`` blocks in
  ``layers``; the branch's layer scale lives inside ``attn`` and ``ffn``,
  and the mmcv ``FFN`` adds its own residual and drop path.
- timm ``VisionTransformer`` and ``PointTransformer`` (built from timm's
  ``Block``): blocks in ``blocks``, with separate ``ls1`` / ``ls2`` and
  ``drop_path1`` / ``drop_path2``.
- mmpretrain ``SwinTransformer`` blocks (``SwinBlock``) are known by their
  parameter names only, for partial fine-tuning's residual units; they are
  no ViT block (no class token, windowed attention), so the methods that
  patch or read ViT blocks refuse them.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmcv.cnn.bricks.transformer import FFN
from mmpretrain.models.backbones.swin_transformer import SwinBlock
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from timm.models.vision_transformer import Block as TimmBlock


@dataclass(frozen=True)
class BlockAnatomy:
    """Submodule paths, relative to the block, of one library's
    transformer block.

    Attributes:
        name (str): The block and the backbones built from it, for
            messages.
        block_class (type): The block's class (matched exactly: a subclass
            may compute something else).
        norm1, attn (str): The attention branch's norm and attention.
        norm2 (str): The MLP branch's norm.
        mlp (str): The block's child holding the MLP (mmpretrain's mmcv
            ``FFN`` also adds layer scale, drop path and the residual).
        token_mlp (str): The token-wise MLP alone, without residual, drop
            path or layer scale.
        mlp_class (type, optional): The class the ``mlp`` child must have
            for ``token_mlp``, ``fc1`` and ``fc2`` to be where they are
            said to be; None: any.
        qkv, proj (str): The attention's linear layers.
        fc1, fc2 (str): The MLP's linear layers.
        drop_path (str): A module whose ``drop_prob`` is the stochastic
            depth rate of the block's residual branches.
        layer_scales (tuple[str]): Children scaling the attention and MLP
            branch outputs, when the block has them as separate children
            (parameter-free identities unless layer scale is on).
    """
    name: str
    block_class: type
    norm1: str
    attn: str
    norm2: str
    mlp: str
    token_mlp: str
    qkv: str
    proj: str
    fc1: str
    fc2: str
    drop_path: str
    layer_scales: Tuple[str, ...] = ()
    mlp_class: Optional[type] = None

    @property
    def attention_branch(self) -> Tuple[str, ...]:
        """The children making ``f`` of the attention residual ``x +
        f(x)``: norm, attention and (if separate) layer scale."""
        return (self.norm1, self.attn) + self.layer_scales[:1]

    @property
    def mlp_branch(self) -> Tuple[str, ...]:
        """The children making ``f`` of the MLP residual ``x + f(x)``."""
        return (self.norm2, self.mlp) + self.layer_scales[1:]

    def sublayers(self) -> Dict[str, str]:
        """The block's norms and linear layers in forward order, under
        library-independent names (``norm1``, ``qkv``, ``proj``,
        ``norm2``, ``fc1``, ``fc2``)."""
        return dict(norm1=self.norm1, qkv=self.qkv, proj=self.proj,
                    norm2=self.norm2, fc1=self.fc1, fc2=self.fc2)


MMPRETRAIN_VIT_BLOCK = BlockAnatomy(
    'mmpretrain VisionTransformer (TransformerEncoderLayer)',
    TransformerEncoderLayer,
    norm1='ln1', attn='attn', norm2='ln2', mlp='ffn',
    token_mlp='ffn.layers', mlp_class=FFN,
    qkv='attn.qkv', proj='attn.proj',
    fc1='ffn.layers.0.0', fc2='ffn.layers.1',
    drop_path='ffn.dropout_layer')

SWIN_BLOCK = BlockAnatomy(
    'mmpretrain SwinTransformer (SwinBlock)',
    SwinBlock,
    norm1='norm1', attn='attn', norm2='norm2', mlp='ffn',
    token_mlp='ffn.layers', mlp_class=FFN,
    qkv='attn.w_msa.qkv', proj='attn.w_msa.proj',
    fc1='ffn.layers.0.0', fc2='ffn.layers.1',
    drop_path='ffn.dropout_layer')

TIMM_BLOCK = BlockAnatomy(
    'timm VisionTransformer / PointTransformer (Block)',
    TimmBlock,
    norm1='norm1', attn='attn', norm2='norm2', mlp='mlp',
    token_mlp='mlp',
    qkv='attn.qkv', proj='attn.proj',
    fc1='mlp.fc1', fc2='mlp.fc2',
    drop_path='drop_path1',
    layer_scales=('ls1', 'ls2'))

# Blocks whose residual units partial fine-tuning finds by parameter name,
# tried in this order (their children differ, so a block matches one).
RESIDUAL_BLOCKS = (MMPRETRAIN_VIT_BLOCK, SWIN_BLOCK, TIMM_BLOCK)
# The ViT blocks: a class token before the patch (or group) tokens, global
# attention; what the block-patching methods, FacT and EWA adapt.
VIT_BLOCKS = (MMPRETRAIN_VIT_BLOCK, TIMM_BLOCK)


@dataclass(frozen=True)
class ViTAnatomy:
    """Names of one library's ViT backbone outside (and around) its
    blocks.

    Attributes:
        library (str): ``'mmpretrain'`` or ``'timm'``.
        block (BlockAnatomy): Its blocks.
        block_list (str): The module list holding the blocks.
        prefix_count (str): The integer attribute giving the number of
            prefix tokens (class, distillation, register) before the patch
            tokens.
        prefix_tokens (tuple[str]): The prefix tokens' parameters.
        position_embedding, patch_embedding (str): Their names.
        outer_norms (tuple[str]): LayerNorms of the backbone outside the
            blocks (before the first, after the last, before pooling).
    """
    library: str
    block: BlockAnatomy
    block_list: str
    prefix_count: str
    prefix_tokens: Tuple[str, ...]
    position_embedding: str
    patch_embedding: str
    outer_norms: Tuple[str, ...]

    @property
    def norms(self) -> Tuple[str, ...]:
        """Names of every LayerNorm, in the blocks and outside them."""
        names = (self.block.norm1, self.block.norm2) + self.outer_norms
        return tuple(dict.fromkeys(names))

    @property
    def embeddings(self) -> Tuple[str, ...]:
        """Prefix tokens, position embedding and patch embedding."""
        return self.prefix_tokens + (self.position_embedding,
                                     self.patch_embedding)


MMPRETRAIN_VIT = ViTAnatomy(
    'mmpretrain', MMPRETRAIN_VIT_BLOCK, block_list='layers',
    prefix_count='num_extra_tokens', prefix_tokens=('cls_token', ),
    position_embedding='pos_embed', patch_embedding='patch_embed',
    # The final norm is ln1 and the pooled-feature norm ln2, as in the
    # blocks.
    outer_norms=('ln1', 'ln2', 'pre_norm'))

TIMM_VIT = ViTAnatomy(
    'timm', TIMM_BLOCK, block_list='blocks',
    prefix_count='num_prefix_tokens',
    prefix_tokens=('cls_token', 'reg_token'),
    position_embedding='pos_embed', patch_embedding='patch_embed',
    outer_norms=('norm', 'norm_pre', 'fc_norm'))

VITS = (MMPRETRAIN_VIT, TIMM_VIT)


def _vit_block_names() -> str:
    return ' or '.join(f'{vit.library} {vit.block.block_class.__name__}'
                       for vit in VITS)


def block_anatomy(block: nn.Module) -> BlockAnatomy:
    """The anatomy of a ViT block.

    Raises:
        ValueError: ``block`` is not a ViT block of a known library (a Swin
            block, a plain layer), naming its class and the blocks known.
    """
    for anatomy in VIT_BLOCKS:
        if type(block) is anatomy.block_class:
            return anatomy
    raise ValueError(
        f'{type(block).__name__} is not a ViT block of a known layout; '
        f'known: {[anatomy.name for anatomy in VIT_BLOCKS]}')


def vit_anatomy(module: nn.Module) -> ViTAnatomy:
    """The anatomy of the ViT backbone ``module`` (or a module holding
    one), told by its first block.

    Raises:
        ValueError: ``module`` has no ViT block (see :func:`vit_blocks`).
    """
    block = block_anatomy(vit_blocks(module, 'vit_anatomy')[0])
    return next(vit for vit in VITS if vit.block is block)


def find_vit_blocks(module: nn.Module) -> List[nn.Module]:
    """The ViT blocks inside ``module``, in order (empty: none)."""
    classes = {anatomy.block_class for anatomy in VIT_BLOCKS}
    return [m for m in module.modules() if type(m) in classes]


def vit_blocks(module: nn.Module, user: str,
               purpose: str = 'adapt') -> List[nn.Module]:
    """The ViT blocks inside ``module``, in order.

    Args:
        user (str): Who asks, for the message (e.g. ``'DAPT'``).
        purpose (str): What the blocks are for, for the message.

    Raises:
        ValueError: There is none, naming ``module``'s class and the block
            classes looked for.
    """
    blocks = find_vit_blocks(module)
    if not blocks:
        raise ValueError(
            f'{user}: {type(module).__name__} has no {_vit_block_names()} '
            f'(the blocks of {[anatomy.name for anatomy in VIT_BLOCKS]}) '
            f'to {purpose}.')
    return blocks


def num_prefix_tokens(module: nn.Module) -> int:
    """Class (and distillation / register) tokens before the patch tokens
    of the backbone ``module`` (or of the first backbone inside it)."""
    attributes = tuple(vit.prefix_count for vit in VITS)
    for submodule in module.modules():
        for name in attributes:
            if isinstance(getattr(submodule, name, None), int):
                return getattr(submodule, name)
    looked_for = ' or '.join(f'{vit.prefix_count} ({vit.library})'
                             for vit in VITS)
    raise ValueError(
        f'{type(module).__name__} has no {looked_for} attribute: cannot '
        'tell where prompt tokens go.')


def block_embed_dims(block: nn.Module) -> int:
    """The token width of a ViT block."""
    norm = block.get_submodule(block_anatomy(block).norm2)
    return norm.normalized_shape[0]


def block_drop_path_rate(block: nn.Module) -> float:
    """The stochastic-depth rate of a block's residual branches (0 when it
    has none)."""
    drop_path = block.get_submodule(block_anatomy(block).drop_path)
    return float(getattr(drop_path, 'drop_prob', 0.0))


def token_mlp_place(block: nn.Module) -> Tuple[nn.Module, str]:
    """(parent module, attribute name) of a ViT block's token-wise MLP,
    for replacing it (timm: ``block.mlp``; mmpretrain: the ``layers`` of
    the block's mmcv FFN, whose forward adds layer scale, drop path and
    the residual around them).

    Raises:
        ValueError: The block's MLP child is not of the class whose
            token-wise MLP is known, naming both classes.
    """
    anatomy = block_anatomy(block)
    mlp = block.get_submodule(anatomy.mlp)
    if anatomy.mlp_class is not None and \
            not isinstance(mlp, anatomy.mlp_class):
        raise ValueError(
            f'{type(block).__name__}.{anatomy.mlp} is a '
            f'{type(mlp).__name__}; its token-wise MLP is known for '
            f'{anatomy.mlp_class.__module__}.{anatomy.mlp_class.__name__} '
            f'only')
    parent, _, name = anatomy.token_mlp.rpartition('.')
    return block.get_submodule(parent), name


def patch_size(module: nn.Module) -> Optional[tuple]:
    """The kernel of the patch embedding's convolution of the backbone
    ``module`` (or of the first module inside it that has a patch
    embedding); None without one (a point transformer)."""
    names = {vit.patch_embedding for vit in VITS}
    patch_embed = next(
        (getattr(submodule, name) for submodule in module.modules()
         for name in names if isinstance(getattr(submodule, name, None),
                                         nn.Module)), None)
    if patch_embed is None:
        return None
    convs = [m for m in patch_embed.modules() if isinstance(m, nn.Conv2d)]
    return tuple(convs[0].kernel_size) if convs else None
