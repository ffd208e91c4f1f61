"""Resuming from a checkpoint whose optimizer state does not fit names the
file and the cause instead of torch's bare optimizer-state error."""
import pytest

from ..utils import TINY_CONFIG, train_in_process

pytestmark = pytest.mark.slow  # every test here starts training


def test_resume_with_other_parameter_groups_names_the_file(
        tmp_path, tiny_image_root):
    work_dir = tmp_path / 'run'
    train_in_process(TINY_CONFIG, work_dir, tiny_image_root,
                     **{'train_cfg.max_epochs': 1})
    checkpoint = work_dir / 'epoch_1.pth'
    before = checkpoint.read_bytes()
    with pytest.raises(ValueError) as error:
        # The same model in the same work dir, --resume, with one optimizer
        # group in all instead of the schedule's one per parameter.
        train_in_process(
            TINY_CONFIG, work_dir, tiny_image_root, resume=True,
            **{'optim_wrapper.paramwise_cfg': None})
    assert str(error.value) == (
        f'{checkpoint} was written by a run whose optimizer held other '
        'parameters or parameter groups (another method, trainable set or '
        'optim_wrapper.paramwise_cfg): its state does not fit this run\'s '
        'optimizer (loaded state dict has a different number of parameter '
        'groups). Resume only from runs of this config (give each method '
        'its own --work-dir); to start from the weights alone, use '
        'load_from.')
    assert checkpoint.read_bytes() == before


def test_other_errors_while_resuming_pass_unchanged(tmp_path,
                                                    tiny_image_root):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='epoch_1.pth cannot be read') \
            as error:
        train_in_process(TINY_CONFIG, work_dir, tiny_image_root,
                         resume=True, load_from=str(work_dir / 'epoch_1.pth'))
    assert 'optimizer' not in str(error.value)
