"""MoE FFNs against dense references: batched experts, the averaged
evaluation and conversion, the EWA update, the top-1 baseline."""
import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import FFN

from adapterx.models.ewa import (ExpertLinear, RandomPartitionMoE, Top1MoE,
                                 expert_spread)
from adapterx.models.ewa.expert_linear import pull_toward_mean
from ..fixtures import tiny_mlp
from .experts import spread_experts


def tokens(shape=(3, 7, 8), dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(1),
                       dtype=dtype)


def expert_as_dense(moe, expert):
    """The MoE's FFN with expert ``expert``'s weights, as a dense module:
    the reference a token routed to that expert must match."""
    def linear_of(stacked):
        linear = nn.Linear(stacked.in_features, stacked.out_features,
                           bias=stacked.bias is not None,
                           dtype=stacked.weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(stacked.weight[expert])
            if stacked.bias is not None:
                linear.bias.copy_(stacked.bias[expert])
        return linear

    return copy.deepcopy(
        moe.experts,
        {id(m): linear_of(m) for m in moe.expert_linears()})


def test_expert_linear_runs_each_expert_on_its_row():
    torch.manual_seed(0)
    dense = nn.Linear(8, 6).double()
    experts = ExpertLinear.from_linear(dense, 3, init='independent')
    x = tokens((3, 5, 8))
    out = experts(x)
    for expert in range(3):
        torch.testing.assert_close(
            out[expert],
            x[expert] @ experts.weight[expert].T + experts.bias[expert])
    with pytest.raises(ValueError, match=r'\(2, 5, 8\)'):
        experts(x[:2])


def test_copied_experts_equal_the_dense_layer_and_independent_ones_differ():
    dense = nn.Linear(8, 6, bias=False)
    copies = ExpertLinear.from_linear(dense, 4, init='copy')
    assert copies.bias is None
    assert all(torch.equal(w, dense.weight) for w in copies.weight)
    fresh = ExpertLinear.from_linear(dense, 4, init='independent')
    assert not torch.equal(fresh.weight[0], fresh.weight[1])
    assert not torch.equal(fresh.weight[0], dense.weight)
    with pytest.raises(ValueError, match="'random'"):
        ExpertLinear.from_linear(dense, 4, init='random')


def test_random_partition_moe_sends_each_token_through_its_expert():
    mlp = tiny_mlp()
    moe = RandomPartitionMoE(mlp, num_experts=3, init='independent')
    moe.train()
    x = tokens()
    torch.manual_seed(5)
    dispatch, _ = moe.dispatch(x.reshape(-1, 8))
    torch.manual_seed(5)
    out = moe(x).reshape(-1, 8)
    flat = x.reshape(-1, 8)
    for expert in range(3):
        mine = dispatch.expert_of_token == expert
        torch.testing.assert_close(out[mine],
                                   expert_as_dense(moe, expert)(flat[mine]))
    out.sum().backward()
    # Every expert gets a gradient (DDP needs every parameter used).
    for linear in moe.expert_linears():
        assert all(g.abs().sum(dim=tuple(range(1, g.dim()))).gt(0).all()
                   for g in (linear.weight.grad, linear.bias.grad))


@pytest.mark.parametrize('ffn', [
    tiny_mlp(),
    FFN(embed_dims=8, feedforward_channels=16).layers.double(),
], ids=['timm_mlp', 'mmcv_ffn_layers'])
def test_averaged_evaluation_is_the_converted_dense_ffn(ffn):
    moe = RandomPartitionMoE(ffn, num_experts=4)
    spread_experts(moe)
    moe.eval()
    dense = moe.to_dense()
    assert type(dense) is type(ffn)
    assert [type(m) for m in dense.modules()] == \
        [type(m) for m in ffn.modules()]
    assert {k: v.shape for k, v in dense.state_dict().items()} == \
        {k: v.shape for k, v in ffn.state_dict().items()}
    x = tokens()
    assert torch.equal(moe(x), dense(x))
    for linear, converted in zip(
            moe.expert_linears(),
            [m for m in dense.modules() if isinstance(m, nn.Linear)]):
        torch.testing.assert_close(converted.weight, linear.weight.mean(0))
    # Experts that are copies average back to the dense FFN.
    copies = RandomPartitionMoE(ffn, num_experts=4)
    torch.testing.assert_close(copies.to_dense()(x), ffn(x))


def test_experts_eval_mode_partitions_out_of_training_too():
    moe = RandomPartitionMoE(tiny_mlp(), num_experts=2, eval_mode='experts')
    spread_experts(moe)
    moe.eval()
    x = tokens()
    assert not torch.allclose(moe(x), moe.to_dense()(x))


@pytest.mark.parametrize('share_rate', [0.0, 0.3, 1.0])
def test_ewa_update_keeps_the_mean_and_shrinks_deviations(share_rate):
    moe = RandomPartitionMoE(tiny_mlp(), num_experts=4, init='independent')
    before = [stack.detach().clone() for linear in moe.expert_linears()
              for stack in linear.stacks()]
    spread_before = moe.expert_spread()
    moe.average_experts_(share_rate)
    after = [stack for linear in moe.expert_linears()
             for stack in linear.stacks()]
    for old, new in zip(before, after):
        mean = old.mean(0, keepdim=True)
        torch.testing.assert_close(new.mean(0, keepdim=True), mean)
        torch.testing.assert_close(new - mean, (1 - share_rate) * (old - mean))
    torch.testing.assert_close(moe.expert_spread(),
                               (1 - share_rate) * spread_before)


@pytest.mark.parametrize('share_rate', [0.0, 0.3, 1.0])
def test_ewa_update_over_the_others_mixes_in_their_mean(share_rate):
    moe = RandomPartitionMoE(tiny_mlp(), num_experts=4, init='independent')
    before = [stack.detach().clone() for linear in moe.expert_linears()
              for stack in linear.stacks()]
    moe.average_experts_(share_rate, share_rate_over='others')
    after = [stack for linear in moe.expert_linears()
             for stack in linear.stacks()]
    for old, new in zip(before, after):
        for expert in range(4):
            others = torch.cat([old[:expert], old[expert + 1:]]).mean(0)
            torch.testing.assert_close(
                new[expert],
                (1 - share_rate) * old[expert] + share_rate * others)


def test_share_rate_over_the_others_is_a_larger_rate_over_all():
    assert pull_toward_mean(0.3, 4) == 0.3
    assert pull_toward_mean(0.3, 4, 'others') == pytest.approx(0.4)
    assert pull_toward_mean(0.5, 2, 'others') == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'others' needs at least 2 experts"):
        pull_toward_mean(0.3, 1, 'others')
    with pytest.raises(ValueError,
                       match=r"share_rate_over must be one of \['all', "
                       r"'others'\] .* got 'rest'"):
        ExpertLinear(2, 3, 3).average_(0.3, 'rest')


def test_expert_spread_is_the_rms_deviation_from_the_mean():
    stacked = torch.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=torch.float64)
    # Deviations: +-1 and +-2 around the mean (2, 4).
    torch.testing.assert_close(
        expert_spread([stacked, torch.zeros(2, 3, dtype=torch.float64)]),
        torch.tensor((2 * 1 + 2 * 4) / 10, dtype=torch.float64).sqrt())


