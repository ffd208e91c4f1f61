"""The AdapterX wrapper on mmpretrain and timm ViTs."""
import pytest
import torch
from mmpretrain.structures import DataSample

from adapterx.models import AdapterX
from adapterx.models.peft import freeze_parameters
from adapterx.models.peft.injected import added_state_dict
from ..fixtures import (image_batch, seeded_builder, tiny_mmpretrain_vit,
                        tiny_timm_backbone, tiny_timm_vit,
                        tiny_vit_classifier)

DEPTH = 3
ADAPTERX_TRAINABLE = [r'^backbone\.expert_pools\.', r'\.adapterx\.',
                      r'\.(ln2|norm2)\.', r'\.cls_token$', r'^head\.']


build_vit = seeded_builder(tiny_mmpretrain_vit, eval_mode=True,
                           num_layers=DEPTH)
build_timm_vit = seeded_builder(tiny_timm_vit, eval_mode=True, depth=DEPTH)
build_timm_backbone = seeded_builder(tiny_timm_backbone, eval_mode=True,
                                     depth=DEPTH)


def randomise_adapters(model):
    """Non-zero expert outputs (up-projections start at zero)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if 'expert_pools' in name or '.adapterx.' in name:
                parameter.normal_(0, 0.2)


@pytest.mark.parametrize('build', [build_vit, build_timm_vit])
def test_one_expert_pool_serves_every_block(build):
    model = AdapterX(build())
    pool = model.expert_pools['mlp_0']
    assert list(model.expert_pools) == ['mlp_0']
    for block in model._blocks:
        assert block.adapterx.mlp_smoa.expert_pool is pool
        assert block.adapterx.attn_smoa is None
    routers = {id(block.adapterx.mlp_smoa.router) for block in model._blocks}
    assert len(routers) == 3
    names = [name for name, _ in model.named_parameters()
             if 'expert_pool' in name]
    assert all(name.startswith('expert_pools.mlp_0.') for name in names)


def test_sharing_groups_and_placements():
    model = AdapterX(build_vit(), placement='both',
                     sharing_groups=[[0, 2], [1]])
    assert sorted(model.expert_pools) == ['attn_0', 'attn_1', 'mlp_0',
                                          'mlp_1']
    blocks = model._blocks
    assert blocks[0].adapterx.attn_smoa.expert_pool is \
        blocks[2].adapterx.attn_smoa.expert_pool
    assert blocks[1].adapterx.mlp_smoa.expert_pool is \
        model.expert_pools['mlp_1']
    per_block = AdapterX(build_vit(), sharing_groups='per_block')
    assert len(per_block.expert_pools) == 3


@pytest.mark.parametrize('kwargs, message', [
    (dict(placement='ffn'), "'ffn'"),
    (dict(sharing_groups=[[0, 1]]),
     r'AdapterX sharing_groups \[\[0, 1\]\] must be .* each block 0..2 in '
     r'exactly one list\.$'),
    (dict(sharing_groups='some'), "'some'"),
    (dict(prompt_blocks=[5]), r'\[5\]'),
    (dict(prompt_blocks='every'),
     r"AdapterX prompt_blocks must be one of \['all', 'all_but_last'\] or a "
     r"list of block indices 0..2, got 'every'"),
    (dict(prompt_blocks=None), 'prompt_blocks .* got None'),
    (dict(balance_loss_weight=-1), '-1'),
    (dict(smoa_in_drop_path='yes'),
     "AdapterX smoa_in_drop_path must be True or False, got 'yes'"),
    (dict(smoa_norms=1), 'AdapterX smoa_norms must be True or False, got 1'),
    (dict(retrain_ln2=None), 'AdapterX retrain_ln2 must be True or False'),
    (dict(scale_shifts='norm'),
     r"AdapterX scale_shifts must be None \(none\) or a list of backbone "
     r"submodule paths .* got 'norm'"),
    (dict(scale_shifts=['no_such_module']),
     "AdapterX: VisionTransformer has no submodule 'no_such_module'"),
])
def test_invalid_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdapterX(build_vit(), **kwargs)


def test_retrain_ln2_off_keeps_the_block_norms_frozen():
    names = AdapterX(build_vit(), retrain_ln2=False,
                     scale_shifts=()).trainable_parameter_names()
    assert not [name for name in names if '.ln2.' in name]
    assert 'module.cls_token' in names
    assert 'module.layers.0.adapterx.scale_shifts.norm2.scale' in names


@pytest.mark.parametrize('sharing_groups', [7, [0, 1, 2], [[0, 1], 2],
                                            [[0, 1], [2.0]], [[True, 1, 2]]])
def test_sharing_groups_of_the_wrong_form(sharing_groups):
    # 7 used to fail with "'int' object is not iterable".
    with pytest.raises(ValueError) as error:
        AdapterX(build_vit(), sharing_groups=sharing_groups)
    assert str(error.value) == (
        "AdapterX sharing_groups must be 'all', 'per_block' or a list of "
        'lists of block indices such as [[0, 1], [2, 3]], each block 0..2 '
        f'in exactly one list; got {sharing_groups!r}.')


@pytest.mark.parametrize('build',
                         [build_vit, build_timm_vit, build_timm_backbone])
def test_zero_initialised_smoa_leaves_the_backbone_unchanged(build):
    plain = build()
    expected = plain(image_batch())
    wrapped = AdapterX(build(), prompt_generator=None)
    output = wrapped(image_batch())
    expected = expected[0] if isinstance(expected, tuple) else expected
    output = output[0] if isinstance(output, tuple) else output
    assert torch.equal(output, expected)
    randomise_adapters(wrapped)
    changed = wrapped(image_batch())
    changed = changed[0] if isinstance(changed, tuple) else changed
    assert not torch.allclose(changed, expected)


def test_prompt_tokens_never_leave_the_backbone():
    model = AdapterX(build_vit(out_type='raw'))
    randomise_adapters(model)
    sequence = model(image_batch())[0]
    assert sequence.shape == (2, 1 + 16, 32)  # CLS + 4x4 patches, no prompt
    # One prompt from each block but the last, all of them used inside.
    assert model.forward_context.prompts.shape == (2, 2, 32)
    featmap = AdapterX(build_vit(out_type='featmap'))(image_batch())[0]
    assert featmap.shape == (2, 32, 4, 4)


def test_prompts_take_part_in_later_blocks():
    model = AdapterX(build_vit())
    randomise_adapters(model)
    with_prompts = model(image_batch())[0]
    for block in model._blocks:
        block.adapterx.prompt_generator = None
    without_prompts = model(image_batch())[0]
    assert not torch.allclose(with_prompts, without_prompts)


def test_unwrap_round_trip():
    backbone = build_vit()
    plain_state = {k: v.clone() for k, v in backbone.state_dict().items()}
    plain_output = backbone(image_batch())[0]

    model = AdapterX(backbone)
    randomise_adapters(model)
    adapted_output = model(image_batch())[0]
    unwrapped, adapter_state = model.unwrap()

    assert unwrapped is backbone
    assert unwrapped.state_dict().keys() == plain_state.keys()
    for key, value in unwrapped.state_dict().items():
        assert torch.equal(value, plain_state[key]), key
    assert torch.equal(unwrapped(image_batch())[0], plain_output)
    assert not any(key in plain_state for key in adapter_state)

    rewrapped = AdapterX(unwrapped)
    missing, unexpected = rewrapped.load_state_dict(
        adapter_state | {f'module.{k}': v for k, v in plain_state.items()},
        strict=False)
    assert unexpected == []
    assert torch.equal(rewrapped(image_batch())[0], adapted_output)


def tiny_classifier(**peft):
    return tiny_vit_classifier(dict(type='AdapterX', **peft),
                               num_layers=DEPTH)


def test_gradients_reach_exactly_the_trainable_set():
    model = tiny_classifier()
    trainable = set(freeze_parameters(model, ADAPTERX_TRAINABLE))
    randomise_adapters(model)
    samples = [DataSample().set_gt_label(label) for label in (0, 2)]
    losses = model.loss(image_batch(), samples)
    assert set(losses) == {'loss', 'loss_balance'}
    sum(losses.values()).backward()
    with_grad = {name for name, parameter in model.named_parameters()
                 if parameter.grad is not None}
    assert with_grad == trainable
    assert 'backbone.module.layers.0.ln2.weight' in trainable
    assert 'backbone.module.layers.0.attn.qkv.weight' not in trainable
    assert 'backbone.module.ln1.weight' not in trainable


def test_balance_loss_weight_zero_adds_no_loss():
    model = tiny_classifier(balance_loss_weight=0)
    losses = model.loss(image_batch(), [DataSample().set_gt_label(1)] * 2)
    assert set(losses) == {'loss'}


def test_same_function_on_timm_and_mmpretrain_vits():
    """The same weights and adapters give the same features in both
    libraries' ViTs (atol 1e-5, fp32)."""
    from adapterx.models.converters import timm_vit_to_mmpretrain
    timm_model = AdapterX(build_timm_vit())
    randomise_adapters(timm_model)
    mmpretrain_vit = build_vit()
    mmpretrain_vit.load_state_dict(
        timm_vit_to_mmpretrain(_plain(timm_model)),
        strict=True)
    mmpretrain_model = AdapterX(mmpretrain_vit)
    adapters = {
        key.replace('module.blocks.', 'module.layers.'): value
        for key, value in added_state_dict(timm_model).items()
    }
    missing, unexpected = mmpretrain_model.load_state_dict(
        adapters, strict=False)
    assert unexpected == []
    assert not [key for key in missing if '.adapterx.' in key]
    expected = timm_model(image_batch())
    output = mmpretrain_model(image_batch())[0]
    assert torch.allclose(output, expected, atol=1e-5)
    assert not torch.allclose(expected, build_timm_vit()(image_batch()),
                              atol=1e-3)


def _plain(model):
    """The backbone's own tensors, without the adapters."""
    return {key[len('module.'):]: value
            for key, value in model.state_dict().items()
            if key.startswith('module.') and '.adapterx.' not in key}
