"""A checkpoint that does not fit the model is refused on every runner path
(tools/test.py, load_from, --resume, trainable-only files) before any step,
unless the config opts into a partial load (load_strict=False)."""
import argparse
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine import DefaultScope
from mmengine.config import Config

from adapterx.checkpoint import TRAINABLE_ONLY_KEY, trainable_state_dict
from adapterx.checkpoint.loading import (CheckpointMismatchError,
                                         apply_checkpoint)
from adapterx.registry import MODELS
from adapterx.utils.tool_args import (add_common_arguments,
                                      add_non_strict_argument,
                                      apply_common_arguments)
from ..utils import (REPO_ROOT, TINY_CONFIG, build_runner, data_root_options,
                     train_in_process)

ADAPTERX_CONFIG = (REPO_ROOT / 'configs' / 'tiny' /
                   'adapterx_vit-tiny_1xb8-2e_tiny-images.py')
LINEAR_PROBE_CONFIG = REPO_ROOT / 'configs' / 'tiny' / \
    'linear-probe_vit-tiny_1xb8-2e_tiny-images.py'
POINT_CONFIG = (REPO_ROOT / 'configs' / 'demo' /
                'full-finetune_point-demo_1xb16-10e_synthetic-points8.py')
# The tiny ViT's 30 tensors and its head's 2.
FULL_FT_TENSORS = 32
# Adapter-X adds 9 tensors to it, in 3 modules.
ADAPTERX_TENSORS = 41


@pytest.fixture(scope='module')
def full_finetune_checkpoint(tmp_path_factory, tiny_image_root):
    """epoch_1.pth of a full fine-tuning run of the tiny ViT."""
    work_dir = tmp_path_factory.mktemp('full_finetune')
    train_in_process(TINY_CONFIG, work_dir, tiny_image_root,
                     **{'train_cfg.max_epochs': 1})
    return work_dir / 'epoch_1.pth'


def build_model(config):
    cfg = Config.fromfile(str(config))
    with DefaultScope.overwrite_default_scope('adapterx'):
        return MODELS.build(cfg.model)


def assert_refused_full_finetune_checkpoint(message, checkpoint):
    assert message.startswith(
        f"{checkpoint} (a training run's checkpoint, {FULL_FT_TENSORS} "
        'tensors) does not fit the PeftImageClassifier it is loaded into '
        f'({ADAPTERX_TENSORS} tensors); refused before any training or '
        'testing:\n- 9 missing (in the model, not in the file): '
        'backbone.module.layers.0.adapterx.mlp_smoa.router.projection.weight'
        ', ')
    assert ('Modules a PEFT method added (3): backbone.expert_pools, '
            'backbone.module.layers.0.adapterx, '
            'backbone.module.layers.1.adapterx; '
            "nothing may be missing from a training run's checkpoint") \
        in message
    # The backbone's tensors were found under the wrapper: not unexpected.
    assert 'unexpected' not in message
    assert message.endswith(
        'To load the tensors that fit anyway: set load_strict=False in the '
        'config (tools/train.py and tools/test.py: --non-strict).')


