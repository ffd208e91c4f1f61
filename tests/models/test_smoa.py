import math

import pytest
import torch

from adapterx.models.modules import (SMoA, SharedExpertPool, TokenRouter,
                                     switch_balance_loss)
from adapterx.registry import ADAPTERS


def random_pool(embed_dims=16, num_experts=4, num_heads=1, rank=3):
    """A pool whose experts all differ and are non-zero (unlike at init)."""
    torch.manual_seed(0)
    pool = SharedExpertPool(
        embed_dims,
        num_experts=num_experts,
        bottleneck_dims=rank,
        num_heads=num_heads)
    with torch.no_grad():
        for parameter in pool.parameters():
            parameter.normal_(0, 0.5)
    return pool


def reference_mixture(pool, sub_tokens, gates):
    """One (ReLU) expert at a time: down, activation, up, times its gate."""
    output = torch.zeros_like(sub_tokens)
    for n in range(pool.num_experts):
        hidden = torch.relu(sub_tokens @ pool.down_weight[n] +
                            pool.down_bias[n])
        expert = hidden @ pool.up_weight[n] + pool.up_bias[n]
        output += gates[..., n:n + 1] * expert
    return output


def pool_grads(pool, loss):
    pool.zero_grad(set_to_none=True)
    loss.backward()
    return {name: p.grad.clone() for name, p in pool.named_parameters()}


def test_blocks_share_one_pool_and_own_their_routers():
    pool = random_pool()
    first, second = SMoA(pool), SMoA(pool)
    for name, parameter in pool.named_parameters():
        assert getattr(first.expert_pool, name) is parameter
        assert getattr(second.expert_pool, name) is parameter
        assert getattr(second.expert_pool, name).data_ptr() == \
            parameter.data_ptr()
    first_router = first.router.projection.weight
    second_router = second.router.projection.weight
    assert first.router is not second.router
    assert first_router.data_ptr() != second_router.data_ptr()
    assert not torch.equal(first_router, second_router)
    # The pool is a reference: its tensors are registered by its owner
    # (the wrapper) only, so they are saved and counted once.
    assert [name for name, _ in first.named_parameters()] == \
        ['router.projection.weight']

    x = torch.randn(2, 5, 16)
    from_first = pool_grads(pool, first(x).sum())
    from_second = pool_grads(pool, second(x).sum())
    from_both = pool_grads(pool, first(x).sum() + second(x).sum())
    for name in from_both:
        assert from_second[name].abs().sum() > 0, name
        assert torch.allclose(from_both[name],
                              from_first[name] + from_second[name])


