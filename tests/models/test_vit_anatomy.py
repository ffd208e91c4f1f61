"""The ViT anatomy module: where the norms, attention, MLP, drop path and
prefix tokens of mmpretrain's and timm's ViTs and of the point transformer
are, checked against the real blocks (a wrong path fails to resolve or
computes something else), and the errors for blocks it does not know."""
import functools

import pytest
import torch
import torch.nn as nn

from adapterx.models.methods.vpt import VPT
from adapterx.models.vit_anatomy import (MMPRETRAIN_VIT, MMPRETRAIN_VIT_BLOCK,
                                         SWIN_BLOCK, TIMM_BLOCK, TIMM_VIT,
                                         block_anatomy, block_drop_path_rate,
                                         block_embed_dims, num_prefix_tokens,
                                         patch_size, token_mlp_place,
                                         vit_anatomy, vit_blocks)
from ..fixtures import (WIDTH, tiny_mmpretrain_vit, tiny_point_transformer,
                        tiny_swin, tiny_timm_vit)

HIDDEN = 96
mmpretrain_vit = functools.partial(
    tiny_mmpretrain_vit, feedforward_channels=HIDDEN, drop_path_rate=0.2)
timm_vit = functools.partial(tiny_timm_vit, mlp_ratio=HIDDEN / WIDTH,
                             drop_path_rate=0.2)
point_transformer = functools.partial(
    tiny_point_transformer, group_size=4, mlp_ratio=HIDDEN / WIDTH,
    drop_path_rate=0.2)

BACKBONES = {
    'mmpretrain': (mmpretrain_vit, MMPRETRAIN_VIT, (8, 8)),
    'timm': (timm_vit, TIMM_VIT, (8, 8)),
    'point': (point_transformer, TIMM_VIT, None),
}


@pytest.mark.parametrize('kind', BACKBONES)
def test_the_backbone_and_its_blocks_are_recognised(kind):
    build, anatomy, patch = BACKBONES[kind]
    backbone = build()
    blocks = vit_blocks(backbone, 'test')
    assert len(blocks) == 2
    assert vit_anatomy(backbone) is anatomy
    assert all(block_anatomy(block) is anatomy.block for block in blocks)
    assert [block_embed_dims(block) for block in blocks] == [WIDTH, WIDTH]
    # Stochastic depth rises linearly from 0 over the blocks.
    assert [block_drop_path_rate(block)
            for block in blocks] == pytest.approx([0.0, 0.2])
    assert num_prefix_tokens(backbone) == 1
    assert patch_size(backbone) == patch
    parameters = dict(backbone.named_parameters())
    assert f'{anatomy.block_list}.1.{anatomy.block.norm2}.weight' in \
        parameters
    assert parameters['cls_token'].shape == (1, 1, WIDTH)
    assert hasattr(backbone, anatomy.position_embedding)


@pytest.mark.parametrize('kind', BACKBONES)
def test_the_sublayers_are_the_blocks_norms_and_linear_layers(kind):
    block = vit_blocks(BACKBONES[kind][0](), 'test')[0]
    layers = {
        name: block.get_submodule(path)
        for name, path in block_anatomy(block).sublayers().items()
    }
    assert list(layers) == ['norm1', 'qkv', 'proj', 'norm2', 'fc1', 'fc2']
    assert isinstance(layers['norm1'], nn.LayerNorm)
    assert isinstance(layers['norm2'], nn.LayerNorm)
    shapes = {
        name: tuple(layers[name].weight.shape)
        for name in ('qkv', 'proj', 'fc1', 'fc2')
    }
    assert shapes == dict(qkv=(3 * WIDTH, WIDTH), proj=(WIDTH, WIDTH),
                          fc1=(HIDDEN, WIDTH), fc2=(WIDTH, HIDDEN))


