"""The VTAB-1k config trains and tests for real (ViT-B/16, a few images,
through tools/run_vtab.py)."""
import json
import shutil
import sys

import pytest
import torch
from mmpretrain.models import VisionTransformer

from adapterx.datasets import VTAB1K_TASKS
from adapterx.checkpoint import save_weights
from adapterx.testing import make_image_folder
from .utils import REPO_ROOT, run_tool


def write_vtab_task(root, task, num_classes):
    """A VTAB-1k task folder in the real layout, tiny images."""
    folder = make_image_folder(root / task, num_classes=num_classes,
                               train_per_class=2, test_per_class=1)
    shutil.copy(folder / 'train.txt', folder / 'train800val200.txt')
    shutil.copy(folder / 'train.txt', folder / 'val200.txt')


@pytest.mark.slow
def test_vtab_config_end_to_end(tmp_path):
    task = 'kitti'
    write_vtab_task(tmp_path / 'vtab-1k', task, VTAB1K_TASKS[task].num_classes)
    # 'Pretrained' ViT-B/16 weights in the converter's output format.
    torch.manual_seed(0)
    backbone = VisionTransformer(arch='b', img_size=224, patch_size=16)
    pretrained = tmp_path / 'vit-b16.safetensors'
    save_weights(pretrained, {f'backbone.{k}': v
                              for k, v in backbone.state_dict().items()})
    options = [
        *(f'{split}_dataloader.dataset.data_root={tmp_path / "vtab-1k"}'
          for split in ('train', 'val', 'test')),
        *(f'{split}_dataloader.{key}={value}'
          for split in ('train', 'val', 'test')
          for key, value in (('batch_size', 4), ('num_workers', 0))),
        f'model.backbone.init_cfg.checkpoint={pretrained}',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    ]
    work_root = tmp_path / 'work'
    console = run_tool(sys.executable, REPO_ROOT / 'tools' / 'run_vtab.py',
                       '--tasks', task, '--work-dir-root', work_root,
                       '--cfg-options', *options)
    # The console: the progress over the tasks and the table; the runs'
    # output is in the task's log.
    assert 'VTAB-1k' in console and '1/1' in console
    assert ' - mmengine - INFO - ' not in console
    log = (work_root / task / 'run_vtab.log').read_text()
    assert 'Load checkpoint from' in log or 'Loads checkpoint' in log
    assert 'Trainable parameters: trainable without head: ' in log
    metrics = json.loads((work_root / task / 'test_metrics.json').read_text())
    assert 0 <= metrics['accuracy/top1'] <= 100
    table = (work_root / 'vtab_results.md').read_text()
    assert f'{metrics["accuracy/top1"]:.1f}' in table
    assert 'No result yet for: cifar' in console
