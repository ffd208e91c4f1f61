"""Convert timm and Google (JAX/Flax ``.npz``) ViT weights to mmpretrain.

Sources: Google's ``ViT-B_16.npz`` (ImageNet-21k, the usual start for
VTAB-1k) and the AugReg ``.npz`` files, and timm's ``.pth`` /
``.safetensors`` of ``vit_base_patch16_224.augreg_in21k`` and relatives.
The ``.npz`` layout is first mapped to timm's key names, then timm's names
to those of mmpretrain's :class:`~mmpretrain.models.VisionTransformer`.

The converted weights compute the same function as timm's ViT when the
mmpretrain backbone is built with these settings (for ViT-B/16 at 224; for
other sizes change ``arch``, ``img_size`` and ``patch_size``); the values
given are mmpretrain 1.2's defaults, spelled out because each one matters::

    backbone=dict(
        type='VisionTransformer',
        arch='base',            # 768 wide, 12 layers, 12 heads, MLP 3072
        img_size=224,
        patch_size=16,
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),   # timm: LayerNorm(eps=1e-6)
        final_norm=True,        # timm's ``norm`` -> ``ln1``
        pre_norm=False,         # no LayerNorm before the blocks (CLIP only)
        with_cls_token=True,
        out_type='cls_token',   # timm's global_pool='token'
        layer_scale_init_value=0.,
        layer_cfgs=dict(act_cfg=dict(type='GELU')),  # exact (erf) GELU
        init_cfg=dict(type='Pretrained', checkpoint='vit-b16.pth',
                      prefix='backbone.')),

and, with ``keep_head=True``, ``head=dict(type='VisionTransformerClsHead',
num_classes=21843, in_channels=768)``, adding ``hidden_dim=768`` (Tanh is
the default ``act_cfg``) when the source has Google's ``pre_logits`` layer
(the original ``ViT-B_16.npz`` has it; AugReg files and timm do not):
loading refuses the kept layer into a head without it, since the logits
would silently lose their tanh layer.
Dropout and drop-path rates do not change the weights: set them freely.

Key mapping (timm -> mmpretrain)::

    patch_embed.proj          -> patch_embed.projection
    cls_token, pos_embed      -> cls_token, pos_embed
    blocks.{i}.norm1          -> layers.{i}.ln1
    blocks.{i}.attn.qkv/proj  -> layers.{i}.attn.qkv/proj
    blocks.{i}.norm2          -> layers.{i}.ln2
    blocks.{i}.mlp.fc1        -> layers.{i}.ffn.layers.0.0
    blocks.{i}.mlp.fc2        -> layers.{i}.ffn.layers.1
    norm                      -> ln1
    pre_logits.fc             -> head.layers.pre_logits  (keep_head only)
    head                      -> head.layers.head        (keep_head only)

Both libraries fuse q, k and v into one Linear with the same output order
(q, k, v; heads major within each), so no tensor needs reshaping between
them.
"""
import itertools
import re

import torch
from mmengine.logging import print_log

from adapterx.checkpoint.third_party import load_third_party_weights

_WEIGHT_OR_BIAS = r'\.(weight|bias)'

# (timm key pattern, mmpretrain key template); patterns match whole keys.
_BACKBONE_RENAMES = (
    (r'cls_token', r'cls_token'),
    (r'pos_embed', r'pos_embed'),
    (r'patch_embed\.proj' + _WEIGHT_OR_BIAS, r'patch_embed.projection.\1'),
    (r'blocks\.(\d+)\.norm1' + _WEIGHT_OR_BIAS, r'layers.\1.ln1.\2'),
    (r'blocks\.(\d+)\.attn\.(qkv|proj)' + _WEIGHT_OR_BIAS,
     r'layers.\1.attn.\2.\3'),
    (r'blocks\.(\d+)\.norm2' + _WEIGHT_OR_BIAS, r'layers.\1.ln2.\2'),
    (r'blocks\.(\d+)\.mlp\.fc1' + _WEIGHT_OR_BIAS,
     r'layers.\1.ffn.layers.0.0.\2'),
    (r'blocks\.(\d+)\.mlp\.fc2' + _WEIGHT_OR_BIAS,
     r'layers.\1.ffn.layers.1.\2'),
    (r'norm' + _WEIGHT_OR_BIAS, r'ln1.\1'),
)

