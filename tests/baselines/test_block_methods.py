"""VPT, AdaptFormer, Convpass, IDPT and DAPT on mmpretrain ViTs, timm ViTs
and the point transformer: what the backbone outputs, what changes at
step 0, where prompts go, and that unwrapping gives the plain backbone
back."""
import pytest
import torch
from mmengine.registry import init_default_scope

from adapterx.registry import MODELS
from ..fixtures import first_output, tiny_point_transformer
from ..utils import peft_base
from .tiny_backbones import (BLOCK_METHOD_CASES, three_block_backbone,
                             three_block_batch)


@pytest.fixture(autouse=True)
def adapterx_scope():
    init_default_scope('adapterx')


def wrap(method, backbone, **overrides):
    peft = peft_base(method)
    return in_eval(MODELS.build(dict(peft, module=backbone, **overrides)))


def in_eval(model):
    model.eval()
    return model


def randomise(model, marker):
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if marker in name:
                parameter.normal_(0, 0.2)


@pytest.mark.parametrize('method,kind', BLOCK_METHOD_CASES)
def test_outputs_have_the_plain_backbones_shapes(method, kind):
    plain = three_block_backbone(kind)(three_block_batch(kind))
    wrapped = wrap(method, three_block_backbone(kind))(three_block_batch(kind))
    assert [t.shape for t in wrapped] == [t.shape for t in plain]


@pytest.mark.parametrize('method', ['vpt_shallow', 'vpt_deep',
                                    'adaptformer', 'convpass'])
def test_feature_maps_and_out_indices_never_see_prompts(method):
    """Dense prediction reads every block's tokens as a feature map."""
    options = dict(out_type='featmap', out_indices=(0, 1, 2))
    plain = three_block_backbone('mmpretrain', **options)(
        three_block_batch('mmpretrain'))
    model = wrap(method, three_block_backbone('mmpretrain', **options))
    wrapped = model(three_block_batch('mmpretrain'))
    assert [t.shape for t in wrapped] == [t.shape for t in plain] == \
        [(2, 32, 4, 4)] * 3
    if method.startswith('vpt'):
        assert model.forward_context.prompts.shape == (2, 10, 32)


@pytest.mark.parametrize('method,kind,marker', [
    ('adaptformer', 'mmpretrain', '.adaptformer.'),
    ('adaptformer', 'timm', '.adaptformer.'),
    ('adaptformer', 'point', '.adaptformer.'),
    ('convpass', 'mmpretrain', '.convpass.'),
    ('convpass', 'timm', '.convpass.'),
])
def test_zero_initialised_methods_leave_the_output_unchanged(
        method, kind, marker):
    expected = first_output(
        three_block_backbone(kind)(three_block_batch(kind)))
    model = wrap(method, three_block_backbone(kind))
    assert torch.equal(first_output(model(three_block_batch(kind))), expected)
    randomise(model, marker)
    assert not torch.allclose(first_output(model(three_block_batch(kind))),
                              expected)


@pytest.mark.parametrize('method,kind', [
    (method, kind) for method, kind in BLOCK_METHOD_CASES
    if method in ('vpt_shallow', 'vpt_deep', 'idpt', 'dapt')
])
def test_prompt_methods_change_the_output_from_step_0(method, kind):
    """Prompt tokens take part in attention from the start (and DAPT's
    scale-and-shift vectors start near, not at, the identity), so these
    methods do not reproduce the backbone at step 0."""
    expected = first_output(
        three_block_backbone(kind)(three_block_batch(kind)))
    output = first_output(wrap(method, three_block_backbone(kind))(
        three_block_batch(kind)))
    assert output.shape == expected.shape
    assert not torch.allclose(output, expected, atol=1e-4)


def test_dapt_adapters_start_at_zero():
    model = wrap('dapt', three_block_backbone('point'))
    tokens = torch.randn(2, 5, 32)
    for block in model._blocks:
        assert torch.equal(block.dapt.adapter(tokens),
                           torch.zeros_like(tokens))


@pytest.mark.parametrize('kind', ['mmpretrain', 'timm', 'point'])
@pytest.mark.parametrize('deep', [False, True])
def test_vpt_without_prompts_is_the_plain_backbone(kind, deep):
    expected = three_block_backbone(kind)(three_block_batch(kind))
    model = wrap('vpt_deep',
                 three_block_backbone(kind),
                 num_prompts=0,
                 deep=deep)
    output = model(three_block_batch(kind))
    assert all(torch.equal(a, b) for a, b in zip(output, expected))
    assert model.forward_context.prompts is None


