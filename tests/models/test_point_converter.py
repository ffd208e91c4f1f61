"""Official Point-MAE / Point-BERT checkpoints -> PointTransformer keys.

The source state dicts are written here from the official modules' key
names and shapes (their Encoder, Block with bias-free qkv, MAE decoder,
Point-BERT's student/teacher transformers and dVAE), not from our model."""
import sys

import pytest
import torch

from adapterx.models import PointTransformer
from adapterx.models.converters import (convert_point_transformer,
                                        detect_point_format)
from ..utils import REPO_ROOT, run_tool

ARCH = dict(embed_dims=16, depth=2, num_heads=2, group_embed_dims=16)


def mini_pointnet_keys(prefix, out_channels):
    shapes = {}
    for conv, (cin, mid, cout) in (('first_conv', (3, 128, 256)),
                                   ('second_conv', (512, 512, out_channels))):
        shapes[f'{prefix}{conv}.0.weight'] = (mid, cin, 1)
        shapes[f'{prefix}{conv}.0.bias'] = (mid, )
        for stat in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}{conv}.1.{stat}'] = (mid, )
        shapes[f'{prefix}{conv}.1.num_batches_tracked'] = ()
        shapes[f'{prefix}{conv}.3.weight'] = (cout, mid, 1)
        shapes[f'{prefix}{conv}.3.bias'] = (cout, )
    return shapes


def transformer_keys(prefix, dims, depth):
    shapes = {
        f'{prefix}pos_embed.0.weight': (128, 3),
        f'{prefix}pos_embed.0.bias': (128, ),
        f'{prefix}pos_embed.2.weight': (dims, 128),
        f'{prefix}pos_embed.2.bias': (dims, ),
        f'{prefix}norm.weight': (dims, ),
        f'{prefix}norm.bias': (dims, ),
    }
    for i in range(depth):
        block = f'{prefix}blocks.blocks.{i}.'
        shapes.update({
            block + 'norm1.weight': (dims, ),
            block + 'norm1.bias': (dims, ),
            block + 'attn.qkv.weight': (3 * dims, dims),
            block + 'attn.proj.weight': (dims, dims),
            block + 'attn.proj.bias': (dims, ),
            block + 'norm2.weight': (dims, ),
            block + 'norm2.bias': (dims, ),
            block + 'mlp.fc1.weight': (4 * dims, dims),
            block + 'mlp.fc1.bias': (4 * dims, ),
            block + 'mlp.fc2.weight': (dims, 4 * dims),
            block + 'mlp.fc2.bias': (dims, ),
        })
    return shapes


def random_state(shapes):
    return {
        key: torch.randn(shape) if shape else torch.tensor(3)
        for key, shape in shapes.items()
    }


def official_point_mae_pretrain(dims=16, depth=2):
    encoder = 'module.MAE_encoder.'
    shapes = {**mini_pointnet_keys(encoder + 'encoder.', dims),
              **transformer_keys(encoder, dims, depth)}
    # Its TransformerDecoder holds the blocks in a plain ModuleList
    # (MAE_decoder.blocks.i), unlike the encoder's blocks.blocks.i.
    decoder = {
        key.replace(encoder + 'blocks.blocks.',
                    'module.MAE_decoder.blocks.').replace(
                        encoder + 'norm.', 'module.MAE_decoder.norm.'): shape
        for key, shape in transformer_keys(encoder, dims, 4).items()
        if 'blocks' in key or 'norm.' in key
    }
    shapes.update(decoder)
    shapes.update({
        'module.mask_token': (1, 1, dims),
        'module.decoder_pos_embed.0.weight': (128, 3),
        'module.decoder_pos_embed.0.bias': (128, ),
        'module.decoder_pos_embed.2.weight': (dims, 128),
        'module.decoder_pos_embed.2.bias': (dims, ),
        'module.increase_dim.0.weight': (3 * 32, dims, 1),
        'module.increase_dim.0.bias': (3 * 32, ),
    })
    return random_state(shapes)


def official_point_bert_pretrain(dims=16, depth=2, group_dims=12):
    shapes = {}
    for branch in ('transformer_q', 'transformer_k'):
        prefix = f'module.{branch}.'
        shapes.update(mini_pointnet_keys(prefix + 'encoder.', group_dims))
        shapes.update(transformer_keys(prefix, dims, depth))
        shapes.update({
            prefix + 'reduce_dim.weight': (dims, group_dims),
            prefix + 'reduce_dim.bias': (dims, ),
            prefix + 'cls_token': (1, 1, dims),
            prefix + 'cls_pos': (1, 1, dims),
            prefix + 'mask_token': (1, 1, dims),
            prefix + 'lm_head.weight': (8192, dims),
            prefix + 'lm_head.bias': (8192, ),
            prefix + 'cls_head.0.weight': (dims, dims),
            prefix + 'cls_head.0.bias': (dims, ),
            prefix + 'cls_head.2.weight': (dims, dims),
            prefix + 'cls_head.2.bias': (dims, ),
        })
    shapes.update({
        'module.dvae.encoder.first_conv.0.weight': (128, 3, 1),
        'module.dvae.codebook': (8192, 256),
        'module.queue': (dims, 16384),
        'module.queue_ptr': (1, ),
    })
    return random_state(shapes)


def expected_shapes(backbone):
    return {key: value.shape for key, value in backbone.state_dict().items()}


