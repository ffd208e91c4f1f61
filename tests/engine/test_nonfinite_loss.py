import math
import re
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MessageHub

from adapterx.checkpoint import load_runner_checkpoint
from adapterx.engine import GuardedOptimWrapper, NonFiniteLossError
from adapterx.engine.optim_wrappers import SKIP_COUNTS_KEY
from ..utils import REPO_ROOT, TINY_CONFIG, data_root_options, train


def guarded_linear(**kwargs):
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 1)
    wrapper = GuardedOptimWrapper(
        optimizer=torch.optim.SGD(layer.parameters(), lr=0.1), **kwargs)
    MessageHub.get_current_instance().update_info('iter', 41)
    return layer, wrapper


def loss_of(layer, scale=1.0):
    return layer(torch.ones(2, 3)).sum() * scale


@pytest.mark.parametrize('bad', [math.nan, math.inf])
def test_nonfinite_loss_raises_before_the_update(bad):
    layer, wrapper = guarded_linear()
    before = layer.weight.detach().clone()
    with pytest.raises(NonFiniteLossError, match='iteration 41'):
        wrapper.update_params(loss_of(layer, bad))
    assert torch.equal(layer.weight, before)


def test_skip_leaves_the_weights_and_counts():
    layer, wrapper = guarded_linear(nonfinite_loss='skip')
    before = layer.weight.detach().clone()
    wrapper.update_params(loss_of(layer, math.nan))
    assert torch.equal(layer.weight, before)
    assert wrapper.skipped_steps == 1
    wrapper.update_params(loss_of(layer))
    assert not torch.equal(layer.weight, before)


def test_unknown_action_is_named():
    with pytest.raises(ValueError, match="'ignore'"):
        guarded_linear(nonfinite_loss='ignore')


NAN_LOSS_AT_ITERATION_5 = '''
import torch
from mmengine.logging import MessageHub

from adapterx.models import PeftImageClassifier

loss = PeftImageClassifier.loss


def nan_at_iteration_5(self, inputs, data_samples):
    losses = loss(self, inputs, data_samples)
    if MessageHub.get_current_instance().get_info('iter') == 5:
        losses['loss'] = losses['loss'] * torch.nan
    return losses


PeftImageClassifier.loss = nan_at_iteration_5
'''


@pytest.mark.slow
def test_training_stops_at_the_nan_with_the_checkpoint_intact(
        tmp_path, tiny_image_root, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', str(tmp_path))
    (tmp_path / 'nan_at_iteration_5.py').write_text(NAN_LOSS_AT_ITERATION_5)
    config = tmp_path / 'nan.py'
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}']\n"
        "custom_imports = dict(imports=['nan_at_iteration_5'])\n")
    work_dir = tmp_path / 'run'
    failed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', config,
         '--work-dir', work_dir, '--cfg-options',
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, capture_output=True, text=True)
    assert failed.returncode != 0
    assert 'NonFiniteLossError' in failed.stderr
    assert 'at iteration 5' in failed.stderr
    state = load_runner_checkpoint(str(work_dir / 'epoch_1.pth'))
    assert all(torch.isfinite(t).all() for t in state['state_dict'].values())

    skipped = train(config, tmp_path / 'skip',
                    'optim_wrapper.nonfinite_loss=skip',
                    data_root=tiny_image_root)
    assert 'Skipped the update of iteration 5' in skipped


@pytest.fixture
def guarded_amp_linear(monkeypatch):
    """GuardedAmpOptimWrapper on the CPU, with a working loss scaler.

    mmengine refuses to build AmpOptimWrapper without a GPU and gives it
    torch.cuda's GradScaler, which disables itself on a CPU. The check is
    passed and the scaler replaced by torch's CPU GradScaler, which scales,
    unscales and skips overflowing steps as the CUDA one does. Not covered
    here (needs a GPU): float16 autocast in optim_context and the CUDA
    scaler's fused inf check.
    """
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_module

    from adapterx.engine import GuardedAmpOptimWrapper
    monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: True)

    def build(**kwargs):
        torch.manual_seed(0)
        layer = torch.nn.Linear(3, 1)
        wrapper = GuardedAmpOptimWrapper(
            optimizer=torch.optim.SGD(layer.parameters(), lr=0.1), **kwargs)
        wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.**16)
        MessageHub.get_current_instance().update_info('iter', 41)
        return layer, wrapper

    return build


