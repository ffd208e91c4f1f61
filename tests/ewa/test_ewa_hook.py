"""EWAHook averages the experts after every optimizer step that updated
the weights, and only then: not on accumulation iterations, AMP-skipped
steps or skipped non-finite losses."""
import functools
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict
from mmengine.optim.optimizer import amp_optimizer_wrapper

from adapterx.engine import GuardedOptimWrapper
from adapterx.engine.hooks.ewa_hook import DenseConversionHook, EWAHook
from adapterx.models.ewa import RandomPartitionMoE
from ..fixtures import tiny_mlp

INPUTS = torch.randn(4, 6, 8, generator=torch.Generator().manual_seed(0))


def moe_model():
    return nn.Sequential(
        RandomPartitionMoE(tiny_mlp(torch.float32), num_experts=3))


def expert_tensors(model):
    return [stack.detach().clone() for linear in model[0].expert_linears()
            for stack in linear.stacks()]


def fake_runner(optim_wrapper, model, epoch=0):
    return SimpleNamespace(model=model, optim_wrapper=optim_wrapper,
                           epoch=epoch,
                           logger=MMLogger.get_instance('ewa_hook_test'))


def started_hook(runner, **kwargs):
    hook = EWAHook(**kwargs)
    hook.before_train(runner)
    return hook


def iterate(hook, runner, loss_factor=1.0):
    """One training iteration as the loop runs it. Returns the expert
    weights (before, right after the optimizer's step or None if it did not
    step, after the iteration)."""
    before = expert_tensors(runner.model)
    after_step = []
    handle = runner.optim_wrapper.optimizer.register_step_post_hook(
        lambda *args: after_step.append(expert_tensors(runner.model)))
    hook.before_train_iter(runner, 0)
    loss = runner.model(INPUTS).square().mean() * loss_factor
    runner.optim_wrapper.update_params(loss)
    hook.after_train_iter(runner, 0)
    handle.remove()
    return before, (after_step or [None])[0], expert_tensors(runner.model)


def assert_averaged(stepped, after, share_rate):
    for old, new in zip(stepped, after):
        mean = old.mean(0, keepdim=True)
        torch.testing.assert_close(new, (1 - share_rate) * old +
                                   share_rate * mean)


def assert_unchanged(before, after):
    assert all(torch.equal(old, new) for old, new in zip(before, after))


def sgd_wrapper(model, **kwargs):
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5),
                           **kwargs)
    wrapper.initialize_count_status(model, 0, 100)
    return wrapper


def test_averaging_follows_each_step_and_skips_accumulation_iterations():
    model = moe_model()
    runner = fake_runner(sgd_wrapper(model, accumulative_counts=2), model)
    hook = started_hook(runner, share_rate=0.4)
    before, stepped, after = iterate(hook, runner)
    assert stepped is None and hook.steps_taken == 0
    assert_unchanged(before, after)
    _, stepped, after = iterate(hook, runner)
    assert hook.steps_taken == 1
    assert not all(torch.equal(a, b) for a, b in zip(before, stepped))
    assert_averaged(stepped, after, 0.4)


def test_averaging_over_the_other_experts():
    model = moe_model()
    runner = fake_runner(sgd_wrapper(model), model)
    hook = started_hook(runner, share_rate=0.4, share_rate_over='others')
    _, stepped, after = iterate(hook, runner)
    for old, new in zip(stepped, after):
        for expert in range(3):
            others = torch.cat([old[:expert], old[expert + 1:]]).mean(0)
            torch.testing.assert_close(new[expert],
                                       0.6 * old[expert] + 0.4 * others)


@pytest.fixture
def cpu_amp(monkeypatch):
    """AmpOptimWrapper on this CPU machine: mmengine insists on a GPU and
    builds a CUDA GradScaler; torch's CPU GradScaler skips steps alike."""
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    monkeypatch.setattr(amp_optimizer_wrapper, 'GradScaler',
                        functools.partial(torch.amp.GradScaler, 'cpu'))


