"""PeftViTDense: a PEFT-wrapped ViT as a dense-prediction backbone, for
every method of PEFT_METHODS."""
import copy

import pytest
import torch
from mmengine import DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from mmpretrain.models import VisionTransformer

from adapterx.models.peft.freeze import declared_trainable_names
from adapterx.registry import MODELS
from ..fixtures import PATCH_SIZE, WIDTH
from .dense_models import (TinySegmentor, dense_backbone, segmentation_batch,
                           tiny_vit)
from .peft_methods import PEFT_METHODS

TIMM_VIT = dict(
    type='TIMMBackbone',
    model_name='vit_tiny_patch16_224',
    features_only=True,
    embed_dim=WIDTH,
    depth=4,
    num_heads=2,
    img_size=32,
    patch_size=PATCH_SIZE,
    dynamic_img_size=True)


def build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def plain_vit_of(backbone) -> VisionTransformer:
    return next(m for m in backbone.modules()
                if isinstance(m, VisionTransformer))


@pytest.mark.parametrize('vit', [tiny_vit(), TIMM_VIT], ids=['mmpretrain',
                                                              'timm'])
@pytest.mark.parametrize('peft', PEFT_METHODS)
def test_maps_at_every_out_index_and_pyramid_strides(peft, vit):
    torch.manual_seed(0)
    model = TinySegmentor(dense_backbone(peft, vit=vit))
    # 64x48 is not the ViT's 32x32: the position embedding is interpolated.
    images, _ = segmentation_batch(size=(64, 48))
    maps = model.backbone(images)
    assert [m.shape for m in maps] == [(2, WIDTH, 8, 6)] * 4
    levels = model.neck(maps)
    # With 16x16 patches these would be strides 4, 8, 16 and 32.
    assert [tuple(level.shape[-2:]) for level in levels] == [
        (8 * scale, 6 * scale) for scale in (4, 2, 1)] + [(4, 3)]
    assert all(level.shape[:2] == (2, 16) for level in levels)


@pytest.mark.parametrize('peft', PEFT_METHODS)
def test_maps_are_the_patch_tokens_without_class_or_prompt_tokens(peft):
    torch.manual_seed(0)
    backbone = build(dense_backbone(peft))
    backbone.eval()
    raw = copy.deepcopy(backbone)
    plain_vit_of(raw).out_type = 'raw'
    images, _ = segmentation_batch(size=(64, 48))
    with torch.no_grad():
        maps = backbone(images)
        sequences = raw.encoder(images)
    for feature_map, sequence in zip(maps, sequences):
        # One class token and 8x6 patch tokens: whatever prompts the method
        # added have left the sequence.
        assert sequence.shape == (2, 1 + 8 * 6, WIDTH)
        patches = sequence[:, 1:].reshape(2, 8, 6, WIDTH)
        torch.testing.assert_close(feature_map, patches.permute(0, 3, 1, 2))


@pytest.mark.parametrize('peft', [
    None,
    dict(type='AdapterX', num_experts=2, prompt_generator=None),
], ids=['no_peft', 'adapterx_zero_init_without_prompts'])
def test_equals_the_plain_mmpretrain_vit(peft):
    """Without a method, and with Adapter-X's zero-initialized experts and
    no prompts, the maps are mmpretrain's own featmap outputs."""
    torch.manual_seed(0)
    backbone = build(dense_backbone(peft))
    backbone.eval()
    reference = VisionTransformer(
        **{k: v for k, v in tiny_vit().items() if k != 'type'},
        out_indices=(0, 1, 2, 3))
    reference.load_state_dict(plain_vit_of(backbone).state_dict(),
                              strict=False)
    reference.eval()
    images, _ = segmentation_batch(size=(64, 48))
    with torch.no_grad():
        for ours, theirs in zip(backbone(images), reference(images)):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize('peft', PEFT_METHODS)