def test_amp_guard_stops_a_nan_loss_before_the_scaler(guarded_amp_linear):
    layer, wrapper = guarded_amp_linear()
    before = layer.weight.detach().clone()
    with pytest.raises(NonFiniteLossError, match='iteration 41'):
        wrapper.update_params(loss_of(layer, math.nan))
    assert torch.equal(layer.weight, before)
    # The scaler never saw it: its scale is not halved as for an overflow.
    assert wrapper.loss_scaler.get_scale() == 2.**16


def test_amp_guard_skip_then_train(guarded_amp_linear):
    layer, wrapper = guarded_amp_linear(nonfinite_loss='skip')
    before = layer.weight.detach().clone()
    wrapper.update_params(loss_of(layer, math.inf))
    assert torch.equal(layer.weight, before)
    assert wrapper.skipped_steps == 1
    assert layer.weight.grad is None or not layer.weight.grad.any()
    wrapper.update_params(loss_of(layer))
    assert not torch.equal(layer.weight, before)


def test_amp_guard_leaves_gradient_overflow_to_the_scaler(
        guarded_amp_linear):
    """A finite loss whose scaled gradients overflow is the scaler's case
    (skip the step, lower the scale), which happens routinely early in
    float16 training; the guard must not stop the run for it."""
    layer, wrapper = guarded_amp_linear()
    before = layer.weight.detach().clone()
    wrapper.update_params(loss_of(layer, 1e36))  # finite; x 2**16 overflows
    assert torch.equal(layer.weight, before)
    assert wrapper.loss_scaler.get_scale() == 2.**15
    assert wrapper.skipped_steps == 0


def skip_nan_steps(layer, wrapper, count):
    for _ in range(count):
        wrapper.update_params(loss_of(layer, math.nan))


def test_skipping_stops_after_the_consecutive_limit():
    layer, wrapper = guarded_linear(nonfinite_loss='skip',
                                    max_consecutive_skips=3)
    skip_nan_steps(layer, wrapper, 2)
    wrapper.update_params(loss_of(layer))  # a finite step: counts anew
    after_the_finite_step = layer.weight.detach().clone()
    skip_nan_steps(layer, wrapper, 2)
    with pytest.raises(NonFiniteLossError) as error:
        wrapper.update_params(loss_of(layer, math.inf))
    assert str(error.value) == (
        '3 steps in a row skipped for a non-finite loss, the last at '
        'iteration 41: training diverges (too high a learning rate?). '
        'Stopped; the weights and the last checkpoint hold no NaN. To skip '
        'more, raise optim_wrapper.max_consecutive_skips (now 3; None for '
        'no limit).')
    assert torch.equal(layer.weight, after_the_finite_step)
    assert (wrapper.skipped_steps, wrapper.consecutive_skips) == (5, 3)


def test_ten_consecutive_skips_by_default_and_no_total_limit():
    layer, wrapper = guarded_linear(nonfinite_loss='skip')
    for _ in range(5):  # 45 skipped in all, never 10 in a row
        skip_nan_steps(layer, wrapper, 9)
        wrapper.update_params(loss_of(layer))
    skip_nan_steps(layer, wrapper, 9)
    with pytest.raises(NonFiniteLossError,
                       match=r'^10 steps in a row .*\.max_consecutive_skips '):
        skip_nan_steps(layer, wrapper, 1)


def test_skipping_stops_after_the_total_limit():
    layer, wrapper = guarded_linear(nonfinite_loss='skip',
                                    max_consecutive_skips=None,
                                    max_skipped_steps=3)
    for _ in range(2):
        skip_nan_steps(layer, wrapper, 1)
        wrapper.update_params(loss_of(layer))
    with pytest.raises(NonFiniteLossError) as error:
        skip_nan_steps(layer, wrapper, 1)
    assert str(error.value).startswith(
        '3 steps in all skipped for a non-finite loss, the last at '
        'iteration 41')
    assert str(error.value).endswith(
        'raise optim_wrapper.max_skipped_steps (now 3; None for no limit).')


