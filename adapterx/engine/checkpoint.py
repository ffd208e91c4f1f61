"""Loading the runner checkpoints adapterx writes, under torch >= 2.6.

torch.load defaults to ``weights_only=True``, which refuses the message-hub
state mmengine stores in every runner checkpoint. Rather than unpickling such
files in full, :func:`runner_checkpoint_types` allows, for one load only, the
few globals those checkpoints are made of. A file that needs anything else is
refused with the name of the global at fault; ``trust_checkpoint=True`` in
the config (``--trust-checkpoint`` on the command line) loads it with full
unpickling, for that file alone.
"""
import contextlib
import os
import pickle
import re
import struct

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

# What mmengine 0.10's runner checkpoints reference besides tensors:
# HistoryBuffer (message hub), its statistics methods, which pickle as
# getattr(HistoryBuffer, 'mean') and the like, and the NumPy arrays and
# scalars it and the runtime info hold. getattr only reads attributes: the
# weights-only unpickler still refuses to call anything not listed here.
RUNNER_CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    getattr,
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


def load_weights_only(filename, map_location='cpu', trust=False,
                      allowed_globals=(), how_to_trust='trust=True'):
    """``torch.load`` with ``weights_only=True``, or in full if trusted.

    Args:
        filename (str): Path of the file.
        map_location: As for :func:`torch.load`.
        trust (bool): Unpickle the file in full if it needs more than
            tensors and ``allowed_globals``. Full unpickling can run
            arbitrary code: only for files whose origin you trust.
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
            found = re.search(r'Unsupported global: GLOBAL (\S+)', str(error))
            if found is None and 'Weights only load failed' not in str(error):
                raise _unreadable(filename, error) from error
            if not trust:
                what = f'the global {found.group(1)}' if found else \
                    'objects other than tensors'
                raise UntrustedCheckpointError(
                    f'{filename} needs full unpickling ({what}), which can '
                    'run arbitrary code; refused. If you trust the origin '
                    f'of the file: {how_to_trust}.') from error
        except _UNREADABLE_ERRORS as error:
            raise _unreadable(filename, error) from error
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    except _UNREADABLE_ERRORS as error:
        raise _unreadable(filename, error) from error


RUNNER_HOW_TO_TRUST = ('trust_checkpoint=True in the config '
                       '(--trust-checkpoint)')


def load_runner_checkpoint(filename, map_location='cpu', trust=False,
                           how_to_trust=RUNNER_HOW_TO_TRUST):
    """Load a runner checkpoint (``epoch_N.pth``) with weights-only
    unpickling and the runner's types allowed (see
    :func:`load_weights_only`; ``how_to_trust`` names the caller's own
    trust setting)."""
    return load_weights_only(
        filename,
        map_location=map_location,
        trust=trust,
        allowed_globals=RUNNER_CHECKPOINT_GLOBALS,
        how_to_trust=how_to_trust)


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
