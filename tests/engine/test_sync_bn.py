"""The 8-GPU point-cloud configs ask for SyncBN (``sync_bn='torch'``), so
that the BatchNorm layers of the group encoder and the head see the batch of
32 their one-GPU counterparts see. mmengine's Runner converts them when it
wraps the model for distributed training on GPUs; without a GPU, PeftRunner
keeps them and says so."""
import logging

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import runner as mmengine_runner

from adapterx.engine import PeftRunner
from adapterx.registry import MODELS
from ..utils import CONFIGS

CONFIG_8XB4 = (CONFIGS / 'dapt' /
               'dapt_point-mae_8xb4-300e_scanobjectnn-pb-t50-rs.py')
CONFIG_1XB32 = (CONFIGS / 'dapt' /
                'dapt_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py')


def small_model(config):
    """The config's model at width 24, depth 2, without its weights."""
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.pop('init_cfg')
    cfg.model.backbone.arch = dict(embed_dims=24, depth=2, num_heads=2,
                                   group_embed_dims=24)
    cfg.model.head.in_channels = 24
    return cfg, MODELS.build(cfg.model)


def distributed_runner(cfg):
    """A PeftRunner that believes it runs distributed, with only what
    ``wrap_model`` reads."""
    runner = PeftRunner.__new__(PeftRunner)
    runner._distributed = True
    runner.cfg = cfg
    runner.logger = logging.getLogger('test_sync_bn')
    return runner


def batch_norms(model, kind):
    return [module for module in model.modules() if isinstance(module, kind)]


@pytest.mark.parametrize('config, synced', [(CONFIG_8XB4, True),
                                            (CONFIG_1XB32, False)])
def test_mmengine_converts_the_batch_norms_the_config_asks_for(
        monkeypatch, config, synced):
    """On GPUs (the device and DDP stubbed: the conversion is mmengine's
    own code, before the wrap), every BatchNorm of the 8-GPU config becomes
    a SyncBatchNorm with its weights, the 1-GPU config's stay."""
    cfg, model = small_model(config)
    norms = batch_norms(model, nn.modules.batchnorm._BatchNorm)
    assert len(norms) > 2  # the group encoder's and the head's
    weights = [norm.weight for norm in norms]
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(mmengine_runner, 'get_device', lambda: 'cpu')
    monkeypatch.setattr(mmengine_runner, 'MMDistributedDataParallel',
                        lambda module, **kwargs: module)
    monkeypatch.setenv('LOCAL_RANK', '0')
    wrapped = distributed_runner(cfg).wrap_model(None, model)
    synced_norms = batch_norms(wrapped, nn.SyncBatchNorm)
    if synced:
        assert len(synced_norms) == len(norms)
        assert [norm.weight for norm in synced_norms] == weights
    else:
        assert synced_norms == []


def test_without_a_gpu_the_batch_norms_stay_and_a_warning_says_so(
        tmp_path, caplog):
    cfg, model = small_model(CONFIG_8XB4)
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "rendezvous"}', rank=0,
        world_size=1)
    try:
        runner = distributed_runner(cfg)
        with caplog.at_level(logging.WARNING, logger='test_sync_bn'):
            wrapped = runner.wrap_model(None, model)
    finally:
        torch_dist.destroy_process_group()
    assert batch_norms(wrapped, nn.SyncBatchNorm) == []
    assert "sync_bn='torch' is ignored without a GPU" in caplog.text
