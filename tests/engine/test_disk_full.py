"""A save that fails for lack of space names the file being written and
leaves every file already saved as it was."""
import errno
import os

import pytest
import torch
from mmengine.fileio.backends import LocalBackend

from adapterx.checkpoint import atomic_file

from ..utils import TINY_CONFIG, train_in_process


def fill_the_disk(written_bytes=100):
    """A stand-in for a write that runs out of space after
    ``written_bytes`` bytes, as ``open().write`` would."""

    def write(data, path):
        with open(path, 'wb') as file:
            file.write(data[:written_bytes])
        raise OSError(errno.ENOSPC, 'No space left on device')

    return write


def test_atomic_file_names_the_destination_and_keeps_it(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'epoch': 1}, path)
    with pytest.raises(OSError) as error:
        with atomic_file(path) as temporary:
            fill_the_disk()(b'x' * 1000, temporary)
    assert error.value.errno == errno.ENOSPC
    assert str(error.value) == (
        f'[Errno 28] No space left on device while writing {path}; the '
        'partial file is removed and the files already saved there are '
        'unchanged')
    assert torch.load(path) == {'epoch': 1}
    assert [p.name for p in tmp_path.iterdir()] == ['model.pth']


def test_other_errors_keep_their_type(tmp_path):
    with pytest.raises(PermissionError, match=f'while writing {tmp_path}'):
        with atomic_file(tmp_path / 'model.pth'):
            raise PermissionError(errno.EACCES, 'Permission denied')


@pytest.mark.slow
def test_full_disk_during_training_names_the_checkpoint(
        tmp_path, tiny_image_root, monkeypatch):
    work_dir = tmp_path / 'run'
    put = LocalBackend.put

    def put_until_epoch_2(backend, data, path):
        # The temporary name atomic_file gives epoch_2.pth.
        if os.path.basename(path).startswith('.epoch_2.pth.'):
            return fill_the_disk()(data, path)
        return put(backend, data, path)

    monkeypatch.setattr(LocalBackend, 'put', put_until_epoch_2)
    with pytest.raises(OSError) as error:
        train_in_process(TINY_CONFIG, work_dir, tiny_image_root)
    assert error.value.errno == errno.ENOSPC
    assert f'while writing {work_dir / "epoch_2.pth"};' in str(error.value)
    saved = sorted(path.name for path in work_dir.iterdir()
                   if path.suffix == '.pth')
    assert saved == ['epoch_1.pth']
    epoch_1 = torch.load(work_dir / 'epoch_1.pth', weights_only=False)
    assert epoch_1['meta']['epoch'] == 1
    assert (work_dir / 'last_checkpoint').read_text().endswith('epoch_1.pth')
