from typing import List, Optional

import torch.nn as nn
from mmcv.cnn.bricks.drop import DropPath
from mmpretrain.models.classifiers import ImageClassifier

from adapterx.models.peft.backbone_methods import (apply_method,
                                                   method_trainable_names)
from adapterx.models.peft.freeze import matching_parameter_names, set_trainable
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

    The model is frozen when it is built (before any DDP wrap): the
    method's own trainable set (``trainable_parameter_names()`` of the
    wrapper, or of a method without modules such as ``BitFit``), the head,
    and the config's overrides train (:meth:`trainable_parameter_names`).

    The backbone's auxiliary losses (``auxiliary_losses()``, e.g. SMoA's
    load balancing) are added to the head's.

    Args:
        peft (dict, optional): Config of the method: a PEFT wrapper
            (``dict(type='AdapterX', num_experts=4)``) or a method without
            modules (``FullFineTune``, ``LinearProbe``, ``BitFit``). None
            is full fine-tuning. Two optional keys change the method's set
            for an experiment, as regular expressions (``re.search``) on the
            classifier's parameter names: ``trainable_extra`` (also train,
            e.g. ``[r'\\.norm\\.']``) and ``trainable_exclude`` (freeze
            although the method or head would train them, e.g. the block
            norms in an ablation).
        **kwargs: ``ImageClassifier``'s arguments.
    """

    def __init__(self, *args, peft: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        peft = dict(peft or dict(type='FullFineTune'))
        self.trainable_extra = list(peft.pop('trainable_extra', ()))
        self.trainable_exclude = list(peft.pop('trainable_exclude', ()))
        # A method without modules leaves the backbone (and its parameter
        # names) as it is; a wrapper takes the backbone's place.
        self.backbone, self.backbone_method = apply_method(
            peft, self.backbone)
        python_float_drop_probabilities(self)
        self.apply_trainable_set()

    def trainable_parameter_names(self) -> List[str]:
        """What trains: the method's set (under ``backbone.``), the head's
        parameters and ``trainable_extra``, less ``trainable_exclude``.
        Derived from the modules, never from ``requires_grad``."""
        chosen = {
            f'backbone.{name}'
            for name in method_trainable_names(self.backbone,
                                               self.backbone_method)
        }
        chosen.update(f'head.{name}'
                      for name, _ in self.head.named_parameters())
        chosen.update(matching_parameter_names(self, self.trainable_extra))
        chosen.difference_update(
            matching_parameter_names(self, self.trainable_exclude,
                                     'trainable_exclude'))
        return [name for name, _ in self.named_parameters() if name in chosen]

    def apply_trainable_set(self) -> List[str]:
        """Make exactly :meth:`trainable_parameter_names` trainable (the
        same set however often it is applied); returns the names."""
        return set_trainable(self, self.trainable_parameter_names())

    def loss(self, inputs, data_samples) -> dict:
        losses = super().loss(inputs, data_samples)
        auxiliary_losses = getattr(self.backbone, 'auxiliary_losses', None)
        if auxiliary_losses is not None:
            losses.update(auxiliary_losses())
        return losses
