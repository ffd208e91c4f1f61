import pytest
import torch
import torch.nn.functional as F

import adapterx.models.adapters  # noqa: F401
from adapterx.models.adapters import (SMoA, SharedExpertPool, TokenRouter,
                                      switch_balance_loss)
from adapterx.registry import ADAPTERS


def random_pool(embed_dims=16, num_experts=4, num_heads=1, rank=3):
    torch.manual_seed(0)
    pool = SharedExpertPool(embed_dims, num_experts=num_experts,
                            bottleneck_dims=rank, num_heads=num_heads)
    with torch.no_grad():
        for parameter in pool.parameters():
            parameter.normal_(0, 0.5)
    return pool


def reference_mixture(pool, sub_tokens, gates):
    """One expert at a time: down, activation, up, times its gate."""
    output = torch.zeros_like(sub_tokens)
    for n in range(pool.num_experts):
        hidden = pool.activation(sub_tokens @ pool.down_weight[n] +
                                 pool.down_bias[n])
        expert = hidden @ pool.up_weight[n] + pool.up_bias[n]
        output += gates[..., n:n + 1] * expert
    return output


def test_blocks_share_one_pool_and_own_their_routers():
    pool = SharedExpertPool(16)
    first, second = SMoA(pool), SMoA(pool)
    assert first.expert_pool is second.expert_pool is pool
    assert first.router is not second.router
    # The pool is a reference: its tensors are registered by its owner only.
    assert not any('down_weight' in n for n, _ in first.named_parameters())
    with torch.no_grad():
        pool.up_weight.normal_()
    x = torch.randn(2, 5, 16)
    (first(x).sum() + second(x).sum()).backward()
    assert pool.up_weight.grad is not None
    grad_from_both = pool.up_weight.grad.clone()
    pool.up_weight.grad = None
    first(x).sum().backward()
    assert not torch.allclose(pool.up_weight.grad, grad_from_both)


@pytest.mark.parametrize('top_k', [1, 2, 3])
def test_hard_routing_keeps_exactly_k_experts(top_k):
    router = TokenRouter(16, num_experts=4, top_k=top_k)
    embeddings = F.normalize(torch.randn(4, 8), dim=-1)
    result = router(torch.randn(2, 7, 1, 16), embeddings)
    assert torch.allclose(result.probs.sum(-1), torch.ones(2, 7, 1))
    assert ((result.gates > 0).sum(-1) == top_k).all()
    kept = result.gates.max(-1).values
    assert torch.equal(kept, result.probs.max(-1).values)


def test_soft_routing_weights_every_expert_by_probability():
    router = TokenRouter(16, num_experts=4, soft=True)
    result = router(torch.randn(2, 7, 1, 16), torch.eye(4, 8))
    assert torch.equal(result.gates, result.probs)
    assert torch.allclose(result.gates.sum(-1), torch.ones(2, 7, 1))


def test_routing_logits_are_cosine_scores():
    router = TokenRouter(4, num_experts=2, routing_dims=2, temperature=0.5)
    with torch.no_grad():
        router.projection.weight.copy_(torch.tensor([[1., 0, 0, 0],
                                                     [0, 1., 0, 0]]))
    embeddings = torch.tensor([[1., 0], [0, 1.]])
    token = torch.tensor([2., 1., 0, 0]).view(1, 1, 1, 4)
    probs = router(token, embeddings).probs
    expected = torch.softmax(torch.tensor([2., 1.]) / 0.5, dim=0)
    assert torch.allclose(probs.view(2), expected)


def test_zero_initialised_smoa_outputs_zero():
    smoa = SMoA(SharedExpertPool(16))
    assert torch.equal(smoa(torch.randn(2, 5, 16)), torch.zeros(2, 5, 16))


@pytest.mark.parametrize('num_heads', [1, 2])
@pytest.mark.parametrize('routing', [dict(top_k=1), dict(top_k=2),
                                     dict(soft=True)])
def test_batched_experts_equal_a_per_expert_loop(num_heads, routing):
    pool = random_pool(num_heads=num_heads)
    smoa = SMoA(pool, scale=1.0, **routing)
    x = torch.randn(3, 5, 16)
    output = smoa(x)
    sub_tokens = x.view(3, 5, num_heads, 16 // num_heads)
    expected = reference_mixture(pool, sub_tokens,
                                 smoa.last_routing.gates).view(3, 5, 16)
    assert torch.allclose(output, expected, atol=1e-5)


def test_balance_loss_formula():
    uniform = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1],
                            [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]])
    assert switch_balance_loss(uniform).item() == pytest.approx(1.0)
    crowded = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.6, 0.2, 0.1, 0.1]])
    # f = (1, 0, 0, 0), P = (0.65, 0.15, 0.1, 0.1): 4 * 0.65
    assert switch_balance_loss(crowded).item() == pytest.approx(2.6)


def test_scales():
    pool = random_pool()
    x = torch.randn(2, 5, 16)
    fixed = SMoA(pool, scale=0.5)
    unit = SMoA(pool, scale=1.0)
    unit.router.load_state_dict(fixed.router.state_dict())
    assert torch.allclose(fixed(x), 0.5 * unit(x))
    dynamic = SMoA(pool, scale=dict(type='DynamicTokenScale', embed_dims=16))
    dynamic.router.load_state_dict(fixed.router.state_dict())
    per_token = dynamic.scale(x)
    assert per_token.shape == (2, 5, 1) and (per_token >= 0).all()
    assert torch.allclose(dynamic(x), per_token * unit(x))


@pytest.mark.parametrize('kwargs, message', [
    (dict(embed_dims=16, num_experts=0), 'num_experts must be a positive'),
    (dict(embed_dims=15, num_heads=2), 'embed_dims=15 is not divisible'),
])
def test_invalid_pool_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SharedExpertPool(**kwargs)


@pytest.mark.parametrize('top_k', [0, 5])
def test_invalid_top_k(top_k):
    with pytest.raises(ValueError, match=f'got {top_k}'):
        SMoA(SharedExpertPool(16, num_experts=4), top_k=top_k)


def test_built_from_the_registry():
    pool = ADAPTERS.build(dict(type='SharedExpertPool', embed_dims=16))
    smoa = ADAPTERS.build(dict(type='SMoA', expert_pool=pool, top_k=2))
    assert smoa.router.top_k == 2
