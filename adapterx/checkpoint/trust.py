"""What reading a pickled weight file may run, and nothing more.

Runner checkpoints (``epoch_N.pth``) are pickles: torch >= 2.6 loads them
with ``weights_only=True``, which refuses the message-hub state mmengine
stores in every one. Rather than unpickling such files in full,
:func:`runner_checkpoint_types` allows, for one load only, the few globals
those checkpoints are made of. A file that needs anything else is refused
with the name of the global at fault; ``trust_checkpoint=True`` in the
config (``--trust-checkpoint`` on the command line) loads it with full
unpickling, for that file alone, with a warning that names the file and
the globals it holds (:func:`load_weights_only`).
"""
import contextlib
import io
import logging
import pickle
import pickletools
import re
import struct
import zipfile
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.logging.history_buffer import HistoryBuffer

from adapterx.utils.stored_config import read_stored_config

# The statistics methods mmengine registers on every HistoryBuffer; it
# pickles them with each buffer as getattr(HistoryBuffer, 'mean') and the
# like, in the runner checkpoints it wrote before adapterx stored the
# message hub's buffers as plain arrays (see plain_log_scalars).
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


class _PickledHistoryBuffer(HistoryBuffer):
    """What a HistoryBuffer pickled by mmengine loads as under the
    weights-only unpickler; :func:`restore_log_scalars` turns it back into
    a HistoryBuffer.

    mmengine's ``__setstate__`` registers the statistics methods stored in
    the file on the HistoryBuffer class, for every buffer of the process:
    a file must not choose what ``statistics('mean')`` calls, so they are
    dropped (the defaults are HistoryBuffer's own).
    """

    def __setstate__(self, state):
        state = dict(state)
        state.pop('statistics_methods', None)
        self.__dict__.update(state)


def _history_buffer_statistic(owner, name):
    """The getattr of old runner checkpoints, restricted to reading a
    HistoryBuffer statistics method: through a free getattr a file could
    reach any attribute of an allowed class (functions' ``__globals__``,
    modules, ``builtins.eval``)."""
    if owner is _PickledHistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    owner_name = 'HistoryBuffer' if owner is _PickledHistoryBuffer else \
        getattr(owner, '__qualname__', type(owner).__name__)
    raise pickle.UnpicklingError(
        f'getattr({owner_name}, {name!r}) is refused: runner checkpoints use getattr only for '
        f'the HistoryBuffer statistics {", ".join(HISTORY_BUFFER_STATISTICS)}')


