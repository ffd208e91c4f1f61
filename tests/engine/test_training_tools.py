"""The training tools as a user runs them: tools/train.py, tools/test.py,
tools/dist_train.sh, on the tiny config and a generated image folder."""
import os
import pickle
import subprocess
import sys

import torch

from adapterx.engine import load_runner_checkpoint
from ..utils import (REPO_ROOT, TINY_CONFIG, data_root_options, run_tool,
                        train)


def model_weights(checkpoint_path):
    return load_runner_checkpoint(str(checkpoint_path))['state_dict']


def assert_same_weights(first, second):
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_two_epoch_training_then_test(tmp_path, tiny_image_root):
    work_dir = tmp_path / 'run'
    log = train(TINY_CONFIG, work_dir, data_root=tiny_image_root)
    assert 'Epoch(train) [2][4/4]' in log
    assert 'accuracy/top1' in log
    assert (work_dir / 'epoch_2.pth').is_file()
    initial = torch.load(work_dir / 'epoch_1.pth', weights_only=False)
    final = model_weights(work_dir / 'epoch_2.pth')
    assert not torch.equal(initial['state_dict']['head.layers.head.weight'],
                           final['head.layers.head.weight'])

    predictions = tmp_path / 'predictions.pkl'
    output = run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py',
                      TINY_CONFIG, work_dir / 'epoch_2.pth', '--work-dir',
                      tmp_path / 'test', '--out', predictions,
                      '--cfg-options', *data_root_options(tiny_image_root))
    assert "{'accuracy/top1':" in output
    with open(predictions, 'rb') as file:
        samples = pickle.load(file)
    assert len(samples) == 16  # 4 classes x 4 test images
    assert {'pred_label', 'gt_label'} <= set(samples[0])


def test_resume_reaches_the_same_weights(tmp_path, tiny_image_root):
    uninterrupted = tmp_path / 'uninterrupted'
    train(TINY_CONFIG, uninterrupted, data_root=tiny_image_root)

    # Stop after epoch 1 (the schedule still spans two epochs), then resume.
    interrupted = tmp_path / 'interrupted'
    train(TINY_CONFIG, interrupted, 'train_cfg.max_epochs=1',
          data_root=tiny_image_root)
    assert not (interrupted / 'epoch_2.pth').exists()
    log = train(TINY_CONFIG, interrupted, '--resume',
                data_root=tiny_image_root)
    assert 'resumed epoch: 1' in log

    assert_same_weights(
        model_weights(uninterrupted / 'epoch_2.pth'),
        model_weights(interrupted / 'epoch_2.pth'))


def test_load_from_accepts_a_runner_checkpoint(tmp_path, tiny_image_root):
    first = tmp_path / 'first'
    train(TINY_CONFIG, first, data_root=tiny_image_root)
    log = train(TINY_CONFIG, tmp_path / 'second',
                f'load_from={first / "epoch_2.pth"}',
                'train_cfg.max_epochs=1',
                data_root=tiny_image_root)
    assert f'Load checkpoint from {first / "epoch_2.pth"}' in log


def test_two_process_gloo_training(tmp_path, tiny_image_root):
    work_dir = tmp_path / 'dist'
    log = run_tool(REPO_ROOT / 'tools' / 'dist_train.sh', TINY_CONFIG, 2,
                   '--work-dir', work_dir, '--cfg-options',
                   *data_root_options(tiny_image_root))
    # Each rank sees half of the 32 training images: 2 iterations of 8.
    assert 'Epoch(train) [2][2/2]' in log
    # RankConsistencyHook compares every tensor with rank 0's at the end.
    assert 'All 2 ranks hold identical weights' in log
    assert (work_dir / 'epoch_2.pth').is_file()


KILL_DURING_SAVE = '''
import os

import mmengine.runner.runner as runner_module

save_checkpoint = runner_module.save_checkpoint


def killed_while_writing_epoch_2(checkpoint, filepath, **kwargs):
    if checkpoint['meta']['epoch'] == 2:
        with open(filepath, 'wb') as file:
            file.write(b'the first bytes of a checkpoint')
        os._exit(137)  # as SIGKILL would: no cleanup, no exception
    return save_checkpoint(checkpoint, filepath, **kwargs)


runner_module.save_checkpoint = killed_while_writing_epoch_2
'''


