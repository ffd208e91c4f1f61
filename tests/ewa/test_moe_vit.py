"""MoEViT on mmpretrain and timm ViTs, and the conversion back to the
unmodified backbone."""
import pytest
import torch
from mmpretrain.structures import DataSample

from adapterx.models.ewa import (MoEViT, RandomPartitionMoE, Top1MoE,
                                 convert_to_dense)
from ..fixtures import (first_output, image_batch, in_eval_mode,
                        seeded_builder, tiny_mmpretrain_vit,
                        tiny_point_transformer, tiny_timm_backbone,
                        tiny_timm_vit, tiny_vit_classifier, vit_config)
from .experts import spread_experts

DEPTH = 4
build_vit = seeded_builder(tiny_mmpretrain_vit, num_layers=DEPTH)
build_timm_vit = seeded_builder(tiny_timm_vit, depth=DEPTH)
build_timm_backbone = seeded_builder(tiny_timm_backbone, depth=DEPTH)
build_point_transformer = seeded_builder(
    tiny_point_transformer, depth=DEPTH, group_embed_dims=24)
classifier = seeded_builder(tiny_vit_classifier, num_layers=DEPTH)


def plain_backbone_like(build):
    """A fresh, unmodified backbone of the same architecture, with other
    weights: what a converted checkpoint must load into."""
    backbone = build()
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.normal_()
    return backbone


def point_clouds(batch=2):
    return torch.rand(batch, 64, 3,
                      generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize('build, inputs', [
    (build_vit, image_batch), (build_timm_vit, image_batch),
    (build_timm_backbone, image_batch),
    (build_point_transformer, point_clouds)
], ids=['mmpretrain', 'timm', 'TIMMBackbone', 'PointTransformer'])
def test_converted_model_is_the_unmodified_backbone(build, inputs):
    model = MoEViT(build(), moe=dict(type='RandomPartitionMoE',
                                     num_experts=4, init='independent'))
    spread_experts(model)
    in_eval_mode(model)
    averaged = first_output(model(inputs()))

    dense = in_eval_mode(convert_to_dense(model))
    plain = plain_backbone_like(build)
    assert type(dense) is type(plain)
    shapes = {key: value.shape for key, value in dense.state_dict().items()}
    assert shapes == {key: value.shape
                      for key, value in plain.state_dict().items()}
    assert sum(p.numel() for p in dense.parameters()) == \
        sum(p.numel() for p in plain.parameters())
    plain.load_state_dict(dense.state_dict(), strict=True)
    assert torch.equal(first_output(in_eval_mode(plain)(inputs())), averaged)
    # The MoE model itself is left as it was.
    assert len(model.moe_layers()) == 2


def test_every_other_block_becomes_an_moe():
    model = MoEViT(build_vit())
    layers = model.module.layers
    assert [isinstance(block.ffn.layers, RandomPartitionMoE)
            for block in layers] == [False, True, False, True]
    timm_model = MoEViT(build_timm_vit(), moe_blocks=[0, 2],
                        moe=dict(type='Top1MoE', num_experts=2))
    assert [isinstance(block.mlp, Top1MoE)
            for block in timm_model.module.blocks] == [True, False, True,
                                                       False]
    assert len(MoEViT(build_vit(), moe_blocks='all').moe_layers()) == 4


@pytest.mark.parametrize('kwargs, message', [
    (dict(moe_blocks=[1, 4]), r'\[4\] are not block indices 0..3'),
    (dict(moe_blocks=[-1]), r'\[-1\]'),
    (dict(moe_blocks=[1, 1]), 'name a block twice'),
    (dict(moe_blocks=[]), 'selects no block'),
    (dict(moe_blocks='odd'), "'odd'"),
    (dict(moe=dict(type='RandomPartitionMoE', num_experts=0)),
     'num_experts'),
])
def test_invalid_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MoEViT(build_vit(), **kwargs)


def test_unsupported_blocks_are_refused():
    with pytest.raises(ValueError, match='SwiGLUFFNFused'):
        MoEViT(tiny_mmpretrain_vit(num_layers=DEPTH,
                                   layer_cfgs=dict(ffn_type='swiglu_fused')))
    with pytest.raises(ValueError, match='no mmpretrain'):
        MoEViT(torch.nn.Linear(4, 4))


def test_experts_start_from_the_initialised_ffn():
    """mmpretrain initialises its FFNs in init_weights (and loads pretrained
    weights there): the wrapper does it before making the experts."""
    reference = build_vit()
    reference.init_weights()
    model = MoEViT(build_vit())
    assert model.module.is_init
    expected = reference.layers[1].ffn.layers[0][0].weight
    experts = model.module.layers[1].ffn.layers.experts[0][0].weight
    assert not torch.equal(build_vit().layers[1].ffn.layers[0][0].weight,
                           expected)  # init_weights did change it
    assert all(torch.equal(expert, expected) for expert in experts)


def test_experts_start_from_the_pretrained_ffn(tmp_path):
    torch.manual_seed(7)
    pretrained = tiny_mmpretrain_vit(num_layers=DEPTH)
    checkpoint = tmp_path / 'vit.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in pretrained.state_dict().items()}},
               checkpoint)
    model = MoEViT(vit_config(
        num_layers=DEPTH,
        init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint),
                      prefix='backbone.')))
    expected = pretrained.layers[3].ffn.layers[1].bias
    experts = model.module.layers[3].ffn.layers.experts[1].bias
    assert all(torch.equal(expert, expected) for expert in experts)


def test_converted_classifier_loads_into_the_dense_classifier():
    model = classifier(dict(type='MoEViT'))
    spread_experts(model)
    model.eval()
    dense = classifier(None)
    dense.load_state_dict(convert_to_dense(model).state_dict(), strict=True)
    dense.eval()
    assert torch.equal(dense(image_batch(), mode='tensor'),
                       model(image_batch(), mode='tensor'))


def test_top1_balance_loss_reaches_the_classifier_losses():
    samples = [DataSample().set_gt_label(label) for label in (0, 2)]
    top1 = classifier(dict(type='MoEViT', moe=dict(
        type='Top1MoE', balance_loss_weight=0.1)))
    losses = top1.loss(image_batch(), samples)
    expected = torch.stack([moe.auxiliary_loss()
                            for moe in top1.backbone.moe_layers()]).mean()
    assert torch.equal(losses['loss_balance'], expected)
    random_partition = classifier(dict(type='MoEViT'))
    assert 'loss_balance' not in random_partition.loss(image_batch(), samples)