@pytest.mark.parametrize('fused', [False, True],
                         ids=['scaler_skips_step', 'fused_skips_inside'])
def test_no_averaging_after_an_amp_skipped_step(cpu_amp, fused):
    model = moe_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, fused=fused)
    wrapper = AmpOptimWrapper(optimizer=optimizer, loss_scale='dynamic')
    runner = fake_runner(wrapper, model)
    hook = started_hook(runner, share_rate=0.5)
    scale = wrapper.loss_scaler.get_scale()
    before, stepped, after = iterate(hook, runner, loss_factor=float('inf'))
    assert wrapper.loss_scaler.get_scale() < scale
    # A fused optimizer is stepped anyway and skips the update inside.
    assert (stepped is not None) == fused
    assert_unchanged(before, after)
    assert hook.steps_taken == 0
    _, stepped, after = iterate(hook, runner)
    assert hook.steps_taken == 1
    assert_averaged(stepped, after, 0.5)


def test_no_averaging_after_a_skipped_nonfinite_loss():
    model = moe_model()
    wrapper = GuardedOptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.5), nonfinite_loss='skip')
    runner = fake_runner(wrapper, model)
    hook = started_hook(runner, share_rate=0.5)
    before, stepped, after = iterate(hook, runner, loss_factor=float('nan'))
    assert stepped is None and hook.steps_taken == 0
    assert_unchanged(before, after)


def test_interval_and_early_ewa_window():
    model = moe_model()
    runner = fake_runner(sgd_wrapper(model), model)
    hook = started_hook(runner, share_rate=0.5, interval=2, ewa_epochs=1)
    _, stepped, after = iterate(hook, runner)
    assert_unchanged(stepped, after)  # step 1 of every 2
    _, stepped, after = iterate(hook, runner)
    assert_averaged(stepped, after, 0.5)
    runner.epoch = 1  # past the early-EWA window
    for _ in range(2):
        _, stepped, after = iterate(hook, runner)
        assert_unchanged(stepped, after)
    assert hook.steps_taken == 4
    hook.after_train(runner)
    _, stepped, after = iterate(hook, runner)
    assert hook.steps_taken == 4  # the optimizer hook is gone


def test_the_step_count_travels_in_checkpoints():
    hook = EWAHook(interval=3)
    hook.steps_taken = 5
    checkpoint = dict(meta=dict(epoch=2))
    hook.before_save_checkpoint(None, checkpoint)
    resumed = EWAHook(interval=3)
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.steps_taken == 5


@pytest.mark.parametrize('kwargs, message', [
    (dict(share_rate=-0.1), 'share_rate .* -0.1'),
    (dict(share_rate=1.5), 'share_rate .* 1.5'),
    (dict(share_rate=True), 'share_rate .* True'),
    (dict(share_rate_over='mean'),
     r"EWAHook: share_rate_over must be one of \['all', 'others'\] .* "
     r"got 'mean'"),
    (dict(interval=0), 'interval .* 0'),
    (dict(ewa_epochs=0), 'ewa_epochs .* 0'),
    (dict(ewa_epochs=2.5), 'ewa_epochs .* 2.5'),
])
def test_invalid_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EWAHook(**kwargs)


def test_hooks_refuse_a_model_without_moe_and_several_optimizers():
    dense = nn.Linear(8, 8)
    runner = fake_runner(sgd_wrapper(dense), dense)
    for hook in (EWAHook(), DenseConversionHook()):
        with pytest.raises(ValueError, match='Linear has no MoE FFN'):
            hook.before_train(runner)
    model = moe_model()
    several = OptimWrapperDict(moe=sgd_wrapper(model))
    with pytest.raises(TypeError, match='OptimWrapperDict'):
        EWAHook().before_train(fake_runner(several, model))
