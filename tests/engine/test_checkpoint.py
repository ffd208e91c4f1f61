import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from adapterx.checkpoint import (UnreadableCheckpointError,
                                 UntrustedCheckpointError, atomic_file,
                                 load_runner_checkpoint, load_weights_only)
from adapterx.engine import capture_random_state, restore_random_state


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


@pytest.mark.parametrize('damage', ['truncated', 'legacy_truncated',
                                    'not_a_checkpoint', 'empty'])
def test_unreadable_file_is_named(tmp_path, damage):
    """A damaged or foreign file is reported as such, with its name, not as
    a raw reader error, and not as a file that needs trust."""
    path = tmp_path / 'weights.pth'
    torch.save({'w': torch.ones(4)}, path,
               _use_new_zipfile_serialization=damage != 'legacy_truncated')
    data = path.read_bytes()
    path.write_bytes({
        'truncated': data[:len(data) // 2],
        'legacy_truncated': data[:40],
        'not_a_checkpoint': b'hello world' * 10,
        'empty': b'',
    }[damage])
    for trust in (False, True):
        with pytest.raises(UnreadableCheckpointError, match=str(path)):
            load_weights_only(str(path), trust=trust)


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
