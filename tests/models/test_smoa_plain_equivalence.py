"""The fused SMoA (router logits and expert down-projection in one GEMM,
temperature and normalised embeddings folded into the scoring matrix,
gates broadcast instead of repeated, no balance loss without autograd) is
the same model function as the plain formulation below: outputs, prompts,
balance loss and every parameter gradient, on trained (non-zero) weights."""
import pytest
import torch
import torch.nn.functional as F

from adapterx.models import AdapterX
from adapterx.models.modules import SMoA, SharedExpertPool
from adapterx.models.modules.smoa import RoutingResult, switch_balance_loss
from ..fixtures import image_batch
from .test_adapterx_wrapper import (build_timm_vit, build_vit,
                                    randomise_adapters)


def plain_smoa_forward(smoa, x, return_routing=False):
    """Router: project, score against the normalised embeddings, divide by
    the temperature, softmax, keep the top-k (or all); experts: the hidden
    of every expert, each gated by a repeat_interleave'd gate."""
    pool = smoa.expert_pool
    batch, length, dims = x.shape
    sub_tokens = x.reshape(batch, length, pool.num_heads, -1)
    if smoa.router is None:
        gates = probs = x.new_ones(batch, length, pool.num_heads, 1)
    else:
        router = smoa.router
        logits = router.projection(sub_tokens) @ F.normalize(
            pool.expert_embeddings, dim=-1).T
        probs = torch.softmax(logits / router.temperature, dim=-1)
        if router.soft:
            gates = probs
        else:
            values, indices = probs.topk(router.top_k, dim=-1)
            gates = torch.zeros_like(probs).scatter(-1, indices, values)
    num_experts, head_dims, rank = pool.down_weight.shape
    down = pool.down_weight.permute(1, 0, 2).reshape(head_dims, -1)
    hidden = pool.activation(sub_tokens @ down + pool.down_bias.reshape(-1))
    gated = hidden * gates.repeat_interleave(rank, dim=-1)
    mixed = gated @ pool.up_weight.reshape(-1, head_dims) + \
        gates @ pool.up_bias
    scale = smoa.scale(x) if callable(smoa.scale) else smoa.scale
    output = mixed.reshape(batch, length, dims) * scale
    routing = RoutingResult(gates, probs, switch_balance_loss(probs))
    return (output, routing) if return_routing else output


def forward_and_grads(model, smoa_forward, inputs):
    model.zero_grad(set_to_none=True)
    original = SMoA.forward
    SMoA.forward = smoa_forward
    try:
        features = model(inputs)[-1]
        prompts = model.forward_context.prompts
        loss = (features * torch.linspace(-1, 1, features.numel()).view_as(
            features)).sum() + model.auxiliary_losses()['loss_balance']
        loss.backward()
    finally:
        SMoA.forward = original
    grads = {
        name: p.grad.clone()
        for name, p in model.named_parameters() if p.grad is not None
    }
    return features.detach(), prompts.detach(), loss.detach(), grads


@pytest.mark.parametrize('build', [build_vit, build_timm_vit])
@pytest.mark.parametrize('settings', [
    dict(),
    dict(num_heads=2, top_k=2, router_temperature=0.5),
    dict(soft_routing=True, placement='both'),
    dict(num_experts=1),
    dict(scale=dict(type='DynamicTokenScale')),
])
def test_adapterx_equals_the_plain_formulation(build, settings):
    model = AdapterX(build(), balance_loss_weight=0.5, **settings)
    randomise_adapters(model)
    model.train()
    inputs = image_batch(3)
    fused = forward_and_grads(model, SMoA.forward, inputs)
    plain = forward_and_grads(model, plain_smoa_forward, inputs)
    for got, expected in zip(fused[:3], plain[:3]):
        assert expected.abs().max() > 0
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert fused[3].keys() == plain[3].keys()
    # Every adapter parameter gets a gradient, the same one.
    assert any('expert_pools' in name for name in plain[3])
    for name, expected in plain[3].items():
        error = (fused[3][name] - expected).abs().max().item()
        assert error <= 1e-5 * (1 + expected.abs().max().item()), \
            (name, error)


def test_inference_skips_the_balance_loss_but_a_loss_still_gets_it():
    torch.manual_seed(0)
    model = AdapterX(build_vit())
    randomise_adapters(model)
    inputs = image_batch()
    model(inputs)
    trained = model.auxiliary_losses()['loss_balance']
    with torch.no_grad():
        model(inputs)
        routings = model.forward_context.routings
        assert len(routings) == len(model._blocks)
        assert all(routing.balance_loss is None for routing in routings)
        # e.g. a validation loss: computed from the kept probabilities.
        torch.testing.assert_close(model.auxiliary_losses()['loss_balance'],
                                   trained)


def test_pool_forward_is_the_fused_path_without_a_router():
    torch.manual_seed(0)
    pool = SharedExpertPool(8, num_experts=3, bottleneck_dims=2)
    with torch.no_grad():
        for parameter in pool.parameters():
            parameter.normal_(0, 0.5)
    tokens = torch.randn(2, 5, 1, 8)
    gates = torch.softmax(torch.randn(2, 5, 1, 3), dim=-1)
    expected = sum(
        gates[..., n:n + 1] *
        (torch.relu(tokens @ pool.down_weight[n] + pool.down_bias[n])
         @ pool.up_weight[n] + pool.up_bias[n]) for n in range(3))
    torch.testing.assert_close(pool(tokens, gates), expected)
