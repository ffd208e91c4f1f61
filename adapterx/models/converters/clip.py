"""OpenAI CLIP / open_clip image towers to
:class:`~adapterx.models.backbones.CLIPVisionTransformer`.

Both libraries name the image tower's weights alike (a full model's under
``visual.``; the task-arithmetic ``ImageEncoder`` saves hold them under
``model.visual.``)::

    conv1.weight                                 -> patch_embed.projection.weight
    class_embedding (W,)                         -> cls_token (1, 1, W)
    positional_embedding (N, W)                  -> pos_embed (1, N, W)
    ln_pre                                       -> pre_norm
    transformer.resblocks.{i}.ln_1               -> layers.{i}.ln1
    transformer.resblocks.{i}.attn.in_proj_*     -> layers.{i}.attn.qkv.*
    transformer.resblocks.{i}.attn.out_proj      -> layers.{i}.attn.proj
    transformer.resblocks.{i}.ln_2               -> layers.{i}.ln2
    transformer.resblocks.{i}.mlp.c_fc           -> layers.{i}.ffn.layers.0.0
    transformer.resblocks.{i}.mlp.c_proj         -> layers.{i}.ffn.layers.1
    ln_post                                      -> ln1
    proj (W, E)                                  -> proj

``nn.MultiheadAttention`` stacks q, k and v along the output of
``in_proj_weight`` as mmpretrain's ``qkv`` does, so no tensor is
reshaped but the two embeddings. Models with layer scale, attentional
pooling or a patch-embedding bias (some open_clip variants) have weights
outside this list and are refused.

The settings under which the converted backbone computes CLIP's image
feature are :class:`CLIPVisionTransformer`'s defaults, with
``patch_size``, ``img_size``, ``arch`` and ``output_dims`` of the model
(ViT-B/32: 32, 224, ``'base'``, 512) and exact GELU (``act_cfg=
dict(type='GELU')``) for open_clip models not trained with QuickGELU.
"""
from typing import Dict, Mapping

import torch
from mmengine.logging import print_log
from torch import Tensor

from adapterx.checkpoint.third_party import load_third_party_weights
from .vit_timm import _WEIGHT_OR_BIAS, _rename

# Where the image tower sits in the saves this converter reads: a bare
# tower, a full CLIP model, a task-arithmetic ImageEncoder.
VISUAL_PREFIXES = ('', 'visual.', 'model.visual.')
_MARKER = 'class_embedding'

_BLOCK = r'transformer\.resblocks\.(\d+)\.'
_RENAMES = (
    (r'conv1\.weight', r'patch_embed.projection.weight'),
    (r'ln_pre' + _WEIGHT_OR_BIAS, r'pre_norm.\1'),
    (_BLOCK + r'ln_1' + _WEIGHT_OR_BIAS, r'layers.\1.ln1.\2'),
    (_BLOCK + r'attn\.in_proj_(weight|bias)', r'layers.\1.attn.qkv.\2'),
    (_BLOCK + r'attn\.out_proj' + _WEIGHT_OR_BIAS,
     r'layers.\1.attn.proj.\2'),
    (_BLOCK + r'ln_2' + _WEIGHT_OR_BIAS, r'layers.\1.ln2.\2'),
    (_BLOCK + r'mlp\.c_fc' + _WEIGHT_OR_BIAS, r'layers.\1.ffn.layers.0.0.\2'),
    (_BLOCK + r'mlp\.c_proj' + _WEIGHT_OR_BIAS, r'layers.\1.ffn.layers.1.\2'),
    (r'ln_post' + _WEIGHT_OR_BIAS, r'ln1.\1'),
    (r'proj', r'proj'),
)


def find_visual_prefix(state_dict: Mapping[str, Tensor], source='') -> str:
    """The prefix of the image tower's keys in ``state_dict``: one of
    :data:`VISUAL_PREFIXES`.

    Raises:
        ValueError: No ``<prefix>class_embedding`` key (not a CLIP ViT
            image tower; ``source`` names the file).
    """
    for prefix in VISUAL_PREFIXES:
        if prefix + _MARKER in state_dict:
            return prefix
    raise ValueError(
        f'{source or "The state dict"} holds no CLIP ViT image tower: none '
        f'of {[prefix + _MARKER for prefix in VISUAL_PREFIXES]} is among '
        f'its keys (first keys: {list(state_dict)[:5]})')


def clip_visual_to_mmpretrain(state_dict: Mapping[str, Tensor],
                              prefix: str = 'backbone.',
                              source: str = '') -> Dict[str, Tensor]:
    """Rename a CLIP image tower for :class:`CLIPVisionTransformer`.

    Args:
        state_dict: A bare image tower, a full OpenAI CLIP / open_clip
            model (the text tower's keys are left out and logged) or a
            task-arithmetic ``ImageEncoder`` state dict.
        prefix (str): Put before every key: ``'backbone.'`` for an
            ``ImageClassifier`` (the default), ``''`` for the backbone.
        source (str): The file, for messages.

    Returns:
        dict[str, Tensor]: float32 tensors (OpenAI's files are float16;
        merging and the ViT compute in float32).

    Raises:
        ValueError: No image tower, or image-tower keys this layout does
            not know (listed: a variant with other weights would compute
            something else).
    """
    visual = find_visual_prefix(state_dict, source)
    converted, unmapped, others = {}, [], []
    for key, value in state_dict.items():
        if not key.startswith(visual):
            others.append(key)
            continue
        name = key[len(visual):]
        if name == _MARKER:
            target, value = 'cls_token', value.reshape(1, 1, -1)
        elif name == 'positional_embedding':
            target, value = 'pos_embed', value.unsqueeze(0)
        else:
            target = _rename(name, _RENAMES)
        if target is None:
            unmapped.append(key)
        else:
            converted[prefix + target] = value.to(torch.float32)
    if unmapped:
        raise ValueError(
            f'{source or "The state dict"}: these image-tower weights have '
            'no counterpart in CLIPVisionTransformer (a CLIP variant with '
            f'layer scale, attentional pooling or patch bias?): {unmapped}')
    if others:
        print_log(f'Left out {len(others)} tensors outside the image tower '
                  f'{visual!r} (text tower, logit scale), e.g. '
                  f'{others[:3]}', logger='current')
    return converted


def convert_clip_checkpoint(src_path, trust=False,
                            prefix='backbone.') -> Dict[str, Tensor]:
    """:func:`clip_visual_to_mmpretrain` of a weight file read by
    :func:`~adapterx.checkpoint.third_party.load_third_party_weights`
    (``.safetensors``, ``.pth`` / ``.pt`` / ``.bin`` state dicts)."""
    return clip_visual_to_mmpretrain(
        load_third_party_weights(src_path, trust=trust), prefix,
        str(src_path))

