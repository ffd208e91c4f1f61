import os.path as osp

from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_with_prefix,
                                        load_state_dict)

from adapterx.registry import WEIGHT_INITIALIZERS
from .strict_loading import PRETRAINED_WEIGHTS, load_checked


def read_pretrained_weights(checkpoint, map_location='cpu', prefix=None):
    """The state dict of a pretrained weights file, the keys under
    ``prefix`` alone (with it removed) if given.

    A local file is read by adapterx's loader: ``.safetensors`` (what the
    converters write) without pickle, ``.pth`` weights-only
    (:func:`adapterx.engine.load_runner_checkpoint`); a remote one
    (``http://``, ...) by mmengine's.

    Raises:
        ValueError: No key starts with ``prefix``; the message names the
            file.
    """
    if not osp.isfile(checkpoint):
        if prefix is None:
            state_dict = _load_checkpoint(checkpoint, map_location)
            return state_dict.get('state_dict', state_dict)
        return _load_checkpoint_with_prefix(prefix, checkpoint, map_location)
    # Imported here: adapterx.engine imports the models.
    from adapterx.engine.checkpoint import load_runner_checkpoint
    state_dict = load_runner_checkpoint(
        checkpoint, map_location,
        how_to_trust='pretrained weights are never fully unpickled: convert '
        'the file once with tools/model_converters/ (--trust there)')
    state_dict = state_dict.get('state_dict', state_dict)
    if prefix is None:
        return state_dict
    selected = {
        key[len(prefix):]: value
        for key, value in state_dict.items() if key.startswith(prefix)
    }
    if not selected:
        raise ValueError(
            f'{checkpoint} has no key under the prefix {prefix!r} (its keys '
            f'look like {list(state_dict)[:3]}): check init_cfg.prefix')
    return selected


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
        state_dict = read_pretrained_weights(self.checkpoint,
                                             self.map_location, self.prefix)
        if self.prefix is None:
            # Files saved from a DDP-wrapped model.
            state_dict = {
                key[len('module.'):] if key.startswith('module.') else key:
                value
                for key, value in state_dict.items()
            }
        if not self.strict:
            # mmengine's behaviour: whatever fits, the rest logged.
            load_state_dict(module, state_dict, strict=False,
                            logger='current')
            return
        load_checked(
            module,
            state_dict,
            self.checkpoint,
            PRETRAINED_WEIGHTS,
            how_to_relax='set init_cfg.strict=False (if the names differ by '
            f"a prefix, set init_cfg.prefix instead: it is {self.prefix!r})")
