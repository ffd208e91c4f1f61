"""Adapter-X's two adapter positions: the SMoA beside its sublayer on the
sublayer's normed input (parallel, AdaptFormer's) or after it on its
output (sequential, Houlsby's), each checked against a dense formula of
the block written out expert by expert."""
import pytest
import torch
import torch.nn.functional as F

from adapterx.models import AdapterX
from ..fixtures import first_output, image_batch
from .test_adapterx_wrapper import (build_timm_vit, build_vit,
                                    randomise_adapters)


def dense_smoa(smoa, tokens):
    """Top-1 cosine routing and every expert's bottleneck, one expert at a
    time: ``s * sum_n [n is the token's top expert] p_n expert_n(x)``."""
    pool = smoa.expert_pool
    logits = smoa.router.projection(tokens) @ F.normalize(
        pool.expert_embeddings, dim=-1).T / smoa.router.temperature
    probs = torch.softmax(logits, dim=-1)
    top = probs.argmax(dim=-1)
    mixed = torch.zeros_like(tokens)
    for n in range(pool.num_experts):
        expert = torch.relu(tokens @ pool.down_weight[n] + pool.down_bias[n]) \
            @ pool.up_weight[n] + pool.up_bias[n]
        gate = probs[..., n] * (top == n)
        mixed = mixed + gate.unsqueeze(-1) * expert
    return smoa.scale * mixed


def dense_mmpretrain_block(block, x, position):
    """One mmpretrain block in eval mode with SMoAs on attention and MLP."""
    additions = block.adapterx
    normed = block.ln1(x)
    attended = block.attn(normed)
    x = x + attended + dense_smoa(
        additions.attn_smoa,
        attended if position == 'sequential' else normed)
    normed = block.ln2(x)
    fc1, fc2 = block.ffn.layers[0][0], block.ffn.layers[1]
    mlp = fc2(F.gelu(fc1(normed)))
    return x + mlp + dense_smoa(
        additions.mlp_smoa, mlp if position == 'sequential' else normed)


@pytest.mark.parametrize('position', ['parallel', 'sequential'])
def test_each_position_computes_its_dense_formula(position):
    model = AdapterX(build_vit(), adapter_position=position,
                     placement='both', prompt_generator=None)
    randomise_adapters(model)
    x = torch.randn(2, 5, 32, generator=torch.Generator().manual_seed(3))
    model.forward_context.reset()
    for block in model._blocks:
        expected = dense_mmpretrain_block(block, x, position)
        got = block(x)
        assert expected.abs().max() > 0
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        x = got


def test_the_positions_compute_different_functions():
    outputs = []
    for position in ('parallel', 'sequential'):
        model = AdapterX(build_vit(), adapter_position=position)
        randomise_adapters(model)
        outputs.append(first_output(model(image_batch())))
    assert not torch.allclose(*outputs, atol=1e-3)


@pytest.mark.parametrize('build', [build_vit, build_timm_vit])
def test_sequential_one_expert_with_zero_up_projection_is_the_plain_vit(
        build):
    expected = first_output(build()(image_batch()))
    model = AdapterX(build(), adapter_position='sequential', num_experts=1,
                     prompt_generator=None)
    pool = model.expert_pools['mlp_0']
    assert not pool.up_weight.any() and not pool.up_bias.any()
    assert torch.equal(first_output(model(image_batch())), expected)
    randomise_adapters(model)
    assert not torch.allclose(first_output(model(image_batch())), expected)


def test_sequential_reads_the_mlp_output_of_the_timm_block():
    """timm's block: the SMoA's input is ``ls2(mlp(norm2(x)))``, what the
    residual stream receives (drop path is the identity in eval)."""
    model = AdapterX(build_timm_vit(), adapter_position='sequential',
                     prompt_generator=None)
    block = model._blocks[0]
    seen = []
    block.adapterx.mlp_smoa.register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0]))
    x = torch.randn(2, 5, 32, generator=torch.Generator().manual_seed(4))
    block(x)
    after_attention = x + block.ls1(block.attn(block.norm1(x)))
    torch.testing.assert_close(
        seen[0], block.ls2(block.mlp(block.norm2(after_attention))))


def test_an_unknown_position_is_refused_naming_it():
    with pytest.raises(ValueError,
                       match=r"AdapterX adapter_position must be one of "
                       r"\['parallel', 'sequential'\] .* got 'serial'"):
        AdapterX(build_vit(), adapter_position='serial')
