from typing import Optional

from mmpretrain.models.classifiers import ImageClassifier

from adapterx.registry import MODELS


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

    def loss(self, inputs, data_samples) -> dict:
        losses = super().loss(inputs, data_samples)
        auxiliary_losses = getattr(self.backbone, 'auxiliary_losses', None)
        if auxiliary_losses is not None:
            losses.update(auxiliary_losses())
        return losses