def prompts_entering_each_block(model, kind, num_prompts):
    """The tokens at the prompt positions as each block's first norm sees
    them (after the class token)."""
    seen = []
    for block in model._blocks:
        norm = block.ln1 if hasattr(block, 'ln1') else block.norm1
        norm.register_forward_pre_hook(
            lambda module, inputs: seen.append(inputs[0][:, 1:1 +
                                                         num_prompts]))
    model(three_block_batch(kind))
    return seen


@pytest.mark.parametrize('kind', ['mmpretrain', 'timm', 'point'])
def test_vpt_deep_replaces_the_prompts_in_every_block(kind):
    model = wrap('vpt_deep', three_block_backbone(kind), num_prompts=3)
    seen = prompts_entering_each_block(model, kind, 3)
    assert len(seen) == 3
    for block, tokens in zip(model._blocks, seen):
        assert torch.equal(tokens, block.vpt.prompts.expand(2, -1, -1))


@pytest.mark.parametrize('kind', ['mmpretrain', 'timm'])
def test_vpt_shallow_carries_the_first_blocks_prompts(kind):
    model = wrap('vpt_shallow', three_block_backbone(kind), num_prompts=3)
    seen = prompts_entering_each_block(model, kind, 3)
    first = model._blocks[0].vpt.prompts
    assert torch.equal(seen[0], first.expand(2, -1, -1))
    assert not torch.allclose(seen[1], first.expand(2, -1, -1))
    blocks = 'layers' if kind == 'mmpretrain' else 'blocks'
    assert [name for name, _ in model.named_parameters()
            if '.vpt.' in name] == [f'module.{blocks}.0.vpt.prompts']


def test_vpt_initialises_with_the_patch_size_bound():
    model = wrap('vpt_shallow',
                 three_block_backbone('mmpretrain'),
                 num_prompts=200)
    prompts = model._blocks[0].vpt.prompts
    bound = (6 / (3 * 8 * 8 + 32))**0.5
    assert prompts.abs().max() <= bound
    assert prompts.abs().max() > 0.9 * bound


@pytest.mark.parametrize('method,kind', BLOCK_METHOD_CASES)
def test_unwrap_gives_the_plain_backbone_back(method, kind):
    backbone = three_block_backbone(kind)
    state = {k: v.clone() for k, v in backbone.state_dict().items()}
    expected = first_output(backbone(three_block_batch(kind)))
    model = wrap(method, backbone)
    unwrapped, adapter_state = model.unwrap()
    assert unwrapped is backbone
    assert unwrapped.state_dict().keys() == state.keys()
    assert torch.equal(first_output(unwrapped(three_block_batch(kind))),
                       expected)
    assert adapter_state and not any(key in state for key in adapter_state)


def test_idpt_generates_from_the_tokens_without_positions():
    """PointTransformer adds the positions before every block; IDPT's
    prompt comes from the residual tokens alone (the previous block's
    output)."""
    plain = three_block_backbone('point')
    previous_output = []
    plain.blocks[1].register_forward_hook(
        lambda module, inputs, output: previous_output.append(output))
    plain(three_block_batch('point'))
    model = wrap('idpt', three_block_backbone('point'))
    generator_input = []
    model._blocks[-1].idpt.generator.register_forward_pre_hook(
        lambda module, inputs: generator_input.append(inputs[0]))
    model(three_block_batch('point'))
    torch.testing.assert_close(generator_input[0],
                               previous_output[0][:, 1:])
    assert model.forward_context.prompts.shape == (2, 1, 32)


def test_dapt_appends_one_prompt_per_block_and_scales_and_shifts():
    model = wrap('dapt', three_block_backbone('point'))
    model(three_block_batch('point'))
    assert model.forward_context.prompts.shape == (2, 3, 32)
    # A scale-and-shift after every norm and linear layer of each block.
    assert sorted(model._blocks[0].dapt.scale_shifts) == [
        'fc1', 'fc2', 'norm1', 'norm2', 'proj', 'qkv'
    ]
    assert model._blocks[0].dapt.scale_shifts.qkv.scale.shape == (96, )
    with torch.no_grad():
        model.scale_shifts.norm.scale.fill_(0)
        model.scale_shifts.norm.shift.fill_(3)
    assert torch.all(model(three_block_batch('point'))[0] == 3)


