"""CLIP's image tower in adapterx: the converted OpenAI / open_clip weights
in CLIPVisionTransformer compute what transformers' CLIP computes from the
same weights (random, float32), and the zero-shot classifier scores
``exp(logit_scale) * cos(image, class)``."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from adapterx.models.converters import (clip_visual_to_mmpretrain,
                                        find_visual_prefix)
from adapterx.models.heads import ZeroShotClsHead
from adapterx.registry import MODELS
from .clip_reference import (EMBED_DIMS, VISION, hf_vision_model,
                             random_clip_state)

ACTIVATIONS = dict(quick_gelu=dict(type='mmpretrain.QuickGELU'),
                   gelu=dict(type='GELU'))


def tiny_backbone(activation='quick_gelu', **kwargs):
    init_default_scope('adapterx')
    return MODELS.build(dict(
        type='CLIPVisionTransformer',
        arch=dict(embed_dims=VISION['width'], num_layers=VISION['layers'],
                  num_heads=VISION['heads'],
                  feedforward_channels=4 * VISION['width']),
        img_size=VISION['image_size'], patch_size=VISION['patch'],
        output_dims=EMBED_DIMS, act_cfg=ACTIVATIONS[activation], **kwargs))


def images(count=3, seed=1):
    generator = torch.Generator().manual_seed(seed)
    size = VISION['image_size']
    return torch.randn(count, 3, size, size, generator=generator)


@pytest.mark.parametrize('activation', ['quick_gelu', 'gelu'])
def test_the_converted_tower_computes_clips_image_feature(activation):
    state = random_clip_state()
    backbone = tiny_backbone(activation)
    backbone.load_state_dict(clip_visual_to_mmpretrain(state, prefix=''),
                             strict=True)
    backbone.eval()
    inputs = images()
    with torch.no_grad():
        ours = backbone(inputs)[-1]
        reference = hf_vision_model(state, activation)(
            pixel_values=inputs).image_embeds
        other_activation = hf_vision_model(
            state, 'gelu' if activation == 'quick_gelu' else 'quick_gelu')(
                pixel_values=inputs).image_embeds
    assert ours.shape == (3, EMBED_DIMS)
    torch.testing.assert_close(ours, reference, atol=2e-5, rtol=1e-5)
    # The activation matters at this tolerance: a wrong one is caught.
    assert (ours - other_activation).abs().max() > 1e-3


@pytest.mark.parametrize('prefix', ['', 'visual.', 'model.visual.'])
def test_the_tower_is_found_under_each_known_prefix(prefix):
    tower = {key[len('visual.'):]: value
             for key, value in random_clip_state().items()
             if key.startswith('visual.')}
    state = {prefix + key: value for key, value in tower.items()}
    if prefix:
        state['model.token_embedding.weight'] = torch.zeros(3, 4)
    assert find_visual_prefix(state) == prefix
    converted = clip_visual_to_mmpretrain(state)
    assert set(converted) == {
        f'backbone.{name}' for name in tiny_backbone().state_dict()}
    assert converted['backbone.cls_token'].shape == (1, 1, VISION['width'])
    assert torch.equal(converted['backbone.cls_token'].flatten(),
                       tower['class_embedding'])


def test_half_precision_weights_come_out_in_float32():
    state = {key: value.half() for key, value in random_clip_state().items()}
    converted = clip_visual_to_mmpretrain(state)
    assert {value.dtype for value in converted.values()} == {torch.float32}


def test_unknown_tower_weights_and_missing_towers_are_refused():
    state = random_clip_state()
    state['visual.transformer.resblocks.0.ls_1.gamma'] = torch.ones(4)
    with pytest.raises(ValueError, match=r'model\.pth: .*no counterpart.*'
                       r'resblocks\.0\.ls_1\.gamma'):
        clip_visual_to_mmpretrain(state, source='model.pth')
    with pytest.raises(ValueError, match='text.pth holds no CLIP ViT image '
                       "tower.*'visual.class_embedding'"):
        clip_visual_to_mmpretrain({'token_embedding.weight': torch.ones(2)},
                                  source='text.pth')


def test_only_the_class_token_is_projected():
    backbone = tiny_backbone(out_type='raw')
    tokens = (VISION['image_size'] // VISION['patch'])**2 + 1
    with torch.no_grad():
        assert backbone(images())[-1].shape == (3, tokens, VISION['width'])


def test_the_zero_shot_head_scores_scaled_cosine_similarity():
    head = ZeroShotClsHead(num_classes=5, in_channels=EMBED_DIMS)
    text = torch.randn(5, EMBED_DIMS)
    scale = 100.0
    head.fc.weight.data = scale * F.normalize(text, dim=-1)
    features = torch.randn(3, EMBED_DIMS)
    expected = scale * F.cosine_similarity(
        features[:, None], text[None], dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(head((features, )), expected)
        # The feature's length does not matter, only its direction.
        torch.testing.assert_close(head((7 * features, )), expected)
    assert [name for name, _ in head.named_parameters()] == ['fc.weight']
    with pytest.raises(ValueError, match='num_classes=0'):
        ZeroShotClsHead(num_classes=0, in_channels=EMBED_DIMS)
