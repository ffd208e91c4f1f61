"""torch.compile captures a whole PEFT ViT's forward as one graph."""
import pytest
import torch
from mmengine.config import Config

from adapterx.benchmarking.measure import graph_breaks
from adapterx.benchmarking.model_setup import (build_frozen_model,
                                               synthetic_batch)
from adapterx.utils import register_all_modules
from ..utils import REPO_ROOT


@pytest.mark.parametrize('training', [False, True])
def test_adapterx_vit_forward_is_one_graph(training):
    # mmpretrain's ViT (drop path 0.1 here) used to break the graph in
    # every block on its numpy-float drop probabilities.
    register_all_modules()
    cfg = Config.fromfile(REPO_ROOT / 'configs' / 'tiny' /
                          'adapterx_vit-tiny_1xb8-2e_tiny-images.py')
    cfg.model.backbone.drop_path_rate = 0.1
    model, _ = build_frozen_model(cfg)
    inputs, samples = synthetic_batch((2, 3, 32, 32), 4, 'cpu')
    model.train(training)
    with torch.set_grad_enabled(training):
        if training:
            explained = graph_breaks(model, inputs, samples, mode='loss')
        else:
            explained = graph_breaks(model, inputs, mode='tensor')
    assert explained == dict(graphs=1, graph_breaks=0, reasons=[])
