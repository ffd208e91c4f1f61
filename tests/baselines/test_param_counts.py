"""Trainable-parameter counts of the baselines on ViT-B/16, computed from
the benchmark configs (built on the meta device: shapes only, no memory,
no weights) and compared with the published figures at their precision.

2D convention: trainable parameters without the head, in M.
"""
import copy
import statistics
from functools import lru_cache

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.datasets import FGVC_DATASETS, VTAB1K_TASKS
from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import MODELS
from ..utils import method_config



def vtab_config(method):
    return Config.fromfile(
        str(method_config(method, 'vit-b16_8xb8-100e_vtab1k-cifar')))


@lru_cache(maxsize=None)
def count(method, rank=None):
    """(trainable without head, trainable head) of the method's VTAB-1k
    config on ViT-B/16, with the PEFT rank overridden if given."""
    init_default_scope('adapterx')
    cfg = copy.deepcopy(vtab_config(method))
    cfg.model.backbone.pop('init_cfg')
    if rank is not None:
        cfg.model.peft.rank = rank
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    report = trainable_parameter_report(model)
    return report.trainable_without_head, report.trainable_head


def millions(value, digits):
    return round(value / 1e6, digits)


# Published (M, without head, ViT-B/16):
# - LoRA 0.29: r=8 on W_q and W_v, the VTAB-1k tables of NOAH
#   (arXiv 2206.04673) and the papers after it.
# - BitFit 0.10: VPT's and NOAH's VTAB-1k tables; also Mai et al.'s
#   unifying study (arXiv 2409.16434), which lists SSF as 0.21.
@pytest.mark.parametrize('method, published, digits', [
    ('lora', 0.29, 2),
    ('bitfit', 0.10, 2),
    ('ssf', 0.21, 2),
])
def test_count_matches_the_published_figure(method, published, digits):
    without_head, _ = count(method)
    assert millions(without_head, digits) == published


def test_ssf_counts_as_its_paper_counts_them():
    """SSF's own tables (arXiv 2210.08823: VTAB-1k 0.24 M, FGVC 0.39 M)
    include the task head, averaged over the benchmark's tasks: a head of
    (768 + 1) x classes on top of the 0.21 M of scales and shifts."""
    without_head, head = count('ssf')
    per_class = head // 100  # the VTAB config's head has 100 classes
    vtab = statistics.mean(task.num_classes for task in VTAB1K_TASKS.values())
    fgvc = statistics.mean(dataset.NUM_CLASSES for dataset in FGVC_DATASETS)
    assert millions(without_head + per_class * vtab, 2) == 0.24
    assert millions(without_head + per_class * fgvc, 2) == 0.39


@pytest.mark.parametrize('method, published', [('fact_tt', 0.040),
                                               ('fact_tk', 0.069)])
def test_fact_counts_average_over_the_vtab_tasks(method, published):
    """FacT's table (arXiv 2212.03145: FacT-TT 0.040 M, FacT-TK 0.069 M)
    averages over the 19 tasks, each with the rank its code's per-task
    config sets (our vtab_task_options, copied from there)."""
    options = vtab_config(method).vtab_task_options
    assert set(options) == set(VTAB1K_TASKS)
    mean = statistics.mean(
        count(method, options[task]['model']['peft']['rank'])[0]
        for task in VTAB1K_TASKS)
    assert millions(mean, 3) == published


def test_fact_tiny_version_is_8k():
    """The paper's 'tiny version with only 8K parameters' is FacT-TT at
    rank 4."""
    assert round(count('fact_tt', 4)[0] / 1e3) == 8


def test_full_finetune_and_linear_probe():
    full, _ = count('full_finetune')
    assert millions(full, 1) == 85.8  # ViT-B/16 without head, every table
    assert count('linear_probe') == (0, 768 * 100 + 100)