def test_training_changes_only_the_method_and_the_head(peft):
    """The dense backbone froze itself to the method's set when it was
    built; the segmentor's own parts train as built."""
    torch.manual_seed(0)
    model = TinySegmentor(dense_backbone(peft))
    trainable_names = {
        name for name, parameter in model.named_parameters()
        if parameter.requires_grad
    }
    assert trainable_names == {
        f'backbone.{name}'
        for name in model.backbone.trainable_parameter_names()
    } | {
        name for name, _ in model.named_parameters()
        if not name.startswith('backbone.')
    }
    assert set(declared_trainable_names(model)) == trainable_names
    assert any(name.startswith('decode_head.') for name in trainable_names)
    assert any(name.startswith('neck.') for name in trainable_names)
    assert any(name.startswith('backbone.') for name in trainable_names) == (
        peft['type'] != 'LinearProbe')
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2)
    images, labels = segmentation_batch()
    for _ in range(3):
        optimizer.zero_grad()
        loss = model.loss(images, labels)
        loss.backward()
        optimizer.step()
    assert torch.isfinite(loss)
    for name, parameter in model.named_parameters():
        changed = not torch.equal(parameter, before[name])
        assert changed == (name in trainable_names), name


def test_adapterx_balance_loss_trains_through_the_backbone():
    """mmseg/mmdet models only backpropagate their heads' losses; the
    backbone attaches Adapter-X's load-balancing loss to its last map, so
    the gradients are those of task loss + balance loss."""
    torch.manual_seed(0)
    model = TinySegmentor(
        dense_backbone(dict(type='AdapterX', num_experts=2))).train()
    images, labels = segmentation_batch()
    model.loss(images, labels).backward()
    attached = {n: p.grad.clone() for n, p in model.named_parameters()
                if '.router.' in n}
    model.zero_grad()

    # Reference: the same forward without the attachment, both losses
    # summed explicitly.
    backbone = model.backbone
    backbone.forward = lambda x: tuple(backbone.encoder(x))
    task_loss = model.loss(images, labels)
    balance = backbone.encoder.auxiliary_losses()['loss_balance']
    assert balance > 0
    (task_loss + balance).backward()
    del backbone.forward
    assert attached
    for name, gradient in attached.items():
        torch.testing.assert_close(gradient, dict(
            model.named_parameters())[name].grad)
        assert gradient.abs().sum() > 0


def test_builds_in_adapterx_scope_from_another_codebase():
    """Under mmseg's or mmdet's default scope 'VisionTransformer' names
    their own ViT; the backbone's ViT and wrapper are still adapterx's."""

    downstream = Registry(
        'model', parent=MMENGINE_MODELS, scope='downstream_codebase')

    @downstream.register_module(name='VisionTransformer')
    class NotTheViT(torch.nn.Module):
        pass

    cfg = dense_backbone(dict(type='AdapterX', num_experts=2))
    with DefaultScope.overwrite_default_scope('downstream_codebase'):
        backbone = downstream.build(cfg)
    assert type(backbone.encoder).__name__ == 'AdapterX'
    assert isinstance(backbone.encoder.module, VisionTransformer)


def test_pretrained_weights_load_strictly_under_any_scope(tmp_path):
    """The ViT's checkpoint loads through the wrapper when the runner calls
    init_weights under another codebase's scope, with adapterx's strict
    loading: a checkpoint that lacks a ViT tensor fails."""
    torch.manual_seed(0)
    source = VisionTransformer(
        **{k: v for k, v in tiny_vit().items() if k != 'type'})
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    complete, incomplete = tmp_path / 'vit.pth', tmp_path / 'partial.pth'
    torch.save(state, complete)
    torch.save({k: v for k, v in state.items() if 'layers.3.' not in k},
               incomplete)

    def backbone_from(checkpoint):
        vit = tiny_vit(init_cfg=dict(
            type='Pretrained', checkpoint=str(checkpoint),
            prefix='backbone.'))
        backbone = MODELS.build(
            dense_backbone(dict(type='AdapterX', num_experts=2), vit=vit))
        with DefaultScope.overwrite_default_scope('mmengine'):
            backbone.init_weights()
        return backbone

    loaded = plain_vit_of(backbone_from(complete)).state_dict()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(loaded[name], value)
    with pytest.raises(ValueError, match='layers.3'):
        backbone_from(incomplete)


def test_a_vit_that_returns_no_maps_is_reported():
    backbone = build(dense_backbone(None, vit=tiny_vit(out_type='cls_token')))
    with pytest.raises(RuntimeError, match="out_type='featmap'"):
        backbone(torch.randn(1, 3, 32, 32))
