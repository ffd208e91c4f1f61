"""The fine-tuned angle, its ranking and selection, from tensors and from
checkpoint files, and the angle-selection configs."""
import copy
import math
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from adapterx.checkpoint import UntrustedCheckpointError
from adapterx.models.partial_ft import (PartialFineTune,
                                        checkpoint_unit_angles,
                                        find_residual_units, rank_units,
                                        select_by_angle, unit_angles,
                                        weight_angle)
from adapterx.models.peft.freeze import set_trainable
from adapterx.registry import MODELS
from ..utils import REPO_ROOT, load_tool
from ..fixtures import tiny_mmpretrain_vit
from .layouts import build_classifier, unit_parameter_names

HEAD = {'head.weight', 'head.bias'}


def test_identical_weights_have_angle_zero():
    torch.manual_seed(0)
    weights = [torch.randn(7, 5), torch.randn(5)]
    assert weight_angle(weights, [tensor.clone() for tensor in weights]) == 0


@pytest.mark.parametrize('first, second, degrees', [
    ([[1., 0.]], [[0., 1.]], 90),
    ([[1., 0.]], [[0.5, math.sqrt(3) / 2]], 60),
    ([[1., 0.]], [[-3., 0.]], 180),
    # Concatenated over tensors, and independent of the lengths.
    ([[1., 0.], [0.]], [[0., 0.], [2.]], 90),
    ([[1., 1.], [0.]], [[4., 4.], [0.]], 0),
])
def test_angle_of_known_vectors(first, second, degrees):
    vectors = [[torch.tensor(values, dtype=torch.float64) for values in side]
               for side in (first, second)]
    assert weight_angle(*vectors) == pytest.approx(degrees, abs=1e-9)


def test_angle_is_the_arccos_of_the_cosine():
    generator = np.random.default_rng(0)
    first = generator.normal(size=(3, 40))
    second = first + 0.3 * generator.normal(size=(3, 40))
    cosine = (first * second).sum() / (np.linalg.norm(first) *
                                        np.linalg.norm(second))
    expected = math.degrees(math.acos(cosine))
    assert weight_angle([torch.from_numpy(first)],
                        [torch.from_numpy(second)]) == pytest.approx(
                            expected, rel=1e-9)


def test_angle_refuses_zero_and_mismatched_weights():
    with pytest.raises(ValueError, match='unit X: all-zero'):
        weight_angle([torch.zeros(3)], [torch.ones(3)], label='unit X')
    with pytest.raises(ValueError, match='3 vs 4 values'):
        weight_angle([torch.ones(3)], [torch.ones(4)])


def perturbed(model, scales, seed=1):
    """A copy of ``model`` whose parameters under each prefix get random
    noise of the given relative scale."""
    torch.manual_seed(seed)
    finetuned = copy.deepcopy(model)
    with torch.no_grad():
        for name, parameter in finetuned.named_parameters():
            for prefix, scale in scales.items():
                if name.startswith(prefix):
                    parameter.add_(scale * parameter.abs().mean() *
                                   torch.randn_like(parameter))
    return finetuned


# Attention of block 0 and FFN of block 1 move most: the largest angle of
# each group. Everything else barely moves (the smallest).
SCALES = {
    'backbone.layers.0.attn.': 1.0, 'backbone.layers.1.ffn.': 1.0,
    'backbone.layers.1.attn.': 0.01, 'backbone.layers.0.ffn.': 0.01,
}
LARGEST = ['backbone.layers.0.attention', 'backbone.layers.1.ffn']
SMALLEST = ['backbone.layers.0.ffn', 'backbone.layers.1.attention']


def test_unit_angle_is_over_the_whole_unit():
    model = build_classifier('mmpretrain_vit')
    finetuned = perturbed(model, {'backbone.layers.1.attn.qkv.': 0.5})
    units = find_residual_units(dict(model.named_parameters()))
    angles = unit_angles(model.state_dict(), finetuned.state_dict(), units)

    names = [name for name, _ in model.named_parameters()]
    unit_names = sorted(
        unit_parameter_names(names, 'backbone.layers.1', ('ln1', 'attn')))
    vectors = [
        torch.cat([state[name].reshape(-1).double() for name in unit_names])
        for state in (model.state_dict(), finetuned.state_dict())
    ]
    cosine = vectors[0] @ vectors[1] / (vectors[0].norm() *
                                        vectors[1].norm())
    assert angles['backbone.layers.1.attention'] == pytest.approx(
        math.degrees(math.acos(cosine)), rel=1e-6)
    assert angles['backbone.layers.1.attention'] > 0
    assert [angles[f'backbone.layers.{block}.{kind}'] for block in (0, 1)
            for kind in ('attention', 'ffn')
            if (block, kind) != (1, 'attention')] == [0, 0, 0]


