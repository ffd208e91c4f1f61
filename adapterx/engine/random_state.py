"""Random-number-generator state that travels inside runner checkpoints.

mmengine reseeds on resume instead of restoring the generators, so a run
with dropout or drop path draws different masks after a resume than an
uninterrupted run does. The state is stored as plain Python values and
tensors only, so checkpoints that hold it stay loadable with
``torch.load(weights_only=True)``.
"""
import random

import numpy as np
import torch


def seed_generators(seed: int, epoch: int) -> None:
    """Seed Python's, NumPy's and torch's global generators from the run's
    seed and an epoch number."""
    sequence = np.random.SeedSequence([seed, epoch])
    epoch_seed = int(sequence.generate_state(1)[0])
    random.seed(epoch_seed)
    np.random.seed(epoch_seed)
    torch.manual_seed(epoch_seed)


def capture_random_state() -> dict:
    """Return the state of Python's, NumPy's and torch's global generators."""
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            name=name,
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Set the global generators to a state from
    :func:`capture_random_state`."""
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = state['numpy']
    np.random.set_state(
        (numpy_state['name'], numpy_state['keys'].numpy().astype(np.uint32),
         numpy_state['pos'], numpy_state['has_gauss'],
         numpy_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
