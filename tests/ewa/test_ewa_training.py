"""EWA trained for real on the tiny data (the runner, the hooks, the
configs): experts stay closer than without EWA, and the dense model saved
at the end (or converted by tools/model_converters/ewa_to_dense.py) tests
as the MoE model does, through tools/test.py with the dense config."""
import json
import re
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.checkpoint import load_runner_checkpoint
from adapterx.models.ewa import MoEFFN, MoEViT, convert_to_dense
from adapterx.registry import HOOKS, MODELS
from ..fixtures import IMAGE_SIZE, PATCH_SIZE, WIDTH, vit_arch
from ..utils import REPO_ROOT, data_root_options, run_tool
from ..utils import train_in_process as train

CONFIG_ROOT = REPO_ROOT / 'configs'
TINY = CONFIG_ROOT / 'tiny'
TINY_EWA = TINY / 'ewa_vit-tiny_1xb8-2e_tiny-images.py'
DENSE_TINY = TINY / 'full-finetune_vit-tiny_1xb8-2e_tiny-images.py'


def mean_spread(runner):
    return torch.stack([
        moe.expert_spread() for moe in runner.model.modules()
        if isinstance(moe, MoEFFN)
    ]).mean()


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_image_root):
    root = tmp_path_factory.mktemp('ewa_runs')
    return {
        name: (train(TINY / f'{name}_vit-tiny_1xb8-2e_tiny-images.py',
                     root / name, tiny_image_root), root / name)
        for name in ('ewa', 'rp-moe')
    }


@pytest.mark.slow
def test_experts_stay_closer_with_ewa(runs):
    (ewa, _), (no_ewa, _) = runs['ewa'], runs['rp-moe']
    # Same seed, data and partitions: the runs differ by the averaging.
    without = mean_spread(no_ewa)
    assert without > 0  # the experts (equal copies at first) drifted apart
    assert mean_spread(ewa) < without


@pytest.mark.slow
def test_dense_model_tests_like_the_averaged_moe(runs, tiny_image_root):
    runner, work_dir = runs['ewa']
    moe_accuracy = runner.test()['accuracy/top1']
    metrics_file = work_dir / 'dense_metrics.json'
    run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py', DENSE_TINY,
             work_dir / 'dense_final.safetensors', '--work-dir',
             work_dir / 'test',
             '--dump-metrics', metrics_file, '--cfg-options',
             *data_root_options(tiny_image_root))
    metrics = json.loads(metrics_file.read_text())
    assert metrics['accuracy/top1'] == moe_accuracy

    converted = work_dir / 'converted.safetensors'
    run_tool(sys.executable,
             REPO_ROOT / 'tools' / 'model_converters' / 'ewa_to_dense.py',
             TINY_EWA,
             work_dir / 'epoch_2.pth', converted)
    at_end = load_runner_checkpoint(str(work_dir / 'dense_final.safetensors'))
    from_cli = load_runner_checkpoint(str(converted))
    assert at_end['state_dict'].keys() == from_cli['state_dict'].keys()
    assert all(torch.equal(tensor, from_cli['state_dict'][key])
               for key, tensor in at_end['state_dict'].items())


# The ViT configs of the EWA experiments (the dense and MoE baselines
# too); the point-cloud configs are checked at full size below.
CONFIGS = sorted(
    [path for path in (CONFIG_ROOT / 'ewa').glob('*.py')
     if '_point-' not in path.name]
    + list((CONFIG_ROOT / 'demo').glob('*_vit-demo_1xb32-20e_digits.py'))
    + [TINY_EWA, TINY / 'rp-moe_vit-tiny_1xb8-2e_tiny-images.py',
       CONFIG_ROOT / 'full_finetune' /
       'full-finetune_vit-b16_8xb8-100e-lr1e-4_vtab1k-cifar.py'])
POINT_CONFIGS = sorted((CONFIG_ROOT / 'ewa').glob('*_point-mae_*.py'))


@pytest.mark.parametrize('path', CONFIGS,
                         ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_config_builds_its_model_and_hooks(path):
    """With the backbone shrunk to the test ViT (and no pretrained file)."""
    cfg = Config.fromfile(str(path))
    cfg.model.backbone.update(arch=vit_arch(num_layers=4),
                              img_size=IMAGE_SIZE, patch_size=PATCH_SIZE,
                              init_cfg=None)
    cfg.model.head.in_channels = WIDTH
    model = MODELS.build(cfg.model)
    peft = cfg.model.get('peft')
    if peft is None:
        assert not any(isinstance(m, MoEFFN) for m in model.modules())
    else:
        assert isinstance(model.backbone, MoEViT)
        assert [type(moe).__name__ for moe in model.backbone.moe_layers()
                ] == [peft.moe.type] * 2  # blocks 1 and 3 of 4
    for hook in cfg.get('custom_hooks', []):
        HOOKS.build(hook)


@pytest.mark.parametrize('path', POINT_CONFIGS, ids=lambda p: p.stem)
def test_point_mae_config_turns_every_other_block_into_a_moe(path):
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(path))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert isinstance(model.backbone, MoEViT)
    assert len(model.backbone.moe_layers()) == 6  # of Point-MAE's 12
    dense = MODELS.build(
        dict(cfg.model.to_dict(), peft=None))
    converted = convert_to_dense(model)
    assert converted.state_dict().keys() == dense.state_dict().keys()


def test_converter_refuses_a_dense_config_or_a_checkpoint_of_another_model(
        tmp_path):
    load_moe_model = runpy.run_path(
        str(REPO_ROOT / 'tools' / 'model_converters' /
            'ewa_to_dense.py'))['load_moe_model']
    init_default_scope('adapterx')
    dense = MODELS.build(Config.fromfile(str(DENSE_TINY)).model)
    dense_checkpoint = tmp_path / 'dense.pth'
    torch.save(dict(state_dict=dense.state_dict(), meta={}), dense_checkpoint)
    with pytest.raises(ValueError, match=f'{DENSE_TINY.name} builds no MoE'):
        load_moe_model(str(DENSE_TINY), str(dense_checkpoint), False)
    with pytest.raises(ValueError,
                       match=r'dense\.pth does not fit the model of .*'
                       rf'{re.escape(TINY_EWA.name)}: \d+ key\(s\) missing'):
        load_moe_model(str(TINY_EWA),
                       str(dense_checkpoint), False)