@pytest.mark.parametrize('family, block, kind, norm, sublayer', [
    ('mmpretrain_vit', 'backbone.layers.1', 'attention', 'ln1', 'attn'),
    ('timm_vit', 'backbone.blocks.0', 'ffn', 'norm2', 'mlp'),
])
def test_angle_without_the_norm_is_over_the_sublayer_alone(
        family, block, kind, norm, sublayer):
    model = build_classifier(family)
    units = find_residual_units(dict(model.named_parameters()))
    unit = f'{block}.{kind}'
    # Only the norm moves: an angle with it, none without it.
    norm_moved = perturbed(model, {f'{block}.{norm}.': 0.5}).state_dict()
    with_norm = unit_angles(model.state_dict(), norm_moved, units)
    without_norm = unit_angles(model.state_dict(), norm_moved, units,
                               include_norm=False)
    assert with_norm[unit] > 0 and without_norm[unit] == 0
    # Both move: without the norm, the angle of the sublayer's weights.
    both_moved = perturbed(model, {f'{block}.{norm}.': 0.5,
                                   f'{block}.{sublayer}.': 0.2}).state_dict()
    names = sorted(unit_parameter_names(
        [name for name, _ in model.named_parameters()], block, (sublayer, )))
    expected = weight_angle([model.state_dict()[name] for name in names],
                            [both_moved[name] for name in names])
    assert unit_angles(model.state_dict(), both_moved, units,
                       include_norm=False)[unit] == pytest.approx(expected,
                                                                  rel=1e-9)
    assert unit_angles(model.state_dict(), both_moved, units)[unit] != \
        pytest.approx(expected, rel=1e-3)


def test_ranking_and_selection_within_groups():
    model = build_classifier('mmpretrain_vit')
    units = find_residual_units(dict(model.named_parameters()))
    angles = unit_angles(model.state_dict(),
                         perturbed(model, SCALES).state_dict(), units)
    ranked = rank_units(units, angles)
    assert {group: [unit.name for unit, _ in members]
            for group, members in ranked.items()} == {
                'backbone.layers.*.attention': [
                    'backbone.layers.0.attention',
                    'backbone.layers.1.attention'
                ],
                'backbone.layers.*.ffn':
                ['backbone.layers.1.ffn', 'backbone.layers.0.ffn'],
            }
    assert [unit.name for unit in select_by_angle(units, angles, 1)
            ] == LARGEST
    assert [unit.name for unit in select_by_angle(
        units, angles, 1, 'smallest')] == SMALLEST
    assert len(select_by_angle(units, angles, 2)) == 4


@pytest.mark.parametrize('k, end, message', [
    (3, 'largest', r'k=3 exceeds the 2 units of group backbone\.layers'),
    (0, 'largest', 'k must be a positive integer, got 0'),
    (1, 'biggest', "end must be one of .*got 'biggest'"),
])
def test_selection_refuses_bad_k_and_end(k, end, message):
    model = build_classifier('mmpretrain_vit')
    units = find_residual_units(dict(model.named_parameters()))
    angles = {unit.name: 1.0 for unit in units}
    with pytest.raises(ValueError, match=message):
        select_by_angle(units, angles, k, end)


@pytest.fixture
def angle_files(tmp_path):
    """A bare-backbone pretrained file, a runner-style fine-tuned checkpoint
    (SCALES applied) and a trainable-only file of its layers.1.ffn unit and
    head."""
    model = build_classifier('mmpretrain_vit')
    finetuned = perturbed(model, SCALES).state_dict()
    pretrained_path = tmp_path / 'pretrained.pth'
    torch.save(model.backbone.state_dict(), pretrained_path)
    finetuned_path = tmp_path / 'epoch_2.pth'
    torch.save(dict(state_dict=finetuned, meta=dict(epoch=2)), finetuned_path)
    trained = [name for name in finetuned
               if name.startswith(('backbone.layers.1.ln2.',
                                   'backbone.layers.1.ffn.', 'head.'))]
    trainable_path = tmp_path / 'trainable_epoch_2.pth'
    torch.save(dict(state_dict={name: finetuned[name] for name in trained},
                    meta=dict(adapterx_trainable_only=True)), trainable_path)
    return model, pretrained_path, finetuned_path, trainable_path


def test_angles_from_checkpoint_files(angle_files):
    model, pretrained, finetuned, trainable_only = angle_files
    units, angles = checkpoint_unit_angles(str(pretrained), str(finetuned))
    expected = unit_angles(model.state_dict(),
                           perturbed(model, SCALES).state_dict(), units)
    assert angles == expected

    # The frozen units of a trainable-only file are the pretrained ones.
    _, partial_angles = checkpoint_unit_angles(str(pretrained),
                                               str(trainable_only))
    assert partial_angles == {
        name: expected[name] if name == 'backbone.layers.1.ffn' else 0.0
        for name in expected
    }