@pytest.mark.parametrize('num_heads', [1, 2])
@pytest.mark.parametrize('top_k', [1, 2, 3])
def test_hard_routing_keeps_the_k_most_probable_experts(top_k, num_heads):
    torch.manual_seed(0)
    router = TokenRouter(16, num_experts=4, num_heads=num_heads, top_k=top_k)
    result = router(torch.randn(2, 7, num_heads, 16 // num_heads),
                    torch.randn(4, 8))
    assert result.gates.shape == result.probs.shape == (2, 7, num_heads, 4)
    assert torch.allclose(result.probs.sum(-1), torch.ones(2, 7, num_heads))
    selected = result.gates > 0
    assert (selected.sum(-1) == top_k).all()
    # Each kept gate is its expert's probability, and the kept experts are
    # the most probable ones.
    assert torch.equal(result.gates[selected], result.probs[selected])
    least_kept = result.probs.masked_fill(~selected, 2).min(-1).values
    most_dropped = result.probs.masked_fill(selected, -1).max(-1).values
    assert (least_kept > most_dropped).all()
    if top_k == 1:
        assert torch.equal(result.gates.max(-1).values,
                           result.probs.max(-1).values)


def test_soft_routing_weights_every_expert_by_probability():
    router = TokenRouter(16, num_experts=4, soft=True)
    result = router(torch.randn(2, 7, 1, 16), torch.randn(4, 8))
    assert torch.equal(result.gates, result.probs)
    assert (result.gates > 0).all()
    assert torch.allclose(result.gates.sum(-1), torch.ones(2, 7, 1))


def test_routing_scores_against_normalised_expert_embeddings():
    router = TokenRouter(4, num_experts=2, routing_dims=2, temperature=0.5)
    with torch.no_grad():
        router.projection.weight.copy_(
            torch.tensor([[1., 0, 0, 0], [0, 1., 0, 0]]))
    # Unnormalised on purpose: the router must normalise them, so the
    # lengths 3 and 0.5 do not change the scores.
    embeddings = torch.tensor([[3., 0], [0, 0.5]])
    token = torch.tensor([2., 1., 0, 0]).view(1, 1, 1, 4)
    probs = router(token, embeddings).probs
    expected = torch.softmax(torch.tensor([2., 1.]) / 0.5, dim=0)
    assert torch.allclose(probs.view(2), expected)


def test_initialisation():
    pool = SharedExpertPool(32, num_experts=4, bottleneck_dims=8,
                            routing_dims=8, num_heads=2)
    smoa = SMoA(pool)
    x = torch.randn(2, 5, 32)
    output = smoa(x)
    assert torch.equal(output, torch.zeros(2, 5, 32))
    # Zero output, but not a dead start: the up-projection gets a gradient.
    (output * torch.randn_like(output)).sum().backward()
    assert pool.up_weight.grad.abs().sum() > 0
    # Down-projections as nn.Linear(d/H, r): uniform within 1/sqrt(d/H),
    # different for every expert.
    bound = 1 / math.sqrt(16)
    assert pool.down_weight.abs().max() <= bound
    assert pool.down_weight.abs().max() > 0.8 * bound
    assert not torch.equal(pool.down_weight[0], pool.down_weight[1])
    # Expert embeddings orthogonal with gain 0.32 (X-MoE).
    gram = pool.expert_embeddings @ pool.expert_embeddings.T
    assert torch.allclose(gram, 0.32**2 * torch.eye(4), atol=1e-6)


def test_pool_parameter_count():
    d, n, r, routing = 768, 4, 8, 8
    pool = SharedExpertPool(d, num_experts=n, bottleneck_dims=r,
                            routing_dims=routing)
    expected = n * (d * r + r + r * d + d) + n * routing
    assert sum(p.numel() for p in pool.parameters()) == expected == 52288
    router = SMoA(pool).router
    assert sum(p.numel() for p in router.parameters()) == d * routing


@pytest.mark.parametrize('num_heads', [1, 2])
@pytest.mark.parametrize('routing', [dict(top_k=1), dict(top_k=2),
                                     dict(soft=True)])
@pytest.mark.parametrize('autocast', [False, True])
def test_batched_experts_equal_a_per_expert_loop(num_heads, routing,
                                                 autocast):
    """The two GEMMs of width N*r equal the plain formulation (every
    expert's d-wide output materialised, gated, summed): fp32 to rounding,
    under bf16 autocast (as trained on GPUs) to bf16's precision."""
    pool = random_pool(num_heads=num_heads)
    smoa = SMoA(pool, scale=1.0, **routing)
    x = torch.randn(3, 5, 16)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        output, routing = smoa(x, return_routing=True)
    assert output.dtype == (torch.bfloat16 if autocast else torch.float32)
    # The reference uses the same routing, in fp32.
    gates = routing.gates.float()
    assert gates.shape == (3, 5, num_heads, 4)
    sub_tokens = x.view(3, 5, num_heads, 16 // num_heads)
    expected = reference_mixture(pool, sub_tokens, gates).view(3, 5, 16)
    assert expected.abs().max() > 1  # a non-trivial comparison
    if autocast:
        # bf16 keeps 8 significant bits: each operand's rounding is up to
        # 2**-9 relative, a few of them per product (~0.4% of the largest
        # output here), far below what a wrong gate or expert would change.
        scale = expected.abs().max().item()
        torch.testing.assert_close(output.float(), expected, rtol=0,
                                   atol=0.01 * scale)
        assert (output.float() - expected).abs().max() > 0  # really bf16
    else:
        torch.testing.assert_close(output, expected, rtol=1e-6, atol=2e-6)


def test_balance_loss_formula():
    # Every expert is the top-1 of one token and has mean probability 1/4.
    balanced = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1],
                             [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]])
    assert switch_balance_loss(balanced).item() == pytest.approx(1.0)
    assert switch_balance_loss(torch.full((6, 4), 0.25)).item() == \
        pytest.approx(1.0)
    uneven = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3],
                           [0.5, 0.4, 0.1], [0.2, 0.45, 0.35]])
    # f = (2/4, 2/4, 0), P = (0.375, 0.4125, 0.2125):
    # 3 * (0.5 * 0.375 + 0.5 * 0.4125)
    assert switch_balance_loss(uneven).item() == pytest.approx(1.18125)
    crowded = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.6, 0.2, 0.1, 0.1]])
    # f = (1, 0, 0, 0), P = (0.65, 0.15, 0.1, 0.1): 4 * 0.65
    assert switch_balance_loss(crowded).item() == pytest.approx(2.6)


