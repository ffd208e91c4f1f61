from typing import Optional

import torch.nn as nn
from mmcv.cnn.bricks.drop import DropPath
from mmpretrain.models.classifiers import ImageClassifier

from adapterx.registry import MODELS


def python_float_drop_probabilities(model: nn.Module) -> None:
    """Make the drop probability of every mmcv ``DropPath`` a Python float.

    mmpretrain's ViT gives them numpy floats (from ``np.linspace``), and
    torch.compile cannot trace the comparison ``drop_prob == 0.`` with one:
    it breaks the graph in every block, in training and in inference.
    """
    for module in model.modules():
        if isinstance(module, DropPath):
            module.drop_prob = float(module.drop_prob)


@MODELS.register_module()
class PeftImageClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` whose backbone a PEFT method wraps.

    Configs compose by inheritance: the backbone base config names the
    backbone, a PEFT base config names ``peft`` (e.g.
    ``dict(type='AdapterX', num_experts=4)``), and the two merge without
    restating either. The wrapper is built around the built backbone
    (``module=``), so comparisons of methods differ only in ``peft``.

    The backbone's auxiliary losses (``auxiliary_losses()``, e.g. SMoA's
    load balancing) are added to the head's.

    Args:
        peft (dict, optional): Config of the PEFT wrapper; None trains the
            plain backbone (full fine-tuning, linear probing).
        **kwargs: ``ImageClassifier``'s arguments.
    """

    def __init__(self, *args, peft: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        if peft is not None:
            self.backbone = MODELS.build(dict(peft, module=self.backbone))
        python_float_drop_probabilities(self)

    def loss(self, inputs, data_samples) -> dict:
        losses = super().loss(inputs, data_samples)
        auxiliary_losses = getattr(self.backbone, 'auxiliary_losses', None)
        if auxiliary_losses is not None:
            losses.update(auxiliary_losses())
        return losses
