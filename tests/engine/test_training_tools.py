"""The training tools as a user runs them: tools/train.py, tools/test.py,
tools/dist_train.sh, on the tiny config and a generated image folder."""
import json
import os
import pickle
import re
import socket
import subprocess
import sys
import time

import pytest
import torch

from adapterx.checkpoint import load_runner_checkpoint
from ..utils import (REPO_ROOT, TINY_CONFIG, data_root_options, run_tool,
                        train)

pytestmark = pytest.mark.slow  # every test here starts training


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


def test_mmpretrain_flags_train_and_test(tmp_path, tiny_image_root):
    work_dir = tmp_path / 'run'
    log = train(TINY_CONFIG, work_dir, '--auto-scale-lr', '--no-pin-memory',
                '--no-persistent-workers', 'train_cfg.max_epochs=1',
                data_root=tiny_image_root)
    # The tiny config's batch of 8 against its base batch size of 64.
    assert 'Scaling the original LR by 0.125' in log
    test = [sys.executable, REPO_ROOT / 'tools' / 'test.py', TINY_CONFIG,
            work_dir / 'epoch_1.pth', '--work-dir', tmp_path / 'test',
            '--no-pin-memory', '--cfg-options',
            *data_root_options(tiny_image_root)]
    metrics = tmp_path / 'metrics.json'
    output = run_tool(*test, '--amp', '--tta', '--out', metrics,
                      '--out-item', 'metrics')
    assert 'TestTimeAug' in output and 'fp16=True' in output
    assert set(json.loads(metrics.read_text())) == {'accuracy/top1'}
    run_tool(*test, '--show-dir', tmp_path / 'shown', '--interval', '2')
    # Every second one of the 16 test images, drawn with its prediction.
    assert len(list((tmp_path / 'shown').glob('*.png'))) == 8


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def logged_accuracies(log):
    return re.findall(r'accuracy/top1: ([0-9.]+)', log)


def test_two_processes_match_one_with_the_same_global_batch(
        tmp_path, tiny_image_root, monkeypatch):
    """2 ranks x 8 images per step against 1 process x 16.

    The global batches are the same: DefaultSampler shuffles the 32 indices
    with a generator seeded by the seed and the epoch alone, the same on
    every rank, and gives rank r the positions r, r + 2, ...; so the two
    ranks' i-th batches together are positions 16 i .. 16 i + 15 of the
    order, the single process's i-th batch. DDP averages the two ranks'
    mean gradients, which is the mean over the 16. What could differ is
    switched off or equal: no drop path (its masks would come from each
    rank's generator, not the single process's), no dropout, LayerNorm only
    (no BatchNorm statistics per rank), no augmentation, and the learning
    rate schedule counts the same 2 iterations per epoch. Left: the order
    of float additions (DDP's all-reduce, per-rank means), hence the
    tolerance on the weights. SGD instead of the config's AdamW keeps that
    tolerance at rounding level: Adam divides each gradient by its running
    RMS, so for a weight whose gradient is near zero the rounding noise
    becomes a step of the full learning rate (measured here: 1.6e-5 with
    AdamW, about 1% of an epoch's change).
    """
    monkeypatch.setenv('PORT', str(free_port()))
    same_model = ['model.backbone.drop_path_rate=0.0',
                  'optim_wrapper.optimizer.type=SGD',
                  'optim_wrapper.optimizer.lr=0.1',
                  'optim_wrapper.optimizer.momentum=0.9']
    single = tmp_path / 'single'
    single_log = train(TINY_CONFIG, single, 'train_dataloader.batch_size=16',
                       *same_model, data_root=tiny_image_root)
    assert 'Epoch(train) [2][2/2]' in single_log

    distributed = tmp_path / 'distributed'
    log = run_tool(REPO_ROOT / 'tools' / 'dist_train.sh', TINY_CONFIG, 2,
                   '--work-dir', distributed, '--cfg-options', *same_model,
                   *data_root_options(tiny_image_root))
    # Each rank sees half of the 32 training images: 2 iterations of 8.
    assert 'Epoch(train) [2][2/2]' in log
    # RankConsistencyHook compares every tensor with rank 0's at the end.
    assert 'All 2 ranks hold identical weights' in log

    assert len(logged_accuracies(single_log)) == 2  # after each epoch
    assert logged_accuracies(log) == logged_accuracies(single_log)
    expected = model_weights(single / 'epoch_2.pth')
    weights = model_weights(distributed / 'epoch_2.pth')
    assert weights.keys() == expected.keys()
    initial = model_weights(single / 'epoch_1.pth')
    for name in expected:
        torch.testing.assert_close(weights[name], expected[name],
                                   rtol=0, atol=1e-6, msg=name)
    # Far below what the second epoch changed.
    assert max((expected[name] - initial[name]).abs().max()
               for name in expected) > 1e-2


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
    assert ('train_dataloader.dataset (CustomDataset) has 4 classes, but '
            'the config sets model.head.num_classes=5') in failed.stderr
    assert 'Epoch(train)' not in failed.stderr + failed.stdout


ITER_CONFIG = (REPO_ROOT / 'configs' / 'tiny' /
               'full-finetune_vit-tiny_1xb8-8iter_tiny-images.py')


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


RANK_1_FAILS_AT_ITERATION_2 = '''
import os
import time

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class Rank1FailsAtIteration2(Hook):

    def __init__(self, how):
        self.how = how

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if get_rank() == 1 and runner.iter == 1:
            if self.how == 'dies':
                os._exit(3)  # as a SIGKILL or an out-of-memory kill would
            time.sleep(3600)  # alive, but never joins the next all-reduce
'''


@pytest.mark.parametrize('how', ['dies', 'hangs'])
def test_a_failed_rank_ends_the_job(tmp_path, tiny_image_root, how):
    """Rank 1 dies (torchrun sees its exit and stops rank 0) or hangs
    (rank 0 waits in an all-reduce until the process group's timeout, here
    10 s, raises, and torchrun then stops rank 1): either way the launcher
    returns an error in bounded time instead of waiting forever."""
    (tmp_path / 'rank_1_fails.py').write_text(RANK_1_FAILS_AT_ITERATION_2)
    config = tmp_path / 'failing.py'
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}']\n"
        "custom_imports = dict(imports=['rank_1_fails'])\n"
        f"custom_hooks = [dict(type='Rank1FailsAtIteration2', how='{how}')]\n"
        "env_cfg = dict(dist_cfg=dict(timeout=10))\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PORT=str(free_port()),
               PYTHON=sys.executable)
    started = time.monotonic()
    failed = subprocess.run(
        [REPO_ROOT / 'tools' / 'dist_train.sh', config, '2', '--work-dir',
         tmp_path / 'run', '--cfg-options',
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output[-3000:]
    assert 'Epoch(train) [1][1/2]' in output  # it had started training
    assert 'Epoch(train) [1][2/2]' not in output
    if how == 'dies':
        assert re.search(r'rank\s*: 1 .*\n.*exitcode\s*: 3', output), \
            output[-3000:]
    else:
        assert 'Timed out waiting 10000ms' in output, output[-3000:]
    print(f'{how}: the launcher returned {failed.returncode} after '
          f'{elapsed:.0f} s')
