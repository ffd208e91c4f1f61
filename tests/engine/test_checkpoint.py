import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from adapterx.engine import (capture_random_state, load_runner_checkpoint,
                             restore_random_state)
from adapterx.engine.checkpoint import UntrustedCheckpointError, atomic_file


class NotATensor:
    """A class no weights-only load may construct."""

    def __init__(self, value):
        self.value = value


def runner_like_checkpoint():
    history = HistoryBuffer()
    history.update(1.5)
    return dict(
        meta=dict(epoch=1, random_state=capture_random_state()),
        state_dict={'weight': torch.arange(4.)},
        message_hub=dict(log_scalars={'train/loss': history}))


def test_runner_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(runner_like_checkpoint(), path)
    loaded = load_runner_checkpoint(str(path))
    assert torch.equal(loaded['state_dict']['weight'], torch.arange(4.))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5


def test_allowed_types_are_scoped_to_the_load(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(runner_like_checkpoint(), path)
    load_runner_checkpoint(str(path))
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(path, weights_only=True)


def test_arbitrary_pickle_is_refused_unless_trusted(tmp_path):
    path = tmp_path / 'foreign.pth'
    torch.save({'payload': NotATensor(3)}, path)
    with pytest.raises(UntrustedCheckpointError) as error:
        load_runner_checkpoint(str(path))
    assert str(path) in str(error.value)
    assert 'NotATensor' in str(error.value)
    assert 'trust_checkpoint' in str(error.value)
    assert load_runner_checkpoint(str(path), trust=True)['payload'].value == 3


def test_random_state_round_trip():
    state = capture_random_state()
    expected = (torch.rand(3), torch.randint(0, 10**6, (1, )).item(),
                np.random.rand(), random.random())
    restore_random_state(state)
    assert torch.equal(torch.rand(3), expected[0])
    assert torch.randint(0, 10**6, (1, )).item() == expected[1]
    assert np.random.rand() == expected[2]
    assert random.random() == expected[3]


def test_atomic_file_replaces_only_when_complete(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    torch.save({'epoch': 1}, path)
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(path) as temporary:
            with open(temporary, 'wb') as file:
                file.write(b'half a checkp')  # killed mid-write
            raise KeyboardInterrupt
    assert torch.load(path) == {'epoch': 1}
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_2.pth']

    with atomic_file(path) as temporary:
        torch.save({'epoch': 2}, temporary)
    assert torch.load(path) == {'epoch': 2}
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_2.pth']
