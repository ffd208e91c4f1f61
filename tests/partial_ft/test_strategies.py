"""Each of the eight strategies trains exactly its units and the head, on
the three backbone families, through the PartialFineTune method."""
import re

import pytest
from mmengine.config import Config

from mmengine.registry import init_default_scope

from adapterx.models.partial_ft import (STRATEGIES, PartialFineTune,
                                        find_residual_units, get_strategy,
                                        strategy_units)
from adapterx.models.peft.freeze import set_trainable
from adapterx.registry import HOOKS, MODELS
from ..utils import REPO_ROOT
from ..fixtures import tiny_mmpretrain_vit
from .layouts import LAYOUTS, build_classifier, unit_parameter_names

HEAD = {'head.weight', 'head.bias'}


def partial_fine_tune(model, **selection):
    """Train what the method selects in ``model.backbone``, and the head
    (what the classifiers add to every method's set)."""
    backbone_names = PartialFineTune(**selection).trainable_parameter_names(
        model.backbone)
    set_trainable(model, [f'backbone.{name}' for name in backbone_names] +
                  sorted(HEAD))


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
    partial_fine_tune(model, strategy=strategy)
    trainable = {name for name, parameter in model.named_parameters()
                 if parameter.requires_grad}
    assert trainable == expected_trainable(family, strategy, names)


def test_swin_norms_and_biases_covers_patch_merging_norm_not_its_weight():
    model = build_classifier('swin')
    partial_fine_tune(model, strategy='norms_and_biases')
    trainable = {name for name, parameter in model.named_parameters()
                 if parameter.requires_grad}
    assert 'backbone.stages.0.downsample.norm.weight' in trainable
    assert 'backbone.stages.0.downsample.reduction.weight' not in trainable
    assert ('backbone.stages.0.blocks.0.attn.w_msa.'
            'relative_position_bias_table') not in trainable


def test_odd_block_count_puts_the_middle_block_in_the_last_half():
    units = find_residual_units(
        dict(tiny_mmpretrain_vit(3).named_parameters()))
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
        MODELS.build(dict(type='PartialFineTune', strategy='mlp_only'))


@pytest.mark.parametrize('arguments, message', [
    (dict(), 'none'),
    (dict(strategy='ffn_only', units=['layers.0.ffn']),
     r"\['strategy', 'units'\]"),
    (dict(angle_selection=dict(pretrained='a.pth', k=2)),
     r"missing key\(s\) \['finetuned'\]"),
    (dict(angle_selection=dict(pretrained='a', finetuned='b', k=1, top=2)),
     r"unknown key\(s\) \['top'\]"),
])
def test_method_arguments_are_checked(arguments, message):
    with pytest.raises(ValueError, match=message):
        PartialFineTune(**arguments)


def test_method_trains_the_named_units():
    model = build_classifier('mmpretrain_vit')
    partial_fine_tune(model, units=['backbone.layers.1.ffn'])
    names = [name for name, _ in model.named_parameters()]
    assert {name for name, parameter in model.named_parameters()
            if parameter.requires_grad} == HEAD | unit_parameter_names(
                names, 'backbone.layers.1', ('ln2', 'ffn'))


def test_the_strategy_configs_name_their_strategy():
    folder = REPO_ROOT / 'configs' / 'partial_ft'
    for strategy in STRATEGIES:
        cfg = Config.fromfile(
            str(folder / (f"partial-ft-{strategy.replace('_', '-')}_"
                          'vit-b16_8xb8-100e_vtab1k-cifar.py')))
        assert cfg.model.peft == dict(type='PartialFineTune',
                                      strategy=strategy)
        assert cfg.custom_hooks[0] == dict(type='ParameterFreezeHook')
        assert cfg.model.backbone.type == 'VisionTransformer'
        assert cfg.train_dataloader.dataset.type == 'VTAB1k'


@pytest.mark.parametrize('strategy', ['ffn_last_half', 'head_only'])
def test_a_classifier_built_from_the_config_is_frozen_to_its_strategy(
        strategy):
    """The classifier applies the method when it is built: no hook needed
    for the set to hold (the tiny ViT has 2 blocks, mmpretrain's names)."""
    init_default_scope('adapterx')
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs' / 'tiny' /
            'partial-ft_vit-tiny_1xb8-2e_tiny-images.py'))
    cfg.merge_from_dict({'model.peft.strategy': strategy})
    model = MODELS.build(cfg.model)
    names = [name for name, _ in model.named_parameters()]
    trainable = {name for name, parameter in model.named_parameters()
                 if parameter.requires_grad}
    head = {name for name in names if name.startswith('head.')}
    blocks = sorted({'.'.join(name.split('.')[:3]) for name in names
                     if name.startswith('backbone.layers.')})
    expected = head | (unit_parameter_names(
        names, blocks[-1], ('ln2', 'ffn')) if strategy == 'ffn_last_half'
        else set())
    assert trainable == expected


def test_a_config_written_for_the_removed_hook_names_the_replacement():
    with pytest.raises(ValueError,
                       match=r"peft=dict\(_delete_=True, type='PartialFine"
                       r"Tune', strategy='ffn_only'\)"):
        HOOKS.build(dict(type='PartialFineTuneHook', strategy='ffn_only'))
