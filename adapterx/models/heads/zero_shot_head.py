"""CLIP's zero-shot classifier as a classification head.

The task-arithmetic line of work (Ilharco et al., 2023, and the merging
methods evaluated on its eight tasks) classifies an image feature ``f``
with a fixed head built from the text tower::

    logits = exp(logit_scale) * normalize(f) @ normalize(T).T

where row ``c`` of ``T`` is the mean of the normalised text embeddings of
class ``c``'s prompts. The head stores ``exp(logit_scale) * normalize(T)``
as ``fc.weight`` (no bias) and normalises the feature itself;
``tools/model_converters/clip_zeroshot_heads.py`` writes the weights.
"""
from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from torch import Tensor

from adapterx.registry import MODELS


@MODELS.register_module()
class ZeroShotClsHead(ClsHead):
    """A linear head on the L2-normalised feature, without bias.

    Its weights are text embeddings, loaded with the model, not learnt: a
    fine-tuning config keeps it frozen as the protocol does
    (``peft=dict(trainable_exclude=[r'^head\\.'])``).

    Args:
        num_classes (int): Classes (rows of the weight).
        in_channels (int): Width of the image feature (CLIP's embedding
            width, 512 for ViT-B/32).
        **kwargs: ``ClsHead``'s (``loss``, ``topk``).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 init_cfg: Optional[dict] = None, **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(
                f'num_classes={num_classes} must be a positive integer')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes, bias=False)

    def pre_logits(self, feats: Tuple[Tensor]) -> Tensor:
        return F.normalize(feats[-1], dim=-1)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        return self.fc(self.pre_logits(feats))
