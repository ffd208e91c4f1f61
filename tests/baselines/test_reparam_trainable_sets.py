"""Each baseline trains exactly what its paper trains (parameter names,
derived from the model's structure, not from the config's patterns), and a
few optimizer steps change exactly those tensors."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from adapterx.models.vit_anatomy import find_vit_blocks
from adapterx.registry import MODELS
from ..utils import REPO_ROOT, tiny_config_with

METHODS = ('full_finetune', 'linear_probe', 'bitfit', 'lora', 'ssf', 'fact_tt',
           'fact_tk')
FACTORS = {
    'fact_tt': ('u', 'v', 'cores'),
    'fact_tk': ('u', 'v', 'core', 'factor')
}


def build_tiny(method, directory):
    init_default_scope('adapterx')
    base = REPO_ROOT / 'configs' / '_base_' / 'peft' / f'{method}.py'
    cfg = Config.fromfile(str(tiny_config_with(base, directory)))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, model.apply_trainable_set()


def expected_trainable(method, model):
    names = {name for name, _ in model.named_parameters()}
    head = {name for name in names if name.startswith('head.')}
    backbone = model.backbone
    if method == 'full_finetune':
        return names
    if method == 'linear_probe':
        return head
    if method == 'bitfit':
        return head | {
            f'backbone.{name}.bias'
            for name, module in backbone.named_modules()
            if isinstance(getattr(module, 'bias', None), nn.Parameter)
        }
    plain = backbone.module
    if method in FACTORS:
        return head | {f'backbone.factors.{p}' for p in FACTORS[method]}
    if method == 'lora':
        qkvs = {id(block.attn.qkv) for block in find_vit_blocks(plain)}
        adapted = [
            name for name, module in plain.named_modules()
            if id(module) in qkvs
        ]
        assert len(adapted) == 2  # one per block
        return head | {
            f'backbone.module.{name}.lora.lora_{matrix}'
            for name in adapted
            for matrix in 'AB'
        }
    # SSF: after the patch embedding, LN1, qkv, proj, LN2, fc1, fc2 of each
    # block and the final norm.
    adapted = [
        name for name, module in plain.named_modules()
        if isinstance(module, (nn.Linear, nn.LayerNorm, nn.Conv2d))
    ]
    assert len(adapted) == 1 + 6 * 2 + 1
    return head | {
        f'backbone.module.{name}.ssf.{factor}'
        for name in adapted
        for factor in ('scale', 'shift')
    }


@pytest.mark.parametrize('method', METHODS)
def test_trainable_set_and_short_training(method, tmp_path):
    model, trainable = build_tiny(method, tmp_path)
    assert set(trainable) == expected_trainable(method, model)

    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(4, 3, 32, 32, generator=generator)
    samples = [DataSample().set_gt_label(label) for label in (0, 1, 2, 3)]
    model.train()
    # Zero-initialised factors (LoRA's B, FacT's V) hold the others' first
    # gradient at zero: three steps move every trainable tensor.
    for _ in range(3):
        optimizer.zero_grad()
        sum(model.loss(images, samples).values()).backward()
        optimizer.step()
    for name, parameter in model.named_parameters():
        changed = not torch.equal(parameter, before[name])
        assert changed == (name in trainable), name
