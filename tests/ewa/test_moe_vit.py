"""MoEViT on mmpretrain and timm ViTs, and the conversion back to the
unmodified backbone."""
import pytest
import torch
from mmpretrain.structures import DataSample

from adapterx.models import PeftImageClassifier
from adapterx.models.ewa import (MoEViT, RandomPartitionMoE, Top1MoE,
                                 convert_to_dense)
from ..fixtures import first_output, in_eval_mode, tiny_mmpretrain_vit
from ..fixtures import tiny_point_transformer as point_transformer
from ..fixtures import tiny_timm_backbone as timm_backbone
from ..fixtures import vit_config
from .tiny_models import (DEPTH, images, spread_experts, tiny_timm_vit,
                          tiny_vit)


def tiny_timm_backbone():
    torch.manual_seed(0)
    return timm_backbone(depth=DEPTH)


def plain_backbone_like(build):
    """A fresh, unmodified backbone of the same architecture, with other
    weights: what a converted checkpoint must load into."""
    backbone = build()
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.normal_()
    return backbone


def tiny_point_transformer():
    torch.manual_seed(0)
    return point_transformer(depth=DEPTH, group_embed_dims=24)


def point_clouds(batch=2):
    return torch.rand(batch, 64, 3,
                      generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize('build, inputs', [
    (tiny_vit, images), (tiny_timm_vit, images), (tiny_timm_backbone, images),
    (tiny_point_transformer, point_clouds)
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
    model = MoEViT(tiny_vit())
    layers = model.module.layers
    assert [isinstance(block.ffn.layers, RandomPartitionMoE)
            for block in layers] == [False, True, False, True]
    timm_model = MoEViT(tiny_timm_vit(), moe_blocks=[0, 2],
                        moe=dict(type='Top1MoE', num_experts=2))
    assert [isinstance(block.mlp, Top1MoE)
            for block in timm_model.module.blocks] == [True, False, True,
                                                       False]
    assert len(MoEViT(tiny_vit(), moe_blocks='all').moe_layers()) == 4


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
        MoEViT(tiny_vit(), **kwargs)


def test_unsupported_blocks_are_refused():
    with pytest.raises(ValueError, match='SwiGLUFFNFused'):
        MoEViT(tiny_mmpretrain_vit(num_layers=DEPTH,
                                   layer_cfgs=dict(ffn_type='swiglu_fused')))
    with pytest.raises(ValueError, match='no mmpretrain'):
        MoEViT(torch.nn.Linear(4, 4))


def test_experts_start_from_the_initialised_ffn():
    """mmpretrain initialises its FFNs in init_weights (and loads pretrained
    weights there): the wrapper does it before making the experts."""
    reference = tiny_vit()
    reference.init_weights()
    model = MoEViT(tiny_vit())
    assert model.module.is_init
    expected = reference.layers[1].ffn.layers[0][0].weight
    experts = model.module.layers[1].ffn.layers.experts[0][0].weight
    assert not torch.equal(tiny_vit().layers[1].ffn.layers[0][0].weight,
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


def classifier(peft):
    torch.manual_seed(0)
    return PeftImageClassifier(
        backbone=vit_config(num_layers=DEPTH),
        head=dict(type='VisionTransformerClsHead', num_classes=3,
                  in_channels=32),
        peft=peft)


def test_converted_classifier_loads_into_the_dense_classifier():
    model = classifier(dict(type='MoEViT'))
    spread_experts(model)
    model.eval()
    dense = classifier(None)
    dense.load_state_dict(convert_to_dense(model).state_dict(), strict=True)
    dense.eval()
    assert torch.equal(dense(images(), mode='tensor'),
                       model(images(), mode='tensor'))


def test_top1_balance_loss_reaches_the_classifier_losses():
    samples = [DataSample().set_gt_label(label) for label in (0, 2)]
    top1 = classifier(dict(type='MoEViT', moe=dict(
        type='Top1MoE', balance_loss_weight=0.1)))
    losses = top1.loss(images(), samples)
    expected = torch.stack([moe.auxiliary_loss()
                            for moe in top1.backbone.moe_layers()]).mean()
    assert torch.equal(losses['loss_balance'], expected)
    random_partition = classifier(dict(type='MoEViT'))
    assert 'loss_balance' not in random_partition.loss(images(), samples)