def test_router_balance_loss_counts_every_sub_token():
    router = TokenRouter(8, num_experts=4, num_heads=2)
    result = router(torch.randn(3, 5, 2, 4), torch.randn(4, 8))
    assert result.balance_loss.dim() == 0
    probs = result.probs.reshape(-1, 4)
    fraction = torch.bincount(probs.argmax(-1), minlength=4) / len(probs)
    expected = 4 * (fraction * probs.mean(0)).sum()
    assert torch.allclose(result.balance_loss, expected)
    # It trains the router (through P), not only reports.
    result.balance_loss.backward()
    assert router.projection.weight.grad.abs().sum() > 0


def test_smoa_returns_its_routing_on_request():
    smoa = SMoA(random_pool(), top_k=2)
    x = torch.randn(2, 5, 16)
    output, routing = smoa(x, return_routing=True)
    torch.testing.assert_close(output, smoa(x), rtol=0, atol=0)
    assert routing.probs.shape == routing.gates.shape == (2, 5, 1, 4)
    assert ((routing.gates > 0).sum(-1) == 2).all()
    torch.testing.assert_close(routing.balance_loss,
                               switch_balance_loss(routing.probs))
    with torch.no_grad():
        assert smoa(x, return_routing=True)[1].balance_loss is None


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
    assert per_token.shape == (2, 5, 1)
    assert torch.equal(per_token,
                       torch.relu(dynamic.scale.linear(x)))
    assert (per_token > 0).any() and per_token.unique().numel() > 2
    assert torch.allclose(dynamic(x), per_token * unit(x))


@pytest.mark.parametrize('kwargs, message', [
    (dict(embed_dims=16, num_experts=0), 'num_experts .* got 0'),
    (dict(embed_dims=16, bottleneck_dims=-2), 'bottleneck_dims .* got -2'),
    (dict(embed_dims=16, routing_dims=2.0), 'routing_dims .* got 2.0'),
    (dict(embed_dims=16, num_heads=0), 'num_heads .* got 0'),
    (dict(embed_dims=15, num_heads=2), 'embed_dims=15 is not divisible'),
])
def test_invalid_pool_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SharedExpertPool(**kwargs)


@pytest.mark.parametrize('top_k', [0, 5, 1.5])
def test_invalid_top_k(top_k):
    with pytest.raises(ValueError, match=f'top_k .* got {top_k}'):
        SMoA(SharedExpertPool(16, num_experts=4), top_k=top_k)


@pytest.mark.parametrize('kwargs, message', [
    (dict(temperature=0.0), 'temperature .* got 0.0'),
    (dict(embed_dims=10, num_heads=4), 'embed_dims=10 is not divisible'),
    (dict(num_experts=0, top_k=0), 'num_experts .* got 0'),
])
def test_invalid_router_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TokenRouter(**dict(dict(embed_dims=16), **kwargs))


def test_built_from_the_registry():
    pool = ADAPTERS.build(dict(type='SharedExpertPool', embed_dims=16))
    assert isinstance(pool, SharedExpertPool)
    smoa = ADAPTERS.build(dict(type='SMoA', expert_pool=pool, top_k=2))
    assert isinstance(smoa, SMoA) and smoa.expert_pool is pool
    assert smoa.router.top_k == 2
    router = ADAPTERS.build(dict(type='TokenRouter', embed_dims=16))
    assert isinstance(router, TokenRouter)
    scale = ADAPTERS.build(dict(type='DynamicTokenScale', embed_dims=16))
    assert scale(torch.randn(2, 3, 16)).shape == (2, 3, 1)
