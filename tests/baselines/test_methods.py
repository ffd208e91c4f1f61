"""LoRA, SSF and FacT on the three backbone families: the step-0 output,
exact merging into the plain backbone, dense reference formulas, HF peft's
LoRA, and forward/backward on the point transformer."""
import copy

import pytest
import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block as TimmBlock

from adapterx.models.peft import InjectedModule
from adapterx.registry import MODELS
from ..fixtures import first_output
from .tiny_backbones import (BACKBONE_KINDS, REPARAM_METHODS, perturb,
                             two_block_backbone_and_batch)

TRAINED_WORDS = ('.lora.', '.ssf.', 'factors.')
ZERO_INIT = ('lora', 'lora_whole_qkv', 'fact_tt', 'fact_tk')


def wrap(method, backbone, **overrides):
    return MODELS.build(
        dict(REPARAM_METHODS[method], module=backbone, **overrides))


@pytest.mark.parametrize('kind', BACKBONE_KINDS)
@pytest.mark.parametrize('method', ZERO_INIT)
def test_zero_init_methods_leave_the_output_unchanged(kind, method):
    backbone, inputs = two_block_backbone_and_batch(kind)
    expected = first_output(backbone(inputs))
    wrapped = wrap(method, backbone)
    assert torch.equal(first_output(wrapped(inputs)), expected)


@pytest.mark.parametrize('kind', BACKBONE_KINDS)
def test_ssf_starts_as_identity_or_near_it(kind):
    backbone, inputs = two_block_backbone_and_batch(kind)
    expected = first_output(backbone(inputs))
    identity = wrap('ssf', copy.deepcopy(backbone), init_std=0.0)
    assert torch.equal(first_output(identity(inputs)), expected)
    paper_init = wrap('ssf', backbone)
    scales = torch.cat([
        p for n, p in paper_init.named_parameters() if n.endswith('.ssf.scale')
    ])
    assert 0.01 < scales.std() < 0.03 and abs(scales.mean() - 1) < 0.01
    assert not torch.equal(first_output(paper_init(inputs)), expected)


def mergeable(method, kind):
    # The point transformer's qkv has no bias to take SSF's shift.
    return not (method == 'ssf' and kind == 'point')


@pytest.mark.parametrize('kind', BACKBONE_KINDS)
@pytest.mark.parametrize('method', list(REPARAM_METHODS))
def test_merge_gives_the_plain_backbone_with_the_same_output(kind, method):
    backbone, inputs = two_block_backbone_and_batch(kind)
    plain_keys = set(backbone.state_dict())
    wrapped = wrap(method, backbone).eval()
    perturb(wrapped, TRAINED_WORDS)
    adapted = first_output(wrapped(inputs))
    plain, _ = two_block_backbone_and_batch(kind)
    assert not torch.allclose(adapted, first_output(plain(inputs)))
    if not mergeable(method, kind):
        before = copy.deepcopy(backbone.state_dict())
        with pytest.raises(ValueError, match=r'blocks\.0\.attn\.qkv: .*bias'):
            wrapped.merge_and_unwrap()
        after = backbone.state_dict()
        assert all(torch.equal(before[key], after[key]) for key in before)
        return
    merged = wrapped.merge_and_unwrap()
    assert merged is backbone
    assert set(merged.state_dict()) == plain_keys
    assert not any(isinstance(m, InjectedModule) for m in merged.modules())
    assert 'forward' not in vars(merged)
    torch.testing.assert_close(first_output(merged(inputs)),
                               adapted,
                               rtol=0,
                               atol=1e-5)


def test_lora_on_q_and_v_is_the_dense_formula():
    """W_q and W_v get (alpha / r) B A each, W_k nothing."""
    backbone, inputs = two_block_backbone_and_batch('timm')
    qkv = backbone.blocks[0].attn.qkv
    weight, bias = qkv.weight.detach().clone(), qkv.bias.detach().clone()
    wrap('lora', backbone, alpha=16)
    perturb(backbone, ('.lora.', ))
    lora = qkv.lora
    delta = torch.zeros_like(weight)
    width = qkv.in_features
    for index, part in ((0, 0), (1, 2)):  # slice 0 is q, slice 1 is v
        delta[part * width:(part + 1) *
              width] = (16 / 8 * lora.lora_B[index] @ lora.lora_A[index])
    tokens = torch.randn(2, 5, width)
    torch.testing.assert_close(qkv(tokens),
                               F.linear(tokens, weight + delta, bias))
    assert delta[width:2 * width].abs().sum() == 0


