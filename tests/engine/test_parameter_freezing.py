"""Freezing, its verification, and trainable-only checkpoints, through the
tools on the tiny data."""
import json
import pickle
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from adapterx.checkpoint import load_runner_checkpoint
from adapterx.engine import ParameterFreezeHook
from ..fixtures import tiny_mmpretrain_vit
from ..utils import REPO_ROOT, data_root_options, run_tool, train

TINY = REPO_ROOT / 'configs' / 'tiny'
LINEAR_PROBE = TINY / 'linear-probe_vit-tiny_1xb8-2e_tiny-images.py'
ADAPTERX = TINY / 'adapterx_vit-tiny_1xb8-2e_tiny-images.py'


@pytest.fixture(scope='module')
def pretrained_tiny_backbone(tmp_path_factory):
    """A 'pretrained' tiny ViT backbone file (random weights, fixed seed)."""
    torch.manual_seed(123)
    backbone = tiny_mmpretrain_vit()
    path = tmp_path_factory.mktemp('pretrained') / 'tiny_vit.pth'
    torch.save(backbone.state_dict(), path)
    return path


def pretrained_options(path):
    return ['model.backbone.init_cfg.type=Pretrained',
            f'model.backbone.init_cfg.checkpoint={path}']


@pytest.mark.slow
def test_linear_probe_trains_the_head_alone(tmp_path, tiny_image_root,
                                            pretrained_tiny_backbone):
    work_dir = tmp_path / 'probe'
    log = train(LINEAR_PROBE, work_dir,
                *pretrained_options(pretrained_tiny_backbone),
                data_root=tiny_image_root)
    report = json.loads((work_dir / 'trainable_parameters.json').read_text())
    assert report['trainable_without_head'] == 0
    assert report['trainable_with_head'] == report['head'] == 32 * 4 + 4
    assert 'Verified: none of the' in log

    pretrained = torch.load(pretrained_tiny_backbone)
    final = load_runner_checkpoint(str(work_dir / 'epoch_2.pth'))['state_dict']
    for key, value in pretrained.items():
        assert torch.equal(final[f'backbone.{key}'], value), key

    trainable = load_runner_checkpoint(
        str(work_dir / 'trainable_epoch_2.safetensors'))
    assert trainable['meta']['adapterx_trainable_only'] is True
    assert trainable['meta']['dataset_meta']['classes'] == list(
        load_runner_checkpoint(str(work_dir / 'epoch_2.pth'))['meta']
        ['dataset_meta']['classes'])
    assert set(trainable['state_dict']) == {
        'head.layers.head.weight', 'head.layers.head.bias'}
    assert torch.equal(trainable['state_dict']['head.layers.head.weight'],
                       final['head.layers.head.weight'])

    # The head file on top of the pretrained backbone evaluates exactly as
    # the full checkpoint does.
    assert_same_test_results(LINEAR_PROBE, work_dir, tmp_path,
                             tiny_image_root, pretrained_tiny_backbone)


def assert_same_test_results(config, work_dir, tmp_path, data_root,
                             pretrained):
    """tools/test.py gives the same predictions for the trainable-only file
    (on top of the pretrained backbone) as for the full checkpoint, and so
    does the same file in the pickled form older versions wrote."""

    def predictions(checkpoint):
        out = tmp_path / f'{checkpoint.name}.pkl'
        run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py', config,
                 checkpoint, '--work-dir', tmp_path / 'test', '--out', out,
                 '--cfg-options', *data_root_options(data_root),
                 *pretrained_options(pretrained))
        with open(out, 'rb') as file:
            return torch.stack([sample['pred_score']
                                for sample in pickle.load(file)])

    trainable = work_dir / 'trainable_epoch_2.safetensors'
    old_format = tmp_path / 'trainable_epoch_2.pth'
    torch.save(load_runner_checkpoint(str(trainable)), old_format)
    expected = predictions(work_dir / 'epoch_2.pth')
    assert torch.equal(predictions(trainable), expected)
    assert torch.equal(predictions(old_format), expected)


@pytest.mark.slow
def test_adapterx_file_on_top_of_the_pretrained_backbone(
        tmp_path, tiny_image_root, pretrained_tiny_backbone):
    work_dir = tmp_path / 'adapterx'
    train(ADAPTERX, work_dir, *pretrained_options(pretrained_tiny_backbone),
          data_root=tiny_image_root)
    trainable = load_runner_checkpoint(
        str(work_dir / 'trainable_epoch_2.safetensors'))['state_dict']
    assert any('.adapterx.' in key for key in trainable)
    assert 'backbone.expert_pools.mlp_0.up_weight' in trainable
    assert 'backbone.module.layers.0.ln2.weight' in trainable
    assert not any('.attn.' in key or '.ffn.' in key for key in trainable)
    assert_same_test_results(ADAPTERX, work_dir, tmp_path, tiny_image_root,
                             pretrained_tiny_backbone)


