"""CLIP's image tower as an mmpretrain ViT.

CLIP (OpenAI's and open_clip's ``VisionTransformer``) computes::

    x = [class_embedding; conv1(image)] + positional_embedding
    x = ln_pre(x)
    x = resblocks(x)                    # pre-norm blocks
    feature = ln_post(x[:, 0]) @ proj   # (B, output width)

mmpretrain's ``VisionTransformer`` has all of it but the projection: its
``pre_norm`` is ``ln_pre`` (and drops the patch embedding's bias, which
CLIP's ``conv1`` has none of), its final norm ``ln1`` normalises every
token, so its class token is ``ln_post(x[:, 0])``. The blocks are the same
computation as mmpretrain's ``TransformerEncoderLayer``; OpenAI's weights
(and open_clip's ``-quickgelu`` models) need QuickGELU in the MLP, most
other open_clip models exact GELU.
:func:`adapterx.models.converters.clip_visual_to_mmpretrain` renames the
weights.
"""
import torch
from mmpretrain.models.backbones import VisionTransformer
from torch import nn

from adapterx.registry import MODELS

CLIP_NORM = dict(type='LN', eps=1e-5)
QUICK_GELU = dict(type='mmpretrain.QuickGELU')


@MODELS.register_module()
class CLIPVisionTransformer(VisionTransformer):
    """mmpretrain's ViT with CLIP's projection of the class token (the
    parameter ``proj``, ``(embed_dims, output_dims)``, CLIP's ``proj``).

    Defaults are CLIP's: ``pre_norm=True``, LayerNorm eps 1e-5 and
    QuickGELU in every block (OpenAI's weights).

    Args:
        output_dims (int): Width of the projected feature (512 for
            ViT-B/32).
        act_cfg (dict): The blocks' MLP activation, unless a block's
            ``layer_cfgs`` entry sets its own: QuickGELU for OpenAI's
            weights and open_clip's ``-quickgelu`` models,
            ``dict(type='GELU')`` for the other open_clip models.
        *args, **kwargs: ``VisionTransformer``'s. Only ``out_type=
            'cls_token'`` is projected; other outputs are the tokens as
            mmpretrain gives them.
    """

    def __init__(self, *args, output_dims: int, act_cfg=QUICK_GELU,
                 pre_norm=True, norm_cfg=CLIP_NORM, layer_cfgs=dict(),
                 **kwargs):
        if isinstance(layer_cfgs, dict):
            layer_cfgs = {'act_cfg': act_cfg, **layer_cfgs}
        else:
            layer_cfgs = [{'act_cfg': act_cfg, **cfg} for cfg in layer_cfgs]
        super().__init__(*args, pre_norm=pre_norm, norm_cfg=norm_cfg,
                         layer_cfgs=layer_cfgs, **kwargs)
        self.output_dims = output_dims
        # CLIP's initialisation: unit-variance outputs for unit-variance
        # features.
        self.proj = nn.Parameter(
            torch.randn(self.embed_dims, output_dims) * self.embed_dims**-0.5)

    def _format_output(self, x, hw):
        output = super()._format_output(x, hw)
        if self.out_type == 'cls_token':
            return output @ self.proj
        return output
