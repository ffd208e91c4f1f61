"""Residual units and their groups on mmpretrain ViT, timm ViT and Swin."""
import re

import pytest
import torch
import torch.nn as nn

from adapterx.models import AdapterX
from adapterx.models.partial_ft import (find_residual_units, group_units,
                                        pick_units)
from ..fixtures import tiny_mmpretrain_vit, tiny_timm_vit
from .layouts import LAYOUTS, build_classifier, unit_parameter_names


@pytest.mark.parametrize('family', list(LAYOUTS))
def test_units_are_the_documented_children_of_each_block(family):
    layout = LAYOUTS[family]
    model = layout['build']()
    names = [name for name, _ in model.named_parameters()]
    units = find_residual_units(dict(model.named_parameters()))

    expected = [(f'{block}.{kind}', unit_parameter_names(
        names, block, layout[kind])) for block in layout['blocks']
                for kind in ('attention', 'ffn')]
    assert [(unit.name, set(unit.parameters)) for unit in units] == expected
    assert [unit.block_index for unit in units] == [
        index for index in range(len(layout['blocks'])) for _ in range(2)
    ]
    # Each unit's pattern matches its parameters and nothing else.
    for unit in units:
        assert {name for name in names
                if re.search(unit.pattern, name)} == set(unit.parameters)


def test_vit_has_one_attention_group_and_one_ffn_group():
    units = find_residual_units(
        dict(tiny_mmpretrain_vit(3).named_parameters()))
    groups = group_units(units)
    assert {group: [unit.name for unit in members]
            for group, members in groups.items()} == {
                'layers.*.attention':
                [f'layers.{index}.attention' for index in range(3)],
                'layers.*.ffn': [f'layers.{index}.ffn' for index in range(3)],
            }


def test_swin_groups_units_per_stage_and_leaves_patch_merging_out():
    model = build_classifier('swin')
    units = find_residual_units(dict(model.named_parameters()))
    groups = {
        group: [unit.name for unit in members]
        for group, members in group_units(units).items()
    }
    assert groups == {
        f'backbone.stages.{stage}.blocks.*.{kind}': [
            f'backbone.stages.{stage}.blocks.{block}.{kind}'
            for block in range(2)
        ]
        for stage in range(2) for kind in ('attention', 'ffn')
    }
    in_units = {name for unit in units for name in unit.parameters}
    outside = {name for name, _ in model.named_parameters()} - in_units
    assert outside == {
        'backbone.patch_embed.projection.weight',
        'backbone.patch_embed.projection.bias',
        'backbone.patch_embed.norm.weight', 'backbone.patch_embed.norm.bias',
        'backbone.stages.0.downsample.norm.weight',
        'backbone.stages.0.downsample.norm.bias',
        'backbone.stages.0.downsample.reduction.weight',
        'backbone.norm1.weight', 'backbone.norm1.bias', 'head.weight',
        'head.bias'
    }


def test_a_checkpoint_gives_the_units_of_its_model():
    # Swin's state dict also holds integer relative_position_index buffers,
    # which are no weights.
    model = build_classifier('swin')
    from_model = find_residual_units(dict(model.named_parameters()))
    from_state = find_residual_units(model.state_dict())
    assert from_state == from_model
    assert not any('relative_position_index' in name for unit in from_state
                   for name in unit.parameters)


def test_timm_layer_scale_belongs_to_its_unit():
    model = tiny_timm_vit(mlp_ratio=4.0, init_values=1e-5)
    units = {unit.name: unit
             for unit in find_residual_units(dict(model.named_parameters()))}
    assert 'blocks.0.ls1.gamma' in units['blocks.0.attention'].parameters
    assert 'blocks.0.ls2.gamma' in units['blocks.0.ffn'].parameters


def test_an_adapterx_wrapped_backbone_keeps_its_units():
    wrapped = AdapterX(module=tiny_mmpretrain_vit())
    units = find_residual_units(dict(wrapped.named_parameters()))
    assert [unit.name for unit in units] == [
        'module.layers.0.attention', 'module.layers.0.ffn',
        'module.layers.1.attention', 'module.layers.1.ffn'
    ]
    assert not any('.adapterx.' in name for unit in units
                   for name in unit.parameters)


def test_no_transformer_block_is_an_error_naming_the_layouts():
    with pytest.raises(ValueError, match='SwinTransformer') as error:
        find_residual_units(dict(nn.Linear(2, 2).named_parameters()))
    assert "'ln1'" in str(error.value)


def test_units_of_a_group_must_have_the_same_structure():
    state = tiny_mmpretrain_vit().state_dict()
    state['layers.1.ln1.weight'] = torch.ones(5)
    with pytest.raises(ValueError, match=r'layers\.\*\.attention'):
        find_residual_units(state)


def test_pick_units_by_name_and_refuse_unknown_names():
    units = find_residual_units(
        dict(tiny_mmpretrain_vit().named_parameters()))
    picked = pick_units(units, ['layers.1.ffn', 'layers.0.attention'])
    assert [unit.name for unit in picked] == [
        'layers.0.attention', 'layers.1.ffn'
    ]
    with pytest.raises(ValueError, match=r"\['layers\.7\.ffn'\]"):
        pick_units(units, ['layers.0.ffn', 'layers.7.ffn'])
    with pytest.raises(ValueError, match='list of unit names'):
        pick_units(units, 'layers.0.ffn')