# The classifier: kept as VisionTransformerClsHead weights with
# keep_head=True, dropped (and logged) otherwise. ``pre_logits.fc`` is the
# name old timm versions gave Google's Dense + tanh representation layer.
_HEAD_RENAMES = (
    (r'head' + _WEIGHT_OR_BIAS, r'head.layers.head.\1'),
    (r'pre_logits\.fc' + _WEIGHT_OR_BIAS, r'head.layers.pre_logits.\1'),
)

_NPZ_BLOCK = 'Transformer/encoderblock_{}/'
_NPZ_ATTENTION = 'MultiHeadDotProductAttention_1'
_NPZ_QKV = ('query', 'key', 'value')


def _rename(key, renames):
    for pattern, template in renames:
        match = re.fullmatch(pattern, key)
        if match:
            return match.expand(template)
    return None


def timm_vit_to_mmpretrain(timm_state_dict, keep_head=False, prefix=''):
    """Rename a timm ``VisionTransformer`` state dict for mmpretrain.

    Args:
        timm_state_dict (dict[str, Tensor]): timm ViT weights (a model's
            ``state_dict()`` or a published checkpoint).
        keep_head (bool): Keep the classifier as
            ``head.layers.head.*`` (and ``head.layers.pre_logits.*``) for
            :class:`~mmpretrain.models.VisionTransformerClsHead`. If False,
            the classifier is dropped and the dropped keys are logged.
        prefix (str): Put before every backbone key: ``''`` for the
            backbone itself, ``'backbone.'`` for an ``ImageClassifier``.
            Head keys are always ``head.layers.*``.

    Returns:
        dict[str, Tensor]: mmpretrain weights (the tensors themselves, not
        copies).

    Raises:
        ValueError: Some keys are neither backbone nor classifier weights of
            a plain ViT (e.g. ``fc_norm``, ``reg_token``, layer scales);
            the message lists them, since silently skipping them would
            change the model's output.
    """
    converted, dropped, unmapped = {}, [], []
    for key, value in timm_state_dict.items():
        backbone_key = _rename(key, _BACKBONE_RENAMES)
        head_key = _rename(key, _HEAD_RENAMES)
        if backbone_key is not None:
            converted[prefix + backbone_key] = value
        elif head_key is None:
            unmapped.append(key)
        elif keep_head:
            converted[head_key] = value
        else:
            dropped.append(key)
    if unmapped:
        raise ValueError(
            'These timm ViT weights have no counterpart in mmpretrain\'s '
            f'VisionTransformer / VisionTransformerClsHead: {unmapped}')
    if dropped:
        print_log(
            f'Dropped the classifier weights {dropped} (keep_head=False).',
            logger='current')
    return converted


def _pop(weights, key):
    try:
        return weights.pop(key)
    except KeyError:
        raise ValueError(
            f'{key!r} is missing: not a Google ViT .npz layout') from None


def _pop_dense(weights, src_name, out, dst_name):
    """Flax Dense kernels are (in, out); torch Linear weights (out, in)."""
    out[f'{dst_name}.weight'] = _pop(weights, f'{src_name}/kernel').T
    out[f'{dst_name}.bias'] = _pop(weights, f'{src_name}/bias')


def _pop_layer_norm(weights, src_name, out, dst_name):
    out[f'{dst_name}.weight'] = _pop(weights, f'{src_name}/scale')
    out[f'{dst_name}.bias'] = _pop(weights, f'{src_name}/bias')


def _pop_attention(weights, src_name, out, dst_name):
    """Flax keeps q, k, v apart with kernels (embed, heads, head_dim) and
    biases (heads, head_dim), and the output kernel as (heads, head_dim,
    embed); timm fuses q, k, v into one Linear, stacked along its output."""
    out[f'{dst_name}.qkv.weight'] = torch.cat([
        _pop(weights, f'{src_name}/{name}/kernel').flatten(1).T
        for name in _NPZ_QKV
    ])
    out[f'{dst_name}.qkv.bias'] = torch.cat([
        _pop(weights, f'{src_name}/{name}/bias').flatten()
        for name in _NPZ_QKV
    ])
    out_kernel = _pop(weights, f'{src_name}/out/kernel')
    out[f'{dst_name}.proj.weight'] = out_kernel.flatten(0, 1).T
    out[f'{dst_name}.proj.bias'] = _pop(weights, f'{src_name}/out/bias')


