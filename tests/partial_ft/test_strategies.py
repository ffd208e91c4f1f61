"""Each of the eight strategies trains exactly its units and the head, on
the three backbone families, through PartialFineTuneHook."""
import re

import pytest
from mmengine.config import Config

from adapterx.engine.hooks.partial_finetune_hook import PartialFineTuneHook
from adapterx.models.partial_ft import (STRATEGIES, find_residual_units,
                                        get_strategy, strategy_units)
from adapterx.registry import HOOKS
from ..utils import REPO_ROOT
from .tiny_models import (LAYOUTS, build_classifier, mmpretrain_vit,
                          unit_parameter_names)

HEAD = {'head.weight', 'head.bias'}


def expected_trainable(family, strategy, names):
    """What ``strategy`` trains, from the documented definitions."""
    layout = LAYOUTS[family]
    blocks = [f'backbone.{block}' for block in layout['blocks']]
    half = len(blocks) // 2
    if strategy == 'norms_and_biases':
        return HEAD | {
            name for name in names if name.endswith('.bias')
            or re.fullmatch(r'(ln|norm)\d*', name.split('.')[-2])
        }
    block_choice = {
        'attention_only': blocks, 'ffn_only': blocks, 'head_only': [],
        'first_half': blocks[:half], 'last_half': blocks[half:],
        'attention_last_half': blocks[half:], 'ffn_last_half': blocks[half:]
    }[strategy]
    kinds = {'attention_only': ['attention'], 'ffn_only': ['ffn'],
             'attention_last_half': ['attention'],
             'ffn_last_half': ['ffn']}.get(strategy, ['attention', 'ffn'])
    children = [child for kind in kinds for child in layout[kind]]
    return HEAD | {
        name for block in block_choice
        for name in unit_parameter_names(names, block, children)
    }


@pytest.mark.parametrize('strategy', list(STRATEGIES))
@pytest.mark.parametrize('family', list(LAYOUTS))
def test_each_strategy_trains_exactly_its_units_and_the_head(
        family, strategy):
    model = build_classifier(family)
    names = [name for name, _ in model.named_parameters()]
    PartialFineTuneHook(strategy=strategy).freeze(model)
    trainable = {name for name, parameter in model.named_parameters()
                 if parameter.requires_grad}
    assert trainable == expected_trainable(family, strategy, names)


def test_swin_norms_and_biases_covers_patch_merging_norm_not_its_weight():
    model = build_classifier('swin')
    PartialFineTuneHook(strategy='norms_and_biases').freeze(model)
    trainable = {name for name, parameter in model.named_parameters()
                 if parameter.requires_grad}
    assert 'backbone.stages.0.downsample.norm.weight' in trainable
    assert 'backbone.stages.0.downsample.reduction.weight' not in trainable
    assert ('backbone.stages.0.blocks.0.attn.w_msa.'
            'relative_position_bias_table') not in trainable


def test_odd_block_count_puts_the_middle_block_in_the_last_half():
    units = find_residual_units(dict(mmpretrain_vit(3).named_parameters()))
    assert {unit.block for unit in strategy_units(units, 'first_half')} == {
        'layers.0'}
    assert {unit.block for unit in strategy_units(units, 'last_half')} == {
        'layers.1', 'layers.2'}


def test_two_strategies_are_the_papers_and_six_ours():
    origins = {name: strategy.origin for name, strategy in STRATEGIES.items()}
    assert origins == {
        'attention_only': 'paper', 'ffn_only': 'paper', 'head_only': 'ours',
        'first_half': 'ours', 'last_half': 'ours',
        'attention_last_half': 'ours', 'ffn_last_half': 'ours',
        'norms_and_biases': 'ours'
    }


def test_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'attention_onyl'.*'ffn_last_half'"):
        get_strategy('attention_onyl')
    with pytest.raises(ValueError, match="'mlp_only'.*'norms_and_biases'"):
        HOOKS.build(dict(type='PartialFineTuneHook', strategy='mlp_only'))


@pytest.mark.parametrize('arguments, message', [
    (dict(), 'none'),
    (dict(strategy='ffn_only', units=['layers.0.ffn']),
     r"\['strategy', 'units'\]"),
    (dict(angle_selection=dict(pretrained='a.pth', k=2)),
     r"missing key\(s\) \['finetuned'\]"),
    (dict(angle_selection=dict(pretrained='a', finetuned='b', k=1, top=2)),
     r"unknown key\(s\) \['top'\]"),
])
def test_hook_arguments_are_checked(arguments, message):
    with pytest.raises(ValueError, match=message):
        PartialFineTuneHook(**arguments)


def test_hook_trains_the_named_units():
    model = build_classifier('mmpretrain_vit')
    PartialFineTuneHook(units=['backbone.layers.1.ffn']).freeze(model)
    names = [name for name, _ in model.named_parameters()]
    assert {name for name, parameter in model.named_parameters()
            if parameter.requires_grad} == HEAD | unit_parameter_names(
                names, 'backbone.layers.1', ('ln2', 'ffn'))


def test_the_strategy_configs_name_their_strategy():
    folder = REPO_ROOT / 'configs' / 'partial_ft'
    for strategy in STRATEGIES:
        cfg = Config.fromfile(
            str(folder / f'partial_ft_vitb_vtab_{strategy}.py'))
        assert cfg.custom_hooks[0] == dict(
            type='PartialFineTuneHook', strategy=strategy)
        assert cfg.model.backbone.type == 'VisionTransformer'
        assert cfg.train_dataloader.dataset.type == 'VTAB1k'
