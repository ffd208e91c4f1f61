"""Routing diagnostics: the statistics against a hand computation and
against the balance loss the model trains with, and the tool from a
config and checkpoint to its JSON, Markdown and heat map."""
import json
import math
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.evaluation.smoa_routing import (RoutingRecorder,
                                              adapterx_routers,
                                              balance_loss_weight)
from adapterx.models.modules import SharedExpertPool, SMoA
from adapterx.models.modules.smoa import switch_balance_loss
from adapterx.registry import MODELS
from ..fixtures import image_batch, tiny_vit_classifier
from ..utils import REPO_ROOT, data_root_options, load_tool, peft_base

TINY_ADAPTERX = (REPO_ROOT / 'configs' / 'tiny' /
                 'adapterx_vit-tiny_1xb8-2e_tiny-images.py')
TINY_FULLFT = (REPO_ROOT / 'configs' / 'tiny' /
               'full-finetune_vit-tiny_1xb8-2e_tiny-images.py')


@pytest.fixture(autouse=True)
def adapterx_scope():
    init_default_scope('adapterx')


def fixed_router():
    """Two experts on 2-wide tokens: the projection is the identity and
    the expert embeddings the unit vectors, so a token's logits are the
    token itself."""
    smoa = SMoA(SharedExpertPool(2, num_experts=2, bottleneck_dims=1,
                                 routing_dims=2))
    with torch.no_grad():
        smoa.router.projection.weight.copy_(torch.eye(2))
        smoa.expert_pool.expert_embeddings.copy_(torch.eye(2))
    return smoa


def test_statistics_match_a_hand_computation():
    smoa = fixed_router()
    log3 = math.log(3)
    # Logits (log 3, 0): probabilities (3/4, 1/4); three tokens choose
    # expert 0, one expert 1, over two forwards.
    batches = [torch.tensor([[[log3, 0.0], [0.0, log3]]]),
               torch.tensor([[[log3, 0.0], [log3, 0.0]]])]
    with RoutingRecorder({'fixed': smoa}) as recorder:
        for tokens in batches:
            smoa(tokens, return_routing=True)
    stats = recorder.statistics['fixed']
    assert stats.sub_tokens == 4
    torch.testing.assert_close(stats.load, torch.tensor(
        [0.75, 0.25], dtype=torch.float64))
    # (3 * 3/4 + 1/4) / 4 = 5/8 for expert 0.
    torch.testing.assert_close(stats.mean_probability, torch.tensor(
        [0.625, 0.375], dtype=torch.float64))
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert stats.token_entropy == pytest.approx(entropy)
    assert stats.load_entropy == pytest.approx(entropy)
    # N sum f P = 2 (3/4 * 5/8 + 1/4 * 3/8).
    assert stats.balance_loss == pytest.approx(1.125)


def test_hooks_are_removed_after_recording():
    smoa = fixed_router()
    with RoutingRecorder({'fixed': smoa}) as recorder:
        pass
    smoa(torch.ones(1, 3, 2), return_routing=True)
    assert recorder.statistics['fixed'].sub_tokens == 0
    with pytest.raises(ValueError, match='Router fixed routed no sub-token'):
        recorder.statistics['fixed'].load


def tiny_adapterx(**settings):
    torch.manual_seed(0)
    model = tiny_vit_classifier(
        dict(peft_base('adapterx'), balance_loss_weight=0.5, **settings),
        num_layers=3)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if 'expert_pools' in name or '.adapterx.' in name:
                parameter.normal_(0, 0.5)
    return model.eval()


@pytest.mark.parametrize('settings', [
    dict(), dict(placement='both', num_heads=2, top_k=2)])
