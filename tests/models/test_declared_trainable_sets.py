"""A model built from a config is frozen to its method's declared set when
it is built; the freeze hook re-applies that set without changing it; the
config's overrides and the methods without modules; the head is found
through the model for the counts."""
import pytest
import torch.nn as nn
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import init_default_scope
from timm.models.vision_transformer import VisionTransformer as TimmViT

from adapterx.engine import ParameterFreezeHook
from adapterx.models import PeftImageClassifier
from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import MODELS


@pytest.fixture(autouse=True)
def adapterx_scope():
    init_default_scope('adapterx')


def tiny_classifier(peft):
    return PeftImageClassifier(
        backbone=dict(
            type='VisionTransformer',
            arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                      feedforward_channels=32),
            img_size=16,
            patch_size=8),
        head=dict(type='VisionTransformerClsHead', num_classes=3,
                  in_channels=16),
        peft=peft)


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_adapterx_classifier_is_frozen_when_built():
    model = tiny_classifier(dict(type='AdapterX', num_experts=2,
                                 bottleneck_dims=4, routing_dims=4))
    names = trainable(model)
    assert 'backbone.module.cls_token' in names
    assert 'backbone.module.layers.1.ln2.weight' in names
    assert 'head.layers.head.weight' in names
    assert any(n.startswith('backbone.expert_pools.') for n in names)
    assert not any('.attn.' in n or '.ln1.' in n for n in names)
    assert 'backbone.module.patch_embed.projection.weight' not in names


def test_freeze_hook_reapplies_the_declared_set_idempotently():
    model = tiny_classifier(dict(type='LoRA', target_modules=[r'attn\.qkv$'],
                                 rank=2, alpha=2))
    built = trainable(model)
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    ParameterFreezeHook().freeze(model)
    assert trainable(model) == built
    ParameterFreezeHook().freeze(model)
    assert trainable(model) == built
    assert built == {n for n in built if '.lora.' in n or
                     n.startswith('head.')}


def test_overrides_add_and_remove_from_the_methods_set():
    model = tiny_classifier(
        dict(type='AdapterX', num_experts=2, bottleneck_dims=4,
             routing_dims=4, trainable_exclude=[r'\.ln2\.'],
             trainable_extra=[r'\.ln1\.']))
    names = trainable(model)
    assert not any('.ln2.' in n for n in names)
    assert 'backbone.module.layers.0.ln1.weight' in names


def test_an_override_that_matches_nothing_names_it():
    with pytest.raises(ValueError,
                       match=r"Trainable_exclude pattern\(s\) \['\\\\.nope'\] "
                       'match no parameter of PeftImageClassifier'):
        tiny_classifier(dict(type='LinearProbe',
                             trainable_exclude=[r'\.nope']))


@pytest.mark.parametrize('method,expected', [
    ('LinearProbe', lambda n: n.startswith('head.')),
    ('BitFit', lambda n: n.startswith('head.') or n.endswith('.bias')),
    ('FullFineTune', lambda n: True),
])
def test_methods_without_modules_keep_the_backbones_names(method, expected):
    model = tiny_classifier(dict(type=method))
    assert not hasattr(model.backbone, 'module')
    assert trainable(model) == {
        n for n, _ in model.named_parameters() if expected(n)
    }


def test_no_method_is_full_fine_tuning():
    model = tiny_classifier(None)
    assert trainable(model) == {n for n, _ in model.named_parameters()}


def test_hook_without_patterns_needs_a_model_that_declares_its_set():
    with pytest.raises(ValueError, match='Sequential declares no trainable'):
        ParameterFreezeHook().freeze(nn.Sequential(nn.Linear(2, 2)))


def test_report_finds_the_head_of_a_wrapped_timm_vit():
    vit = TimmViT(img_size=16, patch_size=8, embed_dim=16, depth=2,
                  num_heads=2, num_classes=5)
    wrapper = MODELS.build(dict(type='LoRA', module=vit,
                                target_modules=[r'attn\.qkv$'], rank=2,
                                alpha=2))
    head = 16 * 5 + 5
    assert trainable_parameter_report(wrapper).head == head
    ddp = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(ddp)
    ddp.module = wrapper
    report = trainable_parameter_report(ddp)
    assert (report.head, report.total) == (
        head, sum(p.numel() for p in wrapper.parameters()))
