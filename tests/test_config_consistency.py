"""The configs, where inheritance cannot keep them consistent.

A benchmark config is its protocol base (``configs/_base_/protocols/``:
model, data, schedule and runtime of one backbone on one benchmark), its
PEFT base and what its method changes for that protocol. What is checked
here is what that structure does not guarantee by itself:

- every config parses and hands its PEFT base to its model;
- a benchmark config differs from its protocol base only in its method's
  part (or a task, a batch split, a learning rate its name states);
- the name (mmpretrain's ``{algorithm}_{backbone}_{N}xb{B}-{schedule}_
  {dataset}.py``) says what the config does: backbone, batch, epochs,
  dataset or task, protocol;
- class counts fit the datasets (the runner's own check, on every config);
- Adapter-X in 3D takes DAPT's per-dataset settings, typed once, in DAPT's
  configs.
"""
import ast
import functools
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.datasets import VTAB1K_TASKS
from adapterx.engine.consistency import (check_num_classes_in_config,
                                         check_peft_reaches_model)
from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import MODELS
from .utils import CONFIGS, REPO_ROOT, method_config

PROTOCOLS = CONFIGS / '_base_' / 'protocols'
# Folders of configs that are no benchmark's: the demos, the tests' tiny
# runs, the mmseg / mmdet examples (tests/downstream parses them where those
# codebases are installed), the merge demo.
NOT_BENCHMARKS = ('_base_', 'demo', 'tiny', 'downstream', 'merging')
ALL_CONFIGS = sorted(
    path for path in CONFIGS.rglob('*.py')
    if not {'_base_', 'downstream'} & set(path.relative_to(CONFIGS).parts))
BENCHMARK_CONFIGS = sorted(
    path for path in CONFIGS.glob('*/*.py')
    if path.parent.name not in NOT_BENCHMARKS)
POINT_DATASETS = ('scanobjectnn-pb-t50-rs', 'scanobjectnn-obj-bg',
                  'scanobjectnn-obj-only', 'modelnet40')
NAME = re.compile(r'^(?P<algorithm>[a-z0-9-]+)_(?P<backbone>[a-z0-9-]+)_'
                  r'(?P<gpus>\d+)xb(?P<batch>\d+)(?P<setting>[a-z0-9.-]*)_'
                  r'(?P<dataset>[a-z0-9-]+)$')


def relative(path):
    return str(path.relative_to(REPO_ROOT))


@functools.lru_cache(maxsize=None)
def load(path):
    return Config.fromfile(str(path))