def test_top1_moe_routes_to_the_best_expert_and_scales_by_its_gate():
    moe = Top1MoE(tiny_mlp(), num_experts=3, init='independent',
                  balance_loss_weight=0.5)
    moe.eval()  # eval_mode 'experts': routed, as in training
    x = tokens().reshape(-1, 8)
    out = moe(x)
    probabilities = (x @ moe.router.weight.T).softmax(-1)
    gates, experts = probabilities.max(-1)
    for expert in range(3):
        mine = experts == expert
        torch.testing.assert_close(
            out[mine],
            gates[mine, None] * expert_as_dense(moe, expert)(x[mine]))
    fractions = torch.stack([(experts == e).double().mean()
                             for e in range(3)])
    balance = 3 * (fractions * probabilities.mean(0)).sum()
    torch.testing.assert_close(moe.balance_loss, balance)
    torch.testing.assert_close(moe.auxiliary_loss(), 0.5 * balance)
    assert Top1MoE(tiny_mlp(), balance_loss_weight=0).auxiliary_loss() is None


@pytest.mark.parametrize('moe_type, kwargs, message', [
    (RandomPartitionMoE, dict(num_experts=1), 'num_experts .* got 1'),
    (RandomPartitionMoE, dict(num_experts=True), 'num_experts .* got True'),
    (RandomPartitionMoE, dict(eval_mode='dense'), "eval_mode .* 'dense'"),
    (RandomPartitionMoE, dict(init='zeros'), "'zeros'"),
    (Top1MoE, dict(balance_loss_weight=-0.1), 'balance_loss_weight .* -0.1'),
])
def test_invalid_settings_name_the_value(moe_type, kwargs, message):
    with pytest.raises(ValueError, match=message):
        moe_type(tiny_mlp(), **kwargs)


def test_an_ffn_without_linear_layers_is_refused():
    with pytest.raises(ValueError, match='Identity has no nn.Linear'):
        RandomPartitionMoE(nn.Identity())