@pytest.mark.parametrize('method,options,message', [
    ('vpt_deep', dict(num_prompts=-1), 'num_prompts'),
    ('vpt_deep', dict(init='xavier_uniform'), 'patch embedding'),
    ('idpt', dict(prompt_block=3), 'prompt_block 3'),
    ('dapt', dict(backbone_scale_shifts=('encoder', )), "'encoder'"),
])
def test_bad_settings_are_named(method, options, message):
    with pytest.raises(ValueError, match=message):
        wrap(method, three_block_backbone('point'), **options)


def test_convpass_needs_a_square_patch_grid():
    model = wrap('convpass',
                 three_block_backbone('mmpretrain', img_size=(32, 16)))
    with pytest.raises(ValueError, match='8 tokens .* no square patch grid'):
        model(torch.randn(1, 3, 32, 16))


@pytest.mark.parametrize('kind', ['mmpretrain', 'timm', 'point'])
def test_adaptformer_block_is_the_papers_formula(kind):
    """x' = x + Attn(LN1 x); out = x' + MLP(LN2 x') + s up(ReLU(down(LN2 x')))
    in every block, from the block's own weights: one router-free expert
    per block, no routing parameters."""
    model = wrap('adaptformer', three_block_backbone(kind), scale=0.5)
    randomise(model, '.adaptformer.')
    assert not any('router' in name or 'expert_embeddings' in name
                   for name, _ in model.named_parameters())
    x = torch.randn(2, 17, 32)
    for block in model._blocks:
        pool = block.adaptformer.adapter
        assert pool.down_weight.shape == (1, 32, 8)
        mmpretrain = hasattr(block, 'ln1')
        norm1, norm2 = (block.ln1, block.ln2) if mmpretrain else (
            block.norm1, block.norm2)
        after_attention = x + block.attn(norm1(x))
        normed = norm2(after_attention)
        adapter = torch.relu(normed @ pool.down_weight[0] +
                             pool.down_bias[0]) @ pool.up_weight[0] + \
            pool.up_bias[0]
        mlp = block.ffn(normed, identity=0) if mmpretrain else block.mlp(
            normed)
        expected = after_attention + mlp + 0.5 * adapter
        torch.testing.assert_close(block(x), expected)


def test_convpass_class_token_sees_only_the_kernel_centre():
    from adapterx.models.methods.convpass import ConvBypass
    torch.manual_seed(0)
    bypass = ConvBypass(32, scale=1.0, dropout=0.0)
    torch.nn.init.normal_(bypass.up.weight)
    tokens = torch.randn(2, 1 + 16, 32)
    down = bypass.activation(bypass.down(tokens[:, :1]))
    centre = down @ bypass.conv.weight[:, :, 1, 1].T + bypass.conv.bias
    expected = bypass.up(bypass.activation(centre))
    torch.testing.assert_close(bypass(tokens)[:, :1], expected)


def test_the_backbones_init_weights_keeps_the_methods_initialisation():
    """PointTransformer.init_weights re-initialises every Linear it holds,
    the injected adapters' too; their zero up-projections come back."""
    backbone = tiny_point_transformer(num_groups=16, group_size=8)
    model = wrap('dapt', backbone)
    model.init_weights()
    for block in model._blocks:
        assert not block.dapt.adapter.up.weight.any()
        assert not block.dapt.adapter.down.bias.any()
    assert backbone.blocks[0].attn.qkv.weight.std().item() == pytest.approx(
        0.02, rel=0.2)  # the backbone itself was initialised


@pytest.mark.parametrize('kind,final_norm', [('mmpretrain', 'ln1'),
                                             ('timm', 'norm')])
def test_the_3d_prompt_methods_also_patch_vits(kind, final_norm):
    expected = first_output(
        three_block_backbone(kind)(three_block_batch(kind)))
    dapt = wrap('dapt', three_block_backbone(kind),
                backbone_scale_shifts=(final_norm, ))
    assert first_output(dapt(three_block_batch(kind))).shape == expected.shape
    assert dapt.forward_context.prompts.shape == (2, 3, 32)
    idpt = wrap('idpt', three_block_backbone(kind))
    assert first_output(idpt(three_block_batch(kind))).shape == expected.shape
    assert idpt.forward_context.prompts.shape == (2, 1, 32)
