"""The non-finite loss guard with what only a GPU has: float16 autocast in
GuardedAmpOptimWrapper's optim_context and torch.cuda's GradScaler (on a
CPU, test_nonfinite_loss.py stands a CPU scaler in)."""
import math

import pytest
import torch
from mmengine.logging import MessageHub

from adapterx.engine import GuardedAmpOptimWrapper, NonFiniteLossError

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a GPU')


def amp_linear(**kwargs):
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 1).cuda()
    wrapper = GuardedAmpOptimWrapper(
        optimizer=torch.optim.SGD(layer.parameters(), lr=0.1), **kwargs)
    MessageHub.get_current_instance().update_info('iter', 41)
    return layer, wrapper


def amp_loss(layer, wrapper, scale=1.0):
    with wrapper.optim_context(layer):
        output = layer(torch.ones(2, 3, device='cuda'))
    assert output.dtype == torch.float16  # the wrapper's autocast is on
    return output.float().sum() * scale


def test_cuda_scaler_is_in_use():
    _, wrapper = amp_linear()
    assert isinstance(wrapper.loss_scaler, torch.amp.GradScaler)
    assert wrapper.loss_scaler.is_enabled()


@pytest.mark.parametrize('bad', [math.nan, math.inf])
def test_cuda_amp_guard_raises_before_the_scaler(bad):
    layer, wrapper = amp_linear()
    before = layer.weight.detach().clone()
    scale = wrapper.loss_scaler.get_scale()
    with pytest.raises(NonFiniteLossError, match='iteration 41'):
        wrapper.update_params(amp_loss(layer, wrapper, bad))
    assert torch.equal(layer.weight, before)
    assert wrapper.loss_scaler.get_scale() == scale


def test_cuda_amp_guard_skips_then_trains():
    layer, wrapper = amp_linear(nonfinite_loss='skip')
    before = layer.weight.detach().clone()
    wrapper.update_params(amp_loss(layer, wrapper, math.nan))
    assert torch.equal(layer.weight, before)
    assert wrapper.skipped_steps == 1
    wrapper.update_params(amp_loss(layer, wrapper))
    assert not torch.equal(layer.weight, before)
    assert torch.isfinite(layer.weight).all()


def test_cuda_scaler_handles_gradient_overflow_itself():
    # Finite loss, but its gradients times the scale overflow: the scaler
    # skips the step and halves its scale; the guard stays out of it.
    layer, wrapper = amp_linear()
    before = layer.weight.detach().clone()
    scale = wrapper.loss_scaler.get_scale()
    wrapper.update_params(amp_loss(layer, wrapper, 1e36))
    assert torch.equal(layer.weight, before)
    assert wrapper.loss_scaler.get_scale() == scale / 2
    assert wrapper.skipped_steps == 0