@pytest.mark.parametrize('kind', BACKBONES)
@torch.no_grad()
def test_the_branches_recompute_the_block(kind):
    # x + Attn(Norm1 x), then + MLP(Norm2 x) from the anatomy's paths alone
    # gives the block's own output (eval: no drop path), so the paths name
    # the attention, the norms and the whole token-wise MLP.
    block = vit_blocks(BACKBONES[kind][0](), 'test')[1].eval()
    # Norms start alike; moved apart, a path to the wrong one shows.
    generator = torch.Generator().manual_seed(0)
    for parameter in block.parameters():
        parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
    anatomy = block_anatomy(block)
    parent, name = token_mlp_place(block)
    token_mlp = getattr(parent, name)
    x = torch.randn(2, 5, WIDTH)
    attended = block.get_submodule(anatomy.attn)(
        block.get_submodule(anatomy.norm1)(x))
    x_mid = x + attended
    expected = x_mid + token_mlp(block.get_submodule(anatomy.norm2)(x_mid))
    torch.testing.assert_close(block(x), expected)
    assert block.get_submodule(anatomy.fc1) is token_mlp.get_submodule(
        anatomy.fc1[len(anatomy.token_mlp) + 1:])


def test_residual_branches_include_timms_separate_layer_scales():
    assert MMPRETRAIN_VIT_BLOCK.attention_branch == ('ln1', 'attn')
    assert MMPRETRAIN_VIT_BLOCK.mlp_branch == ('ln2', 'ffn')
    assert TIMM_BLOCK.attention_branch == ('norm1', 'attn', 'ls1')
    assert TIMM_BLOCK.mlp_branch == ('norm2', 'mlp', 'ls2')
    block = timm_vit(init_values=0.5).blocks[0]
    for child in TIMM_BLOCK.attention_branch + TIMM_BLOCK.mlp_branch:
        assert list(block.get_submodule(child).parameters())


def test_register_tokens_count_as_prefix_tokens():
    assert num_prefix_tokens(timm_vit(reg_tokens=2)) == 3


def test_swin_paths_resolve_for_its_residual_units():
    block = tiny_swin().stages[0].blocks[0]
    assert type(block) is SWIN_BLOCK.block_class
    for path in SWIN_BLOCK.attention_branch + SWIN_BLOCK.mlp_branch + \
            tuple(SWIN_BLOCK.sublayers().values()):
        block.get_submodule(path)


@pytest.mark.parametrize('build, name', [
    (lambda: tiny_swin().stages[0].blocks[0], 'SwinBlock'),
    (lambda: nn.Linear(4, 4), 'Linear'),
])
def test_a_block_of_no_known_vit_is_refused_naming_its_class(build, name):
    with pytest.raises(ValueError) as error:
        block_anatomy(build())
    assert str(error.value) == (
        f'{name} is not a ViT block of a known layout; known: '
        "['mmpretrain VisionTransformer (TransformerEncoderLayer)', "
        "'timm VisionTransformer / PointTransformer (Block)']")


@pytest.mark.parametrize('build, name', [(tiny_swin, 'SwinTransformer'),
                                         (lambda: nn.Linear(4, 4), 'Linear')])
def test_a_model_without_vit_blocks_is_refused_naming_what_was_looked_for(
        build, name):
    model = build()
    message = (f'VPT: {name} has no mmpretrain TransformerEncoderLayer or '
               'timm Block (the blocks of ['
               "'mmpretrain VisionTransformer (TransformerEncoderLayer)', "
               "'timm VisionTransformer / PointTransformer (Block)']) to "
               'adapt.')
    with pytest.raises(ValueError) as error:
        VPT(model)
    assert str(error.value) == message
    with pytest.raises(ValueError, match=f'^vit_anatomy: {name} has no '):
        vit_anatomy(model)


def test_a_model_without_prefix_tokens_is_refused_naming_the_attributes():
    with pytest.raises(ValueError) as error:
        num_prefix_tokens(nn.Linear(4, 4))
    assert str(error.value) == (
        'Linear has no num_extra_tokens (mmpretrain) or num_prefix_tokens '
        '(timm) attribute: cannot tell where prompt tokens go.')


def test_an_mlp_of_an_unknown_class_is_refused_naming_both_classes():
    block = mmpretrain_vit(
        layer_cfgs=dict(ffn_type='swiglu_fused')).layers[0]
    with pytest.raises(ValueError) as error:
        token_mlp_place(block)
    assert str(error.value) == (
        'TransformerEncoderLayer.ffn is a SwiGLUFFNFused; its token-wise MLP '
        'is known for mmcv.cnn.bricks.transformer.FFN only')