@pytest.mark.slow
def test_trainable_file_for_another_model_is_refused(
        tmp_path, tiny_image_root, pretrained_tiny_backbone):
    wrong = tmp_path / 'wrong.pth'
    torch.save(
        dict(meta=dict(adapterx_trainable_only=True),
             state_dict={'head.layers.head.weight': torch.zeros(7, 32),
                         'backbone.layers.0.lora_a': torch.zeros(2, 2)}),
        wrong)
    with pytest.raises(AssertionError) as failure:
        run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py',
                 LINEAR_PROBE, wrong, '--work-dir', tmp_path / 'test',
                 '--cfg-options', *data_root_options(tiny_image_root),
                 *pretrained_options(pretrained_tiny_backbone))
    message = str(failure.value)
    assert f'{wrong} (a trainable-only checkpoint, 2 tensors) does not fit ' \
        'the PeftImageClassifier' in message
    assert ('- 1 unexpected (in the file, not in the model): '
            'backbone.layers.0.lora_a') in message
    assert ('- 1 shape mismatch(es): head.layers.head.weight: file (7, 32) '
            'vs model (4, 32)') in message


def fake_runner(model, tmp_path):
    return SimpleNamespace(
        model=model,
        logger=MMLogger.get_instance('freeze_test'),
        work_dir=str(tmp_path))


def test_a_changed_frozen_tensor_fails_the_run(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    hook = ParameterFreezeHook(trainable=[r'^1\.'])
    runner = fake_runner(model, tmp_path)
    hook.before_run(runner)
    hook.before_train(runner)
    with torch.no_grad():
        model[1].weight.add_(1.0)  # trainable: allowed to change
    hook.after_train(runner)
    with torch.no_grad():
        model[0].bias[0] += 1e-6  # frozen
    with pytest.raises(RuntimeError, match=r"\['0\.bias'\]"):
        hook.after_train(runner)


def test_unfreezing_after_the_optimizer_was_built_is_refused(tmp_path):
    from mmengine.optim import build_optim_wrapper
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    runner = fake_runner(model, tmp_path)
    # As mmengine's Runner.train: the optimizer first, then before_run.
    runner.optim_wrapper = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
             paramwise_cfg=dict(bias_decay_mult=0.0)))
    hook = ParameterFreezeHook(trainable=[r'^0\.weight$', r'^1\.'])
    hook.before_run(runner)
    with pytest.raises(RuntimeError,
                       match=r"in no optimizer parameter group, e\.g\. "
                       r"\['0\.weight'\].*trainable_extra"):
        hook.before_train(runner)
    # Unfreezing nothing the optimizer lacks is fine.
    within_the_optimizer = ParameterFreezeHook(trainable=[r'^1\.'])
    within_the_optimizer.before_run(runner)
    within_the_optimizer.before_train(runner)


def test_freezing_an_already_ddp_wrapped_model_is_refused(tmp_path):
    from mmengine.model import MMDistributedDataParallel
    # An instance of the wrapper type, never initialised: no process group.
    wrapped = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    hook = ParameterFreezeHook(trainable=[r'.'])
    with pytest.raises(RuntimeError,
                       match=r'already wrapped in DDP\. Declare the set on the '
                       r'model instead.*trainable_extra'):
        hook.before_run(fake_runner(wrapped, tmp_path))


def test_the_declared_set_of_a_detector_is_its_backbones_and_the_rest():
    """A model of another codebase declares nothing: its declaring
    backbone decides for its own parameters, the rest keeps its state."""

    class DeclaringBackbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.frozen = nn.Linear(2, 2)
            self.adapter = nn.Linear(2, 2)

        def trainable_parameter_names(self):
            return ['adapter.weight', 'adapter.bias']

    detector = nn.Module()
    detector.backbone = DeclaringBackbone()
    detector.neck = nn.Linear(2, 2)
    detector.head = nn.Linear(2, 2)
    detector.head.bias.requires_grad_(False)  # as the codebase built it
    hook = ParameterFreezeHook()
    hook.freeze(detector)
    trainable = [n for n, p in detector.named_parameters() if p.requires_grad]
    assert trainable == ['backbone.adapter.weight', 'backbone.adapter.bias',
                         'neck.weight', 'neck.bias', 'head.weight']
    hook.freeze(detector)  # idempotent
    assert trainable == [n for n, p in detector.named_parameters()
                         if p.requires_grad]
    with pytest.raises(ValueError, match='Sequential declares no trainable '
                       'set and holds no module that does'):
        hook.freeze(nn.Sequential(nn.Linear(2, 2)))


@pytest.mark.parametrize('bad', ['head', []])
def test_trainable_must_be_a_non_empty_list(bad):
    with pytest.raises(ValueError, match='non-empty list'):
        ParameterFreezeHook(trainable=bad)


def test_a_peft_base_that_does_not_reach_the_model_is_refused():
    from mmengine.config import Config

    from adapterx.engine.consistency import check_peft_reaches_model
    cfg = Config(dict(peft=dict(type='LinearProbe'),
                      model=dict(type='PointClassifier')))
    with pytest.raises(ValueError, match=r"peft \(type 'LinearProbe'.*train "
                       r'every parameter.*peft=\{\{_base_\.peft\}\}'):
        check_peft_reaches_model(cfg, cfg.model.to_dict())
    # A merged checkpoint tested as a plain backbone: model.peft=None.
    check_peft_reaches_model(cfg, dict(cfg.model, peft=None))
    check_peft_reaches_model(Config(dict(model=dict())), dict())
    # A detector hands it to its PeftViTDense backbone.
    check_peft_reaches_model(
        cfg, dict(type='Detector', backbone=dict(peft=dict(type='LoRA'))))
