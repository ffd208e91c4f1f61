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
    """A checkpoint needs unpickling beyond tensors and the runner's types."""


def load_runner_checkpoint(filename, map_location='cpu', trust=False):
    """Load a runner checkpoint (``epoch_N.pth``) with weights-only
    unpickling.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As for :func:`torch.load`.
        trust (bool): Unpickle the file in full if it needs more than the
            runner's types. Only for files whose origin you trust: full
            unpickling can run arbitrary code.

    Raises:
        UntrustedCheckpointError: The file needs other globals and ``trust``
            is False; the message names the file and the global.
    """
    with runner_checkpoint_types():
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except Exception as error:  # torch raises pickle.UnpicklingError
            if not trust:
                raise UntrustedCheckpointError(
                    f'{filename} needs unpickling beyond tensors and the '
                    f'types of runner checkpoints: {error}. Load it only if '
                    'you trust its origin, with trust_checkpoint=True in the '
                    'config (--trust-checkpoint).') from error
    return torch.load(filename, map_location=map_location, weights_only=False)