def test_angle_tool_without_norm_prints_the_angles_without_norms(
        angle_files, capsys, monkeypatch):
    model, pretrained, finetuned, _ = angle_files
    units, expected = checkpoint_unit_angles(str(pretrained), str(finetuned),
                                             include_norm=False)
    assert expected != checkpoint_unit_angles(str(pretrained),
                                              str(finetuned))[1]
    assert expected == unit_angles(model.state_dict(),
                                   perturbed(model, SCALES).state_dict(),
                                   units, include_norm=False)
    tool = load_tool('tools/analysis_tools/finetuned_angle.py')
    monkeypatch.setattr(sys, 'argv', ['finetuned_angle.py', str(pretrained),
                                      str(finetuned), '--without-norm'])
    tool.main()
    printed = capsys.readouterr().out
    assert 'residual units, LayerNorms left out' in printed
    rows = {line.split()[1]: line.split()[2] for line in printed.splitlines()
            if line.strip()[:1].isdigit()}
    assert rows == {name: f'{angle:.4f}' for name, angle in expected.items()}


def test_a_full_checkpoint_missing_unit_tensors_is_refused(tmp_path,
                                                          angle_files):
    _, pretrained, finetuned, _ = angle_files
    state = torch.load(finetuned)['state_dict']
    del state['backbone.layers.0.attn.qkv.weight']
    broken = tmp_path / 'broken.pth'
    torch.save(dict(state_dict=state, meta={}), broken)
    with pytest.raises(ValueError,
                       match=r'broken\.pth lacks 1 tensor.*layers\.0\.attn'):
        checkpoint_unit_angles(str(pretrained), str(broken))


def test_a_deeper_fine_tuned_model_is_refused(tmp_path, angle_files):
    _, pretrained, _, _ = angle_files
    deeper = tmp_path / 'deeper.pth'
    torch.save(dict(state_dict={f'backbone.{name}': value for name, value in
                                tiny_mmpretrain_vit(3).state_dict().items()},
                    meta={}), deeper)
    with pytest.raises(ValueError,
                       match=r"deeper\.pth has residual units that .*"
                       r"pretrained\.pth lacks, e\.g\. \['backbone\.layers"
                       r"\.2\.attention'"):
        checkpoint_unit_angles(str(pretrained), str(deeper))


class _PickledCall:
    """Unpickling this calls ``print``, as a malicious file would call
    something worse."""

    def __reduce__(self):
        return print, ('unpickled',)


def test_method_names_its_own_trust_setting(tmp_path, angle_files):
    model, pretrained, finetuned, _ = angle_files
    checkpoint = torch.load(finetuned)
    checkpoint['meta']['args'] = _PickledCall()
    torch.save(checkpoint, finetuned)
    selection = dict(pretrained=str(pretrained), finetuned=str(finetuned),
                     k=1)
    method = PartialFineTune(angle_selection=selection)
    with pytest.raises(UntrustedCheckpointError) as error:
        method.trainable_parameter_names(model.backbone)
    assert str(error.value).startswith(f'{finetuned} needs full unpickling')
    assert str(error.value).endswith(
        'If you trust the origin of the file: '
        'model.peft.angle_selection.trust=True (--trust-checkpoint does not '
        "apply to the angle selection's files).")

    trusted = PartialFineTune(angle_selection=dict(selection, trust=True))
    assert trusted.trainable_parameter_names(model.backbone)


@pytest.mark.parametrize('end, expected', [('largest', LARGEST),
                                           ('smallest', SMALLEST)])
def test_angle_config_trains_the_selected_units(angle_files, end, expected):
    model, pretrained, finetuned, _ = angle_files
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs' / 'partial_ft' /
            f'partial-ft-angle-{end}_vit-b16_8xb8-100e_vtab1k-cifar.py'))
    method_cfg = cfg.model.peft
    assert method_cfg.type == 'PartialFineTune'
    assert method_cfg.angle_selection.end == end
    method_cfg.angle_selection.update(
        pretrained=str(pretrained), finetuned=str(finetuned), k=1)
    backbone_names = MODELS.build(method_cfg).trainable_parameter_names(
        model.backbone)
    set_trainable(model, [f'backbone.{name}' for name in backbone_names] +
                  sorted(HEAD))

    names = [name for name, _ in model.named_parameters()]
    children = {'attention': ('ln1', 'attn'), 'ffn': ('ln2', 'ffn')}
    selected = set()
    for unit in expected:
        block, kind = unit.rsplit('.', 1)
        selected |= unit_parameter_names(names, block, children[kind])
    assert {name for name, parameter in model.named_parameters()
            if parameter.requires_grad} == HEAD | selected
