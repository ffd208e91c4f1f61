"""The per-forward context of the block-patching PEFT methods: reset at
every forward, the one place a forward leaves its state, read by the point
classifier (prompts), Adapter-X's balance loss (routings) and IDPT
(positions)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from adapterx.models import DAPT, IDPT, VPT, AdapterX
from ..fixtures import (WIDTH, in_eval_mode, tiny_mmpretrain_vit,
                        tiny_point_classifier, tiny_point_transformer)

METHODS = {
    'adapterx': dict(type='AdapterX', bottleneck_dims=4, routing_dims=4,
                     placement='both'),
    'dapt': dict(type='DAPT', bottleneck_dims=4),
    'idpt': dict(type='IDPT', generator=dict(k=4)),
    'vpt_deep': dict(type='VPT', deep=True, num_prompts=2),
}
WRAPPERS = dict(AdapterX=AdapterX, DAPT=DAPT, IDPT=IDPT, VPT=VPT)
# Prompts that leave the last of 3 blocks: a generated one per block but
# the last (Adapter-X), one per block (DAPT), one (IDPT), the last block's
# own (VPT-deep).
NUM_PROMPTS = dict(adapterx=2, dapt=3, idpt=1, vpt_deep=2)


def point_backbone(**options):
    torch.manual_seed(0)
    backbone = tiny_point_transformer(depth=3, num_groups=8, group_size=8,
                                      **options)
    backbone.init_weights()
    return in_eval_mode(backbone)


def points(batch):
    return torch.randn(batch, 64, 3,
                       generator=torch.Generator().manual_seed(batch))


def wrapped(method, backbone):
    """The method around ``backbone``, its own parameters moved away from
    their initial values (zero up-projections would hide a wrong input)."""
    options = dict(METHODS[method])
    model = WRAPPERS[options.pop('type')](backbone, **options)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name in model.trainable_parameter_names():
                parameter.add_(0.2 * torch.randn_like(parameter))
    return in_eval_mode(model)


def module_attributes(model):
    """Every plain attribute of every module (not its parameters, buffers
    or submodules), by (module name, attribute name)."""
    return {(name, key): value
            for name, module in model.named_modules()
            for key, value in vars(module).items()
            if key not in ('_parameters', '_buffers', '_modules')}


@pytest.mark.parametrize('method', METHODS)
def test_each_forward_starts_from_a_fresh_context(method):
    model = wrapped(method, point_backbone())
    fresh = copy.deepcopy(model)
    model(points(3))
    # A smaller batch: prompts or routings left from the first forward
    # would not even fit.
    output = model(points(2))[0]
    assert torch.equal(output, fresh(points(2))[0])
    prompts = model.forward_context.prompts
    assert prompts.shape == (2, NUM_PROMPTS[method], WIDTH)
    assert torch.equal(prompts, fresh.forward_context.prompts)
    if method == 'adapterx':
        # One routing per SMoA (attention and MLP of 3 blocks), this
        # forward's.
        routings = model.forward_context.routings
        assert len(routings) == 6
        assert all(routing.probs.shape[0] == 2 for routing in routings)


@pytest.mark.parametrize('method', METHODS)
def test_a_forward_leaves_its_state_in_the_context_alone(method):
    model = wrapped(method, point_backbone())
    before = module_attributes(model)
    model(points(2))
    after = module_attributes(model)
    assert after.keys() == before.keys()
    changed = [key for key in before if after[key] is not before[key]]
    assert changed == []
    assert model.forward_context.prompts is not None


@pytest.mark.parametrize('method', [*METHODS, 'lora', None])
def test_the_forwards_prompts_reach_the_point_classifier(method):
    init_default_scope('adapterx')
    peft = dict(type='LoRA') if method == 'lora' else METHODS.get(method)
    model = in_eval_mode(tiny_point_classifier(peft, depth=3, width=16,
                                               num_groups=8))
    with torch.no_grad():
        tokens, prompts = model.extract_feat(points(2))
    assert tokens.shape == (2, 9, 16)
    if method in METHODS:
        raw = model.backbone.forward_context.prompts
        assert raw.shape == (2, NUM_PROMPTS[method], 16)
        # Normalised like the tokens, by the backbone's final norm.
        assert torch.equal(prompts, model.backbone.module.norm(raw))
    else:
        assert prompts is None


def test_balance_loss_is_the_switch_formula_over_the_forwards_routings():
    torch.manual_seed(0)
    model = AdapterX(in_eval_mode(tiny_mmpretrain_vit(num_layers=3)),
                     placement='both', num_heads=2, router_temperature=0.5,
                     balance_loss_weight=0.5)
    with pytest.raises(RuntimeError, match='no forward has run yet'):
        model.auxiliary_losses()
    router_inputs = []
    for block in model._blocks:
        for norm in (block.ln1, block.ln2):  # attention, then MLP branch
            norm.register_forward_hook(
                lambda module, inputs, output: router_inputs.append(output))
    model(torch.randn(3, 3, 32, 32))

    smoas = [smoa for block in model._blocks
             for smoa in (block.adapterx.attn_smoa, block.adapterx.mlp_smoa)]
    routings = model.forward_context.routings
    assert len(routings) == len(smoas) == len(router_inputs) == 6
    terms = []
    for smoa, normed, routing in zip(smoas, router_inputs, routings):
        sub_tokens = normed.reshape(*normed.shape[:2], 2, -1)
        embeddings = F.normalize(smoa.expert_pool.expert_embeddings, dim=-1)
        probs = torch.softmax(
            smoa.router.projection(sub_tokens) @ embeddings.T / 0.5, dim=-1)
        torch.testing.assert_close(routing.probs, probs)
        flat = probs.reshape(-1, 4)
        top1_share = F.one_hot(flat.argmax(-1), 4).float().mean(0)
        terms.append(4 * (top1_share * flat.mean(0)).sum())
    loss = model.auxiliary_losses()['loss_balance']
    torch.testing.assert_close(loss, 0.5 * torch.stack(terms).mean())
    loss.backward()
    assert all(smoa.router.projection.weight.grad.abs().sum() > 0
               for smoa in smoas)


def test_idpt_reads_the_positions_of_its_own_forward():
    model = wrapped('idpt', point_backbone())
    copied = copy.deepcopy(model)
    model(points(2))
    recorded = model.forward_context.positions
    # A copy's forward fills the copy's context, not the original's.
    copied(points(3))
    assert copied.forward_context.positions.shape == (3, 8, WIDTH)
    assert model.forward_context.positions is recorded
    _, positions = model.module.embed(points(2))
    assert torch.equal(recorded, positions[:, 1:])  # the groups' positions
    # Positions added once before the first block are in the block input
    # only once; IDPT then has none to take off.
    once = wrapped('idpt', point_backbone(add_positions_every_block=False))
    once(points(2))
    assert once.forward_context.positions is None
