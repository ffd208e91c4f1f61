import os.path as osp

from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import _load_checkpoint

from adapterx.registry import WEIGHT_INITIALIZERS
from adapterx.utils.state_dicts import strip_ddp_prefix
from .injected import injected_tensor_names

# How many tensors of another shape an error names; the rest are counted.
_MAX_NAMED = 4


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
    a PEFT method injected (:class:`InjectedModule`).

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
        state_dict = self._read_state_dict(module)
        try:
            result = module.load_state_dict(state_dict, strict=False)
        except RuntimeError as error:
            # torch refuses tensors of another shape even when not strict,
            # naming neither the file nor the cause.
            raise ValueError(
                f'Pretrained weights {self.checkpoint} (prefix '
                f'{self.prefix!r}) do not fit {type(module).__name__}: '
                f'{_shape_mismatches(state_dict, module) or error}') from None
        injected = injected_tensor_names(module)
        missing = [key for key in result.missing_keys if key not in injected]
        unexpected = list(result.unexpected_keys)
        if missing or unexpected:
            raise ValueError(
                f'Pretrained weights {self.checkpoint} (prefix '
                f'{self.prefix!r}) do not fit {type(module).__name__}: '
                f'{len(missing)} missing key(s) {missing[:8]}, '
                f'{len(unexpected)} unexpected key(s) {unexpected[:8]}. '
                'Training would start those weights from random values. '
                'Check the conversion (tools/model_converters/) and '
                "init_cfg's prefix, or set init_cfg.strict=False to accept "
                'a partial load.')

    def _read_state_dict(self, module):
        """The file's tensors (under ``prefix``, which is removed), read
        weights-only with the types of runner checkpoints allowed."""
        # Imported here: adapterx.engine imports the models package.
        from adapterx.engine.checkpoint import (load_runner_checkpoint,
                                                runner_checkpoint_types)
        path = self.checkpoint
        if osp.isfile(path):
            checkpoint = load_runner_checkpoint(
                path, map_location=self.map_location,
                how_to_trust='init_cfg has no trust setting: convert the '
                'file with a tool of tools/model_converters/ (--trust), '
                'which writes its tensors alone')
        else:
            # URLs and model-zoo names: mmengine's loaders.
            with runner_checkpoint_types():
                checkpoint = _load_checkpoint(
                    path, map_location=self.map_location)
        state_dict = strip_ddp_prefix(checkpoint.get('state_dict',
                                                     checkpoint))
        if self.prefix is None:
            if 'message_hub' in checkpoint and not set(state_dict) & set(
                    module.state_dict()):
                raise ValueError(
                    f'{path} is a runner checkpoint (a training run\'s '
                    'epoch_N.pth, the whole model), not weights of '
                    f'{type(module).__name__}. To start this module from '
                    "the run's backbone, set prefix='backbone.' in its "
                    f'init_cfg; to load the whole model, set load_from='
                    f"'{path}' (or pass --resume {path} to continue that "
                    'run).')
            return state_dict
        prefix = self.prefix if self.prefix.endswith('.') else \
            self.prefix + '.'
        under_prefix = {
            key[len(prefix):]: value
            for key, value in state_dict.items() if key.startswith(prefix)
        }
        if not under_prefix:
            first_parts = sorted({key.split('.')[0] + '.'
                                  for key in state_dict})
            raise ValueError(
                f'{path} has no key under the init_cfg prefix '
                f'{self.prefix!r}; its keys start with '
                f'{", ".join(map(repr, first_parts[:_MAX_NAMED]))}'
                f'{", ..." if len(first_parts) > _MAX_NAMED else ""}.')
        return under_prefix


def _shape_mismatches(state_dict, module):
    """``''`` or a sentence naming the tensors whose shapes differ between
    ``state_dict`` and ``module``."""
    model_state = module.state_dict()
    mismatched = [
        f'{key} is {tuple(value.shape)} in the file, '
        f'{tuple(model_state[key].shape)} in the model'
        for key, value in state_dict.items()
        if key in model_state and value.shape != model_state[key].shape
    ]
    if not mismatched:
        return ''
    more = f' (and {len(mismatched) - _MAX_NAMED} more)' \
        if len(mismatched) > _MAX_NAMED else ''
    return (f'{len(mismatched)} tensor(s) have another shape: '
            f'{"; ".join(mismatched[:_MAX_NAMED])}{more}. The file holds '
            'another size of model: set the arch it was made for, or use '
            'weights made for this arch.')