def bases_of(path):
    """The files a config's ``_base_`` names, as paths."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_':
            names = ast.literal_eval(node.value)
            names = [names] if isinstance(names, str) else names
            return [(path.parent / name).resolve() for name in names]
    return []


def protocol_of(path):
    """The protocol base a config inherits, directly or through another
    config."""
    for base in bases_of(path):
        if base.parent == PROTOCOLS:
            return base
        if '_base_' not in base.parts:
            return protocol_of(base)
    return None


# The keys a method's config may change in its protocol base: the PEFT
# part; a task (VTAB-1k) or a dataset (FGVC) with its class count, which
# the class-count check below covers; the batch split and SyncBN of the
# 8-GPU point configs; a learning rate, stated in the name.
METHOD_KEYS = {
    'peft', 'point_head', 'custom_hooks', 'vtab_task_options', 'model.peft',
    'model.head.pooling', 'model.backbone.drop_path_rate',
    'model.backbone.add_positions_every_block', 'angle_pretrained',
    'angle_reference', 'task', 'dataset_type', 'num_classes',
    'model.head.num_classes', 'data_preprocessor.num_classes',
    'train_dataloader.batch_size', 'sync_bn', 'optim_wrapper.optimizer.lr',
    *(f'{split}_dataloader.dataset.{key}'
      for split in ('train', 'val', 'test') for key in ('task', 'type')),
}


def differences(config, base, prefix=''):
    """The dotted keys whose values differ between two config dicts."""
    if not (isinstance(config, dict) and isinstance(base, dict)):
        return set() if config == base else {prefix.rstrip('.')}
    keys = set(config) | set(base)
    return {
        difference
        for key in keys
        for difference in differences(config.get(key), base.get(key),
                                      f'{prefix}{key}.')
    }


def without_method_keys(keys):
    return {key for key in keys
            if not any(key == allowed or key.startswith(allowed + '.')
                       for allowed in METHOD_KEYS)}


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=relative)
def test_config_parses(path):
    cfg = load(path)
    assert cfg.default_scope == 'adapterx'
    assert cfg.model.type in ('PeftImageClassifier', 'PointClassifier')
    # A PEFT base's method reaches the model (else it fine-tunes
    # everything; the runner refuses such a config).
    if 'peft' in cfg:
        check_peft_reaches_model(cfg, cfg.model.to_dict())
    check_num_classes_in_config(cfg)


@pytest.mark.parametrize('path', BENCHMARK_CONFIGS, ids=relative)
def test_benchmark_config_changes_only_its_method_in_its_protocol(path):
    protocol = protocol_of(path)
    assert protocol is not None, f'{relative(path)} names no protocol base'
    changed = differences(load(path).to_dict(), load(protocol).to_dict())
    assert without_method_keys(changed) == set()


def setting_tokens(setting):
    """``'-100e-lr1e-4'`` -> ``{'100e', 'lr1e-4'}``."""
    return set(re.findall(r'lr[0-9.]+(?:e-?[0-9]+)?|[a-z0-9]+', setting))


@pytest.mark.parametrize('path', BENCHMARK_CONFIGS, ids=relative)
def test_name_says_what_the_config_does(path):
    """``{algorithm}_{backbone}_{N}xb{B}-{schedule}_{dataset}``: the
    backbone, schedule, protocol and benchmark of its protocol base (the
    dataset field names the task or dataset), N GPUs x B the batch its
    learning rate is for, any other learning rate stated."""
    name = NAME.match(path.stem)
    assert name, f'{path.name} is not named {NAME.pattern}'
    protocol_path = protocol_of(path)
    protocol = NAME.match('protocol_' + protocol_path.stem)
    cfg, protocol_cfg = load(path), load(protocol_path)
    assert name['backbone'] == protocol['backbone']
    assert int(name['batch']) == cfg.train_dataloader.batch_size
    assert int(name['gpus']) * int(name['batch']) == \
        cfg.auto_scale_lr.base_batch_size == \
        int(protocol['gpus']) * int(protocol['batch'])
    if name['backbone'].startswith('point-'):
        # Several GPUs: SyncBN, for the BatchNorms' batch statistics.
        assert cfg.get('sync_bn') == ('torch' if int(name['gpus']) > 1
                                      else None)
    tokens = setting_tokens(name['setting'])
    assert f'{cfg.train_cfg.max_epochs}e' in tokens
    assert setting_tokens(protocol['setting']) <= tokens
    lr = cfg.optim_wrapper.optimizer.lr
    stated = {token for token in tokens if token.startswith('lr')}
    if lr == protocol_cfg.optim_wrapper.optimizer.lr:
        assert not stated
    else:
        assert [float(token[2:]) for token in stated] == [lr]
    benchmark = protocol['dataset']
    dataset = cfg.train_dataloader.dataset
    if benchmark == 'vtab1k':
        assert name['dataset'] == f"vtab1k-{dataset.task.replace('_', '-')}"
    elif benchmark == 'fgvc':
        assert name['dataset'] == 'fgvc-' + re.sub(
            r'([a-z])([A-Z])', r'\1-\2', dataset.type).lower()
    else:
        assert name['dataset'] == benchmark


@pytest.mark.parametrize(
    'path', [path for path in BENCHMARK_CONFIGS if '_8xb4-' in path.name],
    ids=lambda p: p.stem)
def test_8_gpu_point_configs_split_their_1_gpu_batch(path):
    one_gpu = path.with_name(path.name.replace('_8xb4-', '_1xb32-'))
    assert differences(load(path).to_dict(), load(one_gpu).to_dict()) == {
        'train_dataloader.batch_size', 'sync_bn'}


def test_every_method_has_its_benchmark_configs():
    names = {path.stem for path in BENCHMARK_CONFIGS}
    vit = 'vit-b16_8xb8-100e'
    for method in ('adapterx', 'adaptformer', 'bitfit', 'convpass', 'fact-tk',
                   'fact-tt', 'full-finetune', 'linear-probe', 'lora', 'ssf',
                   'vpt-deep', 'vpt-shallow'):
        assert {f'{method}_{vit}_vtab1k-cifar',
                f'{method}_{vit}_fgvc-cub200'} <= names
    point = {
        (method, backbone, f'300e_{dataset}')
        for method, backbone in [
            ('adapterx', 'point-bert'), ('full-finetune', 'point-bert'),
            *((method, 'point-mae') for method in (
                'adapterx', 'adaptformer', 'bitfit', 'dapt', 'fact-tk',
                'fact-tt', 'full-finetune', 'idpt', 'linear-probe', 'lora',
                'ssf', 'vpt-deep', 'vpt-shallow'))]
        for dataset in POINT_DATASETS
    }
    point |= {('ewa', 'point-mae', f'300e_{dataset}')
              for dataset in ('scanobjectnn-pb-t50-rs', 'modelnet40')}
    # The rotation protocol: Adapter-X and DAPT.
    point |= {(method, 'point-mae', f'rotation-300e_{dataset}')
              for method in ('adapterx', 'dapt')
              for dataset in POINT_DATASETS[:3]}
    for method, backbone, setting in point:
        # One GPU of 32 (as Point-MAE and DAPT train), 8 GPUs of 4.
        for batch in ('1xb32', '8xb4'):
            assert f'{method}_{backbone}_{batch}-{setting}' in names


def test_every_vtab_task_has_an_adapterx_config():
    for task in VTAB1K_TASKS:
        path = (CONFIGS / 'adapterx' /
                f"adapterx_vit-b16_8xb8-100e_vtab1k-{task.replace('_', '-')}"
                '.py')
        assert load(path).train_dataloader.dataset.task == task


ADAPTERX_POINT_CONFIGS = sorted(CONFIGS.glob('adapterx/adapterx_point-*.py'))


@pytest.mark.parametrize('path', ADAPTERX_POINT_CONFIGS, ids=lambda p: p.stem)
def test_dapt_x_takes_dapts_settings_for_its_dataset(path):
    """Adapter-X in 3D (DAPT-X) uses DAPT's drop path and adapter dropout
    for the dataset (DAPT's configs hold them, for Point-MAE), its position
    embedding added once and its head's pooling."""
    cfg = load(path)
    dapt = load(method_config(
        'dapt', path.stem.split('_', 1)[1].replace('point-bert', 'point-mae')))
    assert cfg.model.backbone.drop_path_rate == \
        dapt.model.backbone.drop_path_rate
    assert cfg.model.peft.expert_dropout == dapt.model.peft.adapter_dropout
    assert cfg.model.backbone.add_positions_every_block is False
    assert cfg.model.head.pooling == dapt.model.head.pooling


@pytest.mark.parametrize('path', [
    path for path in BENCHMARK_CONFIGS if '_point-' in path.stem
    and not path.stem.startswith(('adapterx_', 'adapterx-', 'dapt_'))
], ids=lambda p: p.stem)
def test_other_point_methods_keep_the_backbones_drop_path(path):
    assert load(path).model.backbone.drop_path_rate == \
        load(protocol_of(path)).model.backbone.drop_path_rate


@pytest.mark.parametrize('backbone', ('point-mae', 'point-bert'))
def test_dapt_x_trains_about_two_percent(backbone):
    """DAPT-X with DAPT's scale-and-shifts and the head, on the hardest
    ScanObjectNN variant: about 2.0 to 2.4% of the model (3D convention)."""
    init_default_scope('adapterx')
    cfg = load(CONFIGS / 'adapterx' /
               f'adapterx_{backbone}_1xb32-300e_scanobjectnn-pb-t50-rs.py')
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg')
    report = trainable_parameter_report(MODELS.build(model_cfg))
    assert 1.9 < report.percent_of_model_with_head < 2.4


@pytest.mark.parametrize('demo,method', [
    (demo, method) for demo in ('vit-demo_1xb32-10e_digits',
                                'point-demo_1xb16-10e_synthetic-points8')
    for method in ('adapterx', 'full-finetune', 'linear-probe')
])
def test_demo_configs_train_what_their_method_names(demo, method):
    init_default_scope('adapterx')
    model = MODELS.build(load(CONFIGS / 'demo' / f'{method}_{demo}.py').model)
    report = trainable_parameter_report(model)
    expected = {'adapterx': None, 'full-finetune': report.backbone,
                'linear-probe': 0}[method]
    if expected is None:
        assert 0 < report.trainable_without_head < report.backbone / 10
    else:
        assert report.trainable_without_head == expected
    assert report.trainable_head == report.head


@pytest.mark.parametrize('method', ('bitfit', 'lora', 'ssf', 'fact_tt',
                                    'fact_tk', 'linear_probe'))
def test_point_mae_trainable_sets(method):
    """The patterns fit Point-MAE's parameter names (its structure at a
    small width, for speed) and the counts follow that structure (3D
    convention: with the head)."""
    init_default_scope('adapterx')
    cfg = Config.fromfile(
        str(method_config(method, 'point-mae_1xb32-300e_modelnet40')))
    cfg.model.backbone.pop('init_cfg')
    width = 24
    cfg.model.backbone.arch = dict(embed_dims=width,
                                   depth=12,
                                   num_heads=2,
                                   group_embed_dims=width)
    cfg.model.head.in_channels = width
    model = MODELS.build(cfg.model)
    names = model.apply_trainable_set()
    report = trainable_parameter_report(model)
    head = report.head
    if method == 'linear_probe':
        assert report.trainable == head
    elif method == 'lora':
        # r=8 on W_q and W_v (d x d) of 12 blocks.
        assert report.trainable - head == 12 * 2 * 8 * (width + width)
    elif method == 'bitfit':
        assert all(n.endswith('.bias') or n.startswith('head.') for n in names)
    elif method == 'ssf':
        assert report.trainable > head
    else:
        factors = ('u', 'v', 'cores') if method == 'fact_tt' else (
            'u', 'v', 'core', 'factor')
        assert {n for n in names if not n.startswith('head.')} == {
            f'backbone.factors.{p}' for p in factors}
    assert report.percent_of_model_with_head < 100