def test_fact_tk_increment_is_the_tucker_formula():
    """dW_j = s V (sum_k C[:, :, k] P[k, j])^T U for the j-th d x d matrix
    (row-major within each layer), every block's layers in order."""
    backbone, _ = two_block_backbone_and_batch('timm')
    originals = {
        name: layer.weight.detach().clone()
        for name, layer in backbone.named_modules()
        if isinstance(layer, torch.nn.Linear)
    }
    wrapped = wrap('fact_tk', backbone)
    perturb(wrapped, ('factors.', ))
    factors = wrapped.factors
    wrapped.merge_and_unwrap()
    d, index = 32, 0
    for block in backbone.blocks:
        for name in ('attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2'):
            layer = block.get_submodule(name)
            full_name = next(n for n, m in backbone.named_modules()
                             if m is layer)
            delta = layer.weight - originals[full_name]
            for row in range(layer.out_features // d):
                for col in range(layer.in_features // d):
                    middle = sum(factors.core[:, :, k] *
                                 factors.factor[k, index]
                                 for k in range(factors.core.shape[2]))
                    expected = 0.5 * factors.v @ middle.T @ factors.u
                    torch.testing.assert_close(delta[row * d:(row + 1) * d,
                                                     col * d:(col + 1) * d],
                                               expected,
                                               rtol=1e-4,
                                               atol=1e-6)
                    index += 1
    assert index == factors.factor.shape[1] == 12 * len(backbone.blocks)


def test_lora_equals_hf_peft_on_a_timm_vit():
    peft = pytest.importorskip('peft')
    backbone, inputs = two_block_backbone_and_batch('timm')
    reference = copy.deepcopy(backbone)
    plain = first_output(reference(inputs))
    ours = wrap('lora_whole_qkv', backbone, target_modules=[r'attn\.qkv$'])
    perturb(ours, ('.lora.', ))
    hf = peft.get_peft_model(
        reference,
        peft.LoraConfig(r=4,
                        lora_alpha=8,
                        lora_dropout=0.0,
                        target_modules=['qkv'])).eval()
    hf_layers = [m for m in hf.modules() if isinstance(m, TimmBlock)]
    with torch.no_grad():
        for block, hf_block in zip(backbone.blocks, hf_layers):
            lora = block.attn.qkv.lora
            hf_qkv = hf_block.attn.qkv
            hf_qkv.lora_A['default'].weight.copy_(lora.lora_A[0])
            hf_qkv.lora_B['default'].weight.copy_(lora.lora_B[0])
    expected = hf(inputs)
    assert not torch.allclose(expected, plain)
    torch.testing.assert_close(ours(inputs), expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours.merge_and_unwrap()(inputs),
                               hf.merge_and_unload()(inputs),
                               rtol=0,
                               atol=1e-5)


@pytest.mark.parametrize('method', list(REPARAM_METHODS))
def test_point_transformer_forward_backward(method):
    backbone, inputs = two_block_backbone_and_batch('point')
    wrapped = wrap(method, backbone).train()
    for name, parameter in wrapped.named_parameters():
        parameter.requires_grad_(any(w in name for w in TRAINED_WORDS))
    perturb(wrapped, TRAINED_WORDS)  # so that no factor is exactly zero
    out = first_output(wrapped(inputs))
    assert out.shape == (2, 1 + 8, 32)
    out.square().mean().backward()
    trained = [(n, p) for n, p in wrapped.named_parameters()
               if p.requires_grad]
    assert trained
    for name, parameter in trained:
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, \
            name


@pytest.mark.parametrize(
    'config, message',
    [(dict(type='LoRA', target_modules=[r'attn\.qkvv$'
                                        ]), 'qkvv.*match no Linear'),
     (dict(type='LoRA', target_modules=[r'mlp\.fc1$']), 'fused qkv'),
     (dict(type='LoRA', rank=0), 'rank'),
     (dict(type='LoRA', qkv_parts=('q', 'x')), 'qkv_parts'),
     (dict(type='SSF', init_std=-1), 'init_std'),
     (dict(type='FacT', mode='cp'), 'mode')])
def test_bad_settings_are_refused_clearly(config, message):
    backbone, _ = two_block_backbone_and_batch('timm')
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(config, module=backbone))
