"""Every weight file adapterx reads or writes goes through this package:
engine, models and tools use it, and it uses neither engine nor tools.

- :mod:`.trust`: reading pickles weights-only, the globals runner
  checkpoints may hold, full unpickling only for a trusted file.
- :mod:`.io`: safetensors files (what adapterx writes), runner checkpoints
  and pretrained weights read by extension, atomic writes.
- :mod:`.third_party`: published weights (``.npz``, ``.safetensors``,
  PyTorch pickles) read without trusting them.
- :mod:`.state_dicts`: the ``module.`` prefix of a DDP-wrapped save, the
  model inside a wrapper, averaging state dicts.
- :mod:`.trainable`: trainable-only checkpoints.
- :mod:`.comparison`: checkpoints read to compare them with a model (soups,
  fine-tuned angles, merged adapters).
- :mod:`.loading`: strict loading into a model, the ``Pretrained``
  initialisation. It knows the PEFT wrappers, so it is not imported here:
  the models package imports this package, and this one would import it.
"""
from .comparison import (CheckpointWeights, align_keys, complete_state,
                         load_checkpoint_weights)
from .io import (SAFETENSORS_SUFFIX, atomic_file, check_safetensors_name,
                 load_runner_checkpoint, load_safetensors,
                 read_pretrained_weights, remove_stale_partial_files,
                 save_weights)
from .state_dicts import (average_state_dicts, strip_ddp_prefix,
                          unwrap_model)
from .third_party import load_third_party_weights
from .trainable import TRAINABLE_ONLY_KEY, trainable_state_dict
from .trust import (UnreadableCheckpointError, UntrustedCheckpointError,
                    load_weights_only)

__all__ = [
    'CheckpointWeights', 'align_keys', 'complete_state',
    'load_checkpoint_weights', 'SAFETENSORS_SUFFIX', 'atomic_file',
    'check_safetensors_name', 'load_runner_checkpoint', 'load_safetensors',
    'read_pretrained_weights', 'remove_stale_partial_files', 'save_weights',
    'average_state_dicts', 'strip_ddp_prefix', 'unwrap_model',
    'load_third_party_weights', 'TRAINABLE_ONLY_KEY', 'trainable_state_dict',
    'UnreadableCheckpointError', 'UntrustedCheckpointError',
    'load_weights_only'
]
