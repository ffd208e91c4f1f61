from typing import Optional, Sequence, Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...modules import ScaleShift
from ...peft.reparam import ReparamWrapper, find_layers

# The ops SSF follows: linear layers, LayerNorms and the patch embedding.
SSF_LAYER_TYPES = (nn.Linear, nn.LayerNorm, nn.Conv2d)


@MODELS.register_module()
class SSF(ReparamWrapper):
    """SSF (arXiv 2210.08823): a learned per-channel scale and shift after
    every linear layer, LayerNorm and the patch-embedding convolution of
    the backbone (in a ViT block: after LN1, qkv, proj, LN2, fc1, fc2; and
    after the patch embedding and the final norm), attached as
    ``<layer>.ssf``. Merged, each folds into its layer's weight and bias.

    Args:
        module (dict | nn.Module): The backbone (config or module).
        target_modules (Sequence[str], optional): Regular expressions on
            module names restricting the adapted layers; None adapts every
            ``nn.Linear``, ``nn.LayerNorm`` and ``nn.Conv2d``.
        init_std (float): Spread of the initial scale around 1 and shift
            around 0. Defaults to 0.02 (the paper's code); 0 starts as the
            identity.
    """

    injected_attribute = 'ssf'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 target_modules: Optional[Sequence[str]] = None,
                 init_std: float = 0.02,
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        if init_std < 0:
            raise ValueError(f'SSF init_std must be >= 0, got {init_std}')
        for _, layer in find_layers(self.module, target_modules or ('', ),
                                    SSF_LAYER_TYPES):
            if isinstance(layer, nn.Linear):
                change = ScaleShift(layer.out_features, -1, init_std)
            elif isinstance(layer, nn.LayerNorm):
                change = ScaleShift(layer.normalized_shape[-1], -1, init_std)
            else:
                change = ScaleShift(layer.out_channels, 1, init_std)
            self.adapt(layer, change)
