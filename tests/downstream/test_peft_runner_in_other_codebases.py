"""The downstream configs' runner contract without mmseg or mmdet: under
another codebase's default scope, mmengine's RUNNERS builds
``runner_type='adapterx.PeftRunner'``, which freezes with
``adapterx.ParameterFreezeHook`` before any wrapping and trains a
segmentation model whose ViT stays frozen."""
import json

import pytest
import torch
from mmengine import Config, DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS

from adapterx.engine import PeftRunner
from .dense_models import TinySegmentor, dense_backbone, segmentation_batch
from .peft_methods import DENSE_BASE, PEFT_METHODS


# Stands in for mmseg's EncoderDecoder under mmengine's scope.
MMENGINE_MODELS.register_module(
    'DownstreamTinySegmentor', module=TinySegmentor, force=True)


def samples():
    images, labels = segmentation_batch()
    return [dict(images=image, labels=label)
            for image, label in zip(images, labels)]


@pytest.mark.slow
def test_peft_runner_trains_under_another_default_scope(tmp_path):
    base = Config.fromfile(DENSE_BASE)
    adapterx = next(p for p in PEFT_METHODS if p.id == 'adapterx').values[0]
    cfg = Config(dict(
        default_scope='mmengine',  # not adapterx's, as in mmseg / mmdet
        runner_type=base.runner_type,
        custom_hooks=base.custom_hooks,
        model=dict(type='DownstreamTinySegmentor',
                   backbone=dense_backbone(adapterx)),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=samples(), sampler=dict(type='DefaultSampler'),
            batch_size=2, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(
            type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2)),
        default_hooks=dict(checkpoint=None, logger=None)))
    # The runner makes its default scope the current one; the block takes
    # it away again for the tests that follow.
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = MMENGINE_RUNNERS.build(cfg)
        assert type(runner) is PeftRunner
        model = runner.model
        model.init_weights()  # train() would initialize after the copy
        frozen_vit = {n: p.detach().clone()
                      for n, p in model.named_parameters()
                      if not p.requires_grad}
        assert any('.layers.0.attn.' in name for name in frozen_vit)
        runner.train()  # ParameterFreezeHook verifies the frozen tensors
    for name, parameter in model.named_parameters():
        if name in frozen_vit:
            assert torch.equal(parameter, frozen_vit[name]), name
    report = json.loads((tmp_path / 'trainable_parameters.json').read_text())
    assert 0 < report['trainable_without_head'] < report['backbone']
