"""Each protocol's schedule base gives weight decay to the parameters its
reference code decays, and to no other, for the models its configs train.

The rules, written here from the reference code rather than from the
configs' ``paramwise_cfg``:

- VTAB-1k / FGVC (``adamw_cosine.py``, NOAH's code: timm's optimizer
  factory) and ViTs from scratch (``adamw_cosine_scratch.py``, DeiT's timm
  factory): no decay for 1-D parameters, biases and the ViT's
  ``no_weight_decay()`` set (``cls_token``, ``pos_embed``).
- Point clouds (``point_adamw_cosine_300e.py``, Point-MAE's and DAPT's
  ``add_weight_decay`` with an empty skip list): no decay for 1-D
  parameters, biases and names containing ``token``; ``cls_pos`` decays.

An expert pool's stacked biases (``down_bias``, one row per expert) are the
biases of the reference's per-expert Linear layers. Each model is the
config's own at a small width; frozen parameters are not in the optimizer.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from adapterx.registry import MODELS
from .utils import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
SCHEDULES = CONFIGS / '_base_' / 'schedules'
WIDTH = 24


def timm_no_decay(name, parameter):
    return (parameter.ndim <= 1 or name.endswith('bias')
            or name.rsplit('.', 1)[-1] in ('cls_token', 'pos_embed'))


def point_mae_no_decay(name, parameter):
    return parameter.ndim <= 1 or name.endswith('bias') or 'token' in name


# (schedule base, configs that train on it, the reference's rule).
PROTOCOLS = {
    'adamw_cosine.py': ([
        'adapterx_vitb_vtab.py',
        'full_finetune/full-finetune_vit-b16_8xb8-100e_vtab1k-cifar.py',
        'vpt/vpt-deep_vit-b16_8xb8-100e_fgvc-cub200.py',
        'lora/lora_vit-b16_8xb8-100e_vtab1k-cifar.py',
    ], timm_no_decay),
    'adamw_cosine_scratch.py': ([
        'ewa/dense_deit-s-p4_1xb128-300e_cifar100.py',
        'ewa/top1-moe_deit-s-p4_1xb128-300e_cifar100.py',
    ], timm_no_decay),
    'point_adamw_cosine_300e.py': ([
        'adapterx/adapterx_point-mae_1xb32-300e_modelnet40.py',
        'dapt/dapt_point-mae_1xb32-300e_scanobjectnn-obj-bg.py',
        'full_finetune/full-finetune_point-bert_1xb32-300e_modelnet40.py',
        'idpt/idpt_point-mae_1xb32-300e_modelnet40.py',
    ], point_mae_no_decay),
}
CASES = [(schedule, config) for schedule, (configs, _) in PROTOCOLS.items()
         for config in configs]


def small_model(cfg):
    """The config's model at width ``WIDTH`` and depth 2, not loading its
    pretrained weights."""
    backbone = cfg.model.backbone
    backbone.pop('init_cfg', None)
    if backbone.type == 'PointTransformer':
        backbone.arch = dict(embed_dims=WIDTH, depth=2, num_heads=2,
                             group_embed_dims=WIDTH)
    else:
        backbone.arch = dict(embed_dims=WIDTH, num_layers=2, num_heads=2,
                             feedforward_channels=2 * WIDTH)
    cfg.model.head.in_channels = WIDTH
    return MODELS.build(cfg.model)


def decay_of_each_parameter(model, optim_wrapper):
    """Parameter name -> its weight decay in the optimizer."""
    groups = {
        id(parameter): group['weight_decay']
        for group in optim_wrapper.optimizer.param_groups
        for parameter in group['params']
    }
    return {
        name: groups[id(parameter)]
        for name, parameter in model.named_parameters()
        if id(parameter) in groups
    }


@pytest.fixture(scope='module', params=CASES, ids=lambda case: case[1])
def built(request):
    schedule, config = request.param
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(CONFIGS / config))
    protocol = Config.fromfile(str(SCHEDULES / schedule))
    # The config trains on the protocol's groups (it may change the lr).
    assert cfg.optim_wrapper.paramwise_cfg == \
        protocol.optim_wrapper.paramwise_cfg
    torch.manual_seed(0)
    model = small_model(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return dict(schedule=schedule, cfg=cfg, model=model,
                optim_wrapper=optim_wrapper,
                decay=decay_of_each_parameter(model, optim_wrapper))


def test_trainable_parameters_decay_as_the_reference_code_decides(built):
    model, decay = built['model'], built['decay']
    base_decay = built['cfg'].optim_wrapper.optimizer.weight_decay
    no_decay = PROTOCOLS[built['schedule']][1]
    trainable = {name: parameter
                 for name, parameter in model.named_parameters()
                 if parameter.requires_grad}
    # Frozen parameters are left out, each trainable one is in once.
    assert decay.keys() == trainable.keys()
    assert sum(len(group['params']) for group in
               built['optim_wrapper'].optimizer.param_groups) == len(trainable)
    expected = {
        name: 0.0 if no_decay(name, parameter) else base_decay
        for name, parameter in trainable.items()
    }
    assert decay == expected
    # Both kinds occur in every model these protocols train.
    assert 0.0 in decay.values() and base_decay in decay.values()


@pytest.mark.parametrize('schedule, config, without_decay, with_decay', [
    ('adamw_cosine.py', 'adapterx_vitb_vtab.py', [
        'backbone.module.cls_token', 'backbone.module.layers.0.ln2.weight',
        'backbone.module.layers.0.adapterx.prompt_generator.gamma',
        'backbone.expert_pools.mlp_0.down_bias', 'head.layers.head.bias'
    ], [
        'backbone.expert_pools.mlp_0.down_weight',
        'backbone.expert_pools.mlp_0.expert_embeddings',
        'backbone.module.layers.0.adapterx.mlp_smoa.router.projection.weight',
        'head.layers.head.weight'
    ]),
    ('adamw_cosine.py',
     'full_finetune/full-finetune_vit-b16_8xb8-100e_vtab1k-cifar.py',
     ['backbone.pos_embed', 'backbone.patch_embed.projection.bias'],
     ['backbone.patch_embed.projection.weight',
      'backbone.layers.1.attn.qkv.weight']),
    ('point_adamw_cosine_300e.py',
     'adapterx/adapterx_point-mae_1xb32-300e_modelnet40.py', [
         'backbone.module.cls_token',
         'backbone.module.blocks.1.adapterx.mlp_smoa_norm.bias',
         'backbone.module.blocks.1.adapterx.scale_shifts.fc1.scale',
         'backbone.scale_shifts.norm.shift',
         'backbone.module.blocks.0.adapterx.prompt_generator.beta',
         'backbone.module.blocks.0.adapterx.mlp_smoa.scale.linear.bias',
         'backbone.expert_pools.mlp_0.up_bias', 'head.layers.1.weight'
     ], [
         'backbone.module.cls_pos', 'backbone.expert_pools.mlp_0.up_weight',
         'backbone.module.blocks.0.adapterx.mlp_smoa.scale.linear.weight',
         'head.layers.0.weight'
     ]),
])
def test_named_parameters_of_each_protocol(schedule, config, without_decay,
                                           with_decay):
    """The rule spelled out on names a reader checks against the reference:
    the norms, biases, prompt generator, class token (and the 2D position
    embedding) go without decay; weights, expert embeddings and the 3D
    class token's position decay."""
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(CONFIGS / config))
    model = small_model(cfg)
    decay = decay_of_each_parameter(
        model, build_optim_wrapper(model, cfg.optim_wrapper))
    base_decay = cfg.optim_wrapper.optimizer.weight_decay
    assert [decay[name] for name in without_decay] == \
        [0.0] * len(without_decay)
    assert [decay[name] for name in with_decay] == \
        [base_decay] * len(with_decay)


def test_a_step_shrinks_only_the_decayed_parameters(built):
    """With zero gradients AdamW's step is its decoupled decay alone: the
    parameters without decay stay as they are, the others shrink by
    ``1 - lr * wd``, and frozen ones (no gradient, not in the optimizer)
    stay."""
    model, decay = built['model'], built['decay']
    optimizer = built['optim_wrapper'].optimizer
    lr = built['cfg'].optim_wrapper.optimizer.lr
    before = {name: parameter.detach().clone()
              for name, parameter in model.named_parameters()}
    for name, parameter in model.named_parameters():
        if name in decay:
            parameter.grad = torch.zeros_like(parameter)
    optimizer.step()
    for name, parameter in model.named_parameters():
        expected = before[name].mul(1 - lr * decay.get(name, 0.0))
        assert torch.equal(parameter.detach(), expected), name
    assert any(value > 0 for value in decay.values())