def test_kill_during_save_leaves_the_last_checkpoint_usable(
        tmp_path, tiny_image_root):
    (tmp_path / 'kill_during_save.py').write_text(KILL_DURING_SAVE)
    config = tmp_path / 'killed.py'
    config.write_text(f"_base_ = ['{TINY_CONFIG}']\n"
                      "custom_imports = dict(imports=['kill_during_save'])\n")
    work_dir = tmp_path / 'run'
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    killed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', config,
         '--work-dir', work_dir, '--cfg-options',
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr[-3000:]

    # Only complete checkpoints carry checkpoint names.
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_1.pth']
    assert model_weights(work_dir / 'epoch_1.pth')
    [partial] = work_dir.glob('.epoch_2.pth.*.partial')
    log = train(TINY_CONFIG, work_dir, '--resume', data_root=tiny_image_root)
    assert 'resumed epoch: 1' in log
    assert (work_dir / 'epoch_2.pth').is_file()
    # The killed writer's temporary file is removed when training restarts.
    assert f'Removed {partial}' in log
    assert not list(work_dir.glob('.*.partial'))


KILL_AT_ITERATION_7 = '''
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class KillAtIteration7(Hook):

    def after_train_iter(self, runner, **kwargs):
        if runner.iter + 1 == 7:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path, tiny_image_root):
    """4 iterations per epoch, checkpoints every 3 iterations: killed after
    iteration 7 (the middle of epoch 2), resumed from iteration 6."""
    every_3_iterations = ['default_hooks.checkpoint.by_epoch=False',
                          'default_hooks.checkpoint.interval=3',
                          'default_hooks.checkpoint.max_keep_ckpts=5']
    uninterrupted = tmp_path / 'uninterrupted'
    train(TINY_CONFIG, uninterrupted, *every_3_iterations,
          data_root=tiny_image_root)

    (tmp_path / 'kill_at_iteration_7.py').write_text(KILL_AT_ITERATION_7)
    config = tmp_path / 'killed.py'
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}']\n"
        "custom_imports = dict(imports=['kill_at_iteration_7'])\n"
        "custom_hooks = [dict(type='KillAtIteration7')]\n")
    interrupted = tmp_path / 'interrupted'
    killed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', config,
         '--work-dir', interrupted, '--cfg-options', *every_3_iterations,
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(tmp_path)),
        capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert sorted(p.name for p in interrupted.glob('*.pth')) == [
        'iter_3.pth', 'iter_6.pth']

    log = train(TINY_CONFIG, interrupted, '--resume', *every_3_iterations,
                data_root=tiny_image_root)
    assert 'resumed epoch: 1, iter: 6' in log
    assert 'Epoch(train) [2][1/4]' not in log  # no batch trained twice
    assert_same_weights(model_weights(uninterrupted / 'iter_8.pth'),
                        model_weights(interrupted / 'iter_8.pth'))


def test_class_count_mismatch_fails_before_training(tmp_path,
                                                   tiny_image_root):
    """The tiny data has 4 classes; a 5-class head is refused by name."""
    failed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', TINY_CONFIG,
         '--work-dir', tmp_path / 'run', '--cfg-options',
         'model.head.num_classes=5', *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, capture_output=True, text=True)
    assert failed.returncode != 0
    assert ('The training dataset (CustomDataset) has 4 classes, but the '
            'config sets model.head.num_classes=5') in failed.stderr
    assert 'Epoch(train)' not in failed.stderr + failed.stdout


ITER_CONFIG = REPO_ROOT / 'configs' / 'tiny' / 'vit_tiny_fullft_iter_based.py'


def test_iteration_based_resume_is_exact(tmp_path, tiny_image_root):
    """Saved and validated every 3 of 8 iterations, with drop path: resumed
    from iteration 6 (after the validation there), the run ends with the
    weights of the uninterrupted one. Each part matters: the generators'
    state restored after passing over the trained batches, and validation
    at iteration 6 not drawing on training's random numbers."""
    uninterrupted = tmp_path / 'uninterrupted'
    log = train(ITER_CONFIG, uninterrupted, data_root=tiny_image_root)
    assert 'Iter(val) [1/1]' in log
    assert (uninterrupted / 'iter_6.pth').is_file()

    resumed = tmp_path / 'resumed'
    log = train(ITER_CONFIG, resumed, '--resume',
                str(uninterrupted / 'iter_6.pth'), data_root=tiny_image_root)
    assert 'resumed epoch: 0, iter: 6' in log
    assert 'Iter(train) [6/8]' not in log  # no batch trained twice
    assert 'Iter(train) [8/8]' in log
    assert_same_weights(model_weights(uninterrupted / 'iter_8.pth'),
                        model_weights(resumed / 'iter_8.pth'))
