"""Load weight files published by third parties without trusting them.

``.npz`` archives are read with ``allow_pickle=False`` and ``.safetensors``
files hold raw tensors only, so neither can run code. PyTorch pickles
(``.pth``, ``.pt``, ``.bin``) are read with ``torch.load(weights_only=True)``;
a file that needs more than tensors and plain containers (a training
checkpoint that pickled its ``argparse.Namespace``, say) is refused unless the
caller passes ``trust=True`` for that file. torch's global allowlist
(``torch.serialization.add_safe_globals``) is never touched.

Importing this module also teaches mmengine's checkpoint loader (and so
``init_cfg=dict(type='Pretrained', checkpoint='x.safetensors')``) to read
local ``.safetensors`` files, which it would otherwise hand to ``torch.load``.
"""
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from .io import load_safetensors
from .state_dicts import strip_ddp_prefix
from .trust import UnreadableCheckpointError, load_weights_only

NUMPY_SUFFIXES = ('.npz', )
SAFETENSORS_SUFFIXES = ('.safetensors', )
TORCH_SUFFIXES = ('.pth', '.pt', '.bin')
ACCEPTED_SUFFIXES = NUMPY_SUFFIXES + SAFETENSORS_SUFFIXES + TORCH_SUFFIXES

# Keys under which training scripts nest the weights: timm's train.py and
# mmengine use 'state_dict', DeiT/MAE-style scripts 'model', some DDP
# pipelines 'module', Point-BERT / Point-MAE 'base_model'.
STATE_DICT_CONTAINERS = ('state_dict', 'model', 'module', 'base_model')


def load_third_party_weights(path, trust=False):
    """Read the tensors of a third-party weight file.

    Args:
        path (str | Path): A ``.npz`` (Google JAX/Flax), ``.safetensors`` or
            ``.pth``/``.pt``/``.bin`` (PyTorch pickle) file.
        trust (bool): Unpickle a PyTorch file in full if it holds more than
            tensors. Full unpickling can run arbitrary code: only for files
            whose origin you trust. Ignored for the other formats, which
            cannot hold code.

    Returns:
        dict[str, torch.Tensor]: The weights, unwrapped from a
        ``state_dict`` / ``model`` / ``module`` container if the file has
        one, with the file's own key names less the ``module.`` of a
        DDP-wrapped save.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Unknown extension, or the file holds non-tensor values
            where weights are expected.
        UntrustedCheckpointError: A PyTorch file needs full unpickling and
            ``trust`` is False.
        UnreadableCheckpointError: The file is truncated or corrupt.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise ValueError(f'{path}: unknown weight file type {suffix!r}; '
                         f'accepted: {", ".join(ACCEPTED_SUFFIXES)}')
    if not path.is_file():
        raise FileNotFoundError(
            f'{path} does not exist (expected a weight file: '
            f'{", ".join(ACCEPTED_SUFFIXES)})')

    if suffix in SAFETENSORS_SUFFIXES:
        weights = load_safetensors(path)['state_dict']
    elif suffix in NUMPY_SUFFIXES:
        weights = _read_npz(path)
    else:
        checkpoint = load_weights_only(
            path, trust=trust, how_to_trust='trust=True (--trust on the '
            'command line)')
        weights = _tensors_only(path, _unwrap(checkpoint))
    # A file saved from a DDP-wrapped model: its keys are the model's.
    return strip_ddp_prefix(weights)


def _read_npz(path):
    """The arrays of a ``.npz`` file, as tensors, read without pickle.

    Raises:
        UnreadableCheckpointError: The file is truncated, corrupt, of
            another kind or holds pickled objects; the message names it.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: torch.from_numpy(archive[key]) for key in archive}
    # zipfile's BadZipFile and zlib's error for a cut or damaged archive,
    # ValueError for one holding pickled objects.
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError,
            ValueError) as error:
        raise UnreadableCheckpointError(
            f'{path} cannot be read as a .npz file (truncated, corrupt or '
            f'another kind of file): {error}') from None


# mmengine picks a loader by matching the path against these patterns; this
# one takes local paths ending in .safetensors and leaves URLs (``...://``)
# to their own loaders.
@CheckpointLoader.register_scheme(prefixes=r'(?!\S*://).*\.safetensors$')
def load_from_safetensors(filename, map_location=None):
    """A local ``.safetensors`` file as adapterx reads it everywhere
    (:func:`~adapterx.checkpoint.io.load_safetensors`): tensors and the
    JSON metadata, no pickle."""
    return load_safetensors(filename, map_location or 'cpu')


def _unwrap(checkpoint):
    """Descend into the first weights container found, level by level."""
    while isinstance(checkpoint, dict):
        container = next((key for key in STATE_DICT_CONTAINERS
                          if isinstance(checkpoint.get(key), dict)), None)
        if container is None:
            break
        checkpoint = checkpoint[container]
    return checkpoint


def _tensors_only(path, state_dict):
    if not isinstance(state_dict, dict):
        raise ValueError(f'{path} holds a {type(state_dict).__name__}, not '
                         'a dict of weights')
    others = [key for key, value in state_dict.items()
              if not isinstance(value, torch.Tensor)]
    if others:
        raise ValueError(f'{path}: expected only tensors, but these entries '
                         f'are not: {others}')
    return dict(state_dict)