def test_statistics_are_the_models_own_routing_and_balance_loss(settings):
    model = tiny_adapterx(**settings)
    routers = adapterx_routers(model, 'tiny')
    per_block = 2 if settings else 1
    assert len(routers) == 3 * per_block
    assert list(routers)[:per_block] == (
        ['block 0 attn', 'block 0 mlp'] if settings else ['block 0 mlp'])
    with RoutingRecorder(routers) as recorder, torch.no_grad():
        model.extract_feat(image_batch(4))
    routings = model.backbone.forward_context.routings
    summary = recorder.summary(balance_loss_weight(model))
    for router, routing in zip(summary['routers'], routings):
        probs = routing.probs.reshape(-1, 4).double()
        assert router['sub_tokens'] == probs.shape[0]
        assert sum(router['load']) == pytest.approx(1)
        assert sum(router['mean_probability']) == pytest.approx(1)
        assert 0 <= router['token_entropy'] <= math.log(4)
        assert 0 <= router['load_entropy'] <= math.log(4)
        assert router['mean_probability'] == pytest.approx(
            probs.mean(0).tolist())
        chosen = probs.topk(router['top_k'], dim=-1).indices.reshape(-1)
        assert router['load'] == pytest.approx(
            (torch.bincount(chosen, minlength=4) / len(chosen)).tolist())
        assert router['balance_loss'] == pytest.approx(
            float(switch_balance_loss(routing.probs)), rel=1e-5)
    # One forward: the loss training adds, from the same routings.
    assert summary['loss_balance'] == pytest.approx(
        float(model.backbone.auxiliary_losses()['loss_balance']), rel=1e-5)


def test_a_model_without_adapterx_or_routers_is_refused():
    with pytest.raises(ValueError, match='plain.py is not an Adapter-X'):
        adapterx_routers(nn.Linear(2, 2), 'plain.py')
    single = tiny_vit_classifier(dict(peft_base('adapterx'), num_experts=1))
    with pytest.raises(ValueError, match='one.py: every Adapter-X pool has '
                       'one expert'):
        adapterx_routers(single, 'one.py')


@pytest.fixture
def tool():
    return load_tool('tools/analysis_tools/smoa_routing.py')


def saved_model(config, path, randomise=False):
    """The model ``config`` builds, seeded (adapters randomised), saved as
    a checkpoint with every tensor."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    if randomise:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if 'expert_pools' in name or '.adapterx.' in name:
                    parameter.normal_(0, 0.5)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def test_a_checkpoint_of_another_method_is_refused_naming_it(tool, tmp_path):
    fullft = saved_model(TINY_FULLFT, tmp_path / 'fullft_epoch_2.pth')
    with pytest.raises(ValueError,
                       match=r'fullft_epoch_2\.pth is not a checkpoint of an '
                       r'Adapter-X model'):
        tool.load_adapterx_model(str(TINY_ADAPTERX), str(fullft))
    adapterx = saved_model(TINY_ADAPTERX, tmp_path / 'adapterx.pth')
    with pytest.raises(ValueError,
                       match=r'full-finetune_vit-tiny_1xb8-2e_tiny-images\.py is not an Adapter-X'):
        tool.load_adapterx_model(str(TINY_FULLFT), str(adapterx))


def test_the_tool_writes_json_markdown_and_heat_map(tool, tmp_path,
                                                    tiny_image_root,
                                                    monkeypatch, capsys):
    checkpoint = saved_model(TINY_ADAPTERX, tmp_path / 'epoch_2.pth',
                             randomise=True)
    out = tmp_path / 'routing'
    monkeypatch.setattr(sys, 'argv', [
        'smoa_routing.py', str(TINY_ADAPTERX), str(checkpoint), '--out',
        str(out), '--max-batches', '1', '--cfg-options',
        *data_root_options(tiny_image_root)])
    tool.main()
    record = json.loads((out / 'smoa_routing.json').read_text())
    routers = record['data']['routers']
    assert [router['router'] for router in routers] == [
        'block 0 mlp', 'block 1 mlp']
    # One batch of 16 test images: (class token + 16 patches + the
    # prompts of the earlier blocks) sub-tokens each.
    assert [router['sub_tokens'] for router in routers] == [16 * 17,
                                                            16 * 18]
    assert record['header'][:2] == ['router', 'expert 0 load %']
    assert record['rows'][0][1] == f"{100 * routers[0]['load'][0]:.1f}"
    markdown = (out / 'smoa_routing.md').read_text()
    assert '| block 1 mlp |' in markdown and 'smoa_routing.png' in markdown
    assert 'Sub-tokens routed: 272 to 288 per router' in markdown
    assert (out / 'smoa_routing.png').read_bytes()[:8] == \
        b'\x89PNG\r\n\x1a\n'
    assert 'Wrote smoa_routing.json' in capsys.readouterr().out