# What mmengine 0.10's runner checkpoints reference besides tensors: the
# NumPy arrays and scalars the message hub and runtime info hold and, in
# files written before plain_log_scalars, HistoryBuffer and getattr
# (both replaced by the restricted versions above, under their names).
RUNNER_CHECKPOINT_GLOBALS = [
    (_PickledHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (_history_buffer_statistic, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    np.dtypes.Float64DType,
    np.dtypes.Float32DType,
    np.dtypes.Int64DType,
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
]


@contextlib.contextmanager
def runner_checkpoint_types():
    """Allow the globals of :data:`RUNNER_CHECKPOINT_GLOBALS` inside the
    block (scoped: ``torch.load`` calls elsewhere are unaffected)."""
    with torch.serialization.safe_globals(RUNNER_CHECKPOINT_GLOBALS):
        yield


# The keys a message-hub HistoryBuffer is stored under in the checkpoints
# adapterx writes (plain arrays: nothing to unpickle but NumPy's).
_PLAIN_HISTORY_KEYS = ('log_history', 'count_history', 'max_length')


def plain_log_scalars(checkpoint: dict) -> None:
    """Store the message hub's HistoryBuffers of a runner checkpoint about
    to be saved as plain arrays, in place: pickled as they are, they carry
    getattr references to their statistics methods, which loading would
    have to allow."""
    log_scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
    for key, value in log_scalars.items():
        if isinstance(value, HistoryBuffer):
            log_scalars[key] = dict(
                zip(_PLAIN_HISTORY_KEYS,
                    (value._log_history, value._count_history,
                     value.max_length)))


def restore_log_scalars(checkpoint) -> None:
    """Make the message hub's entries of a loaded runner checkpoint
    HistoryBuffers again, in place (see :func:`plain_log_scalars` and
    :class:`_PickledHistoryBuffer`)."""
    if not isinstance(checkpoint, dict) or not isinstance(
            checkpoint.get('message_hub'), dict):
        return
    log_scalars = checkpoint['message_hub'].get('log_scalars', {})
    for key, value in log_scalars.items():
        if isinstance(value, dict) and tuple(value) == _PLAIN_HISTORY_KEYS:
            log_scalars[key] = HistoryBuffer(*value.values())
        elif isinstance(value, _PickledHistoryBuffer):
            log_scalars[key] = HistoryBuffer(value._log_history,
                                             value._count_history,
                                             value.max_length)


class UntrustedCheckpointError(RuntimeError):
    """A file needs unpickling beyond tensors and the allowed types."""


class UnreadableCheckpointError(ValueError):
    """A file is not a PyTorch checkpoint that can be read (truncated,
    corrupt, or another kind of file)."""


# What torch.load raises on a file that is not a readable checkpoint: its
# zip reader (RuntimeError) and, for other bytes, the legacy format's
# unpickler (EOFError, struct.error, KeyError on an unknown opcode, ...).
_UNREADABLE_ERRORS = (RuntimeError, EOFError, KeyError, ValueError,
                      struct.error, pickle.UnpicklingError)


def _unreadable(filename, error) -> UnreadableCheckpointError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() \
        else type(error).__name__
    return UnreadableCheckpointError(
        f'{filename} cannot be read as a PyTorch checkpoint (truncated, '
        f'corrupt or not a .pth file): {reason}')


def pickle_globals(filename) -> list:
    """The globals (``module.name``) the pickle of a PyTorch file names,
    read from its GLOBAL / STACK_GLOBAL opcodes without unpickling it.

    What full unpickling would import and may call; ``torch.save``'s own
    (``torch._utils._rebuild_tensor_v2``, storages) included."""
    if zipfile.is_zipfile(filename):
        with zipfile.ZipFile(filename) as archive:
            streams = [
                io.BytesIO(archive.read(name))
                for name in archive.namelist() if name.endswith('data.pkl')
            ]
        # One pickle per stream.
        pickles_per_stream = 1
    else:
        with open(filename, 'rb') as file:
            streams = [io.BytesIO(file.read())]
        # The legacy format: magic number, protocol, system info, the
        # object, storage keys, then raw storage bytes.
        pickles_per_stream = 5
    found = set()
    for stream in streams:
        for _ in range(pickles_per_stream):
            try:
                found.update(_globals_of(pickletools.genops(stream)))
            except (ValueError, EOFError):
                break
    return sorted(found)


def _globals_of(opcodes):
    # STACK_GLOBAL takes module and name from the stack: follow the strings
    # pushed, directly or through the memo.
    memo, pushed = {}, [None, None]
    for opcode, argument, _ in opcodes:
        if opcode.name == 'GLOBAL':
            yield _python3_name(*argument.split(' ', 1))
        elif opcode.name == 'STACK_GLOBAL':
            yield _python3_name(str(pushed[-2]), str(pushed[-1]))
        if opcode.name in ('PUT', 'BINPUT', 'LONG_BINPUT'):
            memo[argument] = pushed[-1]
        elif opcode.name == 'MEMOIZE':
            memo[len(memo)] = pushed[-1]
        elif opcode.name in ('GET', 'BINGET', 'LONG_BINGET'):
            pushed.append(memo.get(argument))
        else:
            pushed.append(argument if isinstance(argument, str) else None)


def _python3_name(module, name):
    # Protocol 2 pickles name Python 2 modules (__builtin__.getattr).
    module, name = NAME_MAPPING.get((module, name), (module, name))
    return f'{IMPORT_MAPPING.get(module, module)}.{name}'


def _refusal_reason(error) -> str:
    """What torch's weights-only unpickler refused, from its message: the
    global, or the paragraph between its boilerplate ones."""
    message = str(error)
    found = re.search(r'Unsupported global: GLOBAL (\S+)', message)
    if found:
        return f'the global {found.group(1)}'
    details = [
        paragraph.strip() for paragraph in message.split('\n\n')[1:]
        if paragraph.strip()
        and not paragraph.strip().startswith('Check the documentation')
    ]
    return ' '.join(details) or 'objects other than tensors'


def load_weights_only(filename, map_location='cpu', trust=False,
                      allowed_globals=(), how_to_trust='trust=True'):
    """``torch.load`` with ``weights_only=True``, or in full if trusted.

    Args:
        filename (str): Path of the file.
        map_location: As for :func:`torch.load`.
        trust (bool): Unpickle the file in full if it needs more than
            tensors and ``allowed_globals``. Full unpickling can run
            arbitrary code: only for files whose origin you trust. It logs
            a warning that names the file and the globals it holds.
        allowed_globals (Sequence): Types and functions allowed for this
            one load (scoped; ``torch.load`` elsewhere is unaffected).
        how_to_trust (str): How the caller's user says ``trust``, for the
            error message.

    Raises:
        UntrustedCheckpointError: The file needs other globals and ``trust``
            is False; the message names the file and the global.
        UnreadableCheckpointError: The file is truncated, corrupt or no
            PyTorch checkpoint; the message names it.
    """
    with torch.serialization.safe_globals(list(allowed_globals)):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            if 'Weights only load failed' not in str(error):
                raise _unreadable(filename, error) from error
            if not trust:
                raise UntrustedCheckpointError(
                    f'{filename} needs full unpickling '
                    f'({_refusal_reason(error)}), which can run arbitrary '
                    'code; refused. If you trust the origin of the file: '
                    f'{how_to_trust}.') from error
        except _UNREADABLE_ERRORS as error:
            raise _unreadable(filename, error) from error
    print_log(
        f'Fully unpickling {filename} (trusted): it can run any code it '
        f'names. Globals in the file: {", ".join(pickle_globals(filename))}',
        logger='current',
        level=logging.WARNING)
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    except _UNREADABLE_ERRORS as error:
        raise _unreadable(filename, error) from error


RUNNER_HOW_TO_TRUST = ('trust_checkpoint=True in the config '
                       '(--trust-checkpoint)')



def drop_stored_config(checkpoint, filename):
    """Remove ``meta['config']`` from a loaded checkpoint, in place, and
    return the ``gpu_ids`` it sets, read as plain data (or None).

    mmengine's ``Runner.resume`` executes that text
    (``Config.fromstring``) to read ``gpu_ids``: any code in a file's
    metadata would run. mmengine itself stores the config under
    ``meta['cfg']``, which nothing executes.

    Raises:
        StoredConfigError: ``gpu_ids`` is set to something other than
            plain data; the message names the file.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict) or 'config' not in meta:
        return None
    text = meta.pop('config')
    if not isinstance(text, str):
        return None
    return read_stored_config(text, f"{filename} (meta['config'])",
                              ['gpu_ids']).get('gpu_ids')