def npz_to_timm_state_dict(npz_dict):
    """Map Google's ViT ``.npz`` layout to timm ``VisionTransformer`` keys.

    The layout is that of the original ``ViT-B_16.npz`` and of the AugReg
    files: one ``Transformer/encoderblock_{i}/`` group per block. Head count
    and depth are read from the shapes and keys.

    Args:
        npz_dict (Mapping[str, ndarray | Tensor]): The archive's arrays,
            e.g. from ``numpy.load`` or :func:`load_third_party_weights`.

    Returns:
        dict[str, Tensor]: timm keys, contiguous tensors. Google's
        ``pre_logits`` layer (Dense + tanh between the CLS feature and the
        head; absent from timm's current ViT) comes out under its old timm
        name ``pre_logits.fc``, so that :func:`timm_vit_to_mmpretrain` can
        keep it with the head or drop it with the head.

    Raises:
        ValueError: A key of the layout is missing, or the archive has keys
            this layout does not use (listed).
    """
    weights = {key: torch.as_tensor(value) for key, value in npz_dict.items()}
    out = {}
    # Patch embedding kernel: (patch_h, patch_w, in, embed) -> Conv2d OIHW.
    patch_kernel = _pop(weights, 'embedding/kernel')
    out['patch_embed.proj.weight'] = patch_kernel.permute(3, 2, 0, 1)
    out['patch_embed.proj.bias'] = _pop(weights, 'embedding/bias')
    out['cls_token'] = _pop(weights, 'cls')
    out['pos_embed'] = _pop(weights,
                            'Transformer/posembed_input/pos_embedding')
    for index in itertools.count():
        block = _NPZ_BLOCK.format(index)
        if f'{block}LayerNorm_0/scale' not in weights:
            break
        _pop_layer_norm(weights, f'{block}LayerNorm_0', out,
                        f'blocks.{index}.norm1')
        _pop_attention(weights, block + _NPZ_ATTENTION, out,
                       f'blocks.{index}.attn')
        _pop_layer_norm(weights, f'{block}LayerNorm_2', out,
                        f'blocks.{index}.norm2')
        for layer in range(2):
            _pop_dense(weights, f'{block}MlpBlock_3/Dense_{layer}', out,
                       f'blocks.{index}.mlp.fc{layer + 1}')
    _pop_layer_norm(weights, 'Transformer/encoder_norm', out, 'norm')
    for src_name, dst_name in (('pre_logits', 'pre_logits.fc'),
                               ('head', 'head')):
        if f'{src_name}/kernel' in weights:
            _pop_dense(weights, src_name, out, dst_name)
    if weights:
        raise ValueError('These .npz arrays are not part of the Google ViT '
                         f'layout this converter knows: {sorted(weights)}')
    return {key: value.contiguous() for key, value in out.items()}


def convert_vit_checkpoint(src_path, keep_head=False, trust=False, prefix=''):
    """Convert a Google ``.npz`` or a timm ViT weight file for mmpretrain.

    The layout is told from the keys (Google's ``embedding/kernel``, timm's
    ``patch_embed.proj.weight``), not from the extension.

    Args:
        src_path (str | Path): ``.npz``, ``.safetensors``, ``.pth``, ``.pt``
            or ``.bin`` file.
        keep_head (bool): See :func:`timm_vit_to_mmpretrain`.
        trust (bool): See :func:`load_third_party_weights`.
        prefix (str): See :func:`timm_vit_to_mmpretrain`.

    Returns:
        dict[str, Tensor]: mmpretrain ``VisionTransformer`` weights.
    """
    weights = load_third_party_weights(src_path, trust=trust)
    if 'embedding/kernel' in weights:
        weights = npz_to_timm_state_dict(weights)
    elif 'patch_embed.proj.weight' not in weights:
        raise ValueError(
            f'{src_path} is neither a Google ViT .npz nor a timm ViT state '
            f'dict (no embedding/kernel or patch_embed.proj.weight; first '
            f'keys: {list(weights)[:5]})')
    return timm_vit_to_mmpretrain(weights, keep_head=keep_head, prefix=prefix)
