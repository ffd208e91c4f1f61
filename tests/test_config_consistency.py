"""The configs agree with each other and with the code: every config
parses; the per-task configs match the dataset tables; the point-cloud
configs build their models and carry DAPT's per-dataset settings; and the
baselines' benchmark configs differ from Adapter-X's (2D) and full
fine-tuning's (3D) only in the PEFT part.

Two ways to compare a baseline with its reference: the re-parameterisable
methods' configs differ from it in the PEFT base alone, so their sources are
compared (parsing every config with mmengine would take minutes); the block
methods also change backbone and head settings, so their parsed configs are
compared with those settings taken out."""
import ast
import functools

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.datasets import FGVC_DATASETS, VTAB1K_TASKS
from adapterx.engine.consistency import check_peft_reaches_model
from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import DATASETS, MODELS
from .utils import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
POINT_DATASETS = ('scanobjectnn_pb_t50_rs', 'scanobjectnn_obj_bg',
                  'scanobjectnn_obj_only', 'modelnet40')
# DAPT's (drop path, adapter dropout) per dataset.
DAPT_SETTINGS = dict(zip(POINT_DATASETS, [(0.3, 0.2), (0.3, 0.5),
                                          (0.1, 0.0), (0.1, 0.0)]))
POINT_CONFIGS = sorted(
    path for method in ('adapterx', 'full_finetune')
    for path in (CONFIGS / method / 'point').glob('*.py'))
# The methods that work inside the blocks.
BLOCK_METHODS = ('vpt_shallow', 'vpt_deep', 'adaptformer', 'convpass', 'idpt',
                 'dapt')
BLOCK_METHOD_CONFIGS = sorted(
    path for method in BLOCK_METHODS
    for path in (CONFIGS / 'baselines' / method).glob('*.py'))
# The re-parameterisable methods and the two references.
REPARAM_METHODS = ('bitfit', 'lora', 'ssf', 'fact_tt', 'fact_tk',
                   'full_finetune', 'linear_probe')
POINT_REPARAM_METHODS = tuple(m for m in REPARAM_METHODS
                              if m != 'full_finetune')
# The mmseg / mmdet configs inherit those codebases' bases and models:
# tests/downstream parses and builds them where they are installed.
ALL_CONFIGS = sorted(
    path for path in CONFIGS.rglob('*.py')
    if '_base_' not in path.parts and 'downstream' not in path.parts)


@pytest.mark.parametrize('path', ALL_CONFIGS,
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_config_parses(path):
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'adapterx'
    assert cfg.model.type in ('PeftImageClassifier', 'PointClassifier')
    # A PEFT base's method reaches the model (else it fine-tunes
    # everything; the runner refuses such a config).
    if 'peft' in cfg:
        check_peft_reaches_model(cfg, cfg.model.to_dict())


@pytest.mark.parametrize('demo,method', [
    (demo, method) for demo in ('digits', 'points')
    for method in ('adapterx', 'full_finetune', 'linear_probe')
])
def test_demo_configs_train_what_their_method_names(demo, method):
    init_default_scope('adapterx')
    model = MODELS.build(
        Config.fromfile(str(CONFIGS / 'demo' / f'{demo}_{method}.py')).model)
    report = trainable_parameter_report(model)
    expected = dict(adapterx=None, full_finetune=report.backbone,
                    linear_probe=0)[method]
    if expected is None:
        assert 0 < report.trainable_without_head < report.backbone / 10
    else:
        assert report.trainable_without_head == expected
    assert report.trainable_head == report.head


def dataloader_value(cfg, key):
    values = {cfg[f'{split}_dataloader'].dataset[key]
              for split in ('train', 'val', 'test')}
    assert len(values) == 1, values
    return values.pop()


@pytest.mark.parametrize('task', list(VTAB1K_TASKS))
def test_vtab_task_configs(task):
    cfg = Config.fromfile(
        str(CONFIGS / 'adapterx' / 'vtab' /
            f'adapterx_vitb_vtab_{task}.py'))
    assert dataloader_value(cfg, 'task') == task
    assert cfg.model.head.num_classes == VTAB1K_TASKS[task].num_classes
    assert cfg.data_preprocessor.num_classes == \
        VTAB1K_TASKS[task].num_classes
    assert cfg.train_dataloader.dataset.split == 'train800val200'
    assert cfg.test_dataloader.dataset.split == 'test'


def test_fgvc_configs_cover_the_five_datasets():
    paths = sorted((CONFIGS / 'adapterx' / 'fgvc').glob('*.py'))
    seen = set()
    for path in paths:
        cfg = Config.fromfile(str(path))
        dataset_type = dataloader_value(cfg, 'type')
        dataset_class = DATASETS.get(dataset_type)
        assert cfg.model.head.num_classes == dataset_class.NUM_CLASSES
        seen.add(dataset_class)
    assert seen == set(FGVC_DATASETS)


def dataset_of(path):
    return next(name for name in DAPT_SETTINGS if path.stem.endswith(name))


def test_every_method_model_and_dataset_has_a_config():
    names = {path.stem for path in POINT_CONFIGS}
    for method in ('adapterx', 'fullft'):
        for model in ('pointmae', 'pointbert'):
            for dataset in DAPT_SETTINGS:
                assert f'{method}_{model}_{dataset}' in names


@pytest.mark.parametrize('path', POINT_CONFIGS, ids=lambda p: p.stem)
def test_point_config_builds_and_matches_its_dataset(path):
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(path))
    dataset_class = DATASETS.get(cfg.train_dataloader.dataset.type)
    assert cfg.model.head.num_classes == len(dataset_class.METAINFO['classes'])
    expected_groups = 64 if dataset_of(path) == 'modelnet40' else 128
    assert cfg.model.backbone.num_groups == expected_groups
    cfg.model.backbone.pop('init_cfg')
    model = MODELS.build(cfg.model)
    report = trainable_parameter_report(model)
    if path.stem.startswith('adapterx'):
        drop_path, adapter_dropout = DAPT_SETTINGS[dataset_of(path)]
        assert cfg.model.backbone.drop_path_rate == drop_path
        assert cfg.model.peft.expert_dropout == adapter_dropout
        assert cfg.model.head.pooling == ('cls', 'prompt_mean', 'max')
        # DAPT-X: DAPT's positions once (the rest: tests/models/test_dapt_x).
        assert cfg.model.backbone.add_positions_every_block is False
        # About 2.0 to 2.4% with DAPT's scale-and-shifts and the head.
        assert report.percent_of_model_with_head < 2.4
    else:
        assert cfg.model.peft == dict(type='FullFineTune')
        assert report.trainable == report.total


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
    names = {path.stem for path in BLOCK_METHOD_CONFIGS}
    for method in ('vpt_shallow', 'vpt_deep', 'adaptformer', 'convpass'):
        assert {f'{method}_vitb_vtab', f'{method}_vitb_fgvc'} <= names
    for method in ('vpt_shallow', 'vpt_deep', 'adaptformer', 'idpt',
                   'dapt'):
        for dataset in POINT_DATASETS:
            assert f'{method}_pointmae_{dataset}' in names


