from typing import List, Optional, Sequence, Tuple

import torch
from mmengine import DefaultScope
from mmengine.model import BaseModule
from torch import Tensor

from adapterx.models.peft.backbone_methods import (apply_method,
                                                   method_trainable_names)
from adapterx.models.peft.freeze import set_trainable
from adapterx.registry import MODELS


def _build_in_adapterx_scope(cfg: dict):
    # mmseg and mmdet build this backbone under their own default scope, in
    # which 'VisionTransformer' would name *their* ViT and 'AdapterX' nothing
    # at all; the ViT and the wrapper are adapterx's (and mmpretrain's).
    return MODELS.build(dict({'_scope_': 'adapterx'}, **cfg))


class _AttachLossGradient(torch.autograd.Function):
    """Identity on ``feature`` whose backward also sends a gradient of 1 to
    ``loss``: the loss then trains with the task loss that the feature
    reaches, without the decoder knowing about it."""

    @staticmethod
    def forward(ctx, feature: Tensor, loss: Tensor) -> Tensor:
        ctx.loss_shape = loss.shape
        return feature.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad, grad.new_ones(ctx.loss_shape)


@MODELS.register_module()
class PeftViTDense(BaseModule):
    """A ViT wrapped by a PEFT method, as a dense-prediction backbone.

    Returns the ViT's feature maps at ``out_indices``, each ``(B, C, H, W)``
    at the patch stride, without the class token and without any prompt
    tokens (Adapter-X's prompts leave the sequence inside each block). A
    :class:`SimpleFeaturePyramid` neck turns them into strides 4 to 32.

    The ViT and the wrapper are built under adapterx's scope whatever the
    caller's (mmseg, mmdet), the wrapper around the built ViT
    (``dict(peft, module=vit)``) exactly as in
    :class:`~adapterx.models.PeftImageClassifier`, so any PEFT wrapper whose
    ``forward`` returns what the ViT's returns works here. Pretrained
    weights load when the runner calls ``init_weights``, under adapterx's
    scope (strict loading, see :class:`StrictPretrainedInit`); the ViT's
    position embedding is interpolated to the input size at every forward,
    so a 224 checkpoint serves 512 or 1024 inputs.

    The method's trainable set is declared under this module's names
    (:meth:`trainable_parameter_names`) and applied when the module is
    built; the neck and heads of the detector or segmentor around it train
    as that codebase built them (:class:`ParameterFreezeHook` without
    patterns applies, reports and verifies exactly that).

    Auxiliary losses of the wrapper (``auxiliary_losses()``, Adapter-X's
    load balancing) train too, although mmseg's and mmdet's models never
    ask for them: in training their gradient is attached to the last
    output map (which UPerNet and the ViTDet pyramid both use; a decoder
    that ignores it would drop them). They are not in the logged loss.

    Args:
        vit (dict): A ViT that returns feature maps: mmpretrain's
            ``VisionTransformer`` with ``out_type='featmap'``, or
            ``TIMMBackbone`` with ``features_only=True`` around a timm ViT
            (``dynamic_img_size=True`` for inputs other than its
            ``img_size``).
        out_indices (Sequence[int]): Blocks whose output maps are returned;
            set as the ViT's ``out_indices``.
        peft (dict, optional): Config of the method (a PEFT wrapper or a
            method without modules, as for
            :class:`~adapterx.models.PeftImageClassifier`); None uses the
            plain ViT.
    """

    def __init__(self,
                 vit: dict,
                 out_indices: Sequence[int],
                 peft: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_indices = tuple(out_indices)
        encoder = _build_in_adapterx_scope(
            dict(vit, out_indices=self.out_indices))
        with DefaultScope.overwrite_default_scope('adapterx'):
            self.encoder, self.backbone_method = apply_method(peft, encoder)
        # Frozen when built, before the runner of mmseg or mmdet wraps the
        # detector in DDP: their models do not freeze themselves.
        set_trainable(self, self.trainable_parameter_names())

    def trainable_parameter_names(self) -> List[str]:
        """The method's trainable set under this module's names."""
        return [
            f'encoder.{name}' for name in method_trainable_names(
                self.encoder, self.backbone_method)
        ]

    def init_weights(self) -> None:
        with DefaultScope.overwrite_default_scope('adapterx'):
            super().init_weights()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = tuple(self.encoder(x))
        if len(outs) != len(self.out_indices) or any(
                out.dim() != 4 for out in outs):
            raise RuntimeError(
                f'{type(self.encoder).__name__} returned '
                f'{[tuple(out.shape) for out in outs]} for out_indices '
                f'{self.out_indices}; PeftViTDense needs one (B, C, H, W) '
                "map per index: set out_type='featmap' (mmpretrain ViT) or "
                'features_only=True (TIMMBackbone) in its vit config; a PEFT '
                "wrapper must leave its extra tokens out of the ViT's "
                'output.')
        auxiliary_losses = getattr(self.encoder, 'auxiliary_losses', None)
        if self.training and torch.is_grad_enabled() and auxiliary_losses:
            losses = list(auxiliary_losses().values())
            if losses:
                outs = outs[:-1] + (_AttachLossGradient.apply(
                    outs[-1], sum(losses)), )
        return outs
