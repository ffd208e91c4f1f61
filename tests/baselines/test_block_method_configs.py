"""The baselines' benchmark configs differ from Adapter-X's (2D) and full
fine-tuning's (3D) configs only in the PEFT part, and carry each method's
per-dataset settings."""
import functools

import pytest
from mmengine.config import Config

from ..utils import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
# The methods that work inside the blocks; the re-parameterisable ones are
# checked by test_reparam_configs.py.
BLOCK_METHODS = ('vpt_shallow', 'vpt_deep', 'adaptformer', 'convpass', 'idpt',
                 'dapt')
BASELINES = sorted(path for method in BLOCK_METHODS
                   for path in (CONFIGS / 'baselines' / method).glob('*.py'))
POINT_DATASETS = ('scanobjectnn_pb_t50_rs', 'scanobjectnn_obj_bg',
                  'scanobjectnn_obj_only', 'modelnet40')
# DAPT's (drop path, adapter dropout) per dataset (../shared/METHODS.md).
DAPT_SETTINGS = dict(zip(POINT_DATASETS, [(0.3, 0.2), (0.3, 0.5),
                                          (0.1, 0.0), (0.1, 0.0)]))
# Keys that hold the PEFT part (top-level helpers of the PEFT bases too).
PEFT_KEYS = ('peft', 'point_head', 'custom_hooks', 'adapterx_trainable')


@functools.lru_cache(maxsize=None)
def load(path):
    return Config.fromfile(str(path))


def reference_of(path):
    method = path.parent.name
    if '_vitb_' in path.stem:
        return CONFIGS / path.stem.replace(method, 'adapterx').join(
            ['', '.py'])
    dataset = path.stem.split('_pointmae_')[1]
    return (CONFIGS / 'full_finetune' / 'point' /
            f'fullft_pointmae_{dataset}.py')


def without_peft(cfg):
    config = {key: value for key, value in cfg.to_dict().items()
              if key not in PEFT_KEYS}
    model = dict(config['model'])
    model.pop('peft', None)
    model['head'] = {key: value for key, value in model['head'].items()
                     if key != 'pooling'}
    model['backbone'] = {
        key: value for key, value in model['backbone'].items()
        if key not in ('drop_path_rate', 'add_positions_every_block')
    }
    config['model'] = model
    return config


def test_every_method_has_its_configs():
    names = {path.stem for path in BASELINES}
    for method in ('vpt_shallow', 'vpt_deep', 'adaptformer', 'convpass'):
        assert {f'{method}_vitb_vtab', f'{method}_vitb_fgvc'} <= names
    for method in ('vpt_shallow', 'vpt_deep', 'adaptformer', 'idpt',
                   'dapt'):
        for dataset in POINT_DATASETS:
            assert f'{method}_pointmae_{dataset}' in names


@pytest.mark.parametrize('path', BASELINES, ids=lambda p: p.stem)
def test_only_the_peft_part_differs(path):
    cfg = load(path)
    reference = load(reference_of(path))
    assert without_peft(cfg) == without_peft(reference)
    method = path.parent.name
    base = load(CONFIGS / '_base_' / 'peft' / f'{method}.py')
    assert cfg.custom_hooks == base.custom_hooks
    assert cfg.model.peft.type == base.peft.type
    if '_pointmae_' not in path.stem:
        return
    dataset = path.stem.split('_pointmae_')[1]
    if method == 'dapt':
        drop_path, adapter_dropout = DAPT_SETTINGS[dataset]
        assert cfg.model.backbone.drop_path_rate == drop_path
        assert cfg.model.peft.adapter_dropout == adapter_dropout
        assert cfg.model.backbone.add_positions_every_block is False
    else:
        assert cfg.model.backbone.drop_path_rate == 0.1
    pooling = ('cls', 'prompt_mean', 'max') if method in ('idpt', 'dapt') \
        else ('cls', 'max')
    assert cfg.model.head.pooling == pooling
