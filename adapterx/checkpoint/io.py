"""Reading and writing the weight files adapterx uses, by format.

The weights adapterx writes for later use (trainable-only checkpoints,
converted, merged and averaged weights) are safetensors files: tensors and
JSON metadata, no pickle (:func:`save_weights`), written atomically
(:func:`atomic_file`). :func:`load_runner_checkpoint` reads them, runner
checkpoints and the ``.pth`` files older versions wrote, by extension;
pickles are read weights-only (:mod:`adapterx.checkpoint.trust`).
"""
import contextlib
import json
import os
import os.path as osp
import re

import numpy as np
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from .state_dicts import strip_ddp_prefix
from .trust import (RUNNER_CHECKPOINT_GLOBALS, RUNNER_HOW_TO_TRUST,
                    UnreadableCheckpointError, load_weights_only,
                    restore_log_scalars, runner_checkpoint_types)

SAFETENSORS_SUFFIX = '.safetensors'
# The safetensors metadata entry that holds a file's metadata as JSON.
SAFETENSORS_META_KEY = 'adapterx_meta'


def load_runner_checkpoint(filename, map_location='cpu', trust=False,
                           how_to_trust=RUNNER_HOW_TO_TRUST):
    """Load a runner checkpoint (``epoch_N.pth``), or any other weights
    file adapterx reads, by extension.

    - ``.safetensors`` (what adapterx writes, :func:`save_weights`, and
      third-party safetensors): tensors and JSON metadata, read without
      pickle, as ``{'state_dict': ..., 'meta': ...}``.
    - Anything else is a PyTorch pickle, loaded weights-only with the
      runner's types allowed (see :func:`load_weights_only`, which
      ``trust`` and ``how_to_trust`` are passed to); the message hub's
      statistics come back as HistoryBuffers.
    """
    if str(filename).endswith(SAFETENSORS_SUFFIX):
        return load_safetensors(filename, map_location)
    checkpoint = load_weights_only(
        filename,
        map_location=map_location,
        trust=trust,
        allowed_globals=RUNNER_CHECKPOINT_GLOBALS,
        how_to_trust=how_to_trust)
    restore_log_scalars(checkpoint)
    return checkpoint


# How many key prefixes an error about a missing prefix names.
_MAX_NAMED = 4


def read_pretrained_weights(checkpoint, map_location='cpu', prefix=None,
                            module=None):
    """The state dict of a pretrained weights file (a ``module.`` prefix of
    a DDP-wrapped model removed), the keys under ``prefix`` alone (with it
    removed) if given.

    A local file is read by adapterx's loader: ``.safetensors`` (what the
    converters write) without pickle, ``.pth`` weights-only
    (:func:`load_runner_checkpoint`); a remote one (``http://``, ...) by
    mmengine's.

    Raises:
        ValueError: No key starts with ``prefix``, or, without a prefix, the
            file is a runner checkpoint whose keys are not ``module``'s (the
            whole model's): the message names the file and the fix.
    """
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


def _json_value(value):
    # Dataset metadata may hold NumPy arrays or scalars (palettes, ...).
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f'a {type(value).__name__} cannot be stored as JSON')


def check_safetensors_name(path, what='weights') -> None:
    """Refuse an output name that does not end with ``.safetensors``
    (tools call it before any work; ``what`` says whose file it is)."""
    if not str(path).endswith(SAFETENSORS_SUFFIX):
        raise ValueError(
            f'{path}: {what} are written as safetensors (tensors and JSON '
            'metadata, no pickle, so loading them cannot run code); name '
            f'the file *{SAFETENSORS_SUFFIX}')


def save_weights(path, state_dict, meta=None) -> None:
    """Write ``state_dict`` as a safetensors file, ``meta`` as JSON in its
    metadata; atomically (see :func:`atomic_file`).

    No pickle: loading the file cannot run code, so it needs no trust.

    Raises:
        ValueError: ``path`` does not end with ``.safetensors``, or ``meta``
            holds a value JSON cannot store (the message names the file).
    """
    from safetensors.torch import save_file
    check_safetensors_name(path)
    try:
        metadata = {
            SAFETENSORS_META_KEY: json.dumps(meta or {}, default=_json_value)
        }
    except TypeError as error:
        raise ValueError(f'{path}: the metadata cannot be written as JSON '
                         f'({error})') from error
    # safetensors refuses views and tensors that share memory.
    tensors = {
        key: value.detach().cpu().contiguous().clone()
        for key, value in state_dict.items()
    }
    with atomic_file(path) as temporary:
        save_file(tensors, temporary, metadata=metadata)


def load_safetensors(filename, map_location='cpu') -> dict:
    """``{'state_dict': tensors, 'meta': metadata}`` of a safetensors file
    (the metadata of :func:`save_weights`; ``{}`` for other files).

    Raises:
        UnreadableCheckpointError: The file is truncated, corrupt or no
            safetensors file; the message names it.
    """
    from safetensors import SafetensorError, safe_open
    device = str(map_location) if isinstance(
        map_location, (str, torch.device)) else 'cpu'
    try:
        with safe_open(str(filename), framework='pt', device=device) as file:
            metadata = file.metadata() or {}
            state_dict = {key: file.get_tensor(key) for key in file.keys()}
        meta = json.loads(metadata.get(SAFETENSORS_META_KEY, '{}'))
    except (SafetensorError, json.JSONDecodeError) as error:
        raise UnreadableCheckpointError(
            f'{filename} cannot be read as a safetensors file (truncated, '
            f'corrupt or another kind of file): {error}') from error
    return dict(state_dict=state_dict, meta=meta)


# The temporary name of a file atomic_file writes: hidden, and naming the
# writer, so that one of a killed process can be told from one being written.
PARTIAL_NAME = '.{name}.{pid}.partial'
_PARTIAL = re.compile(r'\..+\.(?P<pid>[0-9]+)\.partial')


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside ``path``; when the block ends without
    error, move it onto ``path`` in one step (``os.replace``).

    A run killed while writing a checkpoint thus leaves the previous file
    under the final name intact, never a truncated one; the temporary file
    of a failed write is removed.

    Raises:
        OSError: Writing failed (a full disk, say); same errno, with a
            message naming ``path`` (the writer's own names only the
            temporary file, or no file at all).
    """
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory,
                             PARTIAL_NAME.format(name=name, pid=os.getpid()))
    try:
        yield temporary
        with open(temporary, 'rb') as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise OSError(
            error.errno,
            f'{error.strerror or error} while writing {path}; the partial '
            'file is removed and the files already saved there are '
            'unchanged') from error
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_partial_files(directory):
    """Remove the temporary files :func:`atomic_file` left in ``directory``
    when its process was killed mid-write (a checkpoint's size each), and
    return their paths. Those of running processes stay."""
    if not os.path.isdir(directory):
        return []
    removed = []
    for name in os.listdir(directory):
        found = _PARTIAL.fullmatch(name)
        if found and not _is_running(int(found['pid'])):
            os.remove(os.path.join(directory, name))
            removed.append(os.path.join(directory, name))
    return removed

