import os.path as osp

from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

from adapterx.registry import WEIGHT_INITIALIZERS
from adapterx.utils.state_dicts import strip_ddp_prefix
from .strict_loading import PRETRAINED_WEIGHTS, load_checked

# How many key prefixes an error about a missing prefix names.
_MAX_NAMED = 4


def read_pretrained_weights(checkpoint, map_location='cpu', prefix=None,
                            module=None):
    """The state dict of a pretrained weights file (a ``module.`` prefix of
    a DDP-wrapped model removed), the keys under ``prefix`` alone (with it
    removed) if given.

    A local file is read by adapterx's loader: ``.safetensors`` (what the
    converters write) without pickle, ``.pth`` weights-only
    (:func:`adapterx.engine.load_runner_checkpoint`); a remote one
    (``http://``, ...) by mmengine's.

    Raises:
        ValueError: No key starts with ``prefix``, or, without a prefix, the
            file is a runner checkpoint whose keys are not ``module``'s (the
            whole model's): the message names the file and the fix.
    """
    # Imported here: adapterx.engine imports the models package.
    from adapterx.engine.checkpoint import (load_runner_checkpoint,
                                            runner_checkpoint_types)
    if osp.isfile(checkpoint):
        loaded = load_runner_checkpoint(
            checkpoint, map_location,
            how_to_trust='init_cfg has no trust setting: convert the file '
            'with a tool of tools/model_converters/ (--trust there), which '
            'writes its tensors alone')
    else:
        # URLs and model-zoo names: mmengine's loaders.
        with runner_checkpoint_types():
            loaded = _load_checkpoint(checkpoint, map_location=map_location)
    state_dict = strip_ddp_prefix(loaded.get('state_dict', loaded))
    if prefix is None:
        if (module is not None and 'message_hub' in loaded
                and not set(state_dict) & set(module.state_dict())):
            raise ValueError(
                f"{checkpoint} is a runner checkpoint (a training run's "
                'epoch_N.pth, the whole model), not weights of '
                f'{type(module).__name__}. To start this module from the '
                "run's backbone, set prefix='backbone.' in its init_cfg; to "
                f"load the whole model, set load_from='{checkpoint}' (or "
                f'pass --resume {checkpoint} to continue that run).')
        return state_dict
    dotted = prefix if prefix.endswith('.') else prefix + '.'
    selected = {
        key[len(dotted):]: value
        for key, value in state_dict.items() if key.startswith(dotted)
    }
    if not selected:
        first_parts = sorted({key.split('.')[0] + '.' for key in state_dict})
        raise ValueError(
            f'{checkpoint} has no key under the init_cfg prefix {prefix!r}; '
            'its keys start with '
            f'{", ".join(map(repr, first_parts[:_MAX_NAMED]))}'
            f'{", ..." if len(first_parts) > _MAX_NAMED else ""}.')
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
        strict (bool): Fail on missing, unexpected or differently shaped
            tensors. False loads whatever fits and logs the rest, as
            mmengine does.
    """

    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 strict=True):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module):
        state_dict = read_pretrained_weights(self.checkpoint,
                                             self.map_location, self.prefix,
                                             module)
        if not self.strict:
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
