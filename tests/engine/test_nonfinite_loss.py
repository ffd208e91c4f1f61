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