@pytest.mark.slow
def test_test_tool_refuses_a_full_finetune_checkpoint_for_adapterx(
        full_finetune_checkpoint, tiny_image_root, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'),
         str(ADAPTERX_CONFIG), str(full_finetune_checkpoint),
         '--work-dir', str(tmp_path), '--cfg-options',
         *data_root_options(tiny_image_root)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'CheckpointMismatchError' in output
    assert f'{full_finetune_checkpoint} (a training run' in output
    assert 'accuracy/top1' not in output


@pytest.mark.slow
def test_load_from_refused_before_training(full_finetune_checkpoint,
                                           tiny_image_root, tmp_path):
    runner = build_runner(ADAPTERX_CONFIG, tmp_path, tiny_image_root,
                          load_from=str(full_finetune_checkpoint))
    with pytest.raises(CheckpointMismatchError) as error:
        runner.train()
    assert_refused_full_finetune_checkpoint(str(error.value),
                                            full_finetune_checkpoint)
    assert runner.iter == 0
    assert not list(tmp_path.glob('*.pth'))


@pytest.mark.slow
def test_resume_from_another_methods_run_is_refused(full_finetune_checkpoint,
                                                    tiny_image_root,
                                                    tmp_path):
    runner = build_runner(ADAPTERX_CONFIG, tmp_path, tiny_image_root,
                          load_from=str(full_finetune_checkpoint),
                          resume=True)
    with pytest.raises(CheckpointMismatchError) as error:
        runner.train()
    assert_refused_full_finetune_checkpoint(str(error.value),
                                            full_finetune_checkpoint)
    assert runner.iter == 0


def test_point_cloud_checkpoint_refused_by_image_config(tmp_path,
                                                        tiny_image_root):
    point_state = build_model(POINT_CONFIG).state_dict()
    checkpoint = tmp_path / 'points_epoch_1.pth'
    torch.save(
        dict(meta=dict(epoch=1, iter=10), state_dict=point_state,
             message_hub={}), checkpoint)
    runner = build_runner(TINY_CONFIG, tmp_path / 'test', tiny_image_root,
                          load_from=str(checkpoint))
    with pytest.raises(CheckpointMismatchError) as error:
        runner.test()
    lines = str(error.value).split('\n')
    assert lines[0] == (
        f"{checkpoint} (a training run's checkpoint, {len(point_state)} "
        'tensors) does not fit the PeftImageClassifier it is loaded into '
        f'({FULL_FT_TENSORS} tensors); refused before any training or '
        'testing:')
    # Only the class token's name is shared, at another width.
    assert lines[1].startswith(
        f'- {FULL_FT_TENSORS - 1} missing (in the model, not in the file): '
        'backbone.pos_embed, backbone.patch_embed.projection.weight, ')
    assert lines[2].startswith(
        f'- {len(point_state) - 1} unexpected (in the file, not in the '
        'model): backbone.cls_pos, backbone.group_encoder.')
    assert lines[3] == ('- 1 shape mismatch(es): backbone.cls_token: file '
                        '(1, 1, 96) vs model (1, 1, 32)')
    assert lines[4] == 'The model has no module a PEFT method added.'


@pytest.mark.slow
def test_non_strict_opt_in_loads_what_fits(full_finetune_checkpoint,
                                           tiny_image_root, tmp_path):
    runner = build_runner(ADAPTERX_CONFIG, tmp_path, tiny_image_root,
                          load_from=str(full_finetune_checkpoint),
                          load_strict=False)
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
    loaded = torch.load(full_finetune_checkpoint,
                        weights_only=False)['state_dict']
    model_state = runner.model.state_dict()
    for key, value in loaded.items():
        wrapped = key.replace('backbone.', 'backbone.module.', 1)
        assert torch.equal(model_state[wrapped], value), key


def test_non_strict_flag_sets_load_strict():
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_arguments(parser, 'CHECKPOINT')
    # Tools whose runner loads no checkpoint (soups) do not offer it.
    assert '--non-strict' not in parser.format_help()
    add_non_strict_argument(parser, 'CHECKPOINT')
    assert 'load CHECKPOINT even if it does not fit' in ' '.join(
        parser.format_help().split())
    for argv, expected in ((['c.py'], None), (['c.py', '--non-strict'],
                                              False)):
        cfg = Config(dict(work_dir='w'))
        apply_common_arguments(cfg, parser.parse_args(argv))
        assert cfg.get('load_strict') is expected


def trainable_only(state):
    return dict(meta={TRAINABLE_ONLY_KEY: True}, state_dict=state)


def test_trainable_only_file_must_hold_the_peft_modules():
    linear_probe = trainable_only({
        key: value
        for key, value in build_model(LINEAR_PROBE_CONFIG).state_dict().items()
        if key.startswith('head.')
    })
    model = build_model(ADAPTERX_CONFIG)
    with pytest.raises(CheckpointMismatchError) as error:
        apply_checkpoint(model, linear_probe, 'trainable_epoch_2.pth')
    message = str(error.value)
    assert message.startswith(
        'trainable_epoch_2.pth (a trainable-only checkpoint, 2 tensors) does '
        'not fit the PeftImageClassifier it is loaded into '
        f'({ADAPTERX_TENSORS} tensors); refused before any training or '
        'testing:\n- 9 missing (in the model, not in the file): '
        'backbone.module.layers.0.adapterx.mlp_smoa.router.projection.weight'
        ', ')
    assert ("the rest of the model comes from the config's pretrained "
            'weights, but the PEFT-added modules must come from the file'
            ) in message

    # The method's own file: the PEFT modules and whatever else trained.
    trained = build_model(ADAPTERX_CONFIG)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(1.0)
    apply_checkpoint(model, trainable_only(trainable_state_dict(trained)),
                     'trainable_epoch_2.pth')
    expert = 'backbone.expert_pools.mlp_0.down_weight'
    assert torch.equal(model.state_dict()[expert],
                       trained.state_dict()[expert])


def test_test_time_augmentation_wrapper_loads_the_model_inside(tmp_path):
    from mmpretrain.models import AverageClsScoreTTA
    source = build_model(TINY_CONFIG)
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.add_(1.0)
    checkpoint = dict(meta=dict(epoch=1), state_dict=source.state_dict(),
                      message_hub={})
    tta = AverageClsScoreTTA(module=build_model(TINY_CONFIG))
    apply_checkpoint(tta, checkpoint, 'epoch_1.pth')
    for key, value in source.state_dict().items():
        assert torch.equal(tta.module.state_dict()[key], value), key


def test_a_trainable_only_file_keeps_frozen_batchnorm_statistics():
    # The point transformer's group encoder is frozen, but its BatchNorms'
    # running statistics move in training mode: a file without them would
    # test another model than the one trained.
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[:2].requires_grad_(False)
    assert set(trainable_state_dict(model)) == {
        '1.running_mean', '1.running_var', '1.num_batches_tracked',
        '2.weight', '2.bias'
    }
