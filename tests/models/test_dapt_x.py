"""3D Adapter-X ("DAPT-X") is DAPT with every adapter replaced by an SMoA:
the point Adapter-X config, reduced to one expert per block (no router,
gate 1) and given DAPT's weights, computes the DAPT config's function."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.registry import MODELS
from ..utils import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
# One expert per block (of DAPT's width, set below): the SMoA is DAPT's
# adapter.
ONE_EXPERT_PER_BLOCK = dict(
    num_experts=1, sharing_groups='per_block', balance_loss_weight=0.0)


def build(config, **peft):
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(CONFIGS / config))
    cfg.model.backbone.pop('init_cfg')
    # Fewer groups than the benchmark's for a fast test; the same for both.
    cfg.model.backbone.update(num_groups=16, group_size=8)
    cfg.model.peft.update(peft)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def dapt_name(adapterx_name):
    """The DAPT parameter that fills an Adapter-X one (and how: 'T' for a
    transposed nn.Linear weight)."""
    parts = adapterx_name.split('.')
    if parts[:2] == ['backbone', 'expert_pools']:
        block = parts[2].split('_')[1]
        linear = dict(down_weight='down.weight', down_bias='down.bias',
                      up_weight='up.weight', up_bias='up.bias')[parts[3]]
        return (f'backbone.module.blocks.{block}.dapt.adapter.{linear}',
                parts[3].endswith('weight'))
    renames = {'.adapterx.mlp_smoa_norm.': '.dapt.adapter.norm.',
               '.adapterx.mlp_smoa.scale.': '.dapt.adapter.scale.',
               '.adapterx.': '.dapt.'}
    for old, new in renames.items():
        if old in adapterx_name:
            return adapterx_name.replace(old, new), False
    return adapterx_name, False


def dapt_and_one_expert_adapterx(dataset):
    setting = f'point-mae_1xb32-300e_{dataset}.py'
    dapt = build(f'dapt/dapt_{setting}')
    adapterx = build(
        f'adapterx/adapterx_{setting}',
        **ONE_EXPERT_PER_BLOCK,
        bottleneck_dims=dapt.backbone._blocks[0].dapt.adapter.down.out_features)
    # Random weights everywhere (DAPT's up-projections start at zero).
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in dapt.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    dapt_state = dapt.state_dict()
    used = set()
    with torch.no_grad():
        for name, tensor in adapterx.state_dict().items():
            source, transposed = dapt_name(name)
            value = dapt_state[source]
            used.add(source)
            if name.startswith('backbone.expert_pools'):
                value = value.T if transposed else value
                value = value.reshape(tensor.shape)
            tensor.copy_(value)
    # Every DAPT tensor has its place in Adapter-X and vice versa.
    assert used == set(dapt_state)
    assert len(adapterx.state_dict()) == len(dapt_state)
    return dapt, adapterx


def clouds():
    return torch.randn(3, 256, 3, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize('dataset', ['scanobjectnn-obj-bg', 'modelnet40'])
def test_one_expert_adapterx_computes_dapts_function(dataset):
    dapt, adapterx = dapt_and_one_expert_adapterx(dataset)
    dapt.eval()
    adapterx.eval()
    with torch.no_grad():
        expected = dapt(clouds(), mode='tensor')
        actual = adapterx(clouds(), mode='tensor')
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def test_the_smoa_is_inside_drop_path_with_dapts_dropout():
    """In training (OBJ_BG: drop path 0.3, adapter dropout 0.5) the same
    random draws give the same outputs: the SMoA's output goes through the
    block's stochastic depth where DAPT's adapter does."""
    dapt, adapterx = dapt_and_one_expert_adapterx('scanobjectnn-obj-bg')
    dapt.train()
    adapterx.train()
    outputs = []
    for model in (dapt, adapterx):
        torch.manual_seed(3)
        outputs.append(model(clouds(), mode='tensor'))
    torch.testing.assert_close(outputs[1], outputs[0], atol=1e-5, rtol=0)
    smoa = adapterx.backbone._blocks[5].adapterx
    assert smoa.branch_drop_path.drop_prob == pytest.approx(
        adapterx.backbone.module.blocks[5].drop_path2.drop_prob)
    # Without the switch the draws differ: the equality above is no chance.
    outside = build(
        'adapterx/adapterx_point-mae_1xb32-300e_scanobjectnn-obj-bg.py',
                    **ONE_EXPERT_PER_BLOCK, bottleneck_dims=64,
                    smoa_in_drop_path=False)
    outside.load_state_dict(adapterx.state_dict())
    outside.train()
    torch.manual_seed(3)
    assert not torch.allclose(
        outside(clouds(), mode='tensor'), outputs[0], atol=1e-3)


def test_point_adapterx_has_every_blocks_prompt_and_unwraps_clean():
    model = build('adapterx/adapterx_point-mae_1xb32-300e_modelnet40.py')
    model.eval()
    with torch.no_grad():
        model.extract_feat(clouds())
    assert model.backbone.forward_context.prompts.shape == (3, 12, 384)
    backbone, state = model.backbone.unwrap()
    assert not any(block._forward_hooks for block in backbone.blocks)
    assert not backbone.norm._forward_hooks
    assert any('scale_shifts' in key for key in state)