@pytest.mark.parametrize('path', BLOCK_METHOD_CONFIGS, ids=lambda p: p.stem)
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


def statements_without_peft(path):
    """The config's ``_base_`` list less its PEFT base, and its other
    top-level statements less ``model``'s ``peft`` and the per-task PEFT
    settings (read from the source: parsing every config with mmengine
    would take minutes)."""
    bases, others = [], []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Expr):
            continue  # docstring
        target = node.targets[0].id
        if target == '_base_':
            bases = [
                element.value for element in node.value.elts
                if '/peft/' not in element.value
            ]
        elif target != 'vtab_task_options':
            if target == 'model':
                node.value.keywords = [
                    k for k in node.value.keywords if k.arg != 'peft'
                ]
            others.append(ast.dump(node))
    return bases, others


@pytest.mark.parametrize('benchmark', ('vtab', 'fgvc'))
@pytest.mark.parametrize('method', REPARAM_METHODS)
def test_2d_config_differs_from_adapterx_only_in_peft(method, benchmark):
    ours = CONFIGS / 'baselines' / method / f'{method}_vitb_{benchmark}.py'
    reference = CONFIGS / f'adapterx_vitb_{benchmark}.py'
    bases, others = statements_without_peft(ours)
    reference_bases, reference_others = statements_without_peft(reference)
    assert [base.replace('../../', './') for base in bases] == \
        reference_bases
    assert others == reference_others
    assert f"'../../_base_/peft/{method}.py'" in ours.read_text()


@pytest.mark.parametrize('dataset', POINT_DATASETS)
@pytest.mark.parametrize('method', POINT_REPARAM_METHODS)
def test_point_config_differs_from_full_finetuning_only_in_peft(
        method, dataset):
    ours = CONFIGS / 'baselines' / method / f'{method}_pointmae_{dataset}.py'
    reference = (CONFIGS / 'full_finetune' / 'point' /
                 f'fullft_pointmae_{dataset}.py')
    assert statements_without_peft(ours) == \
        statements_without_peft(reference)
    assert f"'../../_base_/peft/{method}.py'" in ours.read_text()


@pytest.mark.parametrize('method', POINT_REPARAM_METHODS)
def test_point_mae_trainable_sets(method):
    """The patterns fit Point-MAE's parameter names (its structure at a
    small width, for speed) and the counts follow that structure (3D
    convention: with the head)."""
    init_default_scope('adapterx')
    cfg = Config.fromfile(
        str(CONFIGS / 'baselines' / method /
            f'{method}_pointmae_modelnet40.py'))
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
        assert {n
                for n in names if not n.startswith('head.')} == {
                    f'backbone.factors.{p}'
                    for p in (('u', 'v',
                               'cores') if method == 'fact_tt' else ('u', 'v',
                                                                     'core',
                                                                     'factor'))
                }
    assert report.percent_of_model_with_head < 100
