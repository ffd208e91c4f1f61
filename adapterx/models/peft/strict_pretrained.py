from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_with_prefix)

from adapterx.registry import WEIGHT_INITIALIZERS
from .strict_loading import PRETRAINED_WEIGHTS, load_checked


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class StrictPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initialisation that refuses a checkpoint
    which does not fit the module.

    mmengine loads pretrained weights with ``strict=False`` and only logs
    the keys that did not match, so a wrongly converted file or a wrong
    ``prefix`` silently leaves the backbone at its random initialisation.
    Under adapterx's default scope, ``init_cfg=dict(type='Pretrained', ...)``
    builds this class instead (same name, so mmengine still loads it after
    every other initialisation). Missing keys are allowed only for modules
    a PEFT method added (see :func:`load_checked`, which every other
    loading path shares).

    Args:
        checkpoint (str): Pretrained weights file.
        prefix (str, optional): Load only the keys under this prefix, with
            the prefix removed (e.g. ``'backbone.'``).
        map_location (str): As for ``torch.load``.
        strict (bool): Fail on missing or unexpected keys. False gives
            mmengine's behaviour.
    """

    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 strict=True):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module):
        if not self.strict:
            return super().__call__(module)
        if self.prefix is None:
            state_dict = _load_checkpoint(
                self.checkpoint, map_location=self.map_location)
            state_dict = state_dict.get('state_dict', state_dict)
            # Files saved from a DDP-wrapped model.
            state_dict = {
                key[len('module.'):] if key.startswith('module.') else key:
                value
                for key, value in state_dict.items()
            }
        else:
            state_dict = _load_checkpoint_with_prefix(
                self.prefix, self.checkpoint, map_location=self.map_location)
        load_checked(
            module,
            state_dict,
            self.checkpoint,
            PRETRAINED_WEIGHTS,
            how_to_relax='set init_cfg.strict=False (if the names differ by '
            f"a prefix, set init_cfg.prefix instead: it is {self.prefix!r})")