def test_point_mae_pretrain_maps_every_key_and_initialises_the_cls_tokens():
    official = official_point_mae_pretrain()
    backbone = PointTransformer(arch=ARCH)
    result = convert_point_transformer(official, expected_shapes(backbone))
    assert result.source_format == 'point-mae'
    assert set(result.state_dict) == set(backbone.state_dict())
    assert result.initialised == ['cls_token', 'cls_pos']
    # Values are carried over, not re-created.
    assert torch.equal(
        result.state_dict['blocks.1.attn.qkv.weight'],
        official['module.MAE_encoder.blocks.blocks.1.attn.qkv.weight'])
    assert torch.equal(
        result.state_dict['group_encoder.second_conv.1.running_var'],
        official['module.MAE_encoder.encoder.second_conv.1.running_var'])
    # Everything not mapped is a pretraining-only module.
    assert all(
        key.startswith(('MAE_decoder.', 'decoder_pos_embed.', 'mask_token',
                        'increase_dim.')) for key in result.discarded)
    assert len(result.state_dict) + len(result.discarded) == \
        len(official) + len(result.initialised)
    assert backbone.load_state_dict(result.state_dict, strict=True)


def test_point_bert_pretrain_takes_the_student_and_its_class_tokens():
    official = official_point_bert_pretrain()
    backbone = PointTransformer(
        arch=dict(ARCH, group_embed_dims=12))
    result = convert_point_transformer(official, expected_shapes(backbone))
    assert result.source_format == 'point-bert'
    assert set(result.state_dict) == set(backbone.state_dict())
    assert result.initialised == []
    assert torch.equal(result.state_dict['group_projection.weight'],
                       official['module.transformer_q.reduce_dim.weight'])
    assert torch.equal(result.state_dict['cls_pos'],
                       official['module.transformer_q.cls_pos'])
    assert not any(key.startswith('transformer_k')
                   for key in result.state_dict)
    assert backbone.load_state_dict(result.state_dict, strict=True)


def test_fine_tuned_point_mae_checkpoint_loses_its_head():
    pretrain = official_point_mae_pretrain()
    fine_tuned = {
        key.replace('module.MAE_encoder.', 'module.'): value
        for key, value in pretrain.items() if 'MAE_encoder.' in key
    }
    fine_tuned.update({
        'module.cls_token': torch.randn(1, 1, 16),
        'module.cls_pos': torch.randn(1, 1, 16),
        'module.cls_head_finetune.0.weight': torch.randn(256, 32),
    })
    backbone = PointTransformer(arch=ARCH)
    result = convert_point_transformer(fine_tuned, expected_shapes(backbone))
    assert result.source_format == 'point-mae'
    assert result.initialised == []
    assert result.discarded == ['cls_head_finetune.0.weight']
    assert torch.equal(result.state_dict['cls_pos'],
                       fine_tuned['module.cls_pos'])
    assert backbone.load_state_dict(result.state_dict, strict=True)


def test_unknown_and_missing_keys_and_wrong_shapes_are_named():
    backbone = PointTransformer(arch=ARCH)
    shapes = expected_shapes(backbone)
    official = official_point_mae_pretrain()
    with pytest.raises(ValueError, match='adapter_scale'):
        convert_point_transformer(
            dict(official, **{'module.MAE_encoder.adapter_scale':
                              torch.ones(1)}), shapes)
    del official['module.MAE_encoder.norm.bias']
    with pytest.raises(ValueError, match=r"lacks 1 .*'norm.bias'"):
        convert_point_transformer(official, shapes)
    wider = PointTransformer(
        arch=dict(ARCH, embed_dims=32, group_embed_dims=32))
    with pytest.raises(ValueError, match='shape mismatch'):
        convert_point_transformer(official_point_mae_pretrain(),
                                  expected_shapes(wider))
    with pytest.raises(ValueError, match='cannot tell'):
        detect_point_format({'backbone.layers.0.weight': torch.ones(1)})


@pytest.mark.slow
def test_cli_writes_a_file_that_the_pretrained_init_loads_strictly(tmp_path):
    # The official files are full training checkpoints: weights under
    # 'base_model', beside the epoch and metrics.
    source = tmp_path / 'pretrain.pth'
    official = official_point_bert_pretrain(dims=384, depth=12,
                                            group_dims=256)
    torch.save({'base_model': official, 'epoch': 300,
                'metrics': {'acc': 0.9}}, source)
    converted = tmp_path / 'point_bert.safetensors'
    output = run_tool(sys.executable, REPO_ROOT / 'tools' / 'model_converters' /
                      'point_transformer_to_adapterx.py', source, converted)
    assert 'point-bert: wrote' in output
    from mmengine.registry import init_default_scope
    init_default_scope('adapterx')
    backbone = PointTransformer(
        arch='point-bert',
        init_cfg=dict(type='Pretrained', checkpoint=str(converted),
                      prefix='backbone.'))
    backbone.init_weights()
    torch.testing.assert_close(
        backbone.blocks[11].mlp.fc2.weight,
        official['module.transformer_q.blocks.blocks.11.mlp.fc2.weight'])


def test_published_point_mae_pretrain_fits_the_published_arch():
    # Point-MAE's pretrain.pth at its real sizes: width 384, 12 encoder
    # blocks, group embedding 384, 4 decoder blocks.
    official = official_point_mae_pretrain(dims=384, depth=12)
    backbone = PointTransformer(arch='point-mae')
    result = convert_point_transformer(official, expected_shapes(backbone))
    assert set(result.state_dict) == set(backbone.state_dict())
    assert len(result.discarded) == len(official) - (
        len(result.state_dict) - len(result.initialised))
