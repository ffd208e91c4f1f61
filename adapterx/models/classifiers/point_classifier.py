from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from adapterx.registry import MODELS
from ..peft.block_patching import BlockPatchedBackbone
from .peft_image_classifier import PeftImageClassifier


@MODELS.register_module()
class PointDataPreprocessor(BaseDataPreprocessor):
    """Stacks a batch of (N, C) point tensors into (B, N, C) float32 on the
    model's device.

    Args:
        batch_augments: Must be None: image batch augmentations (Mixup,
            CutMix) have no meaning for point clouds; the classifier passes
            its ``train_cfg`` here, as mmpretrain's does.
    """

    def __init__(self, batch_augments: Optional[dict] = None):
        super().__init__()
        if batch_augments is not None:
            raise ValueError(
                f'PointDataPreprocessor has no batch augmentations; got '
                f'train_cfg/batch_augments={batch_augments!r}')

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if not isinstance(inputs, torch.Tensor):
            shapes = {tuple(points.shape) for points in inputs}
            if len(shapes) != 1:
                raise ValueError(
                    f'point clouds in one batch have different shapes '
                    f'{sorted(shapes)}: resample them to one number of '
                    'points in the pipeline (ResamplePoints)')
            inputs = torch.stack(list(inputs))
        return dict(
            inputs=inputs.float(), data_samples=data.get('data_samples'))


@MODELS.register_module()
class PointClassifier(PeftImageClassifier):
    """A point-cloud classifier: backbone (optionally PEFT-wrapped) and a
    :class:`PointClsHead`.

    The head receives the backbone's normalised tokens and, when the
    forward left prompt tokens in the PEFT wrapper's ``forward_context``
    (Adapter-X, DAPT, IDPT, VPT), those prompts passed through the
    backbone's final norm, as if they had stayed in the sequence to the
    end (the norm is per token).

    Args: those of :class:`PeftImageClassifier`; ``data_preprocessor``
    defaults to :class:`PointDataPreprocessor`.
    """

    def __init__(self, *args, data_preprocessor: Optional[dict] = None,
                 **kwargs):
        data_preprocessor = dict(data_preprocessor or {})
        # mmpretrain's ImageClassifier builds from its own registry.
        data_preprocessor.setdefault('type', 'adapterx.PointDataPreprocessor')
        super().__init__(
            *args, data_preprocessor=data_preprocessor, **kwargs)
        if self.neck is not None:
            raise ValueError('PointClassifier pools tokens in its head and '
                             f'takes no neck; got {type(self.neck).__name__}')

    def extract_feat(self, inputs, stage: str = 'neck'):
        if stage != 'neck':
            raise ValueError(f"PointClassifier features come from the "
                             f"backbone; stage {stage!r} is not 'neck'")
        tokens = self.backbone(inputs)[-1]
        prompts = None
        if isinstance(self.backbone, BlockPatchedBackbone):
            prompts = self.backbone.forward_context.prompts
        if prompts is not None:
            prompts = self.backbone.norm(prompts)
        return tokens, prompts
