"""--resume without a file: a missing or damaged last checkpoint falls back
to the newest readable one before it, never past one that needs trust."""
import shutil

import pytest
import torch

from adapterx.checkpoint import (UnreadableCheckpointError,
                                 UntrustedCheckpointError,
                                 load_runner_checkpoint)
from adapterx.registry import RUNNERS
from ..utils import TINY_CONFIG, data_root_options, train

pytestmark = pytest.mark.slow  # every test here starts training


@pytest.fixture(scope='module')
def two_epochs(tmp_path_factory, tiny_image_root):
    """A finished run: epoch_1.pth, epoch_2.pth and the pointer to it."""
    work_dir = tmp_path_factory.mktemp('two_epochs') / 'run'
    train(TINY_CONFIG, work_dir, data_root=tiny_image_root)
    return work_dir


@pytest.fixture
def work_dir(two_epochs, tmp_path):
    """A copy of the finished run whose pointer names the copy."""
    copy = tmp_path / 'run'
    shutil.copytree(two_epochs, copy)
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_2.pth'))
    return copy


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def runner_resuming(work_dir, data_root, load_from=None, **cfg_options):
    from mmengine.config import Config
    cfg = Config.fromfile(str(TINY_CONFIG))
    cfg.merge_from_dict(
        dict(option.split('=') for option in data_root_options(data_root)))
    cfg.merge_from_dict(cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.resume = True
    cfg.load_from = load_from and str(load_from)
    return RUNNERS.build(cfg)


@pytest.mark.parametrize('damage', [truncate, lambda path: path.unlink()],
                         ids=['truncated', 'missing'])
def test_falls_back_to_the_newest_readable_checkpoint(work_dir,
                                                      tiny_image_root,
                                                      damage):
    damage(work_dir / 'epoch_2.pth')
    # Newer by its step, but left by another run in the same work dir: the
    # pointer names epoch_2.pth, so only earlier steps may stand in for it.
    shutil.copyfile(work_dir / 'epoch_1.pth', work_dir / 'epoch_3.pth')
    log = train(TINY_CONFIG, work_dir, '--resume', data_root=tiny_image_root)
    last, used = work_dir / 'epoch_2.pth', work_dir / 'epoch_1.pth'
    assert (f'Resumed from the newest readable checkpoint, {used}, instead '
            f'of the last one: {last} ') in log
    assert 'resumed epoch: 1' in log
    # Epoch 2 trained again and saved whole over the damaged file.
    assert load_runner_checkpoint(str(last))['meta']['epoch'] == 2
    assert (work_dir / 'last_checkpoint').read_text() == str(last)


def test_a_checkpoint_that_needs_trust_is_not_skipped(work_dir,
                                                      tiny_image_root):
    checkpoint = torch.load(work_dir / 'epoch_2.pth', weights_only=False)
    checkpoint['meta']['extra'] = torch.nn.Identity()  # needs unpickling
    torch.save(checkpoint, work_dir / 'epoch_2.pth')
    runner = runner_resuming(work_dir, tiny_image_root)
    with pytest.raises(UntrustedCheckpointError,
                       match=f'{work_dir / "epoch_2.pth"} needs full '
                       r'unpickling .*\(--trust-checkpoint\)'):
        runner.train()


def test_a_damaged_file_given_to_resume_is_an_error_naming_it(
        work_dir, tiny_image_root):
    truncate(work_dir / 'epoch_2.pth')
    runner = runner_resuming(work_dir, tiny_image_root,
                             load_from=work_dir / 'epoch_2.pth')
    with pytest.raises(UnreadableCheckpointError,
                       match=f'^{work_dir / "epoch_2.pth"} cannot be read'):
        runner.train()


def test_no_readable_checkpoint_names_each(work_dir, tiny_image_root):
    truncate(work_dir / 'epoch_2.pth')
    truncate(work_dir / 'epoch_1.pth')
    runner = runner_resuming(work_dir, tiny_image_root)
    with pytest.raises(UnreadableCheckpointError) as error:
        runner.train()
    message = str(error.value)
    assert message.startswith(
        f'No checkpoint to resume from in {work_dir}: '
        f'{work_dir / "epoch_2.pth"} cannot be read')
    assert f'; {work_dir / "epoch_1.pth"} cannot be read' in message
    assert message.endswith('Start anew without --resume, or give another '
                            'checkpoint with --resume FILE.')
