import math
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MessageHub

from adapterx.engine import (GuardedOptimWrapper, NonFiniteLossError,
                             load_runner_checkpoint)
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
