"""The baseline benchmark configs differ from Adapter-X's (2D) and full
fine-tuning's (3D) only in the PEFT part, and their trainable patterns fit
Point-MAE."""
import ast

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import MODELS
from ..utils import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
METHODS = ('bitfit', 'lora', 'ssf', 'fact_tt', 'fact_tk', 'full_finetune',
           'linear_probe')
POINT_METHODS = tuple(m for m in METHODS if m != 'full_finetune')
POINT_DATASETS = ('scanobjectnn_pb_t50_rs', 'scanobjectnn_obj_bg',
                  'scanobjectnn_obj_only', 'modelnet40')


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
@pytest.mark.parametrize('method', METHODS)
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
@pytest.mark.parametrize('method', POINT_METHODS)
def test_point_config_differs_from_full_finetuning_only_in_peft(
        method, dataset):
    ours = CONFIGS / 'baselines' / method / f'{method}_pointmae_{dataset}.py'
    reference = (CONFIGS / 'full_finetune' / 'point' /
                 f'fullft_pointmae_{dataset}.py')
    assert statements_without_peft(ours) == \
        statements_without_peft(reference)
    assert f"'../../_base_/peft/{method}.py'" in ours.read_text()


@pytest.mark.parametrize('method', POINT_METHODS)
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