@pytest.mark.parametrize('setting', ['max_consecutive_skips',
                                     'max_skipped_steps'])
@pytest.mark.parametrize('value', [0, -1, 2.5, True, '10'])
def test_a_bad_limit_is_named(setting, value):
    with pytest.raises(ValueError) as error:
        guarded_linear(nonfinite_loss='skip', **{setting: value})
    assert str(error.value) == (
        f'optim_wrapper.{setting} must be a positive integer, or None for '
        f'no limit; got {value!r}')


def test_the_counts_are_saved_with_the_optimizer_state():
    layer, wrapper = guarded_linear(nonfinite_loss='skip',
                                    max_consecutive_skips=3)
    wrapper.update_params(loss_of(layer))  # gives SGD a state to save
    skip_nan_steps(layer, wrapper, 2)
    state = wrapper.state_dict()
    assert state[SKIP_COUNTS_KEY] == dict(skipped_steps=2,
                                          consecutive_skips=2)

    resumed_layer, resumed = guarded_linear(nonfinite_loss='skip',
                                            max_consecutive_skips=3)
    resumed.load_state_dict(state)
    assert (resumed.skipped_steps, resumed.consecutive_skips) == (2, 2)
    assert resumed.optimizer.state_dict() == wrapper.optimizer.state_dict()
    assert SKIP_COUNTS_KEY in state  # the caller's dict is left as it was
    with pytest.raises(NonFiniteLossError, match='^3 steps in a row'):
        skip_nan_steps(resumed_layer, resumed, 1)


def test_a_state_saved_without_counts_loads_with_none_skipped():
    layer, wrapper = guarded_linear(nonfinite_loss='skip')
    skip_nan_steps(layer, wrapper, 2)
    wrapper.load_state_dict(wrapper.optimizer.state_dict())
    assert (wrapper.skipped_steps, wrapper.consecutive_skips) == (0, 0)


def test_amp_state_keeps_the_scaler_and_the_counts(guarded_amp_linear):
    layer, wrapper = guarded_amp_linear(nonfinite_loss='skip')
    skip_nan_steps(layer, wrapper, 1)
    state = wrapper.state_dict()
    assert state[SKIP_COUNTS_KEY]['skipped_steps'] == 1
    assert state['loss_scaler']['scale'] == 2.**16
    resumed_layer, resumed = guarded_amp_linear(nonfinite_loss='skip')
    resumed.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1.)
    resumed.load_state_dict(state)
    assert resumed.skipped_steps == 1
    assert resumed.loss_scaler.get_scale() == 2.**16


@pytest.mark.slow
def test_a_diverging_run_stops_and_a_resumed_one_goes_on_counting(
        tmp_path, tiny_image_root):
    """lr 1e6: the tiny run's losses turn NaN within its first epoch and
    stay so (with 'skip' alone it "succeeded" with accuracy 0)."""
    work_dir = tmp_path / 'run'
    limit = 4
    options = ['optim_wrapper.optimizer.lr=1e6',
               'optim_wrapper.nonfinite_loss=skip',
               f'optim_wrapper.max_consecutive_skips={limit}']
    train(TINY_CONFIG, work_dir, *options, 'train_cfg.max_epochs=1',
          data_root=tiny_image_root)
    counts = load_runner_checkpoint(
        str(work_dir / 'epoch_1.pth'))['optimizer'][SKIP_COUNTS_KEY]
    assert 1 <= counts['consecutive_skips'] < limit

    resumed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', TINY_CONFIG,
         '--work-dir', work_dir, '--resume', '--cfg-options', *options,
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, capture_output=True, text=True)
    assert resumed.returncode != 0
    log = resumed.stdout + resumed.stderr
    assert (f'NonFiniteLossError: {limit} steps in a row skipped for a '
            'non-finite loss') in log
    assert f'raise optim_wrapper.max_consecutive_skips (now {limit};' in log
    # The resumed run counted on from the checkpoint's counts.
    skips = re.findall(r'Skipped the update of iteration \d+: .*; '
                       r'(\d+) skipped so far', log)
    assert len(skips) == limit - counts['consecutive_skips']
    assert int(skips[0]) == counts['skipped_steps'] + 1
    assert not (work_dir / 'epoch_2.pth').exists()
